"""Scalar, vector and categorical values, and what a blend of each returns."""

import numpy as np
import pytest

from softkv import SoftDict
from tests.conftest import table_encoder

VECTORS = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [0.7, 0.7], "q": [1.0, 0.2]}


def test_scalar_blend_is_a_float_equal_to_the_weighted_sum():
    d = SoftDict({"a": 10, "b": 2}, encoder=table_encoder(VECTORS))
    r = d.lookup("q")
    assert isinstance(d["q"], float)
    assert d["q"] == pytest.approx(10 * r.weights["a"] + 2 * r.weights["b"])


def test_vector_values_blend_to_an_array_of_the_same_shape():
    d = SoftDict({"a": [1, 2, 3], "b": np.array([3.0, 2.0, 1.0])}, encoder=table_encoder(VECTORS),
                 threshold=None)
    value = d["q"]
    w = d.lookup("q").weights
    assert isinstance(value, np.ndarray) and value.shape == (3,)
    np.testing.assert_allclose(value, w["a"] * np.array([1, 2, 3]) + w["b"] * np.array([3, 2, 1]))
    np.testing.assert_array_equal(d["a"], [1, 2, 3])
    assert d.value_kind == "array of shape (3,)"


def test_stored_arrays_are_private_copies():
    source = np.array([1.0, 2.0])
    d = SoftDict({"a": source, "b": [0.0, 0.0]}, encoder=table_encoder(VECTORS))
    source[0] = 100.0
    assert d["a"][0] == 1.0
    with pytest.raises(ValueError):
        d["a"][0] = 5.0  # read-only


def test_matrix_values_keep_their_shape():
    d = SoftDict({"a": np.eye(2), "b": np.zeros((2, 2))}, encoder=table_encoder(VECTORS), threshold=None)
    assert d["q"].shape == (2, 2) and d.lookup_many(["q", "c"]).values.shape == (2, 2, 2)


def test_categorical_answer_is_the_heaviest_value_with_its_distribution():
    d = SoftDict({"a": "left", "c": "left", "b": "right"}, encoder=table_encoder(VECTORS), temperature=0.3)
    r = d.lookup("q")
    by_key = r.weights
    assert r.distribution == pytest.approx({"left": by_key["a"] + by_key["c"], "right": by_key["b"]})
    assert list(r.distribution) == ["left", "right"] and r.value == "left" == d["q"]
    batch = d.lookup_many(["q", "b"])
    assert batch.values.tolist() == ["left", "right"]
    assert batch.categories == ["left", "right"]
    np.testing.assert_allclose(batch.category_weights.sum(axis=1), 1.0, rtol=1e-6)


def test_deleted_categories_disappear_from_the_distribution():
    d = SoftDict({"a": "left", "b": "right", "c": "up"}, encoder=table_encoder(VECTORS))
    del d["b"]
    d["c"] = "left"
    assert set(d.lookup("q").distribution) == {"left"}


def test_booleans_are_categories_not_numbers():
    d = SoftDict({"a": True, "b": False}, encoder=table_encoder(VECTORS))
    assert d.value_kind == "categorical" and d["q"] is True


@pytest.mark.parametrize(
    "first, bad, error, message",
    [
        (1.0, [1.0, 2.0], ValueError, r"key 'bad' has shape \(2,\), but this SoftDict holds scalars \(shape \(\)\)"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], ValueError, r"key 'bad' has shape \(3,\), but .* values of shape \(2,\)"),
        ([1.0, 2.0], 5.0, ValueError, r"key 'bad' has shape \(\), but .* values of shape \(2,\)"),
        ([1.0, 2.0], "text", TypeError, r"key 'bad' must be a numeric array of shape \(2,\)"),
        (1.0, "text", TypeError, r"key 'bad' must be a real number"),
        ("text", 1.0, TypeError, r"key 'bad' is numeric"),
        ("text", ["x"], TypeError, r"key 'bad' must be hashable"),
        (1.0, float("nan"), ValueError, r"key 'bad' is nan; values must be finite"),
        ([1.0, 2.0], [1.0, float("inf")], ValueError, r"key 'bad' contains NaN or inf"),
    ],
)
def test_values_of_another_shape_or_kind_are_refused(counting, first, bad, error, message):
    d = SoftDict({"good": first}, encoder=counting)
    with pytest.raises(error, match=message):
        d["bad"] = bad
    assert list(d) == ["good"] and len(counting.calls) == 1
