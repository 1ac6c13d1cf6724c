"""The ``softkv`` command line, declared: commands, their options, and option types checked as Python checks them.

Written with argparse: the standard library starts instantly and adds no
dependency, which matters for a command whose answer takes a fraction of a
second. Abbreviations are off, so an option is always named in full.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .._version import __version__
from ..io import ON_DUPLICATE, ON_EMPTY

__all__ = ["EXIT_INPUT", "EXIT_MISS", "EXIT_USAGE", "parser"]

EXIT_INPUT, EXIT_USAGE, EXIT_MISS = 1, 2, 3


# Option types: argparse names the option and the value when one of these raises.
def _param(name: str, words: tuple[str, ...] = ("auto",), whole: bool = False) -> Any:
    """An argparse type for the read parameter ``name``: the text as a number (or one of ``words``), checked by
    :class:`softkv.params.Params` exactly as a value set in Python is ("none" is None)."""
    from ..params import Params

    def parse(text: str) -> Any:
        value: Any = text
        if text not in words:
            try:
                value = int(text) if whole else float(text)
            except ValueError:
                pass  # Params says what is wrong with it
        value = None if value == "none" and "none" in words else value
        try:
            Params.make(**{name: value})
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return "none" if value is None else value  # "none" stays distinct from "not given" until _open

    parse.__name__ = name
    return parse


def _bounded(convert: Callable[[str], Any], accept: Callable[[Any], bool], expected: str) -> Callable[[str], Any]:
    """An argparse type: ``convert`` the text, and refuse what ``accept`` does not take, saying what was expected."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"{expected}, got {text!r}")
        return value
    return parse


_count = _bounded(int, lambda value: value >= 1, "must be a whole number >= 1")
_share = _bounded(float, lambda value: 0 < value <= 1, "a precision is a number in (0, 1]")
_port = _bounded(int, lambda value: 0 <= value <= 65535, "a port is a whole number from 0 to 65535")


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="softkv", description="A soft dictionary over a catalog file: exact keys, typos and descriptions.",
        epilog="Exit codes: 0 done, 1 bad input, 2 bad usage, 3 a query matched no key.", allow_abbrev=False)
    main_parser.add_argument("--version", action="version", version=f"softkv {__version__}")
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    query = commands.add_parser("query", help="answer queries with the keys behind each answer", allow_abbrev=False)
    _source_options(query)
    query.add_argument("query", nargs="+", help="one or more queries (quote each one), or - to read them from "
                                                "standard input, one per line")
    query.add_argument("--rows", type=_count, default=5, metavar="N", help="keys shown per query (default 5)")
    query.add_argument("--json", action="store_true", help="one JSON object per query, for scripts")
    query.add_argument("--plain", action="store_true",
                       help="a plain-text table on a terminal too (a pipe always gets plain text)")
    _read_options(query)

    build = commands.add_parser("build", help="embed a catalog (or re-save a store) once, as a store file",
                                allow_abbrev=False)
    _source_options(build)
    build.add_argument("-o", "--output", required=True, metavar="STORE",
                       help="the store file to write (it may be the store read, which is replaced atomically)")
    build.add_argument("--add", action="append", metavar="CATALOG",
                       help="add the rows of this catalog to the store read (repeat for several); a key held "
                            "already is an error unless --on-duplicate first (keep it) or last (replace it)")
    build.add_argument("--calibrate", metavar="PAIRS",
                       help="a catalog of query -> the key it should find (an empty cell: it should miss); the "
                            "store is saved with the scoring and threshold that answer most of them right at "
                            "--precision")
    build.add_argument("--precision", type=_share, default=0.95, metavar="P",
                       help="the precision --calibrate keeps (default 0.95)")
    _read_options(build)

    compare = commands.add_parser("compare", help="hard against soft retrieval on test pairs", allow_abbrev=False)
    _source_options(compare)
    compare.add_argument("--pairs", metavar="FILE",
                         help="a catalog of query -> expected value (the same value columns); without it, each key "
                              "is read from the others (leave-one-key-out)")
    _read_options(compare)

    serve = commands.add_parser("serve", help="serve a store over HTTP: a JSON API and a page (the [serve] extra)",
                                allow_abbrev=False)
    serve.add_argument("source", metavar="STORE", help="a saved store (.softkv), loaded once")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this "
                                                            "machine only)")
    serve.add_argument("--port", type=_port, default=8000, help="the port (default 8000)")
    serve.add_argument("--writable", action="store_true",
                       help="take writes (PUT/DELETE /keys/KEY, POST /keys, POST /save); saved to STORE on exit")
    serve.add_argument("--token", help="the bearer token writes need (or set SOFTKV_TOKEN); required for "
                                       "--writable on a host other than loopback")
    _read_options(serve)

    commands.add_parser("prepare", help="export the bundled model to ONNX now (once, about 10 s)")
    return main_parser


def _source_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("source", help="a catalog (.csv, .tsv, .json, .jsonl) or a saved store (.softkv)")
    command.add_argument("--key", metavar="COLUMN",
                         help="the key column (default: the first, or the first text column after row ids)")
    command.add_argument("--value", action="append", metavar="COLUMN",
                         help="a value column (repeat for several; default: all the others)")
    command.add_argument("--on-duplicate", choices=ON_DUPLICATE, default="error",
                         help="a key on several rows: refuse (default), keep the first or last row, or the mean")
    command.add_argument("--on-empty", choices=ON_EMPTY, default="error",
                         help="a row with an empty cell: refuse (default), leave the row out (counted), or keep "
                              "the cell as empty (None)")
    command.add_argument("--delimiter", metavar="CHAR",
                         help="the CSV's cell separator (default ',', a tab for .tsv; or the one of ';', tab, '|' "
                              "that a header without commas holds); '\\t' for a tab")
    command.add_argument("--encoding", default="utf-8-sig", metavar="NAME",
                         help="the catalog's text encoding (default UTF-8), e.g. latin-1 or cp1252")
    command.add_argument("--encoder", choices=("minilm", "multilingual"),
                         help="the bundled encoder (default minilm; for a store: re-encode with this one)")


def _read_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--temperature", type=_param("temperature"), metavar="T",
                         help="softmax temperature: 'auto' or a number > 0 (smaller: closer to the nearest key)")
    command.add_argument("--top-k", dest="top_k", type=_param("top_k", (), whole=True), metavar="K",
                         help="only the K best-scoring keys take weight")
    command.add_argument("--threshold", type=_param("threshold", ("auto", "none")), metavar="X",
                         help="a query whose best score is below X misses: 'auto' (chance level, the default), "
                              "'none' (always answer) or a number")
    command.add_argument("--spelling-weight", dest="spelling_weight", type=_param("spelling_weight"),
                         metavar="W", help="spelling beside meaning: 'auto' (per query, the default) or 0 to 1")
    command.add_argument("--spelling-measure", dest="spelling_measure", type=_param("spelling_measure", ()),
                         metavar="M",
                         help="the spelling similarity: 'both' (edits and n-grams, the default), 'edits' or 'ngrams'")
    command.add_argument("--mode", choices=("softmax", "sparsemax", "hard", "mean"),
                         help="how scores become weights (default softmax)")


