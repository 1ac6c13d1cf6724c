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
- evidence z = w_m * z_m + w_s * z_s, or z = z_m alone when spelling cannot
  help: for a vector query, and for text made of known words
  (:func:`softkv.spelling.in_vocabulary`), which the encoder reads for its
  meaning, and whose spelling neighbours are other words ("tool" and
  "stool", "fish" and "fishing").

The z units weigh the channels by how sharply each separates unrelated text:
an encoder whose unrelated texts all sit within 0.02 of each other
(multilingual-e5) counts a difference of 0.02 as much as MiniLM counts 0.09.
The weights w_m + w_s = 1 then weigh them by how clearly each singles out one
key for this query (:func:`channel_weights`): each channel's lead of its best
key over the runner-up, in standard deviations of its noise (the query's
other names and the background texts). The answer is decided between the
best key and the next, so a channel whose best names crowd together (MiniLM's
meaning over city names, a category word's spelling over its neighbours) has
little to say, however far they all stand above unrelated text. A typo's
spelling singles out one name where its meaning does not; a name in another
language that the encoder knows ("Deutschland") is the other way round.

A lead measures how far one key stands out, not how often the key that
stands out is the one meant, and for misspelt text that differs by encoder:
among the background texts MiniLM's meaning reads "elephnat" as "amigo" and
"pasport" as "train station", where multilingual-e5's reads both right. So
meaning's lead is counted at the share of seeded typos of the background
texts that meaning alone reads right, over the share that spelling alone does
(:func:`softkv.read._background.meaning_on_typos`: MiniLM 0.30, e5 0.66),
measured for each encoder on texts of no catalog's, with no constant set for
any encoder.

The score puts the evidence back on the similarity's scale, 0 standard
deviations at mu and the most evidence there can be at the score of an
identical text (1 for cosine):

    score = mu + (I - mu) * z / z_max,   z_max = w_m * (I - mu) / sd_m + w_s * (1 - mu_s) / sd_s

so for a query read by meaning alone the score is the similarity itself, and
no name ever scores above an identical text, which has the most evidence of
both. The score rises with either channel and with their agreement.

The default cutoff is what the query's own evidence against unrelated names
reaches among N names: the evidence of q against each background text is a
sample of it, an exponential tail fitted to its top tenth gives its far end,
and the cutoff is the level that the best of N such names stays below 90% of
the time (:func:`chance_max`, :data:`FALSE_RATE`). Chance is measured, not
assumed normal: short queries and common letter groups, whose spelling
matches unrelated names often, get a higher cutoff. A read that weighs two
channels by what it finds in them has two chances of finding chance, so it
gives each half the false rate (Bonferroni's correction): its cutoff is the
level the best of N stays below 95% of the time.
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
from ._background import Background, background_spelling, meaning_on_typos, spelling_background

__all__ = ["FALSE_RATE", "TAIL_SHARE", "auto_evidence", "chance_max", "identity_scores"]

TAIL_SHARE = 0.1
"""The share of a query's background scores that its chance tail is fitted to."""
FALSE_RATE = 0.1
"""How often the default cutoff lets an unrelated query answer: the best of N unrelated names passes it with
this probability."""


def chance_max(null: np.ndarray, n: int, false_rate: float | np.ndarray = FALSE_RATE) -> np.ndarray:
    """The score that the best of ``n`` draws from each row's null sample (B, R; -inf entries left out) stays
    below with probability 1 - ``false_rate`` (one for all rows, or one per row): the level each draw stays
    below with probability (1 - false_rate) ** (1 / n), read off the sample while it lies within the sample's
    top tenth, and beyond it off an exponential tail fitted to that tenth (peaks over a threshold).

    >>> null = np.linspace(0.0, 1.0, 101)[None, :]
    >>> chance_max(null, 1).round(3), chance_max(null, 1000).round(3)
    (array([0.9]), array([1.277]))
    """
    ordered = -np.sort(-np.where(np.isfinite(null), null, -np.inf), axis=1)
    sizes = np.isfinite(ordered).sum(axis=1)
    tails = -np.expm1(np.log1p(-np.broadcast_to(np.asarray(false_rate, dtype=np.float64), sizes.shape)) / max(n, 1))
    out = np.empty(len(null))
    for i, size in enumerate(sizes):
        row, tail = ordered[i, :size], tails[i]  # tail: each draw's chance of passing the level
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
                  background: Background, meaning: np.ndarray | None = None,
                  hidden: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(scale (B, 1), spelling term (B, N + A) or None, cutoff (B,) or None) of the default score: each name
    scores ``scale * sim + term`` (see the module's docstring).

    ``meaning`` (B, N + A) is the raw similarity of each query to each name,
    keys then aliases (computed here when not given); ``hidden`` (B, N) the
    keys each query may not see, left out of the channels' weights.
    """
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
    meaning_null = _without_the_query((background_scores - mean[:, None]) / spread, texts)
    weights = np.zeros((len(Q), 2))
    weights[:, 0] = 1.0
    raw_spelling = spelling_null = None
    if uses.any():
        assert texts is not None
        raw_spelling = memory.spelling(texts, measure)
        spelling_null = _without_the_query((background_spelling(texts, measure) - spelling_mean) / spelling_sd,
                                           texts)
        if meaning is None:
            meaning = _names_meaning(memory, scoring, Q)
        found = channel_weights((meaning, mean, spread, meaning_null),
                                (raw_spelling, spelling_mean, spelling_sd, spelling_null),
                                memory.alias_rows, _visible_names(memory, hidden),
                                meaning_on_typos(memory.encoder, background))
        weights[uses] = found[uses]
    evidence_max = weights[:, 0] * meaning_max + weights[:, 1] * (1.0 - spelling_mean) / spelling_sd
    per_sd = (identity - mean) / evidence_max  # score units per sd of evidence
    scale = (per_sd * weights[:, 0] / spread)[:, None]
    term = None
    if raw_spelling is not None:  # per_sd * w_s * z_s + mean * (1 - scale), one pass in float32
        factor = per_sd * weights[:, 1] / spelling_sd  # 0 where spelling does not count
        offset = mean * (1.0 - scale[:, 0]) - factor * spelling_mean
        term = raw_spelling * factor[:, None].astype(np.float32)
        term += offset[:, None].astype(np.float32)
    cutoff = None
    if params.threshold == "auto":
        finite = np.isfinite(meaning_null)  # a background text that is the query is left out of both channels
        null = weights[:, :1] * np.where(finite, meaning_null, 0.0)
        if spelling_null is not None:
            null += weights[:, 1:] * np.where(finite & uses[:, None], spelling_null, 0.0)
        null[~finite] = -np.inf
        cutoff = mean + per_sd * chance_max(null, memory.n_names, np.where(uses, FALSE_RATE / 2, FALSE_RATE))
    return scale, term, cutoff


def channel_weights(meaning: tuple[np.ndarray, float | np.ndarray, float, np.ndarray],
                    spelling: tuple[np.ndarray, float | np.ndarray, float, np.ndarray],
                    owners: np.ndarray | None = None, visible: np.ndarray | None = None,
                    meaning_gain: float = 1.0) -> np.ndarray:
    """Each query's weights (B, 2) on its meaning and spelling evidence, summing to 1.

    Each channel is given as (its raw similarity to the names (B, M), the
    centre and the spread that make it z, its z over the background texts
    (B, R), -inf for none). A channel's weight is its lead: how far its best
    key stands above the runner-up, over the standard deviation of the
    query's other names and the background texts together (the background
    keeps the estimate steady for a dict of a few keys). ``owners`` (M - N,)
    is the key row of each alias, so that a key's aliases are not its
    runner-up; ``visible`` (B, M) leaves out the names a query may not see.
    ``meaning_gain`` scales meaning's lead: how far the encoder's meaning
    reads misspelt text, against spelling
    (:func:`softkv.read._background.meaning_on_typos`). When neither channel
    has a key ahead of the rest, both count equally.

    >>> names, background = np.array([[4.0, 0.0, 1.0]]), np.array([[0.0, 1.0, -1.0]])
    >>> channel_weights((names, 0.0, 1.0, background), (names, 0.0, 4.0, background)).round(2)
    array([[0.77, 0.23]])
    """
    found = np.stack([meaning_gain * _lead(*meaning, owners, visible), _lead(*spelling, owners, visible)], axis=1)
    total = found.sum(axis=1, keepdims=True)
    return np.where(total > 0, found / np.where(total > 0, total, 1.0), 0.5)


def _lead(names: np.ndarray, centre: float | np.ndarray, spread: float, null: np.ndarray,
          owners: np.ndarray | None, visible: np.ndarray | None) -> np.ndarray:
    """How clearly one channel singles out one key (B,): the best visible name's lead over the best name of
    any other key, over the spread (standard deviation) of the channel's z on the other names and the finite
    background scores. ``owners`` (M - N,) is the key row of each alias (names past the keys); a key counts
    at its best name. With fewer than two keys visible the lead is over the mean of the others. The names'
    moments are summed from the raw similarities in float64, without a (B, M) copy of their z unless some
    names are hidden; the runner-up costs one partition of the keys' raw scores (about 10 ms for 500
    queries over 20,000 keys)."""
    if visible is None:
        best = names.max(axis=1).astype(np.float64)
        total = names.sum(axis=1, dtype=np.float64)
        squares = np.einsum("bm,bm->b", names, names, dtype=np.float64)
        count = np.full(len(names), names.shape[1], dtype=np.float64)
    else:
        best = np.where(visible, names, -np.inf).max(axis=1).astype(np.float64)
        shown = np.where(visible, names, 0.0)
        total, squares = shown.sum(axis=1, dtype=np.float64), np.einsum("bm,bm->b", shown, shown, dtype=np.float64)
        count = visible.sum(axis=1).astype(np.float64)
    centre = np.broadcast_to(np.asarray(centre, dtype=np.float64), best.shape)
    seen = count > 0
    best_z = np.where(seen, (best - centre) / spread, 0.0)
    # the other names' z: the moments of all of them, less the best one's
    total_z = (total - count * centre) / spread - best_z
    squares_z = (squares - 2.0 * centre * total + count * centre * centre) / (spread * spread) - best_z * best_z
    finite = np.isfinite(null)
    background = np.where(finite, null, 0.0)
    others = np.maximum(count - seen + finite.sum(axis=1), 1.0)
    mean = (total_z + background.sum(axis=1)) / others
    variance = (squares_z + np.einsum("br,br->b", background, background)) / others - mean * mean
    runner_up = (_runner_up(names, owners, visible) - centre) / spread
    lead = best_z - np.where(np.isfinite(runner_up), runner_up, mean)
    weight: np.ndarray = np.where(seen, np.maximum(lead, 0.0), 0.0) / np.sqrt(np.maximum(variance, 1e-24))
    return weight


def _runner_up(names: np.ndarray, owners: np.ndarray | None, visible: np.ndarray | None) -> np.ndarray:
    """The raw score (B,) of the second best visible key, each key at its best name; -inf where fewer than
    two keys are visible."""
    keys = names.shape[1] - (0 if owners is None else len(owners))
    if keys < 2:
        return np.full(len(names), -np.inf)
    per_key = names[:, :keys]
    if owners is not None and len(owners):  # an entry at its best name, as the read scores it
        per_key = per_key.copy()
        np.maximum.at(per_key, (slice(None), owners), names[:, keys:])  # type: ignore[arg-type]
    if visible is not None:
        per_key = np.where(visible[:, :keys], per_key, -np.inf)
    return np.partition(per_key, keys - 2, axis=1)[:, keys - 2].astype(np.float64)


def _names_meaning(memory: Memory, scoring: str, Q: np.ndarray) -> np.ndarray:
    """The raw similarity (B, N + A) of each query to each name: keys in row order, then aliases."""
    keys = attention.scores(Q, memory.embeddings, scoring, key_inverse_norms=memory.inverse_norms,
                            unit_keys=memory.unit_keys)
    if not len(memory.alias_names):
        return keys
    aliases = attention.scores(Q, memory.alias_embeddings, scoring, key_inverse_norms=memory.alias_inverse_norms)
    return np.concatenate([keys, aliases], axis=1)


def _visible_names(memory: Memory, hidden: np.ndarray | None) -> np.ndarray | None:
    """Which names (keys, then aliases) each query may see, or None for all."""
    if hidden is None:
        return None
    hidden_names = np.concatenate([hidden, hidden[:, memory.alias_rows]], axis=1)
    return ~hidden_names


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
