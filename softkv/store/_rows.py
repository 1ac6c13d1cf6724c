"""Named rows of aligned arrays that grow by doubling: the storage of keys and of aliases alike.

Row i of every column belongs to ``names[i]``. An append writes at the end
(the arrays double their capacity when full), and a delete moves the last row
into the freed slot, so both cost amortized O(width) whatever the number of
rows. Row order is therefore not insertion order.

>>> rows = Rows()
>>> rows.append(["a", "b", "c"], embeddings=np.eye(3, dtype=np.float32), values=np.array([1.0, 2.0, 3.0]))
>>> rows.delete("a")
>>> rows.names, rows["values"].tolist()
(['c', 'b'], [3.0, 2.0])
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Rows", "objects"]


def objects(items: Any) -> np.ndarray:
    """A 1-D object array holding ``items`` as they are (numpy would unpack lists and tuples).

    >>> objects([(1, 2), [3]]).shape
    (2,)
    """
    items = list(items)
    array = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        array[i] = item
    return array


class Rows:
    """Names and their aligned columns (numpy arrays, object arrays for Python values)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.row_of: dict[str, int] = {}
        self._columns: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.row_of

    def __getitem__(self, column: str) -> np.ndarray:
        """A view of one column, (len(self), *row_shape); valid until the next write."""
        return self._columns[column][: len(self.names)]

    def has(self, column: str) -> bool:
        return column in self._columns

    def append(self, names: list[str], **columns: Any) -> None:
        """Add rows named ``names``: each column an array with one row per name (the first append sets them)."""
        if not names:
            return
        if not self._columns:
            self._columns = {name: _empty(data, 0) for name, data in columns.items()}
        if set(columns) != set(self._columns):
            raise ValueError(f"rows have the columns {sorted(self._columns)}, got {sorted(columns)}")
        start, stop = len(self.names), len(self.names) + len(names)
        self._reserve(stop)
        for column, data in columns.items():
            target = self._columns[column]
            if target.dtype == object:
                for offset, item in enumerate(data):  # one by one: numpy must not unpack sequences
                    target[start + offset] = item
            else:
                target[start:stop] = data
        for offset, name in enumerate(names):
            self.row_of[name] = start + offset
        self.names.extend(names)

    def set_columns(self, drop: tuple[str, ...] = (), **columns: Any) -> None:
        """Drop some columns and add or replace others, each with one row per name (a change of value kind)."""
        if not self.names:
            return
        capacity = next(iter(self._columns.values())).shape[0]
        for column in drop:
            self._columns.pop(column, None)
        for column, data in columns.items():
            grown = _empty(np.asarray(data) if not isinstance(data, np.ndarray) else data, capacity)
            grown[: len(self.names)] = data
            self._columns[column] = grown

    def copy(self) -> Rows:
        """The same rows in arrays of their own (object columns hold the same Python values)."""
        other = Rows()
        other.names, other.row_of = list(self.names), dict(self.row_of)
        other._columns = {column: array.copy() for column, array in self._columns.items()}
        return other

    def set(self, name: str, column: str, item: Any) -> None:
        """Replace one row of one column."""
        self._columns[column][self.row_of[name]] = item

    def delete(self, name: str) -> None:
        """Remove a row: the last row moves into its slot, O(width)."""
        row = self.row_of.pop(name)
        last = len(self.names) - 1
        if row != last:
            moved = self.names[last]
            for array in self._columns.values():
                array[row] = array[last]
            self.names[row] = moved
            self.row_of[moved] = row
        for array in self._columns.values():
            if array.dtype == object:
                array[last] = None  # let the value go
        self.names.pop()
        if not self.names:
            self._columns = {}

    def _reserve(self, n_rows: int) -> None:
        capacity = next(iter(self._columns.values())).shape[0]
        if n_rows <= capacity:
            return
        new_capacity = max(8, n_rows, 2 * capacity)
        used = len(self.names)
        for column, array in self._columns.items():
            grown = _empty(array, new_capacity)
            grown[:used] = array[:used]
            self._columns[column] = grown


def _empty(like: np.ndarray, capacity: int) -> np.ndarray:
    """An array of ``capacity`` rows shaped like the rows of ``like``."""
    shape = (capacity,) + like.shape[1:]
    if like.dtype == object:
        return np.empty(shape, dtype=object)
    return np.zeros(shape, dtype=like.dtype)
