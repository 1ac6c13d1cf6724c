"""Approximate top-k search for large SoftDicts: faiss IVF-Flat (the ``[faiss]`` extra).

Exact reads score every key: one matrix product, the right choice up to a
few hundred thousand keys. Beyond that, a top_k read can ask an inverted-file
index for candidates instead: the keys are clustered once (k-means on a
sample), and a query scores only the keys of the ``nprobe`` clusters nearest
to it. Softmax and blend then run over the k candidates found.

The "auto" temperature needs the spread of a query's scores over all keys.
For cosine it is exact from the moments of the unit keys, kept with the
index (n, Σk and Σkkᵀ: a query's mean cosine is q·Σk / n and its mean square
qᵀ(Σkkᵀ)q / n); for the other scorings it is estimated from a fixed uniform
sample of ``TEMPERATURE_SAMPLE`` keys, scored exactly.

The index is built on the first read that needs it and rebuilt on the first
read after the keys change: bulk-load, then query.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from typing import Any

import numpy as np

from .. import attention

__all__ = ["ANN_MIN_KEYS", "IVFIndex", "approximate_index", "faiss_available"]

ANN_MIN_KEYS = 200_000
"""With index="auto", a SoftDict with top_k and at least this many keys reads through IVFIndex."""
TEMPERATURE_SAMPLE = 1024


def faiss_available() -> bool:
    return importlib.util.find_spec("faiss") is not None


class IVFIndex:
    """An IVF-Flat index over the key embeddings of a store, rebuilt when the store changes.

    ``n_lists`` defaults to 4 sqrt(N) clusters; ``nprobe`` clusters are
    searched per query (higher: slower, better recall).
    """

    def __init__(self, nprobe: int = 16, n_lists: int | None = None, seed: int = 0) -> None:
        self.nprobe = nprobe
        self.n_lists = n_lists
        self.seed = seed
        self._built_for: tuple[int, int, str] | None = None
        self._index: Any = None
        self._sample: np.ndarray | None = None
        self._moments: tuple[np.ndarray, np.ndarray] | None = None  # Σk, Σkkᵀ of the unit keys (cosine)
        self._lock = threading.Lock()

    def _build(self, memory: Any, scoring: str) -> None:
        import faiss

        K = np.ascontiguousarray(memory.embeddings, dtype=np.float32)
        n_keys, dim = K.shape
        if scoring == "cosine" and not memory.unit_keys:
            K = K * memory.inverse_norms[:, None]
        n_lists = self.n_lists or max(1, min(int(4 * math.sqrt(n_keys)), n_keys // 39 or 1))
        metric = faiss.METRIC_L2 if scoring == "neg_l2" else faiss.METRIC_INNER_PRODUCT
        quantizer = faiss.IndexFlatL2(dim) if scoring == "neg_l2" else faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, n_lists, metric)
        rng = np.random.default_rng(self.seed)
        training = K[rng.choice(n_keys, size=min(n_keys, 64 * n_lists), replace=False)]
        index.train(training)
        index.add(K)
        self._index, self._quantizer = index, quantizer
        self._sample = np.sort(rng.choice(n_keys, size=min(n_keys, TEMPERATURE_SAMPLE), replace=False))
        self._moments = _moments(K) if scoring == "cosine" else None
        self._built_for = (memory.source, memory.version, scoring)

    def temperature(self, Q: np.ndarray, best: np.ndarray) -> np.ndarray | None:
        """The "auto" temperature of each query's cosines over every key (B, 1), exact from the keys' moments
        (:func:`softkv.attention.auto_temperature` of all N scores, whose best is ``best`` (B,)); None for a
        scoring whose moments are not kept (estimate it from :meth:`sample_scores`)."""
        if self._moments is None:
            return None
        key_sum, key_squares = self._moments
        n_keys = int(self._index.ntotal)
        unit = np.asarray(Q, dtype=np.float64) * attention.inverse_norms(np.asarray(Q, dtype=np.float64))[:, None]
        mean = unit @ key_sum / n_keys
        variance = np.einsum("bd,bd->b", unit @ key_squares, unit) / n_keys - mean * mean
        spread = np.sqrt(np.maximum(variance, 0.0))
        return attention.spread_temperature(spread, np.maximum(np.abs(best), np.abs(mean)), n_keys)[:, None]

    def search(self, memory: Any, Q: np.ndarray, k: int, scoring: str) -> tuple[np.ndarray, np.ndarray]:
        """The (approximately) k best scores of a :class:`~softkv.store.Memory`'s keys and their rows, (B, k)."""
        with self._lock:
            if self._built_for != (memory.source, memory.version, scoring):
                self._build(memory, scoring)
            self._index.nprobe = self.nprobe
            queries = np.ascontiguousarray(Q, dtype=np.float32)
            if scoring == "cosine":
                queries = queries * attention.inverse_norms(queries)[:, None]
            found, rows = self._index.search(queries, k)
        if scoring == "neg_l2":
            found = -found
        elif scoring == "scaled_dot":
            found = found / math.sqrt(Q.shape[1])
        missing = rows < 0  # fewer than k keys in the probed clusters
        if missing.any():
            found[missing], rows[missing] = -np.inf, 0
        return found, rows

    def sample_scores(self, memory: Any, Q: np.ndarray, scoring: str) -> np.ndarray:
        """Exact scores of every query against the fixed temperature sample of keys."""
        assert self._sample is not None
        return attention.scores(Q, memory.embeddings[self._sample], scoring,
                                key_inverse_norms=memory.inverse_norms[self._sample], unit_keys=memory.unit_keys)


def _moments(K: np.ndarray, rows: int = 16_384) -> tuple[np.ndarray, np.ndarray]:
    """Σk and Σkkᵀ of the rows of K in float64, a block of ``rows`` at a time (a float64 copy of a million
    384-wide keys would take 3 GB)."""
    key_sum, key_squares = np.zeros(K.shape[1]), np.zeros((K.shape[1], K.shape[1]))
    for first in range(0, len(K), rows):
        block = K[first:first + rows].astype(np.float64)
        key_sum += block.sum(axis=0)
        key_squares += block.T @ block
    return key_sum, key_squares


def approximate_index(params: Any, memory: Any, cached: IVFIndex | None) -> IVFIndex | None:
    """The IVF index a read with ``params`` should use (``cached`` when it needs one of its own), or None.

    "auto" reads through an index only where the read is the same with one: a
    top_k read by meaning of at least :data:`ANN_MIN_KEYS` keys, none with
    aliases, with faiss installed. Params checked the rest of "ivf"'s rules
    when it was set; aliases are the one rule of the contents.
    """
    if params.index == "exact":
        return None
    if params.index == "auto":
        if params.top_k is None or params.spelling_is_set or len(memory.alias_names) or (
                len(memory) < ANN_MIN_KEYS or not faiss_available()):
            return None
    elif len(memory.alias_names):
        raise ValueError("aliases read every key (an entry scores as its best name): use index='exact' with them")
    return params.index if isinstance(params.index, IVFIndex) else cached or IVFIndex()
