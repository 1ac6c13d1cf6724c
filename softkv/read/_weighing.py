"""Steps two and three of every read: scores become weights, weights become an answer.

``weigh(scores, params)`` applies the temperature ("auto" from each query's
own scores), ``top_k``, the mode (softmax, sparsemax, the nearest key, or the
plain mean of the kept keys), exact keys (all the weight on the key named) and
the cutoff: a query whose best score is below ``params.threshold`` is a miss
(its "auto" value comes with the scores: :func:`softkv.read.score`),
and ``p_miss`` is the weight a "none of these" slot scored at the threshold
would take beside the keys. ``answer(weights, memory)`` blends numeric values
or sums the weight of each category.

>>> import numpy as np
>>> from softkv.params import Params
>>> from softkv.read import Scores
>>> w = weigh(Scores(np.array([[0.9, 0.5, 0.1]]), np.array([-1]), 0.0), Params.make(temperature=0.2))
>>> w.dense.round(3), w.nearest_rows
(array([[0.867, 0.117, 0.016]]), array([0]))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import attention
from ..params import Params
from ..store import Memory
from ._population import population_temperature
from ._scoring import Scores

__all__ = ["Answers", "Weights", "answer", "median_temperature", "weigh"]


@dataclass(frozen=True)
class Weights:
    """The weights of a chunk of queries: dense (B, N), and/or the k kept keys of each (top_k reads)."""

    dense: np.ndarray | None  # (B, N), rows summing to 1 (0 for a query with no key to see)
    top_rows: np.ndarray | None  # (B, k) the keys kept by top_k
    top_weights: np.ndarray | None  # (B, k) their weights
    temperatures: np.ndarray  # (B,) the temperature each query was read at
    nearest_rows: np.ndarray  # (B,) the best-scoring key (the key named, for an exact query)
    best_scores: np.ndarray  # (B,)
    exact_rows: np.ndarray  # (B,) the key a query named exactly, -1 for none
    p_miss: np.ndarray | None  # (B,) with a threshold: the weight of a null slot scored at it
    missed: np.ndarray  # (B,) no key reached the threshold (or no key was left to see)
    cutoff: Any = None  # the threshold these weights were read with: a number, (B,) per query, or None
    confidence: np.ndarray | None = None  # (B,) the nearest key's weight beside a null slot at the cutoff
    tail_mass: np.ndarray | None = None  # (B,) a read of some of a store's keys: the weight the others would take


@dataclass(frozen=True)
class Answers:
    """What a chunk of queries reads: blended numbers, or the heaviest category and every category's weight."""

    values: np.ndarray  # (B, *value_shape) float64, or (B,) object for categories
    category_weights: np.ndarray | None  # (B, n_categories)


NEGLIGIBLE = 1e-6
"""A key whose weight is below this share of the heaviest key's takes no weight at all: a read whose weight is
all but on one key returns that key's value."""


def weigh(scores: Scores, params: Params, out: np.ndarray | None = None, keep_dense: bool = True) -> Weights:
    """The :class:`Weights` of ``scores`` read with ``params``.

    With a cutoff, a query that some key beats weighs only the keys that beat
    it: a key at chance level takes no weight (the temperature is still that
    of all N scores). ``out`` (B, N) receives dense weights (it may be
    ``scores.combined`` itself, when the scores are not needed afterwards);
    ``keep_dense=False`` with top_k keeps only the k weights of each query.
    """
    cutoff = scores.cutoff if params.threshold == "auto" else params.threshold
    n_queries, n_keys = scores.shape
    top_k = params.top_k if params.top_k is not None and params.top_k < n_keys else None
    if top_k is not None or scores.candidates is not None:
        dense, top_rows, top_weights, T, nearest, best, p_miss = _sparse(scores, params, top_k, cutoff,
                                                                          out, keep_dense)
    else:
        dense, T, nearest, best, p_miss = _dense(scores, params, cutoff, out)
        top_rows = top_weights = None
    exact = scores.exact_rows >= 0
    nothing = ~np.isfinite(best)  # every key left out of this query
    missed = ~exact & (nothing | (best < cutoff if cutoff is not None else False))
    _put_exact(scores.exact_rows, exact | nothing, dense, top_rows, top_weights, p_miss)
    nearest[exact] = scores.exact_rows[exact]
    confidence = _confidence(dense, top_rows, top_weights, nearest, p_miss)
    tail = None
    if scores.population is not None:
        tail = scores.population.tail_mass(_sample_weight(scores.population.sampled, dense, top_rows, top_weights))
        tail[exact] = 0.0  # the key named is read
    return Weights(dense, top_rows, top_weights, np.asarray(T, dtype=np.float64)[:, 0], nearest, best,
                   scores.exact_rows, p_miss, missed, cutoff, confidence, tail)


def _sample_weight(sampled: np.ndarray, dense: np.ndarray | None, top_rows: np.ndarray | None,
                   top_weights: np.ndarray | None) -> np.ndarray:
    """(B,) the weight each query puts on the rows ``sampled`` marks."""
    if top_weights is not None:
        assert top_rows is not None
        weight: np.ndarray = np.where(sampled[top_rows], top_weights, 0.0).sum(axis=1)
        return weight
    assert dense is not None
    on_sample: np.ndarray = np.asarray(dense[:, sampled], dtype=np.float64).sum(axis=1)
    return on_sample


def _beyond_chance(S: np.ndarray, cutoff: Any, best: np.ndarray) -> np.ndarray | None:
    """(B, k) True for the keys a query weighs: those at its cutoff or above when its best is (None: all)."""
    if cutoff is None:
        return None
    level = np.broadcast_to(np.asarray(cutoff, dtype=np.float64), (len(S),))[:, None]
    return (S >= level) | (best < level[:, 0])[:, None]


def _temperature(S: np.ndarray, params: Params, scores: Scores) -> Any:
    """The temperature to weigh with: "auto" resolved over all the scores (before any is left out), or over
    the whole store when the scores are those of some of its keys."""
    if params.temperature != "auto":
        return params.temperature
    population = scores.population
    if population is None:
        return attention.auto_temperature(S)
    outside = scores.outside
    if outside is None:
        return population_temperature(S, population.sampled, population.n_keys)
    return population_temperature(S, population.sampled, population.n_keys,
                                            outside=(outside.count, outside.total, outside.squares, outside.meaning))


def _sparse(scores: Scores, params: Params, top_k: int | None, cutoff: Any, out: np.ndarray | None,
            keep_dense: bool) -> tuple[Any, ...]:
    """Weights of each query's k best keys (or an index's candidates), dense as well when asked."""
    S, (n_queries, n_keys) = scores.combined, scores.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        if scores.candidates is not None:
            S_k, top_rows = scores.candidates
            temperature: Any = params.temperature
            if temperature == "auto" and scores.temperature is not None:
                temperature = scores.temperature  # exact, from the keys' moments
            elif temperature == "auto":
                assert scores.sample is not None
                temperature = attention.auto_temperature(scores.sample, n_keys=n_keys)
        else:
            assert S is not None and top_k is not None
            temperature = _temperature(S, params, scores)
            S_k, top_rows = attention.top_k_rows(S, top_k)
        best_in_top = S_k.argmax(axis=1)
        nearest = top_rows[np.arange(n_queries), best_in_top]
        best = S_k[np.arange(n_queries), best_in_top]
        p_miss = _p_miss(cutoff, S_k, temperature)  # "auto" is resolved above, on every branch
        keep = _beyond_chance(S_k, cutoff, best)
        top_weights, T = attention.normalize(S_k if keep is None else np.where(keep, S_k, -np.inf), temperature,
                                             params.mode)
    top_weights = _without_negligible(top_weights)
    dense = None
    if keep_dense or out is not None:  # S is not needed any more: out may be S itself
        dense = np.zeros((n_queries, n_keys), dtype=np.float32) if out is None else out
        if out is not None:
            dense[...] = 0.0
        np.put_along_axis(dense, top_rows, top_weights, axis=1)
    return dense, top_rows, top_weights, T, nearest, best, p_miss


def _dense(scores: Scores, params: Params, cutoff: Any, out: np.ndarray | None) -> tuple[Any, ...]:
    """Weights of every key (softmax in one pass that also gives the partition sums p_miss needs)."""
    S = scores.combined
    assert S is not None
    nearest = S.argmax(axis=1)
    best = S[np.arange(len(S)), nearest]
    keep = _beyond_chance(S, cutoff, best)
    temperature = params.temperature if keep is None and scores.population is None else _temperature(S, params, scores)
    p_miss = None
    if keep is not None:
        if cutoff is not None:  # beside every key, before the chance ones go
            p_miss = _p_miss(cutoff, S, np.broadcast_to(np.asarray(temperature, dtype=np.float64), (len(S), 1)))
        target = out if out is not None else np.empty_like(S)
        np.copyto(target, np.where(keep, S, -np.inf).astype(S.dtype, copy=False))
        S, out = target, target
    if params.mode == "softmax":
        dense, T, sums = attention.stable_softmax(S, temperature, out=out)
        if p_miss is None and cutoff is not None:
            p_miss = attention.null_probability_of(best, sums, np.asarray(T, dtype=np.float64)[:, 0], cutoff)
        return _without_negligible(dense), T, nearest, best, p_miss
    with np.errstate(invalid="ignore", divide="ignore"):
        dense, T = attention.normalize(S, temperature, params.mode)
    p_miss = _p_miss(cutoff, S, T) if p_miss is None else p_miss
    if out is not None:
        out[...] = dense
        dense = out
    return _without_negligible(dense), T, nearest, best, p_miss


def _without_negligible(W: np.ndarray) -> np.ndarray:
    """``W`` with weights below :data:`NEGLIGIBLE` of their row's heaviest set to 0 and the rows renormalised,
    in place."""
    heaviest = W.max(axis=1, keepdims=True)
    small = (W < NEGLIGIBLE * heaviest) & (W > 0)
    if small.any():
        W[small] = 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            W /= np.where(heaviest > 0, W.sum(axis=1, keepdims=True), 1.0)
    return W


def _confidence(dense: np.ndarray | None, top_rows: np.ndarray | None, top_weights: np.ndarray | None,
                nearest: np.ndarray, p_miss: np.ndarray | None) -> np.ndarray:
    """The nearest key's weight when a "none of these" slot at the cutoff takes its share: w * (1 - p_miss)."""
    rows = np.arange(len(nearest))
    if top_weights is not None:
        assert top_rows is not None
        weight = np.where(top_rows == nearest[:, None], top_weights, 0.0).sum(axis=1)
    else:
        assert dense is not None
        weight = dense[rows, nearest].astype(np.float64)
    confidence: np.ndarray = weight if p_miss is None else weight * (1.0 - p_miss)
    return confidence


def _p_miss(cutoff: Any, competing: np.ndarray, T: np.ndarray) -> np.ndarray | None:
    """The weight of a null slot at the cutoff beside the competing scores (softmax's formula in every mode)."""
    if cutoff is None:
        return None
    with np.errstate(invalid="ignore"):
        return attention.null_probability(competing, T, cutoff)


def _put_exact(exact_rows: np.ndarray, rows_to_set: np.ndarray, dense: np.ndarray | None,
               top_rows: np.ndarray | None, top_weights: np.ndarray | None, p_miss: np.ndarray | None) -> None:
    """All the weight of an exact query on the key it names, none for a query that sees no key."""
    exact = exact_rows >= 0
    if p_miss is not None:
        p_miss[exact] = 0.0
    rows = np.flatnonzero(rows_to_set)
    if not len(rows):
        return
    if dense is not None:
        dense[rows] = 0.0
        named = np.flatnonzero(exact)
        dense[named, exact_rows[named]] = 1.0
    if top_weights is not None:
        assert top_rows is not None
        top_rows[exact] = exact_rows[exact, None]
        top_weights[rows] = 0.0
        top_weights[exact, 0] = 1.0


def answer(weights: Weights, memory: Memory) -> Answers:
    """Blended numeric values, or for categories the heaviest one and each one's weight."""
    n_queries = len(weights.nearest_rows)
    if memory.categorical:
        assert memory.codes is not None
        category_weights = np.zeros((n_queries, len(memory.categories)))
        if weights.top_rows is not None:
            assert weights.top_weights is not None
            np.add.at(category_weights, (np.arange(n_queries)[:, None], memory.codes[weights.top_rows]),
                      weights.top_weights)
        else:
            assert weights.dense is not None
            category_weights = attention.category_weights(weights.dense, memory.codes, len(memory.categories))
        values = np.empty(n_queries, dtype=object)
        winners = category_weights.argmax(axis=1)
        values[:] = [memory.categories[c] for c in winners]
        values[category_weights.max(axis=1) <= 0] = None  # no key to read
        return Answers(values, category_weights)
    if memory.opaque:  # no blend of such values: the heaviest key's value, as stored
        values = np.empty(n_queries, dtype=object)
        heaviest = _heaviest_rows(weights)
        values[:] = [memory.row_values[r] if r >= 0 else None for r in heaviest]
        return Answers(values, None)
    assert memory.numeric is not None
    with np.errstate(invalid="ignore", divide="ignore"):  # a row of zero weights (no key to read) blends to NaN
        if weights.top_rows is not None:
            assert weights.top_weights is not None
            values = attention.blend_rows(weights.top_weights, weights.top_rows, memory.numeric)
        else:
            assert weights.dense is not None
            values = attention.blend(weights.dense, memory.numeric)
    exact = np.flatnonzero(weights.exact_rows >= 0)
    values[exact] = memory.numeric[weights.exact_rows[exact]]
    return Answers(values, None)


def _heaviest_rows(weights: Weights) -> np.ndarray:
    """Each query's key with the most weight (the named key for an exact query; -1 when none has any)."""
    if weights.top_rows is not None:
        assert weights.top_weights is not None
        best = weights.top_weights.argmax(axis=1)
        rows = weights.top_rows[np.arange(len(best)), best]
        found = weights.top_weights.max(axis=1) > 0
    else:
        assert weights.dense is not None
        rows, found = weights.dense.argmax(axis=1), weights.dense.max(axis=1) > 0
    rows = np.where(found, rows, -1)
    return np.where(weights.exact_rows >= 0, weights.exact_rows, rows)


def median_temperature(scores: Scores) -> float:
    """The median "auto" temperature of scored queries: the scale on which fixed temperatures are chosen."""
    assert scores.combined is not None
    return float(np.median(attention.auto_temperature(scores.combined)))
