"""Random sequences of operations against a reference model (hypothesis state machine).

The reference is a plain dict for exact semantics and brute-force numpy
attention for soft reads. The CI profile runs 1,000 examples.
"""

import copy
import math
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from softkv import SoftDict
from tests.conftest import CountingEncoder

ENCODER = CountingEncoder(dim=6)
keys = st.text(min_size=0, max_size=6)  # includes "", blanks and any unicode
numbers = st.floats(-1e6, 1e6, allow_nan=False)
bad_numbers = st.sampled_from([math.nan, math.inf, -math.inf])


def reference_read(model: dict, query: str, temperature, top_k) -> tuple[float, float]:
    """The blend read in float64 by hand, and the temperature it used."""
    names = list(model)
    K = ENCODER.encode(names).astype(np.float64)
    q = ENCODER.encode([query])[0].astype(np.float64)
    S = (K / np.linalg.norm(K, axis=1, keepdims=True)) @ (q / np.linalg.norm(q))
    if temperature == "auto":
        magnitude = max(abs(S.max()), abs(S.mean()))
        temperature = max(S.std(), 1e-4 * magnitude) / math.log(len(names) + 1)
    logits = (S - S.max()) / temperature
    if top_k is not None and top_k < len(names):
        logits[np.argsort(-S)[top_k:]] = -np.inf
    W = np.exp(logits) / np.exp(logits).sum()
    return float(W @ np.array([model[n] for n in names], dtype=np.float64)), float(temperature)


class SoftDictMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.d = SoftDict(encoder=ENCODER, spelling_weight=0, threshold=None,  # the reference reads by embeddings
                          exact_match="strict")  # and folds nothing: "K" blends beside a key "K\r"
        self.model: dict = {}

    def expect_refused(self, action, error):
        before = (list(self.d.items()), self.d.key_embeddings.copy(), self.d.params)
        with pytest.raises(error):
            action()
        assert (list(self.d.items()), self.d.params) == (before[0], before[2])
        np.testing.assert_array_equal(self.d.key_embeddings, before[1])

    @rule(key=keys, value=numbers)
    def set(self, key, value):
        if not key.strip():
            self.expect_refused(lambda: self.d.__setitem__(key, value), ValueError)
        else:
            self.d[key] = value
            self.model[key] = value

    @rule(pairs=st.lists(st.tuples(keys, numbers), max_size=5))
    def update(self, pairs):
        if any(not k.strip() for k, _ in pairs):
            self.expect_refused(lambda: self.d.update(pairs), ValueError)
        else:
            self.d.update(pairs)
            self.model.update(pairs)

    @rule(key=keys, value=st.one_of(bad_numbers, st.integers(0, 3)))
    def set_bad(self, key, value):
        if isinstance(value, int) or not key.strip():
            return
        self.expect_refused(lambda: self.d.__setitem__(key, value), (ValueError, TypeError))

    @rule(key=st.one_of(st.integers(), st.none(), st.binary(max_size=3)))
    def set_non_string_key(self, key):
        self.expect_refused(lambda: self.d.__setitem__(key, 1.0), TypeError)

    @rule(data=st.data())
    def delete(self, data):
        key = data.draw(st.one_of(keys, st.sampled_from(list(self.model) or [""])))
        if key in self.model:
            del self.d[key]
            del self.model[key]
        else:
            with pytest.raises(KeyError):
                del self.d[key]

    @rule(key=keys)
    def pop(self, key):
        assert self.d.pop(key, "missing") == self.model.pop(key, "missing")

    @rule(temperature=st.one_of(st.just("auto"), st.floats(0.01, 5.0)), top_k=st.one_of(st.none(), st.integers(1, 6)))
    def set_parameters(self, temperature, top_k):
        self.d.temperature = temperature
        self.d.top_k = top_k

    @precondition(lambda self: self.model)
    @rule(query=keys)
    def soft_read(self, query):
        if not query.strip():
            self.expect_refused(lambda: self.d.lookup(query), KeyError)  # a blank query misses
            assert self.d.get(query, "default") == "default"
            return
        if query in self.model:
            assert self.d[query] == self.model[query]
            return
        expected, temperature = reference_read(self.model, query, self.d.temperature, self.d.top_k)
        scale = 1 + max(abs(v) for v in self.model.values())
        # the dict's cosines are float32, off by about 1e-7: a logit moves by that over the temperature, which
        # "auto" makes tiny when the keys' cosines nearly tie (two at -0.511897 and -0.511951)
        assert abs(self.d[query] - expected) <= (1e-4 + 1e-7 / temperature) * scale
        r = self.d.lookup(query)
        assert abs(sum(r.weights.values()) - 1) < 1e-5 and r.nearest in self.model

    @rule(how=st.sampled_from(["save", "copy", "deepcopy", "pickle"]))
    def round_trip(self, how):
        """Every state saves and loads (and copies) whole: the same pairs, parameters and embeddings."""
        if how == "save":
            with tempfile.TemporaryDirectory() as folder:
                other = SoftDict.load(self.d.save(Path(folder) / "d.softkv"), encoder=ENCODER)
        else:
            other = {"copy": copy.copy, "deepcopy": copy.deepcopy,
                     "pickle": lambda d: pickle.loads(pickle.dumps(d))}[how](self.d)
        assert list(other.items()) == list(self.d.items()) and other.params == self.d.params
        np.testing.assert_array_equal(other.key_embeddings, self.d.key_embeddings)

    @precondition(lambda self: not self.model)
    @rule(query=keys)
    def read_empty(self, query):
        if query.strip():
            with pytest.raises(KeyError, match="empty SoftDict"):
                self.d[query]

    @invariant()
    def exact_semantics_match_a_dict(self):
        assert list(self.d) == list(self.model) and len(self.d) == len(self.model)
        assert dict(self.d.items()) == self.model
        for key in list(self.model)[:3]:
            assert key in self.d and self.d[key] == self.model[key]


SoftDictMachine.TestCase.settings = settings(
    max_examples=1000 if os.environ.get("CI") else 100, stateful_step_count=25, deadline=None
)
TestSoftDictMachine = SoftDictMachine.TestCase
