"""Spelling similarity, and how the default score adds spelling beyond chance to meaning."""


import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz import utils
from rapidfuzz.distance import OSA
from sklearn.feature_extraction.text import TfidfVectorizer

from softkv import SoftDict
from softkv.read import FALSE_RATE, chance_max, measure_spelling_background, spelling_background
from softkv.read._background import background_spelling, meaning_on_typos
from softkv.spelling import MEASURES, NGRAM_RANGE, LexicalIndex, char_wb_ngrams, in_vocabulary

KEYS = ["United States", "United Kingdom", "Germany", "chair", "table", "banana split", "apple pie"]
QUERIES = ["Untied Staets", "germny", "chiar", "banana", "kingdom united", "zzz"]


def reference(keys, queries):
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, sublinear_tf=True).fit(keys)
    return (vectorizer.transform(queries) @ vectorizer.transform(keys).T).toarray()


def reference_edits(keys, queries):
    """Edit similarity pair by pair: rapidfuzz's OSA as written, or with the words sorted and one edit more."""
    def one(query, key):
        q, k = utils.default_process(query), utils.default_process(key)
        q_sorted, k_sorted = " ".join(sorted(q.split())), " ".join(sorted(k.split()))
        reordered = 1 - (OSA.distance(q_sorted, k_sorted) + 1) / max(len(q_sorted), len(k_sorted), 1)
        return max(OSA.normalized_similarity(q, k), reordered, 0.0)

    return np.array([[one(q, k) for k in keys] for q in queries])


def reference_spelling(keys, queries):
    """The spelling similarity from scratch: the mean of the edit similarity and the length-scaled TF-IDF cosine."""
    edits = reference_edits(keys, queries)
    lengths = lambda texts: np.array([max(len(t.strip()), 1) for t in texts], dtype=float)  # noqa: E731
    q, k = lengths(queries)[:, None], lengths(keys)[None, :]
    ngrams = reference(keys, queries) * np.sqrt(np.minimum(q, k) / np.maximum(q, k))
    return (edits + ngrams) / 2


@pytest.mark.parametrize("measure", MEASURES)
def test_the_stored_spelling_background_is_what_measuring_it_gives(measure):
    assert measure_spelling_background(measure) == pytest.approx(spelling_background(measure), rel=1e-6)


def test_the_posting_list_sum_in_steps_equals_one_dense_product(monkeypatch):
    import softkv.spelling

    names = [f"{word} {i}" for i, word in enumerate(["chair", "table", "banana split", "apple pie"] * 30)]
    index = LexicalIndex()
    index.add(names)
    texts = ["chiar 3", "banana", "apple pie 17", "zzz"] * 5
    in_one_step = index.similarity(texts, names)
    table = index.table(names)
    rows = softkv.spelling._tfidf_rows(table._frequencies(texts), table._idf, index.n_features)
    dense_queries = np.zeros((len(texts), index.n_features), dtype=np.float32)
    dense_queries[np.repeat(np.arange(len(texts)), np.diff(rows.indptr)), rows.indices] = rows.data
    keys = table._matrix
    dense_keys = np.zeros((index.n_features, len(names)), dtype=np.float32)
    dense_keys[np.repeat(np.arange(index.n_features), np.diff(keys.indptr)), keys.indices] = keys.data
    np.testing.assert_allclose(in_one_step, dense_queries @ dense_keys, atol=1e-6)
    monkeypatch.setattr(softkv.spelling, "POSTINGS_PER_STEP", 7)  # many steps, some of one posting list
    np.testing.assert_allclose(index.similarity(texts, names), in_one_step, atol=1e-6)


def test_incremental_index_equals_a_tfidf_refitted_from_scratch():
    index = LexicalIndex()
    index.add(KEYS[:3])
    index.add(KEYS[3:] + ["temporary"])
    index.remove("temporary")
    np.testing.assert_allclose(index.similarity(QUERIES, KEYS), reference(KEYS, QUERIES), atol=1e-5)
    shuffled = KEYS[::-1]
    np.testing.assert_allclose(index.similarity(QUERIES, shuffled), reference(KEYS, QUERIES)[:, ::-1], atol=1e-5)


def test_spelling_is_the_mean_of_edits_and_length_scaled_ngrams():
    index = LexicalIndex()
    index.add(KEYS)
    np.testing.assert_allclose(index.spelling(QUERIES, KEYS), reference_spelling(KEYS, QUERIES), atol=1e-5)
    table = index.table(KEYS)
    np.testing.assert_allclose(table.spelling(QUERIES, "edits"), reference_edits(KEYS, QUERIES), atol=1e-6)
    np.testing.assert_allclose(table.spelling(QUERIES, "ngrams"), index.ngrams(QUERIES, KEYS), atol=1e-6)
    with pytest.raises(ValueError, match="measure must be one of"):
        table.spelling(QUERIES, "letters")
    ratio = np.array([[min(len(q), len(k)) / max(len(q), len(k)) for k in KEYS] for q in QUERIES])
    np.testing.assert_allclose(index.ngrams(QUERIES, KEYS), index.similarity(QUERIES, KEYS) * np.sqrt(ratio),
                               rtol=1e-6)
    index.add(["judge", "man judge"])
    assert index.ngrams(["amn judge"], ["judge", "man judge"]).argmax() == 1  # not the short key inside it


@given(st.lists(st.sampled_from(["john", "smith", "jon", "smyth", "ann", "de", "x"]), min_size=1, max_size=4),
       st.lists(st.lists(st.sampled_from(["john", "smith", "ann", "de", "jo"]), min_size=1, max_size=3),
                min_size=1, max_size=5))
def test_reordered_words_count_one_edit_whichever_side_has_several(query_words, key_words):
    keys = list(dict.fromkeys(" ".join(words) for words in key_words))
    queries = [" ".join(query_words), " ".join(reversed(query_words)), "".join(query_words)]
    index = LexicalIndex()
    index.add(keys)
    np.testing.assert_allclose(index.table(keys).edits(queries), reference_edits(keys, queries), atol=1e-6)


def test_a_name_in_another_word_order_is_near_but_its_own_order_is_nearer():
    names = ["blue green", "green blue", "taslidza james"]
    index = LexicalIndex()
    index.add(names)
    found = index.table(names).edits(["blue green", "james taslidza"])
    assert found[0, 0] == 1.0 and found[0, 1] == pytest.approx(0.9)  # one edit in ten letters
    assert found[1, 2] == pytest.approx(1 - 1 / 14)


def test_a_softdict_keeps_its_spelling_index_current(counting):
    d = SoftDict({k: float(i) for i, k in enumerate(KEYS[:4])}, encoder=counting, spelling_weight=1.0,
                 temperature=0.01)
    assert d.lookup("chiar").nearest == "chair"
    d.update({k: 9.0 for k in KEYS[4:]})
    del d["chair"]
    memory, _ = d.snapshot()  # its spelling table: the index as it stands after the writes
    np.testing.assert_allclose(memory.spelling(QUERIES), reference_spelling(memory.keys, QUERIES), atol=1e-5)
    assert d.lookup("banan split").nearest == "banana split"


def lead_weight(names, background):
    """(best - runner-up) / standard deviation of one channel's z, the best name left out of the spread."""
    rest = np.concatenate([np.delete(names, names.argmax()), background])
    return max(names.max() - np.sort(names)[-2], 0.0) / rest.std()


def test_the_default_weighs_the_evidence_of_meaning_and_spelling_on_the_similaritys_scale(minilm):
    keys = {"chair": 1.0, "banana": 2.0, "orange": 3.0, "table": 4.0, "umbrella": 5.0}
    meaning, default = SoftDict(keys, spelling_weight=0, threshold=None), SoftDict(keys, threshold=None)
    assert default.spelling_weight == "auto"
    assert meaning.lookup("chiar").nearest != "chair"  # the encoder alone misses this typo
    assert default.lookup("chiar").nearest == "chair" and default.lookup("umbrela").nearest == "umbrella"
    assert default.lookup("fruit").nearest in ("banana", "orange")  # meaning still counts
    # score = mu + (1 - mu) * (w_m z_m + w_s z_s) / (w_m z_m_max + w_s z_s_max): worked out here from the pieces
    memory, _ = default.snapshot()
    background = memory.background
    q = default.embed(["chiar"])[0]
    background_cosines = background.embeddings @ q / np.linalg.norm(background.embeddings, axis=1) / np.linalg.norm(q)
    mu, sd = float(background_cosines.mean()), background.meaning_spread
    s_mean, s_sd = spelling_background()
    z_m = (meaning.lookup("chiar").score_array - mu) / sd
    z_s = (memory.spelling(["chiar"])[0] - s_mean) / s_sd
    gain = meaning_on_typos(minilm, background)  # how far MiniLM's meaning reads misspelt text
    w_m = gain * lead_weight(z_m, (background_cosines - mu) / sd)
    w_s = lead_weight(z_s, (background_spelling(["chiar"])[0] - s_mean) / s_sd)
    assert w_s > w_m > 0  # the typo's spelling stands out more than its meaning
    z = w_m * z_m + w_s * z_s
    z_max = w_m * (1 - mu) / sd + w_s * (1 - s_mean) / s_sd
    np.testing.assert_allclose(default.lookup("chiar").score_array, mu + (1 - mu) * z / z_max, atol=1e-5)
    # the cutoff: chance among 5 names of the weighed evidence against the background, at half the false rate
    total = w_m + w_s
    null = (w_m * (background_cosines - mu) / sd
            + w_s * (background_spelling(["chiar"])[0] - s_mean) / s_sd) / total
    cutoff = mu + (1 - mu) * chance_max(null[None, :], 5, FALSE_RATE / 2)[0] / (z_max / total)
    assert SoftDict(keys).lookup("chiar").cutoff == pytest.approx(cutoff, abs=1e-5)
    fruit = SoftDict(keys).lookup("fruit", on_miss="ignore")  # known words: meaning alone, the whole false rate
    q = default.embed(["fruit"])[0]
    cosines = background.embeddings @ q / np.linalg.norm(background.embeddings, axis=1) / np.linalg.norm(q)
    chance = chance_max(((cosines - cosines.mean()) / sd)[None, :], 5, FALSE_RATE)[0]
    assert fruit.cutoff == pytest.approx(cosines.mean() + sd * chance, abs=1e-5)


def test_a_channel_counts_by_its_best_keys_lead_over_another_keys_best_name():
    from softkv.read._evidence import channel_weights

    background = np.array([[0.0, 1.0, -1.0, 0.5]])
    meaning = np.array([[4.0, 0.0, 1.0, 3.9]])  # three keys, then an alias of the first key
    spelling = np.array([[2.0, 1.5, 0.0, 0.0]])  # its best key leads the next by 0.5

    def expected(names, runner_up):
        rest = np.concatenate([np.delete(names[0], names[0].argmax()), background[0]])
        return (names.max() - runner_up) / rest.std()

    w_m, w_s = expected(meaning, 1.0), expected(spelling, 1.5)  # the alias is its own key's name, not a rival
    found = channel_weights((meaning, 0.0, 1.0, background), (spelling, 0.0, 1.0, background), np.array([0]))
    np.testing.assert_allclose(found[0], [w_m / (w_m + w_s), w_s / (w_m + w_s)])
    as_keys = channel_weights((meaning, 0.0, 1.0, background), (spelling, 0.0, 1.0, background))
    assert as_keys[0, 0] < 0.1 < found[0, 0]  # read as a fourth key, the alias would be a runner-up 0.1 behind
    visible = np.array([[False, True, True, False]])  # the first key and its alias hidden
    seen = channel_weights((meaning, 0.0, 1.0, background), (spelling, 0.0, 1.0, background), np.array([0]), visible)
    np.testing.assert_allclose(seen[0], [1.0 / 2.5, 1.5 / 2.5])  # leads 1 - 0 and 1.5 - 0, the same spread


def test_known_words_read_by_meaning_alone_and_a_query_is_never_outscored_by_spelling(minilm):
    keys = {"stool": 1.0, "hammer": 2.0, "wrench": 3.0, "banana": 4.0}
    default, meaning = SoftDict(keys, threshold=None), SoftDict(keys, spelling_weight=0, threshold=None)
    np.testing.assert_allclose(default.lookup("tool").score_array, meaning.lookup("tool").score_array, atol=1e-6)
    assert default.lookup("tool").nearest != "stool"
    # a rarer word that the tokenizer splits is known too, and read by meaning rather than by its letters
    animals = {"frog": 1.0, "amphitheater": 2.0, "lizard": 3.0, "banana": 4.0}
    default, meaning = SoftDict(animals, threshold=None), SoftDict(animals, spelling_weight=0, threshold=None)
    np.testing.assert_allclose(default.lookup("amphibian").score_array, meaning.lookup("amphibian").score_array,
                               atol=1e-6)
    assert default.lookup("amphibian").nearest == "frog"
    assert not in_vocabulary("paries")  # in the word list at its floor count only: added uncounted, not known
    for query in ("stol", "hamer", "banana split", "Wrench"):
        assert default.lookup(query).score_array.max() <= 1.0 + 1e-6
    # a word in capitals is a code, read by its letters too, even where it is a known word ("US")
    codes = {"US dollar": 1.0, "euro": 2.0, "pound sterling": 3.0}
    default, meaning = SoftDict(codes, threshold=None), SoftDict(codes, spelling_weight=0, threshold=None)
    np.testing.assert_allclose(default.lookup("us dollars").score_array, meaning.lookup("us dollars").score_array,
                               atol=1e-6)
    assert not np.allclose(default.lookup("US dollars").score_array, meaning.lookup("US dollars").score_array)
    # a name written in syllables is read by its letters too, though the tokenizer keeps each syllable whole;
    # a contraction or a compound of known words stays known
    cities = {name: i for i, name in enumerate(["Taipei", "Tirunelveli", "Tangshan", "Delhi", "Yulin", "Zhuhai"])}
    default, meaning = SoftDict(cities, threshold=None), SoftDict(cities, spelling_weight=0, threshold=None)
    for query, city in (("T'ai-pei", "Taipei"), ("T\u2019ang-shan-chen", "Tangshan"), ("dil'hi", "Delhi")):
        assert default.lookup(query).nearest == city != meaning.lookup(query).nearest
    for query in ("don't stop", "snow-capped peak"):
        np.testing.assert_allclose(default.lookup(query).score_array, meaning.lookup(query).score_array, atol=1e-6)


def test_a_query_with_no_spelling_beyond_chance_reads_as_meaning_alone(counting):
    keys = {"apple": 10.0, "banana": 5.0, "chair": 2.0}
    default = SoftDict(keys, encoder=counting, threshold=None)
    meaning = SoftDict(keys, encoder=counting, spelling_weight=0, threshold=None)
    r, expected = default.lookup("fruit"), meaning.lookup("fruit")
    assert r.weights == pytest.approx(expected.weights) and r.value == pytest.approx(expected.value)


def test_a_fixed_spelling_weight_is_the_old_mix_checked_and_saved(tmp_path, counting):
    with pytest.raises(ValueError, match="from 0 .* to 1"):
        SoftDict(encoder=counting, spelling_weight=1.5)
    with pytest.raises(ValueError, match='"auto" or a number'):
        SoftDict(encoder=counting, spelling_weight="on")
    half = SoftDict({"north wind": 1.0, "south wind": 2.0, "chair": 3.0}, encoder=counting, spelling_weight=0.5)
    meaning = SoftDict(dict(half), encoder=counting, spelling_weight=0.0, threshold=None)
    memory, _ = half.snapshot()
    for query in ["nort wind", "sofa", "chiar"]:
        expected = 0.5 * meaning.lookup(query).score_array + 0.5 * memory.spelling([query])[0]
        np.testing.assert_allclose(half.lookup(query).score_array, expected, atol=1e-5)
        assert half.lookup(query).p_miss is None  # raw similarities: no default threshold
    with pytest.raises(ValueError, match="needs scoring='cosine'"):
        half.scoring = "dot"  # refused when set, not at the next read
    assert half.scoring == "cosine"
    loaded = SoftDict.load(half.save(tmp_path / "h.softkv"), encoder=counting)
    assert loaded.spelling_weight == 0.5 and loaded["chiar"] == pytest.approx(half["chiar"])


def test_the_default_works_with_every_scoring(counting):
    keys = {"north wind": 1.0, "south wind": 2.0, "chair": 3.0, "table": 4.0, "lamp": 5.0}
    for scoring in ("cosine", "dot", "scaled_dot", "neg_l2"):
        d = SoftDict(keys, encoder=counting, scoring=scoring, threshold=None)
        assert d.lookup("nort wind").nearest == "north wind", scoring  # random vectors: spelling decides


@given(st.text(alphabet=st.sampled_from(list("aAbé ñ\t\n-.xyZ")), max_size=30),
       st.sampled_from([(1, 3), (2, 3), (2, 4)]))
def test_ngrams_are_cut_as_scikit_learn_cuts_them(text, ngram_range):
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range).build_analyzer()
    assert char_wb_ngrams(text, ngram_range) == analyzer(text)


def test_an_encoder_is_trusted_on_typos_as_far_as_it_reads_the_background_texts_misspelt(lexical):
    from softkv.encoders import FunctionEncoder
    from softkv.read._background import Background
    from softkv.read._evidence import channel_weights

    encoded = []

    def blind_features(texts):
        encoded.extend(texts)
        return [[1.0, float(len(t) % 7), float(len(t) % 5)] for t in texts]

    blind = FunctionEncoder(blind_features)
    assert meaning_on_typos(lexical, Background.of(lexical)) > 0.9  # meaning that is itself spelling
    assert meaning_on_typos(blind, Background.of(blind)) < 0.1
    seen = len(encoded)
    assert meaning_on_typos(blind, Background.of(blind)) < 0.1 and len(encoded) == seen  # measured once
    names, background = np.array([[4.0, 0.0, 1.0]]), np.array([[0.0, 1.0, -1.0]])
    even = channel_weights((names, 0.0, 1.0, background), (names, 0.0, 1.0, background))
    scaled = channel_weights((names, 0.0, 1.0, background), (names, 0.0, 1.0, background), meaning_gain=0.25)
    np.testing.assert_allclose([even[0], scaled[0]], [[0.5, 0.5], [0.2, 0.8]])  # meaning's lead counts a quarter


def test_the_word_counts_read_directly_equal_what_the_spell_checker_loads(monkeypatch):
    from softkv import _words

    direct = _words._english_counts()
    monkeypatch.setattr(_words, "_ENGLISH", ("spellchecker", "resources/no-such-file.json.gz"))  # another layout
    assert _words._english_counts() == direct and len(direct) > 100_000
