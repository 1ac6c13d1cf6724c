"""The ``softkv`` command: query a catalog file or a saved store from the shell.

    softkv query CATALOG "fruit" ["seat" ...] [--rows 5] [--threshold auto] [--json]
    softkv build CATALOG -o STORE [--on-duplicate mean] [--encoder multilingual]
    softkv build CATALOG -o STORE --calibrate pairs.csv [--precision 0.95]
    softkv query STORE "fruit"
    softkv compare CATALOG --pairs test.csv
    softkv serve STORE [--host 127.0.0.1] [--port 8000] [--writable] [--token T]
    softkv prepare

A catalog is CSV, JSON or JSONL (:func:`softkv.io.read_catalog`); a store is
a file written by ``softkv build`` (or ``SoftDict.save``) and loads without
re-encoding. ``build`` also takes a store, to save it again with other
parameters or re-encoded with another encoder.

Exit codes: 0 done, 1 bad input (file, columns, values), 2 bad usage, 3 a
query matched no key (a miss).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import CatalogError
from ..io import Catalog, read_catalog
from ._kept import keep_store, kept_store, load_kept
from ._parser import EXIT_INPUT, EXIT_MISS, parser

__all__ = ["main", "run"]

BATCH = 256  # keys encoded per step of the progress bar


# ---- reading a source ----
def _is_store(path: Path) -> bool:
    return path.suffix.lower() == ".softkv" or (path.is_file() and zipfile.is_zipfile(path))


def _holds_a_store(path: Path) -> bool:
    """Whether ``path`` is a zip archive with a softkv manifest (what ``build`` may replace)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "manifest.json" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def _open(args: argparse.Namespace, progress: bool = False,
          keep: bool = False) -> tuple[Any, Catalog | None, float]:
    """The SoftDict of ``args.source`` with the options' parameters, the catalog it came from (None for a store,
    or a catalog's kept store: ``keep``), and the seconds spent encoding."""
    from ..softdict import SoftDict

    path = Path(args.source)
    began = time.perf_counter()
    catalog = None
    if _is_store(path):
        given = [option for option, value in (("--key", args.key), ("--value", args.value),
                                              ("--on-duplicate", args.on_duplicate != "error"),
                                              ("--on-empty", args.on_empty != "error"), ("--delimiter", args.delimiter),
                                              ("--encoding", args.encoding != "utf-8-sig")) if value]
        if given and not getattr(args, "add", None):
            raise CatalogError(f"{path}: is a saved store; {', '.join(given)} appl"
                               f"{'ies' if len(given) == 1 else 'y'} to catalogs (.csv, .json, .jsonl)")
        encoder = getattr(args, "encoder", None)
        d = SoftDict.load(path, encoder=encoder, reencode=encoder is not None)
    else:
        kept = kept_store(path, args) if keep else None
        d = load_kept(kept)
        if d is None:
            catalog = _read(path, args)
            names = catalog.value_columns if catalog.vector or catalog.record else None
            d = SoftDict(encoder=getattr(args, "encoder", None) or "minilm", value_names=names)
            if kept is not None and len(catalog) > BATCH:
                print(f"softkv: encoding {len(catalog):,} keys once; later queries of this file load the store "
                      f"kept in {kept.parent} (or make one: softkv build)", file=sys.stderr)
            _fill(d, catalog, progress or kept is not None)
            keep_store(d, kept)
    d.set_params(**_chosen(args))
    return d, catalog, time.perf_counter() - began


def _chosen(args: argparse.Namespace) -> dict[str, Any]:
    """The read parameters given as options."""
    chosen = {name: getattr(args, name) for name in ("temperature", "top_k", "threshold", "spelling_weight",
                                                   "spelling_measure", "mode")
              if getattr(args, name, None) is not None}
    if chosen.get("threshold") == "none":
        chosen["threshold"] = None
    return chosen


def _read(path: Path, args: argparse.Namespace) -> Catalog:
    """The catalog at ``path`` read with the command's catalog options; what reading chose said on stderr."""
    catalog = read_catalog(path, args.key, args.value, on_duplicate=args.on_duplicate, on_empty=args.on_empty,
                           delimiter=_delimiter(args), encoding=args.encoding)
    for line in _reading_notes(catalog):
        print(f"softkv: {line}", file=sys.stderr)
    return catalog


def _delimiter(args: argparse.Namespace) -> str | None:
    return "\t" if args.delimiter in ("\\t", "tab") else args.delimiter


def _reading_notes(catalog: Catalog) -> list[str]:
    """What reading the catalog chose or left out, said on stderr (stdout stays the answers)."""
    notes = [catalog.key_note] if catalog.key_note else []
    if catalog.skipped:
        shown = ", ".join(catalog.skipped[:3]) + (", ..." if len(catalog.skipped) > 3 else "")
        notes.append(f"left out {len(catalog.skipped)} row{'s' if len(catalog.skipped) > 1 else ''} with an empty "
                     f"cell ({shown}), as --on-empty skip says")
    return notes


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
    from ._report import as_json, print_rich, result_table

    queries = args.query
    if queries == ["-"]:  # one query per line of standard input, blank lines left out
        queries = [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
        if not queries:
            raise CatalogError("no query on standard input: give one per line (softkv query SOURCE - < queries.txt)")
    d, _, _ = _open(args, keep=True)
    names = d.value_names
    missed = False
    for query in queries:
        result = d.lookup(query, on_miss="ignore")
        missed |= bool(result.missed)
        if args.json:
            print(as_json(result, args.rows, names))
            continue
        table = result_table(result, args.rows, names)
        if args.plain or not sys.stdout.isatty() or not _rich_available():  # a pipe gets plain text
            print(table.text())
        else:
            print_rich(table)
    return EXIT_MISS if missed else 0


def _rich_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("rich") is not None


def _build(args: argparse.Namespace) -> int:
    output = Path(args.output)
    _check_output(output, Path(args.source))
    if args.add and not _is_store(Path(args.source)):
        raise CatalogError(f"{args.source}: --add adds rows to a saved store (.softkv); build the catalog first")
    if args.calibrate is None and args.precision != 0.95:
        raise CatalogError("--precision is the precision --calibrate keeps: give --calibrate PAIRS with it")
    d, catalog, seconds = _open(args, progress=True)
    added = [_add(d, Path(more), args) for more in args.add or ()]
    if args.calibrate is not None:
        print(_calibrated(d, Path(args.calibrate), args), file=sys.stderr)
    path = d.save(output)
    if added:
        print(f"{len(d)} keys ({d.value_kind}): {', '.join(added)}; saved to {path}")
        return 0
    found = f"{catalog.n_rows} rows of {args.source}" if catalog is not None else str(args.source)
    summary = f"{len(d)} keys ({d.value_kind}) from {found}"
    if catalog is not None and catalog.duplicates:
        rows = sum(catalog.duplicates.values())
        many = len(catalog.duplicates)
        summary += (f"; {many} key{'s were' if many > 1 else ' was'} on several rows ({rows} rows): kept the "
                    f"{args.on_duplicate} of each")
    print(f"{summary}; encoded in {seconds:.1f} s; saved to {path}")
    return 0


def _calibrated(d: Any, pairs_path: Path, args: argparse.Namespace) -> str:
    """Set ``d``'s scoring and threshold from a catalog of query -> intended key (empty: a miss) at
    --precision (:meth:`SoftDict.calibrate`); what was chosen and what it costs, in words."""
    pairs = read_catalog(pairs_path, on_empty="keep", delimiter=_delimiter(args), encoding=args.encoding)
    intended = list(pairs.values())
    if pairs.vector or pairs.record or not all(value is None or isinstance(value, str) for value in intended):
        raise CatalogError(f"{pairs_path}: --calibrate needs two columns, a query and the key it should find "
                           f"(empty where it should miss); it has {[pairs.key_column, *pairs.value_columns]}")
    try:
        report = d.calibrate(list(pairs), keys=intended, target_precision=args.precision)
    except KeyError:  # the pair file's words, not the call's
        named = [(query, key) for query, key in pairs.items() if key is not None and key not in d]
        if not named:
            raise
        raise CatalogError(f"{pairs_path}: {len(named)} of its pairs name a key the store does not hold (query "
                           f"{named[0][0]!r} -> {named[0][1]!r}); its second column is the key each query should "
                           "find, empty where it should miss") from None
    chosen = report.chosen
    misses = sum(value is None for value in intended)
    others = ", ".join(f"{setting['spelling_weight']}/{setting['spelling_measure']} {recall:.2f}"
                       for setting, recall in report.candidates if setting != chosen and math.isfinite(recall))
    return (f"calibrated on {len(intended)} pairs ({misses} should miss) for precision {args.precision}: "
            f"spelling_weight {chosen['spelling_weight']}, spelling_measure {chosen['spelling_measure']}, "
            f"threshold {chosen['threshold']:.4g}; precision "
            f"{report.error:.3f}, {report.answered:.0%} answered, recall {report.recall:.3f}"
            + (f" (other scorings' recall: {others})" if others else ""))


def _add(d: Any, more: Path, args: argparse.Namespace) -> str:
    """Add the rows of catalog ``more`` to ``d``: a key ``d`` holds already is an error unless --on-duplicate
    says to keep the stored value ("first") or take the new one ("last"). What was added, in words."""
    catalog = _read(more, args)
    held = [key for key in catalog if key in d]
    if held and args.on_duplicate not in ("first", "last"):
        shown = ", ".join(map(repr, held[:3])) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
        raise CatalogError(f"{more}: {len(held)} of its keys {'are' if len(held) > 1 else 'is'} in the store "
                           f"already ({shown}); keep the stored values with --on-duplicate first, or take the new "
                           "ones with --on-duplicate last")
    pairs = {key: value for key, value in catalog.items() if args.on_duplicate == "last" or key not in d}
    _fill(d, replace(catalog, pairs=pairs), progress=True)
    return f"{len(pairs)} rows added from {more}" + (f" ({len(held)} keys held already: kept the "
                                                    f"{'new' if args.on_duplicate == 'last' else 'stored'} values)"
                                                    if held else "")


def _check_output(output: Path, source: Path) -> None:
    """Refuse an output that cannot be written, or that would replace the input or any file but a store, before
    any encoding."""
    folder = output.parent
    if not folder.is_dir():
        raise CatalogError(f"{output}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CatalogError(f"{output}: the folder {folder} is not writable")
    if output.is_dir():
        raise CatalogError(f"{output}: is a folder; name a file to write")
    if output.exists() and not output.is_file():
        raise CatalogError(f"{output}: exists and is not a regular file")
    if output.exists() and source.exists() and os.path.samefile(output, source) and not _holds_a_store(source):
        raise CatalogError(f"{output}: is the input; name another file to write the store to")
    if output.exists() and not _holds_a_store(output):
        raise CatalogError(f"{output}: exists and is not a softkv store (a catalog?); build replaces only a store: "
                           "name another file, or remove it first")


def _compare(args: argparse.Namespace) -> int:
    from ..tools import compare

    d, _, _ = _open(args, keep=True)
    if args.pairs is None:
        result = compare(d)
        print(f"{len(d)} keys, each read from the others (leave-one-key-out); {result.metric}:")
    else:
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
    numeric_pairs = pairs.vector or isinstance(next(iter(pairs.values())), float)
    if kind in ("categorical", "opaque") and numeric_pairs and not any(isinstance(v, float) for v in d.values()):
        raise CatalogError(f"{path}: the catalog's values are {kind} (text, not numbers), so the pairs need one "
                           f"column of such values after the query; they have {pairs.value_columns}")
    if kind == "scalar" and (pairs.vector or not isinstance(next(iter(pairs.values())), float)):
        raise CatalogError(f"{path}: the catalog's values are single numbers, so the pairs need one number "
                           f"column after the query; they have {pairs.value_columns}")
    if kind is not None and kind.startswith("array"):
        width = int(np.size(next(iter(d.values()))))
        if len(pairs.value_columns) != width:
            raise CatalogError(f"{path}: the catalog's values have {width} numbers each, the pairs "
                               f"{len(pairs.value_columns)} ({', '.join(pairs.value_columns)}); give the pairs the "
                               "same value columns")


def _serve(args: argparse.Namespace) -> int:
    """Serve one store over HTTP until interrupted (:mod:`softkv.serve`)."""
    path = Path(args.source)
    if not _is_store(path) or not path.is_file():
        raise CatalogError(f"{path}: softkv serve takes a store file; make one once with: softkv build {path} -o "
                           f"{path.with_suffix('.softkv').name}")
    try:
        from ..serve import run
    except ImportError as error:
        raise CatalogError(f"softkv serve needs the [serve] extra ({error.name} is missing): "
                           "pip install -e '.[serve]'") from None
    from ..softdict import SoftDict

    d = SoftDict.load(path)
    d.set_params(**_chosen(args))
    how = "writable, saved on POST /save and on exit" if args.writable else "read-only"
    print(f"softkv serve: {len(d):,} keys from {path.name} at http://{args.host}:{args.port}/ ({how}); "
          "Ctrl-C stops", file=sys.stderr)
    run(d, path, host=args.host, port=args.port, writable=args.writable, token=args.token)
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from ..encoders import prepare

    print(prepare())
    return 0


COMMANDS = {"query": _query, "build": _build, "compare": _compare, "serve": _serve, "prepare": _prepare}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    loading = _prefetch(args)
    try:
        return int(COMMANDS[args.command](args))
    except BrokenPipeError:  # the reader stopped reading (| head): nothing left to say
        return 0
    except (ValueError, KeyError, TypeError, OSError, RecursionError) as error:  # CatalogError is a ValueError
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"softkv {args.command}: {message}", file=sys.stderr)
        return EXIT_INPUT
    except MemoryError:
        message = "out of memory: the input is larger than this machine can hold (split it, or use a store)"
        print(f"softkv {args.command}: {message}", file=sys.stderr)
        return EXIT_INPUT
    finally:
        if loading is not None:
            loading.join()  # never leave the model half-open at exit


def _prefetch(args: argparse.Namespace) -> Any:
    """Open the default model in the background while the source is read (a store or catalog usually uses it)."""
    commands = ("query", "build", "compare", "serve")
    if args.command not in commands or getattr(args, "encoder", None) not in (None, "minilm"):
        return None
    from ..encoders import default_encoder

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
