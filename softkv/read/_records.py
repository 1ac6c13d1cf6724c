"""A read as plain data for programs: what ``softkv query --json`` prints and ``softkv serve`` answers.

:func:`as_record` turns a :class:`LookupResult` into a dict of JSON types:
the answer (by column name for named vectors), whether it missed and why,
the nearest key and its value (hard retrieval beside the soft answer), and
the weights and scores of the keys shown (:func:`rows_of`: by weight, then
score). :func:`plain` turns any value into what JSON can hold.

>>> from softkv import SoftDict
>>> record = as_record(SoftDict({"apple": 10, "banana": 5, "chair": 2}).lookup("fruit"), rows=2)
>>> record["answer"], record["nearest"], record["nearest_value"], list(record["weights"])
(5.80398, 'banana', 5, ['banana', 'apple'])
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ._results import LookupResult, by_weight

__all__ = ["Row", "as_record", "plain", "rows_of"]


class Row(NamedTuple):
    """One key shown for a read: its weight and score, its value, and whether it is only context."""

    key: str
    weight: float
    score: float
    value: Any
    context: bool


def rows_of(result: LookupResult, n: int) -> list[Row]:
    """The ``n`` rows to show, by weight then score: an exact hit's key, then its nearest neighbours (context:
    they take no weight)."""
    chosen = by_weight(result.weight_array, result.score_array)[:n]
    return [Row(result.keys[r], float(result.weight_array[r]), float(result.score_array[r]),
                result.row_value(int(r)), bool(result.exact and i > 0)) for i, r in enumerate(chosen)]


def plain(value: Any) -> Any:
    """A value as JSON can hold it (arrays and tuples as lists, numbers to 6 significant digits, non-finite
    numbers as null)."""
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (np.floating, float)):  # float32 weights blend to about 6 digits: 74, not 74.00002706
        return float(f"{float(value):.6g}") if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return repr(value)


def as_record(result: LookupResult, rows: int = 5, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The read of one query as JSON types: query, answer (by column name for named vectors; None for a miss),
    miss and reason, exact, nearest and its stored value (None when no key was read), temperature, p_miss,
    confidence, tail_mass and candidates (a read of a backend's candidates; else None), and the weights and
    scores of the ``rows`` keys shown."""
    answer = None if result.missed else plain(result.value)
    if names and isinstance(answer, list) and len(answer) == len(names):
        answer = dict(zip(names, answer))
    shown = rows_of(result, rows)
    nearest = result.nearest if np.isfinite(result.nearest_score) else None  # a blank query reads no key
    return {
        "query": plain(result.query),
        "answer": answer,
        "miss": bool(result.missed),
        "reason": result.reason,
        "exact": bool(result.exact),
        "nearest": nearest,
        "nearest_value": None if nearest is None else plain(result.row_value(result.nearest_row)),
        "temperature": plain(result.temperature),
        "p_miss": plain(result.p_miss),
        "confidence": plain(result.confidence),
        "tail_mass": plain(result.tail_mass),
        "candidates": result.candidates,
        "weights": {row.key: plain(row.weight) for row in shown},
        "scores": {row.key: plain(row.score) for row in shown},
    }
