"""Step one of every read: how much each key matches each query.

``score(memory, params, queries, Q)`` returns a :class:`Scores` record, (B, N):

- meaning: the similarity of the query embeddings to the key embeddings
  (``params.scoring``; a query projection first, when the dict has one);
- spelling, for text queries (:mod:`softkv.spelling`);
- aliases: an entry scores as its best name (the key or any alias);
- exact keys: the row a query names (up to case, accents and whitespace, or
  exactly: ``params.exact_match``);
- leave-out: (query, key) pairs masked to -inf, as if the key were not there
  (leave-one-key-out and k-fold evaluation; see :class:`LeaveOut`).

How meaning and spelling combine, and the default cutoff
(``spelling_weight="auto"``, ``threshold="auto"``): :mod:`softkv.read._evidence`.
A number ``spelling_weight=w`` mixes raw similarities instead,
(1 - w) * cosine + w * spelling, with no default cutoff.

Nothing else in softkv computes scores for a read: the dict, calibration,
the comparison harness, the estimators and the command all come here, and the
torch module (:mod:`softkv.nn`) is tested against it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import attention
from ..params import Params
from ..store import Memory, Population
from ._evidence import auto_evidence
from ._population import Outside, outside_of

__all__ = ["LeaveOut", "Scores", "TextFeatures", "mix", "score", "score_approximately", "text_features"]


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
    blind: np.ndarray | None = None  # (B,) True: the query sees no key at all (a blank query)

    @classmethod
    def one_key_each(cls, rows: np.ndarray, n_keys: int) -> LeaveOut:
        """Query i does not see key ``rows[i]`` (-1: sees every key)."""
        return cls(np.asarray(rows, dtype=np.int64), np.arange(n_keys, dtype=np.int64))

    @classmethod
    def excluding(cls, memory: Memory, names: Sequence[str | None],
                  known: Callable[[str], bool] | None = None) -> LeaveOut:
        """Query i does not see the key ``names[i]`` names (a key or an alias; None: sees every key). A memory of
        some of a store's keys asks ``known`` about a name it does not hold: a key the read does not reach
        is hidden already."""
        rows = []
        for name in names:
            row = -1 if name is None else memory.row_named(name)
            if name is not None and row < 0 and not (known is not None and known(name)):
                raise KeyError(f"exclude names {name!r}, which is not a key of this SoftDict")
            rows.append(row)
        return cls.one_key_each(np.array(rows, dtype=np.int64), len(memory))

    def hiding_all_from(self, rows: Sequence[int]) -> LeaveOut:
        """The same, with every key hidden from the queries ``rows`` too."""
        blind = np.zeros(len(self.query_groups), dtype=bool) if self.blind is None else self.blind.copy()
        blind[list(rows)] = True
        return LeaveOut(self.query_groups, self.key_groups, blind)

    def __getitem__(self, queries: slice) -> LeaveOut:
        return LeaveOut(self.query_groups[queries], self.key_groups,
                        None if self.blind is None else self.blind[queries])

    def mask(self) -> np.ndarray:
        """(B, N) True where the key is hidden from the query."""
        queries = self.query_groups[:, None]
        hidden: np.ndarray = (queries == self.key_groups[None, :]) & (queries >= 0)
        if self.blind is not None:
            hidden |= self.blind[:, None]
        return hidden


@dataclass(frozen=True)
class Scores:
    """The scores of a chunk of queries against every key, and the keys they name exactly.

    An approximate read (through an index) scores only a few candidate keys
    per query: ``candidates`` holds them, the "auto" ``temperature`` from the
    keys' moments or ``sample``, the exact scores of a fixed sample of keys to
    estimate it from, and ``combined`` is -inf
    elsewhere (or None when the dense scores are not kept).
    """

    combined: np.ndarray | None  # (B, N): what the weights are computed from (-inf for a key left out)
    exact_rows: np.ndarray  # (B,) the row a query names exactly (a key or an alias), -1 for none
    cutoff: np.ndarray | None  # (B,) the default threshold of each query (None: no yardstick, no default)
    n_keys: int = 0
    candidates: tuple[np.ndarray, np.ndarray] | None = None  # (scores (B, k), rows (B, k))
    sample: np.ndarray | None = None  # (B, m) exact scores of a sample of the keys
    temperature: np.ndarray | None = None  # (B, 1) the "auto" temperature over every key, when an index knows it
    population: Population | None = None  # the whole store, when the memory scored holds some of its keys
    outside: Outside | None = None  # the similarity part of the scores of the store's other keys

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.exact_rows), self.n_keys)


def mix(meaning: np.ndarray, spelling: np.ndarray, weight: float) -> np.ndarray:
    """A fixed mix of raw similarities: (1 - weight) * meaning + weight * spelling, in meaning's memory.

    >>> mix(np.array([[0.2, 0.6]]), np.array([[1.0, 0.0]]), 0.5)
    array([[0.6, 0.3]])
    """
    meaning *= 1.0 - weight
    meaning += weight * spelling
    return meaning


def text_queries(queries: Sequence[Any]) -> list[str] | None:
    """The queries as a list of texts, or None when they are vectors."""
    return list(queries) if all(isinstance(q, str) for q in queries) else None


@dataclass(frozen=True)
class TextFeatures:
    """What a score takes from the queries besides their embedded similarity to each name (the torch module
    takes it too): each name scores ``scale * sim + spelling`` (the default), or the fixed mix
    ``(1 - weight) * sim + weight * spelling`` of raw similarities.

    ``spelling`` (B, N + A) has keys in row order, then aliases; None when
    spelling does not count (then the score is ``scale * sim``).
    """

    weight: float  # a fixed mix's spelling weight (0 for the default and for meaning alone)
    scale: np.ndarray | None  # (B, 1) the default's factor of the similarity (None: 1)
    spelling: np.ndarray | None
    exact_rows: np.ndarray  # (B,) the row each query names, -1 for none
    cutoff: np.ndarray | None  # (B,) the default threshold (None without a background or with a fixed mix)


def text_features(memory: Memory, params: Params, queries: Sequence[Any], Q: np.ndarray,
                  meaning: np.ndarray | None = None, hidden: np.ndarray | None = None) -> TextFeatures:
    """The :class:`TextFeatures` of ``queries`` (embedded as Q, projected) read from ``memory`` with ``params``.

    Spelling counts for text that the memory's encoder embeds: a memory
    without an encoder is only ever read by vectors (its keys, read as
    queries, too). Without the encoder's background (one that cannot embed
    the background texts) the default reads by meaning alone, with no cutoff.
    ``meaning`` and ``hidden``: see :func:`softkv.read._evidence.auto_evidence`.
    """
    texts = text_queries(queries)
    weight = 0.0 if params.spelling_weight == "auto" else float(params.spelling_weight)  # Params checked cosine
    scale = spelling = cutoff = None
    if weight > 0:
        if texts is not None and memory.spelling is not None and memory.encoder is not None:
            spelling = memory.spelling(texts, params.spelling_measure)
    elif params.spelling_weight == "auto" and memory.background is not None:
        scale, spelling, cutoff = auto_evidence(memory, params, texts, Q, memory.background, meaning, hidden)
    exact_rows = np.full(len(queries), -1, dtype=np.int64)
    if params.exact_match and texts is not None:
        exact_rows[:] = [memory.exact_row(text, params.exact_match) for text in texts]
    return TextFeatures(weight, scale, spelling, exact_rows, cutoff)


def score(memory: Memory, params: Params, queries: Sequence[Any], Q: np.ndarray,
          leave_out: LeaveOut | None = None, out: np.ndarray | None = None) -> Scores:
    """The :class:`Scores` of ``queries`` (embedded as Q, (B, d)) against ``memory`` read with ``params``.

    ``out`` (B, N) float32 receives the combined scores.
    """
    if memory.projection is not None:
        Q = Q @ memory.projection.T
    S = attention.scores(Q, memory.embeddings, params.scoring, key_inverse_norms=memory.inverse_norms,
                         unit_keys=memory.unit_keys, out=out)
    S_alias = None
    if len(memory.alias_names):
        S_alias = attention.scores(Q, memory.alias_embeddings, params.scoring,
                                   key_inverse_norms=memory.alias_inverse_norms)
    hidden = None if leave_out is None else leave_out.mask()
    meaning = S  # keys then aliases: only the default's weights read it
    if S_alias is not None and params.spelling_weight == "auto":
        meaning = np.concatenate([S, S_alias], axis=1)
    features = text_features(memory, params, queries, Q, meaning, hidden)
    _combine(S, features, 0)
    if S_alias is not None:  # an entry scores as its best name
        np.maximum.at(S, (slice(None), memory.alias_rows), _combine(S_alias, features, len(memory)))  # type: ignore[arg-type]
    if params.scoring == "cosine" and (features.scale is not None or features.spelling is not None):
        np.minimum(S, 1.0, out=S)  # a mix in float32 rounds an identical text to 1 + 1e-7 (a cosine is clipped)
    exact_rows = features.exact_rows
    if hidden is not None:
        S[hidden] = -np.inf
        named = np.flatnonzero(exact_rows >= 0)
        exact_rows[named[hidden[named, exact_rows[named]]]] = -1  # a hidden key is not there to be named
    return Scores(S, exact_rows, features.cutoff, len(memory), population=memory.population,
                  outside=outside_of(memory, params, Q, features.scale, features.weight))


def _combine(S: np.ndarray, features: TextFeatures, first: int) -> np.ndarray:
    """The scores of some names (keys, or aliases from column ``first`` of the features) from their meaning
    similarity S, in place."""
    if features.scale is not None:
        S *= features.scale
    if features.spelling is not None:
        spelling = features.spelling[:, first:first + S.shape[1]]
        if features.weight > 0:
            mix(S, spelling, features.weight)
        else:
            S += spelling
    return S


def score_approximately(memory: Memory, params: Params, queries: Sequence[Any], Q: np.ndarray, index: Any,
                        keep: bool = True) -> Scores:
    """:func:`score` of the ``params.top_k`` candidates an index finds (meaning only; exact keys still count)."""
    if memory.projection is not None:
        Q = Q @ memory.projection.T
    n_queries, n_keys = len(Q), len(memory)
    top_k = min(params.top_k or n_keys, n_keys)
    S_k, rows = index.search(memory, Q, top_k, params.scoring)
    if params.scoring == "cosine":
        S_k = np.minimum(S_k, 1.0)
    temperature = sample = None
    if params.temperature == "auto":
        temperature = index.temperature(Q, S_k.max(axis=1))
        sample = index.sample_scores(memory, Q, params.scoring) if temperature is None else None
    S = None
    if keep:
        S = np.full((n_queries, n_keys), -np.inf, dtype=np.float32)
        np.put_along_axis(S, rows, S_k, axis=1)
    texts = text_queries(queries)
    exact_rows = np.full(n_queries, -1, dtype=np.int64)
    if params.exact_match and texts is not None:
        exact_rows[:] = [memory.exact_row(text, params.exact_match) for text in texts]
    return Scores(S, exact_rows, None, n_keys, (S_k, rows), sample, temperature=temperature)
