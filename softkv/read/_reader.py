"""What a SoftDict keeps between reads: its encoder, the encoder's background, recent query embeddings and an
approximate index; and the read of a store under its lock (and the encoding of new keys, by the same encoder).

:meth:`Reader.read` is how a dict reads: embed the queries with no lock held
(the slow part), then, under the store's read lock, take a view of it and
run the one read (:func:`softkv.read.read`); a backend's read in which some
query's unread keys would take more than :data:`TAIL_TOLERANCE` of its weight
reads once more, over :data:`WIDEN` times as many candidates for those queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..encoders import Encoder, encode_checked
from ..params import Params
from ..store import USED_WEIGHT, Backend, Memory, Population, ReadWriteLock, Store
from ._background import Background, meaning_on_typos
from ._index import IVFIndex, approximate_index
from ._pipeline import DEFAULT_CHUNK_BYTES, QueryCache, check_not_empty, embed_queries, read
from ._results import BLANK_REASON, BatchResult, is_blank, query_text
from ._scoring import LeaveOut

__all__ = ["TAIL_TOLERANCE", "WIDEN", "Reader"]

TAIL_TOLERANCE = 0.01
"""A read of a backend's candidates reads once more, with :data:`WIDEN` times as many for the queries whose
unread keys would take more than this share of their weight (``tail_mass``, estimated from a uniform sample);
not for a miss, whose answer is no value (or, read anyway, a blend of weak matches) however wide the read."""
WIDEN = 4


class Reader:
    """The read side of a SoftDict: an encoder (None: vectors only) and what its reads keep."""

    def __init__(self, encoder: Encoder | None, query_cache_size: int = 1024,
                 background: Background | None = None) -> None:
        self.encoder = encoder
        self.query_cache = QueryCache(query_cache_size)
        self.background: Background | bool | None = background  # what unrelated text scores: measured on first use
        self.index: IVFIndex | None = None  # an approximate index, made by the first read that needs one

    def encode(self, texts: list[str], width: int | None) -> np.ndarray:
        """The embeddings of new keys (n, d), checked against the width of those stored (None: any)."""
        assert self.encoder is not None
        return encode_checked(self.encoder, texts, width)

    def embed(self, queries: Sequence[Any], dim: int | None) -> np.ndarray:
        """The (n, d) embeddings of ``queries``: texts encoded (once: a cache), vectors checked."""
        return embed_queries(self.encoder, dim, list(queries), self.query_cache)

    def measured_background(self, measure: bool = True) -> Background | None:
        """The encoder's :class:`Background`, measured now unless told not to (None: cannot be measured)."""
        if measure and self.background is None and self.encoder is not None:
            self.background = Background.of(self.encoder)
        return self.background if isinstance(self.background, Background) else None

    def memory(self, store: Backend, **options: Any) -> Memory:
        """The store as a read reads it (hold its lock while using views)."""
        return store.memory(encoder=self.encoder, **options)

    def read(self, store: Backend, lock: ReadWriteLock, params: Params, queries: Sequence[Any], *, on_miss: str,
             keep_weights: bool = True, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
             exclude: Sequence[str | None] | None = None) -> BatchResult:
        """Embed with no lock held, then read ``store`` as it is under its read lock (uses counted for LRU).

        A blank query (:func:`is_blank`) misses: KeyError with ``on_miss="raise"``, else a row that sees no key
        (NaN or None, ``reason`` saying it was blank)."""
        check_not_empty(len(store), queries, len(queries) == 1)
        given, blank = list(queries), [i for i, query in enumerate(queries) if is_blank(query)]
        if blank:
            queries = self._stand_ins(given, blank, on_miss, store.dim)
        Q, background = self.embed(queries, store.dim), self.measured_background()
        if background is not None and self.encoder is not None and params.spelling_weight == "auto":
            meaning_on_typos(self.encoder, background)  # measured once per encoder: here, with no lock held
        options = {"on_miss": on_miss, "keep_weights": keep_weights, "chunk_bytes": chunk_bytes}
        with lock.reading():
            batch, population = self._read_memory(store, params, queries, Q, background, exclude, blank, options)
            tail, searched = batch.tail_mass, None if population is None else population.candidates
            over = None if tail is None or searched is None else (np.nan_to_num(tail) > TAIL_TOLERANCE) & ~batch.missed
            if over is not None and searched is not None and population is not None and over.any():
                wider = np.where(over, np.minimum(WIDEN * searched, population.n_names), searched)
                batch, _ = self._read_memory(store, params, queries, Q, background, exclude, blank, options,
                                             wider.tolist())
            if params.counts_uses:
                store.usage.touch(batch.keys_with_weight(USED_WEIGHT))
        return replace(batch, queries=given) if blank else batch

    def _read_memory(self, store: Backend, params: Params, queries: Sequence[Any], Q: np.ndarray,
                     background: Background | None, exclude: Sequence[str | None] | None, blank: list[int],
                     options: dict[str, Any], candidates: list[int] | None = None) -> tuple[BatchResult,
                                                                                           Population | None]:
        """One read of the store's memory for these queries (each query's ``candidates``, for a backend), and
        the store's totals when the memory holds only some of its keys."""
        memory = store.memory_for(queries, Q, params, encoder=self.encoder, background=background,
                                  candidates=candidates)
        known = None if memory.population is None else (lambda name: store.entry_value(name, "strict") is not None)
        leave_out = None if exclude is None else LeaveOut.excluding(memory, exclude, known)
        if blank:
            leave_out = (leave_out or LeaveOut.excluding(memory, [None] * len(queries))).hiding_all_from(blank)
        index = approximate_index(params, memory, self.index)
        if index is not None and index is not params.index:
            self.index = index  # kept: it rebuilds itself when the keys change
        return read(memory, params, queries, Q, leave_out=leave_out, index=index, **options), memory.population

    def candidates(self, store: Backend, lock: ReadWriteLock, params: Params, queries: Sequence[Any],
                   Q: np.ndarray) -> Memory | None:
        """What a read of ``queries`` (embedded as Q) reads from a backend: a memory of its candidates, its own
        copy (what ``explain`` works on); None for an in-process store, which a tool takes a snapshot of."""
        if isinstance(store, Store):
            return None
        background = self.measured_background()
        with lock.reading():
            return store.memory_for(queries, Q, params, encoder=self.encoder, background=background)

    def _stand_ins(self, queries: list[Any], blank: list[int], on_miss: str, dim: int | None) -> list[Any]:
        """``queries`` with each blank one replaced by a query that can be embedded (it will see no key), or the
        KeyError of the first blank one when misses raise."""
        if on_miss == "raise":
            i = blank[0]
            where = f" (query {i + 1} of {len(queries)})" if len(queries) > 1 else ""
            raise KeyError(f"{query_text(queries[i])}{where}: {BLANK_REASON}; on_miss=\"mask\" reads it as a miss")
        stand_in = next((query for query in queries if not is_blank(query)), None)
        if stand_in is None:
            stand_in = "blank" if self.encoder is not None else np.ones(dim or 1, dtype=np.float32)
        return [stand_in if is_blank(query) else query for query in queries]
