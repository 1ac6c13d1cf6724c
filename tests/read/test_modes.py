"""softmax, sparsemax and hard reads on the same keys."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from softkv import SoftDict, attention
from tests.conftest import table_encoder

VECTORS = {"apple": [0.9, 0.3, 0.1], "banana": [0.8, 0.5, 0.0], "chair": [0.0, 0.2, 1.0], "fruit": [1.0, 0.4, 0.0],
           "seat": [0.1, 0.1, 0.9]}
SEED = {"apple": 10.0, "banana": 5.0, "chair": 2.0}


@given(arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 20)), elements=st.floats(-5, 5)),
       st.floats(0.01, 10))
def test_sparsemax_is_a_distribution_with_exact_zeros(S, temperature):
    W = attention.sparsemax(S, temperature)
    assert (W >= 0).all()
    np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-9)
    assert (W[np.arange(len(S)), S.argmax(axis=1)] > 0).all()  # the best key always keeps weight


def test_sparsemax_leaves_the_chair_out_of_fruit():
    d = SoftDict(SEED, encoder=table_encoder(VECTORS), mode="sparsemax", temperature=0.05, threshold=None)
    r = d.lookup("fruit")
    assert r.weight_array.min() == 0.0 and set(r.weights) == {"apple", "banana"}
    assert 5.0 < d["fruit"] < 10.0


def test_hard_mode_is_the_nearest_key():
    d = SoftDict(SEED, encoder=table_encoder(VECTORS), mode="hard", threshold=None)
    assert d["fruit"] == SEED[d.nearest("fruit")[0]] and d.lookup("seat").weights == {"chair": 1.0}


@pytest.mark.parametrize("top_k", [None, 2])
def test_as_temperature_goes_to_zero_soft_equals_hard(top_k):
    rng = np.random.default_rng(0)
    K, Q, V = rng.standard_normal((50, 8)), rng.standard_normal((20, 8)), rng.standard_normal(50)
    keys = [f"k{i}" for i in range(50)]
    hard = SoftDict.from_embeddings(keys, K, list(V), mode="hard", top_k=top_k).lookup_many(Q)
    for temperature in (1e-3, 1e-5):
        soft = SoftDict.from_embeddings(keys, K, list(V), temperature=temperature, top_k=top_k).lookup_many(Q)
        np.testing.assert_allclose(soft.weight_array, hard.weight_array, atol=1e-6)
        np.testing.assert_allclose(soft.values, hard.values, atol=1e-6)


def test_mode_is_checked_and_saved(tmp_path, counting):
    with pytest.raises(ValueError, match="mode must be one of"):
        SoftDict(encoder=counting, mode="argmax")
    d = SoftDict({"a": 1.0, "b": 2.0, "c": 4.0}, encoder=counting, mode="sparsemax", top_k=2, threshold=None)
    loaded = SoftDict.load(d.save(tmp_path / "m.softkv"), encoder=counting)
    assert loaded.mode == "sparsemax" and loaded["q"] == pytest.approx(d["q"])


def test_p_miss_is_the_weight_of_a_null_slot_at_the_threshold(minilm):
    d = SoftDict({"apple": 10, "banana": 5, "chair": 2}, threshold=0.4, spelling_weight=0)  # on cosine's scale
    batch = d.lookup_many(["a ripe banana", "quantum chromodynamics"], on_miss="ignore")
    confident, weak = batch[0], batch[1]
    assert confident.p_miss < 0.1 < 0.9 < weak.p_miss and batch.missed.tolist() == [False, True]
    assert weak.missed and sum(weak.weights.values()) == pytest.approx(1.0)  # still a distribution over keys
    with pytest.raises(KeyError, match="quantum chromodynamics"):
        d.lookup("quantum chromodynamics")  # below the one cutoff: a miss
    assert d.lookup("apple").p_miss == 0.0
    assert SoftDict({"a": 1.0}, encoder=d.encoder, threshold=None).lookup("b").p_miss is None
    values_only = d.lookup_many(["a ripe banana", "quantum chromodynamics"], weights=False, on_miss="mask")
    np.testing.assert_allclose(values_only.p_miss, [confident.p_miss, weak.p_miss], rtol=1e-5)
    assert np.isnan(values_only.values[1]) and d.lookup("a ripe banana").p_miss == pytest.approx(confident.p_miss)
    S = np.array([list(confident.scores.values())])
    expected = attention.null_probability(S, confident.temperature, 0.4)[0]
    assert confident.p_miss == pytest.approx(expected, rel=1e-5)
