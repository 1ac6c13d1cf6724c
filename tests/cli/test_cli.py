"""The softkv command over catalog files and stores: no row lost silently, readable output, clear errors."""

import csv
import json
import os
import stat
import subprocess
import sys

import pytest

from softkv.cli import EXIT_MISS, main, parser
from softkv.datasets import cars_records
from softkv.errors import CatalogError
from softkv.io import read_catalog


@pytest.fixture
def catalogs(tmp_path):
    (tmp_path / "products.csv").write_text(
        "name,price,kg\noak chair,89,6.5\noffice chair,249,14\nchef knife,59,0.2\nkettle,29,1.1\n")
    (tmp_path / "fruit.json").write_text(json.dumps({"apple": 10, "banana": 5, "chair": 2}))
    (tmp_path / "kinds.jsonl").write_text("\n".join(json.dumps({"k": k, "v": v}) for k, v in
                                                   [("apple", "fruit"), ("banana", "fruit"), ("chair", "furniture")]))
    (tmp_path / "pairs.csv").write_text("query,price,kg\na seat,150,10\nsomething sharp,60,0.3\n")
    (tmp_path / "twice.csv").write_text("name,price\nkettle,30\nchair,80\nkettle,20\nkettle,40\n")
    return tmp_path


def run(capsys, *arguments):
    code = main([str(a) for a in arguments])
    out, err = capsys.readouterr()
    return code, out, err


# ---- reading catalogs ----
def test_catalog_formats(catalogs):
    assert read_catalog(catalogs / "products.csv")["kettle"] == [29.0, 1.1]
    assert read_catalog(catalogs / "products.csv", values=["price"])["kettle"] == 29.0
    assert read_catalog(catalogs / "fruit.json") == {"apple": 10.0, "banana": 5.0, "chair": 2.0}
    assert read_catalog(catalogs / "kinds.jsonl")["chair"] == "furniture"
    assert read_catalog(catalogs / "products.csv").value_columns == ["price", "kg"]


def test_a_key_on_several_rows_is_an_error_naming_them_unless_told_what_to_keep(catalogs):
    with pytest.raises(CatalogError, match=r"1 key is on more than one row: 'kettle' \(lines 2, 4, 5\)"):
        read_catalog(catalogs / "twice.csv")
    assert read_catalog(catalogs / "twice.csv", on_duplicate="first")["kettle"] == 30.0
    assert read_catalog(catalogs / "twice.csv", on_duplicate="last")["kettle"] == 40.0
    mean = read_catalog(catalogs / "twice.csv", on_duplicate="mean")
    assert mean["kettle"] == 30.0 and mean.duplicates == {"kettle": 3} and mean.n_rows == 4 and len(mean) == 2
    (catalogs / "kinds2.csv").write_text("name,kind\nkettle,kitchen\nkettle,garden\n")
    with pytest.raises(CatalogError, match="needs numbers"):
        read_catalog(catalogs / "kinds2.csv", on_duplicate="mean")
    (catalogs / "twice.json").write_text('{"kettle": 1, "kettle": 2}')
    with pytest.raises(CatalogError, match=r"'kettle' \(entries 1, 2\)"):
        read_catalog(catalogs / "twice.json")
    with pytest.raises(ValueError, match="on_duplicate must be one of"):
        read_catalog(catalogs / "twice.csv", on_duplicate="max")


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("quote.csv", 'name,price\napple,1\n"banana,2\nchair,3\n', "quote.csv, line 4: not valid CSV"),
        ("ragged.csv", "name,price\napple,1\nbanana\n", "ragged.csv, line 3: 1 cells where the header has 2"),
        ("header.csv", "name,price,kg\n", "header.csv: no records (only the header ['name', 'price', 'kg'])"),
        ("empty.csv", "", "empty.csv: empty file"),
        ("gap.csv", "name,price\napple,\n", "gap.csv, line 2, column 'price': empty cell"),
        ("nan.csv", "name,a,b\napple,1,nan\n", "nan.csv, line 2, column 'b': 'nan' is not a finite number"),
        ("null.json", '[{"name": "apple", "price": 1}, {"name": "pear", "price": null}]',
         "null.json, record 2, column 'price': empty cell (a null)"),
        ("nokey.json", '[{"name": null, "price": 1}]', "nokey.json, record 1, column 'name': the key is empty"),
        ("scalar.json", "3", "a JSON catalog is an object of key -> value or a list of records, not a number"),
        ("list.json", "[[1, 2]]", "list.json, record 1: a record is a JSON object"),
        ("broken.jsonl", '{"k": "a", "v": 1}\n{"k": "b", "v": \n', "broken.jsonl, line 2: not valid JSON"),
        ("binary.csv", b"\xf5\x00\xff", "binary.csv: not UTF-8 text"),
    ],
)
def test_malformed_catalogs_name_the_file_the_row_and_the_column(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(CatalogError) as error:
        read_catalog(path)
    assert message in str(error.value)


# ---- what a query prints ----
def test_a_blend_is_sorted_by_weight_with_numbers_to_four_digits(catalogs, minilm, capsys):
    code, out, _ = run(capsys, "query", catalogs / "products.csv", "something to sit on", "--rows", "3")
    assert code == 0
    head, columns, *rows = out.splitlines()
    assert head.startswith("'something to sit on' -> price ") and ", kg " in head
    assert columns.split() == ["key", "weight", "score", "price", "kg"]
    weights = [float(row.split()[-4]) for row in rows]
    assert weights == sorted(weights, reverse=True) and len(rows) == 3
    assert rows[0].split()[:2] == ["office", "chair"] or rows[0].split()[:2] == ["oak", "chair"]


def test_an_exact_key_shows_the_key_then_its_nearest_neighbours_marked(catalogs, minilm, capsys):
    code, out, _ = run(capsys, "query", catalogs / "products.csv", "oak chair")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "'oak chair' -> price 89, kg 6.5  (exact key)"
    assert lines[2].split()[:3] == ["oak", "chair", "1.000"]
    assert lines[3].split()[:3] == ["~", "office", "chair"]  # the nearest other key, for context
    assert "nearest other keys, for context" in lines[-1]


def test_a_miss_says_so_and_exits_with_its_own_code(catalogs, minilm, capsys):
    code, out, _ = run(capsys, "query", catalogs / "fruit.json", "quantum chromodynamics")
    assert code == EXIT_MISS and out.startswith("'quantum chromodynamics': no match (best score")
    code, out, _ = run(capsys, "query", catalogs / "fruit.json", "quantum chromodynamics", "--threshold", "none")
    assert code == 0 and out.startswith("'quantum chromodynamics' -> ")


def test_a_dash_reads_the_queries_from_standard_input_one_per_line(catalogs, minilm, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("oak chair\n\na sharp thing\r\n"))
    code, out, _ = run(capsys, "query", catalogs / "products.csv", "-", "--json")
    assert code == 0 and [json.loads(line)["query"] for line in out.splitlines()] == ["oak chair", "a sharp thing"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n  \n"))
    code, _, err = run(capsys, "query", catalogs / "products.csv", "-")
    assert code == 1 and "no query on standard input: give one per line" in err


def test_json_gives_one_object_per_query(catalogs, minilm, capsys):
    code, out, _ = run(capsys, "query", catalogs / "products.csv", "oak chair", "a sharp thing", "zxqv", "--json",
                       "--rows", "2")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == EXIT_MISS and [r["query"] for r in records] == ["oak chair", "a sharp thing", "zxqv"]
    assert records[0]["answer"] == {"price": 89.0, "kg": 6.5} and records[0]["exact"] is True
    assert records[1]["nearest"] == "chef knife" and len(records[1]["weights"]) == 2
    assert records[2]["miss"] is True and records[2]["answer"] is None and "threshold" in records[2]["reason"]


def test_options_set_the_read(catalogs, minilm, capsys):
    store = catalogs / "kinds.softkv"
    assert run(capsys, "build", catalogs / "kinds.jsonl", "-o", store)[0] == 0
    code, out, _ = run(capsys, "query", store, "sofa", "--temperature", "0.05", "--top-k", "2", "--mode",
                       "sparsemax", "--spelling-weight", "0")
    assert code == 0 and out.startswith("'sofa' -> furniture  (all the weight on one of 3 keys, temperature 0.05)")


# ---- usage ----
def test_every_option_has_help_text():
    commands = parser()._subparsers._group_actions[0].choices
    for name, command in commands.items():
        for action in command._actions:
            assert action.help, f"softkv {name} {action.dest} has no help"


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--temperature", "hot"], 'argument --temperature: temperature must be "auto" or a finite number > 0, got '
                                   "'hot'"),
        (["--temperature", "-1"], 'argument --temperature: temperature must be "auto" or a finite number > 0'),
        (["--rows", "-2"], "argument --rows: must be a whole number >= 1, got '-2'"),
        (["--rows", "0"], "argument --rows: must be a whole number >= 1, got '0'"),
        (["--top-k", "0"], "argument --top-k: top_k must be None (all keys) or an integer >= 1, got 0"),
        (["--top-k", "none"], "argument --top-k: top_k must be None (all keys) or an integer >= 1, got 'none'"),
        (["--threshold", "high"], 'argument --threshold: threshold must be "auto" (miss when no key beats chance)'),
        (["--spelling-weight", "2"], 'argument --spelling-weight: spelling_weight must be "auto" or a number '
                                     "from 0 (meaning only) to 1"),
        (["--top", "3"], "unrecognized arguments: --top 3"),
    ],
)
def test_bad_numbers_get_argparses_message_naming_the_option(catalogs, capsys, arguments, message):
    with pytest.raises(SystemExit) as exit:
        main(["query", str(catalogs / "fruit.json"), "fruit", *arguments])
    assert exit.value.code == 2 and message in capsys.readouterr().err


# ---- build ----
def test_build_reports_duplicates_handled_and_writes_with_the_umask(catalogs, minilm, capsys):
    old = os.umask(0o022)
    try:
        code, out, _ = run(capsys, "build", catalogs / "twice.csv", "-o", catalogs / "twice.softkv",
                           "--on-duplicate", "mean")
        mode = stat.S_IMODE((catalogs / "twice.softkv").stat().st_mode)
        os.umask(0o077)
        run(capsys, "build", catalogs / "fruit.json", "-o", catalogs / "private.softkv")
        private = stat.S_IMODE((catalogs / "private.softkv").stat().st_mode)
    finally:
        os.umask(old)
    assert code == 0 and mode == 0o644 and private == 0o600
    assert out.startswith("2 keys (scalar) from 4 rows of ")
    assert "1 key was on several rows (3 rows): kept the mean" in out
    code, _, err = run(capsys, "build", catalogs / "twice.csv", "-o", catalogs / "x.softkv")
    assert code == 1 and "--on-duplicate" in err and not (catalogs / "x.softkv").exists()


def test_build_checks_the_output_before_encoding(catalogs, capsys):
    code, _, err = run(capsys, "build", catalogs / "products.csv", "-o", catalogs / "missing" / "x.softkv")
    assert code == 1 and "the folder" in err and "does not exist" in err
    code, _, err = run(capsys, "build", catalogs / "products.csv", "-o", catalogs)
    assert code == 1 and "is a folder" in err


def test_build_never_replaces_its_input_or_a_file_that_is_not_a_store(catalogs, capsys):
    source = catalogs / "products.csv"
    before = source.read_bytes()
    code, _, err = run(capsys, "build", source, "-o", source)
    assert code == 1 and "is the input" in err and source.read_bytes() == before
    code, _, err = run(capsys, "build", source, "-o", catalogs / "pairs.csv")
    assert code == 1 and "is not a softkv store" in err and (catalogs / "pairs.csv").read_text().startswith("query,")


def test_keys_are_printed_as_text_never_markup_or_terminal_escapes(catalogs, capsys):
    path = catalogs / "odd.json"
    path.write_text(json.dumps({"Widget [/v2]": 1, "Widget [v2]": 2, "red\u001b[31m": 3, "\u202eexe.txt": 4}))
    code, out, err = run(capsys, "query", path, "Widget [/v2]", "--plain", "--threshold", "none", "--rows", "4")
    assert code == 0 and "Widget [/v2]" in out and "Widget [v2]" in out
    assert "\x1b" not in out and "\u202e" not in out and "red\\x1b[31m" in out and "\\u202eexe.txt" in out
    pytest.importorskip("rich")
    from softkv._display import Table
    from softkv.cli._report import print_rich

    print_rich(Table(("key",), (("Widget [/v2]",), ("red\x1b[31m",)), title="Widget [b]bold[/b]"))
    shown = capsys.readouterr().out
    assert "Widget [/v2]" in shown and "[b]bold[/b]" in shown and "\x1b[31m" not in shown


def test_catalog_errors_of_any_kind_are_one_line_and_exit_1(catalogs, capsys):
    deep = catalogs / "deep.json"
    deep.write_text('[{"key": "a", "value": ' + "[" * 100_000 + "]" * 100_000 + "}]")
    code, out, err = run(capsys, "build", deep, "-o", catalogs / "deep.softkv")
    assert code == 1 and err.count("\n") == 1 and "nested too deep" in err


def test_catalog_rows_end_at_newlines_only(catalogs):
    (catalogs / "sep.jsonl").write_text(json.dumps({"k": "a\u2028b", "v": 1}, ensure_ascii=False) + "\n"
                                        + json.dumps({"k": "c", "v": 2}) + "\r\n")
    assert read_catalog(catalogs / "sep.jsonl") == {"a\u2028b": 1.0, "c": 2.0}
    (catalogs / "sep.csv").write_text('name,v\r\n"a\u2028b",1\r\nc,2\n', newline="")
    assert read_catalog(catalogs / "sep.csv") == {"a\u2028b": 1.0, "c": 2.0}


def test_a_catalog_of_40000_columns_reads_whole(catalogs):
    columns = [f"c{i}" for i in range(40_000)]
    (catalogs / "wide.csv").write_text("name," + ",".join(columns) + "\nx," + ",".join(["1"] * 40_000) + "\n")
    catalog = read_catalog(catalogs / "wide.csv")
    assert len(catalog["x"]) == 40_000


def test_build_takes_a_store_to_save_again_with_other_parameters(catalogs, minilm, capsys):
    first, second = catalogs / "a.softkv", catalogs / "b.softkv"
    assert run(capsys, "build", catalogs / "products.csv", "-o", first)[0] == 0
    code, out, _ = run(capsys, "build", first, "-o", second, "--temperature", "0.07", "--threshold", "none")
    assert code == 0 and out.startswith(f"4 keys (array of shape (2,)) from {first}")
    from softkv import SoftDict

    again = SoftDict.load(second)
    assert again.temperature == 0.07 and again.threshold is None and again.value_names == ("price", "kg")


# ---- compare ----
def test_compare_prints_the_harness_table(catalogs, minilm, capsys):
    code, out, _ = run(capsys, "compare", catalogs / "products.csv", "--pairs", catalogs / "pairs.csv")
    assert code == 0 and out.startswith("2 pairs; MAE:")
    assert all(m in out for m in ("hard", "soft", "kNN", "calibrated", "sparsemax"))


def test_a_catalog_queried_again_loads_the_store_kept_for_it(catalogs, minilm, capsys, monkeypatch, tmp_path):
    from softkv.encoders import MiniLMEncoder

    monkeypatch.setenv("SOFTKV_CATALOG_CACHE", str(tmp_path / "kept"))
    encoded = []
    original = MiniLMEncoder.encode
    monkeypatch.setattr(MiniLMEncoder, "encode", lambda self, texts: encoded.extend(texts) or original(self, texts))
    path = catalogs / "products.csv"
    first = run(capsys, "query", path, "a seat", "--plain")
    keys_encoded = [text for text in encoded if text in ("oak chair", "office chair", "chef knife", "kettle")]
    assert first[0] == 0 and sorted(keys_encoded) == ["chef knife", "kettle", "oak chair", "office chair"]
    assert len(list((tmp_path / "kept").glob("*.softkv"))) == 1
    encoded.clear()
    second = run(capsys, "query", path, "a seat", "--plain")
    assert second[0] == 0 and "oak chair" not in encoded and "kettle" not in encoded  # loaded, not encoded
    assert second[1].splitlines()[1:] == first[1].splitlines()[1:]  # the same table
    path.write_text(path.read_text() + "stool,19,2\n")  # other bytes: another kept store, never a stale one
    third = run(capsys, "query", path, "a seat", "--plain", "--rows", "10")
    assert third[0] == 0 and "stool" in third[1] and len(list((tmp_path / "kept").glob("*.softkv"))) == 2
    monkeypatch.setenv("SOFTKV_CATALOG_CACHE", "off")
    assert run(capsys, "query", path, "a seat")[0] == 0 and len(list((tmp_path / "kept").glob("*.softkv"))) == 2


def test_build_adds_the_rows_of_another_catalog_to_a_store(catalogs, minilm, capsys):
    store = catalogs / "p.softkv"
    assert run(capsys, "build", catalogs / "products.csv", "-o", store)[0] == 0
    (catalogs / "more.csv").write_text("name,price,kg\nstool,19,2\nkettle,35,1.2\n")
    code, _, err = run(capsys, "build", store, "--add", catalogs / "more.csv", "-o", store)
    assert code == 1 and "1 of its keys is in the store already ('kettle')" in err
    code, out, _ = run(capsys, "build", store, "--add", catalogs / "more.csv", "-o", store, "--on-duplicate", "last")
    assert code == 0 and "5 keys" in out and "2 rows added" in out
    from softkv import SoftDict

    d = SoftDict.load(store)
    assert d["stool"] == [19.0, 2.0] and d["kettle"] == [35.0, 1.2] and d["oak chair"] == [89.0, 6.5]
    code, _, err = run(capsys, "build", catalogs / "products.csv", "--add", catalogs / "more.csv", "-o",
                       catalogs / "q.softkv")
    assert code == 1 and "--add adds rows to a saved store" in err


def test_compare_without_pairs_reads_each_key_from_the_others(catalogs, minilm, capsys):
    code, out, _ = run(capsys, "compare", catalogs / "products.csv")
    assert code == 0 and out.startswith("4 keys, each read from the others (leave-one-key-out); MAE:")
    assert all(m in out for m in ("hard", "soft", "kNN", "calibrated", "sparsemax"))


def test_compare_refuses_numbers_against_categories(catalogs, minilm, capsys):
    (catalogs / "places.csv").write_text("query,lat,lon\nan orange,40.1,-3.2\na stool,41.0,2.1\n")
    code, _, err = run(capsys, "compare", catalogs / "kinds.jsonl", "--pairs", catalogs / "places.csv")
    assert code == 1 and "the catalog's values are categorical" in err


def test_compare_refuses_pairs_of_another_width(catalogs, minilm, capsys):
    (catalogs / "scalar.csv").write_text("query,price\na seat,150\n")
    code, _, err = run(capsys, "compare", catalogs / "products.csv", "--pairs", catalogs / "scalar.csv")
    assert code == 1 and "the catalog's values have 2 numbers each, the pairs 1 (price)" in err


def test_a_blank_query_is_a_miss_not_an_error(catalogs, minilm, capsys):
    code, out, err = run(capsys, "query", catalogs / "fruit.json", "   ", "apple", "--plain")
    assert code == EXIT_MISS and "'   ': no match (the query is blank" in out and "'apple' -> 10" in out and not err


RESTAURANTS = ('id,name,addr,city,type,class\n'
               '1,"arnie morton\'s of chicago","435 s. la cienega blv.","los angeles","american",0\n'
               '2,"art\'s delicatessen","12224 ventura blvd.","studio city","american",1\n'
               '3,"hotel bel-air","701 stone canyon rd.","bel air","",2\n'
               '4,"cafe bizou","14016 ventura blvd.","sherman oaks","french",3\n')


def test_a_restaurant_guide_with_ids_text_columns_and_an_empty_cell_reads_as_records(catalogs, minilm, capsys):
    path = catalogs / "fodors.csv"
    path.write_text(RESTAURANTS)
    code, _, err = run(capsys, "query", path, "arnie mortons")
    assert code == 1 and "line 4, column 'type': empty cell (no text)" in err and "--on-empty skip" in err
    kept = read_catalog(path, on_empty="keep")
    assert kept.key_column == "name" and kept.record and kept.value_columns == ["addr", "city", "type", "class"]
    assert kept["hotel bel-air"] == {"addr": "701 stone canyon rd.", "city": "bel air", "type": None, "class": 2.0}
    assert "the first column, 'id', is named 'id'" in kept.key_note
    skipped = read_catalog(path, on_empty="skip")
    assert "hotel bel-air" not in skipped and skipped.skipped == ("line 4",) and skipped.n_rows == 3
    code, out, err = run(capsys, "query", path, "arnie mortons", "--on-empty", "skip", "--plain")
    assert code == 0 and "addr" in out and "435 s. la cienega blv." in out and "left out 1 row" in err
    assert "key column 'name'" in err and "arnie morton's of chicago" in out.splitlines()[2]


def test_whole_numbers_first_are_row_ids_and_a_named_key_is_kept(catalogs):
    path = catalogs / "ids.csv"
    path.write_text("n,product,price\n17,oak chair,89\n18,kettle,29\n")
    catalog = read_catalog(path)
    assert catalog.key_column == "product" and catalog == {"oak chair": 89.0, "kettle": 29.0}
    assert read_catalog(path, key="n", values=["price"]) == {"17": 89.0, "18": 29.0}
    (catalogs / "blank.csv").write_text("id,name,price\n1,,3\n")
    with pytest.raises(CatalogError, match="the key is empty \\(chosen as key column 'name'\\); name the key column "
                                           "with --key"):
        read_catalog(catalogs / "blank.csv")


def test_tsv_other_delimiters_and_encodings(catalogs, minilm, capsys):
    (catalogs / "fruit.tsv").write_text("name\tprice\napple, red\t1.5\npear\t2\n")
    assert read_catalog(catalogs / "fruit.tsv") == {"apple, red": 1.5, "pear": 2.0}
    (catalogs / "semi.csv").write_text("name;price\napple;1,5\n")
    assert read_catalog(catalogs / "semi.csv", delimiter=";") == {"apple": "1,5"}
    # a header of one column holding ';' alone (a spreadsheet saved where commas are decimal marks) says ';'
    assert read_catalog(catalogs / "semi.csv") == {"apple": "1,5"}
    (catalogs / "ragged.csv").write_text("name;price\napple;1;5\n")  # the message names the separator it read
    with pytest.raises(CatalogError, match="3 cells where the header has 2 .*check its quotes and ';' separators"):
        read_catalog(catalogs / "ragged.csv")
    (catalogs / "piped.csv").write_text('"name, full"|price\n"apple, red"|2\n')
    assert read_catalog(catalogs / "piped.csv") == {"apple, red": 2.0}
    (catalogs / "commas.csv").write_text("name,note\napple,red; sweet\n")  # a comma in the header: commas
    assert read_catalog(catalogs / "commas.csv") == {"apple": "red; sweet"}
    (catalogs / "either.csv").write_text("name;a|b\napple;x|y\n")  # ';' or '|': no guess, and a hint
    with pytest.raises(CatalogError, match="no value column; the columns are \\['name;a\\|b'\\]; if another "
                                           "character separates its cells, name it with --delimiter"):
        read_catalog(catalogs / "either.csv")
    (catalogs / "latin.csv").write_bytes("name,city\ncaf\xe9 bizou,sherman oaks\n".encode("latin-1"))
    with pytest.raises(CatalogError, match="not UTF-8 text .*--encoding latin-1"):
        read_catalog(catalogs / "latin.csv")
    assert read_catalog(catalogs / "latin.csv", encoding="latin-1") == {"caf\xe9 bizou": "sherman oaks"}
    code, out, _ = run(capsys, "query", catalogs / "latin.csv", "cafe", "--encoding", "latin-1", "--plain")
    assert code == 0 and "caf\xe9 bizou" in out
    code, out, _ = run(capsys, "query", catalogs / "semi.csv", "apple", "--delimiter", ";", "--plain")
    assert code == 0 and "1,5" in out
    for bad in ({"delimiter": "ab"}, {"encoding": "klingon"}, {"on_empty": "drop"}):
        with pytest.raises(ValueError):
            read_catalog(catalogs / "semi.csv", **bad)


# ---- errors never show a traceback ----
MALFORMED = [
    ["query", "{dir}/missing.csv", "x"],
    ["query", "{dir}/products.csv", "x", "--value", "colour"],
    ["query", "{dir}/bad.csv", "x"],
    ["query", "{dir}/products.txt", "x"],
    ["query", "{dir}/twice.csv", "x"],
    ["query", "{dir}", "x"],
    ["query", "{dir}/fake.softkv", "x"],
    ["query", "/dev/zero.csv", "x"],
    ["build", "{dir}/products.csv", "-o", "/nonexistent/dir/x.softkv"],
    ["build", "{dir}/header.csv", "-o", "{dir}/y.softkv"],
    ["build", "{dir}/fake.softkv", "-o", "{dir}/y.softkv"],
    ["compare", "{dir}/products.csv", "--pairs", "{dir}/missing.csv"],
    ["query", "{dir}/fruit.json", "x", "--key", "nope"],
    ["query", "{dir}/fruit.softkv", "x", "--value", "price"],
]


@pytest.mark.parametrize("arguments", MALFORMED, ids=[" ".join(a[:2]) + f" {i}" for i, a in enumerate(MALFORMED)])
def test_user_errors_exit_1_with_a_message_never_a_traceback(catalogs, minilm, capsys, arguments):
    (catalogs / "bad.csv").write_text("name,a,b\nx,1,2\ny,3,nan\n")  # NaN in a column of numbers
    (catalogs / "products.txt").write_text("x")
    (catalogs / "header.csv").write_text("name,price\n")
    (catalogs / "fake.softkv").write_bytes(b"PK\x03\x04 not really a store")
    from softkv import SoftDict

    SoftDict({"apple": 1.0}, encoder=minilm).save(catalogs / "fruit.softkv")
    code, _, err = run(capsys, *[a.format(dir=catalogs) for a in arguments])
    assert code == 1 and err.startswith("softkv ") and "Traceback" not in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_the_console_script_runs_in_a_fresh_process(catalogs):
    out = subprocess.run([sys.executable, "-m", "softkv", "query", str(catalogs / "fruit.json"), "fruit"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "banana" in out.stdout
    out = subprocess.run([sys.executable, "-m", "softkv", "build", str(catalogs / "twice.csv"), "-o",
                          str(catalogs / "t.softkv")], capture_output=True, text=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr and "more than one row" in out.stderr
    assert subprocess.run([sys.executable, "-m", "softkv"], capture_output=True).returncode == 2


# ---- a real catalog: vega-datasets' cars, as a new user would use it ----
def test_a_real_catalog_goes_through_build_query_and_compare(tmp_path, minilm, capsys):
    rows = cars_records()
    catalog = tmp_path / "cars.csv"
    with catalog.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    store = tmp_path / "cars.softkv"
    code, _, err = run(capsys, "build", catalog, "-o", store)
    assert code == 1 and "56 keys are on more than one row" in err
    assert "'chevrolet chevelle malibu' (lines 2, 36)" in err
    code, out, _ = run(capsys, "build", catalog, "-o", store, "--on-duplicate", "mean")
    assert code == 0 and out.startswith("300 keys (array of shape (4,)) from 392 rows")
    assert "56 keys were on several rows (148 rows): kept the mean of each" in out

    code, out, _ = run(capsys, "query", store, "toyota corona", "toyta corola", "lada", "--json")
    exact, typo, nonsense = (json.loads(line) for line in out.splitlines())
    corona = [r for r in rows if r["Name"] == "toyota corona"]
    assert exact["exact"] and exact["answer"]["Horsepower"] == pytest.approx(
        sum(r["Horsepower"] for r in corona) / len(corona))
    assert list(exact["scores"])[1].startswith("toyota")  # the nearest other keys, by score
    assert typo["nearest"] == "toyota corolla" and not typo["miss"]
    assert nonsense["miss"] and code == EXIT_MISS

    code, out, _ = run(capsys, "query", store, "toyota corona", "--rows", "4")
    table = out.splitlines()[1:5]
    assert table[0].split()[:3] == ["key", "weight", "score"] and "Weight_in_lbs" in table[0]
    scores = [float(line.split()[-5]) for line in table[2:]]
    assert scores == sorted(scores, reverse=True) and all(line.lstrip().startswith("~") for line in table[2:])
    assert "2564.999" not in out and "." not in table[1].split()[-2]  # weights in lbs: whole numbers, no noise

    (tmp_path / "pairs.csv").write_text(
        "query,Miles_per_Gallon,Horsepower,Weight_in_lbs,Acceleration\n"
        "toyta corola,31,74,2237,16.3\nford pintoo,23,86,2366,16.3\n")
    code, out, _ = run(capsys, "compare", store, "--pairs", tmp_path / "pairs.csv")
    assert code == 0 and out.startswith("2 pairs; MAE:")


def test_the_readme_session_on_cars_is_what_the_command_prints(tmp_path, minilm, capsys, monkeypatch):
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "docs" / "guide" / "command.md").read_text(encoding="utf-8")
    session = readme.split("$ softkv build cars.csv -o cars.softkv\n", 1)[1].split("```", 1)[0]
    rows = cars_records()
    with (tmp_path / "cars.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    monkeypatch.chdir(tmp_path)  # the session's relative paths
    run(capsys, "build", "cars.csv", "-o", "cars.softkv", "--on-duplicate", "mean")
    commands = re.findall(r"\$ softkv (query [^\n]+)\n(.*?)(?=\n\$ |\Z)", session, re.S)
    assert len(commands) == 3
    for command, expected in commands:
        code, out, _ = run(capsys, *shlex.split(command))
        assert out.rstrip("\n") == expected.rstrip("\n"), command


CITIES = {"Shanghai": 24874500, "Beijing": 18960744, "Shenzhen": 17494398, "Guangzhou": 16096724,
          "Istanbul": 15701602, "Lagos": 15388000, "Karachi": 14835000, "Mumbai": 12691836, "Moscow": 12506468,
          "Cairo": 12200000, "Kinshasa": 11855000, "Lahore": 11126285, "Bangkok": 10539000, "Lima": 10554712}
CALIBRATION = [("Shangai", "Shanghai"), ("Bejing", "Beijing"), ("Shenzen", "Shenzhen"), ("Guangzou", "Guangzhou"),
               ("Istanbl", "Istanbul"), ("Lagoss", "Lagos"), ("Karachy", "Karachi"), ("Mumbay", "Mumbai"),
               ("Moskow", "Moscow"), ("Kairo", "Cairo"), ("Rockford", ""), ("Tampere", ""), ("Zwolle", ""),
               ("Salford", ""), ("Bremen", ""), ("Nantes", "")]


def test_build_calibrates_the_threshold_on_pairs_for_a_precision(tmp_path, minilm, capsys):
    from softkv import SoftDict

    (tmp_path / "cities.csv").write_text("name,population\n" + "".join(f"{k},{v}\n" for k, v in CITIES.items()))
    (tmp_path / "pairs.csv").write_text("query,key\n" + "".join(f"{q},{k}\n" for q, k in CALIBRATION))
    store = tmp_path / "cities.softkv"
    assert main(["build", str(tmp_path / "cities.csv"), "-o", str(store), "--calibrate", str(tmp_path / "pairs.csv"),
                 "--precision", "1"]) == 0
    said = capsys.readouterr().err
    assert "calibrated on 16 pairs (6 should miss) for precision 1.0: spelling_weight" in said
    d = SoftDict.load(store)
    assert isinstance(d.threshold, float) and "threshold" in said
    missed = [q for q, k in CALIBRATION if d.lookup(q, on_miss="ignore").missed]
    answered_right = [q for q, k in CALIBRATION if k and d.lookup(q, on_miss="ignore").nearest == k]
    assert {q for q, k in CALIBRATION if not k} <= set(missed)  # precision 1 on these pairs: every miss misses
    assert len(answered_right) >= 8 and not set(answered_right) & set(missed)

    (tmp_path / "unheld.csv").write_text("query,key\nShangai,Shanghai City\n")  # a key the catalog does not hold
    other = tmp_path / "other.softkv"
    assert main(["build", str(tmp_path / "cities.csv"), "-o", str(other), "--calibrate",
                 str(tmp_path / "unheld.csv")]) == 1
    assert ("unheld.csv: 1 of its pairs name a key the store does not hold (query 'Shangai' -> 'Shanghai City')"
            in capsys.readouterr().err) and not other.exists()


def test_build_calibration_refuses_what_it_cannot_use(tmp_path, capsys):
    (tmp_path / "cities.csv").write_text("name,population\n" + "".join(f"{k},{v}\n" for k, v in CITIES.items()))
    (tmp_path / "pairs.csv").write_text("query,lat,lon\nShangai,31.2,121.5\n")
    out = str(tmp_path / "out.softkv")
    assert main(["build", str(tmp_path / "cities.csv"), "-o", out, "--precision", "0.9"]) == 1
    assert "give --calibrate PAIRS with it" in capsys.readouterr().err
    assert main(["build", str(tmp_path / "cities.csv"), "-o", out, "--calibrate", str(tmp_path / "pairs.csv")]) == 1
    assert "--calibrate needs two columns, a query and the key it should find" in capsys.readouterr().err
    assert not (tmp_path / "out.softkv").exists()
    with pytest.raises(SystemExit):
        main(["build", str(tmp_path / "cities.csv"), "-o", out, "--calibrate", "p.csv", "--precision", "1.5"])
    assert "a precision is a number in (0, 1]" in capsys.readouterr().err


def test_the_spelling_measure_is_an_option_checked_as_the_parameter_is(tmp_path, minilm, capsys):
    from softkv import SoftDict

    (tmp_path / "people.csv").write_text("name,age\njohn smith,40\nmary jones,31\npeter parker,25\n")
    store = tmp_path / "people.softkv"
    assert main(["build", str(tmp_path / "people.csv"), "-o", str(store), "--spelling-measure", "edits"]) == 0
    assert SoftDict.load(store).spelling_measure == "edits"
    with pytest.raises(SystemExit):
        main(["query", str(store), "smith john", "--spelling-measure", "edit"])
    assert "spelling_measure must be one of 'both', 'edits', 'ngrams'" in capsys.readouterr().err
