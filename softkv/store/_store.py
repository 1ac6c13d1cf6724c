"""What a SoftDict holds: keys, their embeddings and values, and aliases; changed only by checked writes.

The store is below the dict and knows nothing of locks or encoders:

- :class:`Store` keeps the keys and the aliases as :class:`~softkv.rows.Rows`
  (one embedding row each), the stored values in insertion order, and the
  character n-gram index of every name;
- :meth:`Store.check` turns a requested change into a :class:`Write`, checking
  everything against the current contents (types, shapes, unique names,
  embeddings of the right width); :meth:`Store.apply` then carries it out and
  cannot fail, so a write happens whole or not at all;
- :meth:`Store.memory` is what a read reads: a :class:`Memory` record of
  views (under the dict's read lock) or of copies (a snapshot for tools that
  work without the lock).

A store is named by a number no other store of the process gets, and its
version counts its changes, so ``(source, version)`` names one state for
good: :meth:`Store.clear` empties a store in place (views of it stay live)
and moves its version on, so nothing computed before it (an update, an
index) is ever taken for the state after it.

>>> store = Store()
>>> write = store.check({"a": 1.0, "b": 2.0}, embeddings={"a": np.ones(2), "b": np.zeros(2)})
>>> store.apply(write)
>>> store.memory().keys, store.values
(['a', 'b'], {'a': 1.0, 'b': 2.0})
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import attention
from ..spelling import LexicalIndex, SpellingTable, fold
from ._checks import check_key, check_projection, check_vectors
from ._memory import Contents, Memory, Update
from ._rows import Rows, objects
from ._usage import Usage
from ._values import (
    CATEGORICAL,
    NUMERIC,
    OPAQUE,
    CategoryTable,
    ValueSpec,
    check_shapes,
    check_value,
    is_hashable,
    join_spec,
    numeric_rows,
)

__all__ = ["Store", "Write"]

_SOURCES = itertools.count(1)  # one number per store made in this process, never reused


@dataclass(frozen=True)
class Write:
    """One checked change: values of new and existing keys, embeddings of new names, new aliases."""

    values: dict[str, Any]  # key -> value as it will be stored
    new_keys: tuple[str, ...]
    embeddings: dict[str, np.ndarray]  # every new key and new alias -> its embedding row
    aliases: dict[str, tuple[str, ...]]  # key -> its new aliases
    spec: ValueSpec | None


class Store:
    """Keys, their embeddings and values, and aliases, of one SoftDict (not thread-safe on its own)."""

    def __init__(self) -> None:
        self.source = next(_SOURCES)
        self.version = 0  # bumped by every change of the rows (indexes and caches rebuild on it)
        self.values: dict[str, Any] = {}  # key -> stored value, in insertion order (views of it stay live)
        self.usage = Usage()  # keys from least to most recently used (for max_keys)
        self.projection: np.ndarray | None = None  # (d, d) applied to queries before scoring; kept by clear()
        self._spelling_lock = threading.Lock()
        # (names, n-gram document frequencies) of the larger store this one holds some keys of (a backend's
        # candidates): the spelling score's idf is then the larger store's
        self.document_frequencies: tuple[int, np.ndarray] | None = None
        self._empty()

    def _empty(self) -> None:
        """Everything but the identity, the version, the values dict and the usage order, as new."""
        self.keys = Rows()  # columns: embeddings, inverse_norms, values (object), numeric or codes
        self.aliases = Rows()  # columns: embeddings, inverse_norms, owner (object)
        self.aliases_of: dict[str, list[str]] = {}
        self.owner_of: dict[str, str] = {}
        self.spec: ValueSpec | None = None
        self.categories = CategoryTable.empty()
        self._lexical: LexicalIndex | None = None  # made on the first spelling read, then kept current
        self._spelling: tuple[int, SpellingTable] | None = None
        self._folded: tuple[int, dict[str, str | None]] | None = None
        self._derived_cache: tuple[int, bool, np.ndarray] | None = None

    def fork(self) -> Store:
        """A store of the same keys, values and aliases that changes apart from this one: its rows copied, no
        cache shared but the n-gram counts (copied too). What a backend adds a read's candidates to, over a
        sample of its keys checked once (O(N) copies instead of O(N) checks and appends per read)."""
        other = Store()
        other.values, other.usage, other.projection = dict(self.values), Usage(self.usage.order()), self.projection
        other.document_frequencies = self.document_frequencies
        other.keys, other.aliases = self.keys.copy(), self.aliases.copy()
        other.aliases_of = {key: list(names) for key, names in self.aliases_of.items()}
        other.owner_of, other.spec = dict(self.owner_of), self.spec
        other.categories = CategoryTable(list(self.categories.categories), dict(self.categories.code_of))
        with self._spelling_lock:
            other._lexical = None if self._lexical is None else self._lexical.copy()
        return other

    def clear(self) -> None:
        """Remove every key, in place: O(1) beside freeing the rows."""
        self._empty()
        self.values.clear()
        self.usage.clear()
        self.version += 1

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def dim(self) -> int | None:
        """The width of the key embeddings (None while there are none)."""
        return int(self.keys["embeddings"].shape[1]) if len(self.keys) else None

    @property
    def width(self) -> int | None:
        """The width every new embedding must have: the keys', or the projection's while there are no keys."""
        if len(self.keys) or self.projection is None:
            return self.dim
        return int(self.projection.shape[0])

    @property
    def state(self) -> tuple[int, int]:
        """(source, version): this store, in its current state (see :attr:`Memory.state`)."""
        return self.source, self.version

    def embeddings_in_order(self) -> np.ndarray:
        """A copy of the key embeddings in insertion order, (N, d)."""
        if not len(self.keys):
            return np.empty((0, self.dim or 0), dtype=np.float32)
        return self.keys["embeddings"][[self.keys.row_of[key] for key in self.values]]

    def entry_of(self, name: str) -> str | None:
        """The key that ``name`` is (a key itself, or an alias of one), or None."""
        return name if name in self.values else self.owner_of.get(name)

    def entry_named(self, text: object, match: bool | str = True) -> str | None:
        """The key ``text`` names: :meth:`entry_of`, and with ``match=True`` also a name it equals up to case,
        accents and whitespace when only names of one key fold alike; None for a non-text or ``match=False``."""
        if not isinstance(text, str) or match is False:
            return None
        key = self.entry_of(text)
        if key is None and match is True and len(self.keys):
            key = self.folded_entries().get(fold(text))
        return key

    def entry_value(self, text: object, match: bool | str = True) -> tuple[str, Any] | None:
        """The key ``text`` names (:meth:`entry_named`) and its stored value, or None."""
        key = self.entry_named(text, match)
        return None if key is None else (key, self.values[key])

    # ---- writes ----
    def unembedded(self, keys: Sequence[str], aliases: Mapping[str, Sequence[str]],
                   embeddings: Mapping[str, Any]) -> list[str]:
        """The names a write would add that have no embedding yet (encode them, then check)."""
        names = [key for key in keys if key not in self.values] + [n for group in aliases.values() for n in group]
        return [name for name in dict.fromkeys(names) if name not in embeddings and name not in self.aliases]

    def check(self, pairs: Mapping[str, Any], aliases: Mapping[str, Sequence[str]] | None = None,
              embeddings: Mapping[str, Any] | None = None, *, embedded: bool = True) -> Write:
        """The :class:`Write` that sets ``pairs`` and adds ``aliases``, or an error, changing nothing.

        ``embeddings`` must hold every new key and new alias (see
        :meth:`unembedded`); ``embedded=False`` checks everything else, before
        the new names are encoded.
        """
        aliases, embeddings = dict(aliases or {}), embeddings or {}
        for key in pairs:
            check_key(key)
            if key in self.owner_of:
                raise ValueError(f"{key!r} is an alias of {self.owner_of[key]!r}; it cannot be a key too")
        check_shapes(self.spec, pairs)
        spec = join_spec(self.spec, pairs.values())
        if spec is not None and spec.kind == CATEGORICAL and self.spec is not None and self.spec.kind == NUMERIC and (
                not all(is_hashable(v) for v in self.values.values())):
            spec = ValueSpec(OPAQUE)  # numbers in lists, then a category: only opaque holds both
        values = {key: check_value(key, value, spec) for key, value in pairs.items()} if spec else {}
        new_keys = tuple(key for key in pairs if key not in self.values)
        new_aliases = self._check_aliases(aliases, set(pairs))
        names = list(new_keys) + [name for group in new_aliases.values() for name in group]
        if not embedded:
            names = [name for name in names if name in embeddings]
        missing = [name for name in names if name not in embeddings]
        if missing:
            raise ValueError(f"no embedding for {missing[:3]}")
        rows: dict[str, np.ndarray] = {}
        if names:
            stacked = np.stack([np.asarray(embeddings[n], dtype=np.float64).ravel() for n in names])
            rows = dict(zip(names, check_vectors(stacked, len(names), self.width)))
        return Write(values, new_keys, rows, new_aliases, spec)

    def _check_aliases(self, aliases: Mapping[str, Sequence[str]], keys: set[str]) -> dict[str, tuple[str, ...]]:
        """The new aliases of each key, checked: every name of the dict stays unique."""
        seen: dict[str, str] = {}
        checked = {}
        for key, names in aliases.items():
            if key not in self.values and key not in keys:
                raise KeyError(f"aliases of {key!r}, which is not a key")
            group = []
            for name in dict.fromkeys(names):
                check_key(name, "aliases")
                owner = self.owner_of.get(name) or seen.get(name)
                if name in self.values or name in keys or (owner is not None and owner != key):
                    raise ValueError(f"alias {name!r} is already a name of {owner or name!r}; names must be unique")
                if owner is None:
                    group.append(name)
                    seen[name] = key
            checked[key] = tuple(group)
        return {key: group for key, group in checked.items() if group}

    def apply(self, write: Write) -> None:
        """Carry out a checked write (nothing in it can fail)."""
        if write.spec is not None and write.spec != self.spec:
            self._respec(write.spec)
        for key, value in write.values.items():
            if key in self.values:
                self._set_value(key, value)
        if write.new_keys:
            self._append_keys(write)
        for key, names in write.aliases.items():
            vectors = np.stack([write.embeddings[name] for name in names])
            self.aliases.append(list(names), embeddings=vectors, inverse_norms=attention.inverse_norms(vectors),
                                owner=objects([key] * len(names)))
            self.aliases_of.setdefault(key, []).extend(names)
            self.owner_of.update(dict.fromkeys(names, key))
        if self._lexical is not None:
            self._lexical.add(list(write.new_keys) + [n for names in write.aliases.values() for n in names])
        self.version += 1

    def _append_keys(self, write: Write) -> None:
        keys = list(write.new_keys)
        vectors = np.stack([write.embeddings[key] for key in keys])
        stored = [write.values[key] for key in keys]
        self.keys.append(keys, embeddings=vectors, inverse_norms=attention.inverse_norms(vectors),
                         values=objects(stored), **self._value_columns(stored))
        for key, value in zip(keys, stored):
            self.values[key] = value
        self.usage.add(keys)

    def _value_columns(self, values: list[Any]) -> dict[str, np.ndarray]:
        assert self.spec is not None
        if self.spec.kind == CATEGORICAL:
            return {"codes": np.array([self.categories.code(v) for v in values], dtype=np.int64)}
        if self.spec.kind == NUMERIC:
            return {"numeric": numeric_rows(values, self.spec)}
        return {}  # opaque values are read from the "values" column itself

    def _respec(self, spec: ValueSpec) -> None:
        """A wider value kind: every row's value columns computed again, O(N)."""
        self.spec, self.categories = spec, CategoryTable.empty()
        self.keys.set_columns(drop=("numeric", "codes"), **self._value_columns(list(self.keys["values"]))
                              if len(self.keys) else {})

    def _set_value(self, key: str, value: Any) -> None:
        for column, data in self._value_columns([value]).items():
            self.keys.set(key, column, data[0])
        self.keys.set(key, "values", value)
        self.values[key] = value

    def replace_rows(self, values: Mapping[str, Any], embeddings: Mapping[str, Any]) -> None:
        """New values and embedding rows for existing keys (a trained read): all checked, then applied."""
        unknown = [key for key in [*values, *embeddings] if key not in self.values]
        if unknown:
            raise KeyError(f"{unknown[0]!r} is not a key any more; nothing was changed")
        write = self.check(values)
        rows = {key: check_vectors(row, 1, self.dim)[0] for key, row in embeddings.items()}
        self.apply(write)  # one new version for the values and the rows together
        for key, row in rows.items():
            self.keys.set(key, "embeddings", row)
            self.keys.set(key, "inverse_norms", attention.inverse_norms(row[None, :])[0])

    def apply_update(self, update: Update) -> None:
        """The rows and the projection of a tool's :class:`Update`, checked whole, then applied (new values or
        embeddings only into the state the update was computed from: RuntimeError otherwise)."""
        rows = bool(update.values or update.embeddings)
        if rows and update.made_from != self.state:
            raise RuntimeError("the SoftDict changed after the snapshot this update was made from; nothing was changed")
        projection = self.projection if update.projection is None else check_projection(update.projection, self.width)
        if rows:
            self.replace_rows(update.values, update.embeddings)
        self.projection = projection

    def delete(self, key: str) -> None:
        """Remove a key and its aliases: O(d) each."""
        names = self.aliases_of.pop(key, [])
        for name in names:
            self.aliases.delete(name)
            del self.owner_of[name]
        self.keys.delete(key)
        del self.values[key]
        self.usage.remove(key)
        if self._lexical is not None:
            for name in [key, *names]:
                self._lexical.remove(name)
        if not self.values:
            self.spec, self.categories = None, CategoryTable.empty()
        self.version += 1

    def evict_over(self, max_keys: int | None) -> list[tuple[str, Any]]:
        """Delete the least recently used keys beyond ``max_keys``; the (key, value) pairs that went."""
        if max_keys is None or len(self.values) <= max_keys:
            return []
        gone = [(key, self.values[key]) for key in self.usage.oldest(len(self.values) - max_keys)]
        for key, _ in gone:
            self.delete(key)
        return gone

    # ---- reads ----
    def memory(self, *, encoder: Any = None, background: Any = None,
               copy: bool = False, spelling: bool = True) -> Memory:
        """The :class:`Memory` a read reads: views (hold the read lock while using them) or copies.

        A copy carries the spelling table of this version (``spelling=False`` leaves it out, for saving).
        """
        keys, aliases = self.keys, self.aliases
        dim = self.dim or 0
        take = np.array if copy else np.asarray
        unit_keys, alias_rows = self._derived()
        categorical = self.spec is not None and self.spec.kind == CATEGORICAL
        numeric = self.spec is not None and self.spec.kind == NUMERIC
        empty = not len(keys)
        return Memory(
            keys=list(keys.names) if copy else keys.names,
            embeddings=np.empty((0, dim), np.float32) if empty else take(keys["embeddings"]),
            inverse_norms=np.empty(0, np.float32) if empty else take(keys["inverse_norms"]),
            unit_keys=unit_keys,
            row_values=[] if empty else list(keys["values"]) if copy else keys["values"],  # type: ignore[arg-type]
            stored=dict(self.values) if copy else self.values,
            spec=self.spec,
            numeric=take(keys["numeric"]) if numeric and not empty else None,
            codes=None if empty or not categorical else take(keys["codes"]),
            categories=list(self.categories.categories) if copy else self.categories.categories,
            alias_names=list(aliases.names) if copy else aliases.names,
            alias_embeddings=take(aliases["embeddings"]) if len(aliases) else np.empty((0, dim), np.float32),
            alias_inverse_norms=take(aliases["inverse_norms"]) if len(aliases) else np.empty(0, np.float32),
            alias_rows=alias_rows,
            row_of=dict(keys.row_of) if copy else keys.row_of,
            owner_of=dict(self.owner_of) if copy else self.owner_of,
            aliases_of={key: list(names) for key, names in self.aliases_of.items()} if copy else self.aliases_of,
            spelling=(self.spelling_table().spelling if spelling else None) if copy else _LazySpelling(self),
            folded=dict(self.folded_entries()).get if copy else _LazyFolded(self),
            projection=self.projection,
            encoder=encoder,
            background=background,
            version=self.version,
            source=self.source,
            usage=self.usage.order() if copy else (),
        )

    def sample(self, n: int) -> Contents:
        """About ``n`` keys drawn uniformly (the same ones for the same state), with their aliases, O(N d)."""
        contents = self.memory(copy=True, spelling=False).contents()
        keys = list(contents.stored)
        if n < len(keys):
            keys = [keys[i] for i in sorted(np.random.default_rng(self.version).choice(len(keys), n, replace=False))]
        aliases = {key: contents.aliases[key] for key in keys if key in contents.aliases}
        names = keys + [name for group in aliases.values() for name in group]
        embeddings = contents.embeddings or {}
        return Contents({key: contents.stored[key] for key in keys}, {name: embeddings[name] for name in names},
                        aliases, None, contents.background)

    def memory_for(self, queries: Sequence[Any], Q: np.ndarray, params: Any, *, encoder: Any = None,
                   background: Any = None, candidates: Sequence[int] | None = None) -> Memory:
        """What a read of ``queries`` reads (:class:`~softkv.store.Backend`): every key, as views (a backend
        searches each query's ``candidates`` nearest names; here every key is read)."""
        return self.memory(encoder=encoder, background=background)

    def _derived(self) -> tuple[bool, np.ndarray]:
        """Whether every key has length 1, and the key row of each alias: computed once per version."""
        cached = self._derived_cache
        if cached is None or cached[0] != self.version:
            norms = self.keys["inverse_norms"] if len(self.keys) else np.ones(0)
            unit = bool(np.all(np.abs(norms - 1.0) <= 1e-6))
            rows = np.array([self.keys.row_of[o] for o in self.aliases["owner"]] if len(self.aliases) else [],
                            dtype=np.int64)
            cached = self._derived_cache = (self.version, unit, rows)
        return cached[1], cached[2]

    def folded_entries(self) -> dict[str, str | None]:
        """Each name folded (case, accents, whitespace) -> the key it names, or None where names of two keys
        fold alike (no exact match then), for this version. O(names) once per version."""
        with self._spelling_lock:
            if self._folded is None or self._folded[0] != self.version:
                found: dict[str, str | None] = {}
                for name in self.keys.names + self.aliases.names:
                    key, folded = self.entry_of(name), fold(name)
                    found[folded] = key if found.get(folded, key) == key else None
                self._folded = (self.version, found)
            return self._folded[1]

    def spelling_table(self) -> SpellingTable:
        """The spelling side of the score for every name (keys in row order, then aliases), for this version."""
        with self._spelling_lock:  # readers share the store: one of them builds, the others wait for it
            if self._spelling is None or self._spelling[0] != self.version:
                if self._lexical is None:
                    self._lexical = LexicalIndex()
                    self._lexical.add(self.keys.names + self.aliases.names)
                self._spelling = (self.version, self._lexical.table(self.keys.names + self.aliases.names,
                                                                    self.document_frequencies))
            return self._spelling[1]


@dataclass(frozen=True)
class _LazyFolded:
    """The key a folded text names, from the store's current table of folded names, made on first use."""

    store: Store = field(repr=False)

    def __call__(self, folded: str) -> str | None:
        return self.store.folded_entries().get(folded)


@dataclass(frozen=True)
class _LazySpelling:
    """Spelling similarities from the store's current table, built on the first read that needs one."""

    store: Store = field(repr=False)

    def __call__(self, texts: list[str], measure: str = "both") -> np.ndarray:
        return self.store.spelling_table().spelling(texts, measure)
