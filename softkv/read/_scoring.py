"""Step one of every read: how much each key matches each query.

``score(memory, params, queries, Q)`` returns a :class:`Scores` record, (B, N):

- meaning: the similarity of the query embeddings to the key embeddings
  (``params.scoring``; a query projection first, when the dict has one);
- spelling, for text queries (:mod:`softkv.lexical`);
- aliases: an entry scores as its best name (the key or any alias);
- exact keys: the row a query names exactly, when ``params.exact_match``;
- leave-out: (query, key) pairs masked to -inf, as if the key were not there
  (leave-one-key-out and k-fold evaluation; see :class:`LeaveOut`).

How meaning and spelling combine (``spelling_weight="auto"``, the default).
Both are measured against what unrelated text scores, so that they weigh the
same for every encoder:

- meaning: the similarity sim(q, k) itself. Its yardstick: the query's mean
  similarity to the background texts (:data:`softkv.background.BACKGROUND_TEXTS`)
  and the spread of similarities between two background texts, measured once
  per encoder. (sim - mean) / spread is how many standard deviations above
  unrelated text a key is.
- spelling: z_s = (s(q, k) - centre) / sd, the spelling similarity
  standardised against the query's own similarities to every name: robustly
  (the median, and 1.4826 times the median absolute deviation), so that a
  typo's own outlying score does not widen its yardstick, and both shrunk
  towards the background's mean and spread by :data:`SPREAD_PSEUDO_COUNT`
  names, so that a dict of three keys has sensible ones.
- Among N names, the largest of N unrelated scores is about sqrt(2 ln N)
  standard deviations (the expected maximum of N normal draws), so a spelling
  score below that is what chance gives, and says nothing. Above it, the name
  is a spelling variant of the query, and each further standard deviation
  counts as one standard deviation of meaning:

      score = sim(q, k) + spread * max(0, z_s - sqrt(2 ln N))

  A description shares no distinctive spelling with any key and reads by
  meaning; a typo, an abbreviation by letters or a transliteration stands out
  in spelling and wins even where the encoder does not see it.
- The same yardstick gives the default cutoff of each query: a read misses
  when no key scores above mean + spread * sqrt(2 ln N), the best that N
  unrelated keys would reach.

Scores stay in the similarity's own units (cosine for cosine), so a fixed
temperature or threshold means what it meant. A number
``spelling_weight=w`` mixes raw similarities instead, (1 - w) * cosine +
w * spelling (the previous default, w = 0.5), with no default cutoff.

Nothing else in softkv computes scores for a read: the dict, calibration,
the comparison harness, the estimators and the command all come here, and the
torch module (:mod:`softkv.nn`) is tested against it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import attention
from ..params import Params
from ..store import Memory
from ._background import spelling_background

__all__ = ["SPREAD_PSEUDO_COUNT", "LeaveOut", "Scores", "TextFeatures", "chance_max", "mix",
           "score", "score_approximately", "text_features"]

SPREAD_PSEUDO_COUNT = 10
"""How many names' worth of weight the background's spelling centre and spread have beside the query's own."""


def chance_max(n_names: int) -> float:
    """sqrt(2 ln N): about how many standard deviations the best of N unrelated scores reaches.

    >>> round(chance_max(3), 2), round(chance_max(1000), 2)
    (1.48, 3.72)
    """
    return math.sqrt(2.0 * math.log(max(n_names, 1)))


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
        queries = self.query_groups[:, None]
        hidden: np.ndarray = (queries == self.key_groups[None, :]) & (queries >= 0)
        return hidden


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
    cutoff: np.ndarray | None  # (B,) the default threshold of each query (None: no yardstick, no default)
    n_keys: int = 0
    candidates: tuple[np.ndarray, np.ndarray] | None = None  # (scores (B, k), rows (B, k))
    sample: np.ndarray | None = None  # (B, m) exact scores of a sample of the keys

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
    """What a score takes from the text of the queries besides their embeddings (the torch module takes it too).

    ``spelling`` (B, N + A), keys in row order then aliases: what spelling adds
    to each name's score (the default: spread * evidence, in the similarity's
    units), or for a fixed weight the raw spelling similarity; None when
    spelling does not count.
    """

    weight: float  # a fixed mix's spelling weight (0 for the default and for meaning alone)
    spelling: np.ndarray | None
    exact_rows: np.ndarray  # (B,) the row each query names exactly, -1 for none
    cutoff: np.ndarray | None  # (B,) the default threshold (None without a background or with a fixed mix)


def text_features(memory: Memory, params: Params, queries: Sequence[Any], Q: np.ndarray) -> TextFeatures:
    """The :class:`TextFeatures` of ``queries`` (embedded as Q, projected) read from ``memory`` with ``params``.

    Spelling counts for text that the memory's encoder embeds: a memory
    without an encoder is only ever read by vectors (its keys, read as
    queries, too).
    """
    texts = text_queries(queries)
    n_names = len(memory) + len(memory.alias_names)
    weight = 0.0 if params.spelling_weight == "auto" else float(params.spelling_weight)  # Params checked cosine
    background = memory.background if weight == 0 else None
    readable = texts is not None and memory.spelling is not None and memory.encoder is not None
    spelling = cutoff = None
    if background is not None:
        spread = background.spread(params.scoring)
        if params.threshold == "auto":
            cutoff = (background.mean_score(Q, params.scoring) + spread * chance_max(n_names))[:, 0]
    if readable and (weight > 0 or (background is not None and params.spelling_weight == "auto")):
        assert texts is not None
        spelling = memory.spelling(texts)
        if weight == 0:
            spelling = spelling_evidence(spelling)
            spelling *= spread
    exact_rows = np.full(len(queries), -1, dtype=np.int64)
    if params.exact_match and texts is not None:
        exact_rows[:] = [memory.row_named(text) for text in texts]
    return TextFeatures(weight, spelling, exact_rows, cutoff)


def spelling_evidence(spelling: np.ndarray) -> np.ndarray:
    """max(0, z_s - sqrt(2 ln N)) of each name: its spelling beyond what chance gives among N names, in place.

    >>> spelling_evidence(np.array([[0.69, 0.05, 0.05, 0.05, 0.05]])).round(1)  # "chiar" among five keys
    array([[9.5, 0. , 0. , 0. , 0. ]])
    """
    n_names, prior = spelling.shape[1], SPREAD_PSEUDO_COUNT
    median = np.median(spelling, axis=1, keepdims=True)
    deviation = 1.4826 * np.median(np.abs(spelling - median), axis=1, keepdims=True)  # the sd, were they normal
    background_mean, background_sd = spelling_background()
    centre = (n_names * median + prior * background_mean) / (n_names + prior)
    variance = (n_names * deviation**2 + prior * background_sd**2) / (n_names + prior)
    spelling -= centre
    spelling /= np.sqrt(variance)
    spelling -= chance_max(n_names)
    np.maximum(spelling, 0.0, out=spelling)
    return spelling


def score(memory: Memory, params: Params, queries: Sequence[Any], Q: np.ndarray,
          leave_out: LeaveOut | None = None, out: np.ndarray | None = None) -> Scores:
    """The :class:`Scores` of ``queries`` (embedded as Q, (B, d)) against ``memory`` read with ``params``.

    ``out`` (B, N) float32 receives the combined scores.
    """
    if memory.projection is not None:
        Q = Q @ memory.projection.T
    features = text_features(memory, params, queries, Q)
    S = _names_scores(memory, params, Q, memory.embeddings, memory.inverse_norms, features, 0, out)
    if len(memory.alias_names):  # an entry scores as its best name
        S_alias = _names_scores(memory, params, Q, memory.alias_embeddings, memory.alias_inverse_norms, features,
                                len(memory), None)
        np.maximum.at(S, (slice(None), memory.alias_rows), S_alias)  # type: ignore[arg-type]
    exact_rows = features.exact_rows
    if leave_out is not None:
        hidden = leave_out.mask()
        S[hidden] = -np.inf
        named = np.flatnonzero(exact_rows >= 0)
        exact_rows[named[hidden[named, exact_rows[named]]]] = -1  # a hidden key is not there to be named
    return Scores(S, exact_rows, features.cutoff, len(memory))


def _names_scores(memory: Memory, params: Params, Q: np.ndarray, K: np.ndarray, inverse_norms: np.ndarray,
                  features: TextFeatures, first: int, out: np.ndarray | None) -> np.ndarray:
    """The scores of some names (keys, or aliases from column ``first`` of the features) against Q."""
    S = attention.scores(Q, K, params.scoring, key_inverse_norms=inverse_norms,
                         unit_keys=memory.unit_keys if first == 0 else False, out=out)
    if features.spelling is not None:
        spelling = features.spelling[:, first:first + S.shape[1]]
        S = mix(S, spelling, features.weight) if features.weight > 0 else np.add(S, spelling, out=S)
    return S


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
    return Scores(S, exact_rows, None, n_keys, (S_k, rows), sample)
