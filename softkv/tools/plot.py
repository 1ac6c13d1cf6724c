"""Plots of lookups and comparisons (matplotlib, the ``[plot]`` extra).

- :func:`weights`: a bar chart of one lookup's heaviest keys;
- :func:`heatmap`: the attention weights of a batch, queries by keys;
- :func:`explanation`: an :class:`softkv.explain.Explanation`, each key's
  score (meaning and spelling) beside its weight.

The soft error against temperature is ``Comparison.plot`` (:mod:`softkv.evaluate`).

Each returns the matplotlib Figure and saves it when ``path`` is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._display import short

__all__ = ["explanation", "heatmap", "weights"]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("softkv.plot needs matplotlib: pip install 'softkv[plot]'") from error
    return plt


def _finish(figure: Any, path: Any) -> Any:
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def weights(result: Any, n: int = 10, path: Any = None) -> Any:
    """Horizontal bars of the n heaviest keys of a LookupResult, heaviest on top."""
    plt = _pyplot()
    top = result.top(n)[::-1]
    figure, axes = plt.subplots(figsize=(6, 0.4 * len(top) + 1.2))
    axes.barh([key for key, _, _ in top], [weight for _, weight, _ in top], color="#4c78a8")
    axes.set_xlabel("attention weight")
    axes.set_xlim(0, 1)
    query = result.query if isinstance(result.query, str) else "vector query"
    axes.set_title(f"{query!r} -> {np.round(result.value, 3) if not isinstance(result.value, str) else result.value}")
    return _finish(figure, path)


def heatmap(batch: Any, n_keys: int = 20, path: Any = None) -> Any:
    """Queries by keys: the weights of a BatchResult, for the n_keys keys with the most total weight."""
    plt = _pyplot()
    if batch.weight_array is None:
        raise ValueError("this batch was read with weights=False; read it with weights=True to plot it")
    columns = np.argsort(-batch.weight_array.sum(axis=0), kind="stable")[:n_keys]
    figure, axes = plt.subplots(figsize=(0.45 * len(columns) + 2.5, 0.4 * len(batch) + 1.8))
    image = axes.imshow(batch.weight_array[:, columns], cmap="Blues", vmin=0, vmax=1, aspect="auto")
    axes.set_xticks(range(len(columns)), [batch.keys[c] for c in columns], rotation=60, ha="right")
    axes.set_yticks(range(len(batch)), [q if isinstance(q, str) else f"query {i}" for i, q in enumerate(batch.queries)])
    figure.colorbar(image, ax=axes, label="weight")
    return _finish(figure, path)


def explanation(explained: Any, path: Any = None) -> Any:
    """Two panels for the keys of ``d.explain(q)``: each score split into meaning and what spelling added, and
    each weight (the cutoff drawn on the scores when there is one)."""
    plt = _pyplot()
    parts = explained.parts[::-1]
    names = [part.key for part in parts]
    figure, (left, right) = plt.subplots(1, 2, sharey=True, figsize=(9, 0.4 * len(parts) + 1.6))
    meaning = np.array([part.meaning for part in parts])
    spelling = np.array([part.spelling for part in parts])
    left.barh(names, meaning, color="#4c78a8", label="meaning")
    left.barh(names, spelling, left=meaning, color="#f58518", label="spelling")
    if explained.cutoff is not None:
        left.axvline(explained.cutoff, color="#555555", linestyle="--", label="threshold")
    left.set_xlabel("score")
    left.legend(loc="lower right", fontsize="small")
    right.barh(names, [part.weight for part in parts], color="#54a24b")
    right.set_xlim(0, 1)
    right.set_xlabel("weight")
    query = explained.query if isinstance(explained.query, str) else "vector query"
    figure.suptitle(f"{query!r} -> {short(explained.answer, 40)}")
    return _finish(figure, path)
