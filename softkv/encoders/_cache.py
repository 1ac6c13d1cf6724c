"""A persistent embedding cache: each text is encoded once per encoder, across processes.

Embeddings live in an SQLite file under ``cache_dir``, one file per encoder,
named by a hash of the encoder's fingerprint (its embedding of a fixed probe
sentence), and keyed by the SHA-256 of each text. Rows are raw float32 bytes:
nothing in the cache is ever executed. A different encoder gets a different
file, so a cache can never hand one model's vectors to another.

What the cache guards against is damage, not an adversary: each row carries
a checksum that binds its vector to its text and is read only if the
checksum and the width match (a row moved to another text, truncated, or of
another width, is encoded again and rewritten). The checksum has no secret,
so someone who can write the cache file can plant a row with a valid
checksum: keep ``cache_dir`` a folder only you can write, as for any file
whose contents your program trusts. A cache file (or its journal) that is a
symbolic link is never opened, so the cache writes nowhere but in
``cache_dir``. A ``cache_dir`` that cannot be made or written, a file that is
not such a cache, or one that stays locked, is set aside with a
RuntimeWarning and texts are encoded without it.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import warnings
from pathlib import Path

import numpy as np

from ._protocol import Encoder, encode_checked, fingerprint

__all__ = ["CachedEncoder"]

_CHUNK = 500  # texts per SQL query, under SQLite's parameter limit
_TABLE = "vectors"
_COLUMNS = ["text_sha256", "vector", "checksum"]
LOCK_TIMEOUT = 5.0
"""Seconds to wait for another process's write before encoding without the cache."""


def _checksum(digest: bytes, vector: bytes) -> bytes:
    return hashlib.sha256(digest + vector).digest()[:16]


class CachedEncoder:
    """Wraps an encoder; texts already in ``cache_dir`` are read instead of encoded.

    >>> import tempfile
    >>> from softkv import LexicalEncoder
    >>> cached = CachedEncoder(LexicalEncoder(), tempfile.mkdtemp())
    >>> cached.encode(["apple", "pear"]).shape, cached.misses
    ((2, 4096), 2)
    >>> _ = cached.encode(["pear", "plum"]); cached.hits, cached.misses
    (1, 3)
    """

    def __init__(self, inner: Encoder, cache_dir: str | os.PathLike[str]) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", type(inner).__name__)
        self.cache_dir = Path(cache_dir)
        self.hits = 0
        self.misses = 0
        self._path: Path | None = None
        self._width = 0
        self._usable = True
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The SQLite file for this encoder (made on first use)."""
        if self._path is None:
            vector = fingerprint(self.inner)
            digest = hashlib.sha256(vector.astype("<f4").tobytes()).hexdigest()[:20]
            self._width = int(vector.shape[0])
            self._path = self.cache_dir / f"embeddings-{digest}.sqlite"
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                self._set_aside(f"its folder cannot be made ({error.strerror or error})")
            self._guarded(self._create)
        return self._path

    def _set_aside(self, why: str) -> None:
        self._usable = False
        warnings.warn(f"the embedding cache {self._path} is unusable: {why}; texts are encoded without it. "
                      "Delete the file, or pass another cache_dir", RuntimeWarning, stacklevel=5)

    def _linked(self) -> bool:
        """Whether the cache file or one SQLite keeps beside it is a symbolic link (it would write elsewhere)."""
        assert self._path is not None
        return any(Path(f"{self._path}{suffix}").is_symlink() for suffix in ("", "-wal", "-shm", "-journal"))

    def _create(self, connection: sqlite3.Connection) -> None:
        connection.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} (text_sha256 BLOB PRIMARY KEY, vector BLOB NOT NULL, "
                           "checksum BLOB NOT NULL)")
        columns = [row[1] for row in connection.execute(f"PRAGMA table_info({_TABLE})")]
        if columns != _COLUMNS:
            raise sqlite3.DatabaseError(f"its table has the columns {columns}, not {_COLUMNS}")

    def _guarded(self, work: object, *arguments: object) -> object:
        """Run ``work(connection, *arguments)``; on any SQLite failure warn once and stop using the cache."""
        if not self._usable:
            return None
        assert self._path is not None
        if self._linked():
            self._set_aside("it is a symbolic link (or its journal is), and the cache writes only in cache_dir")
            return None
        try:
            connection = sqlite3.connect(self._path, timeout=LOCK_TIMEOUT)
            try:
                with connection:  # one transaction: committed, or rolled back on an error
                    connection.execute("PRAGMA journal_mode=WAL")
                    return work(connection, *arguments)  # type: ignore[operator]
            finally:
                connection.close()
        except sqlite3.Error as error:
            self._set_aside(f"{type(error).__name__}: {error}")
            return None

    def _read(self, connection: sqlite3.Connection, digests: list[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(digests), _CHUNK):
            chunk = digests[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = connection.execute(
                f"SELECT text_sha256, vector, checksum FROM {_TABLE} WHERE text_sha256 IN ({marks})", chunk)
            for digest, vector, checksum in rows:
                if (isinstance(vector, bytes) and len(vector) == 4 * self._width
                        and checksum == _checksum(digest, vector)):
                    row = np.frombuffer(vector, dtype="<f4")
                    if np.isfinite(row).all():
                        found[digest] = row
        return found

    @staticmethod
    def _write(connection: sqlite3.Connection, rows: list[tuple[bytes, bytes, bytes]]) -> None:
        connection.executemany(f"INSERT OR REPLACE INTO {_TABLE} VALUES (?, ?, ?)", rows)

    def encode(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        digests = [hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest() for text in texts]
        self.path  # noqa: B018 - made on first use, with the expected width
        with self._lock:
            found = self._guarded(self._read, digests) or {}
        assert isinstance(found, dict)
        missing = list(dict.fromkeys(d for d in digests if d not in found))
        self.hits += len(texts) - sum(1 for d in digests if d not in found)
        if missing:
            first_text = {digest: text for digest, text in zip(digests, texts)}
            encoded = encode_checked(self.inner, [first_text[d] for d in missing], self._width)
            self.misses += len(missing)
            rows = []
            for digest, vector in zip(missing, encoded):
                blob = vector.astype("<f4").tobytes()
                rows.append((digest, blob, _checksum(digest, blob)))
            with self._lock:
                self._guarded(self._write, rows)
            found.update(zip(missing, encoded.astype(np.float32)))
        if not texts:
            return np.zeros((0, self._width), dtype=np.float32)
        return np.stack([found[d] for d in digests]).astype(np.float32)

    @property
    def wrapped(self) -> Encoder:
        """The encoder this cache stands in front of (see :func:`softkv.encoders.unwrap`)."""
        return self.inner

    def __repr__(self) -> str:
        return f"CachedEncoder({self.inner!r}, cache_dir={str(self.cache_dir)!r})"
