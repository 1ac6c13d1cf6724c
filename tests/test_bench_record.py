"""benchmarks/record.py: a benchmark's output lands on the runs page under its name, with date and machine."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_record():
    spec = importlib.util.spec_from_file_location("record", ROOT / "benchmarks" / "record.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_run_replaces_its_own_section_and_keeps_the_others(tmp_path, monkeypatch, capsys):
    record = load_record()
    monkeypatch.setattr(record, "RUNS", tmp_path / "runs.md")
    for name, text in (("b.py", "first b"), ("a.py", "only a"), ("b.py", "second b")):
        (tmp_path / name).write_text(f"print({text!r})\n")
        monkeypatch.setattr(sys, "argv", ["record.py", str(tmp_path / name)])
        assert record.main() == 0
    page = record.RUNS.read_text()
    found = record.sections(page)
    assert list(found) == [str(tmp_path / "a.py"), str(tmp_path / "b.py")]
    assert "second b" in found[str(tmp_path / "b.py")] and "first b" not in page
    assert " UTC " in found[str(tmp_path / "a.py")] and "cores, OPENBLAS_NUM_THREADS=" in page
    assert "second b" in capsys.readouterr().out  # shown as it ran


def test_a_failing_benchmark_leaves_the_page_alone(tmp_path, monkeypatch):
    record = load_record()
    monkeypatch.setattr(record, "RUNS", tmp_path / "runs.md")
    (tmp_path / "bad.py").write_text("print('partial'); raise SystemExit(3)\n")
    monkeypatch.setattr(sys, "argv", ["record.py", str(tmp_path / "bad.py")])
    assert record.main() == 3 and not record.RUNS.exists()


def test_a_benchmark_that_prints_headings_keeps_them_in_its_own_section(tmp_path, monkeypatch):
    record = load_record()
    monkeypatch.setattr(record, "RUNS", tmp_path / "runs.md")
    (tmp_path / "tables.py").write_text("print('## minilm: a table'); print('| a | b |')\n")
    for _ in range(2):  # the second run reads the page the first one wrote
        monkeypatch.setattr(sys, "argv", ["record.py", str(tmp_path / "tables.py")])
        assert record.main() == 0
    found = record.sections(record.RUNS.read_text())
    assert list(found) == [str(tmp_path / "tables.py")] and "## minilm: a table" in found[str(tmp_path / "tables.py")]
