"""What a SoftDict may hold as values, and how a blend of them is read.

Any value: ``d[k]`` returns the very object stored. How a soft read blends
them depends on what they all are (the kind holding every value so far):

- numeric: real scalars, or tuples, lists or arrays of reals, all of one
  shape; a soft answer is the weighted average (a float, or a float array),
  computed from a float64 copy taken when the value was stored;
- categorical: hashable values (str, bool, tuples, enums, numbers of mixed
  shapes...); a soft answer is the value with the largest total weight;
- opaque: anything else (lists, dicts, objects, functions); a soft answer is
  the value of the heaviest key.

A value of another kind widens the dict's kind (numeric -> categorical ->
opaque) once, in O(N); the kind never narrows back while keys remain.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

NUMERIC = "numeric"
CATEGORICAL = "categorical"
OPAQUE = "opaque"


@dataclass(frozen=True)
class ValueSpec:
    """The kind of values a SoftDict holds and, when numeric, their shape."""

    kind: str
    shape: tuple[int, ...] = ()

    def describe(self) -> str:
        if self.kind != NUMERIC:
            return self.kind
        return "scalar" if self.shape == () else f"array of shape {self.shape}"


def _is_real_scalar(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def is_hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return isinstance(value, Hashable)


def infer_spec(value: Any) -> ValueSpec:
    """The kind of one value: numeric with its shape, categorical (hashable) or opaque."""
    if _is_real_scalar(value):
        return ValueSpec(NUMERIC, ())
    if isinstance(value, (np.ndarray, list, tuple)):
        try:
            array = np.asarray(value)
        except ValueError:  # ragged nesting
            array = np.asarray(value, dtype=object)
        if array.dtype.kind in "iuf" and array.size > 0:
            return ValueSpec(NUMERIC, array.shape)
    return ValueSpec(CATEGORICAL) if is_hashable(value) else ValueSpec(OPAQUE)


def join_spec(spec: ValueSpec | None, values: Iterable[Any]) -> ValueSpec | None:
    """The kind that holds the values of ``spec`` and ``values`` too (numeric -> categorical -> opaque).

    Numbers of two shapes, or numbers and other hashable values, become
    categories only if every value is hashable (the caller checks the values
    already stored when a numeric dict widens).
    """
    all_hashable = True
    for value in values:
        found = infer_spec(value)
        all_hashable = all_hashable and is_hashable(value)
        if spec is None or found == spec or spec.kind == OPAQUE:
            spec = spec or found
        elif found.kind == OPAQUE or not all_hashable:
            spec = ValueSpec(OPAQUE)
        else:
            spec = ValueSpec(CATEGORICAL)
    return spec


def check_shapes(spec: ValueSpec | None, values: Mapping[str, Any]) -> None:
    """A ValueError, naming the key and both shapes, when numeric arrays (or lists) of two shapes would be held
    together: no kind blends them (only opaque holds them, where a soft read gives one key's value), so a vector
    of another shape among vectors is refused rather than silently widened."""
    if spec is not None and (spec.kind != NUMERIC or spec.shape == ()):
        return
    found = {key: infer_spec(value) for key, value in values.items()}
    if not all(f.kind == NUMERIC and f.shape != () for f in found.values()) or all(
            is_hashable(value) for value in values.values()):
        return  # other kinds widen the dict as they always do; tuples of two shapes are categories
    reference = spec.shape if spec is not None else next(iter(found.values())).shape
    for key, f in found.items():
        if f.shape != reference:
            raise ValueError(f"value for key {key!r} is an array of shape {f.shape}, but the values held are arrays "
                             f"of shape {reference}: a blend needs one shape. Reshape it, or keep such values in a "
                             "SoftDict of their own")


def check_value(key: str, value: Any, spec: ValueSpec) -> Any:
    """The value itself, once checked: a numeric value's numbers must be finite (float64)."""
    if spec.kind != NUMERIC:
        return value
    try:
        with np.errstate(over="ignore"):
            finite = bool(np.isfinite(np.asarray(value, dtype=np.float64)).all())
    except OverflowError:  # an int beyond float64, such as 10**400
        finite = False
    if not finite:
        raise ValueError(f"value for key {key!r} is {value!r:.40}; numbers must be finite (float64)")
    return value


def numeric_rows(values: list[Any], spec: ValueSpec) -> np.ndarray:
    """The float64 (len(values), *shape) copy of numeric values that blends are computed from."""
    return np.array([np.asarray(v, dtype=np.float64) for v in values], dtype=np.float64).reshape(
        (len(values),) + spec.shape)


def mixed_kinds_message(spec: ValueSpec | None, stored: dict[str, Any], what: str) -> str:
    """Why ``what`` (a numeric blend) is impossible: the kinds found, with an example key of each."""
    examples: dict[str, str] = {}
    for key, value in stored.items():
        found = infer_spec(value).describe()
        if found not in examples:
            examples[found] = f"{key!r} -> {type(value).__name__} {value!r:.30}"
    kinds = "; ".join(f"{kind} (e.g. {example})" for kind, example in examples.items())
    return (f"{what} needs numeric values of one shape; this SoftDict holds {spec.describe() if spec else 'none'} "
            f"values: {kinds}")


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
