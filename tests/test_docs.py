"""Every snippet of the README and of the docs pages prints what the page shows; every example runs; the site
builds with warnings as errors."""

import contextlib
import io
import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def page_text(*parts):
    """The text of the README, a docs page, or all of them together."""
    return "\n".join(path.read_text(encoding="utf-8") for path in (PAGES if not parts else [ROOT.joinpath(*parts)]))


def snippets(path):
    """(code, expected output or None) for each python block of a page, in order."""
    blocks = BLOCK.findall(path.read_text(encoding="utf-8"))
    found = []
    for i, (lang, body) in enumerate(blocks):
        if lang == "python":
            following = blocks[i + 1] if i + 1 < len(blocks) else ("", "")
            found.append((body, following[1] if following[0] == "text" else None))
    return found


def test_the_pages_have_snippets_each_with_its_output():
    assert len(snippets(ROOT / "README.md")) >= 1 and sum(len(snippets(path)) for path in PAGES) >= 12
    assert all(expected is not None for path in PAGES for _, expected in snippets(path))


@pytest.mark.parametrize("path", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_snippet_prints_what_its_page_shows(minilm, path):
    for code, expected in snippets(path):
        namespace: dict = {}  # each snippet runs on its own, as a reader would paste it
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(path.relative_to(ROOT)), "exec"), namespace)
        assert out.getvalue().rstrip() == expected.rstrip(), f"snippet:\n{code}"


def test_the_readme_fits_on_a_page_and_links_to_pages_that_exist():
    text = page_text("README.md")
    assert len(text.splitlines()) < 150
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        assert (ROOT / target).exists(), target


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = BLOCK.search(text).group(2).splitlines()
    assert [line.split("#")[0].strip() for line in first_block] == ["make demo", "make test"]


EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
@pytest.mark.slow
def test_example_runs(path, minilm, capsys):
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert len(out.splitlines()) >= 2


@pytest.mark.slow
def test_quickstart_walks_through_the_fruit_example(minilm, capsys):
    runpy.run_path(str(ROOT / "examples" / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "d['fruit'] = " in out and "'banana'" in out and "softmax(scores /" in out
    assert "notebook" not in out  # nothing the reader has not seen


@pytest.mark.slow
def test_readme_shows_what_train_memory_prints(minilm, capsys):
    pytest.importorskip("torch")
    runpy.run_path(str(ROOT / "examples" / "train_memory.py"), run_name="__main__")
    printed = capsys.readouterr().out.strip().splitlines()
    shown = page_text("docs", "guide", "torch.md").splitlines()
    # a fit's last digit moves with the versions of torch and its BLAS that an install picks
    assert any(all(_same_to_the_last_digit(a, b) for a, b in zip(printed, shown[start:start + len(printed)]))
               for start in range(len(shown) - len(printed) + 1)), "\n".join(printed)


NUMBER = re.compile(r"-?\d+\.\d+")


def _same_to_the_last_digit(printed, shown):
    """Whether two lines are the same text, their decimals equal to within one unit of the last place printed."""
    if NUMBER.sub("#", printed) != NUMBER.sub("#", shown):
        return False
    for a, b in zip(NUMBER.findall(printed), NUMBER.findall(shown)):
        places = len(a.split(".")[1])
        if len(b.split(".")[1]) != places or abs(float(a) - float(b)) > 1.5 * 10.0 ** -places:
            return False
    return True


@pytest.mark.slow
def test_the_performance_benchmarks_run_at_tiny_sizes():
    import subprocess
    import sys

    pytest.importorskip("faiss")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "perf.py"), "--quick"], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| batch soft read" in out.stdout and "recall@10" in out.stdout


@pytest.mark.slow
def test_the_capacity_and_cold_start_benchmarks_run_at_tiny_sizes():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "capacity.py"), "--keys", "2000", "--max-keys",
                          "100"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    last = out.stdout.splitlines()[-1].split()
    assert last[:3] == ["2,000", "100", "1,900"]  # inserted, held, evicted
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cold.py"), "--runs", "1"], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "softkv query (typo)" in out.stdout


@pytest.mark.slow
def test_readme_shows_what_hard_vs_soft_prints(minilm, capsys):
    runpy.run_path(str(ROOT / "examples" / "hard_vs_soft.py"), run_name="__main__")
    table = "\n".join(capsys.readouterr().out.strip().splitlines()[:6])
    assert table in page_text("docs", "guide", "hard-vs-soft.md")


@pytest.mark.slow
def test_fuzzy_config_maps_each_request_to_the_right_setting(minilm, capsys):
    runpy.run_path(str(ROOT / "examples" / "fuzzy_config.py"), run_name="__main__")
    answers = dict(line.split(" -> ") for line in capsys.readouterr().out.splitlines() if " -> " in line)
    assert {text.strip().strip("'"): entry for text, entry in answers.items()} == {
        "switch to the dark theme": "theme=dark",
        "the letters are too small": "font.size=+2",
        "I can barely read the words": "font.size=+2",
        "the font is too large": "font.size=-2",
        "stop sending me alerts": "notifications=off",
        "je préfère le français": "locale=fr",
        "sign me out": "session=end",
        "turn of notifcations": "notifications=off",
        "what is the capital of Peru?": "(no matching setting)",
    }


@pytest.mark.slow
def test_catalog_lookup_finds_the_right_products_and_misses_a_pizza(minilm, capsys):
    runpy.run_path(str(ROOT / "examples" / "catalog_lookup.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "0.71  ergonomic office chair" in out and "waterproof hiking jacket" in out
    assert "'a coffee maker'" in out and "'espresso machine'" in out and "'bedside lamp'" in out
    assert "no such product" in out
