"""Choosing temperature, top_k and the hybrid weight from data, and a threshold from a precision.

:func:`calibrate` scores every candidate setting on (query, target) pairs,
or, without pairs, on the dict itself: each key's value is predicted from
the other keys (leave-one-key-out, i.e. Nadaraya-Watson bandwidth selection).
A query that is a key never sees its own key. The scores are computed once;
each candidate is one softmax and one blend over them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np

from . import attention
from ._params import hybrid_weight
from ._read import _values, embed_queries
from ._values import CATEGORICAL

__all__ = ["CalibrationReport", "calibrate", "calibrate_threshold"]

TEMPERATURE_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
TOP_KS = (None, 1, 3, 10, 30)
HYBRID_WEIGHTS = (0.0, 0.25, 0.5, 0.75)


@dataclass
class CalibrationReport:
    """The chosen parameters and the error of every candidate (lower is better)."""

    chosen: dict[str, Any]
    metric: str
    n_queries: int
    candidates: list[tuple[dict[str, Any], float]] = field(default_factory=list)

    @property
    def best_error(self) -> float:
        return min(error for _, error in self.candidates)

    def __str__(self) -> str:
        lines = [f"calibrated on {self.n_queries} queries ({self.metric}); chosen: {self.chosen}",
                 f"  {'temperature':>12} {'top_k':>6} {'hybrid':>7} {self.metric:>10}"]
        for params, error in sorted(self.candidates, key=lambda item: item[1])[:10]:
            temperature = params["temperature"]
            shown = temperature if isinstance(temperature, str) else f"{temperature:.4g}"
            lines.append(f"  {shown:>12} {params['top_k']!s:>6} {params['hybrid']:>7} {error:10.4g}")
        if len(self.candidates) > 10:
            lines.append(f"  ... {len(self.candidates) - 10} more candidates")
        return "\n".join(lines)

    __repr__ = __str__


def _scores(d: Any, queries: Sequence[Any] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Semantic scores (n_q, N) in row order, and lexical ones when the queries are text.

    ``queries=None`` means the keys themselves, in row order, read from their stored embeddings.
    """
    store = d._store
    if queries is None:
        Q, queries = store.embeddings, store.row_keys
    else:
        Q = embed_queries(d.encoder, store.dim, queries, d._query_cache)
    if d.query_projection is not None:
        Q = Q @ d.query_projection.T
    S = attention.scores(Q, store.embeddings, d.scoring, key_inverse_norms=store.inverse_norms)
    lexical = None
    if d.scoring == "cosine" and d.encoder is not None and all(isinstance(q, str) for q in queries):
        lexical = store.lexical().spelling(list(queries), store.row_keys)
    return S, lexical


def mix(S: np.ndarray, lexical: np.ndarray | None, hybrid: float) -> np.ndarray:
    """The hybrid score (1 - hybrid) * S + hybrid * lexical (S itself without spelling)."""
    if lexical is None or hybrid == 0:
        return S
    return (1 - hybrid) * S + hybrid * lexical


def predict(d: Any, W: np.ndarray) -> np.ndarray:
    """What a SoftDict answers with weights W: the blends, or the heaviest categories."""
    return _values(d._store, W, np.zeros(len(W), dtype=bool))[0]


def value_metrics(d: Any, predicted: Any, targets: Any) -> dict[str, float]:
    """Error rate for categories; MAE and RMSE for numbers."""
    if d._store.spec.kind == CATEGORICAL:
        return {"error rate": float(np.mean([p != t for p, t in zip(predicted, targets)]))}
    difference = (np.asarray(predicted, dtype=np.float64) - np.asarray(targets, dtype=np.float64))
    difference = difference.reshape(len(predicted), -1)
    return {"MAE": float(np.abs(difference).mean()), "RMSE": float(np.sqrt((difference**2).mean()))}


def calibrate(d: Any, queries: Sequence[Any] | None = None, targets: Any = None) -> CalibrationReport:
    """Choose d.temperature, d.top_k and d.hybrid by their error on pairs (or leave-one-key-out).

    The error is the mean absolute error for numeric values and the error
    rate for categorical ones. The chosen setting is applied to ``d``.
    """
    store = d._store
    if len(store) < 2:
        raise ValueError("calibration needs at least 2 keys")
    if queries is None:
        S, lexical = _scores(d, None)
        queries, targets = list(store.row_keys), list(store.row_values)
    elif targets is None or len(queries) != len(targets) or len(queries) == 0:
        raise ValueError("calibrate(queries, targets) needs as many targets as queries (at least one)")
    else:
        S, lexical = _scores(d, queries)
    own = np.array([store.row_of.get(q, -1) if isinstance(q, str) else -1 for q in queries])
    rows = np.flatnonzero(own >= 0)
    median_auto = float(np.median(attention.auto_temperature(S)))
    temperatures: list[Any] = ["auto", *(median_auto * f for f in TEMPERATURE_FACTORS)]
    top_ks = [k for k in TOP_KS if k is None or k < len(store) - 1]
    hybrids = HYBRID_WEIGHTS if lexical is not None else (0.0,)
    report = CalibrationReport({}, "error rate" if store.spec.kind == CATEGORICAL else "MAE", len(queries))
    for hybrid, temperature, top_k in product(hybrids, temperatures, top_ks):
        mixed = mix(S, lexical, hybrid).copy()
        mixed[rows, own[rows]] = -np.inf  # leave each key out of its own prediction
        weights = attention.attention_weights(mixed, temperature, top_k)
        params = {"temperature": temperature, "top_k": top_k, "hybrid": hybrid}
        report.candidates.append((params, value_metrics(d, predict(d, weights), targets)[report.metric]))
    report.chosen = min(report.candidates, key=lambda item: item[1])[0]
    for name, value in report.chosen.items():
        setattr(d, name, value)
    return report


def calibrate_threshold(d: Any, queries: Sequence[str], keys: Sequence[str | None], target_precision: float) -> float:
    """Set d.threshold to the lowest best-score at which answers are right at ``target_precision``.

    ``keys[i]`` is the key query i should find, or None when it should miss.
    An answer is right when the nearest key is the intended one; queries
    below the threshold miss. Returns the threshold.
    """
    if not 0 < target_precision <= 1:
        raise ValueError(f"target_precision must be in (0, 1], got {target_precision}")
    if len(queries) != len(keys) or not queries:
        raise ValueError("calibrate_threshold needs one intended key (or None) per query")
    S, lexical = _scores(d, queries)
    S = mix(S, lexical, hybrid_weight(d.hybrid, d.scoring))
    best, nearest = S.max(axis=1), S.argmax(axis=1)
    right = np.array([d._store.row_keys[n] == k for n, k in zip(nearest, keys)])
    order = np.argsort(-best, kind="stable")
    precision = np.cumsum(right[order]) / np.arange(1, len(order) + 1)
    reached = np.flatnonzero(precision >= target_precision)
    if len(reached) == 0:
        raise ValueError(f"no threshold reaches precision {target_precision} on these queries")
    threshold = float(best[order][reached.max()])
    d.threshold = threshold
    return threshold
