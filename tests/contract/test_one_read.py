"""One read: every tool reads a SoftDict exactly as the dict reads itself, for every setting it can have."""

import itertools

import numpy as np
import pytest

from softkv import SoftDict
from softkv.tools import SoftKVClassifier, SoftKVRegressor, compare
from tests.conftest import CountingEncoder, sweep

ENCODER = CountingEncoder(dim=12)
KEYS = {"apple": 10.0, "apricot": 9.0, "banana": 5.0, "blueberry": 6.0, "cherry": 7.0, "chair": 2.0,
        "armchair": 3.0, "sofa": 1.0, "table": 4.0, "lamp": 8.0, "garden hose": 11.0, "garden chair": 2.5}
ALIASES = {"sofa": ["couch", "settee"], "lamp": ["light"]}
QUERIES = ["aple", "chiar", "the couch", "garden", "lamp shade", "zzz", "apple", "light", "bluebery pie"]

SCORINGS = ["cosine", "dot", "scaled_dot", "neg_l2"]
MODES = ["softmax", "sparsemax", "hard", "mean"]


def settings():
    """mode x scoring x top_k on/off x spelling weight 0/0.5 (cosine only) x aliases on/off x threshold on/off."""
    for mode, scoring, top_k, spelling, aliases, threshold in itertools.product(
            MODES, SCORINGS, [None, 4], [0.0, 0.5], [False, True], [False, True]):
        if spelling and scoring != "cosine":
            continue  # a spelling weight mixes two cosines: refused with the other scorings (tested elsewhere)
        yield dict(mode=mode, scoring=scoring, top_k=top_k, spelling_weight=spelling, aliases=aliases,
                   threshold=threshold)


SETTINGS = list(settings())


def make(mode, scoring, top_k, spelling_weight, aliases, threshold, values=None):
    d = SoftDict(values or KEYS, encoder=ENCODER, mode=mode, scoring=scoring, top_k=top_k,
                 spelling_weight=spelling_weight, temperature="auto" if mode != "sparsemax" else 0.5)
    if aliases:
        for key, names in ALIASES.items():
            d.add(key, d[key], aliases=names)
    if threshold:  # halfway between two queries' best scores, so that some miss (and no score sits on it)
        batch = d.lookup_many(QUERIES, on_miss="ignore")
        best = np.sort(batch.best_scores[~batch.exact])
        middle = len(best) // 2
        d.threshold = float((best[middle - 1] + best[middle]) / 2)
    return d


def name(setting):
    return "-".join(f"{k}={v}" for k, v in setting.items())


@pytest.mark.parametrize("setting", sweep(SETTINGS, ids=[name(s) for s in SETTINGS]))
def test_a_single_lookup_reads_as_a_batch_does(setting):
    d = make(**setting)
    batch = d.lookup_many(QUERIES, on_miss="ignore")
    for i, query in enumerate(QUERIES):
        if batch.missed[i]:
            with pytest.raises(KeyError):
                d.lookup(query)
            continue
        single = d.lookup(query)
        # The same code; BLAS rounds a one-row product differently from a many-row one, in float32's last digit.
        np.testing.assert_allclose(single.weight_array, batch.weight_array[i], atol=1e-5)
        assert single.value == pytest.approx(float(batch.values[i]), rel=1e-5, abs=1e-6)
        assert d.nearest(query)[0] == batch.nearest[i]


@pytest.mark.parametrize("setting", sweep(SETTINGS, ids=[name(s) for s in SETTINGS]))
def test_the_torch_module_reads_text_as_the_dict_does(setting):
    pytest.importorskip("torch")
    d = make(**setting)
    found = d.to_module().read(QUERIES)
    batch = d.lookup_many(QUERIES, on_miss="ignore")
    order = [list(d).index(key) for key in batch.keys]  # the module's rows follow iteration order
    np.testing.assert_allclose(found.weights.detach().numpy()[:, order], batch.weight_array, atol=1e-5)
    np.testing.assert_allclose(found.values.detach().numpy(), batch.values, atol=1e-5)
    assert found.missed.tolist() == batch.missed.tolist()
    if batch.p_miss is None:
        assert found.p_miss is None
    else:
        np.testing.assert_allclose(found.p_miss.detach().numpy(), batch.p_miss, atol=1e-5)


@pytest.mark.parametrize("setting", sweep(SETTINGS[::3], 3, ids=[name(s) for s in SETTINGS[::3]]))
def test_compare_reads_hard_as_nearest_and_soft_as_the_dict(setting):
    d = make(**setting)
    targets = [float(len(q)) for q in QUERIES]
    result = compare(d, QUERIES, targets)
    rows = {row["method"]: row for row in result.rows}
    batch = d.lookup_many(QUERIES, on_miss="ignore")  # below the threshold too: compare measures every answer
    hard = [d[key] for key in batch.nearest]  # d.nearest's key, for each query
    assert rows["hard"]["MAE"] == pytest.approx(np.abs(np.array(hard) - targets).mean(), abs=1e-9)
    soft = batch.values
    assert rows["soft"]["MAE"] == pytest.approx(np.abs(soft - targets).mean(), abs=1e-9)
    for query, key in zip(QUERIES, batch.nearest):
        if not batch.missed[QUERIES.index(query)]:
            assert d.nearest(query)[0] == key


@pytest.mark.parametrize("setting", sweep(SETTINGS[::2], 4, ids=[name(s) for s in SETTINGS[::2]]))
def test_calibration_reports_the_error_the_dict_then_reads_with(setting):
    d = make(**setting)
    report = d.calibrate()
    keys = list(d)
    batch = d.lookup_many(keys, exclude=keys, on_miss="ignore")  # each key read without itself
    assert report.error == pytest.approx(np.abs(batch.values - np.array([KEYS[k] for k in keys])).mean(), abs=1e-9)
    assert report.error <= report.current_error
    assert report.answered == pytest.approx(1.0 - batch.missed.mean())
    folds = d.copy().calibrate(folds=4)
    assert folds.method == "4-fold" and folds.error <= folds.current_error


def test_calibration_never_loses_to_one_nn_or_knn_on_the_keys_it_is_calibrated_on():
    d = make("softmax", "cosine", None, 0.5, True, False)
    report = d.calibrate()
    hard = [e for p, e in report.candidates if p["mode"] == "hard"]
    knn = [e for p, e in report.candidates if p["mode"] == "mean"]
    assert hard and knn and report.error <= min(hard + knn)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scoring", SCORINGS)
@pytest.mark.parametrize("top_k", [None, 3])
def test_the_estimators_read_as_a_dict_of_their_training_rows(mode, scoring, top_k):
    rng = np.random.default_rng(0)
    X, Q = rng.standard_normal((20, 5)), rng.standard_normal((6, 5))
    y = rng.standard_normal(20)
    params = dict(temperature=0.7 if mode == "sparsemax" else "auto", top_k=top_k, scoring=scoring, mode=mode)
    predicted = SoftKVRegressor(**params).fit(X, y).predict(Q)
    d = SoftDict.from_embeddings([f"r{i}" for i in range(20)], X, list(y), exact_match=False, **params)
    np.testing.assert_allclose(predicted, d.lookup_many(Q).values, atol=1e-6)  # float64 queries against float32
    labels = np.array(["a", "b"])[(y > 0).astype(int)]
    proba = SoftKVClassifier(**params).fit(X, labels).predict_proba(Q)
    categories = SoftDict.from_embeddings([f"r{i}" for i in range(20)], X, list(labels), exact_match=False, **params)
    batch = categories.lookup_many(Q)
    expected = batch.category_weights[:, [batch.categories.index(c) for c in ("a", "b")]]
    np.testing.assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True), atol=1e-6)


def test_compare_names_a_wrong_intended_key():
    d = make("softmax", "cosine", None, 0.5, False, False)
    with pytest.raises(KeyError, match="'pear', which is not a key"):
        compare(d, ["aple"], [10.0], keys=["pear"])
