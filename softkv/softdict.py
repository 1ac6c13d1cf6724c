"""SoftDict: a dictionary that answers any query by attention over its keys."""

from __future__ import annotations

import reprlib
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from typing import TYPE_CHECKING, Any

import numpy as np

from ._display import dict_repr, dict_table
from ._mapping import DictMethods, tell_each
from .encoders import CachedEncoder, Encoder, as_encoder
from .params import Parameter, Params
from .read import DEFAULT_CHUNK_BYTES, BatchResult, LookupResult
from .read._pipeline import check_batch, queries_of
from .read._reader import Reader
from .store import Backend, Contents, Memory, ReadWriteLock, Store, Update
from .store import write as write_checked
from .store._checks import check_projection, check_vectors, pairs_of

if TYPE_CHECKING:
    from os import PathLike
    from pathlib import Path

    from .nn import FitHistory, SoftKVMemory
    from .tools import CalibrationReport, Explanation

_MISSING = object()


class SoftDict(DictMethods):
    """A dict with string keys that answers a query that is not a key by attention.

    Reading a key returns its stored value, exactly as a dict does; reading any other text embeds it (by default
    with the bundled all-MiniLM-L6-v2) and returns the values blended by softmax(score(query, keys) / temperature),
    or for categories the value with the most weight.

    Design: stored values beside a float32 matrix of key embeddings that grows by doubling (each key encoded
    once); every read one pipeline, score -> weigh -> answer (:mod:`softkv.read`), every write one checked
    transaction (:mod:`softkv.store`), under a readers-writer lock.

    Parameters
    ----------
    data : mapping or iterable of (key, value) pairs, optional
        Initial contents; all keys are encoded in one batch.
    encoder : optional
        None or "minilm" for the bundled MiniLM, "multilingual", a SentenceTransformer, any other model name or
        local path, an object with ``encode(list[str])``, or a callable.
    cache_dir : path, optional
        Keep every embedding in an SQLite cache there, by encoder and text (:class:`softkv.encoders.CachedEncoder`).
    query_cache_size : int, default 1024
        Recent query texts whose embeddings are kept (0: none).
    on_evict : callable, optional
        Called as ``on_evict(key, value)`` for each key a bounded dict (``max_keys``) evicts, after the write;
        ``d.evictions`` counts them. If a call raises, the write stays, every other eviction is still told, and the
        first error is raised.
    backend : optional
        Where the keys live: in this process (None), or in Milvus (:mod:`softkv.backends`).
    **params
        How it reads (:class:`softkv.params.Params` documents each): ``temperature``, ``top_k``, ``threshold``,
        ``scoring``, ``exact_match``, ``spelling_weight``, ``spelling_measure``, ``mode``, ``strict``, ``max_keys``,
        ``evict``, ``value_names``, ``index``, ``candidates``; each is an attribute, checked when set.

    Methods by role:

    - building: ``SoftDict(data)``, :meth:`from_embeddings`, :meth:`load`, :meth:`from_module`, :meth:`copy`;
    - adding: ``d[k] = v``, :meth:`update`, :meth:`add` (with aliases or an embedding), :meth:`setdefault`;
    - removing: ``del d[k]``, :meth:`pop`, :meth:`popitem`, :meth:`clear`;
    - exact reads: ``k in d``, ``len``, ``iter``, :meth:`keys`, :meth:`values`, :meth:`items`, :meth:`aliases_of`;
    - soft reads: ``d[q]``, ``get`` (the default when ``d[q]`` misses), :meth:`lookup`, :meth:`lookup_many`,
      :meth:`nearest`, :meth:`embed`;
    - tools: :meth:`calibrate`, :meth:`fit`, :meth:`explain`, :meth:`save`, :meth:`to_module`,
      :meth:`update_from_module`, and for tools of your own :meth:`snapshot` and :meth:`apply_update`.

    Costs, N keys of width d ("encode": one encoder call): ``d[k] = v`` one encode of a new k, amortized O(d);
    ``update(m)`` one batched encode; ``del d[k]``, ``pop`` O(d); ``k in d``, ``len``, ``iter``, views and reading
    a key as for dict; ``d[q]``, ``lookup``, ``nearest``, ``get`` one encode (none for a repeated query), an O(N d)
    product and an O(N) softmax; ``lookup_many`` one encode of all queries, one matrix product per chunk.

    Examples
    --------
    >>> d = SoftDict({"apple": 10, "banana": 5, "chair": 2})
    >>> d["apple"]
    10
    >>> round(d["fruit"], 2)
    5.8
    >>> r = d.lookup("fruit")
    >>> {key: round(w, 3) for key, w in r.weights.items()}  # chair, at chance level, takes no weight
    {'banana': 0.839, 'apple': 0.161}
    >>> d.nearest("seat")[0]
    'chair'
    """

    # The read parameters, one typed attribute each (the Params table declares and checks them).
    temperature: Parameter[float | str] = Parameter()
    top_k: Parameter[int | None] = Parameter()
    threshold: Parameter[float | str | None] = Parameter()
    scoring: Parameter[str] = Parameter()
    exact_match: Parameter[bool | str] = Parameter()
    spelling_weight: Parameter[float | str] = Parameter()
    spelling_measure: Parameter[str] = Parameter()
    mode: Parameter[str] = Parameter()
    strict: Parameter[bool] = Parameter()
    max_keys: Parameter[int | None] = Parameter()
    evict: Parameter[str] = Parameter()
    value_names: Parameter[tuple[str, ...] | None] = Parameter()
    index: Parameter[Any] = Parameter()
    candidates: Parameter[int | None] = Parameter()

    def __init__(self, data: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None, *, encoder: Any = None,
                 cache_dir: Any = None, query_cache_size: int = 1024, on_evict: Any = None, backend: Any = None,
                 **params: Any) -> None:
        self._params = Params.make(**params)
        chosen: Encoder | None = as_encoder(encoder) if encoder is not False else None  # False: none at all
        if cache_dir is not None and chosen is not None:
            chosen = CachedEncoder(chosen, cache_dir)
        self._reader = Reader(chosen, query_cache_size)
        if backend is not None:
            from .backends import open_backend  # pymilvus only when a dict lives in Milvus
        self._store: Backend = Store() if backend is None else open_backend(backend, chosen, self._params)
        self._lock, self._on_evict, self.evictions = ReadWriteLock(), on_evict, 0
        if data is not None:
            self.update(data)

    @classmethod
    def from_embeddings(cls, keys: Sequence[str], embeddings: Any, values: Sequence[Any], *, encoder: Any = None,
                        **params: Any) -> SoftDict:
        """A SoftDict over precomputed key embeddings (n_keys, d); nothing is encoded (without an encoder,
        queries are vectors of width d; with one, texts too).

        >>> d = SoftDict.from_embeddings(["x", "y"], [[1.0, 0.0], [0.0, 1.0]], [0.0, 1.0], temperature=0.5)
        >>> round(d[np.array([0.8, 0.6])], 3)
        0.401
        """
        return cls._build(Contents.of_rows(keys, embeddings, values), encoder and as_encoder(encoder), params)

    @classmethod
    def _build(cls, contents: Contents, encoder: Any, params: dict[str, Any]) -> SoftDict:
        """A new SoftDict holding ``contents`` (one checked write; embeddings encoded only when there are none)."""
        d = cls(encoder=encoder if encoder is not None else False, **params)
        d._write(dict(contents.stored), aliases=contents.aliases, embeddings=contents.embeddings)
        if contents.projection is not None:
            d.query_projection = contents.projection
        if contents.background is not None and d._reader.encoder is not None:
            d._reader.background = contents.background  # measured with this encoder (its fingerprint was checked)
        if sorted(contents.usage) == sorted(contents.stored):
            d._store.usage.restore(contents.usage)  # a bounded dict's order of use survives copies and saves
        return d

    # ---- exact reads ----
    def __len__(self) -> int:  # the keys (aliases are other names of them), O(1)
        return len(self._store)

    def __iter__(self) -> Iterator[str]:
        """The keys in insertion order, as a dict iterates."""
        return iter(self._store.values)

    def __reversed__(self) -> Iterator[str]:
        """The keys, last inserted first, as reversed(dict)."""
        return reversed(self._store.values)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is a key, exactly (never soft; aliases are not keys). O(1)."""
        return isinstance(key, str) and key in self._store.values

    def keys(self) -> KeysView[str]:
        """A live view of the keys, as dict.keys()."""
        return self._store.values.keys()

    def values(self) -> ValuesView[Any]:
        """A live view of the stored values, as dict.values()."""
        return self._store.values.values()

    def items(self) -> ItemsView[str, Any]:
        """A live view of the (key, stored value) pairs, as dict.items()."""
        return self._store.values.items()

    def aliases_of(self, key: str) -> list[str]:
        """The other names of ``key`` (KeyError if it is not a key)."""
        with self._lock.reading():
            if key not in self:
                raise KeyError(key)
            return list(self._store.aliases_of.get(key, []))

    # ---- adding and removing ----
    def __setitem__(self, key: str, value: Any) -> None:  # one encode for a new key, none for an existing one
        self._write({key: value})

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Insert or replace many pairs, as dict.update: all checked first, new keys encoded in one batch (a
        SoftDict with the same encoder lends its key embeddings)."""
        known: Mapping[str, np.ndarray] = {}
        if isinstance(other, SoftDict) and other._reader.encoder is self._reader.encoder:
            memory = other.snapshot(spelling=False, measure=False)[0]
            other, known = memory.stored, dict(zip(memory.keys, memory.embeddings))
        self._write(pairs_of(other, kwargs), embeddings=known)

    def add(self, key: str, value: Any, *, aliases: Sequence[str] = (), embedding: Any = None) -> None:
        """Insert one pair, with other names for the key and its embedding precomputed when given.

        An alias is another name of the entry: reading it returns the entry's value exactly, and a lookup
        scores the entry by its best name. ``k in d`` and iteration see keys only. Every name is unique.

        >>> states = SoftDict({"Germany": 83})
        >>> states.add("United States", 335, aliases=["USA", "America"])
        >>> states["USA"], states.lookup("the US of A").nearest, len(states)
        (335, 'United States', 2)
        """
        names = [aliases] if isinstance(aliases, str) else list(aliases)
        embeddings = {}
        if embedding is not None:
            if key in self:
                raise ValueError(f"{key!r} is already a key: an embedding can only come with a new key")
            embeddings[key] = check_vectors(embedding, 1, None)[0]
        self._write({key: value}, aliases={key: names} if names else None, embeddings=embeddings)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """The stored value of an exact key; otherwise store ``default`` under it and return it."""
        value = self._store.values.get(key, _MISSING) if isinstance(key, str) else _MISSING
        if value is _MISSING:
            self._write({key: default}, only_new=True)
            value = self._store.values.get(key, default)  # a concurrent write may have evicted it since
        return value

    def __delitem__(self, key: str) -> None:  # an exact key and its aliases, O(d); KeyError if it is not a key
        self.pop(key)

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        """Remove an exact key and return its value, as dict.pop (never soft), O(d)."""
        with self._lock.writing():
            if key in self:
                value = self._store.values[key]
                self._store.delete(key)
                return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[str, Any]:
        """Remove and return the last inserted (key, value) pair, as dict.popitem, O(d)."""
        with self._lock.writing():
            if not self._store.values:
                raise KeyError("popitem(): SoftDict is empty")
            key = next(reversed(self._store.values))
            return key, self.pop(key)

    def clear(self) -> None:
        """Remove every key, in place (views stay live), O(1) beside freeing the rows."""
        with self._lock.writing():
            self._store.clear()

    def _state(self, sample: int | None = None) -> tuple[Contents, Encoder | None, dict[str, Any]]:
        if sample is not None:  # about this many keys drawn uniformly (DictMethods.sample)
            return self._store.sample(sample), self._reader.encoder, self._params.as_dict()
        memory, params = self.snapshot(spelling=False, measure=False)
        return memory.contents(), self._reader.encoder, params.as_dict()

    # ---- soft reads ----
    def __getitem__(self, query: Any) -> Any:
        """A key's (or alias's) stored value, the very object stored; any other query is read softly (KeyError
        on a miss), or with ``strict=True`` raises KeyError as a dict would."""
        params = self._params
        with self._lock.reading():
            found = self._store.entry_value(query, params.exact_match)
            if found is not None:
                if params.counts_uses:
                    self._store.usage.touch([found[0]])
                return found[1]
        if params.strict:
            raise KeyError(query)
        return self.lookup(query).value

    def lookup(self, query: str | np.ndarray, *, on_miss: str = "raise", **params: Any) -> LookupResult:
        """The soft answer to one query with its weights, scores and nearest key.

        A miss raises KeyError; ``on_miss="ignore"`` returns the blend anyway
        with ``.missed``, ``.p_miss`` and ``.reason`` set. ``params`` (``temperature=0.1``)
        read this query with other parameters, checked as ``set_params`` checks them.

        >>> d = SoftDict({"apple": 10, "banana": 5, "chair": 2})
        >>> r = d.lookup("fruit")
        >>> r.nearest, [(k, round(w, 2)) for k, w, _ in r.top(2)]
        ('banana', [('banana', 0.84), ('apple', 0.16)])
        """
        return self._read([query], on_miss=on_miss, params=params)[0]

    def lookup_many(self, queries: Iterable[Any] | np.ndarray, *, on_miss: str = "raise", weights: bool = True,
                    exclude: Sequence[str | None] | None = None, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> BatchResult:
        """Soft answers to many queries: one encoder call, one matrix product per chunk.

        A query below the threshold raises KeyError (``on_miss="raise"``),
        reads NaN or None ("mask"), or the blend anyway ("ignore"). ``exclude``
        names a key per query to read as if it were not there. ``weights=False``
        keeps no (n_queries, n_keys) arrays; ``chunk_bytes`` bounds a chunk's.

        >>> d = SoftDict({"apple": 10, "banana": 5, "chair": 2})
        >>> batch = d.lookup_many(["fruit", "seat", "apple"])
        >>> batch.values.round(2), batch.weight_array.shape
        (array([ 5.8,  2. , 10. ]), (3, 3))
        """
        return self._read(check_batch(queries, exclude), on_miss=on_miss, keep_weights=weights,
                          chunk_bytes=chunk_bytes, exclude=exclude)

    def nearest(self, query: str | np.ndarray) -> tuple[str, Any, float]:
        """Hard retrieval: (key, value, score) of the best-scoring key (a key itself for a key).

        >>> SoftDict({"apple": 10, "banana": 5, "chair": 2}).nearest("stool")[:2]
        ('chair', 2)
        """
        batch = self._read([query], on_miss="raise")
        row = int(batch.nearest_rows[0])
        assert batch.score_array is not None
        return batch.keys[row], batch.row_values[row], float(batch.score_array[0, row])

    def embed(self, queries: Iterable[Any] | np.ndarray) -> np.ndarray:
        """The (n, d) embeddings a read of ``queries`` uses: texts encoded (once: a cache), vectors checked."""
        return self._reader.embed(queries_of(queries, "embed"), self._store.dim)

    def _read(self, queries: Sequence[Any], params: dict[str, Any] | None = None, **options: Any) -> BatchResult:
        read_with = self._params.replace(**params) if params else self._params  # one Params record per read
        return self._reader.read(self._store, self._lock, read_with, queries, **options)

    # ---- the state tools work on ----
    def snapshot(self, *, spelling: bool = True, measure: bool = True) -> tuple[Memory, Params]:
        """A consistent copy of what a read reads, and the parameters, O(N d) (for a tool to work on)."""
        background = self._reader.measured_background(measure)  # any encoding with no lock held
        with self._lock.reading():  # the memory and the parameters of one state
            return self._reader.memory(self._store, copy=True, spelling=spelling, background=background), self._params

    def apply_update(self, update: Update) -> None:
        """Apply a change a tool computed from :meth:`snapshot`, checked whole, under the write lock (new rows:
        RuntimeError if the dict changed since the snapshot; parameters alone touch no rows)."""
        with self._lock.writing():
            params = self._params.replace(**update.params)
            self._store.apply_update(update)
            evicted = self._store.evict_over(params.max_keys)  # a smaller max_keys takes effect at once
            self._params = params
        self._report_evictions(evicted)

    def set_params(self, **params: Any) -> None:
        """Set several parameters at once: all checked, together, before any changes."""
        self.apply_update(Update(params=params))

    # ---- tools: each works on a snapshot and hands back an Update (or a new SoftDict) ----
    def calibrate(self, queries: Iterable[Any] | None = None, targets: Any = None, *, folds: int | None = None,
                  keys: Sequence[str | None] | None = None, target_precision: float | None = None) -> CalibrationReport:
        """Choose how to read from data and apply it; the report says what and why (``tools.calibrate_dict``)."""
        from .tools._calibration import calibrate_dict
        return calibrate_dict(self, queries, targets, folds=folds, keys=keys, target_precision=target_precision)

    def fit(self, queries: Iterable[Any], targets: Any, **options: Any) -> FitHistory:
        """Train values, temperature, spelling weight or a query projection (:func:`softkv.nn.fit`; torch)."""
        from .nn._training import fit_dict
        return fit_dict(self, queries, targets, **options)

    def to_module(self, *, learn: Sequence[str] = (), hops: int = 1) -> SoftKVMemory:
        """This SoftDict as a torch module that reads as it does (:func:`softkv.nn.to_module`)."""
        from .nn import to_module
        return to_module(*self.snapshot(), learn=learn, hops=hops)

    def update_from_module(self, module: SoftKVMemory) -> None:
        """Take back the key embeddings, values and read parameters of a module made by :meth:`to_module`."""
        from .nn import module_update
        self.apply_update(module_update(module, self.snapshot()[0]))

    @classmethod
    def from_module(cls, module: SoftKVMemory, keys: Sequence[str] | None = None, *, encoder: Any = None) -> SoftDict:
        """A new SoftDict holding a module's keys, values and read parameters."""
        from .nn import module_contents
        contents, params = module_contents(module, keys)
        return cls._build(contents, encoder and as_encoder(encoder), params)

    def explain(self, query: Any, *, k: int = 5, rows: int = 10) -> Explanation:
        """Why ``query`` reads what it does, key by key: meaning and spelling, weight, contribution, the answer
        without each of the ``k`` heaviest keys (:func:`softkv.tools.explain`; over a backend's candidates)."""
        from .tools import explain
        Q, params = self.embed([query]), self._params
        memory = self._reader.candidates(self._store, self._lock, params, [query], Q)
        return explain(*(self.snapshot() if memory is None else (memory, params)), query, Q, k=k, rows=rows)

    def save(self, path: str | PathLike[str]) -> Path:
        """Write this SoftDict to one file, atomically, without pickle (:func:`softkv.io.save`)."""
        from .io import save
        return save(self, path)

    @classmethod
    def load(cls, path: str | PathLike[str], *, encoder: Any = None, reencode: bool = False,
             load_model: bool = False) -> SoftDict:
        """A SoftDict from a file written by :meth:`save`, nothing re-encoded (:func:`softkv.io.load`)."""
        from .io import load
        return load(path, cls._build, encoder=encoder, reencode=reencode, load_model=load_model)

    # ---- introspection ----
    @property
    def encoder(self) -> Encoder | None:
        """The encoder of keys and text queries (None when built from embeddings alone)."""
        return self._reader.encoder

    @property
    def params(self) -> dict[str, Any]:
        """The read parameters, as keyword arguments of the constructor."""
        return self._params.as_dict()

    @property
    def value_kind(self) -> str | None:
        """"scalar", "array of shape (...)", "categorical", "opaque", or None while empty."""
        return None if self._store.spec is None else self._store.spec.describe()

    @property
    def usage(self) -> list[str]:
        """The keys from least to most recently used (added, for evict="fifo"): the order max_keys evicts in."""
        return self._store.usage.order()

    @property
    def key_embeddings(self) -> np.ndarray:
        """A copy of the key embeddings, (len(d), d), rows in iteration order."""
        with self._lock.reading():
            return self._store.embeddings_in_order()

    @property
    def query_projection(self) -> np.ndarray | None:
        """A (d, d) map applied to every query embedding before scoring, or None."""
        return self._store.projection

    @query_projection.setter
    def query_projection(self, matrix: Any) -> None:
        with self._lock.writing():
            self._store.projection = None if matrix is None else check_projection(matrix, self._store.width)

    @reprlib.recursive_repr("SoftDict({...})")  # a dict holding itself, as dict's repr shows it
    def __repr__(self) -> str:
        return dict_repr(self._store.values, self._reader.encoder, self._params.changed())

    def _repr_html_(self) -> str:
        """Size, value kind, encoder and the parameters set, then the first keys and values, for notebooks."""
        return dict_table(self._store.values, self.value_kind, self._reader.encoder, self._params.changed()).html()

    def _write(self, pairs: dict[str, Any], **options: Any) -> None:
        """Check, encode new names with no lock held, apply under the write lock (:func:`softkv.store.write`)."""
        encode = None if self._reader.encoder is None else self._reader.encode
        self._report_evictions(write_checked(self._store, self._lock, encode, pairs,
                                             max_keys=lambda: self._params.max_keys, **options))

    def _report_evictions(self, evicted: list[tuple[str, Any]]) -> None:  # with no lock held: on_evict may use d
        self.evictions += len(evicted)
        tell_each(self._on_evict, evicted)


__all__ = ["SoftDict"]
