"""Approximate top-k search for large SoftDicts: faiss IVF-Flat (the ``[faiss]`` extra).

Exact reads score every key: one matrix product, the right choice up to a
few hundred thousand keys. Beyond that, a top_k read can ask an inverted-file
index for candidates instead: the keys are clustered once (k-means on a
sample), and a query scores only the keys of the ``nprobe`` clusters nearest
to it. Softmax and blend then run over the k candidates found.

The "auto" temperature needs the spread of a query's scores over all keys;
with an index it is estimated from a fixed uniform sample of
``TEMPERATURE_SAMPLE`` keys, scored exactly.

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
        self._built_for = (memory.source, memory.version, scoring)

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
