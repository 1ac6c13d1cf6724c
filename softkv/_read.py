"""The read path of a SoftDict: queries -> embeddings -> attention -> result.

:func:`embed_queries` turns queries into vectors (the slow part, done without
any lock); :func:`read` answers them from the store. One function serves
``d[q]``, ``lookup``, ``nearest`` and ``lookup_many``: a single query is a
batch of one, so the two can never disagree.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import attention
from ._params import hybrid_weight
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


class QueryCache:
    """The embeddings of the most recently used query texts (least recently used goes first)."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, encoder: Encoder, texts: list[str], dim: int | None) -> np.ndarray:
        """Embeddings of ``texts``: cached ones reused, the others encoded in one call."""
        with self._lock:
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
            for text in found:
                self._vectors.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            encoded = encode_checked(encoder, missing, dim)
            found.update(zip(missing, encoded))
            with self._lock:
                self._vectors.update(zip(missing, encoded))
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        if len(texts) == 1:
            return found[texts[0]][None, :]
        return np.stack([found[t] for t in texts])


def embed_queries(
    encoder: Encoder | None, dim: int | None, queries: Sequence[Any], cache: QueryCache | None = None
) -> np.ndarray:
    """(B, d) query embeddings: text through the encoder (or the cache), vectors checked as they are."""
    if all(isinstance(q, str) for q in queries):
        for q in queries:
            if not q.strip():
                raise ValueError(f"query must contain non-blank text, got {q!r}")
        if encoder is None:
            raise TypeError(
                "this SoftDict has no encoder (it was built from embeddings): query it with "
                f"vectors of width {dim}, or build it with encoder=..."
            )
        if cache is not None and cache.size > 0:
            return cache.embed(encoder, list(queries), dim)
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


DEFAULT_CHUNK_BYTES = 256 * 2**20
"""Budget for the temporaries of one chunk of queries (scores, weights): 256 MiB."""


def read(
    store: RowStore,
    params: dict[str, Any],
    Q: np.ndarray,
    queries: Sequence[Any],
    *,
    single: bool,
    on_miss: str,
    projection: np.ndarray | None = None,
    keep_weights: bool = True,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    index: Any = None,
) -> BatchResult:
    """Answer ``queries``, embedded as Q (B, d), from ``store`` with the SoftDict ``params``.

    Queries are read in chunks whose (rows x keys) temporaries fit
    ``chunk_bytes``, so memory stays bounded however many queries come;
    ``keep_weights=False`` keeps only the values (no (B, N) arrays at all).
    ``projection`` (d, d) maps each query q to projection @ q before scoring.
    ``index`` (an :class:`softkv.index.IVFIndex`) finds the top_k candidates
    approximately instead of scoring every key.
    The caller holds the SoftDict's read lock: ``store`` does not change here.
    """
    check_not_empty(store, queries, single)
    if projection is not None:
        Q = Q @ projection.T
    exact_rows = np.full(len(queries), -1)
    if params["exact_match"]:
        for i, q in enumerate(queries):
            entry = store.entry_of(q) if isinstance(q, str) else None
            if entry is not None:
                exact_rows[i] = store.row_of[entry]
    rows_per_chunk = max(1, chunk_bytes // (3 * 4 * len(store)))
    read_chunk = _read_chunk if index is None else _read_chunk_approximately
    chunks = [
        read_chunk(store, params, Q[start : start + rows_per_chunk], exact_rows[start : start + rows_per_chunk],
                   queries[start : start + rows_per_chunk], on_miss, keep_weights, index)
        for start in range(0, len(queries), rows_per_chunk)
    ]
    joined = {name: _join([chunk[name] for chunk in chunks]) for name in chunks[0]}
    categorical = store.spec is not None and store.spec.kind == CATEGORICAL
    return BatchResult(
        queries, store.row_keys, joined["weights"], joined["scores"], joined["values"], list(store.row_values),
        joined["temperatures"], exact_rows >= 0, joined["missed"],
        categories=list(store.categories.categories) if categorical else None,
        category_weights=joined["category_weights"], nearest_rows=joined["nearest_rows"], p_miss=joined["p_miss"],
    )


def _join(parts: list[Any]) -> Any:
    return None if parts[0] is None else parts[0] if len(parts) == 1 else np.concatenate(parts)


def _read_chunk(
    store: RowStore,
    params: dict[str, Any],
    Q: np.ndarray,
    exact_rows: np.ndarray,
    queries: Sequence[Any],
    on_miss: str,
    keep_weights: bool,
    index: Any = None,
) -> dict[str, Any]:
    """Scores, weights and values of one chunk of queries.

    With top_k, only the k best keys of each query are weighted and blended
    (no dense (B, N) weights unless asked for); the "auto" temperature still
    comes from all N scores.
    """
    S = attention.scores(Q, store.embeddings, params["scoring"], key_inverse_norms=store.inverse_norms,
                         unit_keys=store.unit_keys)
    weight = hybrid_weight(params["hybrid"], params["scoring"])
    spelling = weight > 0 and all(isinstance(q, str) for q in queries)
    if spelling:
        S = _with_spelling(store, S, queries, params, store.row_keys, weight)
    if len(store.aliases):  # an entry scores as its best name
        aliases = store.aliases
        S_alias = attention.scores(Q, aliases.embeddings, params["scoring"], key_inverse_norms=aliases.inverse_norms)
        if spelling:
            S_alias = _with_spelling(store, S_alias, queries, params, aliases.row_names, weight)
        S = aliases.entry_scores(S, S_alias, store.row_of)
    n_queries, n_keys = S.shape
    top_k = params["top_k"]
    categorical = store.spec is not None and store.spec.kind == CATEGORICAL
    if top_k is not None and top_k < n_keys:
        T = attention.auto_temperature(S) if params["temperature"] == "auto" else params["temperature"]
        S_k, rows = attention.top_k_rows(S, top_k)
        W_k, T = attention.normalize(S_k, T, params["mode"])
        nearest_rows = rows[np.arange(n_queries), S_k.argmax(axis=1)]
        W = None
        if keep_weights or categorical:
            W = np.zeros_like(S)
            np.put_along_axis(W, rows, W_k, axis=1)
        best = S_k.max(axis=1)
    else:
        nearest_rows = S.argmax(axis=1)
        best = S[np.arange(n_queries), nearest_rows]
        # Values only: the scores are not needed after this, so exp runs in their memory and the
        # normalisation is left to the blend, which divides by the row sums anyway.
        values_only = (not keep_weights and not categorical and params["threshold"] is None
                       and params["null_score"] is None)
        if params["mode"] == "softmax":
            W, T = attention.softmax(S, params["temperature"], return_temperature=True,
                                     normalize=not values_only, overwrite=values_only)
        else:
            W, T = attention.normalize(S, params["temperature"], params["mode"])
        W_k = rows = None  # type: ignore[assignment]
    return _finish(store, params, S, W, W_k, rows, T, best, nearest_rows, exact_rows, queries, on_miss, keep_weights)


def _with_spelling(
    store: RowStore, S: np.ndarray, queries: Sequence[Any], params: dict[str, Any], names: list[str], weight: float
) -> np.ndarray:
    """(1 - w) * S + w * spelling similarity of the queries to ``names``: the hybrid score."""
    if params["scoring"] != "cosine":
        raise ValueError(f"hybrid mixes two cosines: it needs scoring='cosine', not {params['scoring']!r}")
    spelling = store.lexical().spelling(list(queries), names)
    S *= 1.0 - weight
    S += weight * spelling
    return S


def _read_chunk_approximately(
    store: RowStore,
    params: dict[str, Any],
    Q: np.ndarray,
    exact_rows: np.ndarray,
    queries: Sequence[Any],
    on_miss: str,
    keep_weights: bool,
    index: Any = None,
) -> dict[str, Any]:
    """As :func:`_read_chunk`, with the top_k candidates found by ``index``; other keys score -inf."""
    n_queries, n_keys = len(Q), len(store)
    top_k = min(params["top_k"], n_keys)
    S_k, rows = index.search(store, Q, top_k, params["scoring"])
    T = params["temperature"]
    if T == "auto":
        T = attention.auto_temperature(index.sample_scores(store, Q, params["scoring"]), n_keys=n_keys)
    W_k, T = attention.normalize(S_k, T, params["mode"])
    nearest_rows = rows[np.arange(n_queries), S_k.argmax(axis=1)]
    S = W = None
    categorical = store.spec is not None and store.spec.kind == CATEGORICAL
    if keep_weights or categorical:
        S = np.full((n_queries, n_keys), -np.inf, dtype=np.float32)
        np.put_along_axis(S, rows, S_k, axis=1)
        W = np.zeros((n_queries, n_keys), dtype=np.float32)
        np.put_along_axis(W, rows, W_k, axis=1)
    best = S_k.max(axis=1)
    return _finish(store, params, S, W, W_k, rows, T, best, nearest_rows, exact_rows, queries, on_miss, keep_weights,
                   S_k)


def _finish(
    store: RowStore, params: dict[str, Any], S: Any, W: Any, W_k: Any, rows: Any, T: Any, best: np.ndarray,
    nearest_rows: np.ndarray, exact_rows: np.ndarray, queries: Sequence[Any], on_miss: str, keep_weights: bool,
    S_k: Any = None,
) -> dict[str, Any]:
    """Exact keys, misses and values of a chunk, from dense weights W or sparse (W_k, rows)."""
    exact = exact_rows >= 0
    if W is not None:
        for i in np.flatnonzero(exact):
            W[i] = 0.0
            W[i, exact_rows[i]] = 1.0
    p_miss = None
    if params["null_score"] is not None:
        competing = S_k if S_k is not None else S if W_k is None else np.take_along_axis(S, rows, axis=1)
        p_miss = attention.null_probability(competing, T, params["null_score"])
        p_miss[exact] = 0.0
    missed = np.zeros(len(best), dtype=bool)
    if params["threshold"] is not None:
        missed = ~exact & (best < params["threshold"])
        if missed.any() and on_miss == "raise":
            raise KeyError(_miss_message(queries, S, missed, store.row_keys, params["threshold"], rows, S_k))
    if W is not None:
        values, category_weights = _values(store, W, missed)
    else:  # numeric top_k: blend the k rows only, then put exact keys' own values
        values, category_weights = attention.blend_rows(W_k, rows, store.numeric_values), None
        values[exact] = store.numeric_values[exact_rows[exact]]
        values[missed] = np.nan
    return {
        "weights": W if keep_weights else None, "scores": S if keep_weights else None, "values": values,
        "temperatures": np.asarray(T)[:, 0], "missed": missed, "category_weights": category_weights,
        "nearest_rows": nearest_rows, "p_miss": p_miss,
    }


def _values(store: RowStore, W: np.ndarray, missed: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The answers of a chunk: blended numbers, or the heaviest category and every category's weight."""
    if store.spec is not None and store.spec.kind == CATEGORICAL:
        category_weights = category_distribution(W, store.codes, len(store.categories.categories))
        categories = store.categories.categories
        values = np.empty(len(W), dtype=object)
        values[:] = [None if m else categories[c] for c, m in zip(category_weights.argmax(axis=1), missed)]
        return values, category_weights
    values = attention.blend(W, store.numeric_values)
    values[missed] = np.nan
    return values, None


def _describe(queries: Sequence[Any], single: bool) -> str:
    if single:
        q = queries[0]
        return repr(q) if isinstance(q, str) else "a vector query"
    return f"{len(queries)} queries"


def _miss_message(
    queries: Sequence[Any], S: Any, missed: np.ndarray, row_keys: list[str], threshold: float,
    rows: Any = None, S_k: Any = None,
) -> str:
    i = int(np.flatnonzero(missed)[0])
    if S is None:  # approximate read: only the candidates' scores are known
        S = np.full((len(missed), len(row_keys)), -np.inf)
        S[i, rows[i]] = S_k[i]
    best = np.argsort(-S[i])[:3]
    near = ", ".join(f"{row_keys[j]!r} ({S[i, j]:.3f})" for j in best)
    query = repr(queries[i]) if isinstance(queries[i], str) else "vector query"
    more = f" ({int(missed.sum())} of {len(queries)} queries missed)" if len(queries) > 1 else ""
    return (
        f"no key is similar enough to {query}: best score {S[i, best[0]]:.3f} < threshold {threshold}; "
        f"nearest keys: {near}{more}"
    )
