"""Catalog files: CSV, JSON or JSONL tables read into key -> value pairs, never losing a row silently.

A catalog has a key column (``key``, default: the first) and value columns
(``values``, default: all the others). Several value columns make vector
values and must all be numbers; one column is numeric when every entry is a
number, and holds its entries as they are otherwise. JSON is an object of
key -> value or a list of records; JSONL is one record per line.

Every problem is a :class:`CatalogError` naming the file, the line (or the
record, for JSON) and the column: a ragged row or an unterminated quote, an
empty cell, a key that is not text, a non-number where numbers are needed, an
empty catalog. A key on several rows is an error unless ``on_duplicate``
says what to keep: the ``"first"`` or ``"last"`` row, or the ``"mean"`` of
their numbers.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "cars.csv"
>>> _ = path.write_text("name,mpg,hp\\ncorona,25,95\\ncorona,29,83\\ncivic,33,53\\n")
>>> read_catalog(path)
Traceback (most recent call last):
...
softkv.errors.CatalogError: ...cars.csv: 1 key is on more than one row: 'corona' (lines 2, 3); choose ...
>>> catalog = read_catalog(path, on_duplicate="mean")
>>> catalog["corona"], catalog.value_columns, catalog.duplicates
([27.0, 89.0], ['mpg', 'hp'], {'corona': 2})
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CatalogError
from ._files import open_regular

__all__ = ["MAX_CATALOG_BYTES", "ON_DUPLICATE", "Catalog", "read_catalog"]

ON_DUPLICATE = ("error", "first", "last", "mean")
"""What to do with a key on several rows: refuse, keep the first or the last row, or average their numbers."""

MAX_CATALOG_BYTES = 1 << 31
"""The largest catalog file read (2 GiB)."""

FORMATS = (".csv", ".json", ".jsonl")


@dataclass(eq=False)  # compared as a mapping, equal to a dict of the same pairs
class Catalog(Mapping[str, Any]):
    """key -> value as read from a catalog, with what the reading found: a mapping of its ``pairs``."""

    pairs: dict[str, Any]
    key_column: str
    value_columns: list[str]
    n_rows: int  # the records read (duplicates included)
    duplicates: dict[str, int] = field(default_factory=dict)  # key -> its number of rows, for keys on several

    def __getitem__(self, key: str) -> Any:
        return self.pairs[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def vector(self) -> bool:
        """Several value columns: each value is a vector of their numbers."""
        return len(self.value_columns) > 1


@dataclass(frozen=True)
class _Row:
    where: str  # "line 3" or "record 2"
    cells: dict[str, Any]


def read_text(path: Path) -> str:
    """A regular file's text (a FIFO, a device or a link to one is refused before any byte is read)."""
    try:
        opened = open_regular(path)
    except FileNotFoundError:
        raise CatalogError(f"{path}: no such file") from None
    except OSError as error:
        raise CatalogError(f"{path}: cannot be opened ({error.strerror})") from None
    if opened is None:
        raise CatalogError(f"{path}: not a regular file")
    handle, size = opened
    with handle:
        if size > MAX_CATALOG_BYTES:
            raise CatalogError(f"{path}: larger than {MAX_CATALOG_BYTES:,} bytes")
        try:
            return handle.read().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise CatalogError(f"{path}: not UTF-8 text (byte {error.start}); is it a catalog "
                               f"({', '.join(FORMATS)})?") from None


def _csv_rows(path: Path, text: str) -> tuple[list[str], list[_Row]]:
    # rows end at \n, \r\n or \r only (str.splitlines would also end them at U+2028 and other separators)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise CatalogError(f"{path}: empty file; a CSV catalog starts with a header row")
        if len(set(header)) != len(header) or "" in header:
            raise CatalogError(f"{path}, line 1: the header {header} has an empty or repeated column name")
        rows = []
        for cells in reader:
            if not cells:
                continue  # a blank line
            if len(cells) != len(header):
                raise CatalogError(f"{path}, line {reader.line_num}: {len(cells)} cells where the header has "
                                   f"{len(header)} ({', '.join(header)}); check its quotes and commas")
            rows.append(_Row(f"line {reader.line_num}", dict(zip(header, cells))))
    except csv.Error as error:
        raise CatalogError(f"{path}, line {reader.line_num}: not valid CSV ({error}); "
                           "check for an unterminated quote") from None
    return header, rows


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as the list of its (key, value) pairs, repeated keys included."""


def _plain(value: Any) -> Any:
    """JSON as dicts and lists (an object's repeated key: the last, as json.loads does)."""
    if isinstance(value, _Pairs):
        return {key: _plain(item) for key, item in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _json_rows(path: Path, text: str, lines: bool) -> tuple[list[str], list[_Row]]:
    found: list[tuple[str, Any]] = []
    try:
        if lines:
            for n, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 may be inside a string
                if line.strip():
                    try:
                        found.append((f"line {n}", _plain(json.loads(line, object_pairs_hook=_Pairs))))
                    except json.JSONDecodeError as error:
                        raise CatalogError(f"{path}, line {n}: not valid JSON ({error.msg})") from None
        else:
            data = json.loads(text, object_pairs_hook=_Pairs)  # an object's repeated keys are kept, not merged
            if isinstance(data, _Pairs):
                found = [(f"entry {n}", {"key": key, "value": _plain(value)}) for n, (key, value) in enumerate(data, 1)]
            elif isinstance(data, list):
                found = [(f"record {n}", _plain(record)) for n, record in enumerate(data, 1)]
            else:
                raise CatalogError(f"{path}: a JSON catalog is an object of key -> value or a list of records, "
                                   f"not a {type(data).__name__}")
    except json.JSONDecodeError as error:
        raise CatalogError(f"{path}, line {error.lineno}: not valid JSON ({error.msg})") from None
    except RecursionError:
        raise CatalogError(f"{path}: JSON nested too deep to read; a catalog's records are flat (column -> cell), "
                           "a cell at most a few levels deep") from None
    rows = []
    for where, record in found:
        if not isinstance(record, dict):
            raise CatalogError(f"{path}, {where}: a record is a JSON object of column -> cell, "
                               f"not a {type(record).__name__}")
        rows.append(_Row(where, record))
    return (list(rows[0].cells) if rows else []), rows


def _number(cell: Any) -> float | None:
    """The cell as a finite number, or None (bool is not a number; "nan" and "inf" are not either)."""
    if isinstance(cell, bool) or cell is None:
        return None
    try:
        number = float(cell)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def read_catalog(path: str | os.PathLike[str], key: str | None = None, values: list[str] | None = None, *,
                 on_duplicate: str = "error") -> Catalog:
    """The :class:`Catalog` in a CSV, JSON or JSONL file (see the module's docstring)."""
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate must be one of {', '.join(map(repr, ON_DUPLICATE))}, got {on_duplicate!r}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise CatalogError(f"{path}: unknown catalog format {suffix!r}; use {', '.join(FORMATS)}")
    text = read_text(path)
    columns, rows = _csv_rows(path, text) if suffix == ".csv" else _json_rows(path, text, suffix == ".jsonl")
    if not rows:
        raise CatalogError(f"{path}: no records" + (f" (only the header {columns})" if columns else ""))
    key = key or columns[0]
    values = list(values or [c for c in columns if c != key])
    present = set(columns)  # a set: a catalog may have many thousand columns
    missing = [c for c in [key, *values] if c not in present]
    if missing:
        raise CatalogError(f"{path}: no column {missing}; the columns are {columns}")
    if not values:
        raise CatalogError(f"{path}: no value column; the columns are {columns}")
    keyed = [(_key_of(path, row, key), _value_of(path, row, values), row) for row in rows]
    if len(values) == 1 and all(_number(value) is not None for _, value, _ in keyed):
        keyed = [(name, float(value), row) for name, value, row in keyed]
    return _collect(path, keyed, key, values, on_duplicate)


def _key_of(path: Path, row: _Row, column: str) -> str:
    cell = row.cells.get(column)
    if isinstance(cell, bool) or not isinstance(cell, (str, int, float)) or not str(cell).strip():
        what = "empty" if cell is None or cell == "" else f"{cell!r}, not text"
        raise CatalogError(f"{path}, {row.where}, column {column!r}: the key is {what}")
    return str(cell)


def _value_of(path: Path, row: _Row, columns: list[str]) -> Any:
    for column in columns:
        if row.cells.get(column) in (None, ""):
            raise CatalogError(f"{path}, {row.where}, column {column!r}: empty cell "
                               f"({'no such column in this record' if column not in row.cells else 'a null'})")
    if len(columns) == 1:
        return row.cells[columns[0]]
    vector = []
    for column in columns:
        number = _number(row.cells[column])
        if number is None:
            raise CatalogError(f"{path}, {row.where}, column {column!r}: {row.cells[column]!r} is not a finite "
                               "number; several value columns make a vector and must all be numbers "
                               "(choose one column with --value to keep text)")
        vector.append(number)
    return vector


def _collect(path: Path, keyed: list[tuple[str, Any, _Row]], key: str, values: list[str],
             on_duplicate: str) -> Catalog:
    """key -> value, with keys on several rows refused, or resolved as ``on_duplicate`` says."""
    groups: dict[str, list[tuple[Any, _Row]]] = {}
    for name, value, row in keyed:
        groups.setdefault(name, []).append((value, row))
    repeated = {name: group for name, group in groups.items() if len(group) > 1}
    if repeated and on_duplicate == "error":
        shown = "; ".join(f"{name!r} ({_places(group)})" for name, group in list(repeated.items())[:3])
        more = f" and {len(repeated) - 3} more" if len(repeated) > 3 else ""
        raise CatalogError(
            f"{path}: {len(repeated)} key{'s are' if len(repeated) > 1 else ' is'} on more than one row: "
            f"{shown}{more}; choose what to keep with on_duplicate=\"first\", \"last\" or \"mean\" (--on-duplicate)")
    pairs = {}
    for name, group in groups.items():
        if on_duplicate == "mean" and len(group) > 1:
            pairs[name] = _mean(path, name, [value for value, _ in group])
        else:
            pairs[name] = group[-1 if on_duplicate == "last" else 0][0]
    return Catalog(pairs, key, values, len(keyed), {name: len(group) for name, group in repeated.items()})


def _places(group: list[tuple[Any, _Row]]) -> str:
    """Where a key's rows are: "lines 3, 50, 71, 90, ..." (or records)."""
    kind, _ = group[0][1].where.split(" ", 1)
    numbers = [row.where.split(" ", 1)[1] for _, row in group]
    kinds = "entries" if kind == "entry" else kind + "s"
    return f"{kinds} {', '.join(numbers[:4])}{', ...' if len(numbers) > 4 else ''}"


def _mean(path: Path, name: str, found: list[Any]) -> Any:
    if isinstance(found[0], list):
        return [sum(column) / len(found) for column in zip(*found)]
    if all(isinstance(value, float) for value in found):
        return sum(found) / len(found)
    raise CatalogError(f"{path}: key {name!r} is on {len(found)} rows whose values are not numbers "
                       f"({found[0]!r}, {found[1]!r}); on_duplicate=\"mean\" needs numbers: use \"first\" or \"last\"")
