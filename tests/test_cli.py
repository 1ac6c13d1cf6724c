"""The softkv command over catalog files and stores."""

import json
import subprocess
import sys

import pytest

from softkv.cli import main, read_catalog


@pytest.fixture
def catalogs(tmp_path):
    (tmp_path / "products.csv").write_text(
        "name,price,kg\noak chair,89,6.5\noffice chair,249,14\nchef knife,59,0.2\nkettle,29,1.1\n")
    (tmp_path / "fruit.json").write_text(json.dumps({"apple": 10, "banana": 5, "chair": 2}))
    (tmp_path / "kinds.jsonl").write_text("\n".join(json.dumps({"k": k, "v": v}) for k, v in
                                                   [("apple", "fruit"), ("banana", "fruit"), ("chair", "furniture")]))
    (tmp_path / "pairs.csv").write_text("query,price,kg\na seat,150,10\nsomething sharp,60,0.3\n")
    return tmp_path


def test_catalog_formats(catalogs):
    assert read_catalog(catalogs / "products.csv")["kettle"] == [29.0, 1.1]
    assert read_catalog(catalogs / "products.csv", values=["price"])["kettle"] == 29.0
    assert read_catalog(catalogs / "fruit.json") == {"apple": 10.0, "banana": 5.0, "chair": 2.0}
    assert read_catalog(catalogs / "kinds.jsonl")["chair"] == "furniture"


def test_query_build_and_query_the_store(catalogs, minilm, capsys):
    assert main(["query", str(catalogs / "fruit.json"), "fruit", "--top", "2", "--plain"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("'fruit' -> 5.7") and "'banana'" in out and "'chair'" not in out
    store = catalogs / "kinds.softkv"
    assert main(["build", str(catalogs / "kinds.jsonl"), "-o", str(store)]) == 0
    assert "3 keys (categorical) saved" in capsys.readouterr().out
    assert main(["query", str(store), "sofa", "--temperature", "0.05", "--plain"]) == 0
    assert capsys.readouterr().out.startswith("'sofa' -> 'furniture'  (temperature 0.05")


def test_compare_prints_the_harness_table(catalogs, minilm, capsys):
    assert main(["compare", str(catalogs / "products.csv"), "--pairs", str(catalogs / "pairs.csv")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 pairs; MAE:") and all(m in out for m in ("hard", "soft", "kNN", "calibrated", "sparsemax"))


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["query", "{dir}/missing.csv", "x"], "no such file"),
        (["query", "{dir}/products.csv", "x", "--value", "colour"], "no column ['colour']"),
        (["query", "{dir}/bad.csv", "x"], "column 'b' is 'two'"),
        (["query", "{dir}/products.txt", "x"], "unknown catalog format '.txt'"),
        (["query", "{dir}/fruit.json", "   "], "non-blank"),
    ],
)
def test_errors_are_clear_and_exit_with_1(catalogs, minilm, capsys, arguments, message):
    (catalogs / "bad.csv").write_text("name,a,b\nx,1,two\n")
    (catalogs / "products.txt").write_text("x")
    assert main([a.format(dir=catalogs) for a in arguments]) == 1
    assert message in capsys.readouterr().err


def test_the_console_script_runs_in_a_fresh_process(catalogs):
    out = subprocess.run([sys.executable, "-m", "softkv.cli", "query", str(catalogs / "fruit.json"), "fruit"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "banana" in out.stdout
    assert subprocess.run([sys.executable, "-m", "softkv.cli"], capture_output=True).returncode == 2
