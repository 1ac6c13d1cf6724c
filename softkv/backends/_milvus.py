"""A SoftDict whose keys live in a Milvus collection: :class:`MilvusStore`.

One row per name: a hash of the name as primary key (so an exact read is one
``get``), the name, its embedding, whether it is a key or an alias, its owner (for an
alias), the aliases of a key, the value as the tagged JSON of a store file
(:func:`softkv.io.value_to_json`), a 64-bit hash of the folded name (exact
matches up to case and accents, found by an integer filter, so no text is ever
spliced into a filter expression) and a sample bucket. A second collection
holds one row of facts: the embedding width, the value kind and the encoder's
fingerprint, so a collection refuses another encoder.

A read of a batch asks the engine for each query's ``candidates`` nearest
names (one search), adds the names the queries name exactly and a uniform
sample of the other keys (the bucket), and reads them through the same
pipeline as an in-process dict (:func:`softkv.read.read`), with the totals of
the whole collection (:class:`softkv.store.Population`). With ``candidates``
at least the number of names every key is read, and the read equals the
in-process one.

Aliases are written before the key row that lists them and deleted after it;
a reader takes an alias only when its owner's row lists it, so a write cut
between its rows leaves no visible alias.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..io._schema import value_to_json
from ..spelling import fold
from ..store import Contents, Memory, Population, Store, Update, Usage, ValueSpec
from ..store._backend import StoredValues
from ..store._store import Write
from ._facts import check_encoder, fingerprint_of, load, read_facts, write_facts
from ._rows import (
    ALIAS,
    BUCKETS,
    FIELDS,
    KEY,
    MAX_NAME_BYTES,
    SEARCH_HITS,
    Aliases,
    Row,
    Values,
    candidate_rows,
    check_options,
    create_names,
    hash64,
    local_store,
    named_key,
    row_id,
    unavailable,
)
from ._stats import Statistics, StatisticsLog, change_of
from ._writes import items_of, upsert_columns

__all__ = ["MilvusStore", "TOKEN_VARIABLE"]

TOKEN_VARIABLE = "SOFTKV_MILVUS_TOKEN"
"""The environment variable a token is read from when none is given."""
_SOURCES = itertools.count(1)  # a number for each store of the process, as softkv.store numbers its own


class MilvusStore:
    """The keys of a SoftDict in a Milvus collection (:class:`softkv.store.Backend`).

    Parameters
    ----------
    uri : str
        A Milvus Lite file (``"./keys.db"``) or a server (``"http://host:19530"``).
    collection : str
        The collection of names; its facts go in ``collection + "_softkv"``.
    token : str, optional
        The server's token; default: the ``SOFTKV_MILVUS_TOKEN`` environment variable. Never shown.
    consistency : str
        "Strong" (a read sees every write before it), "Session", "Bounded" or "Eventually".
    candidates : int
        Names the engine returns for each query of a read (at least 1; a read's ``candidates`` parameter
        overrides it, and a read whose unread keys would take over :data:`softkv.read.TAIL_TOLERANCE` of the
        weight reads once more with four times as many).
    sample : int
        About how many keys stand for those not read in the "auto" temperature (read and checked once per
        write; a read adds its candidates to a copy): its error falls as one over the root of the sample.
    index, search : dict, optional
        The engine's index of the embeddings when this store makes the collection (default: FLAT, exact;
        e.g. ``{"index_type": "IVF_FLAT", "params": {"nlist": 4096}}``), and the search parameters of a
        read (``{"nprobe": 32}``): the quality knob of an approximate index is its recall of the nearest.
    """

    def __init__(self, uri: str = "./softkv.db", collection: str = "softkv", *, token: str | None = None,
                 consistency: str = "Strong", candidates: int = 200, sample: int = 4096,
                 index: Mapping[str, Any] | None = None, search: Mapping[str, Any] | None = None,
                 client: Any = None) -> None:
        check_options(candidates, sample, consistency, index, search)
        if client is None:
            try:
                from pymilvus import MilvusClient
            except ImportError:
                raise ImportError("MilvusStore needs pymilvus: pip install 'softkv[milvus]'") from None
            token = token if token is not None else os.environ.get(TOKEN_VARIABLE)
            client = MilvusClient(uri, **({"token": token} if token else {}))
        self._client, self.uri, self.collection = client, uri, collection
        self.consistency, self.candidates, self.sample_size = consistency, candidates, sample
        self.index, self.search = dict(index or {"index_type": "FLAT"}), dict(search or {})
        self.source, self.version = next(_SOURCES), 0
        self.values: StoredValues = Values(self)
        self.aliases_of: Mapping[str, list[str]] = Aliases(self)
        load(self._client, [collection, self._facts_name, self.collection + "_softkv_stats"])
        self._known = read_facts(self._client, self._facts_name)
        self._log: StatisticsLog | None = None
        self._sampled: tuple[Any, Store] | None = None  # (statistics records and buckets, the sample's store)

    def __repr__(self) -> str:  # the token stays out
        return f"MilvusStore({self.uri!r}, collection={self.collection!r}, candidates={self.candidates})"

    def close(self) -> None:
        """Close the connection (a Milvus Lite file is then free to open again)."""
        self._client.close()

    # ---- the collection ----
    @property
    def _facts_name(self) -> str:
        return self.collection + "_softkv"

    @property
    def _facts(self) -> dict[str, Any] | None:
        """The collection's facts, read again while they say it holds no keys: another process may write the
        first ones (then its encoder is checked against this store's)."""
        if self._known is None or self._known.get("spec") is None:
            self._known = read_facts(self._client, self._facts_name)
            check_encoder(self._known, getattr(self, "_encoder", None), self.collection)
        return self._known

    def _write_facts(self, facts: dict[str, Any]) -> None:
        write_facts(self._client, self._facts_name, facts, self.consistency)
        self._known = facts

    def bind(self, encoder: Any) -> None:
        """Check that ``encoder`` embeds as the one the collection was written with (its fingerprint)."""
        check_encoder(self._facts, encoder, self.collection)
        self._encoder = encoder  # whose fingerprint the first write records

    # ---- rows ----
    def rows(self, names: Sequence[str], fields: Sequence[str] = FIELDS) -> dict[str, Row]:
        """The rows of these names that exist, by name (one ``get`` for each :data:`SEARCH_HITS` names)."""
        wanted = {n for n in names if isinstance(n, str) and len(n.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES}
        if not wanted or self._facts is None:
            return {}
        ids = [row_id(name) for name in wanted]
        found = [row for first in range(0, len(ids), SEARCH_HITS)
                 for row in self._read("get", ids=ids[first:first + SEARCH_HITS], output_fields=list(fields))]
        return {item["name"]: Row.of(item) for item in found if item["name"] in wanted}

    def count(self, kind: int | None = None) -> int:
        if self._facts is None or not self._client.has_collection(self.collection):
            return 0
        where = "" if kind is None else f"kind == {kind}"
        found = self._client.query(self.collection, filter=where, output_fields=["count(*)"])
        return int(found[0]["count(*)"])

    def scan(self, kind: int | None = None, *, fields: Sequence[str] = tuple(FIELDS),
             where: str = "") -> list[Row]:
        """Every row of this kind (and filter), in batches."""
        if self._facts is None or not self._client.has_collection(self.collection):
            return []
        conditions = [c for c in (where, "" if kind is None else f"kind == {kind}") if c]
        iterator = self._client.query_iterator(self.collection, batch_size=2000, filter=" and ".join(conditions),
                                               output_fields=list(dict.fromkeys(["name", "kind", *fields])))
        found: list[Row] = []
        try:
            while batch := iterator.next():
                found.extend(Row.of(item) for item in batch)
        finally:
            iterator.close()
        return found

    def __len__(self) -> int:
        """The keys, as the statistics count them (:meth:`count` asks the engine, which costs a scan in Lite)."""
        log = self._statistics_log()
        return 0 if log is None else log.recent(self.version)[0].n_keys

    @property
    def spec(self) -> ValueSpec | None:
        spec = None if self._facts is None else self._facts.get("spec")
        return None if spec is None else ValueSpec(spec["kind"], tuple(spec["shape"]))

    @property
    def dim(self) -> int | None:
        """The embedding width, once the collection holds keys (after ``clear``, None)."""
        return None if self._facts is None or self._facts.get("spec") is None else int(self._facts["dim"])

    @property
    def width(self) -> int | None:
        return None if self._facts is None else int(self._facts["dim"])

    @property
    def state(self) -> tuple[int, int]:
        return self.source, self.version

    @property
    def projection(self) -> np.ndarray | None:
        return None

    @projection.setter
    def projection(self, matrix: Any) -> None:
        if matrix is not None:
            raise unavailable("a query projection", "train it on an in-process SoftDict")

    @property
    def usage(self) -> Usage:
        raise unavailable("the order of use (max_keys, usage)", "Milvus keeps no order of use")

    # ---- statistics (softkv.backends._stats) ----
    def _statistics_log(self) -> StatisticsLog | None:
        if self._log is None and self.width is not None:
            self._log = StatisticsLog(self._client, self.collection + "_softkv_stats", self.width, self.consistency)
            if self._client.has_collection(self.collection) and not self._client.has_collection(self._log.name):
                self.recount()  # a collection written before its statistics were kept
        return self._log

    def statistics(self) -> Statistics:
        """The collection's statistics as its records add up now: counts, key moments, n-gram frequencies."""
        log = self._statistics_log()
        return Statistics(self.width or 0) if log is None else log.total()[0]

    def recount(self) -> Statistics:
        """Count the statistics again from a scan of every row, replacing the records (for a collection a writer
        left between its rows and its record); one process at a time, while no one writes."""
        log = self._statistics_log()
        if log is None:
            return Statistics(0)
        counted = log.recount(self.scan())
        self.version += 1
        return counted

    def compact(self) -> None:
        """One statistics record for all of them (a writer does it by itself every few dozen writes); one process
        at a time."""
        log = self._statistics_log()
        if log is not None:
            log.compact()

    def _record(self, change: Statistics) -> None:
        log = self._statistics_log()
        if log is not None:
            log.record(change)

    def _around(self, names: Sequence[str], rows: Mapping[str, Row] | None = None) -> dict[str, Row]:
        """``rows`` (already read) with the rows of ``names``, of the keys that own those that are aliases, and of
        those keys' aliases: at most three ``get`` calls."""
        found = dict(rows or {})
        found |= self.rows([name for name in names if name not in found])
        found |= self.rows([r.owner for r in found.values() if r.kind == ALIAS and r.owner not in found])
        found |= self.rows([a for r in list(found.values()) if r.kind == KEY for a in r.aliases if a not in found])
        return found

    def _query(self, where: str, fields: Sequence[str] = FIELDS) -> dict[str, Row]:
        """The rows a filter selects (at most Milvus's 16,384 a query returns: for the small selections here)."""
        found = self._read("query", filter=where, output_fields=list(fields), limit=16_384)
        return {item["name"]: Row.of(item) for item in found}

    def _read(self, method: str, **options: Any) -> list[Any]:
        """``client.<method>(collection, ...)``, or nothing when the collection is not there (not made yet, or
        cleared by another process): one round trip, where asking first would cost two."""
        from pymilvus.exceptions import MilvusException

        try:
            return list(getattr(self._client, method)(self.collection, **options))
        except MilvusException:
            if self._client.has_collection(self.collection):
                raise
            return []

    def _folded_names(self, texts: Sequence[str]) -> list[str]:
        """The names that fold as one of ``texts`` does (case, accents, whitespace): one integer filter."""
        folded = {fold(text) for text in texts}
        hashes = ", ".join(str(hash64(f)) for f in sorted(folded))
        if not hashes or self.width is None:
            return []
        return [name for name in self._query(f"folded in [{hashes}]", ["name"]) if fold(name) in folded]

    # ---- writes ----
    def entry_value(self, text: object, match: bool | str = True) -> tuple[str, Any] | None:
        if not isinstance(text, str) or match is False:
            return None
        found = named_key(self, text, self.spec)  # a name itself: one get, and no filter
        if found is None and match is True:
            local = local_store(self._around(self._folded_names([text])), self.spec)
            key = local.entry_named(text, match) if len(local) else None
            found = None if key is None else (key, local.values[key])
        return found

    def entry_named(self, text: object, match: bool | str = True) -> str | None:
        found = self.entry_value(text, match)
        return None if found is None else found[0]

    def unembedded(self, keys: Sequence[str], aliases: Mapping[str, Sequence[str]],
                   embeddings: Mapping[str, Any]) -> list[str]:
        rows = self.rows([n for n in [*keys, *(n for group in aliases.values() for n in group)] if n not in embeddings])
        names = [k for k in keys if not (k in rows and rows[k].kind == KEY)]  # of the names given no embedding
        names += [n for group in aliases.values() for n in group if not (n in rows and rows[n].kind == ALIAS)]
        return [name for name in dict.fromkeys(names) if name not in embeddings]

    def check(self, pairs: Mapping[str, Any], aliases: Mapping[str, Sequence[str]] | None = None,
              embeddings: Mapping[str, Any] | None = None, *, embedded: bool = True) -> tuple[Write, dict[str, Row]]:
        """The checked write, as the in-process store checks it against the rows it touches; and those rows."""
        aliases = dict(aliases or {})
        names = [*pairs, *aliases, *(n for group in aliases.values() for n in group)]
        too_long = [n for n in names if isinstance(n, str) and len(n.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES]
        if too_long:
            raise ValueError(f"a name in Milvus holds at most {MAX_NAME_BYTES} bytes: {too_long[0]!r:.60}")
        rows = self._around([n for n in names if isinstance(n, str)])
        local = local_store(rows, self.spec)
        if local.spec is None and self.spec is not None:
            local.spec = self.spec
        known = dict(embeddings or {}) | {name: row.embedding for name, row in rows.items()}
        if self.width is not None and not len(local):  # the collection's width: a store with no keys takes
            local.projection = np.eye(self.width)  # its projection's as the width new embeddings must have
        write = local.check(pairs, aliases, known, embedded=embedded)
        for key, value in write.values.items():
            value_to_json(key, value)  # what the collection holds: a TypeError for what it cannot
        return write, rows

    def apply(self, checked: tuple[Write, dict[str, Row]]) -> None:
        """Alias rows first, then the key rows that list them."""
        write, rows = checked
        if not write.values and not write.aliases:
            return
        facts = dict(self._facts or {})
        if not self._client.has_collection(self.collection):  # its first rows (again, after clear)
            facts["dim"] = self.width or len(next(iter(write.embeddings.values())))
            facts["grams"] = create_names(self._client, self.collection, facts["dim"], self.consistency, self.index)
        if write.spec is not None:
            facts["spec"] = {"kind": write.spec.kind, "shape": list(write.spec.shape)}
        facts.setdefault("fingerprint", fingerprint_of(getattr(self, "_encoder", None)))
        if facts != self._facts:
            self._write_facts(facts)
        dim = int(facts["dim"])
        self._statistics_log()  # kept from the collection's first row on
        written, alias_rows, key_rows = items_of(write, rows, bool(facts.get("grams")))
        upsert_columns(self._client, self.collection, alias_rows)()  # in before the key rows that list them
        wait = upsert_columns(self._client, self.collection, key_rows)
        change = change_of(rows, written, dim)  # counted while the last rows are sent
        wait()
        self._record(change)  # after the rows: a reader's totals may lag a write, never lead
        self.version += 1

    def delete(self, key: str) -> None:
        """The key row first, then its aliases (a reader ignores an alias its owner does not list)."""
        row = self.rows([key]).get(key)
        if row is None or row.kind != KEY:
            raise KeyError(key)
        self._client.delete(self.collection, ids=[row_id(key)])
        if row.aliases:
            self._client.delete(self.collection, ids=[row_id(name) for name in row.aliases])
        change = Statistics(row.embedding.shape[0])
        change.count_all([(key, row.embedding, -1), *((name, None, -1) for name in row.aliases)])
        self._record(change)
        self.version += 1

    def clear(self) -> None:
        """Drop every row (the collection's facts stay: its encoder and width)."""
        if self._client.has_collection(self.collection):
            self._client.drop_collection(self.collection)
        log = self._statistics_log()
        if log is not None:
            log.drop()
            log.ensure()  # an empty collection's statistics: none to recount
        if self._facts is not None:
            self._write_facts({key: value for key, value in self._facts.items() if key != "spec"})
        self.version += 1

    def evict_over(self, max_keys: int | None) -> list[tuple[str, Any]]:
        if max_keys is not None:
            raise unavailable("max_keys", "Milvus keeps no order of use to evict by")
        return []

    def apply_update(self, update: Update) -> None:
        if update.values or update.embeddings or update.projection is not None:
            raise unavailable("writing back trained rows", "train an in-process SoftDict, then update this one")

    def embeddings_in_order(self) -> np.ndarray:
        raise unavailable("the dense key embeddings", "read rows with MilvusStore.rows(names)")

    # ---- reads ----
    def memory(self, *, encoder: Any = None, background: Any = None, copy: bool = False,
               spelling: bool = True) -> Memory:
        """Every key, as a read of an in-process dict reads them (``copy=True``, the snapshot tools take, is
        refused: a snapshot of a distributed collection is not what those tools are for)."""
        if copy:
            raise unavailable("a snapshot (copy, pickle, save, calibrate, fit, to_module)",
                               "d.sample(n) is an in-process SoftDict of n keys drawn uniformly, to work on")
        local = local_store({row.name: row for row in self.scan()}, self.spec)
        return local.memory(encoder=encoder, background=background)

    def memory_for(self, queries: Sequence[Any], Q: np.ndarray, params: Any, *, encoder: Any = None,
                   background: Any = None, candidates: Sequence[int] | None = None) -> Memory:
        """The candidates of a batch: each query's ``candidates`` nearest names (default: the read's, or this
        store's), the names the queries are, and a uniform sample of the keys; with the collection's statistics
        (:class:`Population`, and the n-gram frequencies for spelling). Every key when they cover every name."""
        log = self._statistics_log()
        if log is None:
            return self.memory(encoder=encoder, background=background)
        statistics, records = log.recent(self.version)
        limits = np.maximum(candidates or [params.candidates or self.candidates] * len(Q), params.top_k or 1)
        if limits.min() >= statistics.n_names:
            return self.memory(encoder=encoder, background=background)
        rows = candidate_rows(self._client, self.collection, queries, Q, limits, self.search, self._facts)
        texts = [q for q in queries if isinstance(q, str)]
        named = [*texts, *(self._folded_names(texts) if params.exact_match is True else [])]
        frequencies = (statistics.n_names, log.frequencies(records, statistics))
        sampled = self._sample_store(records, statistics.n_keys, frequencies, spelling=bool(texts))
        local = local_store(self._around(named, rows), self.spec, sampled)
        in_sample = [key for key in (sampled.values if sampled else ()) if key not in rows and key in local.values]
        local.document_frequencies = frequencies
        memory = local.memory(encoder=encoder, background=background)
        marked = np.zeros(len(memory), dtype=bool)
        marked[[memory.row_of[name] for name in in_sample]] = True
        return replace(memory, population=Population(statistics.n_keys, statistics.n_names, marked,
                                                     statistics.key_sum, statistics.key_squares, limits))

    def _sample_store(self, records: tuple[str, ...], n_keys: int, frequencies: tuple[int, np.ndarray],
                      spelling: bool) -> Store | None:
        """A store of a uniform sample of about ``sample`` keys (by bucket) with their aliases, read and
        checked again only when the statistics records change (a write by anyone); its n-gram counts made
        once too, for a read of text (``spelling``). A read adds its candidates to a fork of it."""
        if not self.sample_size:
            return None
        buckets = max(1, math.ceil(BUCKETS * min(1.0, self.sample_size / max(n_keys, 1))))
        if self._sampled is None or self._sampled[0] != (records, buckets):
            sampled = local_store(self._around([], self._query(f"kind == {KEY} and bucket < {buckets}")), self.spec)
            sampled.document_frequencies = frequencies
            self._sampled = ((records, buckets), sampled)
        if spelling:
            self._sampled[1].spelling_table()  # the sample's n-gram counts, which each fork copies
        return self._sampled[1]

    def sample(self, n: int) -> Contents:
        """About ``n`` keys drawn uniformly (by their buckets), with their aliases: what ``d.sample(n)`` makes an
        in-process SoftDict of, to calibrate or train on."""
        buckets = max(1, math.ceil(BUCKETS * min(1.0, n / max(self.statistics().n_keys, 1))))
        keys = [row.name for row in self.scan(KEY, fields=["name"], where=f"bucket < {buckets}")][:n]
        return local_store(self._around(keys), self.spec).memory(copy=True, spelling=False).contents()
