"""How a SoftDict write happens: checked whole, new names encoded with no lock held, applied under the write lock.

Encoding is the slow part of a write (milliseconds per text), so it must not
block readers; but the store may change while it runs. So a write checks
everything it can before encoding (a bad value fails before any model runs),
encodes the names the store lacks, then re-checks and applies under the
write lock. A key another thread deleted meanwhile needs an embedding again:
it is encoded in another round. All or nothing: an error changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._backend import Backend
from ._lock import ReadWriteLock

Encode = Callable[[list[str], "int | None"], np.ndarray]
"""Embeddings (n, d) of n texts, checked against the width of the keys already stored (None: any)."""


def write(store: Backend, lock: ReadWriteLock, encode: Encode | None, pairs: dict[str, Any], *,
          aliases: Mapping[str, Sequence[str]] | None = None, embeddings: Mapping[str, np.ndarray] | None = None,
          only_new: bool = False, max_keys: Callable[[], int | None] = lambda: None) -> list[tuple[str, Any]]:
    """Set ``pairs`` and add ``aliases`` in ``store``; ``only_new`` skips keys present by the time the write
    applies (setdefault). Beyond ``max_keys()``, read under the write lock as the write commits, the least
    recently used keys go in the same write: the (key, value) pairs evicted are returned."""
    aliases = {key: list(names) for key, names in (aliases or {}).items()}
    known = dict(embeddings or {})
    names = [*pairs, *(name for group in aliases.values() for name in group)]
    while True:
        with lock.reading():
            if not all(isinstance(name, str) and name in known for name in names):  # fail before encoding, not
                store.check(pairs, aliases, known, embedded=False)  # after (lent embeddings: one check, below)
            needed = store.unembedded(list(pairs), aliases, known)
            width = store.width
        if needed:
            if encode is None:
                raise TypeError("this SoftDict has no encoder (it was built from embeddings): add keys with "
                                "add(key, value, embedding=...), or build it with encoder=...")
            known.update(zip(needed, encode(needed, width)))
        with lock.writing():
            if only_new:
                pairs = {key: value for key, value in pairs.items() if key not in store.values}
            if store.unembedded(list(pairs), aliases, known):
                continue  # a key was deleted meanwhile: encode it too
            store.apply(store.check(pairs, aliases, known))
            return store.evict_over(max_keys())
