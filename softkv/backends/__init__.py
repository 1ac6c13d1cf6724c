"""Where else a SoftDict's keys can live: :class:`MilvusStore`, a Milvus collection (``pip install softkv[milvus]``).

``SoftDict(backend=MilvusStore("./keys.db"))`` (Milvus Lite, one file) or
``SoftDict(backend="milvus://host:19530/collection")`` (a server) is a
SoftDict whose keys, embeddings, values and aliases live in the engine: the
same mapping API and the same read (:mod:`softkv.read`), over each batch's
candidates (:class:`softkv.store.Backend`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ._milvus import TOKEN_VARIABLE, MilvusStore

__all__ = ["TOKEN_VARIABLE", "MilvusStore", "open_backend"]


def open_backend(backend: Any, encoder: Any, params: Any) -> MilvusStore:
    """The backend ``backend`` names (a :class:`MilvusStore`, or ``"milvus://host:port/collection"``), checked
    against the dict's encoder and read parameters."""
    if isinstance(backend, str):
        parts = urlsplit(backend)
        if parts.scheme != "milvus" or not parts.hostname:
            raise ValueError(f"backend must be a MilvusStore or 'milvus://host:port/collection', got {backend!r}")
        collection = parts.path.strip("/") or "softkv"
        backend = MilvusStore(f"http://{parts.hostname}:{parts.port or 19530}", collection)
    if not isinstance(backend, MilvusStore):
        raise TypeError("backend must be a MilvusStore or 'milvus://host:port/collection', got "
                        f"{type(backend).__name__}")
    if params.max_keys is not None:
        raise NotImplementedError("max_keys is not available for a SoftDict whose keys live in Milvus: Milvus keeps "
                                  "no order of use to evict by")
    backend.bind(encoder)
    return backend
