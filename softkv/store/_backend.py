"""What a SoftDict needs of the place its keys live: the :class:`Backend` protocol.

:class:`~softkv.store.Store` (one process, in memory) implements it, and so
does :class:`softkv.backends.MilvusStore` (a Milvus collection). The dict, its
write transaction and its reader use only these members, so one read
pipeline serves both: a backend hands each read a
:class:`~softkv.store.Memory` through :meth:`Backend.memory_for`: all of its
keys (the in-process store), or the candidate keys of that batch of queries
with the totals of the whole store in :attr:`Memory.population`.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, Sequence, ValuesView
from typing import Any, Protocol, overload

import numpy as np

from ._memory import Contents, Memory, Update
from ._usage import Usage
from ._values import ValueSpec

__all__ = ["Backend", "StoredValues"]


class StoredValues(Protocol):
    """key -> stored value, as a dict reads it (a dict is one)."""

    def __getitem__(self, key: str, /) -> Any: ...

    def __contains__(self, key: object, /) -> bool: ...

    def __iter__(self) -> Iterator[str]: ...

    def __reversed__(self) -> Iterator[str]: ...

    def __len__(self) -> int: ...

    @overload
    def get(self, key: str, /) -> Any: ...

    @overload
    def get(self, key: str, default: Any, /) -> Any: ...

    def keys(self) -> KeysView[str]: ...

    def values(self) -> ValuesView[Any]: ...

    def items(self) -> ItemsView[str, Any]: ...


class Backend(Protocol):
    """Keys, their embeddings and values, and aliases, wherever they are kept."""

    @property
    def values(self) -> StoredValues:
        """key -> stored value (iteration: insertion order in memory, the engine's order elsewhere)."""

    @property
    def aliases_of(self) -> Mapping[str, list[str]]:
        """key -> its other names."""
    projection: np.ndarray | None  # applied to queries before scoring (a backend may refuse one)

    def __len__(self) -> int: ...

    @property
    def spec(self) -> ValueSpec | None: ...

    @property
    def dim(self) -> int | None: ...

    @property
    def width(self) -> int | None: ...

    @property
    def usage(self) -> Usage: ...

    def entry_value(self, text: object, match: bool | str = True) -> tuple[str, Any] | None: ...

    def unembedded(self, keys: Sequence[str], aliases: Mapping[str, Sequence[str]],
                   embeddings: Mapping[str, Any]) -> list[str]: ...

    def check(self, pairs: Mapping[str, Any], aliases: Mapping[str, Sequence[str]] | None = None,
              embeddings: Mapping[str, Any] | None = None, *, embedded: bool = True) -> Any: ...

    def apply(self, write: Any) -> None: ...

    def delete(self, key: str) -> None: ...

    def clear(self) -> None: ...

    def evict_over(self, max_keys: int | None) -> list[tuple[str, Any]]: ...

    def apply_update(self, update: Update) -> None: ...

    def embeddings_in_order(self) -> np.ndarray: ...

    def memory(self, *, encoder: Any = None, background: Any = None, copy: bool = False,
               spelling: bool = True) -> Memory: ...

    def sample(self, n: int) -> Contents: ...

    def memory_for(self, queries: Sequence[Any], Q: np.ndarray, params: Any, *, encoder: Any = None,
                   background: Any = None, candidates: Sequence[int] | None = None) -> Memory: ...
