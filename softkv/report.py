"""What the ``softkv`` command prints for a query: a table people can read, or JSON for scripts.

The table lists the keys with the most weight, heaviest first; for a query
that names a key, the key and then its nearest neighbours by score, marked
as context (they take no weight). Vector values are shown under their
column names, numbers to four significant digits (no float noise: 2565, not
2564.999). :func:`as_json` gives one object per query: the answer, whether
it missed, and the weights and scores of the keys shown.
"""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

import numpy as np

from .result import LookupResult, _short, number, text_table

__all__ = ["Row", "as_json", "rows_of", "table_lines"]


class Row(NamedTuple):
    """One line of the table: a key, its weight and score, its value, and whether it is only context."""

    key: str
    weight: float
    score: float
    value: Any
    context: bool


def rows_of(result: LookupResult, n: int) -> list[Row]:
    """The ``n`` rows to show, by weight then score: an exact hit's key, then its nearest neighbours."""
    chosen = np.lexsort((-result.score_array, -result.weight_array))[:n]
    return [Row(result.keys[r], float(result.weight_array[r]), float(result.score_array[r]),
                result.row_value(int(r)), bool(result.exact and i > 0)) for i, r in enumerate(chosen)]


def formatted(value: Any, names: tuple[str, ...] | None = None) -> list[str]:
    """A value as table cells: one per named component of a vector, else one."""
    array = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    if names and array is not None and array.dtype.kind in "fiu" and array.shape == (len(names),):
        return [number(x) for x in array]
    if isinstance(value, (float, np.floating)):
        return [number(value)]
    if isinstance(value, str):
        return [value if len(value) <= 40 else value[:37] + "..."]
    return [_short(value, 40)]


def headline(result: LookupResult, names: tuple[str, ...] | None) -> str:
    query = repr(result.query) if isinstance(result.query, str) else "vector query"
    if result.missed:
        return f"{query}: no match ({result.reason})"
    cells = formatted(result.value, names)
    answer = ", ".join(f"{name} {cell}" for name, cell in zip(names, cells)) if len(cells) > 1 and names else cells[0]
    how = "exact key" if result.exact else f"blend of {len(result.keys)} keys, temperature {result.temperature:.3g}"
    return f"{query} -> {answer}  ({how})"


def table_lines(result: LookupResult, n: int, names: tuple[str, ...] | None) -> tuple[list[str], list[list[str]]]:
    """The header and the cells of each row (a neighbour shown for context is marked "~")."""
    width = len(formatted(result.row_value(0), names))
    value_header = list(names) if names and width == len(names) else ["value"]
    header = ["key", "weight", "score", *value_header]
    body = []
    for row in rows_of(result, n):
        mark = "~ " if row.context else ""
        body.append([mark + row.key, f"{row.weight:.3f}", f"{row.score:.3f}", *formatted(row.value, names)])
    return header, body


def plain_table(header: list[str], body: list[list[str]]) -> str:
    numeric = {i for i in range(1, len(header)) if all(_is_number(row[i]) for row in body)}
    return text_table(header, body, right=numeric)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _plain(value: Any) -> Any:
    """A value as JSON can hold it (arrays and tuples as lists, numbers to 6 significant digits, non-finite
    numbers as null)."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (np.floating, float)):  # float32 weights blend to about 6 digits: 74, not 74.00002706
        return float(f"{float(value):.6g}") if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return repr(value)


def as_json(result: LookupResult, n: int, names: tuple[str, ...] | None) -> str:
    """One line of JSON: query, answer (by column name for named vectors), miss, exact, nearest, and the
    weights and scores of the ``n`` keys shown."""
    answer = None if result.missed else _plain(result.value)
    if names and isinstance(answer, list) and len(answer) == len(names):
        answer = dict(zip(names, answer))
    shown = rows_of(result, n)
    record = {
        "query": _plain(result.query),
        "answer": answer,
        "miss": bool(result.missed),
        "reason": result.reason,
        "exact": bool(result.exact),
        "nearest": result.nearest,
        "temperature": _plain(result.temperature),
        "p_miss": _plain(result.p_miss),
        "weights": {row.key: _plain(row.weight) for row in shown},
        "scores": {row.key: _plain(row.score) for row in shown},
    }
    return json.dumps(record, ensure_ascii=False)
