"""Scalar, vector and categorical values, and what a blend of each returns."""

import re

import numpy as np
import pytest

from softkv import SoftDict
from tests.conftest import table_encoder

VECTORS = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [0.7, 0.7], "q": [1.0, 0.2]}


def test_scalar_blend_is_a_float_equal_to_the_weighted_sum():
    d = SoftDict({"a": 10, "b": 2}, encoder=table_encoder(VECTORS), threshold=None)
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


def test_a_value_comes_back_as_the_very_object_stored_and_blends_as_it_was_then():
    source = np.array([1.0, 2.0])
    colour = (255, 0)
    d = SoftDict({"a": source, "b": [0.0, 0.0], "c": colour}, encoder=table_encoder(VECTORS), threshold=None)
    assert d["a"] is source and d["c"] is colour and d.lookup("c").value is colour
    source[0] = 100.0  # the caller's array changed: the blend uses the copy taken when it was stored
    d.temperature = 1e-3
    assert d.lookup("a").value is source and d.lookup("q").value[0] <= 1.0


def test_matrix_values_keep_their_shape():
    d = SoftDict({"a": np.eye(2), "b": np.zeros((2, 2))}, encoder=table_encoder(VECTORS), threshold=None)
    assert d["q"].shape == (2, 2) and d.lookup_many(["q", "c"]).values.shape == (2, 2, 2)


def test_categorical_answer_is_the_heaviest_value_with_its_distribution():
    d = SoftDict({"a": "left", "c": "left", "b": "right"}, encoder=table_encoder(VECTORS), temperature=0.3,
                 threshold=None)
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
    "first, second, kind",
    [
        (1.0, [1.0, 2.0], "opaque"),  # a list is not hashable: no categories
        (1.0, (1.0, 2.0), "categorical"),
        ((1.0, 2.0), (1.0, 2.0, 3.0), "categorical"),
        ([1.0, 2.0], "text", "opaque"),
        (1.0, "text", "categorical"),
        ("text", 1.0, "categorical"),
        ("text", ["x"], "opaque"),
        ("text", {"a": 1}, "opaque"),
        (1.0, print, "categorical"),  # functions are hashable: a fuzzy dispatch table
    ],
)
def test_values_of_another_kind_widen_the_dict_and_stay_exact(counting, first, second, kind):
    d = SoftDict({"good": first}, encoder=counting, threshold=None)
    d["other"] = second
    assert d.value_kind == kind and d["good"] is first and d["other"] is second
    assert d.lookup("something else").value in (first, second) or kind == "numeric"
    if kind == "opaque":
        with pytest.raises(TypeError, match="cannot be grouped by value"):
            _ = d.lookup("something else").distribution


@pytest.mark.parametrize("first, other", [([1.0, 2.0], [1.0, 2.0, 3.0]), (np.ones(2), np.ones((2, 2)))])
def test_a_vector_of_another_shape_among_vectors_is_refused_naming_the_key_and_both_shapes(counting, first, other):
    d = SoftDict({"a": first, "b": first}, encoder=counting)
    shape = np.shape(other)
    with pytest.raises(ValueError, match=re.escape(f"key 'c' is an array of shape {shape}, but the values held are "
                                                   "arrays of shape (2,)")):
        d["c"] = other
    with pytest.raises(ValueError, match="key 'y'"):
        SoftDict({"x": first, "y": other}, encoder=counting)
    assert list(d) == ["a", "b"] and d.value_kind == "array of shape (2,)" and len(counting.calls) == 1
    assert np.allclose(d.lookup("something").value, first)  # still a blend


@pytest.mark.parametrize(
    "first, bad, message",
    [
        (1.0, float("nan"), r"key 'bad' is nan; numbers must be finite"),
        ([1.0, 2.0], [1.0, float("inf")], r"key 'bad' is \[1.0, inf\]; numbers must be finite"),
        (1.0, 10**400, "numbers must be finite"),
    ],
)
def test_numbers_that_are_not_finite_are_refused(counting, first, bad, message):
    d = SoftDict({"good": first}, encoder=counting)
    with pytest.raises(ValueError, match=message):
        d["bad"] = bad
    assert list(d) == ["good"] and len(counting.calls) == 1


