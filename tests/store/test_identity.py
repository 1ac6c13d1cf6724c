"""A store's state is named for good: clear() empties it in place, and nothing computed before is taken for after."""

import gc

import numpy as np
import pytest

from softkv import LexicalEncoder, SoftDict
from softkv.store import Store, Update

ENCODER = LexicalEncoder(n_features=64)


def test_an_update_computed_before_clear_is_refused_after_a_refill():
    rows = np.eye(3, dtype=np.float32)
    d = SoftDict.from_embeddings(["a", "b", "c"], rows, [1.0, 2.0, 3.0])
    memory, _ = d.snapshot()
    stale = Update(values={"a": 99.0}, made_from=memory.state)
    del memory
    for value in range(3):  # each refill one write, as before: only the store's identity tells the states apart
        d.clear()
        d.clear()
        gc.collect()  # the stores cleared away are freed, and their memory is there to be reused
        d.update(SoftDict.from_embeddings(["a", "b", "c"], rows, [float(value), 2.0, 3.0]))
        with pytest.raises(RuntimeError, match="changed after the snapshot"):
            d.apply_update(stale)
        assert d["a"] == float(value)


def test_a_state_is_never_named_twice_even_when_stores_are_freed_and_their_memory_reused():
    assert len({Store().state for _ in range(100)}) == 100  # each store freed at once: id() would repeat
    store = Store()
    store.apply(store.check({"a": 1.0}, embeddings={"a": np.ones(2)}))
    before = store.state
    store.clear()
    assert store.source == before[0] and store.version > before[1] and len(store) == 0


def test_views_taken_before_clear_show_what_the_dict_holds_after_it():
    d = SoftDict({"a": 1.0, "b": 2.0}, encoder=ENCODER)
    keys, values, items = d.keys(), d.values(), d.items()
    d.clear()
    d["x"] = 3.0
    assert list(keys) == ["x"] and list(values) == [3.0] and list(items) == [("x", 3.0)]


def test_an_approximate_index_is_rebuilt_after_clear_and_refill():
    pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    first = rng.standard_normal((400, 8)).astype(np.float32)
    second = rng.standard_normal((400, 8)).astype(np.float32)
    keys = [f"k{i}" for i in range(400)]
    d = SoftDict.from_embeddings(keys, first, list(range(400)), top_k=5, index="ivf")
    d.lookup(first[7])  # builds the index over the first rows
    exact = SoftDict.from_embeddings(keys, second, [0.0] * 400, top_k=5, index="exact")
    query = second[11] + 0.01
    for _ in range(3):  # cleared and refilled in one write: the same names and version, other rows
        d.clear()
        d.clear()
        gc.collect()
        d.update(SoftDict.from_embeddings(keys, second, list(range(400))))  # lends its rows: nothing is encoded
        assert d.lookup(query).nearest == exact.lookup(query).nearest == "k11"


def test_setting_a_parameter_touches_no_row_and_no_cache():
    d = SoftDict({"north": 1.0, "south": 2.0}, encoder=ENCODER)
    d.lookup("nort")  # builds the spelling table of this version
    version = d.snapshot()[0].version
    d.top_k, d.temperature = 1, 0.1
    d.set_params(mode="sparsemax", threshold=None)
    assert d.snapshot()[0].version == version


def test_a_fork_holds_the_same_rows_and_changes_apart():
    rng = np.random.default_rng(0)
    store = Store()
    vectors = {name: rng.standard_normal(4) for name in ["apple", "chair", "table", "malus", "sofa"]}
    store.apply(store.check({"apple": "fruit", "chair": "seat", "table": "furniture"}, {"apple": ["malus"]}, vectors))
    store.spelling_table()  # its n-gram counts, which a fork copies
    before = store.memory(copy=True)
    fork = store.fork()
    made = fork.memory(copy=True)
    assert fork.state != store.state
    assert (made.keys, made.stored, made.aliases_of, made.categories) == (before.keys, before.stored,
                                                                           before.aliases_of, before.categories)
    assert np.array_equal(made.embeddings, before.embeddings)
    assert np.array_equal(made.spelling(["aple"]), before.spelling(["aple"]))
    fork.delete("apple")
    fork.apply(fork.check({"chair": "stool", "lamp": "light"}, {"table": ["desk"]},
                          {"lamp": rng.standard_normal(4), "desk": rng.standard_normal(4)}))
    after = store.memory(copy=True)  # the original is as it was
    assert (after.keys, after.stored, after.aliases_of, after.owner_of) == (before.keys, before.stored,
                                                                             before.aliases_of, before.owner_of)
    assert np.array_equal(after.embeddings, before.embeddings) and after.categories == before.categories
    assert np.array_equal(after.spelling(["aple"]), before.spelling(["aple"]))
    changed = fork.memory(copy=True)
    assert changed.stored == {"chair": "stool", "table": "furniture", "lamp": "light"}
    assert changed.aliases_of == {"table": ["desk"]} and changed.spelling(["aple"]).shape == (1, 4)
    store.apply(store.check({"sofa": "seat"}, embeddings=vectors))  # its n-gram counts are its own
    again = Store()
    again.apply(again.check({"apple": "fruit", "chair": "seat", "table": "furniture", "sofa": "seat"},
                            {"apple": ["malus"]}, vectors))
    assert np.allclose(store.memory().spelling(["aple"]), again.memory().spelling(["aple"]))
