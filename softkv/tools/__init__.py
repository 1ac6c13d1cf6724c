"""What softkv offers beside reading and writing; each tool works on a snapshot and never imports the dict.

- :func:`calibrate` (temperature, top_k, spelling weight and mode, from pairs
  or leave-one-key-out) and :func:`calibrate_threshold` (a cutoff for a
  target precision), reported as a :class:`CalibrationReport`;
- :func:`compare`: hard against soft retrieval on the same keys (:class:`Comparison`);
- :func:`explain`: each key's part in one answer (:class:`Explanation`, :class:`KeyPart`);
- :class:`SoftKVRegressor`, :class:`SoftKVClassifier`: scikit-learn
  estimators (loaded on first use: they import scikit-learn, the ``[sklearn]`` extra);
- :mod:`softkv.tools.plot`: weights, heat maps and explanations (matplotlib, the ``[plot]`` extra).

A SoftDict calls them through its methods (``d.calibrate``, ``d.explain``);
they take a :class:`~softkv.store.Memory` and :class:`~softkv.params.Params`,
or anything :class:`~softkv.read.Readable`.
"""

from typing import Any

from ._calibration import CalibrationReport, calibrate, calibrate_threshold
from ._compare import Comparison, compare
from ._explain import Explanation, KeyPart, explain

__all__ = ["CalibrationReport", "Comparison", "Explanation", "KeyPart", "SoftKVClassifier", "SoftKVRegressor",
           "calibrate", "calibrate_threshold", "compare", "explain"]


def __getattr__(name: str) -> Any:
    """The estimators, imported when first named (they import scikit-learn)."""
    if name in ("SoftKVClassifier", "SoftKVRegressor"):
        from . import _estimators

        return getattr(_estimators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
