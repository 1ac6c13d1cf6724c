"""A bounded SoftDict: the order in which keys were used, and which key goes when the dict is full.

``SoftDict(..., max_keys=N, evict="lru")`` keeps at most N keys. The order
lives in an ordered dict (a hash table threaded by a linked list), so adding,
using and removing a key are O(1), and the key to evict is its first entry:

- "fifo": keys leave in the order they were added;
- "lru": a key moves to the back when it is read exactly, or when it takes
  at least :data:`USED_WEIGHT` of a soft read's weight (Neural Episodic
  Control's memory counts a neighbour as used the same way).

Reads touch the order under the dict's read lock, so the order has its own
small lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

__all__ = ["USED_WEIGHT", "Usage"]

USED_WEIGHT = 0.05
"""The share of a soft read's weight from which a key counts as used."""


class Usage:
    """Keys from least to most recently used (or added, for FIFO).

    >>> usage = Usage()
    >>> usage.add(["a", "b", "c"]); usage.touch(["a"]); usage.remove("b")
    >>> usage.oldest(2)
    ['c', 'a']
    """

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._order: OrderedDict[str, None] = OrderedDict.fromkeys(keys)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._order)

    def add(self, keys: Iterable[str]) -> None:
        """New keys, as the most recent."""
        with self._lock:
            for key in keys:
                self._order[key] = None
                self._order.move_to_end(key)

    def touch(self, keys: Iterable[str]) -> None:
        """Keys just used move to the back (keys no longer present are ignored)."""
        with self._lock:
            for key in keys:
                if key in self._order:
                    self._order.move_to_end(key)

    def remove(self, key: str) -> None:
        with self._lock:
            self._order.pop(key, None)

    def restore(self, keys: Iterable[str]) -> None:
        """Every key, in this order (a saved or copied order of use)."""
        with self._lock:
            self._order = OrderedDict.fromkeys(keys)

    def clear(self) -> None:
        with self._lock:
            self._order.clear()

    def oldest(self, n: int) -> list[str]:
        """The first ``n`` keys: the ones to evict."""
        with self._lock:
            found: list[str] = []
            for key in self._order:
                if len(found) == n:
                    break
                found.append(key)
            return found

    def order(self) -> list[str]:
        """Every key, least recently used first (what a save keeps)."""
        with self._lock:
            return list(self._order)
