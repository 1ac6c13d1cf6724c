"""Hard against soft retrieval on the same keys: one function, :func:`compare`.

Rows, each a read of the dict ``d`` through the same pipeline as ``d`` itself:

- ``hard``: ``d.nearest``, the value of the best-scoring key (``mode="hard"``);
- ``soft``: ``d`` as it is configured;
- ``kNN``: the plain mean of the k best keys, k chosen by leave-one-key-out;
- ``calibrated``: the setting :func:`softkv.tools.calibrate` chooses
  leave-one-key-out (temperature, top_k, spelling weight, mode);
- ``sparsemax``: sparse attention, its temperature chosen the same way.

Each row's ``setting`` says how it differs from ``d``. They are scored on
(query, target) pairs, or, without pairs, each key on the others
(leave-one-key-out). With at least :data:`MIN_PAIRS_TO_TUNE` pairs, the tuned
rows are chosen by k-fold cross-validation on the pairs: each fold is read
with the settings chosen on the other folds, so their errors are held out
(the setting shown is the first fold's). With fewer pairs, or none, settings
are chosen leave-one-key-out on the dict; scored leave-one-key-out too, the
tuned rows' errors are then slightly optimistic (chosen and scored on the
same keys). Metrics: MAE and RMSE (numeric values) or error rate
(categories); with the intended key of each query, top-1 accuracy, mean
reciprocal rank and the weight put on that key.

>>> from softkv import SoftDict
>>> d = SoftDict.from_embeddings(["a", "b", "c"], [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], [0.0, 10.0, 20.0])
>>> result = compare(d, queries=[[0.9, 0.45]], targets=[10.0])
>>> [row["method"] for row in result.rows], round(result.rows[0]["MAE"], 3)
(['hard', 'soft', 'kNN', 'calibrated', 'sparsemax'], 0.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._display import Table
from ..params import Params
from ..read import LeaveOut, median_temperature, queries_of, read, score
from ..store import Memory
from ._calibration import calibrate, fold_of, value_error

__all__ = ["Comparison", "compare"]

CURVE_FACTORS = (0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32)
MIN_PAIRS_TO_TUNE = 10
"""Pairs from which the tuned rows are chosen by cross-validation on the pairs (fewer: on the keys)."""
FOLDS = 5


@dataclass
class Comparison:
    """The rows of the comparison and the soft error against temperature."""

    rows: list[dict[str, Any]]
    metric: str
    curve: list[tuple[float, float]] = field(default_factory=list)

    def as_table(self) -> Table:
        """One row per method: its setting and its errors (and retrieval metrics, with intended keys)."""
        columns = [c for c in self.rows[0] if c not in ("method", "setting")]
        rows = tuple((row["method"], row["setting"], *(f"{row[c]:.3f}" for c in columns)) for row in self.rows)
        return Table(("method", "setting", *columns), rows, frozenset(range(2, 2 + len(columns))))

    def table(self) -> str:
        return self.as_table().text()

    __str__ = table

    def to_frame(self) -> Any:
        """The rows as a pandas DataFrame (needs pandas)."""
        try:
            import pandas
        except ImportError as error:
            raise ImportError("to_frame needs pandas: pip install pandas") from error
        return pandas.DataFrame(self.rows).set_index("method")

    def plot(self, path: Any = None) -> Any:
        """Soft error against temperature (log scale), saved to ``path`` when given (needs matplotlib)."""
        try:
            import matplotlib

            matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError("plot needs matplotlib: pip install 'softkv[plot]'") from error
        figure, axes = plt.subplots(figsize=(6, 4))
        temperatures, errors = zip(*self.curve)
        axes.plot(temperatures, errors, marker="o", label="soft (softmax)")
        for row in self.rows:
            if row["method"] in ("hard", "kNN"):
                axes.axhline(row[self.metric], linestyle="--", color="grey" if row["method"] == "hard" else "black",
                             label=row["method"])
        axes.set_xscale("log")
        axes.set_xlabel("temperature")
        axes.set_ylabel(self.metric)
        axes.legend()
        figure.tight_layout()
        if path is not None:
            figure.savefig(path, dpi=120)
        return figure


def _differences(setting: Params, base: Params, skip: tuple[str, ...] = ()) -> str:
    """How ``setting`` differs from ``base``, e.g. "temperature 0.0657, top_k 30" (the temperature of a hard or
    mean read, which has no effect, is left out)."""
    if setting.mode in ("hard", "mean"):
        skip += ("temperature",)
    changed = {name: value for name, value in setting.as_dict().items()
               if value != getattr(base, name) and name not in skip}
    shown = {name: (f"{value:.3g}" if isinstance(value, float) else value) for name, value in changed.items()}
    return ", ".join(f"{name} {value}" for name, value in shown.items()) or "as configured"


def compare(d: Any, queries: Iterable[Any] | None = None, targets: Any = None,
            keys: Sequence[str] | None = None) -> Comparison:
    """Score the hard, soft, kNN, calibrated and sparsemax reads of SoftDict ``d`` on pairs, or leave-one-key-out.

    ``keys`` (the key each query should find) adds retrieval metrics. ``d``
    is not changed.
    """
    queries = None if queries is None else queries_of(queries, "compare")
    memory, params = d.snapshot()
    if memory.spec is None or len(memory) < 3:
        raise ValueError("compare needs a SoftDict with at least 3 keys")
    queries, Q, targets, leave_out = _evaluation(d, memory, queries, targets)
    right = _intended(memory, keys, queries)
    n = len(queries)
    folds = _folds(n) if leave_out is None and n >= MIN_PAIRS_TO_TUNE else [np.arange(n)]
    values: dict[str, list[Any]] = {}
    found: dict[str, list[np.ndarray]] = {}
    described: dict[str, str] = {}
    metric = ""
    for test in folds:
        train = np.setdiff1d(np.arange(n), test) if len(folds) > 1 else None
        report = calibrate(memory, params) if train is None else calibrate(
            memory, params, [queries[i] for i in train], Q[train], [targets[i] for i in train])
        metric = report.metric
        for name, setting, description in _methods(params, report):
            batch = read(memory, setting, [queries[i] for i in test], Q[test],
                         leave_out=leave_out if len(folds) == 1 else None, on_miss="ignore")
            values.setdefault(name, [None] * n)
            for i, value in zip(test, batch.values):
                values[name][i] = value
            if right is not None:
                found.setdefault(name, []).append(_retrieval_rows(batch, right[test]))
            if name not in described:
                tuned = len(folds) > 1 and name in ("kNN", "calibrated", "sparsemax")
                described[name] = description + (f"; chosen per fold on the other pairs ({len(folds)}-fold)"
                                                  if tuned else "")
    rows = []
    for name, predicted in values.items():
        row = {"method": name, "setting": described[name], **value_error(memory, np.array(predicted), targets)}
        if right is not None:
            per_query = np.concatenate(found[name], axis=1)  # (3, n): every query once, in the folds' order
            row.update({metric_name: float(per_query[j].mean()) for j, metric_name in enumerate(("top-1", "MRR",
                                                                                              "mass"))})
        rows.append(row)
    median = median_temperature(score(memory, params, queries, Q, leave_out))
    curve = []
    for factor in CURVE_FACTORS:
        batch = read(memory, params.replace(temperature=median * factor, mode="softmax"), queries,
                     Q, leave_out=leave_out, keep_weights=False, on_miss="ignore")
        curve.append((median * factor, value_error(memory, batch.values, targets)[metric]))
    return Comparison(rows, metric, curve)


def _methods(params: Params, report: Any) -> list[tuple[str, Params, str]]:
    """The rows' settings: the dict's nearest key and its own read, then the best kNN, calibrated and sparsemax
    settings of a calibration report."""
    tuned = [Params.make(**{**params.as_dict(), **chosen}) for chosen, _ in report.candidates]
    errors = [error for _, error in report.candidates]

    def best(mode: str) -> Params:
        return min((p for p in tuned if p.mode == mode), key=lambda p: errors[tuned.index(p)])

    knn, sparse = best("mean"), best("sparsemax")
    calibrated = params.replace(**report.chosen)
    return [
        ("hard", params.replace(mode="hard"), "nearest key (d.nearest)"),
        ("soft", params, "d as configured"),
        ("kNN", knn, f"mean of {knn.top_k} nearest; " + _differences(knn, params, ("mode", "top_k"))),
        ("calibrated", calibrated, _differences(calibrated, params)),
        ("sparsemax", sparse, _differences(sparse, params, ("mode",))),
    ]


def _folds(n: int) -> list[np.ndarray]:
    """The indices of ``n`` pairs in each of ``FOLDS`` shuffled folds (:func:`fold_of`, as calibration splits)."""
    groups = fold_of(n, min(FOLDS, n))
    return [np.flatnonzero(groups == fold) for fold in range(min(FOLDS, n))]


def _retrieval_rows(batch: Any, right: np.ndarray) -> np.ndarray:
    """Per query: top-1 (the nearest key is the intended one), reciprocal rank, and the weight on that key."""
    S, W = batch.score_array, batch.weight_array
    rows = np.arange(len(S))
    rank = 1 + (S > S[rows, right][:, None]).sum(axis=1)
    return np.stack([(batch.nearest_rows == right).astype(np.float64), 1.0 / rank, W[rows, right]])


def _evaluation(d: Any, memory: Memory, queries: Sequence[Any] | None,
                targets: Any) -> tuple[list[Any], np.ndarray, list[Any], LeaveOut | None]:
    """The queries, their embeddings, the targets, and which key each may not see."""
    if queries is None:
        return list(memory.keys), memory.embeddings, list(memory.row_values), LeaveOut.one_key_each(
            np.arange(len(memory)), len(memory))
    if targets is None or len(targets) != len(queries):
        raise ValueError("compare(d, queries, targets) needs one target per query")
    queries = list(queries)
    return queries, d.embed(queries), list(targets), None  # read as d reads them: a key gets its own value


def _intended(memory: Memory, keys: Sequence[str] | None, queries: Sequence[Any]) -> np.ndarray | None:
    """The row of the key each query should find, checked."""
    if keys is None:
        return None
    if memory.keys == queries:
        raise ValueError("keys= names the key each of the queries= should find; pass them with the queries")
    if len(keys) != len(queries):
        raise ValueError(f"keys names one intended key per query: {len(keys)} keys for {len(queries)} queries")
    unknown = [key for key in keys if memory.row_named(key) < 0]
    if unknown:
        raise KeyError(f"keys= names {unknown[0]!r}, which is not a key of this SoftDict "
                       f"({len(unknown)} unknown in all)")
    return np.array([memory.row_named(key) for key in keys])
