"""The attention kernel against brute force, at the edges of floating point."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from softkv import attention
from softkv.read import effective_keys, entropy

rng = np.random.default_rng(0)
Q = rng.standard_normal((4, 8))
K = rng.standard_normal((6, 8))


@pytest.mark.parametrize(
    "scoring, expected",
    [
        ("dot", Q @ K.T),
        ("scaled_dot", Q @ K.T / math.sqrt(8)),
        ("cosine", (Q / np.linalg.norm(Q, axis=1, keepdims=True)) @ (K / np.linalg.norm(K, axis=1, keepdims=True)).T),
        ("neg_l2", -((Q[:, None, :] - K[None, :, :]) ** 2).sum(-1)),
    ],
)
def test_scores_match_brute_force(scoring, expected):
    np.testing.assert_allclose(attention.scores(Q, K, scoring), expected, rtol=1e-10, atol=1e-10)


def test_cosine_uses_cached_key_norms_and_survives_zero_vectors():
    K0 = np.vstack([K, np.zeros(8)])
    S = attention.scores(Q, K0, "cosine", key_inverse_norms=attention.inverse_norms(K0))
    assert np.all(S[:, -1] == 0) and np.all(np.abs(S) <= 1)


def test_unknown_scoring_is_refused():
    with pytest.raises(ValueError, match="scoring must be one of"):
        attention.scores(Q, K, "manhattan")


def test_softmax_matches_the_textbook_formula_where_that_is_finite():
    S = rng.standard_normal((3, 5))
    textbook = np.exp(S / 0.7) / np.exp(S / 0.7).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(attention.softmax(S, 0.7), textbook, rtol=1e-12)


@pytest.mark.parametrize("big", [710.0, 1e5, 1e300, np.finfo(np.float64).max])
def test_softmax_is_finite_where_exp_overflows(big):
    S = np.array([[big, big - 1.0, -big, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        W = attention.softmax(S)
    assert np.isfinite(W).all() and W.sum() == pytest.approx(1.0)
    assert W[0, 0] >= W[0, 1] >= W[0, 3] >= W[0, 2]


def test_float32_softmax_stays_finite_and_float32():
    S = np.array([[3e38, -3e38, 0.0]], dtype=np.float32)
    W = attention.attention_weights(S, "auto")
    assert W.dtype == np.float32 and np.isfinite(W).all() and W.sum() == pytest.approx(1.0)


def test_auto_temperature_is_std_over_log_n_and_scale_free():
    S = rng.standard_normal((2, 9))
    np.testing.assert_allclose(attention.auto_temperature(S)[:, 0], S.std(axis=1) / math.log(10))
    W = attention.attention_weights(S)
    np.testing.assert_allclose(attention.attention_weights(3.0 * S + 7.0), W, rtol=1e-10)


def test_constant_scores_give_uniform_weights():
    W = attention.attention_weights(np.full((1, 4), 0.3))
    np.testing.assert_allclose(W, 0.25)
    np.testing.assert_allclose(attention.attention_weights(np.array([[0.9]])), [[1.0]])


def test_top_k_keeps_the_k_best_and_zeroes_the_rest():
    S = np.array([[0.1, 0.9, 0.5, 0.7, 0.2]])
    W = attention.attention_weights(S, 0.1, top_k=2)
    assert np.flatnonzero(W[0]).tolist() == [1, 3]
    full = attention.softmax(np.array([[0.9, 0.7]]), 0.1)
    np.testing.assert_allclose(W[0, [1, 3]], full[0])
    np.testing.assert_allclose(attention.attention_weights(S, 0.1, top_k=10), attention.softmax(S, 0.1))


def test_small_temperature_approaches_the_nearest_key():
    S = np.array([[0.3, 0.8, 0.79]])
    assert attention.attention_weights(S, 1e-4)[0].argmax() == 1
    assert attention.attention_weights(S, 1e-4)[0, 1] == pytest.approx(1.0)


def test_blend_entropy_and_effective_keys():
    W = np.array([[0.25, 0.25, 0.5], [0.0, 1.0, 0.0]])
    V = np.array([[1.0, 0.0], [3.0, 0.0], [5.0, 2.0]])
    np.testing.assert_allclose(attention.blend(W, V), [[3.5, 1.0], [3.0, 0.0]])
    np.testing.assert_allclose(entropy(W), [1.5 * math.log(2), 0.0])
    np.testing.assert_allclose(effective_keys(W), [1 / 0.375, 1.0])


finite_scores = arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(1, 30)),
    elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)


@given(S=finite_scores, temperature=st.one_of(st.just("auto"), st.floats(1e-6, 1e3)))
def test_weights_are_a_distribution_for_any_finite_scores(S, temperature):
    W = attention.attention_weights(S, temperature)
    assert np.isfinite(W).all() and (W >= 0).all()
    np.testing.assert_allclose(W.sum(axis=1), 1.0, rtol=1e-12)


@given(
    S=arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 40)), elements=st.floats(-1, 1), unique=True),
    k=st.integers(1, 40),
)
def test_top_k_leaves_exactly_k_nonzero_weights(S, k):
    W = attention.attention_weights(S, "auto", top_k=k)
    assert ((W > 0).sum(axis=1) == min(k, S.shape[1])).all()
    np.testing.assert_allclose(W.sum(axis=1), 1.0)


def test_auto_temperature_leaves_masked_keys_out():
    S = np.array([[0.9, 0.5, 0.1, -np.inf]])
    expected = np.array([0.9, 0.5, 0.1]).std() / math.log(5)  # N still counts every key
    np.testing.assert_allclose(attention.auto_temperature(S)[0, 0], expected, rtol=1e-6)
    W = attention.attention_weights(S, "auto")
    assert W[0, 3] == 0 and np.isfinite(W).all() and W.sum() == pytest.approx(1.0)
