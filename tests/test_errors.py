"""Bad input gets a clear error and leaves the SoftDict exactly as it was."""

import numpy as np
import pytest

from softkv import FunctionEncoder, SoftDict


def snapshot(d):
    return list(d.items()), d.key_embeddings.copy(), d.params


def assert_unchanged(d, before):
    items, embeddings, params = before
    assert list(d.items()) == items and d.params == params
    np.testing.assert_array_equal(d.key_embeddings, embeddings)


@pytest.fixture
def d(counting):
    return SoftDict({"apple": 10, "banana": 5, "chair": 2}, encoder=counting)


@pytest.mark.parametrize(
    "action, error, message",
    [
        (lambda d: d.__setitem__(3, 1.0), TypeError, "keys must be str, got int 3"),
        (lambda d: d.update({"ok": 1.0, b"bytes": 2.0}), TypeError, "keys must be str, got bytes"),
        (lambda d: d.__setitem__("   ", 1.0), ValueError, "non-blank text"),
        (lambda d: d.__setitem__("pear", float("nan")), ValueError, "finite"),
        (lambda d: d.__setitem__("pear", float("inf")), ValueError, "finite"),
        (lambda d: d.lookup(""), KeyError, "the query is blank"),
        (lambda d: d.lookup(" \t"), KeyError, "the query is blank"),
        (lambda d: d.lookup_many(["fruit", None]), KeyError, r"None \(query 2 of 2\): the query is blank"),
        (lambda d: d.lookup(42), TypeError, "text .* or a 1-D embedding vector"),
        (lambda d: d.lookup(np.zeros(3)), ValueError, r"shape \(1, 3\); expected \(1, 16\)"),
        (lambda d: d.lookup_many("fruit"), TypeError, "list of queries"),
        (lambda d: d.lookup_many(["fruit", np.zeros(16)]), TypeError, "not a mix"),
        (lambda d: d.lookup_many([]), ValueError, "at least one query"),
        (lambda d: d.lookup_many(42), TypeError, "list of queries .*got int"),
        (lambda d: d.lookup(["fruit"]), TypeError, r"not a list of texts \(\['fruit'\]\); read several with"),
        (lambda d: d.explain(["fruit"]), TypeError, "not a list of texts"),  # was "could not convert string to float"
        (lambda d: d.lookup("fruit").top(-1), ValueError, "an integer >= 0, got -1"),  # -1 had dropped the last key
        (lambda d: d.embed("fruit"), TypeError, "embed takes a list of queries, not one text"),  # not 5 letters
        (lambda d: d.embed([]), ValueError, "embed needs at least one query"),
        (lambda d: d.calibrate([], keys=[], target_precision=0.9), ValueError, "calibrate needs at least one query"),
        (lambda d: d.lookup_many(["fruit"], on_miss="skip"), ValueError, "on_miss"),
        (lambda d: setattr(d, "temperature", 0), ValueError, "temperature must be"),
        (lambda d: setattr(d, "temperature", -1.0), ValueError, "temperature must be"),
        (lambda d: setattr(d, "temperature", float("nan")), ValueError, "temperature must be"),
        (lambda d: setattr(d, "temperature", "hot"), ValueError, "temperature must be"),
        (lambda d: setattr(d, "top_k", 0), ValueError, "top_k must be"),
        (lambda d: setattr(d, "top_k", 2.5), ValueError, "top_k must be"),
        (lambda d: setattr(d, "threshold", float("inf")), ValueError, "threshold must be"),
        (lambda d: setattr(d, "scoring", "euclid"), ValueError, "scoring must be one of"),
        (lambda d: setattr(d, "exact_match", 1), TypeError, "exact_match must be True"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(d, action, error, message):
    before = snapshot(d)
    with pytest.raises(error, match=message):
        action(d)
    assert_unchanged(d, before)


@pytest.mark.parametrize(
    "output, message",
    [
        (lambda texts: np.ones((len(texts) + 1, 16)), r"shape \(2, 16\) for 1 texts"),
        (lambda texts: np.ones((len(texts), 8)), "width 8, but the stored key embeddings have width 16"),
        (lambda texts: np.full((len(texts), 16), np.nan), "NaN or inf for \\['pear'\\]"),
        (lambda texts: np.ones(16), r"shape \(16,\) for 1 texts.*batched=False"),
        (lambda texts: [["x"] * 16] * len(texts), "did not return an array of numbers"),
    ],
)
def test_a_misbehaving_encoder_is_reported_and_changes_nothing(counting, output, message):
    behaviour = [counting.encode]  # encodes well until told to misbehave
    d = SoftDict({"apple": 10, "banana": 5, "chair": 2}, encoder=FunctionEncoder(lambda t: behaviour[0](t)))
    before = snapshot(d)
    behaviour[0] = output
    with pytest.raises(ValueError, match=message):
        d["pear"] = 1.0
    assert_unchanged(d, before)


def test_constructor_refuses_bad_parameters_before_encoding(counting):
    with pytest.raises(ValueError, match="temperature"):
        SoftDict({"a": 1}, encoder=counting, temperature=0)
    with pytest.raises(TypeError, match="encoder must be"):
        SoftDict({"a": 1}, encoder=42)
    assert counting.calls == []


def test_queries_may_come_as_any_iterable_of_texts(d):
    assert d.lookup_many(q for q in ["fruit", "apple"]).nearest == d.lookup_many(("fruit", "apple")).nearest
    assert d.embed(iter(["fruit"])).shape == (1, 16)
    report = d.calibrate((q for q in ["apple", "banana", "zzz"]), keys=["apple", "banana", None],
                         target_precision=0.9)
    assert report.n_queries == 3


def test_lookup_in_an_empty_softdict_says_it_is_empty(counting):
    with pytest.raises(KeyError, match="empty SoftDict"):
        SoftDict(encoder=counting)["fruit"]
    assert SoftDict(encoder=counting).get("fruit", "default") == "default"


def test_softdict_from_embeddings_never_loads_the_default_model(monkeypatch):
    import softkv.encoders

    def refuse():
        raise AssertionError("from_embeddings loaded the default encoder")

    monkeypatch.setattr(softkv.encoders, "default_encoder", refuse)
    d = SoftDict.from_embeddings(["x", "y"], np.eye(2), [1.0, 2.0], temperature=0.5)
    assert d.encoder is None and d[np.array([1.0, 0.0])] < 1.5


def test_softdict_from_embeddings_without_encoder_explains_what_to_pass():
    d = SoftDict.from_embeddings(["x", "y"], np.eye(2), [1.0, 2.0])
    with pytest.raises(TypeError, match="query it with vectors of width 2"):
        d["fruit"]
    with pytest.raises(TypeError, match=r"add\(key, value, embedding=...\)"):
        d["z"] = 3.0
    with pytest.raises(ValueError, match="one embedding row and one value per key"):
        SoftDict.from_embeddings(["x", "y"], np.eye(3), [1.0, 2.0])
    with pytest.raises(ValueError, match=r"embedding vectors have shape \(1, 3\)"):
        d.add("z", 3.0, embedding=[1.0, 0.0, 0.0])
    assert list(d) == ["x", "y"]
