"""A persistent embedding cache: each text is encoded once per encoder, across processes.

Embeddings live in an SQLite file under ``cache_dir``, one file per encoder,
named by a hash of the encoder's fingerprint (its embedding of a fixed probe
sentence), and keyed by the SHA-256 of each text. Rows are raw float32 bytes:
nothing in the cache is ever executed. A different encoder gets a different
file, so a cache can never hand one model's vectors to another.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np

from .encoders import Encoder, encode_checked, fingerprint

__all__ = ["CachedEncoder"]

_CHUNK = 500  # texts per SQL query, under SQLite's parameter limit


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
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The SQLite file for this encoder (made on first use)."""
        if self._path is None:
            digest = hashlib.sha256(fingerprint(self.inner).astype("<f4").tobytes()).hexdigest()[:20]
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            self._path = self.cache_dir / f"embeddings-{digest}.sqlite"
            with self._connect() as connection:
                connection.execute("CREATE TABLE IF NOT EXISTS embedding (text_sha256 BLOB PRIMARY KEY, vector BLOB)")
        return self._path

    def _connect(self) -> sqlite3.Connection:
        assert self._path is not None
        connection = sqlite3.connect(self._path, timeout=60)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def encode(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        digests = [hashlib.sha256(text.encode("utf-8")).digest() for text in texts]
        path = self.path
        found: dict[bytes, np.ndarray] = {}
        with self._lock, self._connect() as connection:
            for start in range(0, len(digests), _CHUNK):
                chunk = digests[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = connection.execute(
                    f"SELECT text_sha256, vector FROM embedding WHERE text_sha256 IN ({marks})", chunk
                )
                found.update((digest, np.frombuffer(vector, dtype="<f4")) for digest, vector in rows)
        missing = list(dict.fromkeys(d for d in digests if d not in found))
        self.hits += len(texts) - sum(1 for d in digests if d not in found)
        if missing:
            first_text = {digest: text for digest, text in zip(digests, texts)}
            encoded = encode_checked(self.inner, [first_text[d] for d in missing])
            self.misses += len(missing)
            blobs = [(d, vector.astype("<f4").tobytes()) for d, vector in zip(missing, encoded)]
            with self._lock, sqlite3.connect(path, timeout=60) as connection:
                connection.executemany("INSERT OR REPLACE INTO embedding VALUES (?, ?)", blobs)
            found.update(zip(missing, encoded.astype(np.float32)))
        widths = {vector.shape[0] for vector in found.values()}
        if len(widths) > 1:
            raise ValueError(f"the embedding cache {path} holds vectors of several widths; delete it")
        return np.stack([found[d] for d in digests]).astype(np.float32)

    @property
    def wrapped(self) -> Encoder:
        """The encoder this cache stands in front of (see :func:`softkv.encoders.unwrap`)."""
        return self.inner

    def __repr__(self) -> str:
        return f"CachedEncoder({self.inner!r}, cache_dir={str(self.cache_dir)!r})"
