"""What a SoftDict may hold as values, and how a blend of them is read.

Two kinds, fixed by the first value a SoftDict receives:

- numeric: real scalars or fixed-shape real arrays; every value has the same
  shape, and a soft answer is the weighted average of the values;
- categorical: any hashable non-numeric value (str, bool, tuple, enum...);
  a soft answer is the value with the largest total weight.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

NUMERIC = "numeric"
CATEGORICAL = "categorical"


@dataclass(frozen=True)
class ValueSpec:
    """The kind of values a SoftDict holds and, when numeric, their shape."""

    kind: str
    shape: tuple[int, ...] = ()

    def describe(self) -> str:
        if self.kind == CATEGORICAL:
            return "categorical"
        return "scalar" if self.shape == () else f"array of shape {self.shape}"


def _is_real_scalar(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def infer_spec(value: Any) -> ValueSpec:
    """The spec a first value sets: numeric with its shape, or categorical."""
    if _is_real_scalar(value):
        return ValueSpec(NUMERIC, ())
    if isinstance(value, (np.ndarray, list, tuple)):
        try:
            array = np.asarray(value)
        except ValueError:  # ragged nesting
            array = np.asarray(value, dtype=object)
        if array.dtype.kind in "iuf" and array.size > 0:
            return ValueSpec(NUMERIC, array.shape)
    return ValueSpec(CATEGORICAL)


def check_value(key: str, value: Any, spec: ValueSpec) -> Any:
    """The value as it will be stored, or a TypeError/ValueError naming the key.

    Numeric scalars are stored as given; numeric arrays as read-only float64
    copies, so that later changes to the caller's list or array cannot
    desynchronise the stored value from the blend.
    """
    if spec.kind == CATEGORICAL:
        if _is_real_scalar(value) or infer_spec(value).kind == NUMERIC:
            raise TypeError(
                f"value for key {key!r} is numeric ({value!r}), but this SoftDict holds categorical "
                "values; a SoftDict holds one kind of value"
            )
        if not isinstance(value, Hashable):
            raise TypeError(
                f"categorical value for key {key!r} must be hashable, got {type(value).__name__}; "
                "use a tuple instead of a list"
            )
        return value
    if spec.shape == ():
        if not _is_real_scalar(value):
            if infer_spec(value).kind == NUMERIC:
                raise ValueError(
                    f"value for key {key!r} has shape {np.shape(value)}, but this SoftDict holds "
                    "scalars (shape ()); all values must share one shape"
                )
            raise TypeError(
                f"value for key {key!r} must be a real number like the others, got {type(value).__name__}"
            )
        try:
            finite = bool(np.isfinite(float(value)))
        except OverflowError:  # an int beyond float64, such as 10**400
            finite = False
        if not finite:
            raise ValueError(f"value for key {key!r} is {value!r:.40}; values must be finite numbers (float64)")
        return value
    value_spec = infer_spec(value)
    if value_spec.kind != NUMERIC:
        raise TypeError(
            f"value for key {key!r} must be a numeric array of shape {spec.shape}, got {value!r}"
        )
    if value_spec.shape != spec.shape:
        raise ValueError(
            f"value for key {key!r} has shape {value_spec.shape}, but this SoftDict holds values of "
            f"shape {spec.shape}; all values must share one shape"
        )
    array = np.array(value, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"value for key {key!r} contains NaN or inf; values must be finite numbers")
    array.setflags(write=False)
    return array


@dataclass
class CategoryTable:
    """Distinct categorical values, each with a stable integer code (a value no key holds any more keeps its code
    and gets no weight)."""

    categories: list[Any]
    code_of: dict[Any, int]

    @classmethod
    def empty(cls) -> CategoryTable:
        return cls([], {})

    def code(self, value: Any) -> int:
        code = self.code_of.get(value)
        if code is None:
            code = len(self.categories)
            self.code_of[value] = code
            self.categories.append(value)
        return code
