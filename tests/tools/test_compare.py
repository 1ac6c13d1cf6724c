"""The hard-vs-soft harness on small cases whose numbers are worked out by hand."""

import math

import numpy as np
import pytest

from softkv import SoftDict
from softkv.tools import compare

ANGLES = {"a": 0, "b": 20, "c": 47, "d": 65, "e": 90}  # degrees on the unit circle
VALUES = {"a": 0.0, "b": 10.0, "c": 20.0, "d": 30.0, "e": 40.0}


def unit(degrees):
    return [math.cos(math.radians(degrees)), math.sin(math.radians(degrees))]


@pytest.fixture
def circle():
    return SoftDict.from_embeddings(list(ANGLES), [unit(a) for a in ANGLES.values()], list(VALUES.values()))


def test_one_nearest_neighbour_and_retrieval_metrics_by_hand(circle):
    # q1 at 25 degrees wants b (20): nearest is b, right. q2 at 58 degrees wants c (47): nearest is d (65), wrong;
    # c is second (11 degrees away against d's 7), so its reciprocal rank is 1/2.
    result = compare(circle, queries=[unit(25), unit(58)], targets=[10.0, 20.0], keys=["b", "c"])
    hard = result.rows[0]
    assert hard["method"] == "hard"
    assert hard["MAE"] == pytest.approx((0 + 10) / 2)
    assert hard["RMSE"] == pytest.approx(math.sqrt((0 + 100) / 2))
    assert hard["top-1"] == 0.5 and hard["MRR"] == pytest.approx((1 + 0.5) / 2) and hard["mass"] == 0.5
    assert all(row["top-1"] == 0.5 for row in result.rows)  # retrieval ranks depend on the scores only
    from_generator = compare(circle, queries=(q for q in [unit(25), unit(58)]), targets=[10.0, 20.0], keys=["b", "c"])
    assert from_generator.rows == result.rows  # any iterable of queries, read once


def test_k_is_chosen_by_leave_one_key_out_error(circle):
    K = np.array([unit(a) for a in ANGLES.values()])
    values = np.array(list(VALUES.values()))
    S = K @ K.T
    np.fill_diagonal(S, -np.inf)
    loo = {k: np.abs(values[np.argsort(-S, axis=1)[:, :k]].mean(axis=1) - values).mean() for k in (1, 2, 3)}
    best_k = min(loo, key=loo.get)
    result = compare(circle)
    knn = result.rows[2]
    assert knn["setting"].startswith(f"mean of {best_k} nearest") and knn["MAE"] == pytest.approx(loo[best_k])
    assert result.rows[0]["MAE"] == pytest.approx(loo[1])  # leave-one-key-out 1-NN


def test_tables_frames_and_plots(circle, tmp_path):
    result = compare(circle, queries=[unit(25), unit(58)], targets=[10.0, 20.0])
    text = result.table()
    assert all(name in text for name in ("hard", "soft", "kNN", "calibrated", "sparsemax")) and "RMSE" in text
    frame = pytest.importorskip("pandas") and result.to_frame()
    assert list(frame.index) == ["hard", "soft", "kNN", "calibrated", "sparsemax"] and "MAE" in frame.columns
    pytest.importorskip("matplotlib")
    result.plot(tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 1000
    temperatures = [t for t, _ in result.curve]
    assert temperatures == sorted(temperatures) and len(temperatures) == 9


def test_categories_are_scored_by_error_rate():
    d = SoftDict.from_embeddings(list(ANGLES), [unit(a) for a in ANGLES.values()], ["x", "x", "y", "y", "y"])
    result = compare(d, queries=[unit(5), unit(80)], targets=["x", "y"])
    assert result.metric == "error rate" and result.rows[0]["error rate"] == 0.0
    with pytest.raises(ValueError, match="at least 3 keys"):
        compare(SoftDict.from_embeddings(["a"], [[1.0, 0.0]], [1.0]))


def test_with_enough_pairs_the_tuned_rows_are_chosen_on_other_folds_of_the_pairs(circle, monkeypatch):
    from softkv.tools import _compare

    seen = []
    original = _compare.calibrate

    def recording(memory, params, queries=None, Q=None, targets=None, **options):
        seen.append(None if queries is None else len(queries))
        return original(memory, params, queries, Q, targets, **options)

    monkeypatch.setattr(_compare, "calibrate", recording)
    angles = np.linspace(0, 90, 20)
    queries, targets = [unit(a) for a in angles], [float(a) * 40 / 90 for a in angles]
    keys = [min(ANGLES, key=lambda k: abs(ANGLES[k] - a)) for a in angles]
    result = compare(circle, queries=queries, targets=targets, keys=keys)
    assert seen == [16] * 5  # tuned five times, each on the 16 pairs outside the fold read
    tuned = {row["method"]: row["setting"] for row in result.rows}
    assert all("chosen per fold on the other pairs (5-fold)" in tuned[name] for name in ("kNN", "calibrated",
                                                                                          "sparsemax"))
    assert "chosen per fold" not in tuned["soft"] and all(0 <= row["top-1"] <= 1 for row in result.rows)
    seen.clear()
    compare(circle, queries=queries[:3], targets=targets[:3])
    assert seen == [None]  # three pairs are too few to tune on: chosen on the keys, as without pairs
