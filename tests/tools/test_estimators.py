"""SoftKVRegressor and SoftKVClassifier: scikit-learn's own checks, texts, and GridSearchCV."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from softkv.tools import SoftKVClassifier, SoftKVRegressor
from tests.conftest import CountingEncoder


# Every check applies: the estimators take 2-D numeric arrays (precomputed embeddings) as well
# as lists of texts, so scikit-learn's numeric checks run unchanged; none is skipped.
@parametrize_with_checks([SoftKVRegressor(), SoftKVClassifier()])
def test_scikit_learn_checks(estimator, check):
    check(estimator)


def test_texts_in_and_out(minilm):
    texts = ["small city car", "compact hatchback", "large pickup truck", "heavy delivery van"]
    regressor = SoftKVRegressor().fit(texts, [40.0, 36.0, 15.0, 12.0])
    light, heavy = regressor.predict(["tiny two-seater", "big truck"])
    assert light > 30 > 20 > heavy
    classifier = SoftKVClassifier().fit(texts, ["car", "car", "truck", "truck"])
    assert classifier.predict(["a sedan", "a lorry"]).tolist() == ["car", "truck"]
    np.testing.assert_allclose(classifier.predict_proba(["a sedan"]).sum(), 1.0)
    with pytest.raises(ValueError, match="fitted on texts"):
        classifier.predict(np.zeros((1, 384)))


def test_temperature_is_a_grid_search_hyper_parameter():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 3))
    y = np.sin(2 * X[:, 0])
    search = GridSearchCV(SoftKVRegressor(scoring="neg_l2"), {"temperature": [0.01, 0.3, 3.0, 30.0]}, cv=4)
    search.fit(X, y)
    assert search.best_params_["temperature"] in (0.3, 3.0)  # neither a needle nor a flat average
    assert search.best_score_ > 0.5


class SharedCounting(CountingEncoder):
    """A counting encoder that copies share, as the bundled, sentence-transformers and lexical encoders are."""

    def __deepcopy__(self, memo):
        return self


def test_clones_share_the_encoder_and_its_embeddings():
    from sklearn.base import clone

    from softkv import LexicalEncoder

    lexical = LexicalEncoder(n_features=64)
    assert clone(SoftKVClassifier(encoder=lexical)).encoder is lexical


def test_texts_come_as_lists_series_or_object_arrays_and_a_search_encodes_each_once():
    pd = pytest.importorskip("pandas")
    counting = SharedCounting()
    texts = [f"text number {i}" for i in range(30)]
    labels = ["even" if i % 2 == 0 else "odd" for i in range(30)]
    series = pd.Series(texts, index=range(100, 130))  # an index that is not 0..n-1
    fitted = [SoftKVClassifier(encoder=counting).fit(X, labels).predict(X[:5] if not hasattr(X, "iloc") else X.iloc[:5])
              for X in (texts, series, np.array(texts, dtype=object), np.array(texts))]
    assert all(list(found) == list(fitted[0]) for found in fitted)
    seen = [text for text in counting.texts if text.startswith("text number")]  # the rest: the background, once
    assert len(seen) == len(set(seen)) == 30  # each text encoded once, across the four fits
    encoded = len(counting.texts)
    search = GridSearchCV(SoftKVClassifier(encoder=counting), {"temperature": [0.05, 0.1, 0.5], "top_k": [None, 3]},
                          cv=3).fit(series, labels)
    assert len(counting.texts) == encoded and search.best_params_["temperature"] in (0.05, 0.1, 0.5)


TEXTS = ["small city car", "compact hatchback", "large pickup truck", "heavy delivery van", "electric scooter",
         "mountain bicycle"]
TARGETS = [40.0, 36.0, 15.0, 12.0, 90.0, 70.0]
QUERIES = ["hatchbak", "a lorry", "quantum chromodynamics", "city car", "bicycel"]


@pytest.mark.parametrize("spelling_weight", ["auto", 0.0, 0.3])
def test_on_texts_the_estimators_read_as_a_softdict_of_the_training_texts(minilm, spelling_weight):
    from softkv import SoftDict

    params = dict(spelling_weight=spelling_weight, threshold="auto" if spelling_weight == "auto" else 0.2)
    d = SoftDict(dict(zip(TEXTS, TARGETS)), exact_match=False, **params)
    expected = d.lookup_many(QUERIES, on_miss="mask").values
    with pytest.warns(UserWarning, match="below the threshold"):
        predicted = SoftKVRegressor(**params).fit(TEXTS, TARGETS).predict(QUERIES)
    np.testing.assert_allclose(predicted, expected, atol=1e-5)
    assert np.isnan(predicted[2]) and not np.isnan(predicted[[0, 3, 4]]).any()  # "a lorry": near the cutoff


def test_spelling_counts_for_a_misspelt_query(minilm):
    labels = ["car", "car", "truck", "truck", "two wheels", "two wheels"]
    by_meaning = SoftKVClassifier(spelling_weight=0).fit(TEXTS, labels).predict_proba(["hatchbak"])[0]
    default = SoftKVClassifier().fit(TEXTS, labels).predict_proba(["hatchbak"])[0]
    car = list(SoftKVClassifier().fit(TEXTS, labels).classes_).index("car")
    assert default[car] > by_meaning[car] and default[car] > 0.9


def test_a_query_that_misses_is_an_outlier_as_in_radius_neighbors(minilm):
    labels = ["car", "car", "truck", "truck", "two wheels", "two wheels"]
    strict = SoftKVClassifier(threshold="auto").fit(TEXTS, labels)
    with pytest.raises(ValueError, match=r"1 of 2 queries \(the first: row 1\).*outlier_label"):
        strict.predict(["a sedan", "quantum chromodynamics"])
    assert strict.predict(["a sedan"]).tolist() == ["car"]  # nothing missed: no outlier label needed
    frequent = SoftKVClassifier(threshold="auto", outlier_label="most_frequent").fit(TEXTS, labels)
    assert frequent.predict(["a delivery truck", "quantum chromodynamics"]).tolist() == ["truck", "car"]
    named = SoftKVClassifier(threshold="auto", outlier_label="unknown").fit(TEXTS, labels)
    assert named.predict(["a delivery truck", "quantum chromodynamics"]).tolist() == ["truck", "unknown"]
    np.testing.assert_array_equal(named.predict_proba(["quantum chromodynamics"]), [[0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(frequent.predict_proba(["quantum chromodynamics"]), [[1.0, 0.0, 0.0]])


def test_a_set_spelling_weight_needs_texts_and_bad_values_are_refused():
    X = np.eye(3)
    with pytest.raises(ValueError, match="compares texts, and X holds embeddings"):
        SoftKVRegressor(spelling_weight=0.4).fit(X, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="spelling_weight"):
        SoftKVRegressor(spelling_weight=2).fit(X, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="threshold"):
        SoftKVRegressor(threshold="high").fit(X, [1.0, 2.0, 3.0])
    assert SoftKVRegressor(spelling_weight="auto").fit(X, [1.0, 2.0, 3.0]).predict(X).shape == (3,)


def test_a_fitted_text_estimator_pickles_and_predicts_the_same(minilm):
    import pickle

    model = SoftKVRegressor().fit(TEXTS, TARGETS)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(QUERIES[:2]), model.predict(QUERIES[:2]))


def test_spelling_and_threshold_are_grid_search_hyper_parameters():
    counting = SharedCounting()
    texts = [f"{word} {i}" for i in range(20) for word in ("alpha", "omega")]
    labels = [text.split()[0] for text in texts]
    search = GridSearchCV(SoftKVClassifier(encoder=counting, outlier_label="most_frequent"),
                          {"spelling_weight": [0.0, "auto", 0.5], "threshold": [None, "auto"]}, cv=3)
    search.fit(texts, labels)
    assert search.best_params_["spelling_weight"] != 0.0  # random embeddings: only spelling tells the words apart
    assert search.best_score_ > 0.9
