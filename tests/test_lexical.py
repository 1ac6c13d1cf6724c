"""Spelling similarity and the hybrid score."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from softkv import SoftDict
from softkv.lexical import LexicalIndex

KEYS = ["United States", "United Kingdom", "Germany", "chair", "table", "banana split", "apple pie"]
QUERIES = ["Untied Staets", "germny", "chiar", "banana", "kingdom united", "zzz"]


def reference(keys, queries):
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True).fit(keys)
    return (vectorizer.transform(queries) @ vectorizer.transform(keys).T).toarray()


def test_incremental_index_equals_a_tfidf_refitted_from_scratch():
    index = LexicalIndex()
    index.add(KEYS[:3])
    index.add(KEYS[3:] + ["temporary"])
    index.remove("temporary")
    np.testing.assert_allclose(index.similarity(QUERIES, KEYS), reference(KEYS, QUERIES), atol=1e-5)
    shuffled = KEYS[::-1]
    np.testing.assert_allclose(index.similarity(QUERIES, shuffled), reference(KEYS, QUERIES)[:, ::-1], atol=1e-5)


def test_a_softdict_keeps_its_spelling_index_current(counting):
    d = SoftDict({k: float(i) for i, k in enumerate(KEYS[:4])}, encoder=counting, hybrid=1.0, temperature=0.01)
    assert d.lookup("chiar").nearest == "chair"
    d.update({k: 9.0 for k in KEYS[4:]})
    del d["chair"]
    lexical = d._store.lexical().similarity(QUERIES, d._store.row_keys)
    np.testing.assert_allclose(lexical, reference(d._store.row_keys, QUERIES), atol=1e-5)
    assert d.lookup("banan split").nearest == "banana split"


def test_hybrid_mixes_meaning_and_spelling(minilm):
    keys = {"chair": 1.0, "banana": 2.0, "orange": 3.0, "table": 4.0, "umbrella": 5.0}
    semantic, hybrid = SoftDict(keys), SoftDict(keys, hybrid=0.5)
    assert semantic.lookup("chiar").nearest != "chair"  # the encoder alone misses this typo
    assert hybrid.lookup("chiar").nearest == "chair"
    assert hybrid.lookup("umbrela").nearest == "umbrella"
    assert hybrid.lookup("fruit").nearest in ("banana", "orange")  # meaning still counts
    r = hybrid.lookup("chiar")
    expected = 0.5 * semantic.lookup("chiar").score_array + 0.5 * hybrid._store.lexical().similarity(
        ["chiar"], hybrid._store.row_keys)[0]
    np.testing.assert_allclose(r.score_array, expected, atol=1e-5)


def test_hybrid_is_checked_and_saved(tmp_path, counting):
    with pytest.raises(ValueError, match="from 0 .* to 1"):
        SoftDict(encoder=counting, hybrid=1.5)
    d = SoftDict({"a b": 1.0, "c d": 2.0}, encoder=counting, hybrid=0.3, scoring="dot")
    with pytest.raises(ValueError, match="needs scoring='cosine'"):
        d["a c"]
    d.scoring = "cosine"
    loaded = SoftDict.load(d.save(tmp_path / "h.softkv"), encoder=counting)
    assert loaded.hybrid == 0.3 and loaded["a c"] == pytest.approx(d["a c"])
    assert d[np.ones(16)] == pytest.approx(SoftDict.from_embeddings(list(d), d.key_embeddings, [1.0, 2.0])[np.ones(16)])
