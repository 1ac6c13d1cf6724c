"""Step one of every read: how much each key matches each query.

``score(memory, params, queries, Q)`` returns a :class:`Scores` record, (B, N):

- meaning: the similarity of the query embeddings to the key embeddings
  (``params.scoring``; a query projection first, when the dict has one);
- spelling, for text queries: mixed in by ``params.spelling`` (see
  :func:`mix`), the same for keys and aliases;
- aliases: an entry scores as its best name (the key or any alias);
- exact keys: the row a query names exactly, when ``params.exact_match``;
- leave-out: (query, key) pairs masked to -inf, as if the key were not there
  (leave-one-key-out and k-fold evaluation; see :class:`LeaveOut`).

Nothing else in softkv computes scores for a read: the dict, calibration,
the comparison harness, the estimators and the command all come here, and the
torch module (:mod:`softkv.nn`) is tested against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import attention
from .params import Params
from .store import Memory

__all__ = ["LeaveOut", "Scores", "mix", "score", "score_approximately", "text_features"]


@dataclass(frozen=True)
class LeaveOut:
    """Which keys each query may not see: key j is hidden from query i when their groups are equal.

    Leave-one-key-out: the keys are their own groups and a query that is a key
    belongs to its key's group. k-fold: every key and query in fold f is group f.
    A group of -1 hides nothing.

    >>> LeaveOut.one_key_each(np.array([2, -1]), n_keys=3).mask().astype(int).tolist()
    [[0, 0, 1], [0, 0, 0]]
    """

    query_groups: np.ndarray  # (B,)
    key_groups: np.ndarray  # (N,)

    @classmethod
    def one_key_each(cls, rows: np.ndarray, n_keys: int) -> LeaveOut:
        """Query i does not see key ``rows[i]`` (-1: sees every key)."""
        return cls(np.asarray(rows, dtype=np.int64), np.arange(n_keys, dtype=np.int64))

    @classmethod
    def excluding(cls, memory: Memory, names: Sequence[str | None]) -> LeaveOut:
        """Query i does not see the key ``names[i]`` names (a key or an alias; None: sees every key)."""
        rows = []
        for name in names:
            row = -1 if name is None else memory.row_named(name)
            if name is not None and row < 0:
                raise KeyError(f"exclude names {name!r}, which is not a key of this SoftDict")
            rows.append(row)
        return cls.one_key_each(np.array(rows, dtype=np.int64), len(memory))

    def __getitem__(self, queries: slice) -> LeaveOut:
        return LeaveOut(self.query_groups[queries], self.key_groups)

    def mask(self) -> np.ndarray:
        """(B, N) True where the key is hidden from the query."""
        return (self.query_groups[:, None] == self.key_groups[None, :]) & (self.query_groups[:, None] >= 0)


@dataclass(frozen=True)
class Scores:
    """The scores of a chunk of queries against every key, and the keys they name exactly.

    An approximate read (through an index) scores only a few candidate keys
    per query: ``candidates`` holds them, ``sample`` the exact scores of a
    fixed sample of keys for the "auto" temperature, and ``combined`` is -inf
    elsewhere (or None when the dense scores are not kept).
    """

    combined: np.ndarray | None  # (B, N): what the weights are computed from (-inf for a key left out)
    exact_rows: np.ndarray  # (B,) the row a query names exactly (a key or an alias), -1 for none
    spelling_weight: float  # the weight spelling had in ``combined`` (0: meaning alone)
    n_keys: int = 0
    candidates: tuple[np.ndarray, np.ndarray] | None = None  # (scores (B, k), rows (B, k))
    sample: np.ndarray | None = None  # (B, m) exact scores of a sample of the keys

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.exact_rows), self.n_keys)


def mix(meaning: np.ndarray, spelling: np.ndarray, weight: float) -> np.ndarray:
    """The score of text queries: (1 - weight) * meaning + weight * spelling, in meaning's memory.

    >>> mix(np.array([[0.2, 0.6]]), np.array([[1.0, 0.0]]), 0.5)
    array([[0.6, 0.3]])
    """
    meaning *= 1.0 - weight
    meaning += weight * spelling
    return meaning


def text_queries(queries: Sequence[Any]) -> list[str] | None:
    """The queries as a list of texts, or None when they are vectors."""
    return list(queries) if all(isinstance(q, str) for q in queries) else None


def score(memory: Memory, params: Params, queries: Sequence[Any], Q: np.ndarray,
          leave_out: LeaveOut | None = None, out: np.ndarray | None = None) -> Scores:
    """The :class:`Scores` of ``queries`` (embedded as Q, (B, d)) against ``memory`` read with ``params``.

    ``out`` (B, N) float32 receives the combined scores.
    """
    if memory.projection is not None:
        Q = Q @ memory.projection.T
    S = attention.scores(Q, memory.embeddings, params.scoring, key_inverse_norms=memory.inverse_norms,
                         unit_keys=memory.unit_keys, out=out)
    weight, spelling, exact_rows = text_features(memory, params, queries)
    n_keys = len(memory)
    if spelling is not None:
        S = mix(S, spelling[:, :n_keys], weight)
    if len(memory.alias_names):  # an entry scores as its best name
        S_alias = attention.scores(Q, memory.alias_embeddings, params.scoring,
                                   key_inverse_norms=memory.alias_inverse_norms)
        if spelling is not None:
            S_alias = mix(S_alias, spelling[:, n_keys:], weight)
        np.maximum.at(S, (slice(None), memory.alias_rows), S_alias)  # type: ignore[arg-type]
    if leave_out is not None:
        hidden = leave_out.mask()
        S[hidden] = -np.inf
        named = np.flatnonzero(exact_rows >= 0)
        exact_rows[named[hidden[named, exact_rows[named]]]] = -1  # a hidden key is not there to be named
    return Scores(S, exact_rows, weight, n_keys)


def text_features(memory: Memory, params: Params, queries: Sequence[Any]) -> tuple[float, np.ndarray | None,
                                                                                       np.ndarray]:
    """What a score takes from the text of the queries, besides their embeddings.

    Returns the spelling weight used, the spelling similarity of each query to
    every name (keys in row order, then aliases; None when spelling does not
    count), and the row each query names exactly (-1 for none). Spelling
    counts for text that the memory's encoder embeds: a memory without an
    encoder is only ever read by vectors (its keys, read as queries, too).
    """
    texts = text_queries(queries)
    readable = texts is not None and memory.spelling is not None and memory.encoder is not None
    weight = params.spelling if readable else 0.0
    if weight > 0 and params.scoring != "cosine":
        raise ValueError(f"a spelling weight mixes two cosines: it needs scoring='cosine', not {params.scoring!r}")
    spelling = memory.spelling(texts) if weight > 0 else None
    exact_rows = np.full(len(queries), -1, dtype=np.int64)
    if params.exact_match and texts is not None:
        exact_rows[:] = [memory.row_named(text) for text in texts]
    return weight, spelling, exact_rows


def score_approximately(memory: Memory, params: Params, queries: Sequence[Any], Q: np.ndarray, index: Any,
                        keep: bool = True) -> Scores:
    """:func:`score` of the ``params.top_k`` candidates an index finds (meaning only; exact keys still count)."""
    if memory.projection is not None:
        Q = Q @ memory.projection.T
    n_queries, n_keys = len(Q), len(memory)
    top_k = min(params.top_k or n_keys, n_keys)
    S_k, rows = index.search(memory, Q, top_k, params.scoring)
    sample = index.sample_scores(memory, Q, params.scoring) if params.temperature == "auto" else None
    S = None
    if keep:
        S = np.full((n_queries, n_keys), -np.inf, dtype=np.float32)
        np.put_along_axis(S, rows, S_k, axis=1)
    texts = text_queries(queries)
    exact_rows = np.full(n_queries, -1, dtype=np.int64)
    if params.exact_match and texts is not None:
        exact_rows[:] = [memory.row_named(text) for text in texts]
    return Scores(S, exact_rows, 0.0, n_keys, (S_k, rows), sample)
