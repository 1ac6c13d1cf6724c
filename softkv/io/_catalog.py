"""Catalog files: CSV, JSON or JSONL tables read into key -> value pairs, never losing a row silently.

A catalog has a key column (``key``; by default the first, unless it looks
like row ids, a column named ``id`` or whole numbers beside text: then the
first text column, and ``Catalog.key_note`` says so) and value columns
(``values``, default: all the others). Several value columns that are all
numbers make vector values; several columns of which one holds text make
record values (a dict of column -> cell per row, numbers as floats). One
column is numeric when every entry is a number, and holds its entries as they
are otherwise. JSON is an object of key -> value or a list of records; JSONL
is one record per line; CSV may use another ``delimiter`` (TSV: tabs; given none,
a header of one column that holds one of ; tab | says which) and another ``encoding``.

Every problem is a :class:`CatalogError` naming the file, the line (or the
record, for JSON) and the column: a ragged row or an unterminated quote, an
empty cell (unless ``on_empty`` is ``"skip"``: the row is left out and
counted in ``Catalog.skipped``; or ``"keep"``: the cell is None), a key that
is not text, a column of numbers holding NaN or inf, an empty catalog. A key
on several rows is an error unless ``on_duplicate`` says what to keep: the
``"first"`` or ``"last"`` row, or the ``"mean"`` of their numbers.

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

import codecs
import contextlib
import io
import itertools
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CatalogError
from ._rows import FORMATS, MAX_CATALOG_BYTES, OTHER_DELIMITERS, Row, csv_rows, json_rows, open_text, read_text

__all__ = ["MAX_CATALOG_BYTES", "ON_DUPLICATE", "ON_EMPTY", "Catalog", "read_catalog"]

ON_EMPTY = ("error", "skip", "keep")
"""What to do with a row holding an empty cell: refuse, leave the row out (counted), or keep the cell as None."""

ON_DUPLICATE = ("error", "first", "last", "mean")
"""What to do with a key on several rows: refuse, keep the first or the last row, or average their numbers."""

ID_NAMES = frozenset({"id", "ids", "_id", "#", "no", "index", "idx", "row", "rowid", "row_id", "key_id"})


@dataclass(eq=False)  # compared as a mapping, equal to a dict of the same pairs
class Catalog(Mapping[str, Any]):
    """key -> value as read from a catalog, with what the reading found: a mapping of its ``pairs``."""

    pairs: dict[str, Any]
    key_column: str
    value_columns: list[str]
    n_rows: int  # the records read (duplicates included, skipped ones not)
    duplicates: dict[str, int] = field(default_factory=dict)  # key -> its number of rows, for keys on several
    record: bool = False  # each value is a dict of value column -> cell
    skipped: tuple[str, ...] = ()  # where the rows left out for an empty cell were (on_empty="skip")
    key_note: str | None = None  # why the key column is not the first, when it is not

    def __getitem__(self, key: str) -> Any:
        return self.pairs[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def vector(self) -> bool:
        """Several value columns of numbers: each value is a vector of them."""
        return len(self.value_columns) > 1 and not self.record


def _float(cell: Any) -> float | None:
    """The cell read as a float, NaN and inf included, or None (bool and None are not numbers)."""
    if isinstance(cell, bool) or cell is None:
        return None
    try:
        return float(cell)
    except (TypeError, ValueError, OverflowError):
        return None


def _number(cell: Any) -> float | None:
    """The cell as a finite number, or None (bool is not a number; "nan" and "inf" are not either)."""
    number = _float(cell)
    return number if number is not None and math.isfinite(number) else None


def read_catalog(path: str | os.PathLike[str], key: str | None = None, values: list[str] | None = None, *,
                 on_duplicate: str = "error", on_empty: str = "error", delimiter: str | None = None,
                 encoding: str = "utf-8-sig") -> Catalog:
    """The :class:`Catalog` in a CSV, TSV, JSON or JSONL file (see the module's docstring).

    A CSV is read row by row; what is kept of each row is its key, its cells
    and its line number, so reading costs a few times the pairs it yields."""
    _check_options(on_duplicate, on_empty, delimiter, encoding)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise CatalogError(f"{path}: unknown catalog format {suffix!r}; use {', '.join(FORMATS)}")
    with contextlib.ExitStack() as stack:
        if suffix in (".csv", ".tsv"):
            # newline="": rows end at \n, \r\n or \r only (str.splitlines also ends them at U+2028 and others)
            text = stack.enter_context(io.TextIOWrapper(open_text(path), encoding=encoding, newline=""))
            columns, rows = csv_rows(path, text, delimiter, "\t" if suffix == ".tsv" else ",")
        else:
            columns, rows = json_rows(path, read_text(path, encoding), suffix == ".jsonl")
        first = next(rows, None)
        if first is None:
            raise CatalogError(f"{path}: no records" + (f" (only the header {columns})" if columns else ""))
        key, note = (key, None) if key else _key_column(columns, first)
        ids = columns[0] if note else None  # row ids are no value: named with --value, they are one
        values = list(values or [c for c in columns if c not in (key, ids)])
        present = set(columns)  # a set: a catalog may have many thousand columns
        missing = [c for c in [key, *values] if c not in present]
        if missing:
            raise CatalogError(f"{path}: no column {missing}; the columns are {columns}")
        if not values:
            hint = ("; if another character separates its cells, name it with --delimiter (delimiter=...)"
                    if len(columns) == 1 and any(c in columns[0] for c in "," + OTHER_DELIMITERS) else "")
            raise CatalogError(f"{path}: no value column; the columns are {columns}{hint}")
        keyed, skipped = [], []
        for row in itertools.chain([first], rows):
            cells = _cells_of(path, row, key, values, on_empty)
            if cells is None:
                skipped.append(row.where)
            else:
                keyed.append((_key_of(path, row, key, note), cells, row.number))
    if not keyed:
        raise CatalogError(f"{path}: every row has an empty cell and on_empty=\"skip\" left them all out")
    keyed, record = _values_of(path, first.kind, keyed, values)
    pairs, duplicates = _collect(path, first.kind, keyed, on_duplicate)
    return Catalog(pairs, key, values, len(keyed), duplicates, record, tuple(skipped), note)


def _check_options(on_duplicate: str, on_empty: str, delimiter: str | None, encoding: str) -> None:
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate must be one of {', '.join(map(repr, ON_DUPLICATE))}, got {on_duplicate!r}")
    if on_empty not in ON_EMPTY:
        raise ValueError(f"on_empty must be one of {', '.join(map(repr, ON_EMPTY))}, got {on_empty!r}")
    if delimiter is not None and (len(delimiter) != 1 or delimiter in "\r\n\"" or delimiter.isalnum()):
        raise ValueError(f"delimiter must be one character that is not a letter, digit, quote or newline, "
                         f"got {delimiter!r}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}; e.g. utf-8, latin-1, cp1252") from None


def _key_column(columns: list[str], first: Row) -> tuple[str, str | None]:
    """The key column when none is named: the first, unless it looks like row ids (named ``id`` or the like, or
    a whole number where a later column holds text): then the first column holding text, with a note why."""
    if not columns:
        return "", None
    head = columns[0]
    cell = first.cells.get(head)
    whole = isinstance(cell, int) and not isinstance(cell, bool) or isinstance(cell, str) and cell.strip().isdigit()
    texts = [c for c in columns[1:] if isinstance(first.cells.get(c), str) and _number(first.cells[c]) is None]
    if texts and (head.strip().lower() in ID_NAMES or whole):
        why = f"named {head!r}" if head.strip().lower() in ID_NAMES else "holding whole numbers"
        return texts[0], (f"key column {texts[0]!r}: the first column, {head!r}, is {why}, as row ids are (and "
                          "is not a value); choose another with --key (key=...)")
    return head, None


def _key_of(path: Path, row: Row, column: str, note: str | None) -> str:
    cell = row.cells.get(column)
    if isinstance(cell, bool) or not isinstance(cell, (str, int, float)) or not str(cell).strip():
        what = "empty" if cell is None or cell == "" else f"{cell!r}, not text"
        chosen = f" (chosen as {note.split(':', 1)[0]})" if note else ""
        raise CatalogError(f"{path}, {row.where}, column {column!r}: the key is {what}{chosen}; name the key "
                           "column with --key (key=...)")
    return str(cell)


def _cells_of(path: Path, row: Row, key: str, columns: list[str], on_empty: str) -> tuple[Any, ...] | None:
    """The row's value cells (None where empty and kept), or None to leave the row out; an empty cell is an
    error unless ``on_empty`` says otherwise."""
    if row.cells.get(key) in (None, "") and on_empty == "skip":
        return None  # an empty key with any other on_empty: _key_of says so
    for column in columns:
        if row.cells.get(column) in (None, ""):
            if on_empty == "skip":
                return None
            if on_empty == "error":
                why = ("no such column in this record" if column not in row.cells else
                       "a null" if row.cells[column] is None else "no text")
                raise CatalogError(f"{path}, {row.where}, column {column!r}: empty cell ({why}); leave such rows "
                                   "out with --on-empty skip (on_empty=\"skip\"), or keep the cell as None with "
                                   "--on-empty keep")
    return tuple(None if row.cells.get(column) in (None, "") else row.cells[column] for column in columns)


def _values_of(path: Path, kind: str, keyed: list[tuple[str, Any, int]],
               columns: list[str]) -> tuple[list[tuple[str, Any, int]], bool]:
    """The values from the cells: one column as it is (floats if all numbers), several columns of numbers as
    vectors, several columns with text as records (dicts; numbers as floats); and whether they are records."""
    numeric = [_numeric_column(path, kind, keyed, j, column, len(columns) == 1) for j, column in enumerate(columns)]
    if len(columns) == 1:
        return [(name, float(cells[0]) if numeric[0] else cells[0], n) for name, cells, n in keyed], False
    if all(numeric):
        for _, cells, n in keyed:
            if None in cells:
                column = columns[cells.index(None)]
                raise CatalogError(f"{path}, {kind} {n}, column {column!r}: an empty number kept in a vector; "
                                   "vectors need every number: use --on-empty skip")
        return [(name, [float(cell) for cell in cells], n) for name, cells, n in keyed], False
    return [(name, {column: float(cell) if is_number and cell is not None else cell
                    for column, cell, is_number in zip(columns, cells, numeric)}, n)
            for name, cells, n in keyed], True


def _numeric_column(path: Path, kind: str, keyed: list[tuple[str, Any, int]], j: int, column: str,
                    alone: bool) -> bool:
    """Whether column ``j`` holds numbers only (empty cells aside). A column of numbers with NaN or inf among
    them is an error (unless it is the only value column: then it holds text)."""
    bad = None
    for _, cells, n in keyed:
        cell = cells[j]
        if cell is None or _number(cell) is not None:
            continue
        if _float(cell) is None:
            return False  # text: a record's (or the value's) cell as it is
        bad = bad or (n, cell)
    if bad is not None and not alone:
        raise CatalogError(f"{path}, {kind} {bad[0]}, column {column!r}: {bad[1]!r} is not a finite number in a "
                           "column of numbers; fix the cell, or choose the value columns with --value")
    return bad is None and any(cells[j] is not None for _, cells, _ in keyed)


def _collect(path: Path, kind: str, keyed: list[tuple[str, Any, int]],
             on_duplicate: str) -> tuple[dict[str, Any], dict[str, int]]:
    """key -> value, with keys on several rows refused, or resolved as ``on_duplicate`` says; and the number of
    rows of each key on several."""
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
    return pairs, {name: len(group) for name, group in repeated.items()}


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
