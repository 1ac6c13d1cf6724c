"""The dict methods a SoftDict derives from its core reads and writes, as ``collections.abc`` derives others.

``fromkeys``, ``reversed``, ``==``, ``|`` and ``|=`` behave as for dict:
they touch keys exactly and never read softly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np


class DictMethods:
    """Mixed into :class:`softkv.SoftDict`: needs ``keys``, ``items``, ``update`` and ``copy``."""

    @classmethod
    def fromkeys(cls, keys: Iterable[str], value: Any = None, **options: Any) -> Any:
        """A new mapping of ``keys``, each holding ``value`` (the same object), as dict.fromkeys: ``cls(**options)``
        filled by one batched update (or key by key, where a subclass overrides ``__setitem__``)."""
        mapping: Any = cls(**options)
        if type(mapping).__setitem__ is DictMethods._core_setitem(cls):
            mapping.update(dict.fromkeys(keys, value))  # one encoder call for every key
        else:
            for key in keys:
                mapping[key] = value
        return mapping

    @staticmethod
    def _core_setitem(cls: type) -> Any:
        """SoftDict's own ``__setitem__`` (the last definition of it in ``cls``'s bases)."""
        for base in reversed(cls.__mro__):
            if "__setitem__" in vars(base) and base.__module__.startswith("softkv"):
                return vars(base)["__setitem__"]
        return None

    def __reversed__(self) -> Iterator[str]:
        """The keys, last inserted first, as reversed(dict)."""
        return reversed(self.keys())  # type: ignore[attr-defined]

    def __eq__(self, other: object) -> bool:
        """Equal to any mapping with the same keys and equal values (arrays compared by value)."""
        if not isinstance(other, Mapping) or len(other) != len(self):  # type: ignore[arg-type]
            return False
        return all(k in other and _equal(v, other[k]) for k, v in self.items())  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __or__(self, other: Any) -> Any:
        """A copy with ``other``'s pairs added (the same encoder and parameters), as ``dict | other``."""
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = self.copy()  # type: ignore[attr-defined]
        merged.update(other)
        return merged

    def __ror__(self, other: Any) -> Any:
        """``other | d`` for a mapping ``other``: a SoftDict of ``other``'s pairs, then ``d``'s."""
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = self.copy()  # type: ignore[attr-defined]
        merged.clear()
        merged.update(other)
        merged.update(self)
        return merged

    def __ior__(self, other: Any) -> Any:
        """``d |= other``: update in place with a mapping or (key, value) pairs, as for dict."""
        self.update(other)  # type: ignore[attr-defined]
        return self


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)
