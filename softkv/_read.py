"""The read path of a SoftDict: queries -> embeddings -> attention -> result.

:func:`embed_queries` turns queries into vectors (the slow part, done without
any lock); :func:`read` answers them from the store. One function serves
``d[q]``, ``lookup``, ``nearest`` and ``lookup_many``: a single query is a
batch of one, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import attention
from ._store import RowStore
from ._values import CATEGORICAL, category_distribution
from .encoders import Encoder, encode_checked
from .result import BatchResult


def check_vectors(vectors: Any, n_rows: int, dim: int | None, what: str = "embedding") -> np.ndarray:
    """``vectors`` as a float32 (n_rows, dim) array of finite numbers, or a ValueError."""
    vectors = np.asarray(vectors)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    if vectors.ndim != 2 or vectors.shape[0] != n_rows or (dim is not None and vectors.shape[1] != dim):
        expected = f"({n_rows}, {dim if dim is not None else 'd'})"
        raise ValueError(f"{what} vectors have shape {vectors.shape}; expected {expected}")
    if not np.isfinite(vectors).all():
        raise ValueError(f"{what} vectors contain NaN or inf")
    return np.ascontiguousarray(vectors, dtype=np.float32)


def embed_queries(encoder: Encoder | None, dim: int | None, queries: Sequence[Any]) -> np.ndarray:
    """(B, d) query embeddings: text through the encoder, vectors checked as they are."""
    if all(isinstance(q, str) for q in queries):
        for q in queries:
            if not q.strip():
                raise ValueError(f"query must contain non-blank text, got {q!r}")
        if encoder is None:
            raise TypeError(
                "this SoftDict has no encoder (it was built from embeddings): query it with "
                f"vectors of width {dim}, or build it with encoder=..."
            )
        return encode_checked(encoder, list(queries), dim)
    if any(isinstance(q, str) for q in queries):
        raise TypeError("queries must be all text or all vectors, not a mix")
    if any(np.ndim(q) != 1 for q in queries):
        kind = type(queries[0]).__name__
        raise TypeError(f"a query must be text (str) or a 1-D embedding vector, got {kind}")
    return check_vectors(np.asarray(queries, dtype=np.float64), len(queries), dim, "query")


def check_not_empty(store: RowStore, queries: Sequence[Any], single: bool) -> None:
    if len(store) == 0:
        raise KeyError(f"lookup of {_describe(queries, single)} in an empty SoftDict; add keys first")
    if len(queries) == 0:
        raise ValueError("lookup_many needs at least one query")


def read(
    store: RowStore,
    params: dict[str, Any],
    Q: np.ndarray,
    queries: Sequence[Any],
    *,
    single: bool,
    on_miss: str,
    projection: np.ndarray | None = None,
) -> BatchResult:
    """Answer ``queries``, embedded as Q (B, d), from ``store`` with the SoftDict ``params``.

    ``projection`` (d, d), when given, maps each query embedding q to
    projection @ q before scoring (a metric learned by ``SoftDict.fit``).
    The caller holds the SoftDict's read lock: ``store`` does not change here.
    """
    check_not_empty(store, queries, single)
    if projection is not None:
        Q = Q @ projection.T
    S = attention.scores(Q, store.embeddings, params["scoring"], key_inverse_norms=store.inverse_norms)
    if params["temperature"] == "auto":
        T = attention.auto_temperature(S)
    else:
        T = np.full((len(queries), 1), params["temperature"], dtype=S.dtype)
    W = attention.attention_weights(S, T, params["top_k"])
    exact = np.zeros(len(queries), dtype=bool)
    if params["exact_match"]:
        for i, q in enumerate(queries):
            if isinstance(q, str) and q in store.row_of:
                exact[i] = True
                W[i] = 0.0
                W[i, store.row_of[q]] = 1.0
    missed = np.zeros(len(queries), dtype=bool)
    if params["threshold"] is not None:
        missed = ~exact & (S.max(axis=1) < params["threshold"])
        if missed.any() and on_miss == "raise":
            raise KeyError(_miss_message(queries, S, missed, store.row_keys, params["threshold"]))
    return _answer(store, queries, S, W, T[:, 0], exact, missed)


def _answer(
    store: RowStore,
    queries: Sequence[Any],
    S: np.ndarray,
    W: np.ndarray,
    temperatures: np.ndarray,
    exact: np.ndarray,
    missed: np.ndarray,
) -> BatchResult:
    categories = category_weights = None
    if store.spec is not None and store.spec.kind == CATEGORICAL:
        category_weights = category_distribution(W, store.codes, len(store.categories.categories))
        categories = list(store.categories.categories)
        values = np.empty(len(queries), dtype=object)
        values[:] = [None if m else categories[c] for c, m in zip(category_weights.argmax(axis=1), missed)]
    else:
        values = attention.blend(W, store.numeric_values)
        values[missed] = np.nan
    return BatchResult(
        queries, store.row_keys, W, S, values, list(store.row_values), temperatures, exact, missed,
        categories=categories, category_weights=category_weights,
    )


def _describe(queries: Sequence[Any], single: bool) -> str:
    if single:
        q = queries[0]
        return repr(q) if isinstance(q, str) else "a vector query"
    return f"{len(queries)} queries"


def _miss_message(
    queries: Sequence[Any], S: np.ndarray, missed: np.ndarray, row_keys: list[str], threshold: float
) -> str:
    i = int(np.flatnonzero(missed)[0])
    best = np.argsort(-S[i])[:3]
    near = ", ".join(f"{row_keys[j]!r} ({S[i, j]:.3f})" for j in best)
    query = repr(queries[i]) if isinstance(queries[i], str) else "vector query"
    more = f" ({int(missed.sum())} of {len(queries)} queries missed)" if len(queries) > 1 else ""
    return (
        f"no key is similar enough to {query}: best score {S[i, best[0]]:.3f} < threshold {threshold}; "
        f"nearest keys: {near}{more}"
    )
