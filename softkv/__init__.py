"""softkv: a differentiable soft key-value memory.

``SoftDict`` is a dictionary with string keys that answers a query that is not
a key by attention over its keys: softmax(similarity(q, K) / temperature) @ V,
with the weights there to inspect.

>>> from softkv import SoftDict
>>> d = SoftDict({"apple": 10, "banana": 5, "chair": 2})
>>> d.lookup("fruit").nearest
'banana'

Importing softkv is light: torch and sentence-transformers load only when a
model is first used.
"""

from . import attention, encoders
from .encoders import FunctionEncoder, LexicalEncoder, SentenceTransformerEncoder
from .params import Params
from .result import BatchResult, LookupResult
from .softdict import SoftDict

__version__ = "0.1.0"

__all__ = [
    "BatchResult",
    "FunctionEncoder",
    "LexicalEncoder",
    "LookupResult",
    "Params",
    "SentenceTransformerEncoder",
    "SoftDict",
    "attention",
    "encoders",
]
