"""Properties of soft reads over random keys, values and embeddings (hypothesis)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from softkv import SoftDict

keys = st.lists(st.text(min_size=1, max_size=8).filter(str.strip), min_size=1, max_size=12, unique=True)
temperatures = st.one_of(st.just("auto"), st.floats(0.01, 10.0))


@st.composite
def memories(draw, value_shape=()):
    names = draw(keys)
    dim = draw(st.integers(2, 6))
    unit = st.floats(-1, 1, allow_nan=False)
    embeddings = draw(arrays(np.float64, (len(names), dim), elements=unit))
    values = draw(arrays(np.float64, (len(names),) + value_shape, elements=st.floats(-1e3, 1e3)))
    queries = draw(arrays(np.float64, (draw(st.integers(1, 4)), dim), elements=unit))
    return names, embeddings, list(values), queries


@given(memory=memories(), temperature=temperatures, scoring=st.sampled_from(["cosine", "dot", "neg_l2"]))
def test_weights_are_nonnegative_and_sum_to_one(memory, temperature, scoring):
    names, embeddings, values, queries = memory
    d = SoftDict.from_embeddings(names, embeddings, values, temperature=temperature, scoring=scoring)
    W = d.lookup_many(queries).weight_array
    assert (W >= 0).all() and np.isfinite(W).all()
    np.testing.assert_allclose(W.sum(axis=1), 1.0, rtol=1e-5)


@given(memory=memories(value_shape=(3,)), temperature=temperatures)
def test_a_blend_lies_in_the_convex_hull_of_the_values(memory, temperature):
    names, embeddings, values, queries = memory
    d = SoftDict.from_embeddings(names, embeddings, values, temperature=temperature)
    V = np.array(values)
    slack = 1e-12 * (1 + np.abs(V).max())  # float64 rounding only: blends are renormalized
    for value in d.lookup_many(queries).values:  # per coordinate: between min and max
        assert (value >= V.min(axis=0) - slack).all() and (value <= V.max(axis=0) + slack).all()


@given(memory=memories(), temperature=temperatures, data=st.data())
def test_insertion_order_does_not_change_the_answers(memory, temperature, data):
    names, embeddings, values, queries = memory
    order = data.draw(st.permutations(range(len(names))))
    d1 = SoftDict.from_embeddings(names, embeddings, values, temperature=temperature)
    d2 = SoftDict.from_embeddings([names[i] for i in order], embeddings[order], [values[i] for i in order],
                                  temperature=temperature)
    b1, b2 = d1.lookup_many(queries), d2.lookup_many(queries)
    for r1, r2, value1, value2 in zip(b1, b2, b1.values, b2.values):
        tolerance = tie_tolerance(r1.score_array)
        assert abs(value1 - value2) <= tolerance * (1 + np.abs(values).max())
        for key, weight in r1.weights.items():
            assert abs(r2.weights.get(key, 0.0) - weight) <= tolerance


def tie_tolerance(row_scores):
    """How far two float32 reads of the same row may differ.

    The auto temperature divides by the spread of the scores: when they are
    (nearly) tied, a rounding difference in the last bit of a score moves the
    weights by up to about 1e-3; otherwise they agree to 1e-5.
    """
    scale = max(1e-30, float(np.abs(row_scores).max()))
    return 1e-5 if float(row_scores.std()) > 1e-2 * scale else 1e-2


@given(memory=memories(), k=st.integers(1, 12))
def test_top_k_leaves_exactly_k_nonzero_weights(memory, k):
    names, embeddings, values, queries = memory
    embeddings = embeddings + np.arange(len(names))[:, None] * 1e-3  # distinct keys
    d = SoftDict.from_embeddings(names, embeddings, values, top_k=k, scoring="neg_l2")
    W = d.lookup_many(queries).weight_array
    assert ((W > 0).sum(axis=1) == min(k, len(names))).all()


@given(memory=memories())
def test_a_batch_equals_the_single_lookups(memory):
    names, embeddings, values, queries = memory
    d = SoftDict.from_embeddings(names, embeddings, values)
    batch = d.lookup_many(queries)
    for query, row_scores, row_weights, value in zip(queries, batch.score_array, batch.weight_array, batch.values):
        single = d.lookup(query)
        tolerance = tie_tolerance(row_scores)
        np.testing.assert_allclose(single.weight_array, row_weights, atol=tolerance)
        assert abs(single.value - value) <= tolerance * (1 + np.abs(values).max())
