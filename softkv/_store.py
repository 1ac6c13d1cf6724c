"""Rows of a SoftDict: keys, their embeddings and their values, kept aligned.

Row i of the embedding matrix belongs to ``row_keys[i]``. Arrays grow by
doubling their capacity, and a delete moves the last row into the freed slot,
so an insert or a delete costs amortized O(d) whatever the size. The order of
rows is therefore not the insertion order; ``values`` (a dict) keeps that.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from . import attention
from ._aliases import AliasTable
from ._values import CATEGORICAL, CategoryTable, ValueSpec


class RowStore:
    """Keys, embedding rows and values of one SoftDict (no validation here)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}  # key -> stored value, in insertion order
        self.row_of: dict[str, int] = {}
        self.row_keys: list[str] = []
        self.row_values: list[Any] = []
        self.spec: ValueSpec | None = None
        self.dim: int | None = None
        self._embeddings = np.empty((0, 0), dtype=np.float32)
        self._inverse_norms = np.empty(0, dtype=np.float32)
        self._numeric = np.empty((0,), dtype=np.float64)
        self._codes = np.empty(0, dtype=np.int64)
        self.categories = CategoryTable.empty()
        self._non_unit_rows = 0  # rows whose length is not 1 (within float32 rounding)
        self.version = 0  # bumped by every change of the embedding rows (indexes rebuild on it)
        self._lexical: Any = None  # a LexicalIndex, made on the first hybrid read, then kept current
        self.aliases = AliasTable()

    @property
    def unit_keys(self) -> bool:
        """True when every key embedding has length 1: cosine needs no key norms then."""
        return self._non_unit_rows == 0

    def __len__(self) -> int:
        return len(self.row_keys)

    # ---- views (valid until the next write) ----
    @property
    def embeddings(self) -> np.ndarray:
        return self._embeddings[: len(self)]

    @property
    def inverse_norms(self) -> np.ndarray:
        return self._inverse_norms[: len(self)]

    @property
    def numeric_values(self) -> np.ndarray:
        return self._numeric[: len(self)]

    @property
    def codes(self) -> np.ndarray:
        return self._codes[: len(self)]

    # ---- writes ----
    def _reserve(self, n_rows: int, dim: int) -> None:
        capacity = self._embeddings.shape[0]
        if self._embeddings.shape[1] != dim:
            capacity = 0
        if n_rows <= capacity:
            return
        new_capacity = max(8, n_rows, 2 * capacity)
        used = len(self)
        self._embeddings = _grow(self._embeddings, new_capacity, (dim,), np.float32, used)
        self._inverse_norms = _grow(self._inverse_norms, new_capacity, (), np.float32, used)
        value_shape = () if self.spec is None or self.spec.kind == CATEGORICAL else self.spec.shape
        self._numeric = _grow(self._numeric, new_capacity, value_shape, np.float64, used)
        self._codes = _grow(self._codes, new_capacity, (), np.int64, used)

    def set_value(self, key: str, value: Any) -> None:
        """Replace the value of an existing key; its embedding is untouched."""
        row = self.row_of[key]
        self._write_value(row, value, replacing=True)
        self.values[key] = value

    def lexical(self) -> Any:
        """The character n-gram index of the keys (made on first use, then updated by every write)."""
        if self._lexical is None:
            from .lexical import LexicalIndex

            index = LexicalIndex()
            index.add(list(self.values) + self.aliases.row_names)
            self._lexical = index
        return self._lexical

    def add_aliases(self, key: str, names: list[str], embeddings: np.ndarray) -> None:
        """Give an existing key more names (checked by the caller)."""
        self.aliases.add(key, names, embeddings)
        if self._lexical is not None:
            self._lexical.add(names)
        self.version += 1

    def entry_of(self, name: str) -> str | None:
        """The key that ``name`` is (a key itself, or an alias of one), or None."""
        if name in self.values:
            return name
        return self.aliases.key_of.get(name)

    def set_embedding(self, key: str, embedding: np.ndarray) -> None:
        """Replace the embedding row of an existing key."""
        row = self.row_of[key]
        self._non_unit_rows -= int(_non_unit(self._inverse_norms[row : row + 1]).sum())
        self._embeddings[row] = embedding
        self._inverse_norms[row] = attention.inverse_norms(embedding[None, :].astype(np.float32))[0]
        self._non_unit_rows += int(_non_unit(self._inverse_norms[row : row + 1]).sum())
        self.version += 1

    def append(self, keys: list[str], embeddings: np.ndarray, values: list[Any], spec: ValueSpec) -> None:
        """Add new keys (not already present) with their embeddings and checked values."""
        if not keys:
            return
        if len(self) == 0:
            self.spec, self.dim = spec, embeddings.shape[1]
            self.categories = CategoryTable.empty()
            self._embeddings = np.empty((0, self.dim), dtype=np.float32)
            self._numeric = np.empty((0,) + (() if spec.kind == CATEGORICAL else spec.shape))
        if self._lexical is not None:
            self._lexical.add(keys)
        start = len(self)
        self._reserve(start + len(keys), embeddings.shape[1])
        stop = start + len(keys)
        self._embeddings[start:stop] = embeddings
        self._inverse_norms[start:stop] = attention.inverse_norms(embeddings)
        self._non_unit_rows += int(_non_unit(self._inverse_norms[start:stop]).sum())
        self.version += 1
        for offset, (key, value) in enumerate(zip(keys, values)):
            self.row_of[key] = start + offset
            self.row_keys.append(key)
            self.row_values.append(value)
            self._write_value(start + offset, value, replacing=False)
            self.values[key] = value

    def delete(self, key: str) -> None:
        """Remove a key: the last row moves into its slot, O(d)."""
        row = self.row_of.pop(key)
        del self.values[key]
        removed_aliases = self.aliases.remove_key(key)
        if self._lexical is not None:
            for name in [key, *removed_aliases]:
                self._lexical.remove(name)
        self._non_unit_rows -= int(_non_unit(self._inverse_norms[row : row + 1]).sum())
        if self.spec is not None and self.spec.kind == CATEGORICAL:
            self.categories.release(int(self._codes[row]))
        last = len(self) - 1
        if row != last:
            moved = self.row_keys[last]
            self._embeddings[row] = self._embeddings[last]
            self._inverse_norms[row] = self._inverse_norms[last]
            self._numeric[row] = self._numeric[last]
            self._codes[row] = self._codes[last]
            self.row_keys[row] = moved
            self.row_values[row] = self.row_values[last]
            self.row_of[moved] = row
        self.row_keys.pop()
        self.row_values.pop()
        self.version += 1
        if not self.row_keys:
            self.spec, self.dim = None, None
            self._non_unit_rows = 0

    def _write_value(self, row: int, value: Any, *, replacing: bool) -> None:
        assert self.spec is not None
        if self.spec.kind == CATEGORICAL:
            if replacing:
                self.categories.release(int(self._codes[row]))
            self._codes[row] = self.categories.acquire(value)
        else:
            self._numeric[row] = value
        self.row_values[row] = value


def _non_unit(inverse_norms: np.ndarray) -> np.ndarray:
    return np.abs(inverse_norms - 1.0) > 1e-6


def _grow(array: np.ndarray, capacity: int, row_shape: tuple[int, ...], dtype: Any, used: int) -> np.ndarray:
    grown = np.zeros((capacity,) + row_shape, dtype=dtype)
    if used:
        grown[:used] = array[:used]
    return grown


class EmbeddingView(Mapping[str, np.ndarray]):
    """Read-only key -> embedding row view of a RowStore."""

    def __init__(self, store: RowStore) -> None:
        self._store = store

    def __getitem__(self, key: str) -> np.ndarray:
        return self._store.embeddings[self._store.row_of[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._store.row_of)

    def __len__(self) -> int:
        return len(self._store.row_of)


def check_key(key: Any) -> None:
    """A TypeError for a key that is not str, a ValueError for a blank one."""
    if not isinstance(key, str):
        raise TypeError(f"SoftDict keys must be str, got {type(key).__name__} {key!r}")
    if not key.strip():
        raise ValueError(f"SoftDict keys must contain non-blank text, got {key!r}")
