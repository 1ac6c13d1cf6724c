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
    assert len(counting.texts) == len(set(counting.texts)) == 30  # each text encoded once, across the four fits
    search = GridSearchCV(SoftKVClassifier(encoder=counting), {"temperature": [0.05, 0.1, 0.5], "top_k": [None, 3]},
                          cv=3).fit(series, labels)
    assert len(counting.texts) == 30 and search.best_params_["temperature"] in (0.05, 0.1, 0.5)
