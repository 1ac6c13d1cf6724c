"""The tools a SoftDict offers beside reading and writing: calibrate, fit, torch, save and load, explain.

Each works on a snapshot of the dict taken under its read lock and hands its
result back through ``apply_update`` under the write lock (or builds a new
SoftDict); the work itself lives in the module named in each docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import calibration, explain, persistence, training
from .encoders import as_encoder


class Tools:
    """Mixed into :class:`softkv.SoftDict`: needs ``snapshot``, ``apply_update``, ``embed`` and ``_build``."""

    def calibrate(self, queries: Sequence[Any] | None = None, targets: Any = None, **options: Any) -> Any:
        """Choose how to read from data and apply it; returns the report (:func:`softkv.calibration.calibrate_dict`)."""
        return calibration.calibrate_dict(self, queries, targets, **options)  # type: ignore[arg-type]

    def fit(self, queries: Sequence[Any], targets: Any, **options: Any) -> Any:
        """Train values, temperature, spelling weight or a query projection (:func:`softkv.training.fit`)."""
        return training.fit_dict(self, queries, targets, **options)  # type: ignore[arg-type]

    def to_module(self, *, learn: Sequence[str] = (), hops: int = 1) -> Any:
        """This SoftDict as a torch module that reads as it does (:func:`softkv.training.to_module`)."""
        return training.to_module(*self.snapshot(), learn=learn, hops=hops)  # type: ignore[attr-defined]

    def update_from_module(self, module: Any) -> None:
        """Take back the key embeddings, values and read parameters of a module made by :meth:`to_module`."""
        self.apply_update(training.module_update(module, self.snapshot()[0]))  # type: ignore[attr-defined]

    @classmethod
    def from_module(cls, module: Any, keys: Sequence[str] | None = None, *, encoder: Any = None) -> Any:
        """A new SoftDict holding a module's keys, values and read parameters."""
        contents, params = training.module_contents(module, keys)
        return cls._build(contents, encoder and as_encoder(encoder), params)  # type: ignore[attr-defined]

    def explain(self, query: Any, *, k: int = 5, rows: int = 10) -> explain.Explanation:
        """Why ``query`` reads what it does, key by key: the score split into meaning and spelling, weight,
        contribution, the answer without each of the ``k`` heaviest keys, the margin and the temperature.

        One read of every key (an index is not used) plus O(k N); an
        :class:`~softkv.explain.Explanation` that prints as a table
        (:func:`softkv.explain.explain`). Nothing is counted as a use.
        """
        Q = self.embed([query])  # type: ignore[attr-defined]
        memory, params = self.snapshot()  # type: ignore[attr-defined]
        return explain.explain(memory, params, query, Q, k=k, rows=rows)

    def save(self, path: Any) -> Any:
        """Write this SoftDict to one file, atomically, without pickle (:func:`softkv.persistence.save`)."""
        return persistence.save(self, path)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Any, *, encoder: Any = None, reencode: bool = False, load_model: bool = False) -> Any:
        """A SoftDict from a file written by :meth:`save`, nothing re-encoded (:func:`softkv.persistence.load`)."""
        return persistence.load(path, cls._build, encoder=encoder, reencode=reencode,  # type: ignore[attr-defined]
                                load_model=load_model)
