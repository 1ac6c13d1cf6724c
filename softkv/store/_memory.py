"""The records between a store and its readers and writers.

- :class:`Memory`: what a read reads, a consistent view (or copy) of a
  store's keys, embeddings, values and aliases;
- :class:`Contents`: what a SoftDict is built from (a copy, a loaded file, a
  torch module);
- :class:`Update`: a change a tool computed from a snapshot (calibration,
  training), applied by ``SoftDict.apply_update``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..spelling import fold
from ._checks import check_vectors
from ._values import CATEGORICAL, NUMERIC, OPAQUE, ValueSpec, mixed_kinds_message

__all__ = ["Contents", "Memory", "Population", "Update"]


@dataclass(frozen=True)
class Contents:
    """What a SoftDict holds, to build one from: values in insertion order, embeddings, aliases, projection.

    ``embeddings`` maps every key and alias to its row (None: encode them).
    A copy, a loaded file and a torch module all become a SoftDict through it.
    """

    stored: dict[str, Any]
    embeddings: dict[str, np.ndarray] | None
    aliases: dict[str, list[str]]
    projection: np.ndarray | None = None
    background: Any = None  # the encoder's Background, when it comes with the contents
    usage: Sequence[str] = ()  # the keys from least to most recently used (a bounded dict's order), if known

    @classmethod
    def of_rows(cls, keys: Sequence[str], embeddings: Any, values: Sequence[Any]) -> Contents:
        """Keys with one embedding row and one value each (checked: distinct keys, rows of numbers)."""
        keys, values, vectors = list(keys), list(values), np.asarray(embeddings)
        if vectors.ndim != 2 or not vectors.shape[0] == len(keys) == len(values) or len(set(keys)) != len(keys):
            raise ValueError(f"need one embedding row and one value per key, keys distinct: got {len(keys)} keys "
                             f"({len(set(keys))} distinct), embeddings of shape {vectors.shape}, {len(values)} values")
        return cls(dict(zip(keys, values)), dict(zip(keys, check_vectors(vectors, len(keys), None))), {})


@dataclass(frozen=True)
class Update:
    """A change computed from a snapshot by a tool (calibration, training), applied by ``SoftDict.apply_update``.

    New read parameters, and new values and embedding rows of existing keys;
    ``made_from`` is the (source, version) of the snapshot: rows are only
    written back into the state they were computed from.
    """

    params: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    projection: np.ndarray | None = None
    made_from: tuple[int, int] | None = None


@dataclass(frozen=True)
class Population:
    """The whole store behind a :class:`Memory` that holds only some of its keys (a backend's candidates).

    ``sampled`` marks the rows of the memory that are a uniform sample of the
    keys outside the candidates: they stand for those keys in the spread of
    each query's scores (the "auto" temperature). With the moments of every
    unit key embedding, Σk and Σkkᵀ, the similarity part of that spread is
    exact, and the sample stands only for what spelling and aliases add.
    """

    n_keys: int
    n_names: int  # keys and aliases
    sampled: np.ndarray  # (rows of the memory,) bool
    key_sum: np.ndarray | None = None  # (d,) float64: Σ k/|k| over every key of the store
    key_squares: np.ndarray | None = None  # (d, d) float64: Σ (k/|k|)(k/|k|)ᵀ
    candidates: np.ndarray | None = None  # (B,) the nearest names the engine returned for each query

    def tail_mass(self, sample_weight: np.ndarray) -> np.ndarray:
        """(B,) the share of each query's weight that the keys outside this memory would take, from the weight
        each query read on the sample standing for them (B,): that mass times how many unread keys each sampled
        key stands for, beside the weight read. 0 when every key is read; NaN with no sample to tell.

        >>> Population(103, 103, np.array([False, False, True])).tail_mass(np.array([0.01]))
        array([0.5])
        """
        n_sample = int(self.sampled.sum())
        unread = self.n_keys - len(self.sampled)
        if unread <= 0:
            return np.zeros(len(sample_weight))
        if not n_sample:
            return np.full(len(sample_weight), np.nan)
        beyond = np.asarray(sample_weight, dtype=np.float64) * (unread / n_sample)
        mass: np.ndarray = beyond / (1.0 + beyond)
        return mass


@dataclass(frozen=True)
class Memory:
    """What a read reads: the keys in row order with their embeddings and values, and the aliases.

    Made by :meth:`Store.memory`: views that stay valid while the dict's read
    lock is held, or (``copy=True``) a snapshot of copies that stays valid
    after it. ``spelling`` gives the spelling similarity of query texts to
    every name, keys first, then aliases.
    """

    keys: list[str]  # in row order (not insertion order: see ``stored``)
    embeddings: np.ndarray  # (N, d) float32
    inverse_norms: np.ndarray  # (N,)
    unit_keys: bool  # every key embedding has length 1
    row_values: Sequence[Any]  # the stored values, in row order
    stored: Mapping[str, Any]  # key -> stored value, in insertion order
    spec: ValueSpec | None
    numeric: np.ndarray | None  # (N, *shape) float64 for numeric values
    codes: np.ndarray | None  # (N,) category code of each key, for categorical values
    categories: Sequence[Any]
    alias_names: list[str]
    alias_embeddings: np.ndarray  # (A, d)
    alias_inverse_norms: np.ndarray
    alias_rows: np.ndarray  # (A,) the key row of each alias
    row_of: Mapping[str, int]
    owner_of: Mapping[str, str]  # alias -> key
    aliases_of: Mapping[str, list[str]]  # key -> its aliases, in the order they were added
    spelling: Any  # a callable: (texts, measure) -> (B, N + A) similarities (softkv.spelling.MEASURES)
    folded: Any = None  # a callable: a folded text -> the one key a name folds to, or None (none, or several)
    projection: np.ndarray | None = None
    encoder: Any = None
    background: Any = None  # the encoder's softkv.background.Background: the yardstick of the default score
    version: int = 0
    source: int = 0  # identifies the store: (source, version) names one state of one store
    usage: Sequence[str] = ()  # in a copy: the keys from least to most recently used
    population: Population | None = None  # the whole store, when this memory holds some of its keys

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def dim(self) -> int | None:
        return int(self.embeddings.shape[1]) if len(self.keys) else None

    @property
    def n_names(self) -> int:
        """The names (keys and aliases) of the whole store, whose best chance score a default cutoff is set at."""
        return len(self.keys) + len(self.alias_names) if self.population is None else self.population.n_names

    def exact_row(self, text: str, match: bool | str = True) -> int:
        """The row of the key ``text`` names, -1 for none: exactly (``match="strict"``), or also up to case,
        accents and whitespace when the names that fold alike are all names of one key (``True``)."""
        row = self.row_named(text)
        if row >= 0 or match is not True or self.folded is None:
            return row
        entry = self.folded(fold(text))
        return -1 if entry is None else self.row_of[entry]

    def row_named(self, name: str) -> int:
        """The row of the key that ``name`` is (a key or an alias of one), or -1."""
        row = self.row_of.get(name)
        if row is None:
            owner = self.owner_of.get(name)
            row = -1 if owner is None else self.row_of[owner]
        return row

    @property
    def categorical(self) -> bool:
        return self.spec is not None and self.spec.kind == CATEGORICAL

    @property
    def opaque(self) -> bool:
        return self.spec is not None and self.spec.kind == OPAQUE

    def numeric_values(self, what: str) -> np.ndarray:
        """The float64 ``(N, *shape)`` values, or a TypeError saying which kinds make ``what`` impossible."""
        if self.numeric is None or self.spec is None or self.spec.kind != NUMERIC:
            raise TypeError(mixed_kinds_message(self.spec, dict(self.stored), what))
        return self.numeric

    @property
    def state(self) -> tuple[int, int]:
        """(source, version): which store, in which state, this memory shows."""
        return self.source, self.version

    def contents(self) -> Contents:
        """The :class:`Contents` this memory holds (for a copy)."""
        embeddings = dict(zip(self.keys, self.embeddings)) | dict(zip(self.alias_names, self.alias_embeddings))
        return Contents(dict(self.stored), embeddings, {k: list(v) for k, v in self.aliases_of.items()},
                        self.projection, self.background, list(self.usage))
