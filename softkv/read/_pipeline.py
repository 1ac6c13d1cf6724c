"""The read: queries -> embeddings -> scores -> weights -> answer, in chunks.

:func:`embed_queries` turns queries into vectors (the slow part, done without
any lock). :func:`read` answers them from a :class:`~softkv.store.Memory`:
:func:`score`, then :func:`weigh` and :func:`answer`, chunk by chunk so that memory stays bounded.
``d[q]``, ``lookup``, ``nearest``, ``lookup_many``, calibration, the
comparison harness, the estimators and the command all read through here: a
single query is a batch of one, and a tool reads exactly as the dict does.

>>> from softkv.params import Params
>>> from softkv.store import Store
>>> store = Store()
>>> store.apply(store.check({"x": 0.0, "y": 1.0}, embeddings={"x": [1.0, 0.0], "y": [0.0, 1.0]}))
>>> batch = read(store.memory(), Params.make(temperature=0.5), [[0.8, 0.6]], np.array([[0.8, 0.6]]))
>>> round(float(batch.values[0]), 3), batch.nearest
(0.401, ['x'])
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

import numpy as np

from .._display import clip
from ..encoders import Encoder, encode_checked
from ..params import Params, whole_number
from ..store import Memory, Update
from ..store._checks import check_vectors
from ._results import BatchResult, miss_reason, query_text
from ._scoring import LeaveOut, score, score_approximately
from ._weighing import Answers, Weights, answer, weigh

__all__ = ["DEFAULT_CHUNK_BYTES", "ON_MISS", "QueryCache", "Readable", "embed_queries", "queries_of", "read"]

DEFAULT_CHUNK_BYTES = 256 * 2**20
"""Budget for the temporaries of one chunk of queries (scores, weights): 256 MiB."""

ON_MISS = ("raise", "mask", "ignore")
"""What a batch does with a query below the threshold: raise KeyError, answer NaN (None), or answer anyway."""


class Readable(Protocol):
    """What a tool (calibration, training, the harness, saving) needs of a SoftDict: a consistent snapshot to
    work on without the lock, the embeddings its reads use, and one way to apply what came of it."""

    def snapshot(self, *, spelling: bool = True, measure: bool = True) -> tuple[Memory, Params]: ...

    def embed(self, queries: Sequence[Any]) -> np.ndarray: ...

    def apply_update(self, update: Update) -> None: ...


class QueryCache:
    """The embeddings of the most recently used query texts (least recently used goes first)."""

    def __init__(self, size: int = 1024) -> None:
        if not whole_number(size, 0):
            raise ValueError(f"query_cache_size must be an integer >= 0, got {size!r}")
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
    try:
        vectors = np.asarray(queries, dtype=np.float64)
    except ValueError:  # looked into only when the numbers do not convert: ["apple"] given where one query goes
        texts = next((q for q in queries if any(isinstance(x, str) for x in np.ravel(q))), None)
        if texts is None:
            raise
        raise TypeError(f"a query is one text or a 1-D vector of numbers, not a list of texts "
                        f"({clip(repr(texts), 60)}); read several with lookup_many") from None
    return check_vectors(vectors, len(queries), dim, "query")


def queries_of(queries: Any, what: str) -> Sequence[Any]:
    """``queries`` as a sequence for ``what`` (a call's name): a list, a tuple or an (n, d) array as it is, any
    other iterable (a generator, a pandas Series) as a list; one text, nothing iterable, or no query at
    all is refused, saying what to pass.

    >>> queries_of((q for q in ["apple", "pear"]), "embed"), queries_of(("apple",), "embed")
    (['apple', 'pear'], ('apple',))
    >>> queries_of("apple", "lookup_many")
    Traceback (most recent call last):
    ...
    TypeError: lookup_many takes a list of queries, not one text (one in a list: [text])
    """
    if isinstance(queries, (str, bytes)):
        raise TypeError(f"{what} takes a list of queries, not one text (one in a list: [text])")
    if not isinstance(queries, (Sequence, np.ndarray)):
        try:
            queries = list(queries)
        except TypeError:
            raise TypeError(f"{what} takes a list of queries (texts or vectors), got {type(queries).__name__}") \
                from None
    if len(queries) == 0:
        raise ValueError(f"{what} needs at least one query")
    rows: Sequence[Any] = queries
    return rows


def check_batch(queries: Any, exclude: Sequence[Any] | None) -> Sequence[Any]:
    """The queries of a batch (texts, or the rows of an (n, d) array), checked against ``exclude``."""
    queries = queries_of(queries, "lookup_many")
    if exclude is not None and len(exclude) != len(queries):
        raise ValueError(f"exclude names one key (or None) per query: {len(exclude)} for {len(queries)} queries")
    rows: Sequence[Any] = queries
    return rows


def check_not_empty(n_keys: int, queries: Sequence[Any], single: bool) -> None:
    if n_keys == 0:
        raise KeyError(f"lookup of {_describe(queries, single)} in an empty SoftDict; add keys first")
    if len(queries) == 0:
        raise ValueError("lookup_many needs at least one query")


def read(
    memory: Memory,
    params: Params,
    queries: Sequence[Any],
    Q: np.ndarray,
    *,
    leave_out: LeaveOut | None = None,
    keep_weights: bool = True,
    on_miss: str = "raise",
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    index: Any = None,
) -> BatchResult:
    """Answer ``queries``, embedded as Q (B, d), from ``memory`` read with ``params``.

    Queries are read in chunks whose (rows x keys) temporaries fit
    ``chunk_bytes``; ``keep_weights=False`` keeps only the answers (no (B, N)
    arrays at all). ``leave_out`` hides keys from queries (leave-one-key-out,
    k-fold). ``index`` (an :class:`softkv.index.IVFIndex`) finds the top_k
    candidates approximately instead of scoring every key. ``on_miss`` is
    one of :data:`ON_MISS`.
    """
    if on_miss not in ON_MISS:
        raise ValueError(f"on_miss must be one of {', '.join(map(repr, ON_MISS))}, got {on_miss!r}")
    check_not_empty(len(memory), queries, single=len(queries) == 1)
    n_queries, n_keys = len(queries), len(memory)
    score_array = np.empty((n_queries, n_keys), dtype=np.float32) if keep_weights else None
    weight_array = np.empty((n_queries, n_keys), dtype=np.float32) if keep_weights else None
    rows_per_chunk = max(1, chunk_bytes // (3 * 4 * n_keys))
    parts = []
    for start in range(0, n_queries, rows_per_chunk):
        chunk = slice(start, start + rows_per_chunk)
        if index is not None and leave_out is None:  # hidden keys are scored exactly: the index cannot hide
            scores = score_approximately(memory, params, queries[chunk], Q[chunk], index, keep=keep_weights)
        else:
            scores = score(memory, params, queries[chunk], Q[chunk], None if leave_out is None else leave_out[chunk],
                           out=None if score_array is None else score_array[chunk])
        if score_array is not None and scores.combined is not None and scores.combined.base is not score_array:
            score_array[chunk] = scores.combined  # an approximate read's scores
        weights = weigh(scores, params, out=scores.combined if weight_array is None else weight_array[chunk],
                        keep_dense=keep_weights)
        answers = answer(weights, memory)
        if weights.missed.any() and on_miss == "raise":
            i = int(np.flatnonzero(weights.missed)[0])
            chunk_scores = None if score_array is None else score_array[chunk][i]
            raise KeyError(_miss_message(queries[start + i], weights, i, chunk_scores, memory.keys,
                                         (start + i, n_queries)))
        if weight_array is None:
            weights = replace(weights, dense=None)  # answered: the chunk's weights can go
        parts.append((weights, answers))
    weights, answers = _join([w for w, _ in parts], weight_array), _join_answers([a for _, a in parts])
    if on_miss == "mask" and weights.missed.any():
        answers.values[weights.missed] = np.nan if memory.numeric is not None else None
    return BatchResult(list(queries), tuple(memory.keys), list(memory.row_values),
                       list(memory.categories) if memory.categorical else None, score_array, weights, answers,
                       memory.opaque, params.value_names,
                       None if memory.population is None else memory.population.candidates)


def _join(parts: list[Weights], dense: np.ndarray | None) -> Weights:
    if len(parts) == 1 and (dense is None or parts[0].dense is dense):
        return parts[0]

    def cat(name: str) -> Any:
        pieces = [getattr(part, name) for part in parts]
        return None if pieces[0] is None else np.concatenate(pieces)

    cutoff = parts[0].cutoff
    if isinstance(cutoff, np.ndarray):
        cutoff = cat("cutoff")
    return Weights(dense, cat("top_rows"), cat("top_weights"), cat("temperatures"), cat("nearest_rows"),
                   cat("best_scores"), cat("exact_rows"), cat("p_miss"), cat("missed"), cutoff, cat("confidence"),
                   cat("tail_mass"))


def _join_answers(parts: list[Answers]) -> Answers:
    if len(parts) == 1:
        return parts[0]
    weights = [part.category_weights for part in parts]
    return Answers(np.concatenate([part.values for part in parts]),
                   None if weights[0] is None else np.concatenate(weights))  # type: ignore[arg-type]


def _describe(queries: Sequence[Any], single: bool) -> str:
    return query_text(queries[0]) if single else f"{len(queries)} queries"


def _miss_message(query: Any, weights: Weights, i: int, scores: np.ndarray | None, keys: Sequence[str],
                  position: tuple[int, int]) -> str:
    """The KeyError of the i-th query of a chunk: its reason (:func:`miss_reason`) and its nearest keys (the
    three best when the read kept its scores, else the nearest)."""
    cutoff = weights.cutoff[i] if isinstance(weights.cutoff, np.ndarray) else weights.cutoff
    best = float(weights.best_scores[i])
    more = f" (query {position[0] + 1} of {position[1]})" if position[1] > 1 else ""
    if not np.isfinite(best):
        return f"no key is left for {query_text(query)} to read{more}"
    if scores is not None:
        rows = [int(j) for j in np.argsort(-scores, kind="stable")[:3] if np.isfinite(scores[j])]
        near = ", ".join(f"{keys[j]!r} ({scores[j]:.3f})" for j in rows)
    else:
        near = f"{keys[int(weights.nearest_rows[i])]!r} ({best:.3f})"
    reason = miss_reason(best, None if cutoff is None else float(cutoff))
    return f"no key is similar enough to {query_text(query)}: {reason}; nearest keys: {near}{more}"
