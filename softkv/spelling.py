"""Spelling similarity between query texts and names: edit similarity and character n-gram TF-IDF, kept current.

Sentence encoders see meaning but stumble on typos ("chiar"); spelling sees
letters but not meaning ("fruit" is not near "apple"). The spelling
similarity of a query to a name is the mean of two views of its letters:

- edits: 1 - (optimal string alignment distance) / (longer length), from
  rapidfuzz, where a transposed pair of letters is one edit ("bule", "blue"),
  and so is putting the words in another order ("smith john", "john smith");
- n-grams: the cosine of character bigram and trigram TF-IDF vectors, scaled
  by the square root of the length ratio: order-free and weighted by rarity,
  so that reordered words and cognates count ("Noorwegen", "Norway").

On the dev benchmark (benchmarks/quality.py) the mean is as good as the better
of the two on every kind of spelling variant: typos 0.983 (edits 0.983,
n-grams 0.939), names in other languages 0.875 (0.548, 0.878),
abbreviations 0.467 (0.384, 0.365).

Character bigrams and trigrams (``NGRAM_RANGE``, reasons below) of each key,
cut as scikit-learn's ``analyzer="char_wb"`` cuts them, are hashed (CRC-32,
2**20 features) with sublinear term frequency; scikit-learn itself is not
imported, which keeps a cold start about 0.8 s shorter. Adding a key never
refits anything: its counts are stored and the document frequencies updated,
O(length of the key). The inverse document frequencies change with every
key; the weighted, normalised key matrix is rebuilt on the first read after a
change, O(total n-grams of all keys): bulk writes then reads pay it once.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple
from zlib import crc32

import numpy as np

from ._words import fold, in_vocabulary, known_words

__all__ = ["LexicalIndex", "MEASURES", "NGRAM_RANGE", "SpellingTable", "char_wb_ngrams", "fold", "hashed_ngrams",
           "in_vocabulary", "known_words"]

# Character bigrams and trigrams. Single characters are left out: on a small catalog their idf
# is high and unrelated words share letters, so "fruit" came out nearer to "chair" (shared i, r)
# than to "apple". Without them, words with no common bigram score exactly 0, and the hybrid
# read of such a query is the meaning-only read. On the dev data (benchmarks/quality.py) the
# alias and typo top-1 stays within 0.3 points of (1, 3).
NGRAM_RANGE = (2, 3)
MEASURES = ("both", "edits", "ngrams")
"""What a spelling similarity can be made of: the mean of edits and n-grams, or one of them alone."""
QUERY_CACHE_SIZE = 4096  # query texts whose n-gram counts are remembered
POSTINGS_PER_STEP = 1 << 22  # (query n-gram, name) pairs added up at a time: about 100 MB of temporaries


_WHITESPACE = re.compile(r"\s\s+")


def char_wb_ngrams(text: str, ngram_range: tuple[int, int]) -> list[str]:
    """Character n-grams inside word boundaries, as scikit-learn's ``analyzer="char_wb"`` makes them.

    Lower-cased; each word is padded with one space on each side; a word
    shorter than n gives itself once.

    >>> char_wb_ngrams("Hi there", (2, 3))
    [' h', 'hi', 'i ', ' hi', 'hi ', ' t', 'th', 'he', 'er', 're', 'e ', ' th', 'the', 'her', 'ere', 're ']
    """
    low, high = ngram_range
    grams: list[str] = []
    for word in _WHITESPACE.sub(" ", text.lower()).split():
        word = f" {word} "
        for n in range(low, high + 1):
            offset = 0
            grams.append(word[offset:offset + n])
            while offset + n < len(word):
                offset += 1
                grams.append(word[offset:offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return grams


def _lengths(texts: list[str]) -> np.ndarray:
    return np.array([max(len(text.strip()), 1) for text in texts], dtype=np.float32)


@functools.lru_cache(maxsize=8192)
def hashed_ngrams(text: str, ngram_range: tuple[int, int], n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """The n-grams of ``text`` hashed (CRC-32) into ``n_features`` (a power of 2): sorted feature ids and their
    sublinear term frequencies 1 + ln(count), read-only.

    The 8,192 most recently used are kept (about 6 MB for city names): a backend's read rebuilds the
    spelling of its candidates and of the same uniform sample each time, and hashing was a third of the
    local part of such a read.

    >>> ids, tf = hashed_ngrams("aaa", (2, 2), 2**20)  # " a", "aa" twice, "a "
    >>> len(ids), sorted(tf.round(3).tolist())
    (3, [1.0, 1.0, 1.693])
    """
    mask = n_features - 1
    counts = Counter(crc32(gram.encode("utf-8", "surrogatepass")) & mask for gram in char_wb_ngrams(text, ngram_range))
    features = sorted(counts)
    ids, frequencies = np.array(features, dtype=np.int64), np.array([1.0 + math.log(counts[f]) for f in features])
    ids.flags.writeable = frequencies.flags.writeable = False  # shared by every caller through the cache
    return ids, frequencies


class LexicalIndex:
    """Character n-gram document frequencies over a changing set of names (keys and aliases).

    >>> index = LexicalIndex()
    >>> index.add(["chair", "table", "banana"])
    >>> index.similarity(["chiar"], ["chair", "table", "banana"]).round(2)
    array([[0.6, 0. , 0. ]], dtype=float32)
    """

    def __init__(self, ngram_range: tuple[int, int] = NGRAM_RANGE, n_features: int = 2**20) -> None:
        if n_features & (n_features - 1):
            raise ValueError(f"n_features must be a power of 2, got {n_features}")
        self.ngram_range = ngram_range
        self.n_features = n_features
        self._counts: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # name -> (feature ids, sublinear tf)
        self._document_frequency = np.zeros(n_features, dtype=np.int64)
        self._query_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # text -> its tf; kept across changes
        self._query_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._counts)

    def add(self, names: list[str]) -> None:
        """Store the n-gram counts of new names: O(their length), nothing refitted."""
        names = [name for name in dict.fromkeys(names) if name not in self._counts]
        if not names:
            return
        for name in names:
            self._counts[name] = hashed_ngrams(name, self.ngram_range, self.n_features)
        every = np.concatenate([self._counts[name][0] for name in names])
        self._document_frequency += np.bincount(every, minlength=self.n_features)

    def copy(self) -> LexicalIndex:
        """An index of the same names that changes apart from this one (the counts of a name never change)."""
        other = LexicalIndex(self.ngram_range, self.n_features)
        other._counts, other._document_frequency = dict(self._counts), self._document_frequency.copy()
        return other

    def remove(self, name: str) -> None:
        features, _ = self._counts.pop(name)
        self._document_frequency[features] -= 1

    def table(self, names: list[str], frequencies: tuple[int, np.ndarray] | None = None) -> SpellingTable:
        """The TF-IDF rows of ``names`` (all added before) under the current document frequencies, or under
        ``frequencies`` (documents, (n_features,) frequencies) of a larger set of names: frozen, so later
        changes of the index do not change it. O(total n-grams of the names)."""
        n_documents, document_frequency = frequencies or (len(self._counts), self._document_frequency)
        if document_frequency.shape != (self.n_features,):
            raise ValueError(f"need {self.n_features} document frequencies, got {document_frequency.shape}")
        idf = np.zeros(self.n_features)  # a query's unknown n-grams are dropped; the known ones' idf only (a
        known = np.flatnonzero(document_frequency)  # logarithm of every feature was most of a backend's table)
        idf[known] = np.log((1.0 + n_documents) / (1.0 + document_frequency[known])) + 1.0
        matrix = _tfidf_rows([self._counts[name] for name in names], idf, self.n_features)
        return SpellingTable(names, matrix.transposed(), _lengths(names)[None, :], idf, self._query_frequencies)

    def spelling(self, texts: list[str], names: list[str]) -> np.ndarray:
        """:meth:`SpellingTable.spelling` of ``texts`` against ``names``."""
        return self.table(names).spelling(texts)

    def ngrams(self, texts: list[str], names: list[str]) -> np.ndarray:
        """:meth:`SpellingTable.ngrams` of ``texts`` against ``names``.

        >>> index = LexicalIndex()
        >>> index.add(["judge", "man judge"])
        >>> index.similarity(["amn judge"], ["judge", "man judge"]).round(2)
        array([[0.92, 0.72]], dtype=float32)
        >>> index.ngrams(["amn judge"], ["judge", "man judge"]).round(2)
        array([[0.69, 0.72]], dtype=float32)
        """
        return self.table(names).ngrams(texts)

    def similarity(self, texts: list[str], names: list[str]) -> np.ndarray:
        """Cosine of TF-IDF vectors, (len(texts), len(names)) float32 in [0, 1]; names in the given order."""
        return self.table(names).similarity(texts)

    def _query_frequencies(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(feature ids, sublinear tf) of query texts, remembered for the last few thousand texts."""
        with self._query_lock:  # readers share an index: they may fill the cache at the same time
            for text in texts:
                if text not in self._query_cache:
                    self._query_cache[text] = hashed_ngrams(text, self.ngram_range, self.n_features)
            rows = [self._query_cache[text] for text in texts]
            while len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.pop(next(iter(self._query_cache)))
        return rows


class SpellingTable:
    """The spelling side of a score, frozen for one set of names: queries in, (B, n_names) similarities out."""

    def __init__(self, names: list[str], matrix: Any, lengths: np.ndarray, idf: np.ndarray,
                 frequencies: Callable[[list[str]], list[tuple[np.ndarray, np.ndarray]]]) -> None:
        self._names = list(names)
        self._folded: list[str] | None = None  # the names case- and punctuation-folded, once, for edits()
        self._reordered: list[str] = []  # and with their words sorted
        self._matrix = matrix  # (n_features, n_names) CSC-like: CSR of the transpose
        self._lengths = lengths  # (1, n_names)
        self._idf = idf
        self._frequencies = frequencies

    def spelling(self, texts: list[str], measure: str = "both") -> np.ndarray:
        """The spelling similarity, (len(texts), n_names) float32: for ``measure="both"`` (the default) the mean of
        :meth:`edits` and :meth:`ngrams`, or either alone (``"edits"``, ``"ngrams"``; see :data:`MEASURES`).

        >>> names = ["chair", "table", "Central African Republic", "Norway"]
        >>> index = LexicalIndex()
        >>> index.add(names)
        >>> table = index.table(names)
        >>> table.edits(["chiar", "República Centroafricana"]).round(2)  # a transposition is one edit, a reordering too
        array([[0.8 , 0.  , 0.17, 0.17],
               [0.12, 0.12, 0.33, 0.17]], dtype=float32)
        >>> table.ngrams(["chiar", "República Centroafricana"]).round(2)  # order-free, weighted by rarity
        array([[0.58, 0.  , 0.02, 0.  ],
               [0.01, 0.01, 0.79, 0.  ]], dtype=float32)
        >>> table.spelling(["chiar", "República Centroafricana"]).round(2)
        array([[0.69, 0.  , 0.09, 0.08],
               [0.07, 0.07, 0.56, 0.08]], dtype=float32)
        """
        if measure == "edits":
            return self.edits(texts)
        if measure == "ngrams":
            return self.ngrams(texts)
        if measure != "both":
            raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
        found = self.edits(texts)
        found += self.ngrams(texts)
        found *= 0.5
        return found

    def edits(self, texts: list[str]) -> np.ndarray:
        """1 - optimal string alignment distance / longer length (case and punctuation folded), in [0, 1], where
        putting the words in another order is one edit: the better of the texts as written and of their words
        sorted, one edit added.

        Person records swap given name and surname ("taslidza james"), lists
        put the main word first ("Korea, Republic of"). On the dev data
        (benchmarks/quality.py, MiniLM) the reordering raises the recall at
        precision 0.95 over FEBRL person names from 0.564 to 0.678 and the
        other-language top-1 from 0.788 to 0.813; the one edit keeps two names
        that differ only in their order apart ("blue green", "green blue").

        >>> names = ["john smith", "jon smyth", "smith"]
        >>> index = LexicalIndex()
        >>> index.add(names)
        >>> index.table(names).edits(["smith john", "john smith"]).round(2)
        array([[0.9, 0.7, 0.5],
               [1. , 0.8, 0.5]], dtype=float32)
        """
        from rapidfuzz import process, utils
        from rapidfuzz.distance import OSA

        if self._folded is None:
            self._folded = [utils.default_process(name) for name in self._names]
            self._reordered = _reordered(self._folded)
        folded = [utils.default_process(text) for text in texts]
        workers = -1 if len(texts) * len(self._names) > 200_000 else 1
        # rapidfuzz: C++, and the transposition-aware edit distance typos are made of
        found: np.ndarray = process.cdist(folded, self._folded, scorer=OSA.normalized_similarity, dtype=np.float32,
                                          workers=workers)
        names, reordered = self._reordered, _reordered(folded)
        # a pair of which neither text changes when its words are sorted gains nothing from sorting them
        name_changes = [name != other for name, other in zip(names, self._folded)]
        changed_names = [j for j, changes in enumerate(name_changes) if changes]
        changed_texts = [i for i, (text, other) in enumerate(zip(reordered, folded)) if text != other]
        other_names = [j for j, changes in enumerate(name_changes) if not changes] if changed_texts else []
        # every text against the names that change, then the texts that change against the other names: each
        # pair once
        for some_texts, some_names in ((list(range(len(texts))), changed_names), (changed_texts, other_names)):
            if some_texts and some_names:
                sorted_edits = _one_edit_more([reordered[i] for i in some_texts], [names[j] for j in some_names],
                                              workers)
                cells = np.ix_(np.asarray(some_texts), np.asarray(some_names))
                found[cells] = np.maximum(found[cells], sorted_edits)
        return found

    def ngrams(self, texts: list[str]) -> np.ndarray:
        """The TF-IDF cosine times sqrt(shorter / longer length), (len(texts), n_names) float32.

        The cosine alone favours a short name whose n-grams all occur in the
        query ("judge" for "amn judge", when "man judge" was meant); edit
        distance, which typos are made of, is at least the difference in
        length. On the dev data (benchmarks/quality.py) the length factor
        raises the typo top-1 from 0.858 to 0.888 and the alias top-1 from
        0.783 to 0.815.
        """
        cosine = self.similarity(texts)
        text_lengths = _lengths(texts)[:, None]
        cosine *= np.sqrt(np.minimum(text_lengths, self._lengths) / np.maximum(text_lengths, self._lengths))
        return cosine

    def similarity(self, texts: list[str]) -> np.ndarray:
        """The TF-IDF cosine of each text to each name, (len(texts), n_names) float32.

        The posting lists of the texts' n-grams are added up in numpy, at most
        :data:`POSTINGS_PER_STEP` (n-gram, name) pairs at a time: about twice
        as fast as a sparse matrix product, which builds a sparse result first,
        with memory bounded for any number of names and no scipy import.
        """
        queries = _tfidf_rows(self._frequencies(texts), self._idf, self._idf.shape[0])  # one unit row per text
        matrix = self._matrix
        starts = matrix.indptr[queries.indices]
        sizes = matrix.indptr[queries.indices + 1] - starts  # the posting list of each query n-gram
        n_names = matrix.shape[1]
        query_rows = np.repeat(np.arange(len(texts)), np.diff(queries.indptr))
        found = np.zeros(len(texts) * n_names)
        ends = np.cumsum(sizes)
        first = 0
        while first < len(sizes):  # a step of whole posting lists (at least one) within the budget
            last = max(first + 1, int(np.searchsorted(ends, ends[first] - sizes[first] + POSTINGS_PER_STEP, "right")))
            step = slice(first, last)
            total = int(sizes[step].sum())
            offsets = np.cumsum(sizes[step]) - sizes[step]
            positions = np.repeat(starts[step] - offsets, sizes[step]) + np.arange(total)
            contributions = matrix.data[positions] * np.repeat(queries.data[step], sizes[step])
            cells = np.repeat(query_rows[step] * n_names, sizes[step]) + matrix.indices[positions]
            found += np.bincount(cells, weights=contributions, minlength=len(found))
            first = last
        return found.reshape(len(texts), n_names).astype(np.float32)


class SparseRows(NamedTuple):
    """A sparse matrix in compressed rows (scipy's CSR layout), kept as numpy arrays: building it and adding up
    a few of its rows needs no scipy, whose import alone costs a cold start 0.2-0.3 s."""

    indptr: np.ndarray  # (n_rows + 1,) where each row's entries start
    indices: np.ndarray  # the column of each entry
    data: np.ndarray  # float32
    shape: tuple[int, int]

    def transposed(self) -> SparseRows:
        """The same matrix by columns (a CSR of the transpose), O(entries + n_columns)."""
        n_rows, n_columns = self.shape
        row_ids = np.repeat(np.arange(n_rows), np.diff(self.indptr))
        order = np.argsort(self.indices, kind="stable")
        indptr = np.concatenate([[0], np.cumsum(np.bincount(self.indices, minlength=n_columns))])
        return SparseRows(indptr, row_ids[order], self.data[order], (n_columns, n_rows))


def _tfidf_rows(rows: list[tuple[np.ndarray, np.ndarray]], idf: np.ndarray, n_features: int) -> SparseRows:
    """Unit-length TF-IDF rows from (feature ids, sublinear tf) pairs."""
    sizes = np.fromiter((len(features) for features, _ in rows), dtype=np.int64, count=len(rows))
    indices = np.concatenate([features for features, _ in rows]) if rows else np.zeros(0, dtype=np.int64)
    weights = np.concatenate([tf for _, tf in rows]) if rows else np.zeros(0)
    weights = weights * idf[indices]
    row_ids = np.repeat(np.arange(len(rows)), sizes)
    norms = np.sqrt(np.bincount(row_ids, weights=weights * weights, minlength=len(rows)))
    weights /= np.where(norms > 0, norms, 1.0)[row_ids]
    indptr = np.concatenate([[0], np.cumsum(sizes)])
    return SparseRows(indptr, indices, weights.astype(np.float32), (len(rows), n_features))


def _reordered(folded: list[str]) -> list[str]:
    """Each folded text with its words in sorted order, single spaces between them."""
    return [" ".join(sorted(text.split())) for text in folded]


def _one_edit_more(texts: list[str], names: list[str], workers: int) -> np.ndarray:
    """1 - (optimal string alignment distance + 1) / longer length of each pair, at least 0."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    distances = process.cdist(texts, names, scorer=OSA.distance, dtype=np.int32, workers=workers)
    longer = np.maximum(np.array([len(t) for t in texts])[:, None], np.array([len(n) for n in names])[None, :])
    similarity: np.ndarray = np.clip(1.0 - (distances + 1.0) / np.maximum(longer, 1), 0.0, None)
    return similarity.astype(np.float32)
