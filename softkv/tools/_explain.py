"""Why a read answers what it does: each key's part in one query's answer.

:func:`explain` reads one query exactly as ``d.lookup`` does (:func:`softkv.read.score`,
then :func:`softkv.read.weigh` and :func:`~softkv.read.answer`) and
then, from the same scores, with no further encoding:

- splits each key's score into meaning (the encoder's similarity of the
  query to the key's best name) and what spelling added to it;
- gives each key's contribution to the answer, weight x value (numbers);
- reads the answer without each of the ``k`` heaviest keys: one read of k
  copies of the query, each with one key hidden as a leave-one-key-out read
  hides it (the default weighs meaning and spelling by the keys a query
  sees, so the scores are read again), O(k N);
- the margin between the two best scores, the answer at half and at double
  the temperature, and the temperature at which the nearest key takes half
  the weight (bisection on the scale of the scores: at most
  :data:`BISECTION_STEPS` weighs of one row).

The whole costs one read, one read of k copies, and O(60 N) arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._display import Table, short
from ..params import Params, whole_number
from ..read import Answers, LeaveOut, Scores, Weights, answer, by_weight, score, weigh
from ..store import Memory

__all__ = ["BISECTION_STEPS", "Explanation", "KeyPart", "explain"]

BISECTION_STEPS = 60
"""Weighs of one row spent finding the half-weight temperature (a relative precision of about 1e-7)."""


@dataclass(frozen=True)
class KeyPart:
    """One key's part in an answer."""

    key: str
    value: Any  # as stored
    score: float  # what the weights were computed from
    meaning: float  # the encoder's similarity (of the key's best-matching name)
    spelling: float  # what spelling added to the score (0 when it does not count)
    weight: float
    contribution: Any  # weight x value for numbers; the weight given to the key's category; None for opaque values
    without: Any = None  # the answer with this key hidden (for the heaviest keys; None for the others)
    missed_without: bool = False  # hiding this key makes the query a miss


@dataclass(frozen=True)
class Explanation:
    """Why ``query`` reads ``answer``: per key, and as the temperature moves. Print it, or show it in a notebook."""

    query: Any
    answer: Any
    nearest: str  # the best-scoring key (the key named, for an exact query)
    parts: list[KeyPart]  # the keys by weight, heaviest first (then by score)
    n_keys: int
    exact: bool  # the query names a key (or an alias): all the weight is on it
    missed: bool  # the best score is below the threshold (d[q] would raise KeyError)
    cutoff: float | None  # the threshold the query was read with
    p_miss: float | None
    confidence: float  # the nearest key's weight beside a null slot at the cutoff (1 for an exact key)
    temperature: float  # as read ("auto" resolved)
    margin: float | None  # best score minus second best (None with one key)
    colder: Any  # the answer at half the temperature
    warmer: Any  # the answer at double the temperature
    half_weight_temperature: float | None  # where the nearest key takes half the weight (None: at no temperature)
    mode: str
    tail_mass: float | None = None  # read over a backend's candidates: the weight the keys not read would take

    def as_table(self) -> Table:
        """The keys as a table, under the headline and the read's context (margin, threshold, temperatures)."""
        rows = []
        for part in self.parts:
            without = "" if part.without is None and not part.missed_without else (
                "miss" if part.missed_without else short(part.without, 24))
            rows.append((short(part.key, 30), f"{part.weight:.3f}", f"{part.score:.3f}", f"{part.meaning:.3f}",
                         f"{part.spelling:+.3f}", short(part.value, 24),
                         "" if part.contribution is None else short(part.contribution, 24), without))
        notes: tuple[str, ...] = ()
        if self.n_keys > len(self.parts):
            rest = 1.0 - sum(part.weight for part in self.parts) if not self.exact else 0.0
            notes = (f"... {self.n_keys - len(self.parts)} more keys, total weight {max(rest, 0.0):.3f}",)
        header = ("key", "weight", "score", "meaning", "spelling", "value", "contribution", "answer without it")
        return Table(header, tuple(rows), frozenset({1, 2, 3, 4}), self._headline(), notes, 1, tuple(self._context()))

    def __str__(self) -> str:
        return self.as_table().text()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.as_table().html("softkv-explain")

    def _headline(self) -> str:
        query = repr(self.query) if isinstance(self.query, str) else f"<vector of {np.shape(self.query)[-1]}>"
        what = "exact key" if self.exact else ("no match" if self.missed else f"temperature {self.temperature:.3g}")
        return f"{query} -> {short(self.answer, 60)}  ({what}, {self.n_keys} keys)"

    def _context(self) -> list[str]:
        lines = []
        if self.tail_mass is not None:
            lines.append(f"read over a backend's candidates: the keys not read would take {self.tail_mass:.3g} "
                         "of the weight")
        if self.margin is not None:
            lines.append(f"margin between the two best scores: {self.margin:.3f}")
        if self.cutoff is not None:
            miss = "" if self.p_miss is None else f", p_miss {self.p_miss:.3f}"
            lines.append(f"threshold {self.cutoff:.3f}{miss}, confidence {self.confidence:.3f}")
        if not self.exact and self.mode in ("softmax", "sparsemax"):
            lines.append(f"at half the temperature: {short(self.colder, 40)}; at double: {short(self.warmer, 40)}")
            half = self.half_weight_temperature
            lines.append("the nearest key takes half the weight " + (
                f"below temperature {half:.3g}" if half is not None else "at no temperature"))
        return lines


def explain(memory: Memory, params: Params, query: Any, Q: np.ndarray, k: int = 5, rows: int = 10) -> Explanation:
    """Why ``query`` (embedded as Q, (1, d)) reads what it does from ``memory`` with ``params``.

    ``rows`` keys are listed (by weight, then score); the ``k`` heaviest get
    the answer without them. Every key is scored (an index is not used).
    """
    if len(memory) == 0:
        raise KeyError("the SoftDict is empty: there is nothing to explain")
    for name, count in (("k", k), ("rows", rows)):
        if not whole_number(count, 0):
            raise ValueError(f"{name} must be an integer >= 0, got {count!r}")
    scores = score(memory, params, [query], Q)
    weights = weigh(scores, params, keep_dense=True)
    assert scores.combined is not None and weights.dense is not None
    S, W = scores.combined[0].copy(), weights.dense[0]
    meaning = score(memory, params.replace(threshold=None), [Q[0]], Q).combined  # the vector: no spelling, no names
    assert meaning is not None
    exact = bool(weights.exact_rows[0] >= 0)
    order = by_weight(W, S)[:rows]
    heaviest = order[:min(k, len(order))] if len(memory) > 1 else order[:0]
    without, missed_without = _answers_without(memory, params, query, Q, heaviest)
    T = float(weights.temperatures[0])
    parts = [
        KeyPart(memory.keys[r], memory.row_values[r], float(S[r]), float(meaning[0, r]), float(S[r] - meaning[0, r]),
                float(W[r]), _contribution(memory, r, float(W[r])),
                without.get(int(r)), bool(missed_without.get(int(r), False)))
        for r in order
    ]
    best_two = np.sort(S[np.isfinite(S)])[::-1][:2]
    cutoff = weights.cutoff[0] if isinstance(weights.cutoff, np.ndarray) else weights.cutoff
    return Explanation(
        query=query,
        answer=_value(memory, answer(weights, memory), weights, 0),
        nearest=memory.keys[int(weights.nearest_rows[0])],
        parts=parts,
        n_keys=len(memory),
        exact=exact,
        missed=bool(weights.missed[0]),
        cutoff=None if cutoff is None else float(cutoff),
        p_miss=None if weights.p_miss is None else float(weights.p_miss[0]),
        confidence=float(weights.confidence[0]) if weights.confidence is not None else float("nan"),
        temperature=T,
        margin=float(best_two[0] - best_two[1]) if len(best_two) == 2 else None,
        colder=_answer_at(memory, params, scores, T / 2),
        warmer=_answer_at(memory, params, scores, T * 2),
        half_weight_temperature=None if exact else _half_weight_temperature(params, S, T),
        mode=params.mode,
        tail_mass=None if weights.tail_mass is None else float(weights.tail_mass[0]),
    )


def _value(memory: Memory, answers: Answers, weights: Weights, i: int) -> Any:
    """The i-th answer as a lookup gives it: a named key's value as stored, a float for a scalar blend."""
    if weights.exact_rows[i] >= 0:
        return memory.row_values[weights.exact_rows[i]]
    value = answers.values[i]
    if memory.numeric is not None and memory.numeric.ndim == 1:
        return float(value)
    return value


def _contribution(memory: Memory, row: int, weight: float) -> Any:
    if memory.numeric is not None:
        part = weight * memory.numeric[row]
        return float(part) if np.ndim(part) == 0 else part
    if memory.categorical:
        return weight  # to the key's category
    return None


def _scores_like(scores: Scores, combined: np.ndarray, exact_rows: np.ndarray) -> Scores:
    n = len(combined)
    cutoff = None if scores.cutoff is None else np.repeat(scores.cutoff[:1], n)
    return Scores(combined, exact_rows, cutoff, scores.n_keys)


def _answers_without(memory: Memory, params: Params, query: Any, Q: np.ndarray,
                     rows: np.ndarray) -> tuple[dict[int, Any], dict[int, bool]]:
    """The answer with each of ``rows`` hidden, as a read of a dict without that key: one read of len(rows)
    copies of the query, each with one key left out (the default score weighs meaning and spelling by the
    keys a query sees, so the other keys' scores are read again, not masked)."""
    if len(rows) == 0:
        return {}, {}
    copies = len(rows)
    leave_out = LeaveOut.one_key_each(np.asarray(rows, dtype=np.int64), len(memory))
    scores = score(memory, params, [query] * copies, np.repeat(Q[:1], copies, axis=0), leave_out)
    weights = weigh(scores, params)
    answers = answer(weights, memory)
    return ({int(r): _value(memory, answers, weights, i) for i, r in enumerate(rows)},
            {int(r): bool(weights.missed[i]) for i, r in enumerate(rows)})


def _answer_at(memory: Memory, params: Params, scores: Scores, temperature: float) -> Any:
    """The answer to the scored query at a fixed temperature."""
    assert scores.combined is not None
    at = params.replace(temperature=temperature) if temperature > 0 and np.isfinite(temperature) else params
    weights = weigh(_scores_like(scores, scores.combined[:1].copy(), scores.exact_rows[:1].copy()), at)
    return _value(memory, answer(weights, memory), weights, 0)


def _nearest_weight(params: Params, S: np.ndarray, temperature: float, nearest: int) -> float:
    """The nearest key's weight at ``temperature``: the scores scaled by 1/temperature, weighed at temperature 1
    (the same weights in every mode, and "auto" does not re-resolve)."""
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = (S / temperature)[None, :].astype(np.float32)
    weights = weigh(Scores(scaled, np.array([-1]), None, len(S)), params.replace(temperature=1.0, threshold=None))
    assert weights.dense is not None
    return float(weights.dense[0, nearest])


def _half_weight_temperature(params: Params, S: np.ndarray, T: float) -> float | None:
    """The temperature below which the nearest key takes more than half the weight, by bisection in log T."""
    finite = np.isfinite(S)
    if params.mode not in ("softmax", "sparsemax") or finite.sum() < 2 or not np.isfinite(T) or T <= 0:
        return None
    S = S - S[finite].max()  # scores relative to the best: the same weights, no overflow
    nearest = int(np.argmax(S))
    low, high = np.log(T) - 40.0, np.log(T) + 40.0
    if _nearest_weight(params, S, float(np.exp(low)), nearest) <= 0.5:
        return None  # a tie at the top: never more than half
    if _nearest_weight(params, S, float(np.exp(high)), nearest) > 0.5:
        return None  # two keys (or very few near the top): more than half at every temperature
    for _ in range(BISECTION_STEPS - 2):
        middle = (low + high) / 2
        if _nearest_weight(params, S, float(np.exp(middle)), nearest) > 0.5:
            low = middle
        else:
            high = middle
    return float(np.exp((low + high) / 2))
