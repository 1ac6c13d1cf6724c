"""A bounded SoftDict: at most max_keys keys, the least recently used (or the oldest) evicted first."""

from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from softkv import LexicalEncoder, SoftDict
from softkv.store import USED_WEIGHT

ENCODER = LexicalEncoder(n_features=64)
NAMES = st.sampled_from([f"key {i}" for i in range(12)])


class LRUMachine(RuleBasedStateMachine):
    """Random writes, exact reads, soft reads and deletes, against an OrderedDict kept as a textbook LRU."""

    def __init__(self):
        super().__init__()
        self.evicted = []
        self.d = SoftDict(encoder=ENCODER, max_keys=4, evict="lru", threshold=None,
                          on_evict=lambda key, value: self.evicted.append(key))
        self.model: OrderedDict[str, float] = OrderedDict()
        self.expected_evicted = []

    @rule(key=NAMES, value=st.floats(-10, 10))
    def set(self, key, value):
        self.d[key] = value
        if key not in self.model:
            self.model[key] = value
            if len(self.model) > 4:
                oldest = next(iter(self.model))
                del self.model[oldest]
                self.expected_evicted.append(oldest)
        else:
            self.model[key] = value  # a write is not a use: the order stays

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def read_exactly(self, data):
        key = data.draw(st.sampled_from(sorted(self.model)))
        assert self.d[key] == self.model[key]
        self.model.move_to_end(key)

    @precondition(lambda self: self.model)
    @rule(query=st.sampled_from(["kye 1", "something", "key"]))
    def read_softly(self, query):
        result = self.d.lookup(query)
        for key, weight in zip(result.keys, result.weight_array):
            if weight >= USED_WEIGHT:
                self.model.move_to_end(key)

    @rule(key=NAMES)
    def delete(self, key):
        if key in self.model:
            del self.d[key]
            del self.model[key]

    @invariant()
    def same_keys_same_order_same_evictions(self):
        assert dict(self.d.items()) == dict(self.model)
        assert self.d.usage == list(self.model)
        assert self.evicted == self.expected_evicted and self.d.evictions == len(self.expected_evicted)


TestLRUAgainstAReference = pytest.mark.stress(LRUMachine.TestCase)  # a long random run


def test_fifo_evicts_the_oldest_whatever_was_read():
    d = SoftDict({f"k{i}": float(i) for i in range(3)}, encoder=ENCODER, max_keys=3, evict="fifo")
    d["k0"], d.lookup("k0 ")
    d["k3"] = 3.0
    assert list(d) == ["k1", "k2", "k3"] and d.evictions == 1


def test_a_write_of_many_keys_keeps_the_newest_and_a_smaller_limit_applies_at_once():
    gone = []
    d = SoftDict(encoder=ENCODER, max_keys=3, on_evict=lambda key, value: gone.append((key, value)))
    d.update({f"k{i}": float(i) for i in range(5)})
    assert list(d) == ["k2", "k3", "k4"] and gone == [("k0", 0.0), ("k1", 1.0)]
    d["k2"]  # used: k3 is now the least recently used
    d.max_keys = 2
    assert list(d) == ["k2", "k4"] and d.evictions == 3


def test_the_order_of_use_survives_a_save_and_a_copy(tmp_path):
    d = SoftDict({f"k{i}": float(i) for i in range(4)}, encoder=ENCODER, max_keys=4)
    d["k0"], d["k2"]
    for other in (SoftDict.load(d.save(tmp_path / "bounded.softkv")), d.copy()):
        assert other.max_keys == 4
        other["new"] = 9.0
        assert "k1" not in other and list(other) == ["k0", "k2", "k3", "new"]


def test_without_a_limit_nothing_is_tracked_or_evicted():
    d = SoftDict({f"k{i}": float(i) for i in range(50)}, encoder=ENCODER)
    d["k1"]
    assert len(d) == 50 and d.evictions == 0


@pytest.mark.parametrize("bad", [0, -1, 2.5, "10"])
def test_a_bad_limit_is_refused(bad):
    with pytest.raises(ValueError, match="max_keys"):
        SoftDict(encoder=ENCODER, max_keys=bad)
    with pytest.raises(ValueError, match="evict"):
        SoftDict(encoder=ENCODER, evict="random")


def test_a_bounded_dict_reads_as_an_unbounded_one_of_the_same_keys():
    bounded = SoftDict(encoder=ENCODER, max_keys=5, threshold=None)
    for i in range(20):
        bounded[f"item {i}"] = float(i)
    plain = SoftDict({key: bounded[key] for key in bounded}, encoder=ENCODER, threshold=None)
    np.testing.assert_allclose(bounded.lookup_many(["item", "item 1"]).values,
                               plain.lookup_many(["item", "item 1"]).values)
