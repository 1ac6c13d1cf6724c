"""SoftDict: a dictionary that answers any query by attention over its keys."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any, cast

import numpy as np

from ._extras import SoftDictExtras
from ._params import (
    Parameter,
    check_bool,
    check_hybrid,
    check_index,
    check_mode,
    check_null_score,
    check_projection,
    check_scoring,
    check_temperature,
    check_threshold,
    check_top_k,
    hybrid_is_set,
)
from ._read import DEFAULT_CHUNK_BYTES, QueryCache, check_not_empty, check_vectors, embed_queries, read
from ._store import EmbeddingView, RowStore, check_key
from ._sync import ReadWriteLock
from ._values import check_value, infer_spec
from .encoders import Encoder, as_encoder, encode_checked
from .result import BatchResult, LookupResult, _short

_MISSING = object()
_NO_ENCODER = object()


class SoftDict(SoftDictExtras, MutableMapping[str, Any]):
    """A dict with string keys that answers a query that is not a key by attention.

    Keys are embedded once by a sentence encoder (by default the bundled
    all-MiniLM-L6-v2). Reading a key that is present returns its stored value,
    exactly as a dict does; reading any other text embeds it and returns the
    values blended by softmax(similarity(query, keys) / temperature). Values
    are numbers, fixed-shape numeric arrays, or categories (str, bool, ...),
    for which the answer is the value with the most weight.

    Design: a dict of stored values (for exact semantics and insertion order)
    beside a float32 matrix of key embeddings that grows by doubling, so each
    key is encoded exactly once.

    Parameters
    ----------
    data : mapping or iterable of (key, value) pairs, optional
        Initial contents; all keys are encoded in one batch.
    encoder : optional
        None for the bundled MiniLM, a SentenceTransformer, a model name or
        local path, an object with ``encode(list[str])``, or a callable
        (see :mod:`softkv.encoders`).
    temperature : "auto" or float > 0, default "auto"
        Softmax temperature over the similarities. "auto" uses, per query,
        std(scores) / ln(n_keys + 1): a real blend over three keys and still a
        focused one over thousands. A number is used as it is (for cosine,
        0.05 is sharp and 1 is nearly uniform).
    top_k : int >= 1 or None
        Only the k most similar keys get weight (sparse attention).
    threshold : float or None
        A lookup whose best similarity is below it raises KeyError naming the
        nearest keys (``get`` returns its default instead).
    scoring : {"cosine", "dot", "scaled_dot", "neg_l2"}, default "cosine"
        The similarity; see :func:`softkv.attention.scores`.
    exact_match : bool, default True
        A query equal to a key returns that key's value as stored. False makes
        keys blend like any other query.
    hybrid : "auto" or float in [0, 1], default "auto"
        Weight of spelling in the score: (1 - hybrid) * cosine of the
        sentence embeddings + hybrid * spelling similarity (the cosine of
        character bigram and trigram TF-IDF vectors, scaled by the square
        root of the length ratio: :meth:`softkv.lexical.LexicalIndex.spelling`).
        Typos and abbreviations need spelling; meaning needs the encoder. "auto" is
        0.5 with ``scoring="cosine"`` and 0 with the other scorings; a
        number needs cosine. Vector queries, reads through an approximate
        index and the torch module score by meaning alone. With the "auto"
        temperature, a query that shares no bigram with any key gets
        exactly the weights of the meaning-only read.
    mode : {"softmax", "sparsemax", "hard"}, default "softmax"
        How scores become weights: softmax (every key some weight), sparsemax
        (exact zeros below a data-dependent cut) or hard (all the weight on
        the nearest key). As temperature goes to 0, softmax becomes hard.
    null_score : float or None, default None
        Adds a "none of these" slot of this score to the softmax and reports
        its weight as ``lookup(q).p_miss`` (the keys' weights still sum to 1).
        A calibrated threshold is a good null score.
    cache_dir : path, optional
        Keep every embedding in an SQLite cache there, keyed by the encoder's
        fingerprint and the text, so that rebuilding from the same catalog
        encodes nothing (:class:`softkv.cache.CachedEncoder`).
    index : "auto", "exact", "ivf" or IVFIndex, default "auto"
        How a top_k read finds its k keys: "exact" scores every key; "ivf"
        asks a faiss IVF index (the ``[faiss]`` extra) for approximate
        candidates; "auto" uses IVF for top_k reads over at least
        ``softkv.index.ANN_MIN_KEYS`` (200,000) keys when faiss is installed.
    query_cache_size : int, default 1024
        How many recent query texts keep their embeddings in memory, so a
        repeated query costs no encode (0 turns the cache off).

    Methods by role:

    - building: ``SoftDict(data)``, :meth:`from_embeddings`, :meth:`load`, :meth:`from_module`, :meth:`copy`;
    - adding: ``d[k] = v``, :meth:`update`, :meth:`add` (with aliases or an embedding), :meth:`setdefault`;
    - removing: ``del d[k]``, :meth:`pop`, :meth:`popitem`, :meth:`clear`;
    - exact reads: ``k in d``, ``len``, ``iter``, :meth:`keys`, :meth:`values`, :meth:`items`;
    - soft reads: ``d[q]``, :meth:`get`, :meth:`lookup`, :meth:`lookup_many`, :meth:`nearest`;
    - tuning: :meth:`calibrate`, :meth:`fit`; saving: :meth:`save`;
      torch: :meth:`to_module`, :meth:`update_from_module`.

    Costs, for N keys of width d ("encode" is one encoder call):

    - adding: ``d[k] = v`` one encode of k, amortized O(d) (an existing key:
      O(1), no encode); ``update(m)`` one batched encode of the new keys;
    - removing: ``del d[k]``, ``pop`` O(d);
    - exact: ``k in d``, ``len``, ``iter``, ``keys/values/items``, reading a
      present key: as for dict, no encode;
    - soft: ``d[q]``, ``lookup``, ``nearest``, ``get``: one encode (none for
      a repeated query) plus an O(N d) matrix-vector product and an O(N)
      softmax (top_k: an O(N) partition, then O(k)); ``lookup_many``: one
      encode of all queries and one (n_queries, N) matrix product per chunk.

    Examples
    --------
    >>> d = SoftDict({"apple": 10, "banana": 5, "chair": 2})
    >>> d["apple"]
    10
    >>> round(d["fruit"], 2)
    5.7
    >>> r = d.lookup("fruit")
    >>> {key: round(w, 3) for key, w in r.weights.items()}
    {'banana': 0.816, 'apple': 0.156, 'chair': 0.027}
    >>> d.nearest("seat")[0]
    'chair'
    """

    temperature = Parameter(check_temperature, "auto")
    top_k = Parameter(check_top_k, None)
    threshold = Parameter(check_threshold, None)
    scoring = Parameter(check_scoring, "cosine")
    exact_match = Parameter(check_bool, True)
    hybrid = Parameter(check_hybrid, "auto")
    mode = Parameter(check_mode, "softmax")
    null_score = Parameter(check_null_score, None)
    index = Parameter(check_index, "auto")

    def __init__(
        self,
        data: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        *,
        encoder: Any = None,
        temperature: float | str = "auto",
        top_k: int | None = None,
        threshold: float | None = None,
        scoring: str = "cosine",
        exact_match: bool = True,
        hybrid: float | str = "auto",
        mode: str = "softmax",
        null_score: float | None = None,
        cache_dir: Any = None,
        query_cache_size: int = 1024,
        index: Any = "auto",
    ) -> None:
        self.temperature = temperature
        self.top_k = top_k
        self.threshold = threshold
        self.scoring = scoring
        self.exact_match = exact_match
        self.hybrid = hybrid
        self.mode = mode
        self.null_score = null_score
        self.index = index
        self._ivf: Any = None
        # from_embeddings passes _NO_ENCODER: it sets its own, and must not load the default model
        self._encoder: Encoder | None = None if encoder is _NO_ENCODER else as_encoder(encoder)
        if cache_dir is not None and self._encoder is not None:
            from .cache import CachedEncoder

            self._encoder = CachedEncoder(self._encoder, cache_dir)
        self._store = RowStore()
        if not isinstance(query_cache_size, int) or isinstance(query_cache_size, bool) or query_cache_size < 0:
            raise ValueError(f"query_cache_size must be an integer >= 0, got {query_cache_size!r}")
        self._lock = ReadWriteLock()
        self._query_cache = QueryCache(query_cache_size)
        self._query_projection: np.ndarray | None = None
        if data is not None:
            self.update(data)

    @classmethod
    def from_embeddings(
        cls,
        keys: Sequence[str],
        embeddings: Any,
        values: Sequence[Any],
        *,
        encoder: Any = None,
        **params: Any,
    ) -> SoftDict:
        """A SoftDict over precomputed key embeddings (n_keys, d); nothing is encoded.

        Without an encoder, queries must be vectors of width d; with one,
        text queries are embedded by it (it must match the embeddings).

        >>> d = SoftDict.from_embeddings(["x", "y"], [[1.0, 0.0], [0.0, 1.0]], [0.0, 1.0], temperature=0.5)
        >>> round(d[np.array([0.8, 0.6])], 3)
        0.401
        """
        self = cls.__new__(cls)
        SoftDict.__init__(self, None, encoder=_NO_ENCODER, **params)
        self._encoder = None if encoder is None else as_encoder(encoder)
        keys, values = list(keys), list(values)
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(keys) or len(values) != len(keys):
            raise ValueError(
                f"need one embedding row and one value per key: got {len(keys)} keys, "
                f"embeddings of shape {vectors.shape} and {len(values)} values"
            )
        self._write(list(zip(keys, values)), precomputed=vectors)
        return self

    # ---- exact mapping semantics ----
    def __len__(self) -> int:
        return len(self._store)

    def __iter__(self) -> Iterator[str]:
        return iter(self._store.values)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._store.values

    def keys(self):
        return self._store.values.keys()

    def values(self):
        return self._store.values.values()

    def items(self):
        return self._store.values.items()

    def __setitem__(self, key: str, value: Any) -> None:
        self._write([(key, value)])

    def __delitem__(self, key: str) -> None:
        with self._lock.writing():
            if key not in self:
                raise KeyError(key)
            self._store.delete(key)

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        """Remove an exact key and return its value (as dict.pop; never soft)."""
        with self._lock.writing():
            if key in self:
                value = self._store.values[key]
                self._store.delete(key)
                return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[str, Any]:
        """Remove and return the last inserted (key, value) pair."""
        with self._lock.writing():
            if not self:
                raise KeyError("popitem(): SoftDict is empty")
            key = next(reversed(self._store.values))
            return key, self.pop(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """The stored value of an exact key; otherwise store ``default`` and return it."""
        with self._lock.writing():
            if key not in self:
                self[key] = default
            return self._store.values[key]

    def clear(self) -> None:
        with self._lock.writing():
            self._store = RowStore()

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Insert or replace many pairs; all new keys are encoded in one batch.

        All pairs are checked before anything changes: one bad key or value
        leaves the SoftDict as it was.
        """
        known = None
        if isinstance(other, SoftDict) and other._encoder is self._encoder:
            # Same encoder: its key embeddings are reused instead of encoding the keys again.
            known = EmbeddingView(other._store)
        pairs = list(other.items() if isinstance(other, Mapping) else other) + list(kwargs.items())
        self._write(pairs, known=known)

    def add(self, key: str, value: Any, *, aliases: Sequence[str] = (), embedding: Any = None) -> None:
        """Insert one pair, with other names for the key and its embedding precomputed when given.

        An alias is another name of the same entry: reading it returns the
        entry's value exactly, and a lookup scores the entry by its best name
        (key or alias); weights stay per entry. ``k in d`` and iteration see
        keys only. Aliases go when their key is deleted.

        >>> d = SoftDict.from_embeddings(["x"], [[1.0, 0.0]], [0.0])
        >>> d.add("y", 1.0, embedding=[0.0, 1.0])
        >>> sorted(d)
        ['x', 'y']
        >>> states = SoftDict({"Germany": 83})
        >>> states.add("United States", 335, aliases=["USA", "America"])
        >>> states["USA"], states.lookup("the US of A").nearest, len(states)
        (335, 'United States', 2)
        """
        names = list(dict.fromkeys([aliases] if isinstance(aliases, str) else aliases))
        for name in names:
            check_key(name)
            owner = self._store.entry_of(name)
            if name == key or (owner is not None and owner != key) or (owner == key and name != key):
                raise ValueError(f"alias {name!r} is already a name of {owner or key!r}; names must be unique")
        precomputed = None if embedding is None else np.asarray(embedding, dtype=np.float32).reshape(1, -1)
        alias_vectors = self._embed_keys(names, {}) if names else None
        with self._lock.writing():
            self._write([(key, value)], precomputed=precomputed)
            if names:
                self._store.add_aliases(key, names, alias_vectors)

    def aliases_of(self, key: str) -> list[str]:
        """The other names of ``key`` (KeyError if it is not a key)."""
        if key not in self:
            raise KeyError(key)
        return list(self._store.aliases.names_of.get(key, []))

    def copy(self) -> SoftDict:
        """A shallow copy sharing the encoder; embeddings are not recomputed."""
        with self._lock.reading():
            clone = SoftDict.from_embeddings(list(self), self.key_embeddings, list(self.values()), **self.params)
        clone._encoder = self._encoder
        clone._query_projection = self._query_projection
        clone.index = self.index
        with self._lock.reading():
            aliases = self._store.aliases
            for key, names in aliases.names_of.items():
                clone._store.add_aliases(key, list(names), aliases.embeddings[[aliases._row_of[n] for n in names]])
        return clone

    # ---- soft reads ----
    def __getitem__(self, query: Any) -> Any:
        if self.exact_match and isinstance(query, str):
            value = self._store.values.get(query, _MISSING)
            if value is _MISSING and query in self._store.aliases.key_of:
                value = self._store.values.get(self._store.aliases.key_of[query], _MISSING)
            if value is not _MISSING:
                return value
        return self.lookup(query).value

    def lookup(self, query: str | np.ndarray) -> LookupResult:
        """The soft answer to one query with its weights, scores and nearest key.

        >>> d = SoftDict({"apple": 10, "banana": 5, "chair": 2})
        >>> r = d.lookup("fruit")
        >>> r.nearest, [(k, round(w, 2)) for k, w, _ in r.top(2)]
        ('banana', [('banana', 0.82), ('apple', 0.16)])
        """
        batch = self._read([query], single=True, on_miss="raise", exact_value=True)
        result = batch[0]
        if result.exact:
            result.value = batch.exact_value  # exactly as stored, not a float
        return result

    def lookup_many(
        self,
        queries: Sequence[str] | np.ndarray,
        *,
        on_miss: str = "raise",
        weights: bool = True,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> BatchResult:
        """Soft answers to many queries: one encoder call, one matrix product per chunk.

        ``on_miss="raise"`` raises KeyError if any query is below the
        threshold; ``"mask"`` marks it in ``.missed`` with a NaN (or None) value.
        Queries are read in chunks whose temporaries fit ``chunk_bytes``;
        ``weights=False`` returns values and nearest keys without the
        (n_queries, n_keys) weight and score arrays, so memory stays bounded.

        >>> d = SoftDict({"apple": 10, "banana": 5, "chair": 2})
        >>> batch = d.lookup_many(["fruit", "seat", "apple"])
        >>> batch.values.round(2), batch.weights.shape
        (array([ 5.7,  2.5, 10. ]), (3, 3))
        """
        if on_miss not in ("raise", "mask"):
            raise ValueError(f'on_miss must be "raise" or "mask", got {on_miss!r}')
        if isinstance(queries, str):
            raise TypeError("lookup_many takes a list of queries; for one query use lookup()")
        rows = cast(Sequence[Any], queries)  # texts, or the rows of a (n_queries, d) array
        return self._read(rows, single=False, on_miss=on_miss, keep_weights=weights, chunk_bytes=chunk_bytes)

    def nearest(self, query: str | np.ndarray) -> tuple[str, Any, float]:
        """Hard retrieval: (key, value, score) of the most similar key.

        >>> SoftDict({"apple": 10, "banana": 5, "chair": 2}).nearest("stool")[:2]
        ('chair', 2)
        """
        batch = self._read([query], single=True, on_miss="raise")
        best = int(np.argmax(batch.scores[0]))
        return batch.keys[best], batch.row_values[best], float(batch.scores[0, best])

    def _read(
        self, queries: Sequence[Any], *, single: bool, on_miss: str, exact_value: bool = False, **options: Any
    ) -> BatchResult:
        check_not_empty(self._store, queries, single)
        Q = embed_queries(self._encoder, self._store.dim, queries, self._query_cache)  # no lock while encoding
        with self._lock.reading():
            batch = read(self._store, self.params, Q, queries, single=single, on_miss=on_miss,
                         projection=self._query_projection, index=self._approximate_index(), **options)
            if exact_value and batch.exact[0]:
                batch.exact_value = self._store.values[self._store.entry_of(queries[0])]
        return batch

    def _approximate_index(self) -> Any:
        """The IVF index this read should use, or None for an exact read."""
        from .index import ANN_MIN_KEYS, IVFIndex, faiss_available

        if isinstance(self.index, IVFIndex):
            chosen: Any = self.index
        elif self.index == "ivf" or (
            self.index == "auto" and self.top_k is not None and len(self._store) >= ANN_MIN_KEYS and faiss_available()
        ):
            if self._ivf is None:
                self._ivf = IVFIndex()
            chosen = self._ivf
        else:
            return None
        if self.top_k is None:
            raise ValueError("an approximate index reads the top_k best keys: set top_k, or index='exact'")
        if hybrid_is_set(self.hybrid) or len(self._store.aliases):
            raise ValueError("a set hybrid weight and aliases read every key: use index='exact' with them "
                             "(hybrid='auto' reads by meaning alone through the index)")
        return chosen

    @property
    def query_projection(self) -> np.ndarray | None:
        """A (d, d) map applied to every query embedding before scoring, or None."""
        return self._query_projection

    @query_projection.setter
    def query_projection(self, matrix: Any) -> None:
        if matrix is None:
            self._query_projection = None
            return
        self._query_projection = check_projection(matrix, self._store.dim)

    # ---- introspection ----
    @property
    def encoder(self) -> Encoder | None:
        """The encoder of keys and text queries (None when built from embeddings alone)."""
        return self._encoder

    @property
    def params(self) -> dict[str, Any]:
        """The lookup parameters, as keyword arguments of the constructor."""
        names = ("temperature", "top_k", "threshold", "scoring", "exact_match", "hybrid", "mode", "null_score")
        return {name: getattr(self, name) for name in names}

    @property
    def value_kind(self) -> str | None:
        """"scalar", "array of shape (...)", "categorical", or None while empty."""
        spec = self._store.spec
        return None if spec is None else spec.describe()

    @property
    def key_embeddings(self) -> np.ndarray:
        """A copy of the key embeddings, (len(d), d), rows in iteration order."""
        with self._lock.reading():
            store = self._store
            if not store.row_of:
                return np.empty((0, store.dim or 0), dtype=np.float32)
            return store.embeddings[[store.row_of[key] for key in store.values]]

    def __repr__(self) -> str:
        shown = dict(list(self._store.values.items())[:5])
        body = repr(shown) if len(self) <= 5 else repr(shown)[:-1] + f", ... ({len(self)} keys)}}"
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items() if v != SoftDict.__dict__[k].default)
        return f"SoftDict({body}, encoder={self._encoder!r}{', ' + params if params else ''})"

    def _repr_html_(self) -> str:
        """Size, encoder, parameters and the first keys, for notebooks."""
        import html

        rows = "".join(
            f"<tr><td>{html.escape(key)}</td><td>{html.escape(_short(value))}</td></tr>"
            for key, value in list(self._store.values.items())[:10]
        )
        more = f"<tr><td colspan='2'>… {len(self) - 10} more keys</td></tr>" if len(self) > 10 else ""
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return (
            f"<div class='softkv-dict'><p><b>SoftDict</b>: {len(self)} keys, values {html.escape(str(self.value_kind))}"
            f"<br>encoder {html.escape(repr(self._encoder))}<br>{html.escape(params)}</p>"
            f"<table><thead><tr><th>key</th><th>value</th></tr></thead><tbody>{rows}{more}</tbody></table></div>"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping) or len(other) != len(self):
            return False
        return all(k in other and np.array_equal(v, other[k]) for k, v in self.items())

    __hash__ = None  # type: ignore[assignment]

    # ---- internals ----
    def _embed_keys(self, keys: list[str], known: Mapping[str, np.ndarray]) -> np.ndarray:
        """Embeddings of new keys: those in ``known`` reused, the rest encoded in one batch."""
        to_encode = [key for key in keys if key not in known]
        if not to_encode:
            return np.stack([known[key] for key in keys])
        if self._encoder is None:
            raise TypeError(
                "this SoftDict has no encoder (it was built from embeddings): add keys with "
                "add(key, value, embedding=...), or build it with encoder=..."
            )
        vectors = encode_checked(self._encoder, to_encode, self._store.dim)
        if len(to_encode) == len(keys):
            return vectors
        encoded = dict(zip(to_encode, vectors))
        return np.stack([known[key] if key in known else encoded[key] for key in keys])

    def _write(
        self,
        pairs: list[tuple[Any, Any]],
        precomputed: np.ndarray | None = None,
        known: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Check every pair, encode the new keys, then commit: all or nothing.

        Encoding, the slow part, happens before the write lock is taken, so
        readers go on reading meanwhile.
        """
        latest: dict[str, Any] = {}
        for key, value in pairs:
            check_key(key)
            if key in self._store.aliases.key_of:
                raise ValueError(f"{key!r} is an alias of {self._store.aliases.key_of[key]!r}; it cannot be a key too")
            latest[key] = value
        if not latest:
            return
        spec = self._store.spec or infer_spec(next(iter(latest.values())))
        checked = {key: check_value(key, value, spec) for key, value in latest.items()}
        new_keys = [key for key in checked if key not in self._store.values]
        embeddings = None
        if precomputed is not None:
            embeddings = check_vectors(precomputed, len(pairs), self._store.dim)
            if len(latest) != len(pairs) or len(new_keys) != len(pairs):
                raise ValueError("keys given with embeddings must be distinct and not yet present")
        elif new_keys:
            embeddings = self._embed_keys(new_keys, known or {})
        with self._lock.writing():
            self._commit(checked, spec, new_keys, embeddings)

    def _commit(self, checked: dict[str, Any], spec: Any, new_keys: list[str], embeddings: Any) -> None:
        """Apply checked pairs; re-checks what another writer may have changed during encoding."""
        store = self._store
        if store.spec is not None and store.spec != spec:
            spec = store.spec
            checked = {key: check_value(key, value, spec) for key, value in checked.items()}
        still_new = [key for key in checked if key not in store.values]
        if still_new != new_keys:
            rows = dict(zip(new_keys, embeddings)) if new_keys else {}
            missing = [key for key in still_new if key not in rows]
            if missing:
                rows.update(zip(missing, self._embed_keys(missing, {})))
            embeddings = np.stack([rows[key] for key in still_new]) if still_new else None
        if embeddings is not None and store.dim is not None and embeddings.shape[1] != store.dim:
            raise ValueError(f"embeddings of width {embeddings.shape[1]} for a SoftDict of width {store.dim}")
        for key in checked.keys() - set(still_new):
            store.set_value(key, checked[key])
        if still_new:
            store.append(still_new, embeddings, [checked[key] for key in still_new], spec)


__all__ = ["SoftDict"]
