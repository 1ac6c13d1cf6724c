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

import contextlib
import csv
import io
import itertools
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


@dataclass(frozen=True, slots=True)
class _Row:
    kind: str  # "line", "record" or "entry"
    number: int
    cells: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.kind} {self.number}"


def _open_text(path: Path) -> Any:
    """A regular file's handle (a FIFO, a device or a link to one is refused before any byte is read)."""
    try:
        opened = open_regular(path)
    except FileNotFoundError:
        raise CatalogError(f"{path}: no such file") from None
    except OSError as error:
        raise CatalogError(f"{path}: cannot be opened ({error.strerror})") from None
    if opened is None:
        raise CatalogError(f"{path}: not a regular file")
    handle, size = opened
    if size > MAX_CATALOG_BYTES:
        handle.close()
        raise CatalogError(f"{path}: larger than {MAX_CATALOG_BYTES:,} bytes")
    return handle


def _not_utf8(path: Path, where: str) -> CatalogError:
    return CatalogError(f"{path}: not UTF-8 text ({where}); is it a catalog ({', '.join(FORMATS)})?")


def read_text(path: Path) -> str:
    """A regular file's whole text (JSON is parsed whole)."""
    with _open_text(path) as handle:
        try:
            return str(handle.read().decode("utf-8-sig"))
        except UnicodeDecodeError as error:
            raise _not_utf8(path, f"byte {error.start}") from None


def _csv_rows(path: Path, text: Any) -> tuple[list[str], Iterator[_Row]]:
    """The header, and the rows as they are read (a catalog is never held whole as text or as rows)."""
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as error:
        raise _problem(path, reader, error) from None
    if header is None:
        raise CatalogError(f"{path}: empty file; a CSV catalog starts with a header row")
    if len(set(header)) != len(header) or "" in header:
        raise CatalogError(f"{path}, line 1: the header {header} has an empty or repeated column name")

    def rows() -> Iterator[_Row]:
        try:
            for cells in reader:
                if not cells:
                    continue  # a blank line
                if len(cells) != len(header):
                    raise CatalogError(f"{path}, line {reader.line_num}: {len(cells)} cells where the header has "
                                       f"{len(header)} ({', '.join(header)}); check its quotes and commas")
                yield _Row("line", reader.line_num, dict(zip(header, cells)))
        except (csv.Error, UnicodeDecodeError) as error:
            raise _problem(path, reader, error) from None
    return header, rows()


def _problem(path: Path, reader: Any, error: Exception) -> CatalogError:
    if isinstance(error, UnicodeDecodeError):
        return _not_utf8(path, f"near line {reader.line_num + 1}")
    return CatalogError(f"{path}, line {reader.line_num}: not valid CSV ({error}); check for an unterminated quote")


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as the list of its (key, value) pairs, repeated keys included."""


def _plain(value: Any) -> Any:
    """JSON as dicts and lists (an object's repeated key: the last, as json.loads does)."""
    if isinstance(value, _Pairs):
        return {key: _plain(item) for key, item in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _json_rows(path: Path, text: str, lines: bool) -> tuple[list[str], Iterator[_Row]]:
    found: list[tuple[str, int, Any]] = []
    try:
        if lines:
            for n, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 may be inside a string
                if line.strip():
                    try:
                        found.append(("line", n, json.loads(line, object_pairs_hook=_Pairs)))
                    except json.JSONDecodeError as error:
                        raise CatalogError(f"{path}, line {n}: not valid JSON ({error.msg})") from None
        else:
            data = json.loads(text, object_pairs_hook=_Pairs)  # an object's repeated keys are kept, not merged
            if isinstance(data, _Pairs):
                found = [("entry", n, _Pairs([("key", key), ("value", value)]))
                         for n, (key, value) in enumerate(data, 1)]
            elif isinstance(data, list):
                found = [("record", n, record) for n, record in enumerate(data, 1)]
            else:
                raise CatalogError(f"{path}: a JSON catalog is an object of key -> value or a list of records, "
                                   f"not a {type(data).__name__}")
    except json.JSONDecodeError as error:
        raise CatalogError(f"{path}, line {error.lineno}: not valid JSON ({error.msg})") from None
    except RecursionError:
        raise CatalogError(f"{path}: JSON nested too deep to read; a catalog's records are flat (column -> cell), "
                           "a cell at most a few levels deep") from None

    def rows() -> Iterator[_Row]:
        for i, (kind, n, record) in enumerate(found):
            found[i] = ("", 0, None)  # each record is let go once read
            record = _plain(record) if kind != "entry" else {k: _plain(v) for k, v in record}
            if not isinstance(record, dict):
                raise CatalogError(f"{path}, {kind} {n}: a record is a JSON object of column -> cell, "
                                   f"not a {type(record).__name__}")
            yield _Row(kind, n, record)
    first = found[0][2] if found else None
    columns = [k for k, _ in first] if isinstance(first, _Pairs) else []
    return list(dict.fromkeys(columns)), rows()


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
    """The :class:`Catalog` in a CSV, JSON or JSONL file (see the module's docstring).

    A CSV is read row by row; what is kept of each row is its key, its value
    and its line number, so reading costs a few times the pairs it yields."""
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate must be one of {', '.join(map(repr, ON_DUPLICATE))}, got {on_duplicate!r}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise CatalogError(f"{path}: unknown catalog format {suffix!r}; use {', '.join(FORMATS)}")
    with contextlib.ExitStack() as stack:
        if suffix == ".csv":
            # newline="": rows end at \n, \r\n or \r only (str.splitlines also ends them at U+2028 and others)
            text = stack.enter_context(io.TextIOWrapper(_open_text(path), encoding="utf-8-sig", newline=""))
            columns, rows = _csv_rows(path, text)
        else:
            columns, rows = _json_rows(path, read_text(path), suffix == ".jsonl")
        first = next(rows, None)
        if first is None:
            raise CatalogError(f"{path}: no records" + (f" (only the header {columns})" if columns else ""))
        key = key or columns[0]
        values = list(values or [c for c in columns if c != key])
        present = set(columns)  # a set: a catalog may have many thousand columns
        missing = [c for c in [key, *values] if c not in present]
        if missing:
            raise CatalogError(f"{path}: no column {missing}; the columns are {columns}")
        if not values:
            raise CatalogError(f"{path}: no value column; the columns are {columns}")
        keyed = [(_key_of(path, row, key), _value_of(path, row, values), row.number)
                 for row in itertools.chain([first], rows)]
    if len(values) == 1 and all(_number(value) is not None for _, value, _ in keyed):
        keyed = [(name, float(value), number) for name, value, number in keyed]
    return _collect(path, first.kind, keyed, key, values, on_duplicate)


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


def _collect(path: Path, kind: str, keyed: list[tuple[str, Any, int]], key: str, values: list[str],
             on_duplicate: str) -> Catalog:
    """key -> value, with keys on several rows refused, or resolved as ``on_duplicate`` says."""
    first: dict[str, int] = {}  # each key's first position in keyed
    repeated: dict[str, list[int]] = {}  # the positions of keys on several rows
    for position, (name, _, _) in enumerate(keyed):
        if name in first:
            repeated.setdefault(name, [first[name]]).append(position)
        else:
            first[name] = position
    if repeated and on_duplicate == "error":
        shown = "; ".join(f"{name!r} ({_places(kind, [keyed[i][2] for i in group])})"
                          for name, group in list(repeated.items())[:3])
        more = f" and {len(repeated) - 3} more" if len(repeated) > 3 else ""
        raise CatalogError(
            f"{path}: {len(repeated)} key{'s are' if len(repeated) > 1 else ' is'} on more than one row: "
            f"{shown}{more}; choose what to keep with on_duplicate=\"first\", \"last\" or \"mean\" (--on-duplicate)")
    pairs = {name: keyed[position][1] for name, position in first.items()}
    for name, group in repeated.items():
        if on_duplicate == "mean":
            pairs[name] = _mean(path, name, [keyed[i][1] for i in group])
        elif on_duplicate == "last":
            pairs[name] = keyed[group[-1]][1]
    return Catalog(pairs, key, values, len(keyed), {name: len(group) for name, group in repeated.items()})


def _places(kind: str, numbers: list[int]) -> str:
    """Where a key's rows are: "lines 3, 50, 71, 90, ..." (or records)."""
    kinds = "entries" if kind == "entry" else kind + "s"
    return f"{kinds} {', '.join(map(str, numbers[:4]))}{', ...' if len(numbers) > 4 else ''}"


def _mean(path: Path, name: str, found: list[Any]) -> Any:
    if isinstance(found[0], list):
        return [sum(column) / len(found) for column in zip(*found)]
    if all(isinstance(value, float) for value in found):
        return sum(found) / len(found)
    raise CatalogError(f"{path}: key {name!r} is on {len(found)} rows whose values are not numbers "
                       f"({found[0]!r}, {found[1]!r}); on_duplicate=\"mean\" needs numbers: use \"first\" or \"last\"")
