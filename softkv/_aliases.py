"""Other names of a SoftDict's keys: ``d.add("United States", v, aliases=["USA", "America"])``.

Each alias has its own embedding row; a lookup scores an entry by its best
name (the key or any alias) and reports weights per entry. Rows grow by
doubling and a delete moves the last row into the hole, as for keys.
"""

from __future__ import annotations

import numpy as np

from . import attention


class AliasTable:
    """alias -> key, key -> aliases, and one embedding row per alias."""

    def __init__(self) -> None:
        self.key_of: dict[str, str] = {}
        self.names_of: dict[str, list[str]] = {}
        self.row_names: list[str] = []
        self._row_of: dict[str, int] = {}
        self._embeddings = np.empty((0, 0), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.row_names)

    @property
    def embeddings(self) -> np.ndarray:
        return self._embeddings[: len(self)]

    @property
    def inverse_norms(self) -> np.ndarray:
        return attention.inverse_norms(self.embeddings)

    def add(self, key: str, names: list[str], embeddings: np.ndarray) -> None:
        """Give ``key`` the new aliases ``names`` (checked by the caller) with their embeddings."""
        if not names:
            return
        used, dim = len(self), embeddings.shape[1]
        if self._embeddings.shape[1] != dim or used + len(names) > self._embeddings.shape[0]:
            grown = np.zeros((max(8, 2 * (used + len(names))), dim), dtype=np.float32)
            if used and self._embeddings.shape[1] == dim:
                grown[:used] = self._embeddings[:used]
            self._embeddings = grown
        self._embeddings[used : used + len(names)] = embeddings
        for offset, name in enumerate(names):
            self._row_of[name] = used + offset
            self.row_names.append(name)
            self.key_of[name] = key
        self.names_of.setdefault(key, []).extend(names)

    def remove_key(self, key: str) -> list[str]:
        """Forget every alias of ``key``; returns them."""
        names = self.names_of.pop(key, [])
        for name in names:
            row, last = self._row_of.pop(name), len(self.row_names) - 1
            del self.key_of[name]
            if row != last:
                moved = self.row_names[last]
                self._embeddings[row] = self._embeddings[last]
                self.row_names[row] = moved
                self._row_of[moved] = row
            self.row_names.pop()
        return names

    def entry_scores(self, S: np.ndarray, S_alias: np.ndarray, row_of: dict[str, int]) -> np.ndarray:
        """S (B, N) with each entry's score raised to its best alias's score (S_alias is (B, A))."""
        entry_rows = np.array([row_of[self.key_of[name]] for name in self.row_names])
        np.maximum.at(S, (slice(None), entry_rows), S_alias)  # type: ignore[arg-type]
        return S
