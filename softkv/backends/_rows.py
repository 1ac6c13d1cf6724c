"""The rows of a Milvus collection as a SoftDict reads them: one per name, and the mappings over them."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..io._schema import value_from_json, value_to_json
from ..spelling import NGRAM_RANGE, fold, hashed_ngrams
from ..store import Store, ValueSpec
from ..store._store import Write
from ..store._values import CATEGORICAL, NUMERIC, check_value, infer_spec, is_hashable

__all__ = ["ALIAS", "BUCKETS", "COLUMNS", "FIELDS", "KEY", "MAX_NAME_BYTES", "NAME_FIELDS", "N_FEATURES", "SEARCH_HITS",
           "SPELLING_CANDIDATES", "Aliases", "Row", "Values", "bucket", "candidate_rows", "check_options",
           "create_collection", "create_names", "hash64", "hit_rows", "holds_sparse_vectors", "item",
           "local_store", "named_key", "nearest_rows", "row_id", "sparse_grams", "unavailable"]

KEY, ALIAS = 0, 1
BUCKETS = 4096  # a name's sample bucket: a uniform hash of it
MAX_NAME_BYTES = 65_535  # Milvus's longest VARCHAR
FIELDS = ["name", "embedding", "kind", "owner", "aliases", "value"]
NAME_FIELDS = [field for field in FIELDS if field != "embedding"]
"""A row without its embedding: what reading a value by its key's name takes (a 384-float vector is most of
a row)."""
N_FEATURES = 2**20  # the hashed n-gram features of softkv.spelling.LexicalIndex
SPELLING_CANDIDATES = 32
"""Names a text query's n-grams add to its candidates at most: of 200 typos of 5,000 city names, the ten
nearest by n-grams held the name meant every time, the ten nearest by embedding 80% of the time."""
COLUMNS = [("name", "VARCHAR"), ("kind", "INT64"), ("owner", "VARCHAR"), ("aliases", "JSON"), ("value", "JSON"),
           ("folded", "INT64"), ("bucket", "INT64")]
"""The fields of a row besides its id and embedding, with their Milvus types."""
SEARCH_HITS = 16_384
"""Rows one call returns at most (a batch is searched and read in parts): with 384-dimensional embeddings
about 30 MB, within the 64 MB a Milvus server takes or sends in one message (a batch of 300 queries over 200
candidates, 97 MB, was refused)."""


class _NoClientTimestamp(logging.Filter):
    """Milvus Lite gives its iterators no server timestamp, and pymilvus warns on every scan that it takes the
    client's: the same consistency for one process, so that one message is dropped (nothing else)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "use client-side ts instead" not in record.getMessage()


logging.getLogger("pymilvus.client.iterator.query_iterator").addFilter(_NoClientTimestamp())


def hash64(text: str) -> int:
    """A signed 64-bit hash of ``text`` (an INT64 field: a filter on it splices no text into an expression)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                          "little", signed=True)


def row_id(name: str) -> str:
    """The primary key of a name's row: 128 bits of its hash, in hex. The name itself is a field: pymilvus puts
    primary keys into filter expressions, where some characters of a name (quotes) would break them."""
    return hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def bucket(name: str) -> int:
    """The sample bucket of a name: keys in the first b of :data:`BUCKETS` buckets are a uniform sample."""
    return hash64("bucket:" + name) % BUCKETS


def unavailable(what: str, instead: str) -> NotImplementedError:
    return NotImplementedError(f"{what} is not available for a SoftDict whose keys live in Milvus: {instead}")


@dataclass(frozen=True)
class Row:
    """One name of the collection: a key (its value and its aliases) or an alias (its owner)."""

    name: str
    embedding: np.ndarray
    kind: int
    owner: str
    aliases: list[str]
    value: Any

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Row:
        """The row the engine returned (fields not asked for: empty), checked: anyone may have written it."""
        embedding = np.asarray(item.get("embedding", ()), dtype=np.float32)
        if embedding.ndim != 1 or not np.isfinite(embedding).all():
            raise ValueError(f"a Milvus row's embedding is not a finite vector: {item.get('name')!r:.80}")
        value = value_from_json(item["value"]["v"], "a Milvus row") if "value" in item else None
        aliases = (item.get("aliases") or {}).get("names", [])  # a JSON object: Milvus 2.3 holds no arrays
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ValueError(f"a Milvus row's aliases are not a list of names: {aliases!r:.80}")
        return cls(item["name"], embedding, int(item.get("kind", KEY)), item.get("owner", ""), aliases, value)


def item(name: str, embedding: np.ndarray, kind: int, owner: str, aliases: list[str], value: Any,
         grams: bool = False) -> dict[str, Any]:
    """The row of a name, as it is written (with its n-grams as a sparse vector where the collection has them)."""
    row = {"id": row_id(name), "name": name, "embedding": np.asarray(embedding, dtype=np.float32).tolist(),
           "kind": kind, "owner": owner, "aliases": {"names": aliases}, "value": {"v": value_to_json(name, value)},
           "folded": hash64(fold(name)), "bucket": bucket(name)}
    if grams:
        row["grams"] = sparse_grams(name)
    return row


def sparse_grams(text: str) -> dict[int, float]:
    """The character n-grams of ``text`` as a unit sparse vector (softkv.spelling's hashed features and term
    frequencies): an inner product of two is the cosine of their n-gram counts, which finds a name's spelling
    neighbours; the read scores those exactly, with the collection's idf.

    >>> sorted(round(weight, 3) for weight in sparse_grams("ab").values())  # " a", "ab", "b ", " ab", "ab "
    [0.447, 0.447, 0.447, 0.447, 0.447]
    """
    ids, frequencies = hashed_ngrams(text, NGRAM_RANGE, N_FEATURES)
    norm = float(np.linalg.norm(frequencies)) or 1.0
    return dict(zip(ids.tolist(), (frequencies / norm).tolist()))


def local_store(rows: Mapping[str, Row], spec: ValueSpec | None, base: Store | None = None) -> Store:
    """An in-process :class:`Store` of the key rows among ``rows`` with the aliases their rows list (and have),
    under the collection's value kind: the checks and the reads of the in-process store, on these rows.
    Over ``base`` (a cached sample's store, checked once), a fork of it with these rows added: a key these
    rows name, or own an alias of, comes from these rows (fresher than the sample's)."""
    keys = {name: row for name, row in rows.items() if row.kind == KEY}
    aliases = {key: [a for a in row.aliases if a in rows and rows[a].kind == ALIAS and rows[a].owner == key]
               for key, row in keys.items() if row.aliases}
    store = Store() if base is None else base.fork()
    if base is not None:
        for name in rows:
            key = store.entry_of(name)  # the key a name is, or is an alias of, in the sample
            if key is not None:
                store.delete(key)
    if keys and spec is not None:
        embeddings = {key: row.embedding for key, row in keys.items()}
        embeddings |= {a: rows[a].embedding for group in aliases.values() for a in group}
        values = store.check({key: row.value for key, row in keys.items()}, embeddings=embeddings).values
        groups = {key: tuple(group) for key, group in aliases.items() if group}
        store.apply(Write(values, tuple(keys), embeddings, groups, spec))  # keys, then aliases
    return store


def check_options(candidates: Any, sample: Any, consistency: Any, index: Any, search: Any) -> None:
    """A ValueError naming the first option of a :class:`~softkv.backends.MilvusStore` that is out of range."""
    if not isinstance(candidates, int) or isinstance(candidates, bool) or candidates < 1:
        raise ValueError(f"candidates must be an integer >= 1, got {candidates!r}")
    if not isinstance(sample, int) or isinstance(sample, bool) or sample < 0:
        raise ValueError(f"sample must be an integer >= 0, got {sample!r}")
    if consistency not in ("Strong", "Session", "Bounded", "Eventually"):
        raise ValueError(f"consistency must be Strong, Session, Bounded or Eventually, got {consistency!r}")
    if index is not None and not (isinstance(index, Mapping) and isinstance(index.get("index_type"), str)):
        raise ValueError(f'index must be None (FLAT) or a dict with an "index_type", got {index!r:.80}')
    if search is not None and not isinstance(search, Mapping):
        raise ValueError(f'search must be None or a dict of search parameters ({{"nprobe": 32}}), got {search!r:.80}')


def create_collection(client: Any, name: str, dim: int, fields: Sequence[tuple[str, str]], consistency: str,
                      *, id_length: int = 32, metric: str = "COSINE", index: Mapping[str, Any] | None = None,
                      grams: bool = False) -> None:
    """A collection of rows with a VARCHAR primary key ``id``, an ``embedding`` of ``dim`` indexed as ``index``
    says (default FLAT: exact), ``fields`` (name, DataType name) and, with ``grams``, a sparse vector of n-grams
    (an inverted index, inner product)."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=id_length)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=dim)
    for field, kind in fields:
        extra = {"max_length": MAX_NAME_BYTES} if kind == "VARCHAR" else {}
        schema.add_field(field, getattr(DataType, kind), **extra)
    chosen = dict(index or {"index_type": "FLAT"})
    index_params = client.prepare_index_params()
    index_params.add_index("embedding", index_type=chosen.pop("index_type"), metric_type=metric, **chosen)
    if grams:
        schema.add_field("grams", DataType.SPARSE_FLOAT_VECTOR)
        index_params.add_index("grams", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=index_params, consistency_level=consistency)


def create_names(client: Any, name: str, dim: int, consistency: str, index: Mapping[str, Any] | None) -> bool:
    """The collection of names (:data:`COLUMNS`), with its n-grams as sparse vectors where the engine has them;
    whether it has them."""
    grams = holds_sparse_vectors(client)
    create_collection(client, name, dim, COLUMNS, consistency, index=index, grams=grams)
    return grams


def holds_sparse_vectors(client: Any) -> bool:
    """Whether the engine holds indexed sparse vectors (Milvus 2.4 and Lite; a 2.3 server takes the field but
    not its index): a probe collection, made and dropped (a version string says less: Lite's is its own)."""
    from pymilvus.exceptions import MilvusException

    probe = f"softkv_probe_{uuid.uuid4().hex[:16]}"
    try:
        create_collection(client, probe, 2, [], "Strong", grams=True)
        return True
    except (MilvusException, AttributeError):  # AttributeError: a pymilvus without sparse vectors
        return False
    finally:
        if client.has_collection(probe):
            client.drop_collection(probe)


def candidate_rows(client: Any, collection: str, queries: Sequence[Any], Q: np.ndarray, limits: np.ndarray,
                   search: Mapping[str, Any] | None, facts: Mapping[str, Any] | None) -> dict[str, Row]:
    """The rows of each query's ``limits[i]`` nearest names by embedding and, for a text query where the
    collection holds n-grams, by spelling as well (a typo's embedding may lie far from its key's)."""
    vectors = np.asarray(Q, dtype=np.float32)
    rows = nearest_rows(client, collection, "embedding", [v.tolist() for v in vectors], limits, search)
    texts = [(i, q) for i, q in enumerate(queries) if isinstance(q, str)]
    if texts and facts is not None and facts.get("grams"):
        rows |= nearest_rows(client, collection, "grams", [sparse_grams(q) for _, q in texts],
                             np.minimum(limits[[i for i, _ in texts]], SPELLING_CANDIDATES), None)
    return rows


def nearest_rows(client: Any, collection: str, field: str, data: list[Any], limits: np.ndarray,
                 search: Mapping[str, Any] | None = None) -> dict[str, Row]:
    """The rows of each query's ``limits[i]`` nearest names by ``field``, by name: one search of the queries
    that ask for as many, for each :data:`SEARCH_HITS` hits (a server answers at most 64 MB at a time), with
    the index's ``search`` parameters."""
    rows: dict[str, Row] = {}
    options = {"search_params": {"params": dict(search)}} if search else {}
    for limit in np.unique(limits).tolist():
        asking = [query for query, wanted in zip(data, limits.tolist()) if wanted == limit]
        step = max(1, SEARCH_HITS // limit)
        for first in range(0, len(asking), step):
            found = client.search(collection, data=asking[first:first + step], limit=limit, anns_field=field,
                                  output_fields=FIELDS, **options)
            rows |= hit_rows(found)
    return rows


def hit_rows(found: Any) -> dict[str, Row]:
    """The rows of a search's hits, by name: each name once (a batch's queries share many candidates)."""
    entities = _hit_entities(found)
    if entities is None:  # pymilvus decodes each hit as it is read
        entities = (hit["entity"] for hits in found for hit in hits)
    rows: dict[str, Row] = {}
    for entity in entities:
        if entity["name"] not in rows:
            rows[entity["name"]] = Row.of(entity)
    return rows


def _hit_entities(found: Any) -> Iterator[dict[str, Any]] | None:
    """The hits' fields, each name's once, decoded a column at a time from the search's response; None where
    the result is not shaped as pymilvus 2.6+ shapes it (then the hits are read one by one).

    Written here because pymilvus decodes a hit's vector and JSON cells one hit at a time when the hit is
    read, with no public way to take a column: that was more than half of a batch read of 32 queries over
    200 candidates (260 of 450 ms against a server), and one array of the response's vectors is almost free.
    """
    from pymilvus import DataType

    groups = list(found)
    shared = [getattr(hits, "lazy_field_data", None) for hits in groups]
    if not groups or shared[0] is None or not all(
            isinstance(getattr(hits, "start", None), int) and hasattr(hits, "get_raw_item") for hits in groups) or \
            any(other is None or [id(f) for f in other] != [id(f) for f in shared[0]] for other in shared):
        return None
    total = groups[-1].start + len(groups[-1])
    columns: dict[str, Any] = {}
    for data in shared[0]:
        if len(data.valid_data) or getattr(data, "is_dynamic", False):
            return None  # nullable or dynamic cells: pymilvus's own decoding
        if data.type == DataType.FLOAT_VECTOR:
            columns[data.field_name] = np.asarray(data.vectors.float_vector.data, dtype=np.float32).reshape(
                -1, max(data.vectors.dim, 1))
        elif data.type == DataType.JSON:
            columns[data.field_name] = data.scalars.json_data.data
        else:
            return None
        if len(columns[data.field_name]) < total:
            return None
    return _entities(groups, columns)


def _entities(groups: list[Any], columns: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    for hits in groups:
        for i in range(len(hits)):
            entity = hits.get_raw_item(i)["entity"]
            if entity["name"] in seen:
                continue
            seen.add(entity["name"])
            at = hits.start + i
            yield entity | {field: column[at] if isinstance(column, np.ndarray) else json.loads(column[at])
                            for field, column in columns.items()}


class RowReader(Protocol):
    """What the mappings read rows through (a :class:`~softkv.backends.MilvusStore`)."""

    def rows(self, names: Sequence[str], fields: Sequence[str] = ...) -> dict[str, Row]: ...

    def __len__(self) -> int: ...

    def scan(self, kind: int | None = None, *, fields: Sequence[str] = ..., where: str = "") -> list[Row]: ...


def named_key(store: RowReader, name: str, spec: ValueSpec | None) -> tuple[str, Any] | None:
    """The key ``name`` is (a key's own name, or an alias its key lists) and its value, from rows read without
    their embeddings: one ``get``, two for an alias. None when ``name`` is neither."""
    row = store.rows([name], NAME_FIELDS).get(name)
    if row is not None and row.kind == ALIAS:
        owner = store.rows([row.owner], NAME_FIELDS).get(row.owner)
        row = owner if owner is not None and owner.kind == KEY and name in owner.aliases else None
    return None if row is None or row.kind != KEY else (row.name, stored_value(row.name, row.value, spec))


def stored_value(key: str, value: Any, spec: ValueSpec | None) -> Any:
    """A key's value read from its row, checked as a store checks what it holds (anyone may have written the
    row): of the collection's kind, and finite where numeric."""
    found = infer_spec(value)
    if spec is not None and ((spec.kind == NUMERIC and found != spec) or (spec.kind == CATEGORICAL and not
                                                                          is_hashable(value))):
        raise ValueError(f"a Milvus row's value for {key!r:.60} is not of the collection's kind "
                         f"({spec.describe()}): {value!r:.40}")
    return check_value(key, value, found)


class Values(Mapping[str, Any]):
    """key -> stored value, read from the collection (iteration in the engine's order)."""

    def __init__(self, store: RowReader) -> None:
        self._store = store

    def __getitem__(self, key: str) -> Any:
        row = self._store.rows([key], NAME_FIELDS).get(key) if isinstance(key, str) else None
        if row is None or row.kind != KEY:
            raise KeyError(key)
        return row.value

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __len__(self) -> int:
        return len(self._store)

    def __iter__(self) -> Iterator[str]:
        return iter([row.name for row in self._store.scan(KEY, fields=["name"])])

    def __reversed__(self) -> Iterator[str]:
        raise unavailable("the last inserted key (reversed, popitem)", "Milvus keeps no insertion order")


class Aliases(Mapping[str, list[str]]):
    """key -> its aliases, from the key's row."""

    def __init__(self, store: RowReader) -> None:
        self._store = store

    def __getitem__(self, key: str) -> list[str]:
        row = self._store.rows([key]).get(key)
        if row is None or row.kind != KEY or not row.aliases:
            raise KeyError(key)
        return list(row.aliases)

    def __len__(self) -> int:
        return sum(1 for row in self._store.scan(KEY, fields=["aliases"]) if row.aliases)

    def __iter__(self) -> Iterator[str]:
        return iter([row.name for row in self._store.scan(KEY, fields=["name", "aliases"]) if row.aliases])


