"""The tunable parameters of a SoftDict, declared and checked in one place.

Each parameter is a descriptor: assigning ``d.temperature = x`` validates x
and either stores it or raises, leaving the old value in place.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .attention import SCORINGS


def check_temperature(name: str, value: Any) -> float | str:
    if isinstance(value, str) and value == "auto":
        return "auto"
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if math.isfinite(float(value)) and float(value) > 0:
            return float(value)
    raise ValueError(
        f'{name} must be "auto" or a finite number > 0, got {value!r}; '
        "smaller is sharper (closer to the nearest key), larger is smoother"
    )


def check_top_k(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 1:
        return int(value)
    raise ValueError(f"{name} must be None (all keys) or an integer >= 1, got {value!r}")


def check_threshold(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise ValueError(
        f"{name} must be None (never miss) or a finite number in the scoring's units "
        f"(cosine: -1 to 1), got {value!r}"
    )


def check_null_score(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise ValueError(f"{name} must be None (no null slot) or a finite score, got {value!r}")


def check_scoring(name: str, value: Any) -> str:
    if isinstance(value, str) and value in SCORINGS:
        return value
    raise ValueError(f"{name} must be one of {', '.join(map(repr, SCORINGS))}; got {value!r}")


def check_index(name: str, value: Any) -> Any:
    from .index import IVFIndex

    if isinstance(value, IVFIndex) or (isinstance(value, str) and value in ("auto", "exact", "ivf")):
        return value
    raise ValueError(f'{name} must be "auto", "exact", "ivf" or an IVFIndex, got {value!r}')


AUTO_HYBRID = 0.5  # the spelling weight of hybrid="auto" (benchmarks/quality.py measures the choice)


def check_hybrid(name: str, value: Any) -> float | str:
    if value == "auto" and isinstance(value, str):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and 0.0 <= float(value) <= 1.0:
        return float(value)
    raise ValueError(
        f'{name} must be "auto" or a number from 0 (meaning only) to 1 (spelling only), got {value!r}'
    )


def hybrid_is_set(hybrid: float | str) -> bool:
    """Whether the caller set a spelling weight above 0 ("auto" steps aside where spelling cannot apply)."""
    return hybrid != "auto" and float(hybrid) > 0


def hybrid_weight(hybrid: float | str, scoring: str) -> float:
    """The spelling weight a read uses: "auto" is AUTO_HYBRID with cosine scoring, 0 with the others."""
    if hybrid == "auto":
        return AUTO_HYBRID if scoring == "cosine" else 0.0
    return float(hybrid)


def check_mode(name: str, value: Any) -> str:
    from .attention import MODES

    if isinstance(value, str) and value in MODES:
        return value
    raise ValueError(f"{name} must be one of {', '.join(map(repr, MODES))}; got {value!r}")


def check_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"{name} must be True or False, got {value!r}")


def check_projection(matrix: Any, dim: int | None) -> np.ndarray:
    """A read-only float32 (dim, dim) copy of ``matrix``, or a ValueError."""
    matrix = np.array(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or (dim is not None and matrix.shape[0] != dim):
        raise ValueError(f"query_projection must be a square (d, d) matrix with d = {dim}, got {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError("query_projection contains NaN or inf")
    matrix.setflags(write=False)
    return matrix


class Parameter:
    """A validated attribute: reads return the value, writes go through ``check``."""

    def __init__(self, check: Callable[[str, Any], Any], default: Any) -> None:
        self.check = check
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return obj.__dict__.get(self.name, self.default)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = self.check(self.name, value)
