"""The ``softkv`` command: query a catalog file or a saved store from the shell.

    softkv query CATALOG "fruit" ["seat" ...] [--rows 5] [--threshold auto] [--json]
    softkv build CATALOG -o STORE [--on-duplicate mean] [--encoder multilingual]
    softkv query STORE "fruit"
    softkv compare CATALOG --pairs test.csv
    softkv prepare

A catalog is CSV, JSON or JSONL (:mod:`softkv.catalog`); a store is a file
written by ``softkv build`` (or ``SoftDict.save``) and loads without
re-encoding. ``build`` also takes a store, to save it again with other
parameters or re-encoded with another encoder.

Written with argparse: the standard library starts instantly and adds no
dependency, which matters for a command whose answer takes a fraction of a
second. Exit codes: 0 done, 1 bad input (file, columns, values), 2 bad usage,
3 a query matched no key (a miss).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from .catalog import ON_DUPLICATE, Catalog, CatalogError, read_catalog

__all__ = ["EXIT_MISS", "main", "parser", "read_catalog", "run"]

EXIT_INPUT, EXIT_USAGE, EXIT_MISS = 1, 2, 3
BATCH = 256  # keys encoded per step of the progress bar


# ---- option types: argparse names the option and the value when one of these raises ----
def _param(name: str, words: tuple[str, ...] = ("auto",), whole: bool = False) -> Any:
    """An argparse type for the read parameter ``name``: the text as a number (or one of ``words``), checked by
    :class:`softkv.params.Params` exactly as a value set in Python is ("none" is None)."""
    from .params import Params

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


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _renamed_top(text: str) -> int:
    raise argparse.ArgumentTypeError("was renamed --rows (how many keys are shown); --top-k is how many keys "
                                     "take weight")


# ---- reading a source ----
def _is_store(path: Path) -> bool:
    return path.suffix.lower() == ".softkv" or (path.is_file() and zipfile.is_zipfile(path))


def _open(args: argparse.Namespace, progress: bool = False) -> tuple[Any, Catalog | None, float]:
    """The SoftDict of ``args.source`` with the options' parameters, the catalog it came from (None for a store),
    and the seconds spent encoding."""
    from . import SoftDict

    path = Path(args.source)
    began = time.perf_counter()
    catalog = None
    if _is_store(path):
        given = [option for option, value in (("--key", args.key), ("--value", args.value),
                                              ("--on-duplicate", args.on_duplicate != "error")) if value]
        if given:
            raise CatalogError(f"{path}: is a saved store; {', '.join(given)} appl"
                               f"{'ies' if len(given) == 1 else 'y'} to catalogs (.csv, .json, .jsonl)")
        encoder = getattr(args, "encoder", None)
        d = SoftDict.load(path, encoder=encoder, reencode=encoder is not None)
    else:
        catalog = read_catalog(path, args.key, args.value, on_duplicate=args.on_duplicate)
        names = catalog.value_columns if catalog.vector else None
        d = SoftDict(encoder=getattr(args, "encoder", None) or "minilm", value_names=names)
        _fill(d, catalog, progress)
    chosen = {name: getattr(args, name) for name in ("temperature", "top_k", "threshold", "spelling_weight", "mode")
              if getattr(args, name, None) is not None}
    if chosen.get("threshold") == "none":
        chosen["threshold"] = None
    d.set_params(**chosen)
    return d, catalog, time.perf_counter() - began


def _fill(d: Any, catalog: Catalog, progress: bool) -> None:
    """Add the catalog's pairs in batches, with a progress bar on a terminal when asked."""
    items = list(catalog.items())
    batches: Any = range(0, len(items), BATCH)
    if progress and len(items) > BATCH:
        from tqdm import tqdm

        batches = tqdm(batches, desc="encoding", unit=f" x{BATCH} keys", file=sys.stderr, disable=None)
    for start in batches:
        d.update(items[start:start + BATCH])


# ---- the commands ----
def _query(args: argparse.Namespace) -> int:
    from .report import as_json, headline, plain_table, table_lines

    d, _, _ = _open(args)
    names = d.value_names
    missed = False
    for query in args.query:
        result = d.lookup(query, on_miss="ignore")
        missed |= bool(result.missed)
        if args.json:
            print(as_json(result, args.rows, names))
            continue
        header, body = table_lines(result, args.rows, names)
        print(headline(result, names))
        if args.plain or not sys.stdout.isatty() or not _rich_available():  # a pipe gets plain text
            print(plain_table(header, body))
        else:
            _rich_table(header, body)
        if result.exact and len(body) > 1:
            print("  (~ nearest other keys, for context: an exact key takes all the weight)")
    return EXIT_MISS if missed else 0


def _rich_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("rich") is not None


def _rich_table(header: list[str], body: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, padding=(0, 1))
    for i, column in enumerate(header):
        table.add_column(column, justify="left" if i == 0 or column == "value" else "right", no_wrap=i == 0,
                         overflow="fold")
    for row in body:
        table.add_row(*row)
    Console().print(table)


def _build(args: argparse.Namespace) -> int:
    output = Path(args.output)
    _check_output(output)
    d, catalog, seconds = _open(args, progress=True)
    path = d.save(output)
    found = f"{catalog.n_rows} rows of {args.source}" if catalog is not None else str(args.source)
    summary = f"{len(d)} keys ({d.value_kind}) from {found}"
    if catalog is not None and catalog.duplicates:
        rows = sum(catalog.duplicates.values())
        many = len(catalog.duplicates)
        summary += (f"; {many} key{'s were' if many > 1 else ' was'} on several rows ({rows} rows): kept the "
                    f"{args.on_duplicate} of each")
    print(f"{summary}; encoded in {seconds:.1f} s; saved to {path}")
    return 0


def _check_output(output: Path) -> None:
    """Refuse an output that cannot be written, before any encoding."""
    folder = output.parent
    if not folder.is_dir():
        raise CatalogError(f"{output}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CatalogError(f"{output}: the folder {folder} is not writable")
    if output.is_dir():
        raise CatalogError(f"{output}: is a folder; name a file to write")
    if output.exists() and not output.is_file():
        raise CatalogError(f"{output}: exists and is not a regular file")


def _compare(args: argparse.Namespace) -> int:
    from .evaluate import compare

    d, _, _ = _open(args)
    pairs = read_catalog(args.pairs, on_duplicate=args.on_duplicate)
    _check_pairs(d, pairs, args.pairs)
    result = compare(d, list(pairs), list(pairs.values()))
    print(f"{len(pairs)} pairs; {result.metric}:")
    print(result.table())
    return 0


def _check_pairs(d: Any, pairs: Catalog, path: str) -> None:
    """The pairs' targets must be of the kind of the catalog's values (numbers of the same width)."""
    import numpy as np

    kind = d.value_kind
    if kind == "scalar" and (pairs.vector or not isinstance(next(iter(pairs.values())), float)):
        raise CatalogError(f"{path}: the catalog's values are single numbers, so the pairs need one number "
                           f"column after the query; they have {pairs.value_columns}")
    if kind is not None and kind.startswith("array"):
        width = int(np.size(next(iter(d.values()))))
        if len(pairs.value_columns) != width:
            raise CatalogError(f"{path}: the catalog's values have {width} numbers each, the pairs "
                               f"{len(pairs.value_columns)} ({', '.join(pairs.value_columns)}); give the pairs the "
                               "same value columns")


def _prepare(args: argparse.Namespace) -> int:
    from .bundled import prepare

    print(prepare())
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="softkv", description="A soft dictionary over a catalog file: exact keys, typos and descriptions.",
        epilog="Exit codes: 0 done, 1 bad input, 2 bad usage, 3 a query matched no key.", allow_abbrev=False)
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    query = commands.add_parser("query", help="answer queries with the keys behind each answer", allow_abbrev=False)
    _source_options(query)
    query.add_argument("query", nargs="+", help="one or more queries (quote each one)")
    query.add_argument("--rows", type=_count, default=5, metavar="N", help="keys shown per query (default 5)")
    query.add_argument("--top", type=_renamed_top, help=argparse.SUPPRESS)
    query.add_argument("--json", action="store_true", help="one JSON object per query, for scripts")
    query.add_argument("--plain", action="store_true",
                       help="a plain-text table on a terminal too (a pipe always gets plain text)")
    _read_options(query)
    query.set_defaults(run=_query)

    build = commands.add_parser("build", help="embed a catalog (or re-save a store) once, as a store file",
                                allow_abbrev=False)
    _source_options(build)
    build.add_argument("-o", "--output", required=True, metavar="STORE", help="the store file to write")
    _read_options(build)
    build.set_defaults(run=_build)

    compare = commands.add_parser("compare", help="hard against soft retrieval on test pairs", allow_abbrev=False)
    _source_options(compare)
    compare.add_argument("--pairs", required=True, metavar="FILE",
                         help="a catalog of query -> expected value (the same value columns)")
    _read_options(compare)
    compare.set_defaults(run=_compare)

    prepare = commands.add_parser("prepare", help="export the bundled model to ONNX now (once, about 10 s)")
    prepare.set_defaults(run=_prepare)
    return main_parser


def _source_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("source", help="a catalog (.csv, .json, .jsonl) or a saved store (.softkv)")
    command.add_argument("--key", metavar="COLUMN", help="the key column (default: the first)")
    command.add_argument("--value", action="append", metavar="COLUMN",
                         help="a value column (repeat for several; default: all the others)")
    command.add_argument("--on-duplicate", choices=ON_DUPLICATE, default="error",
                         help="a key on several rows: refuse (default), keep the first or last row, or the mean")
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
    command.add_argument("--spelling-weight", "--hybrid", dest="spelling_weight", type=_param("spelling_weight"),
                         metavar="W", help="spelling beside meaning: 'auto' (per query, the default) or 0 to 1")
    command.add_argument("--mode", choices=("softmax", "sparsemax", "hard", "mean"),
                         help="how scores become weights (default softmax)")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    loading = _prefetch(args)
    try:
        return int(args.run(args))
    except BrokenPipeError:  # the reader stopped reading (| head): nothing left to say
        return 0
    except (ValueError, KeyError, TypeError, OSError) as error:  # CatalogError and FormatError are ValueErrors
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"softkv {args.command}: {message}", file=sys.stderr)
        return EXIT_INPUT
    finally:
        if loading is not None:
            loading.join()  # never leave the model half-open at exit


def _prefetch(args: argparse.Namespace) -> Any:
    """Open the default model in the background while the source is read (a store or catalog usually uses it)."""
    if args.command not in ("query", "build", "compare") or getattr(args, "encoder", None) not in (None, "minilm"):
        return None
    from .bundled import default_encoder

    return default_encoder().prefetch()


def run() -> None:
    """The console script: :func:`main`, then exit without tearing the interpreter down. Freeing the model's
    90 MB and its thread pools took 0.16 s of every query; everything the command writes is flushed (a store
    is fsynced when saved) before the process ends."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
