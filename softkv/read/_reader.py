"""What a SoftDict keeps between reads: its encoder, the encoder's background, recent query embeddings and an
approximate index; and the read of a store under its lock (and the encoding of new keys, by the same encoder).

:meth:`Reader.read` is how a dict reads: embed the queries with no lock held
(the slow part), then, under the store's read lock, take a view of it and
run the one read (:func:`softkv.read.read`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..encoders import Encoder, encode_checked
from ..params import Params
from ..store import USED_WEIGHT, Memory, ReadWriteLock, Store
from ._background import Background
from ._index import IVFIndex, approximate_index
from ._pipeline import DEFAULT_CHUNK_BYTES, QueryCache, check_not_empty, embed_queries, read
from ._results import BatchResult
from ._scoring import LeaveOut

__all__ = ["Reader"]


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

    def memory(self, store: Store, **options: Any) -> Memory:
        """The store as a read reads it (hold its lock while using views)."""
        return store.memory(encoder=self.encoder, **options)

    def read(self, store: Store, lock: ReadWriteLock, params: Params, queries: Sequence[Any], *, on_miss: str,
             keep_weights: bool = True, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
             exclude: Sequence[str | None] | None = None) -> BatchResult:
        """Embed with no lock held, then read ``store`` as it is under its read lock (uses counted for LRU)."""
        check_not_empty(len(store), queries, len(queries) == 1)
        Q, background = self.embed(queries, store.dim), self.measured_background()
        with lock.reading():
            memory = self.memory(store, background=background)
            leave_out = None if exclude is None else LeaveOut.excluding(memory, exclude)
            index = approximate_index(params, memory, self.index)
            if index is not None and index is not params.index:
                self.index = index  # kept: it rebuilds itself when the keys change
            batch = read(memory, params, queries, Q, leave_out=leave_out, keep_weights=keep_weights,
                         on_miss=on_miss, chunk_bytes=chunk_bytes, index=index)
            if params.counts_uses:
                store.usage.touch(batch.keys_with_weight(USED_WEIGHT))
        return batch
