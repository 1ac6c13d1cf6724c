"""The ``softkv`` command: query a catalog file or a saved store from the shell.

    softkv query CATALOG "fruit" [--top 5] [--temperature 0.05] [--hybrid 0.5]
    softkv build CATALOG -o STORE
    softkv query STORE "fruit"
    softkv compare CATALOG --pairs test.csv

A catalog is CSV, JSON (an object of key -> value, or a list of records) or
JSONL, with a key column (``--key``, default: the first) and one or more
value columns (``--value``, default: all the others). Several value columns
make vector values and must be numeric; one column is numeric when every
entry is a number, categorical otherwise. A store is a file written by
``softkv build`` (or ``SoftDict.save``); it loads without re-encoding.

Written with argparse: the standard library starts instantly and adds no
dependency, which matters for a command whose answer takes a fraction of a
second. Exit codes: 0 done, 1 bad input (file, columns, values), 2 bad usage.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["main", "read_catalog"]


class CatalogError(Exception):
    """A catalog that cannot be read as asked; the message says why."""


MAX_CATALOG_BYTES = 1 << 31
"""The largest catalog file read (2 GiB)."""


def _read_text(path: Path) -> str:
    """A regular file's text (a FIFO, a device or a link to one is refused before reading)."""
    import os
    import stat

    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise CatalogError(f"{path}: not a regular file")
        if status.st_size > MAX_CATALOG_BYTES:
            raise CatalogError(f"{path}: larger than {MAX_CATALOG_BYTES:,} bytes")
        return handle.read().decode("utf-8-sig")


def _records(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json", ".jsonl"):
        raise CatalogError(f"{path}: unknown catalog format {suffix!r}; use .csv, .json or .jsonl")
    text = _read_text(path)
    if suffix == ".csv":
        # strict: an unterminated quote is an error, not one giant field
        return list(csv.DictReader(text.splitlines(keepends=True), strict=True))
    if suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    if isinstance(data, dict):
        return [{"key": key, "value": value} for key, value in data.items()]
    if not isinstance(data, list):
        raise CatalogError(f"{path}: a JSON catalog is an object of key -> value or a list of records, "
                           f"not a {type(data).__name__}")
    return data


def _number(text: Any) -> float | None:
    if isinstance(text, bool):
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def read_catalog(path: str | Path, key: str | None = None, values: list[str] | None = None) -> dict[str, Any]:
    """key -> value from a CSV, JSON or JSONL catalog, as ``softkv`` reads it."""
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"{path}: no such file")
    try:
        records = _records(path)
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as error:
        raise CatalogError(f"{path}: not readable as {path.suffix[1:]}: {error}") from error
    if not records or not all(isinstance(r, dict) for r in records):
        raise CatalogError(f"{path}: expected a list of records with a key column")
    columns = list(records[0])
    key = key or columns[0]
    values = values or [c for c in columns if c != key]
    missing = [c for c in [key, *values] if c not in columns]
    if missing or not values:
        raise CatalogError(f"{path}: no column {missing or 'for values'}; the columns are {columns}")
    catalog: dict[str, Any] = {}
    for line, record in enumerate(records, start=2):
        if None in record or record.get(key) is None or any(record.get(c) is None for c in values):
            raise CatalogError(f"{path}, record {line - 1}: {'too many' if None in record else 'missing'} cells "
                               f"(the columns are {columns}); check its quotes and commas")
        cells = [record.get(c) for c in values]
        numbers = [_number(c) for c in cells]
        if len(values) > 1:
            if None in numbers:
                bad = values[numbers.index(None)]
                raise CatalogError(f"{path}, record {line - 1}: column {bad!r} is {cells[numbers.index(None)]!r}; "
                                   "several value columns make a vector and must all be numbers")
            catalog[str(record[key])] = numbers
        else:
            catalog[str(record[key])] = cells[0]
    if len(values) == 1 and all(_number(v) is not None for v in catalog.values()):
        catalog = {k: float(v) for k, v in catalog.items()}
    return catalog


def _open(args: argparse.Namespace) -> Any:
    import zipfile

    from . import SoftDict

    path = Path(args.source)
    if path.suffix.lower() == ".softkv" or (path.is_file() and zipfile.is_zipfile(path)):
        d = SoftDict.load(path)  # a store: a damaged one raises FormatError, naming what is wrong
    else:
        d = SoftDict(read_catalog(path, args.key, args.value))
    chosen = {name: getattr(args, name) for name in ("temperature", "top_k", "spelling_weight")
              if getattr(args, name, None) is not None}
    d.set_params(**chosen)
    return d


def _rich_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("rich") is not None


def _print_result(result: Any, top: int, plain: bool = False) -> None:
    """The weight table: with rich when it is installed (and not ``plain``), as plain text otherwise."""
    from .result import _short

    headline = str(result).splitlines()[0]
    if plain or not _rich_available():
        print(headline)
        print(result.table(top))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=headline, title_justify="left")
    for column in ("key", "weight", "score", "value"):
        table.add_column(column, justify="left" if column in ("key", "value") else "right")
    row_of = {key: i for i, key in enumerate(result.keys)}
    for key, weight, score in result.top(top):
        table.add_row(key, f"{weight:.3f}", f"{score:.3f}", _short(result._row_values[row_of[key]]))
    Console().print(table)


def _query(args: argparse.Namespace) -> None:
    _print_result(_open(args).lookup(args.query), args.top, args.plain)


def _build(args: argparse.Namespace) -> None:
    from . import SoftDict

    catalog = read_catalog(args.source, args.key, args.value)
    d = SoftDict()
    items = list(catalog.items())
    batches = range(0, len(items), 256)
    try:
        from tqdm import tqdm

        batches = tqdm(batches, desc="encoding", unit="batch", disable=len(items) <= 256, file=sys.stderr)
    except ImportError:
        pass
    for start in batches:
        d.update(items[start : start + 256])
    path = d.save(args.output)
    print(f"{len(d)} keys ({d.value_kind}) saved to {path}")


def _compare(args: argparse.Namespace) -> None:
    from .evaluate import compare

    d = _open(args)
    pairs = read_catalog(args.pairs)
    result = compare(d, list(pairs), list(pairs.values()))
    print(f"{len(pairs)} pairs; {result.metric}:")
    print(result.table())


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="softkv", description="A soft dictionary over a catalog file.")
    commands = main_parser.add_subparsers(dest="command", required=True)

    def source(command: argparse.ArgumentParser) -> None:
        command.add_argument("source", help="a catalog (.csv, .json, .jsonl) or a saved store")
        command.add_argument("--key", help="the key column (default: the first)")
        command.add_argument("--value", action="append", help="a value column (repeat; default: all others)")

    query = commands.add_parser("query", help="answer one query with its weight table")
    source(query)
    query.add_argument("query")
    query.add_argument("--top", type=int, default=5, help="rows of the weight table (default 5)")
    query.add_argument("--temperature", type=lambda t: t if t == "auto" else float(t))
    query.add_argument("--top-k", dest="top_k", type=int)
    query.add_argument("--spelling-weight", "--hybrid", dest="spelling_weight", type=float,
                       help="weight of spelling beside meaning, 0 to 1 (default: 0.5 with cosine)")
    query.add_argument("--plain", action="store_true", help="a plain-text table even when rich is installed")
    query.set_defaults(run=_query)

    build = commands.add_parser("build", help="embed a catalog once and save it as a store")
    source(build)
    build.add_argument("-o", "--output", required=True, help="the store file to write")
    build.set_defaults(run=_build)

    compare = commands.add_parser("compare", help="hard against soft retrieval on test pairs")
    source(compare)
    compare.add_argument("--pairs", required=True, help="a catalog of query -> expected value")
    compare.set_defaults(run=_compare)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except (CatalogError, ValueError, KeyError, TypeError, OSError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"softkv {args.command}: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
