"""Plots of lookups and comparisons (matplotlib, the ``[plot]`` extra).

- :func:`weights`: a bar chart of one lookup's heaviest keys;
- :func:`heatmap`: the attention weights of a batch, queries by keys.

The soft error against temperature is ``Comparison.plot`` (:mod:`softkv.evaluate`).

Each returns the matplotlib Figure and saves it when ``path`` is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["heatmap", "weights"]


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
