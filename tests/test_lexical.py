"""Spelling similarity and the hybrid score."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from softkv import SoftDict
from softkv.lexical import NGRAM_RANGE, LexicalIndex, char_wb_ngrams

KEYS = ["United States", "United Kingdom", "Germany", "chair", "table", "banana split", "apple pie"]
QUERIES = ["Untied Staets", "germny", "chiar", "banana", "kingdom united", "zzz"]


def reference(keys, queries):
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, sublinear_tf=True).fit(keys)
    return (vectorizer.transform(queries) @ vectorizer.transform(keys).T).toarray()


def spelling_cosine(memory, queries):
    """The TF-IDF cosine behind a memory's spelling scores (the length factor divided out)."""
    lengths = np.array([len(k) for k in memory.keys], dtype=float)
    ratio = np.array([[min(len(q), k) / max(len(q), k) for k in lengths] for q in queries])
    return memory.spelling(queries) / np.sqrt(ratio)


def test_incremental_index_equals_a_tfidf_refitted_from_scratch():
    index = LexicalIndex()
    index.add(KEYS[:3])
    index.add(KEYS[3:] + ["temporary"])
    index.remove("temporary")
    np.testing.assert_allclose(index.similarity(QUERIES, KEYS), reference(KEYS, QUERIES), atol=1e-5)
    shuffled = KEYS[::-1]
    np.testing.assert_allclose(index.similarity(QUERIES, shuffled), reference(KEYS, QUERIES)[:, ::-1], atol=1e-5)


def test_a_softdict_keeps_its_spelling_index_current(counting):
    d = SoftDict({k: float(i) for i, k in enumerate(KEYS[:4])}, encoder=counting, spelling_weight=1.0, temperature=0.01)
    assert d.lookup("chiar").nearest == "chair"
    d.update({k: 9.0 for k in KEYS[4:]})
    del d["chair"]
    memory, _ = d.snapshot()  # its spelling table: the index as it stands after the writes
    lexical = spelling_cosine(memory, QUERIES)
    np.testing.assert_allclose(lexical, reference(memory.keys, QUERIES), atol=1e-5)
    assert d.lookup("banan split").nearest == "banana split"


def test_hybrid_mixes_meaning_and_spelling(minilm):
    keys = {"chair": 1.0, "banana": 2.0, "orange": 3.0, "table": 4.0, "umbrella": 5.0}
    semantic, hybrid = SoftDict(keys, spelling_weight=0), SoftDict(keys)  # the default, "auto", is 0.5 with cosine
    assert hybrid.spelling_weight == "auto"
    assert semantic.lookup("chiar").nearest != "chair"  # the encoder alone misses this typo
    assert hybrid.lookup("chiar").nearest == "chair"
    assert hybrid.lookup("umbrela").nearest == "umbrella"
    assert hybrid.lookup("fruit").nearest in ("banana", "orange")  # meaning still counts
    r = hybrid.lookup("chiar")
    memory, _ = hybrid.snapshot()
    expected = 0.5 * semantic.lookup("chiar").score_array + 0.5 * memory.spelling(["chiar"])[0]
    np.testing.assert_allclose(r.score_array, expected, atol=1e-5)


def test_hybrid_is_checked_and_saved(tmp_path, counting):
    with pytest.raises(ValueError, match="from 0 .* to 1"):
        SoftDict(encoder=counting, spelling_weight=1.5)
    d = SoftDict({"a b": 1.0, "c d": 2.0}, encoder=counting, spelling_weight=0.3, scoring="dot")
    with pytest.raises(ValueError, match="needs scoring='cosine'"):
        d["a c"]
    d.scoring = "cosine"
    loaded = SoftDict.load(d.save(tmp_path / "h.softkv"), encoder=counting)
    assert loaded.spelling_weight == 0.3 and loaded["a c"] == pytest.approx(d["a c"])
    assert d[np.ones(16)] == pytest.approx(SoftDict.from_embeddings(list(d), d.key_embeddings, [1.0, 2.0])[np.ones(16)])


def test_auto_hybrid_is_half_spelling_with_cosine_and_meaning_alone_otherwise(tmp_path, counting):
    keys = {"north wind": 1.0, "south wind": 2.0, "chair": 3.0}
    auto, half, meaning = (SoftDict(keys, encoder=counting, spelling_weight=h) for h in ("auto", 0.5, 0.0))
    for query in ["nort wind", "sofa", "chiar"]:
        np.testing.assert_allclose(auto.lookup(query).score_array, half.lookup(query).score_array, atol=1e-6)
    for d in (auto, meaning):
        d.scoring = "dot"  # no lexical side for dot products: "auto" reads by meaning, a set weight is refused
    np.testing.assert_allclose(auto.lookup("nort wind").score_array, meaning.lookup("nort wind").score_array)
    half.scoring = "dot"
    with pytest.raises(ValueError, match="needs scoring='cosine'"):
        half["nort wind"]
    loaded = SoftDict.load(auto.save(tmp_path / "auto.softkv"), encoder=counting)
    assert loaded.spelling_weight == "auto"
    with pytest.raises(ValueError, match='"auto" or a number from 0'):
        SoftDict(encoder=counting, spelling_weight="on")


def test_a_query_that_shares_no_bigram_with_any_key_reads_as_meaning_alone(counting):
    """With the auto temperature, halving every score changes no weight: spelling adds nothing it does not see."""
    keys = {"apple": 10.0, "banana": 5.0, "chair": 2.0}
    auto, meaning = SoftDict(keys, encoder=counting), SoftDict(keys, encoder=counting, spelling_weight=0)
    assert not auto.snapshot()[0].spelling(["fruit"]).any()
    r, expected = auto.lookup("fruit"), meaning.lookup("fruit")
    assert r.weights == pytest.approx(expected.weights) and r.value == pytest.approx(expected.value)


def test_spelling_is_the_cosine_scaled_by_the_square_root_of_the_length_ratio():
    index = LexicalIndex()
    index.add(KEYS)
    cosine, spelling = index.similarity(QUERIES, KEYS), index.spelling(QUERIES, KEYS)
    ratio = np.array([[min(len(q), len(k)) / max(len(q), len(k)) for k in KEYS] for q in QUERIES])
    np.testing.assert_allclose(spelling, cosine * np.sqrt(ratio), rtol=1e-6)
    index.add(["judge", "man judge"])
    assert index.spelling(["amn judge"], ["judge", "man judge"]).argmax() == 1  # not the short key inside it


@given(st.text(alphabet=st.sampled_from(list("aAbé ñ\t\n-.xyZ")), max_size=30),
       st.sampled_from([(1, 3), (2, 3), (2, 4)]))
def test_ngrams_are_cut_as_scikit_learn_cuts_them(text, ngram_range):
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range).build_analyzer()
    assert char_wb_ngrams(text, ngram_range) == analyzer(text)
