"""Exact dict semantics, and the promise that each key is encoded exactly once."""

import numpy as np
import pytest

from softkv import SoftDict
from tests.conftest import table_encoder


def test_behaves_as_a_dict_for_exact_keys(counting):
    d = SoftDict({"apple": 10, "banana": 5}, encoder=counting)
    reference = {"apple": 10, "banana": 5}
    d["chair"] = 2
    reference["chair"] = 2
    d.update({"apple": 11}, desk=4)
    reference.update({"apple": 11}, desk=4)
    del d["banana"]
    del reference["banana"]
    assert list(d) == list(reference) and len(d) == len(reference)
    assert list(d.keys()) == list(reference.keys())
    assert list(d.values()) == list(reference.values())
    assert list(d.items()) == list(reference.items())
    assert "chair" in d and "banana" not in d and "fruit" not in d and 3 not in d
    assert d == reference and d["apple"] == 11
    assert d.pop("desk") == 4 and d.pop("desk", None) is None
    assert d.popitem() == ("chair", 2)
    assert d.setdefault("apple", 0) == 11 and d.setdefault("pear", 3) == 3 and d["pear"] == 3
    with pytest.raises(KeyError):
        del d["banana"]
    with pytest.raises(KeyError):
        d.pop("nothing")
    d.clear()
    assert len(d) == 0 and list(d) == []


def test_reading_a_key_returns_exactly_the_stored_object(counting):
    d = SoftDict(encoder=counting)
    d["int"] = 7
    d["numpy"] = np.float32(0.1)
    assert d["int"] == 7 and type(d["int"]) is int
    assert d["numpy"] is not None and type(d["numpy"]) is np.float32 and d["numpy"] == np.float32(0.1)
    assert d.lookup("int").value == 7 and d.lookup("int").exact


def test_keys_are_encoded_once_in_batches(counting):
    d = SoftDict({"a": 1, "b": 2, "c": 3}, encoder=counting)
    assert counting.calls == [["a", "b", "c"]]
    d["d"] = 4
    assert counting.calls[-1] == ["d"]
    d["a"] = 10  # a new value for an existing key re-encodes nothing
    d.update({"b": 20, "e": 5, "f": 6})
    assert counting.calls[-1] == ["e", "f"] and len(counting.calls) == 3
    assert sorted(counting.texts) == ["a", "b", "c", "d", "e", "f"]


def test_a_batch_with_repeated_keys_keeps_the_last_value(counting):
    d = SoftDict([("a", 1), ("a", 2), ("b", 3)], encoder=counting)
    assert dict(d) == {"a": 2, "b": 3} and counting.calls == [["a", "b"]]


def test_deletes_keep_rows_aligned_with_keys(counting):
    keys = [f"key {i}" for i in range(50)]
    d = SoftDict({k: float(i) for i, k in enumerate(keys)}, encoder=counting, temperature=1e-4)
    for k in keys[::3]:
        del d[k]
    d["late"] = 99.0
    survivors = [k for k in keys if k not in keys[::3]] + ["late"]
    assert list(d) == survivors
    # every surviving key's own embedding still finds its own value
    embeddings = counting.encode(survivors)
    for key, vector in zip(survivors, embeddings):
        assert d.nearest(vector)[:2] == (key, d[key])
    np.testing.assert_allclose(d.key_embeddings, embeddings, rtol=1e-6)


def test_empty_then_refilled_with_another_kind(counting):
    d = SoftDict({"a": 1.0}, encoder=counting, threshold=None)
    del d["a"]
    assert d.value_kind is None
    d["b"] = "category"
    assert d.value_kind == "categorical" and d["zzz"] == "category"


def test_copy_is_independent_and_not_re_encoded(counting):
    d = SoftDict({"a": 1, "b": 2}, encoder=counting, temperature=0.5, threshold=None)
    clone = d.copy()
    clone["c"] = 3
    assert "c" not in d and clone.temperature == 0.5 and dict(clone) == {"a": 1, "b": 2, "c": 3}
    d.index, d.mode = "exact", "sparsemax"
    assert (d.copy().index, d.copy().mode) == ("exact", "sparsemax")
    assert counting.calls == [["a", "b"], ["c"]]


def test_repr_shows_contents_encoder_and_non_default_parameters(counting):
    d = SoftDict({f"k{i}": i for i in range(8)}, encoder=counting, top_k=3)
    text = repr(d)
    assert text.startswith("SoftDict({'k0': 0") and "(8 keys)" in text and "top_k=3" in text
    assert "temperature" not in text


def test_a_softdict_built_from_another_reuses_its_embeddings(counting):
    source = SoftDict({"a": 1, "b": 2}, encoder=counting, threshold=None)
    target = SoftDict({"b": 20}, encoder=counting)
    target.update(source)
    assert dict(target) == {"b": 2, "a": 1} and counting.calls == [["a", "b"], ["b"]]
    np.testing.assert_array_equal(target.key_embeddings, counting.encode(["b", "a"]))
    assert SoftDict(source, encoder=counting) == source and len(counting.calls) == 3


def test_setdefault_returns_what_it_stored_when_another_write_evicts_it_at_once(monkeypatch):
    d = SoftDict(encoder=table_encoder({"k": [1.0, 0.0], "other": [0.0, 1.0]}), max_keys=1)
    write = d._write

    def racing(pairs, **options):  # another thread's write lands between setdefault's write and its read
        write(pairs, **options)
        write({"other": 2})

    monkeypatch.setattr(d, "_write", racing)
    assert d.setdefault("k", 1) == 1 and list(d) == ["other"]
