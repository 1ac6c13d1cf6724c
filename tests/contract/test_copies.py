"""Copies copy: copy.copy, copy.deepcopy and pickle give a dict of its own, equal to the original, that reads
as the original reads, without a shared store or lock and without encoding anything again."""

import copy
import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest

from softkv import SoftDict
from softkv.encoders import FunctionEncoder

CALLS = []


def letters(texts):
    """A picklable encoder (a module-level function): letter counts, and the calls it took."""
    CALLS.append(list(texts))
    return [[t.count(c) + 0.01 for c in "abcdeilnoprst"] for t in texts]


def small(**params):
    d = SoftDict(encoder=FunctionEncoder(letters, name="letters"), **params)
    d.add("apple", {"price": [1.5]}, aliases=["pomme"])
    d.update({"banana": {"price": [2.0]}, "pear": {"price": [3.0]}})
    return d


@pytest.mark.parametrize("make", [copy.copy, SoftDict.copy, copy.deepcopy, lambda d: pickle.loads(pickle.dumps(d))],
                         ids=["copy.copy", "d.copy", "deepcopy", "pickle"])
def test_a_copy_is_its_own_dict(make):
    d = small(max_keys=3, temperature=0.2)
    d["apple"]  # the order of use survives
    CALLS.clear()
    c = make(d)
    assert not CALLS  # nothing encoded again
    assert c.usage == d.usage == ["banana", "pear", "apple"]
    assert c == d and c.params == d.params and c.aliases_of("apple") == ["pomme"]
    assert c._store is not d._store and c._lock is not d._lock
    np.testing.assert_array_equal(c.key_embeddings, d.key_embeddings)
    assert c.lookup("appel").weights == d.lookup("appel").weights
    c["plum"] = {"price": [4.0]}  # evicts the least recently used, in the copy only
    del c["pear"]
    assert "banana" not in c and set(d) == {"apple", "banana", "pear"} and d.evictions == 0


def test_a_shallow_copy_shares_the_values_and_a_deep_copy_does_not():
    d = small()
    shallow, deep = copy.copy(d), copy.deepcopy(d)
    assert shallow["apple"] is d["apple"] and deep["apple"] is not d["apple"]
    deep["apple"]["price"].append(9.0)
    assert d["apple"] == {"price": [1.5]} and deep.encoder is d.encoder


def test_copies_are_taken_whole_while_writers_run():
    d = small()

    def write():
        for i in range(150):
            d.update({f"k{i}": {"price": [float(i)]}, f"k{i}b": {"price": [float(i)]}})  # two keys at once

    writer = threading.Thread(target=write)
    writer.start()
    sizes = set()
    while writer.is_alive() or not sizes:
        c = pickle.loads(pickle.dumps(d))
        sizes.add(len(c))
        assert len(c) % 2 == 1 and c == {k: d[k] for k in c}  # the three first keys plus whole writes
    writer.join()
    assert len(d) == 303


def test_a_pickle_holds_the_bundled_encoder_by_name_and_loads_in_another_process(minilm, tmp_path):
    d = SoftDict({"apple": 10, "banana": 5, "chair": 2})
    data = pickle.dumps(d)
    assert len(data) < 20_000  # keys, embeddings and background, no model session
    assert pickle.loads(data).encoder is d.encoder  # the process's one instance
    (tmp_path / "d.pickle").write_bytes(data)
    code = ("import pickle, sys; d = pickle.load(open(sys.argv[1], 'rb')); "
            "print(d['apple'], d.lookup('aple').nearest, len(d))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "d.pickle")], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert out.split() == ["10", "apple", "3"]
