"""The dict methods a SoftDict derives from its core ones, as ``collections.abc`` derives others.

``fromkeys``, ``==``, ``|`` and ``|=`` behave as for dict: they
touch keys exactly and never read softly. :class:`DictMethods` needs what
``MutableMapping`` needs, plus ``_build`` and ``_state``, from which
``copy``, ``copy.copy``, ``copy.deepcopy`` and pickling derive.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping, MutableMapping
from copy import deepcopy
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np

from .params import whole_number

D = TypeVar("D", bound="DictMethods")


class DictMethods(MutableMapping[str, Any]):
    """A MutableMapping of text keys with dict's remaining methods."""

    @classmethod
    @abstractmethod
    def _build(cls: type[D], contents: Any, encoder: Any, params: dict[str, Any]) -> D:
        """A new dict holding ``contents`` (what :meth:`_state` gives), read by ``encoder`` with ``params``."""

    @abstractmethod
    def _state(self, sample: int | None = None) -> tuple[Any, Any, dict[str, Any]]:
        """(contents, encoder, params): all a copy is built from, taken at one moment (``sample``: of about that
        many keys drawn uniformly)."""

    def copy(self: D) -> D:
        """A shallow copy (also ``copy.copy``): its own keys, embeddings (copied, not recomputed), parameters
        and lock; the same encoder and value objects. ``copy.deepcopy`` copies the values too (the encoder is
        still shared), and a pickle holds contents, parameters and encoder (a bundled encoder by its name),
        never a lock or a model session. O(N d)."""
        return type(self)._build(*self._state())

    __copy__ = copy

    def sample(self: D, n: int) -> D:
        """A new in-process dict of about ``n`` of the keys drawn uniformly, with their aliases and embeddings
        (nothing encoded): what to calibrate or train on when the keys live in Milvus. O(n d)."""
        if not whole_number(n, 1):
            raise ValueError(f"sample takes a number of keys >= 1, got {n!r}")
        return type(self)._build(*self._state(sample=n))

    def __deepcopy__(self: D, memo: dict[int, Any]) -> D:
        contents, encoder, params = self._state()
        return type(self)._build(replace(contents, stored=deepcopy(contents.stored, memo)), encoder, params)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self)._build, self._state()

    @classmethod
    def fromkeys(cls: type[D], keys: Iterable[str], value: Any = None, **options: Any) -> D:
        """A new SoftDict of ``keys``, each holding ``value`` (the same object), as dict.fromkeys: one batched
        update (key by key where a subclass overrides ``__setitem__``). ``options`` go to the constructor."""
        d = cls(**options)
        if type(d).__setitem__ is _core_setitem(cls):
            d.update(dict.fromkeys(keys, value))
        else:
            for key in keys:
                d[key] = value
        return d

    def __eq__(self, other: object) -> bool:
        """Equal to any mapping with the same keys and equal values (arrays compared by value)."""
        if other is self:
            return True
        if not isinstance(other, Mapping) or len(other) != len(self):
            return False
        return all(k in other and _equal(v, other[k]) for k, v in self.items())

    __hash__ = None  # type: ignore[assignment]

    def __or__(self: D, other: Any) -> D:
        """A copy with ``other``'s pairs added (the same encoder and parameters), as ``dict | other``."""
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self: D, other: Any) -> D:
        """``other | d`` for a mapping ``other``: a SoftDict of ``other``'s pairs, then ``d``'s."""
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = self.copy()
        merged.clear()
        merged.update(other)
        merged.update(self)
        return merged

    def __ior__(self: D, other: Any) -> D:
        """``d |= other``: update in place with a mapping or (key, value) pairs, as for dict."""
        self.update(other)
        return self


def tell_each(callback: Any, evicted: list[tuple[str, Any]]) -> None:
    """``callback(key, value)`` for every evicted pair, every one even when a call raises (the first error is
    raised after the last call, so that no eviction goes untold)."""
    errors = []
    for key, value in evicted if callback is not None else ():
        try:
            callback(key, value)
        except Exception as error:  # noqa: BLE001 - raised below, once every eviction is told
            errors.append(error)
    if errors:
        raise errors[0]


def _core_setitem(cls: type) -> Any:
    """The ``__setitem__`` softkv defines (the last definition in ``cls``'s bases inside softkv)."""
    for base in reversed(cls.__mro__):
        if "__setitem__" in vars(base) and base.__module__.startswith("softkv"):
            return vars(base)["__setitem__"]
    return None


def _equal(a: Any, b: Any) -> bool:
    if a is b:  # as dict compares values (and so a dict holding itself equals itself)
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)
