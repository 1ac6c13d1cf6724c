"""The one read: queries -> embeddings -> scores -> weights -> answer -> result.

Every soft read in softkv (``d[q]``, ``lookup``, ``lookup_many``,
``nearest``, calibration, the comparison, ``explain``, the estimators, the
command) is :func:`read` over a :class:`~softkv.store.Memory`:

1. :func:`embed_queries`: texts through the encoder (a :class:`QueryCache`
   keeps recent ones), vectors checked;
2. :func:`score`: meaning (the encoder's similarity), spelling beyond chance
   (:mod:`softkv.spelling`, measured against :class:`Background`), aliases,
   exact keys and left-out keys, as :class:`Scores`; an :class:`IVFIndex`
   finds candidates instead for very large dicts (:func:`score_approximately`);
3. :func:`weigh`: temperature, ``top_k``, mode and the cutoff, as :class:`Weights`;
4. :func:`answer`: blended numbers or the heaviest category, as :class:`Answers`;
5. :class:`BatchResult` and :class:`LookupResult`, made once, complete;
   :func:`as_record` gives one as plain data (the command's ``--json``, the service).

A SoftDict keeps what its reads share (the encoder, its background, recent
query embeddings, an index) in the private ``_reader``.
"""

from ._background import (
    BACKGROUND_TEXTS,
    Background,
    meaning_on_typos,
    measure_meaning_on_typos,
    measure_spelling_background,
    spelling_background,
)
from ._evidence import FALSE_RATE, TAIL_SHARE, chance_max
from ._index import ANN_MIN_KEYS, IVFIndex
from ._pipeline import DEFAULT_CHUNK_BYTES, Readable, embed_queries, queries_of, read
from ._reader import TAIL_TOLERANCE, WIDEN
from ._records import Row, as_record, plain, rows_of
from ._results import BatchResult, LookupResult, by_weight, effective_keys, entropy
from ._scoring import LeaveOut, Scores, TextFeatures, score, text_features, text_queries
from ._weighing import Answers, Weights, answer, median_temperature, weigh

__all__ = [
    "ANN_MIN_KEYS",
    "BACKGROUND_TEXTS",
    "DEFAULT_CHUNK_BYTES",
    "FALSE_RATE",
    "TAIL_SHARE",
    "TAIL_TOLERANCE",
    "WIDEN",
    "Answers",
    "Background",
    "BatchResult",
    "IVFIndex",
    "LeaveOut",
    "LookupResult",
    "Readable",
    "Row",
    "Scores",
    "TextFeatures",
    "Weights",
    "answer",
    "as_record",
    "by_weight",
    "chance_max",
    "effective_keys",
    "embed_queries",
    "entropy",
    "meaning_on_typos",
    "measure_meaning_on_typos",
    "measure_spelling_background",
    "median_temperature",
    "plain",
    "queries_of",
    "read",
    "rows_of",
    "score",
    "spelling_background",
    "text_features",
    "text_queries",
    "weigh",
]
