"""The default score: meaning and spelling counted as evidence against what unrelated text scores, bounded.

For a query q and a name k (``spelling_weight="auto"``), both channels are
measured in standard deviations above unrelated text, with yardsticks that the
encoder and the spelling score give themselves (:mod:`softkv.read._background`):

- meaning: z_m = (sim(q, k) - mu) / sd_m, where mu is the query's mean
  similarity to the 258 background texts and sd_m the spread of similarities
  between two of them (measured once per encoder);
- spelling: z_s = (s(q, k) - mu_s) / sd_s, the spelling similarity
  (:mod:`softkv.spelling`) against its mean and spread between two background
  texts: the same numbers for every encoder;
- evidence z = z_m + z_s, or z = z_m alone when spelling cannot help: for a
  vector query, and for text made of known words (:func:`softkv.spelling.in_vocabulary`),
  which the encoder reads for its meaning, and whose spelling neighbours are
  other words ("tool" and "stool", "fish" and "fishing").

The sum weighs the channels by how sharply each one separates: an encoder
whose unrelated texts all sit within 0.02 of each other (multilingual-e5)
counts a difference of 0.02 as much as MiniLM counts 0.09.

The score puts the evidence back on the similarity's scale, 0 standard
deviations at mu and the most evidence there can be at the score of an
identical text (1 for cosine):

    score = mu + (I - mu) * z / z_max,   z_max = (I - mu) / sd_m [+ (1 - mu_s) / sd_s]

so for a query read by meaning alone the score is the similarity itself, no
name ever scores above an identical text, and a name spelled exactly as the
query scores as much as an identical meaning. The score rises with either
channel and with their agreement.

The default cutoff is what the query's own evidence against unrelated names
reaches among N names: the evidence of q against each background text is a
sample of it, an exponential tail fitted to its top tenth gives its far end,
and the cutoff is the level that the best of N such names stays below 90% of
the time (:func:`chance_max`, :data:`FALSE_RATE`). Chance is measured, not
assumed normal: short queries and common letter groups, whose spelling
matches unrelated names often, get a higher cutoff.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import attention
from ..params import Params
from ..spelling import fold, in_vocabulary
from ..store import Memory
from ._background import Background, background_spelling, spelling_background

__all__ = ["FALSE_RATE", "TAIL_SHARE", "auto_evidence", "chance_max", "identity_scores"]

TAIL_SHARE = 0.1
"""The share of a query's background scores that its chance tail is fitted to."""
FALSE_RATE = 0.1
"""How often the default cutoff lets an unrelated query answer: the best of N unrelated names passes it with
this probability."""


def chance_max(null: np.ndarray, n: int, false_rate: float = FALSE_RATE) -> np.ndarray:
    """The score that the best of ``n`` draws from each row's null sample (B, R; -inf entries left out) stays
    below with probability 1 - ``false_rate``: the level each draw stays below with probability
    (1 - false_rate) ** (1 / n), read off the sample while it lies within the sample's top tenth, and beyond
    it off an exponential tail fitted to that tenth (peaks over a threshold).

    >>> null = np.linspace(0.0, 1.0, 101)[None, :]
    >>> chance_max(null, 1).round(3), chance_max(null, 1000).round(3)
    (array([0.9]), array([1.277]))
    """
    ordered = -np.sort(-np.where(np.isfinite(null), null, -np.inf), axis=1)
    sizes = np.isfinite(ordered).sum(axis=1)
    tail = -math.expm1(math.log1p(-false_rate) / max(n, 1))  # each draw's chance of passing the level
    out = np.empty(len(null))
    for i, size in enumerate(sizes):
        row = ordered[i, :size]
        if size < 3:
            out[i] = row[0] if size else -np.inf
            continue
        k = max(2, min(size - 1, int(TAIL_SHARE * size)))
        if tail * size >= k:  # within the sample: its own quantile
            out[i] = np.quantile(row, 1.0 - tail)
            continue
        threshold = row[k]
        scale = max(float(np.mean(row[:k] - threshold)), 1e-12)
        out[i] = threshold + scale * math.log(k / (size * tail))
    return out


def identity_scores(Q: np.ndarray, scoring: str) -> np.ndarray:
    """What each query scores against itself (B,): the most a name can score."""
    if scoring == "cosine":
        return np.ones(len(Q))
    if scoring == "neg_l2":
        return np.zeros(len(Q))
    squares: np.ndarray = np.einsum("bd,bd->b", Q, Q).astype(np.float64)
    return squares / math.sqrt(Q.shape[1]) if scoring == "scaled_dot" else squares


def auto_evidence(memory: Memory, params: Params, texts: list[str] | None, Q: np.ndarray,
                  background: Background) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(scale (B, 1), spelling term (B, N + A) or None, cutoff (B,) or None) of the default score: each name
    scores ``scale * sim + term`` (see the module's docstring)."""
    scoring = params.scoring
    background_scores = attention.scores(Q, background.embeddings, scoring).astype(np.float64)  # (B, R)
    mean = background_scores.mean(axis=1)
    spread = background.spread(scoring)
    identity = np.maximum(identity_scores(Q, scoring), mean + spread)  # a degenerate query: at least one sd
    meaning_max = (identity - mean) / spread
    uses = np.zeros(len(Q), dtype=bool)
    if texts is not None and memory.spelling is not None and memory.encoder is not None:
        uses[:] = [not in_vocabulary(text) for text in texts]
    measure = params.spelling_measure
    spelling_mean, spelling_sd = spelling_background(measure)
    evidence_max = meaning_max + uses * (1.0 - spelling_mean) / spelling_sd
    per_sd = (identity - mean) / evidence_max  # score units per sd of evidence
    scale = (per_sd / spread)[:, None]
    term = None
    if uses.any():
        assert texts is not None
        spelling_z = (memory.spelling(texts, measure).astype(np.float64) - spelling_mean) / spelling_sd
        spelling_z[~uses] = 0.0
        term = (mean * (1.0 - scale[:, 0]))[:, None] + per_sd[:, None] * spelling_z
    cutoff = None
    if params.threshold == "auto":
        null = (background_scores - mean[:, None]) / spread
        if texts is not None and uses.any():
            null += uses[:, None] * (background_spelling(texts, measure) - spelling_mean) / spelling_sd
        null = _without_the_query(null, texts)
        cutoff = mean + per_sd * chance_max(null, memory.n_names)
    return scale, term, cutoff


@functools.cache
def _folded_background() -> dict[str, int]:
    """Each background text, case- and accent-folded, to its column: made once (folding them all took half of
    a read of 2,000 keys when it was made for every read)."""
    from ._background import BACKGROUND_TEXTS

    return {fold(text): j for j, text in enumerate(BACKGROUND_TEXTS)}


def _without_the_query(null: np.ndarray, texts: Sequence[Any] | None) -> np.ndarray:
    """The null scores without the background texts that are the query itself (up to case and accents)."""
    if texts is None:
        return null
    folded = _folded_background()
    for i, text in enumerate(texts):
        j = folded.get(fold(text))
        if j is not None:
            null[i, j] = -np.inf
    return null
