"""softkv: a differentiable soft key-value memory.

``SoftDict`` is a dictionary with string keys that answers a query that is not
a key by attention over its keys: softmax(similarity(q, K) / temperature) @ V,
with the weights there to inspect.

>>> from softkv import SoftDict
>>> d = SoftDict({"apple": 10, "banana": 5, "chair": 2})
>>> d.lookup("fruit").nearest
'banana'

The package follows the read, bottom up: :mod:`softkv.attention` (the numpy
kernel) and :mod:`softkv.spelling` (its string twin), :mod:`softkv.params`
and :mod:`softkv.errors`; :mod:`softkv.store` (what a dict holds) and
:mod:`softkv.encoders` (how text becomes vectors); :mod:`softkv.read` (the one
read: scores, weights, answer, results); then :mod:`softkv.io` (files),
:mod:`softkv.tools` (calibration, comparison, explanations, estimators, plots)
and :mod:`softkv.nn` (the read in torch); :class:`SoftDict` on top, and
:mod:`softkv.cli`, the command.

Importing softkv is light: ``io``, ``tools``, ``nn``, ``cli`` and
``datasets`` load when first used, and torch and sentence-transformers only
when a model needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import attention, encoders, params, read, spelling, store
from ._version import __version__
from .encoders import FunctionEncoder, LexicalEncoder, SentenceTransformerEncoder
from .errors import CatalogError, EncoderMismatchError, FormatError
from .params import Params
from .read import BatchResult, LookupResult
from .softdict import SoftDict

if TYPE_CHECKING:
    from . import cli, datasets, io, nn, tools

_LAZY = ("cli", "datasets", "io", "nn", "tools")

__all__ = [
    "BatchResult",
    "CatalogError",
    "EncoderMismatchError",
    "FormatError",
    "FunctionEncoder",
    "LexicalEncoder",
    "LookupResult",
    "Params",
    "SentenceTransformerEncoder",
    "SoftDict",
    "__version__",
    "attention",
    "cli",
    "datasets",
    "encoders",
    "io",
    "nn",
    "params",
    "read",
    "spelling",
    "store",
    "tools",
]


def __getattr__(name: str) -> Any:
    """The subpackages that ``import softkv`` leaves unloaded, imported when first named (PEP 562)."""
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
