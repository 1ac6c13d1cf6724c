"""Hard against soft retrieval on the same keys: one function, :func:`compare`.

Methods:

- ``1-NN``: the value of the nearest key (hard retrieval);
- ``kNN``: the plain mean of the k nearest values, k chosen by leave-one-key-out error;
- ``soft``: softmax attention with temperature, top_k and hybrid weight calibrated
  leave-one-key-out (:func:`softkv.calibration.calibrate`);
- ``sparsemax``: sparse attention, its temperature chosen the same way.

They are scored on (query, target) pairs, or, without pairs, each key on the
others (leave-one-key-out). Settings are always chosen leave-one-key-out on
the dict; scored leave-one-key-out too, the tuned methods' errors are
slightly optimistic (chosen and scored on the same keys): pass held-out pairs
for an unbiased comparison. Metrics: MAE and RMSE (numeric values) or error
rate (categories); with the intended key of each query, top-1 accuracy, mean
reciprocal rank and the weight put on that key.

>>> from softkv import SoftDict
>>> d = SoftDict.from_embeddings(["a", "b", "c"], [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], [0.0, 10.0, 20.0])
>>> result = compare(d, queries=[[0.9, 0.45]], targets=[10.0])
>>> [row["method"] for row in result.rows], round(result.rows[0]["MAE"], 3)
(['1-NN', 'kNN', 'soft', 'sparsemax'], 0.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import attention
from ._values import CATEGORICAL
from .calibration import _scores, mix, predict, value_metrics

__all__ = ["Comparison", "compare"]

KS = (1, 3, 5, 10, 20)
UNIFORM = 1e9  # a temperature this large weighs the kept keys equally


@dataclass
class Comparison:
    """The rows of the comparison and the soft error against temperature."""

    rows: list[dict[str, Any]]
    metric: str
    curve: list[tuple[float, float]] = field(default_factory=list)

    def table(self) -> str:
        columns = [c for c in self.rows[0] if c not in ("method", "setting")]
        lines = [f"  {'method':<10} {'setting':<44} " + " ".join(f"{c:>8}" for c in columns)]
        for row in self.rows:
            cells = " ".join(f"{row[c]:8.3f}" for c in columns)
            lines.append(f"  {row['method']:<10} {row['setting']:<44} {cells}")
        return "\n".join(lines)

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
            if row["method"] in ("1-NN", "kNN"):
                axes.axhline(row[self.metric], linestyle="--", color="grey" if row["method"] == "1-NN" else "black",
                             label=row["method"])
        axes.set_xscale("log")
        axes.set_xlabel("temperature")
        axes.set_ylabel(self.metric)
        axes.legend()
        figure.tight_layout()
        if path is not None:
            figure.savefig(path, dpi=120)
        return figure


def _retrieval_metrics(S: np.ndarray, W: np.ndarray, right: np.ndarray) -> dict[str, float]:
    rows = np.arange(len(S))
    rank = 1 + (S > S[rows, right][:, None]).sum(axis=1)
    return {"top-1": float(np.mean(S.argmax(axis=1) == right)), "MRR": float(np.mean(1.0 / rank)),
            "mass": float(np.mean(W[rows, right]))}


def _loo_scores(d: Any, hybrid: float) -> np.ndarray:
    S, lexical = _scores(d, None)
    S = mix(S, lexical, hybrid)  # a fresh array either way: masking it in place is safe
    np.fill_diagonal(S, -np.inf)
    return S


def _best(d: Any, S: np.ndarray, targets: Any, metric: str, candidates: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The candidate (temperature, top_k, mode) with the lowest error on (S, targets)."""
    def error(candidate: dict[str, Any]) -> float:
        return value_metrics(d, predict(d, _weights(S, candidate)), targets)[metric]

    return min(candidates, key=error)


def _weights(S: np.ndarray, setting: dict[str, Any]) -> np.ndarray:
    return attention.attention_weights(S, setting["temperature"], setting.get("top_k"), setting.get("mode", "softmax"))


def compare(
    d: Any, queries: Sequence[Any] | None = None, targets: Any = None, keys: Sequence[str] | None = None
) -> Comparison:
    """Score 1-NN, kNN, soft and sparsemax reads of ``d`` on pairs, or leave-one-key-out.

    ``keys`` (the key each query should find) adds retrieval metrics. ``d``
    is not changed: settings are chosen on a copy, leave-one-key-out.
    """
    from .calibration import calibrate

    store = d._store
    if store.spec is None or len(store) < 3:
        raise ValueError("compare needs a SoftDict with at least 3 keys")
    metric = "error rate" if store.spec.kind == CATEGORICAL else "MAE"
    tuned = d.copy()
    report = calibrate(tuned)
    loo_S, loo_targets = _loo_scores(d, 0.0), list(store.row_values)
    k = _best(d, loo_S, loo_targets, metric, [{"temperature": UNIFORM, "top_k": k} for k in KS if k < len(store)])
    median_auto = float(np.median(attention.auto_temperature(loo_S)))
    sparse = _best(d, loo_S, loo_targets, metric, [{"temperature": median_auto * f, "mode": "sparsemax"}
                                                    for f in (0.5, 1, 2, 4, 8, 16)])
    soft = dict(report.chosen)
    methods = [
        ("1-NN", {"temperature": 1.0, "mode": "hard"}, 0.0, "nearest key"),
        ("kNN", k, 0.0, f"mean of {k['top_k']} nearest (k by leave-one-out)"),
        ("soft", {"temperature": soft["temperature"], "top_k": soft["top_k"]}, soft["hybrid"],
         _describe(soft)),
        ("sparsemax", sparse, 0.0, f"temperature {sparse['temperature']:.3g}"),
    ]
    if queries is None:
        evaluation = {0.0: loo_S, soft["hybrid"]: _loo_scores(d, soft["hybrid"])}
        targets = loo_targets
        right = np.arange(len(store)) if keys is not None else None
    else:
        if targets is None or len(targets) != len(queries):
            raise ValueError("compare(d, queries, targets) needs one target per query")
        base, lexical = _scores(d, queries)
        evaluation = {h: mix(base, lexical, h) for h in {0.0, soft["hybrid"]}}
        right = None if keys is None else np.array([store.row_of[key] for key in keys])
    rows = []
    for name, setting, hybrid, description in methods:
        S = evaluation[hybrid]
        W = _weights(S, setting)
        row = {"method": name, "setting": description, **value_metrics(d, predict(d, W), targets)}
        if right is not None and queries is not None:
            row.update(_retrieval_metrics(S, W, right))
        rows.append(row)
    curve = []
    for factor in (0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32):
        W = _weights(evaluation[0.0], {"temperature": median_auto * factor})
        curve.append((median_auto * factor, value_metrics(d, predict(d, W), targets)[metric]))
    return Comparison(rows, metric, curve)


def _describe(setting: dict[str, Any]) -> str:
    temperature = setting["temperature"]
    shown = temperature if isinstance(temperature, str) else f"{temperature:.3g}"
    return f"t {shown}, top_k {setting['top_k']}, hybrid {setting['hybrid']}"
