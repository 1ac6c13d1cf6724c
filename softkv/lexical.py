"""Spelling similarity: character n-gram TF-IDF between query texts and keys, kept current.

Sentence encoders see meaning but stumble on typos ("chiar"); character
n-grams see spelling but not meaning ("fruit" is not near "apple"). A hybrid
score (1 - w) * cosine_semantic + w * cosine_lexical gets both.

Each key's n-gram counts are hashed (scikit-learn's HashingVectorizer,
``analyzer="char_wb"``, sublinear term frequency), so adding a key never
refits anything: its counts are stored and the document frequencies updated,
O(length of the key). The inverse document frequencies change with every
key; the weighted, normalised key matrix is rebuilt on the first read after a
change, O(total n-grams of all keys): bulk writes then reads pay it once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["LexicalIndex"]


class LexicalIndex:
    """Character n-gram TF-IDF over a changing set of keys.

    >>> index = LexicalIndex()
    >>> index.add(["chair", "table", "banana"])
    >>> index.similarity(["chiar"], ["chair", "table", "banana"]).round(2)
    array([[0.76, 0.11, 0.12]], dtype=float32)
    """

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), n_features: int = 2**20) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.ngram_range = ngram_range
        self._vectorizer = HashingVectorizer(
            analyzer="char_wb", ngram_range=ngram_range, n_features=n_features, alternate_sign=False, norm=None
        )
        self._counts: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # key -> (feature ids, sublinear tf)
        self._document_frequency = np.zeros(n_features, dtype=np.int64)
        self._matrices: dict[tuple[str, ...], Any] = {}  # names -> (n_features, N) tf-idf, cleared on change
        self._idf_cache: np.ndarray | None = None  # cleared on change too

    def __len__(self) -> int:
        return len(self._counts)

    def _term_frequencies(self, texts: list[str]) -> Any:
        counts = self._vectorizer.transform(texts)
        counts.data = 1.0 + np.log(counts.data)  # sublinear tf
        return counts

    def add(self, keys: list[str]) -> None:
        """Store the n-gram counts of new keys: O(their length), nothing refitted."""
        keys = [key for key in keys if key not in self._counts]
        if not keys:
            return
        counts = self._term_frequencies(keys)
        for i, key in enumerate(keys):
            start, stop = counts.indptr[i], counts.indptr[i + 1]
            features = counts.indices[start:stop].copy()
            self._counts[key] = (features, counts.data[start:stop].copy())
            self._document_frequency[features] += 1
        self._changed()

    def remove(self, key: str) -> None:
        features, _ = self._counts.pop(key)
        self._document_frequency[features] -= 1
        self._changed()

    def _changed(self) -> None:
        self._matrices.clear()
        self._idf_cache = None

    def _idf(self) -> np.ndarray:
        """Smooth idf as scikit-learn's, 0 for n-grams no key has (a query's unknown n-grams are dropped)."""
        if self._idf_cache is None:
            n_documents = len(self._counts)
            idf = np.log((1.0 + n_documents) / (1.0 + self._document_frequency)) + 1.0
            self._idf_cache = np.where(self._document_frequency > 0, idf, 0.0)
        return self._idf_cache

    def _key_matrix(self, keys: list[str]) -> Any:
        from scipy import sparse

        cached = self._matrices.get(tuple(keys))
        if cached is not None:
            return cached
        idf = self._idf()
        indptr, indices, data = [0], [], []
        for key in keys:
            features, tf = self._counts[key]
            weights = tf * idf[features]
            norm = np.sqrt((weights * weights).sum())
            indices.append(features)
            data.append(weights / norm if norm > 0 else weights)
            indptr.append(indptr[-1] + len(features))
        matrix = sparse.csr_matrix(
            (np.concatenate(data) if data else [], np.concatenate(indices) if indices else [], indptr),
            shape=(len(keys), self._document_frequency.shape[0]), dtype=np.float32,
        )
        self._matrices[tuple(keys)] = matrix.T.tocsr()
        return self._matrices[tuple(keys)]

    def similarity(self, texts: list[str], keys: list[str]) -> np.ndarray:
        """Cosine of TF-IDF vectors, (len(texts), len(keys)) float32 in [0, 1]; keys in the given order."""
        matrix = self._key_matrix(keys)
        queries = self._term_frequencies(texts)
        queries.data *= self._idf()[queries.indices]
        norms = np.sqrt(np.asarray(queries.multiply(queries).sum(axis=1))).ravel()
        queries = queries.multiply(1.0 / np.where(norms > 0, norms, 1.0)[:, None]).tocsr()
        return np.asarray((queries @ matrix).todense(), dtype=np.float32)
