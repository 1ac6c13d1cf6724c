"""The statistics of a Milvus collection's names, kept in a collection beside it.

A read over some candidates needs what the whole collection holds: how many
keys and names (the cutoff's N), the moments of the unit key embeddings, n,
Σk and Σkkᵀ (the spread of a query's similarity over every key is
qᵀΣkkᵀq/n - (q·Σk/n)², so the "auto" temperature needs no scan), and the
document frequency of each hashed character n-gram (the spelling score's
idf). Each is a sum over names, so each write adds one record of its change
(:class:`Statistics`, signed), and a reader adds up the records.

Records are immutable rows of ``<collection>_softkv_stats``, cut into parts
that fit a VARCHAR; a record counts once all its parts are there. Compaction
writes one record holding the sum of others and naming them (``covers``),
then deletes them; a reader skips a record another record covers, so a
reader between the two steps counts each change once. Compaction is for one
process at a time (a maintenance step, or the writer that crosses
:data:`COMPACT_AFTER` records).
"""

from __future__ import annotations

import base64
import json
import struct
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zlib import crc32

import numpy as np

from ..spelling import NGRAM_RANGE, char_wb_ngrams
from ._rows import KEY, N_FEATURES, create_collection

__all__ = ["COMPACT_AFTER", "N_FEATURES", "TOTALS_AGE", "Statistics", "StatisticsLog", "change_of", "of_rows"]

COMPACT_AFTER = 32  # records a writer lets accumulate before it compacts them into one
_PART_CHARS = 60_000  # base64 characters in one part (a VARCHAR holds 65,535 bytes)
_FORMAT = 1
_BLOCK = 16_384  # unit keys added to the moments in one product
TOTALS_AGE = 1.0
"""How old, in seconds, the statistics a read uses may be (:meth:`StatisticsLog.recent`)."""


@dataclass
class Statistics:
    """Sums over names: counts, the moments of the unit key embeddings, and n-gram document frequencies."""

    dim: int
    n_keys: int = 0
    n_names: int = 0
    key_sum: np.ndarray = None  # type: ignore[assignment]  # (dim,) float64, zeros when not given
    key_squares: np.ndarray = None  # type: ignore[assignment]  # (dim, dim) float64
    document_frequency: Counter[int] = field(default_factory=Counter)
    # the signed unit keys Σkkᵀ was made of, while it was made of few (a small write's record stores them, not
    # the dim × dim sum: 3 KB for a key of MiniLM instead of 0.6 MB); None once it is a sum of records
    vectors: list[tuple[int, np.ndarray]] | None = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.key_sum is None:
            self.key_sum = np.zeros(self.dim)
        if self.key_squares is None:
            self.key_squares = np.zeros((self.dim, self.dim))

    def count(self, name: str, embedding: np.ndarray | None, sign: int = 1) -> None:
        """Add (sign 1) or take away (sign -1) one name: a key when it has an embedding here, else an alias."""
        self.count_all([(name, embedding, sign)])

    def count_all(self, names: Iterable[tuple[str, np.ndarray | None, int]]) -> None:
        """:meth:`count` of each (name, embedding or None, sign), the key moments a block at a time."""
        signs, units, features, name_signs = [], [], [], []
        for name, embedding, sign in names:
            self.n_names += sign
            features.append(name_features(name))
            name_signs.append(sign)
            if embedding is not None:
                signs.append(float(sign))
                units.append(embedding)  # made a float64 unit vector block by block, below
        if features:  # the frequencies added up in numpy: a Counter increment per n-gram cost seconds at 100,000
            unique, inverse = np.unique(np.concatenate(features), return_inverse=True)
            feature_signs = np.repeat(np.array(name_signs, dtype=np.int64), [len(f) for f in features])
            totals = np.bincount(inverse, weights=feature_signs, minlength=len(unique))
            self.document_frequency.update(dict(zip(unique.tolist(), totals.astype(np.int64).tolist())))
        for first in range(0, len(units), _BLOCK):  # a block at a time: a million float64 rows take 3 GB
            signed = np.array(signs[first:first + _BLOCK])
            matrix = unit_rows(np.stack(units[first:first + _BLOCK]))
            self.n_keys += int(signed.sum())
            self.key_sum += signed @ matrix
            for direction in (1.0, -1.0):  # a product of a matrix with itself: numpy takes the symmetric kernel
                part = matrix[signed == direction]
                if len(part):
                    self.key_squares += direction * (part.T @ part)
            if self.vectors is not None:
                self.vectors.extend(zip(signed.astype(int).tolist(), matrix))
                if 2 * len(self.vectors) >= self.dim:  # a sum is smaller now
                    self.vectors = None

    def add(self, other: Statistics) -> None:
        self.n_keys += other.n_keys
        self.n_names += other.n_names
        self.key_sum += other.key_sum
        self.key_squares += other.key_squares
        self.document_frequency.update(other.document_frequency)
        self.vectors = None

    def frequencies(self) -> np.ndarray:
        """The document frequencies as a dense (N_FEATURES,) int64 array, as softkv.spelling keeps them."""
        dense = np.zeros(N_FEATURES, dtype=np.int64)
        items = [(f, c) for f, c in self.document_frequency.items() if c]
        if items:
            features, counts = zip(*items)
            dense[list(features)] = counts
        return dense

    @property
    def empty(self) -> bool:
        return not (self.n_names or self.n_keys or any(self.document_frequency.values()))

    # ---- bytes: a JSON header, then float64 and int64 arrays; every size checked against the header ----
    def to_bytes(self, covers: Sequence[str] = ()) -> bytes:
        items = sorted((f, c) for f, c in self.document_frequency.items() if c)
        rank = -1 if self.vectors is None or 2 * len(self.vectors) >= self.dim else len(self.vectors)
        if rank < 0:
            squares = self.key_squares[np.triu_indices(self.dim)]
        else:  # the signs, then the unit keys
            squares = np.concatenate([[float(s) for s, _ in self.vectors or ()],
                                      *(v for _, v in self.vectors or ())])
        header = json.dumps({"format": _FORMAT, "dim": self.dim, "n_keys": self.n_keys, "n_names": self.n_names,
                             "rank": rank, "n_df": len(items), "covers": list(covers)}).encode()
        arrays = [self.key_sum.astype("<f8"), squares.astype("<f8"),
                  np.array([f for f, _ in items], dtype="<i8"), np.array([c for _, c in items], dtype="<i8")]
        return struct.pack("<I", len(header)) + header + b"".join(a.tobytes() for a in arrays)

    @classmethod
    def from_bytes(cls, blob: bytes, dim: int) -> tuple[Statistics, list[str]]:
        """The statistics and the records they cover; ValueError for anything but what :meth:`to_bytes` wrote
        for embeddings of width ``dim``."""
        try:
            (size,) = struct.unpack_from("<I", blob)
            header = json.loads(blob[4:4 + size])
            n_df, covers, rank = int(header["n_df"]), header["covers"], int(header["rank"])
            if header["format"] != _FORMAT or header["dim"] != dim or not 0 <= n_df <= N_FEATURES \
                    or not -1 <= rank < dim / 2 \
                    or not isinstance(covers, list) or not all(isinstance(c, str) for c in covers):
                raise ValueError("an unexpected header")
            n_upper = dim * (dim + 1) // 2 if rank < 0 else rank * (dim + 1)
            body = memoryview(blob)[4 + size:]
            if len(body) != 8 * (dim + n_upper + 2 * n_df):
                raise ValueError("a body of the wrong size")
            floats = np.frombuffer(body[:8 * (dim + n_upper)], dtype="<f8").astype(np.float64)
            ints = np.frombuffer(body[8 * (dim + n_upper):], dtype="<i8").astype(np.int64)
        except (struct.error, KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"not a statistics record: {error}") from None
        features, counts = ints[:n_df], ints[n_df:]
        if (features < 0).any() or (features >= N_FEATURES).any() or not np.isfinite(floats).all():
            raise ValueError("not a statistics record: values out of range")
        vectors: list[tuple[int, np.ndarray]] | None = None
        if rank < 0:
            squares = np.zeros((dim, dim))
            squares[np.triu_indices(dim)] = floats[dim:]
            squares = squares + np.triu(squares, 1).T
        else:
            signs, units = floats[dim:dim + rank], floats[dim + rank:].reshape(rank, dim)
            if not np.isin(signs, (-1.0, 1.0)).all():
                raise ValueError("not a statistics record: a sign that is not 1 or -1")
            squares = (units * signs[:, None]).T @ units
            vectors = [(int(s), u) for s, u in zip(signs, units)]
        made = cls(dim, int(header["n_keys"]), int(header["n_names"]), floats[:dim].copy(), squares,
                   Counter(dict(zip(features.tolist(), counts.tolist()))), vectors)
        return made, list(covers)


def name_features(name: str) -> np.ndarray:
    """The distinct hashed n-gram features of a name, as softkv.spelling.hashed_ngrams finds them. Hashed here
    without its term frequencies, sorting and cache: counting a bulk write of new names spent most of its
    time there, and filled the cache reads use."""
    mask = N_FEATURES - 1
    return np.fromiter({crc32(gram.encode("utf-8", "surrogatepass")) & mask for gram in char_wb_ngrams(
        name, NGRAM_RANGE)}, dtype=np.int64)


def unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """The float64 unit vectors of stored (float32) embeddings, as the statistics count them; a zero row stays
    zero."""
    vectors = np.asarray(embeddings, dtype=np.float32).astype(np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))[:, None]  # without np.linalg.norm's temporaries
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    return vectors


def of_rows(rows: Iterable[Any], dim: int) -> Statistics:
    """The statistics of rows (:class:`~softkv.backends._rows.Row`), counted from scratch: every key, and
    every alias its owner lists (what a reader sees)."""
    by_name = {row.name: row for row in rows}
    made = Statistics(dim)
    made.count_all((row.name, row.embedding if row.kind == KEY else None, 1) for row in by_name.values()
                   if visible(row, by_name))
    return made


def visible(row: Any, rows: Mapping[str, Any]) -> bool:
    """Whether a reader sees this row: a key, or an alias whose owner (among ``rows``) lists it."""
    owner = rows.get(row.owner) if row.kind != KEY else None
    return row.kind == KEY or (owner is not None and owner.kind == KEY and row.name in owner.aliases)


def change_of(before: Mapping[str, Any], written: Iterable[tuple[str, int, Any]], dim: int) -> Statistics:
    """The change of the statistics when rows (name, kind, embedding) replace the rows ``before`` of the same
    names (:class:`~softkv.backends._rows.Row`): a name rewritten as the same kind changes nothing (its
    n-grams are its name's, and a key keeps its embedding). An alias row no key lists (a write cut between
    its rows) was not counted."""
    counted = []
    for name, kind, embedding in written:
        old = before.get(name)
        old = old if old is not None and visible(old, before) else None
        if old is None or old.kind != kind:
            if old is not None:
                counted.append((name, old.embedding if old.kind == KEY else None, -1))
            counted.append((name, embedding if kind == KEY else None, 1))
    change = Statistics(dim)
    change.count_all(counted)
    return change


class StatisticsLog:
    """The records of a collection's statistics: appended by writers, added up by readers, compacted."""

    def __init__(self, client: Any, name: str, dim: int, consistency: str) -> None:
        self._client, self.name, self.dim, self._consistency = client, name, dim, consistency
        self.writer = uuid.uuid4().hex[:16]
        self.appended = 0  # records this writer appended
        self._records: dict[str, tuple[Statistics, list[str]]] = {}  # record -> (its sums, what it covers)
        self._total: tuple[frozenset[str], Statistics] | None = None
        self._recent: tuple[Any, float, Statistics, tuple[str, ...]] | None = None  # (version, when, sums, records)
        self._frequencies: tuple[tuple[str, ...], np.ndarray] | None = None

    def ensure(self) -> None:
        if not self._client.has_collection(self.name):  # a vector in every collection: Milvus wants one
            create_collection(self._client, self.name, 2, [("record", "VARCHAR"), ("part", "INT64"),
                                                           ("parts", "INT64"), ("blob", "VARCHAR")],
                              self._consistency, id_length=64, metric="L2")

    def record(self, change: Statistics) -> None:
        """Append a write's change; every :data:`COMPACT_AFTER` records of this writer, compact the records
        when there are more than that (asked then, not at each write: a round trip)."""
        if self.append(change) is not None and not self.appended % COMPACT_AFTER \
                and len(self.listing()) > COMPACT_AFTER:
            self.compact()

    def append(self, change: Statistics, covers: Sequence[str] = ()) -> str | None:
        """Write one record (its parts in one upsert); None when there is nothing to write."""
        if change.empty and not covers:
            return None
        self.ensure()
        self.appended += 1
        record = f"{self.writer}-{self.appended:010d}"
        text = base64.b64encode(change.to_bytes(covers)).decode("ascii")
        parts = [text[i:i + _PART_CHARS] for i in range(0, len(text), _PART_CHARS)] or [""]
        self._client.upsert(self.name, [{"id": f"{record}:{i}", "embedding": [0.0, 0.0], "record": record,
                                         "part": i, "parts": len(parts), "blob": part}
                                        for i, part in enumerate(parts)])
        return record

    def listing(self) -> dict[str, list[str]]:
        """Each complete record's part ids (a record with a part missing is still being written)."""
        if not self._client.has_collection(self.name):
            return {}
        found = self._client.query(self.name, filter="part >= 0", output_fields=["record", "part", "parts"],
                                   limit=16_384)
        by_record: dict[str, dict[int, str]] = {}
        sizes: dict[str, int] = {}
        for item in found:
            by_record.setdefault(item["record"], {})[int(item["part"])] = item["id"]
            sizes[item["record"]] = int(item["parts"])
        return {record: [parts[i] for i in range(sizes[record])] for record, parts in by_record.items()
                if len(parts) == sizes[record] and set(parts) == set(range(sizes[record]))}

    def total(self) -> tuple[Statistics, list[str]]:
        """The sum of the records no other record covers, and those records."""
        listing = self.listing()
        missing = [record for record in listing if record not in self._records]
        if missing:
            found = self._client.get(self.name, ids=[i for record in missing for i in listing[record]],
                                     output_fields=["record", "part", "blob"])
            texts: dict[str, dict[int, str]] = {}
            for item in found:
                texts.setdefault(item["record"], {})[int(item["part"])] = item["blob"]
            for record in missing:
                if len(texts.get(record, {})) == len(listing[record]):  # deleted meanwhile: skipped
                    blob = base64.b64decode("".join(texts[record][i] for i in range(len(listing[record]))))
                    self._records[record] = Statistics.from_bytes(blob, self.dim)
        present = [record for record in listing if record in self._records]
        covered = {c for record in present for c in self._records[record][1]}
        counted = frozenset(record for record in present if record not in covered)
        if self._total is None or self._total[0] != counted:
            total = Statistics(self.dim)
            for record in sorted(counted):
                total.add(self._records[record][0])
            self._total = (counted, total)
        for record in [r for r in self._records if r not in listing]:  # compacted away
            del self._records[record]
        return self._total[1], sorted(counted)

    def recent(self, version: Any) -> tuple[Statistics, tuple[str, ...]]:
        """:meth:`total` as a read uses it: added up again when ``version`` (of this process's writes) moved,
        else at most :data:`TOTALS_AGE` seconds old (other writers' changes move a read's totals by little)."""
        now, known = time.monotonic(), self._recent
        if known is None or known[0] != version or now - known[1] > TOTALS_AGE:
            total, records = self.total()
            known = self._recent = (version, now, total, tuple(records))
        return known[2], known[3]

    def frequencies(self, records: tuple[str, ...], total: Statistics) -> np.ndarray:
        """``total.frequencies()``, made once for each set of records."""
        if self._frequencies is None or self._frequencies[0] != records:
            self._frequencies = (records, total.frequencies())
        return self._frequencies[1]

    def recount(self, rows: Iterable[Any]) -> Statistics:
        """The statistics of every row, counted from scratch (:func:`of_rows`), in place of all the records."""
        counted = of_rows(rows, self.dim)
        stale = self.listing()
        self.ensure()
        self.append(counted, covers=list(stale))
        if stale:
            self._client.delete(self.name, ids=[i for parts in stale.values() for i in parts])
        return counted

    def compact(self) -> None:
        """One record for all of them: written first (naming those it covers), then the others deleted."""
        total, counted = self.total()
        listing = self.listing()
        if len(counted) <= 1 and len(listing) == len(counted):
            return
        self.append(total, covers=list(listing))
        stale = [i for record in listing for i in listing[record]]
        if stale:
            self._client.delete(self.name, ids=stale)

    def drop(self) -> None:
        if self._client.has_collection(self.name):
            self._client.drop_collection(self.name)
        self._records.clear()
        self._total = None
