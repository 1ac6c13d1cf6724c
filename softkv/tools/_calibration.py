"""Choosing how a SoftDict reads from data: temperature, top_k, spelling weight and mode; or a threshold.

:func:`calibrate` scores candidate settings by the error of the dict's own
read (:mod:`softkv.read`'s steps, nothing else) on (query, target) pairs, or,
without pairs, on the dict itself: each key's value is predicted from the
other keys (leave-one-key-out, i.e. Nadaraya-Watson bandwidth selection) or
from the other folds (k-fold). Pairs are read as the dict reads them (a query
that is a key gets its value exactly); to tune on the keys, give no pairs.

The candidates always include the dict's current settings, the nearest key
(1-NN: ``mode="hard"``) and the plain mean of the k nearest (kNN:
``mode="mean"``), so a calibrated dict is never worse than these on the data
it was calibrated on; the spelling measure stays the dict's own. Scores are
computed once per spelling weight and chunk of queries; each candidate is one
weighing and one answer over them.

:func:`calibrate_threshold` sets the threshold for a target precision, and
chooses the scoring with it (spelling weight and measure).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._display import Table
from ..params import Params
from ..read import (
    DEFAULT_CHUNK_BYTES,
    LeaveOut,
    Readable,
    answer,
    median_temperature,
    queries_of,
    read,
    score,
    text_queries,
    weigh,
)
from ..spelling import MEASURES
from ..store import Memory, Update

__all__ = ["CalibrationReport", "calibrate", "calibrate_dict", "calibrate_threshold", "candidates", "value_error"]

TEMPERATURE_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
TOP_KS = (None, 3, 10, 30)
KNN_KS = (1, 2, 3, 5, 10, 20)
SPELLING_WEIGHTS: tuple[float | str, ...] = ("auto", 0.0, 0.25, 0.5, 0.75)


@dataclass
class CalibrationReport:
    """What calibration chose, how it measured, and the error of every candidate (lower is better).

    ``error`` is the chosen setting's error, ``current_error`` that of the
    settings the dict had before; ``method`` says what the errors were measured
    on ("pairs", "leave-one-key-out" or "k-fold (k folds)"). For a threshold,
    ``metric`` is "precision" (``error`` holds it), ``answered`` the share of
    queries answered, ``recall`` the share of those with an intended key
    answered right, and ``chosen`` the scoring and the threshold.
    """

    chosen: dict[str, Any]
    metric: str
    method: str
    n_queries: int
    candidates: list[tuple[dict[str, Any], float]] = field(default_factory=list)
    error: float = float("nan")
    current_error: float = float("nan")
    answered: float = float("nan")
    recall: float = float("nan")  # a threshold's: the share of queries with an intended key answered right

    @property
    def best_error(self) -> float:
        """The chosen setting's error (the lowest of all candidates)."""
        return self.error

    def as_table(self, n: int = 10) -> Table:
        """The n best candidates (the highest recall for a threshold, else the lowest error), under the choice."""
        names = list(self.candidates[0][0]) if self.candidates else []
        measure = "recall" if self.metric == "precision" else self.metric
        ranked = sorted(self.candidates, key=lambda item: -item[1] if self.metric == "precision" else item[1])
        rows = tuple((*(_cell(params[name]) for name in names), f"{value:.4g}") for params, value in ranked[:n])
        notes = (f"... {len(self.candidates) - n} more candidates",) if len(self.candidates) > n else ()
        if self.metric == "precision":
            lead = (f"precision {self.error:.4g}, recall {self.recall:.4g}, answered {self.answered:.4g}",)
        else:
            lead = (f"{self.metric} {self.error:.4g} (before: {self.current_error:.4g})",)
        return Table((*names, measure), rows, frozenset(range(len(names) + 1)), f"calibrated on {self.n_queries} "
                     f"queries, {self.method} ({self.metric}); chosen: {self.chosen}", notes, lead=lead)

    def __str__(self) -> str:
        return self.as_table().text()

    __repr__ = __str__


def _cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def calibrate_dict(d: Readable, queries: Iterable[Any] | None = None, targets: Any = None, *,
                   folds: int | None = None, keys: Sequence[str | None] | None = None,
                   target_precision: float | None = None) -> CalibrationReport:
    """Choose how SoftDict ``d`` reads from data, apply it, and return the report (``SoftDict.calibrate``).

    On (query, target) pairs, or on the keys themselves (leave-one-key-out,
    or ``folds``-fold): see :func:`calibrate`. With ``keys`` (the key each
    query should find, None for a miss) and ``target_precision``, the
    threshold instead: see :func:`calibrate_threshold`.

    >>> from softkv import SoftDict
    >>> d = SoftDict({"small car": 35.0, "compact car": 31.0, "large truck": 14.0, "pickup truck": 17.0})
    >>> report = d.calibrate()
    >>> sorted(report.chosen), report.error <= report.current_error, d.mode == report.chosen["mode"]
    (['mode', 'spelling_weight', 'temperature', 'top_k'], True, True)
    """
    queries = None if queries is None else queries_of(queries, "calibrate")
    memory, params = d.snapshot()
    Q = None if queries is None else d.embed(queries)
    if keys is not None or target_precision is not None:
        report = calibrate_threshold(memory, params, queries, Q, keys, target_precision)
    else:
        report = calibrate(memory, params, queries, Q, targets, folds=folds)
    d.apply_update(Update(params=report.chosen))
    return report


def value_error(memory: Memory, predicted: np.ndarray, targets: Sequence[Any]) -> dict[str, float]:
    """Error rate for categories; MAE and RMSE for numbers (over every component of vector values)."""
    if memory.numeric is None:  # categories or opaque values: right or wrong
        return {"error rate": float(np.mean([not _same(p, t) for p, t in zip(predicted, targets)]))}
    difference = np.asarray(predicted, dtype=np.float64) - np.asarray(targets, dtype=np.float64)
    difference = difference.reshape(len(predicted), -1)
    return {"MAE": float(np.abs(difference).mean()), "RMSE": float(np.sqrt((difference**2).mean()))}


def _same(a: Any, b: Any) -> bool:
    """Equality that also holds for arrays and containers of them (a numpy comparison is not a bool)."""
    try:
        return bool(np.array_equal(a, b)) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else bool(a == b)
    except (TypeError, ValueError):
        return a is b


def candidates(params: Params, medians: dict[Any, float], n_keys: int) -> list[Params]:
    """The settings calibration compares: the dict's own first, then 1-NN, kNN, softmax and sparsemax reads.

    ``medians`` maps each spelling weight to compare to the median "auto"
    temperature of its scores; fixed temperatures are multiples of it.
    """
    found = [params]
    for weight, median in medians.items():
        temperatures: list[Any] = ["auto", *(median * f for f in TEMPERATURE_FACTORS)]
        base = params.replace(spelling_weight=weight)
        found.append(base.replace(mode="hard", top_k=None, temperature="auto"))
        found += [base.replace(mode="mean", top_k=k, temperature="auto") for k in KNN_KS if k < n_keys]
        found += [base.replace(mode="softmax", temperature=t, top_k=k) for t in temperatures for k in TOP_KS
                  if k is None or k < n_keys]
        found += [base.replace(mode="sparsemax", temperature=t, top_k=None) for t in temperatures[1:]]
    return list(dict.fromkeys(found))  # the dict's own setting may be in the grid too


def calibrate(memory: Memory, params: Params, queries: Sequence[Any] | None = None, Q: np.ndarray | None = None,
              targets: Any = None, *, folds: int | None = None, seed: int = 0) -> CalibrationReport:
    """Choose the read of ``memory`` with the lowest error; the caller applies ``report.chosen``.

    With ``queries`` (embedded as ``Q``) and ``targets``, errors are measured
    on the pairs; without, on the keys themselves, each left out of its own
    prediction (``folds=None``) or each fold predicted from the others.
    """
    if len(memory) < 2:
        raise ValueError("calibration needs at least 2 keys")
    queries, Q, targets, leave_out, method = _evaluation_set(memory, queries, Q, targets, folds, seed)
    metric = "MAE" if memory.numeric is not None else "error rate"
    text = text_queries(queries) is not None and params.scoring == "cosine"
    sample = slice(0, min(len(queries), 256))
    medians = {weight: median_temperature(score(memory, params.replace(spelling_weight=weight), queries[sample],
                                                Q[sample], None if leave_out is None else leave_out[sample]))
               for weight in (SPELLING_WEIGHTS if text else ("auto",))}
    grid = candidates(params, medians, len(memory))
    errors = np.zeros(len(grid))
    for chunk in _chunks(len(queries), len(memory)):
        chunk_leave_out = None if leave_out is None else leave_out[chunk]
        for weight in dict.fromkeys(p.spelling for p in grid):
            scored = score(memory, grid[0].replace(spelling_weight=weight), queries[chunk], Q[chunk],
                           chunk_leave_out)
            for i, setting in enumerate(grid):
                if setting.spelling == weight:
                    values = answer(weigh(scored, setting), memory).values
                    errors[i] += value_error(memory, values, targets[chunk])[metric] * len(values)
    errors /= len(queries)
    best = int(np.argmin(errors))  # the first of equals: the dict's own setting wins a tie
    chosen = {name: getattr(grid[best], name) for name in ("temperature", "top_k", "spelling_weight", "mode")}
    report = CalibrationReport(chosen, metric, method, len(queries), error=float(errors[best]),
                               current_error=float(errors[0]))
    report.candidates = [({name: getattr(p, name) for name in chosen}, float(e)) for p, e in zip(grid, errors)]
    answered = read(memory, params.replace(**chosen), queries, Q, leave_out=leave_out, keep_weights=False,
                    on_miss="ignore")
    report.answered = float(1.0 - answered.missed.mean())
    return report


def fold_of(n: int, folds: int, seed: int = 0) -> np.ndarray:
    """The fold (0 to ``folds`` - 1) of each of ``n`` items, shuffled, the folds' sizes within one of each other."""
    return np.random.default_rng(seed).permutation(n) % folds


def _evaluation_set(memory: Memory, queries: Sequence[Any] | None, Q: np.ndarray | None, targets: Any,
                    folds: int | None, seed: int) -> tuple[list[Any], np.ndarray, list[Any], LeaveOut | None, str]:
    """The queries, their embeddings, the targets, what each may not see, and the method's name."""
    if queries is None:
        keys = list(memory.keys)
        values = list(memory.row_values)
        if folds is None:
            return keys, memory.embeddings, values, LeaveOut.one_key_each(np.arange(len(keys)), len(keys)), \
                "leave-one-key-out"
        if not isinstance(folds, int) or not 2 <= folds <= len(keys):
            raise ValueError(f"folds must be an integer from 2 to the number of keys ({len(keys)}), got {folds!r}")
        groups = fold_of(len(keys), folds, seed)
        return keys, memory.embeddings, values, LeaveOut(groups, groups), f"{folds}-fold"
    if targets is None or len(queries) != len(targets) or len(queries) == 0:
        raise ValueError("calibrate(queries, targets) needs as many targets as queries (at least one)")
    if folds is not None:
        raise ValueError("folds split the dict's own keys: leave out queries and targets to use them")
    assert Q is not None
    return list(queries), Q, list(targets), None, "pairs"  # read as the dict reads them: a key exactly


def _chunks(n_queries: int, n_keys: int) -> Iterator[slice]:
    step = max(1, DEFAULT_CHUNK_BYTES // (8 * 4 * n_keys))  # scores, and a few candidates' weights at a time
    for start in range(0, n_queries, step):
        yield slice(start, start + step)


def calibrate_threshold(memory: Memory, params: Params, queries: Sequence[Any] | None, Q: np.ndarray | None,
                        keys: Sequence[str | None] | None, target_precision: float | None) -> CalibrationReport:
    """The scoring and the threshold that answer the most queries right at ``target_precision``.

    ``keys[i]`` is the key (or alias) query i should find, or None when it
    should miss; an answer is right when the nearest key is the intended one,
    and precision is the share of answered queries answered right (a query
    naming a key is always answered). Each scoring is tried, the dict's own
    first: for text queries the default (``spelling_weight="auto"``) and
    spelling alone (1), each with every spelling measure (the mean of edits
    and n-grams, or either alone: ``spelling_measure``), and with cosine
    scoring also meaning alone (0) and the fixed mixes 0.25, 0.5 and 0.75;
    for each, the lowest threshold that keeps the precision, halfway between
    two queries' best scores. So on the data it is calibrated on, the choice
    is never worse than either channel alone. The caller applies
    ``report.chosen`` (spelling_weight, spelling_measure and threshold);
    ``report.candidates`` holds each scoring's recall.

    Person records whose copies swap given name and surname are one case the
    measure decides: calibrated on half of FEBRL's records at precision
    0.95, it chooses edits alone (which count a reordering as one edit), and
    the other half is read with recall 0.738, where rapidfuzz's WRatio gets
    0.688 (benchmarks/quality.py, MiniLM).
    """
    if queries is None or keys is None or target_precision is None or Q is None:
        raise ValueError("threshold calibration needs queries, keys and target_precision")
    if not 0 < target_precision <= 1:
        raise ValueError(f"target_precision must be in (0, 1], got {target_precision}")
    if len(queries) != len(keys) or not len(queries):
        raise ValueError("threshold calibration needs one intended key (or None) per query")
    intended = np.array([-1 if key is None else memory.row_named(key) for key in keys])
    unknown = [key for key, row in zip(keys, intended) if key is not None and row < 0]
    if unknown:
        raise KeyError(f"keys= names {unknown[0]!r}, which is not a key of this SoftDict ({len(unknown)} unknown)")
    found = []
    for weight, measure in _scorings(params, queries):
        batch = read(memory, params.replace(spelling_weight=weight, spelling_measure=measure, threshold=None),
                     list(queries), Q, keep_weights=False)
        found.append(({"spelling_weight": weight, "spelling_measure": measure},
                      *_cutoff_for(batch.best_scores, batch.exact, batch.nearest_rows, intended, target_precision)))
    feasible = [f for f in found if f[1] is not None]
    if not feasible:
        raise ValueError(f"no threshold reaches precision {target_precision} on these queries, with any scoring")
    scoring, threshold, precision, answered, recall = max(feasible, key=lambda f: f[4])  # the first of equals
    candidates = [({**s, "threshold": t}, r) for s, t, _, _, r in found]
    return CalibrationReport({**scoring, "threshold": threshold}, "precision", "pairs", len(queries), candidates,
                             error=precision, answered=answered, recall=recall)


def _scorings(params: Params, queries: Sequence[Any]) -> list[tuple[float | str, str]]:
    """The (spelling weight, spelling measure) pairs threshold calibration compares, the dict's own first.

    For text queries: the default and spelling alone with each measure; with cosine scoring also meaning alone
    (which has no measure) and the fixed mixes with each measure.
    """
    found = [(params.spelling_weight, params.spelling_measure)]
    if text_queries(queries) is not None:
        weights: list[float | str] = ["auto", 0.0, 1.0, 0.25, 0.5, 0.75] if params.scoring == "cosine" else ["auto"]
        for weight in weights:
            measures = (params.spelling_measure,) if weight == 0.0 else MEASURES
            found += [(weight, measure) for measure in measures]
    return list(dict.fromkeys(found))


def _cutoff_for(best: np.ndarray, exact: np.ndarray, nearest: np.ndarray, intended: np.ndarray,
                target: float) -> tuple[float | None, float, float, float]:
    """(threshold or None, precision, share answered, recall) of the lowest threshold at ``target``."""
    right = (nearest == intended) & (intended >= 0)
    order = np.flatnonzero(~exact)[np.argsort(-best[~exact], kind="stable")]
    n_exact, right_exact = int(exact.sum()), int(right[exact].sum())
    counts = np.arange(0, len(order) + 1)
    rights = right_exact + np.concatenate([[0], np.cumsum(right[order])])
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_exact + counts > 0, rights / (n_exact + counts), 1.0)
    scores = best[order]
    # A cutoff answers every query that scores as much as it: k answered is reachable only where the k-th best
    # score is above the next one (queries tied across the cut would answer together).
    cuts = np.ones(len(order) + 1, dtype=bool)
    cuts[1:-1] = scores[:-1] > scores[1:]
    reached = np.flatnonzero((precision >= target) & cuts)
    if not len(reached):
        return None, float("nan"), float("nan"), float("nan")
    k = int(reached.max())  # the k best-scoring queries answered, the others missing
    if k == 0:
        threshold = float(scores[0]) + 1e-6 if len(scores) else 0.0
    elif k == len(scores):
        threshold = float(scores[-1]) - 1e-6
    else:
        threshold = float((scores[k - 1] + scores[k]) / 2)
    n_right = max(int((intended >= 0).sum()), 1)
    return threshold, float(precision[k]), float((n_exact + k) / len(best)), float(rights[k] / n_right)
