"""calibrate(): candidates scored by hand-checkable errors, and thresholds from precision."""

import numpy as np
import pytest

from softkv import SoftDict, attention
from tests.conftest import table_encoder


def smooth_memory(seed=0, n_keys=60, dim=4):
    rng = np.random.default_rng(seed)
    K = rng.standard_normal((n_keys, dim))
    values = np.sin(K[:, 0]) + 0.1 * rng.standard_normal(n_keys)
    return SoftDict.from_embeddings([f"k{i}" for i in range(n_keys)], K, list(values)), K, values


def test_leave_one_key_out_errors_match_a_brute_force_computation():
    d, K, values = smooth_memory()
    report = d.calibrate()
    Kn = K / np.linalg.norm(K, axis=1, keepdims=True)
    for params, error in report.candidates:
        S = Kn @ Kn.T
        np.fill_diagonal(S, -np.inf)
        W = attention.attention_weights(S, params["temperature"], params["top_k"], params["mode"])
        assert error == pytest.approx(np.abs(W @ values / W.sum(axis=1) - values).mean(), rel=1e-4)
    assert report.error == report.best_error == min(e for _, e in report.candidates)
    assert {k: getattr(d, k) for k in report.chosen} == report.chosen
    assert report.method == "leave-one-key-out" and "MAE" in str(report)
    modes = {params["mode"] for params, _ in report.candidates}
    assert modes == {"softmax", "sparsemax", "hard", "mean"}  # 1-NN and kNN are candidates too


def test_calibration_beats_the_default_on_car_mileage(minilm):
    cars = pytest.importorskip("softkv.datasets").cars
    mpg = cars()
    d = SoftDict(mpg)
    report = d.calibrate()
    default = next(e for p, e in report.candidates
                   if p == {"temperature": "auto", "top_k": None, "spelling_weight": "auto", "mode": "softmax"})
    assert report.current_error == default and report.error < default


def test_pairs_and_categorical_error_rates():
    vectors = {"a": [1, 0], "b": [0.9, 0.2], "c": [0, 1], "d": [0.1, 0.9], "q1": [1, 0.1], "q2": [0.1, 1]}
    d = SoftDict({"a": "x", "b": "x", "c": "y", "d": "y"}, encoder=table_encoder(vectors))
    report = d.calibrate(["q1", "q2"], ["x", "y"])
    assert report.metric == "error rate" and report.best_error == 0.0
    with pytest.raises(ValueError, match="as many targets"):
        d.calibrate(["q1"], ["x", "y"])


def test_threshold_for_a_target_precision():
    vectors = {"apple": [1, 0, 0], "chair": [0, 1, 0], "apples": [0.95, 0.1, 0], "stool": [0.2, 0.9, 0.3],
               "weather": [0.3, 0.3, 0.9], "maths": [0.4, 0.0, 0.9]}
    d = SoftDict({"apple": 1.0, "chair": 2.0}, encoder=table_encoder(vectors))
    report = d.calibrate(["apples", "stool", "weather", "maths"], keys=["apple", "chair", None, None],
                         target_precision=1.0)
    assert d.threshold == report.chosen["threshold"] and report.metric == "precision" and report.answered == 0.5
    assert d.lookup("apples").nearest == "apple" and d.lookup("stool").nearest == "chair"
    assert d.get("weather") is None and d.get("maths") is None


def test_threshold_calibration_tries_every_spelling_measure_and_applies_the_one_it_chose():
    keys = {"maria lopez": 1, "jose garcia": 2, "ana torres": 3, "luis martin": 4}
    genuine = [("lopez maria", "maria lopez"), ("garcia jose", "jose garcia"), ("torres ana", "ana torres"),
               ("mraia lopze", "maria lopez"), ("maria lopes", "maria lopez")]
    misses = ["maria", "zopel maria", "anat orres", "martin luis garcia"]
    queries = [q for q, _ in genuine] + misses
    vectors = {name: [1.0, 0.0] for name in [*keys, *queries]}  # meaning cannot tell them apart: spelling decides
    d = SoftDict(keys, encoder=table_encoder(vectors))
    report = d.calibrate(queries, keys=[k for _, k in genuine] + [None] * len(misses), target_precision=1.0)
    tried = {(p["spelling_weight"], p["spelling_measure"]) for p, _ in report.candidates}
    assert {(w, m) for w in ("auto", 1.0, 0.25, 0.5, 0.75) for m in ("both", "edits", "ngrams")} <= tried
    assert report.recall == max(recall for _, recall in report.candidates)
    assert (d.spelling_weight, d.spelling_measure, d.threshold) == (
        report.chosen["spelling_weight"], report.chosen["spelling_measure"], report.chosen["threshold"])
    answered = [(q, d.lookup(q, on_miss="ignore")) for q in queries]
    right = {q for q, k in genuine if not dict(answered)[q].missed and dict(answered)[q].nearest == k}
    assert all(r.missed for q, r in answered if q in misses)  # precision 1: every should-miss misses
    assert len(right) / len(genuine) == pytest.approx(report.recall)


def test_threshold_calibration_of_vector_queries_keeps_the_dicts_own_scoring():
    vectors = {"apple": [1, 0, 0], "chair": [0, 1, 0]}
    d = SoftDict({"apple": 1.0, "chair": 2.0}, encoder=table_encoder(vectors), spelling_measure="edits")
    report = d.calibrate([np.array([0.9, 0.1, 0.0]), np.array([0.1, 0.2, 1.0])], keys=["apple", None],
                         target_precision=1.0)
    assert [p["spelling_measure"] for p, _ in report.candidates] == ["edits"] and d.spelling_measure == "edits"


def test_a_calibrated_cutoff_never_falls_between_queries_that_score_the_same():
    from softkv.tools._calibration import _cutoff_for

    best = np.array([0.9, 0.8, 0.8, 0.5])  # the two at 0.8 answer together: one right, one wrong
    nearest, intended = np.array([0, 1, 2, 3]), np.array([0, 1, -1, 3])
    threshold, precision, answered, recall = _cutoff_for(best, np.zeros(4, dtype=bool), nearest, intended, 1.0)
    assert 0.8 < threshold <= 0.9 and precision == 1.0 and answered == 0.25 and recall == pytest.approx(1 / 3)
    threshold, precision, _, _ = _cutoff_for(best, np.zeros(4, dtype=bool), nearest, intended, 0.6)
    assert threshold < 0.5 and precision == 0.75  # all four: 3 of 4 right
