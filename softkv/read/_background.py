"""What unrelated text scores: the yardstick that gives scores the same meaning for every encoder.

Cosines of one encoder sit in a narrow band (multilingual-e5: unrelated words
around 0.84), of another in a wide one (MiniLM: around 0.24), so a cosine says
little on its own. :data:`BACKGROUND_TEXTS` are 258 everyday words and phrases
(a few in other languages), unrelated to any particular catalog. A query's
similarities to them show what "unrelated" looks like for that query and that
encoder; a score is then the number of standard deviations above it
(:mod:`softkv.scoring`). :class:`Background` holds the texts' embeddings under
one encoder and the spread of the similarities between them, measured once
per encoder and kept (in memory, and in saved stores).

>>> from softkv.encoders import FunctionEncoder
>>> b = Background.of(FunctionEncoder(lambda texts: [[1.0, float(len(t))] for t in texts]))
>>> b.embeddings.shape, round(b.meaning_spread, 3)
((258, 2), 0.007)
"""

from __future__ import annotations

import random
import threading
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import attention
from ..encoders import encode_checked

__all__ = ["BACKGROUND_TEXTS", "Background", "background_spelling", "meaning_on_typos", "measure_meaning_on_typos",
           "spelling_background"]

BACKGROUND_TEXTS: tuple[str, ...] = (
    "weather", "rain", "sunshine", "morning coffee", "a cup of tea", "breakfast", "dinner party", "football match",
    "basketball", "swimming pool", "mountain hiking", "holiday", "train station", "airport security", "bicycle",
    "motorcycle", "computer", "keyboard", "smartphone", "software update", "password", "email", "newspaper",
    "library", "homework", "teacher", "hospital", "doctor appointment", "medicine", "headache", "happiness",
    "anger", "friendship", "birthday", "wedding", "music concert", "guitar", "piano lesson", "movie theater",
    "television", "garden", "flowers", "tree", "river", "ocean waves", "desert", "forest", "snow", "winter coat",
    "summer", "autumn leaves", "spring cleaning", "kitchen", "refrigerator", "sofa", "bed", "window", "door",
    "roof", "house", "apartment", "rent", "salary", "bank account", "credit card", "shopping", "supermarket",
    "bread", "cheese", "apple pie", "chicken soup", "rice", "pasta", "pizza", "chocolate cake", "ice cream",
    "water bottle", "wine glass", "beer", "orange juice", "dog", "cat", "horse", "bird song", "fish", "insect",
    "butterfly", "elephant", "lion", "monkey", "city", "village", "street", "bridge", "tower", "castle", "church",
    "museum", "painting", "sculpture", "poetry", "novel", "history", "mathematics", "physics", "chemistry",
    "biology", "philosophy", "language", "grammar", "vocabulary", "question", "answer", "meeting", "deadline",
    "project", "office", "manager", "employee", "company", "factory", "engine", "electricity", "battery", "lamp",
    "light switch", "clock", "watch", "calendar", "week", "month", "year", "yesterday", "tomorrow", "north",
    "south", "left", "right", "up", "down", "big", "small", "fast", "slow", "hot", "cold", "old", "new", "good",
    "bad", "beautiful", "ugly", "heavy", "light", "strong", "weak", "clean", "dirty", "quiet", "noisy", "running",
    "walking", "sleeping", "cooking", "reading", "writing", "singing", "dancing", "laughing", "crying", "thinking",
    "learning", "working", "playing", "building", "driving", "flying", "sailing", "fishing", "hunting", "climbing",
    "jumping", "the quick brown fox", "how are you", "thank you very much", "see you later", "good night",
    "what time is it", "where is the station", "I am hungry", "it is raining", "let us go", "quantum mechanics",
    "tax return", "insurance policy", "job interview", "parking lot", "traffic jam", "washing machine",
    "vacuum cleaner", "toothbrush", "shampoo", "umbrella", "sunglasses", "backpack", "suitcase", "passport",
    "ticket", "map", "compass", "candle", "mirror", "pillow", "blanket", "scissors", "hammer", "nail",
    "screwdriver", "ladder", "bucket", "rope", "chain", "glue", "paper", "pencil", "eraser", "notebook", "envelope",
    "stamp", "gift", "toy", "ball", "puzzle", "game", "chess", "cards", "dice", "lottery", "prize", "medal",
    "trophy", "champion", "team", "coach", "referee", "stadium", "Haus", "maison", "casa", "Buch", "livre", "libro",
    "Wasser", "eau", "agua", "Freund", "ami", "amigo",
)


MAX_BACKGROUND_DIM = 1 << 16
"""The widest embeddings a background is kept for (258 rows of 2**16 floats: 67 MB); wider encoders (a
LexicalEncoder of up to 2**20 hashed n-grams) read without one, as an encoder that cannot embed the texts."""


@dataclass(frozen=True)
class Background:
    """The background texts under one encoder: their embeddings (R, d) and the spread of their cosines."""

    embeddings: np.ndarray  # (R, d) float32
    meaning_spread: float  # standard deviation of the cosines between two different background texts
    _spreads: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, encoder: Any) -> Background | bool:
        """The background of ``encoder``: encoded once per encoder object, then kept.

        False for an encoder that cannot embed the background texts (one that
        knows a fixed vocabulary): reads have no yardstick then, so no default
        threshold, and a RuntimeWarning says so once.
        """
        def measure() -> Background | bool:
            try:
                probe = encode_checked(encoder, list(BACKGROUND_TEXTS[:1]))
                if probe.shape[1] > MAX_BACKGROUND_DIM:
                    raise ValueError(f"its embeddings are {probe.shape[1]:,} wide, past {MAX_BACKGROUND_DIM:,}")
                return cls.measure(encode_checked(encoder, list(BACKGROUND_TEXTS)))
            except (ValueError, TypeError, KeyError, LookupError) as error:
                warnings.warn(f"softkv could not embed its background texts with {encoder!r} ({error}); reads with "
                              "it score raw similarities and miss only below a threshold you set", RuntimeWarning,
                              stacklevel=5)  # the frame that asked for this encoder's read
                return False

        found: Background | bool = _once_per_encoder(_cache, encoder, measure)
        return found

    @classmethod
    def measure(cls, embeddings: Any) -> Background:
        """The background of its embeddings (as stored with a saved SoftDict, or just encoded)."""
        vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-30)
        cosines = unit @ unit.T
        pairs = cosines[np.triu_indices(len(unit), 1)]
        return cls(vectors, max(float(pairs.std()), 1e-6))

    def spread(self, scoring: str) -> float:
        """The standard deviation of ``scoring`` between two different background texts (cosine: meaning_spread)."""
        if scoring == "cosine":
            return self.meaning_spread
        if scoring not in self._spreads:
            pairs = attention.scores(self.embeddings, self.embeddings, scoring)
            self._spreads[scoring] = max(float(pairs[np.triu_indices(len(pairs), 1)].std()), 1e-12)
        return self._spreads[scoring]

    def mean_score(self, Q: np.ndarray, scoring: str) -> np.ndarray:
        """Each query's mean ``scoring`` against the background texts, (B, 1)."""
        mean: np.ndarray = attention.scores(Q, self.embeddings, scoring).mean(axis=1, keepdims=True)
        return mean


_cache: weakref.WeakKeyDictionary[Any, Background | bool] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _once_per_encoder(cache: weakref.WeakKeyDictionary[Any, Any], encoder: Any, measure: Any) -> Any:
    """``cache[encoder]``, made by ``measure()`` the first time (an encoder that cannot be weakly referenced is
    measured each time it is asked)."""
    with _lock:
        try:
            found = cache.get(encoder)
        except TypeError:
            found = None
    if found is None:
        found = measure()
        with _lock:
            try:
                cache[encoder] = found
            except TypeError:
                pass
    return found


SPELLING_BACKGROUND = {"both": (0.07183486223220825, 0.06822580099105835),
                       "edits": (0.12718823552131653, 0.10977280884981155),
                       "ngrams": (0.016481494531035423, 0.03892285376787186)}
"""What :func:`measure_spelling_background` gives for each spelling measure (:data:`softkv.spelling.MEASURES`):
it depends only on the background texts and the spelling score, so it is measured once here rather than in
every process (80 ms of a cold start); a test re-measures it."""


def spelling_background(measure: str = "both") -> tuple[float, float]:
    """The mean and standard deviation of the spelling similarity between two background texts (any encoder).

    >>> [round(x, 3) for x in spelling_background()]
    [0.072, 0.068]
    """
    return SPELLING_BACKGROUND[measure]


_table: Any = None


def background_spelling(texts: list[str], measure: str = "both") -> np.ndarray:
    """The spelling similarity of each text to each background text, (len(texts), R): how well those texts are
    spelled like unrelated ones (the background's n-gram table is made once per process).

    >>> background_spelling(["weathr"]).argmax(), BACKGROUND_TEXTS[0]
    (np.int64(0), 'weather')
    """
    global _table
    if _table is None:
        from ..spelling import LexicalIndex

        index = LexicalIndex()
        index.add(list(BACKGROUND_TEXTS))
        with _lock:
            _table = _table or index.table(list(BACKGROUND_TEXTS))
    found: np.ndarray = _table.spelling(texts, measure)
    return found


def measure_spelling_background(measure: str = "both") -> tuple[float, float]:
    """:data:`SPELLING_BACKGROUND` of one measure, measured: the spelling similarity of every pair of background
    texts."""
    from ..spelling import LexicalIndex

    index = LexicalIndex()
    texts = list(BACKGROUND_TEXTS)
    index.add(texts)
    pairs = index.table(texts).spelling(texts, measure)[np.triu_indices(len(texts), 1)]
    return float(pairs.mean()), float(pairs.std())


TYPO_REPEATS = 3
"""How many seeded typos of each background text :func:`measure_meaning_on_typos` reads (774 in all)."""
MEANING_ON_TYPOS = {"minilm": 0.30376344086021506, "multilingual": 0.6559139784946236}
"""What :func:`measure_meaning_on_typos` gives for the bundled encoders (on ONNX Runtime), kept here so that no
process encodes the 774 typos for them (MiniLM 0.7 s, e5 3.5 s); a test re-measures both."""
_typo_cache: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def meaning_on_typos(encoder: Any, background: Background) -> float:
    """How far ``encoder``'s meaning reads a misspelt text, against spelling: :func:`measure_meaning_on_typos`,
    measured once per encoder object (the bundled encoders' values are kept: :data:`MEANING_ON_TYPOS`)."""
    shipped = MEANING_ON_TYPOS.get(getattr(encoder, "bundled", ""))
    if shipped is not None and type(encoder).__module__.startswith("softkv."):
        return shipped
    found: float = _once_per_encoder(_typo_cache, encoder, lambda: measure_meaning_on_typos(encoder, background))
    return found


def measure_meaning_on_typos(encoder: Any, background: Background) -> float:
    """The share of seeded typos of the background texts (one or two edits each, :data:`TYPO_REPEATS` of each
    text) that meaning alone reads as the text they misspell, over the share that spelling alone does: about
    0.30 for MiniLM, whose meaning of a misspelt word is often another word's, and 0.66 for multilingual-e5,
    which reads word pieces more robustly. The default score counts meaning's lead this much against
    spelling's (:func:`softkv.read._evidence.channel_weights`). 1 when spelling reads none of them."""
    from ..datasets import typo

    rng = random.Random(0)
    queries = [typo(text, rng, edits=1 + (j + repeat) % 2)
               for repeat in range(TYPO_REPEATS) for j, text in enumerate(BACKGROUND_TEXTS)]
    meant = np.tile(np.arange(len(BACKGROUND_TEXTS)), TYPO_REPEATS)
    unit = background.embeddings / np.maximum(np.linalg.norm(background.embeddings, axis=1, keepdims=True), 1e-30)
    meaning = (encode_checked(encoder, queries) @ unit.T).argmax(axis=1) == meant
    spelling = background_spelling(queries, "both").argmax(axis=1) == meant
    return float(meaning.mean() / spelling.mean()) if spelling.any() else 1.0
