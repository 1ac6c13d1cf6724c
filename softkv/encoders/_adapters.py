"""Encoders for what callers have: a sentence-transformers model, a plain function, or no model at all.

- :class:`SentenceTransformerEncoder`: any sentence-transformers model, given
  as an instance, a model name or a local path, loaded on first use;
- :class:`FunctionEncoder`: any plain callable, batched or one text at a time;
- :class:`LexicalEncoder`: hashed character n-grams; no model, deterministic
  and fast. It sees spelling, not meaning.

torch and sentence_transformers are imported only when a model is first used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..spelling import char_wb_ngrams
from ._minilm import bundled_model_path, load_sentence_transformer

MAX_LEXICAL_FEATURES = 2**20
"""The widest LexicalEncoder (4 MiB per embedding row): a store that asks for more is refused."""


class SentenceTransformerEncoder:
    """A sentence-transformers model, loaded lazily, returning unit-length float32 rows.

    Parameters
    ----------
    model : SentenceTransformer, str or None
        An instance, a model name or a local path. None means the bundled
        all-MiniLM-L6-v2. A name that is not on disk needs the model hub.
    normalize : bool
        Scale each embedding to unit length (cosine = dot product).
    batch_size : int
        Texts per forward pass, as in ``SentenceTransformer.encode``.
    local_files_only : bool
        Resolve a model name on this machine only (never ask the model hub);
        how a model named by a saved file is loaded.

    Examples
    --------
    >>> enc = SentenceTransformerEncoder()          # nothing loaded yet
    >>> enc.encode(["apple", "banana"]).shape       # loads on first use
    (2, 384)
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> SentenceTransformerEncoder:
        """The encoder itself: it is read-only, so copies (a SoftDict's deep copy, scikit-learn's clone) share it
        rather than load its model again."""
        return self

    def __init__(self, model: Any = None, *, normalize: bool = True, batch_size: int = 32,
                 local_files_only: bool = False) -> None:
        self._model = None if isinstance(model, str) or model is None else model
        self.source = bundled_model_path() if model is None else model
        self.name = "all-MiniLM-L6-v2" if model is None else _model_name(model)
        self.bundled = "minilm" if model is None and normalize else None
        self.normalize = normalize
        self.batch_size = batch_size
        self.local_files_only = local_files_only
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The SentenceTransformer itself; the first access loads it."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = load_sentence_transformer(str(self.source), self.local_files_only)
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts`` in batches of ``batch_size``: (len(texts), d) float32."""
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=self.normalize,
        )
        return np.asarray(vectors, dtype=np.float32)

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder({self.name!r})"


def _model_name(model: Any) -> str:
    if isinstance(model, str):
        return model
    path = getattr(model, "model_card_data", None)
    name = getattr(path, "base_model", None) or getattr(model, "name_or_path", None)
    return str(name or type(model).__name__)


class FunctionEncoder:
    """Any callable as an encoder.

    ``batched=True``: ``fn(list_of_texts)`` returns an (n, d) array.
    ``batched=False``: ``fn(text)`` returns one (d,) vector, called per text.

    >>> vectors = {"apple": [1.0, 0.0], "pear": [0.9, 0.1]}
    >>> enc = FunctionEncoder(vectors.__getitem__, batched=False)
    >>> enc.encode(["pear", "apple"])
    array([[0.9, 0.1],
           [1. , 0. ]], dtype=float32)
    """

    def __init__(self, fn: Callable[..., Any], *, batched: bool = True, name: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"FunctionEncoder needs a callable, got {type(fn).__name__}")
        self.fn = fn
        self.batched = batched
        self.name = name or getattr(fn, "__qualname__", type(fn).__name__)

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.batched:
            return np.asarray(self.fn(list(texts)), dtype=np.float32)
        return np.asarray([np.asarray(self.fn(t), dtype=np.float32) for t in texts], dtype=np.float32)

    def __repr__(self) -> str:
        return f"FunctionEncoder({self.name!r}, batched={self.batched})"


class LexicalEncoder:
    """Hashed character n-grams of each text, unit length: the spelling index's n-grams as vectors.

    Deterministic, stateless and fast: a spelling similarity that survives
    typos but knows nothing of meaning ("fruit" is not near "apple"). The
    n-grams are cut as scikit-learn's ``char_wb`` cuts them
    (:func:`softkv.lexical.char_wb_ngrams`) and hashed with CRC-32 into
    ``n_features`` (a power of 2, at most 2**20) counts.

    >>> enc = LexicalEncoder()
    >>> a, b, c = enc.encode(["banana", "bananna", "chair"])
    >>> bool(a @ b > 0.6 > a @ c)
    True
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> LexicalEncoder:
        """The encoder itself: it is read-only, so copies (a SoftDict's deep copy, scikit-learn's clone) share it
        rather than load its model again."""
        return self

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), n_features: int = 2**12) -> None:
        low, high = ngram_range
        if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high <= 8):
            raise ValueError(f"ngram_range must be (low, high) with 1 <= low <= high <= 8, got {ngram_range!r}")
        if not isinstance(n_features, int) or n_features < 2 or n_features > MAX_LEXICAL_FEATURES or (
                n_features & (n_features - 1)):
            raise ValueError(f"n_features must be a power of 2 from 2 to {MAX_LEXICAL_FEATURES}, got {n_features!r}")
        self.ngram_range = (low, high)
        self.n_features = n_features
        self.name = f"lexical-char{low}-{high}-{n_features}"

    def encode(self, texts: list[str]) -> np.ndarray:
        from zlib import crc32

        out = np.zeros((len(texts), self.n_features), dtype=np.float32)
        mask = self.n_features - 1
        for i, text in enumerate(texts):
            ids = [crc32(gram.encode("utf-8", "surrogatepass")) & mask
                   for gram in char_wb_ngrams(text, self.ngram_range)]
            np.add.at(out[i], ids, 1.0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)

    def __repr__(self) -> str:
        return f"LexicalEncoder(ngram_range={self.ngram_range}, n_features={self.n_features})"
