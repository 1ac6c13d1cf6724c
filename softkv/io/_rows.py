"""A catalog file's rows as they are read, before any column is chosen: the file opened (a regular file, at most
:data:`MAX_CATALOG_BYTES`), CSV row by row with its separator, JSON parsed whole into records. Every problem is a
:class:`~softkv.errors.CatalogError` naming the file and the line or record (:mod:`._catalog` makes keys and
values of the rows).
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CatalogError
from ._files import open_regular

__all__ = ["FORMATS", "MAX_CATALOG_BYTES", "OTHER_DELIMITERS", "Row", "csv_rows", "json_rows", "open_text", "read_text"]

MAX_CATALOG_BYTES = 1 << 31
"""The largest catalog file read (2 GiB)."""

FORMATS = (".csv", ".tsv", ".json", ".jsonl")


@dataclass(frozen=True, slots=True)
class Row:
    kind: str  # "line", "record" or "entry"
    number: int
    cells: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.kind} {self.number}"


def open_text(path: Path) -> Any:
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


def _not_utf8(path: Path, where: str, encoding: str = "utf-8-sig") -> CatalogError:
    if encoding.lower().replace("_", "-") in ("utf-8-sig", "utf-8", "utf8"):
        return CatalogError(f"{path}: not UTF-8 text ({where}); is it a catalog ({', '.join(FORMATS)})? If it is "
                            "text in another encoding, name it: --encoding latin-1 (encoding=\"latin-1\")")
    return CatalogError(f"{path}: not {encoding} text ({where})")


def read_text(path: Path, encoding: str = "utf-8-sig") -> str:
    """A regular file's whole text (JSON is parsed whole)."""
    with open_text(path) as handle:
        try:
            return str(handle.read().decode(encoding))
        except UnicodeDecodeError as error:
            raise _not_utf8(path, f"byte {error.start}", encoding) from None


OTHER_DELIMITERS = ";\t|"


def _delimiter_of(text: Any, default: str) -> tuple[str, Iterator[str]]:
    """The cell separator of a CSV given none, and its lines: ``default``, unless the header read with it is
    one column holding exactly one of ; tab | (a spreadsheet saved where commas are decimal marks separates
    cells by ';'). Not csv.Sniffer: it guesses from the rows as well, so a guess could read a comma file
    another way; the header alone decides here, and only where the default would make it one column.

    >>> import io
    >>> _delimiter_of(io.StringIO("name;price\\napple;1,5\\n"), ",")[0], _delimiter_of(io.StringIO("a,b;c\\n"), ",")[0]
    (';', ',')
    """
    first = text.readline()
    try:
        cells = next(csv.reader([first], delimiter=default), [])
    except csv.Error:  # a field over csv's size limit: the reader proper says so, naming the line
        cells = []
    found = [c for c in OTHER_DELIMITERS if c != default and len(cells) == 1 and c in cells[0]]
    return (found[0] if len(found) == 1 else default), itertools.chain([first] if first else [], text)


def csv_rows(path: Path, text: Any, delimiter: str | None, default: str) -> tuple[list[str], Iterator[Row]]:
    """The header, and the rows as they are read (a catalog is never held whole as text or as rows); with no
    ``delimiter``, the header decides between ``default`` and another (:func:`_delimiter_of`)."""
    try:
        if delimiter is None:
            delimiter, text = _delimiter_of(text, default)
    except UnicodeDecodeError as error:
        raise _not_utf8(path, "near line 1", error.encoding) from None
    reader = csv.reader(text, strict=True, delimiter=delimiter)
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as error:
        raise _problem(path, reader, error) from None
    if header is None:
        raise CatalogError(f"{path}: empty file; a CSV catalog starts with a header row")
    separators = "commas" if delimiter == "," else "tabs" if delimiter == "\t" else f"{delimiter!r} separators"
    if len(set(header)) != len(header) or "" in header:
        raise CatalogError(f"{path}, line 1: the header {header} has an empty or repeated column name")

    def rows() -> Iterator[Row]:
        try:
            for cells in reader:
                if not cells:
                    continue  # a blank line
                if len(cells) != len(header):
                    raise CatalogError(f"{path}, line {reader.line_num}: {len(cells)} cells where the header has "
                                       f"{len(header)} ({', '.join(header)}); check its quotes and {separators}")
                yield Row("line", reader.line_num, dict(zip(header, cells)))
        except (csv.Error, UnicodeDecodeError) as error:
            raise _problem(path, reader, error) from None
    return header, rows()


def _problem(path: Path, reader: Any, error: Exception) -> CatalogError:
    if isinstance(error, UnicodeDecodeError):
        return _not_utf8(path, f"near line {reader.line_num + 1}", error.encoding)
    return CatalogError(f"{path}, line {reader.line_num}: not valid CSV ({error}); check for an unterminated quote")


def _json_kind(value: Any) -> str:
    """What a parsed JSON value is, in JSON's words ("a number", not "a int").

    >>> _json_kind(2), _json_kind("x"), _json_kind(None)
    ('a number', 'a string', 'null')
    """
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "a list", type(None): "null"}.get(type(value), f"a {type(value).__name__}")


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as the list of its (key, value) pairs, repeated keys included."""


def _plain(value: Any) -> Any:
    """JSON as dicts and lists (an object's repeated key: the last, as json.loads does)."""
    if isinstance(value, _Pairs):
        return {key: _plain(item) for key, item in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def json_rows(path: Path, text: str, lines: bool) -> tuple[list[str], Iterator[Row]]:
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
                                   f"not {_json_kind(data)}")
    except json.JSONDecodeError as error:
        raise CatalogError(f"{path}, line {error.lineno}: not valid JSON ({error.msg})") from None
    except RecursionError:
        raise CatalogError(f"{path}: JSON nested too deep to read; a catalog's records are flat (column -> cell), "
                           "a cell at most a few levels deep") from None

    def rows() -> Iterator[Row]:
        for i, (kind, n, record) in enumerate(found):
            found[i] = ("", 0, None)  # each record is let go once read
            record = _plain(record)
            if not isinstance(record, dict):
                raise CatalogError(f"{path}, {kind} {n}: a record is a JSON object of column -> cell, "
                                   f"not {_json_kind(record)}")
            yield Row(kind, n, record)
    first = found[0][2] if found else None
    columns = [k for k, _ in first] if isinstance(first, _Pairs) else []
    return list(dict.fromkeys(columns)), rows()
