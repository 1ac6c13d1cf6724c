"""Real meaning from the real bundled model (loaded once per session)."""

import numpy as np
import pytest

from softkv import SoftDict

SEED = {"apple": 10, "banana": 5, "chair": 2}
SEED_VECTORS = {
    "apple": [0.9, 0.2, -0.5, 1.0],
    "banana": [1.2, 2.0, 0.1, 0.2],
    "chair": [-1.2, -2.0, 1.0, -0.2],
}


@pytest.fixture(scope="module")
def seed(minilm):
    return SoftDict(SEED)


def test_fruit_blends_apple_and_banana_and_chair_at_chance_takes_no_weight(seed):
    r = seed.lookup("fruit")
    w = r.weights
    assert "chair" not in w and r.scores["chair"] < r.cutoff < r.scores["apple"] < r.scores["banana"]
    assert w["apple"] >= 0.05 and w["banana"] >= 0.05, "the default temperature must leave a real blend"
    assert seed.lookup("fruit", on_miss="ignore").weights == w
    assert SEED["chair"] < seed["fruit"] < max(SEED["apple"], SEED["banana"])
    assert r.nearest in ("apple", "banana") and 1.2 < r.effective_keys < 3


def test_furniture_goes_to_the_chair(seed):
    r = seed.lookup("furniture")
    assert r.nearest == "chair" and r.weights["chair"] > 0.5
    assert seed.nearest("something to sit on")[:2] == ("chair", 2)


def test_vector_values_from_the_seed(minilm):
    d = SoftDict(SEED_VECTORS)
    fruit, furniture = d["fruit"], d["furniture"]
    assert fruit.shape == (4,) and furniture.shape == (4,)
    # fruit lands near the fruits' vectors, furniture near the chair's
    fruits = np.array([SEED_VECTORS["apple"], SEED_VECTORS["banana"]])
    chair = np.array(SEED_VECTORS["chair"])
    assert np.linalg.norm(fruit - fruits.mean(axis=0)) < np.linalg.norm(fruit - chair)
    assert np.linalg.norm(furniture - chair) < np.linalg.norm(furniture - fruits.mean(axis=0))


def test_a_typo_finds_the_intended_key(minilm):
    keys = ["banana", "apple", "chair", "table", "orange", "strawberry", "refrigerator", "umbrella"]
    d = SoftDict({key: i for i, key in enumerate(keys)})
    typos = {"bananna": "banana", "appel": "apple", "tabel": "table", "strawbery": "strawberry",
             "refridgerator": "refrigerator", "aple": "apple"}
    for typo, key in typos.items():
        assert d.lookup(typo).nearest == key, typo
    # Transposed short words ("chiar", "ornage") defeat the encoder alone: see the README's limits.


def test_a_batch_lookup_equals_the_single_lookups(seed):
    queries = ["fruit", "furniture", "yellow", "apple"]
    batch = seed.lookup_many(queries)
    assert batch.keys == tuple(seed.snapshot()[0].keys) and batch.weight_array.shape == (4, 3)
    for i, query in enumerate(queries):
        single = seed.lookup(query)
        np.testing.assert_allclose(batch.weight_array[i], single.weight_array, atol=1e-5)
        assert batch.values[i] == pytest.approx(float(single.value), rel=1e-5)
        assert batch.nearest[i] == single.nearest
    assert batch.exact.tolist() == [False, False, False, True] and batch.values[3] == 10


def test_a_category_query_focuses_on_its_members_among_many_keys(minilm):
    fruit = ["apple", "banana", "cherry", "grape", "mango", "pear", "peach", "plum", "lemon", "kiwi"]
    other = [
        "hammer", "screwdriver", "wrench", "pliers", "drill", "saw", "chisel", "sofa", "desk", "lamp",
        "bookshelf", "wardrobe", "carpet", "curtain", "pillow", "blanket", "car", "bicycle", "train",
        "airplane", "boat", "truck", "motorcycle", "bus", "guitar", "piano", "violin", "drum", "flute",
        "trumpet", "doctor", "teacher", "lawyer", "engineer", "farmer", "pilot", "nurse", "soldier",
        "river", "mountain", "forest", "desert", "ocean", "island", "valley", "volcano", "shirt",
        "trousers", "jacket", "shoes", "hat", "scarf", "gloves", "socks", "keyboard", "monitor", "printer",
    ]
    d = SoftDict({name: 1.0 for name in fruit} | {name: 0.0 for name in other})
    r = d.lookup("fruit")
    assert r.value > 0.5, f"only {r.value:.2f} of the weight on the fruit among {len(d)} keys"
    assert r.nearest in fruit


@pytest.mark.slow
def test_any_sentence_transformer_or_path_is_accepted(minilm, seed):
    from softkv.encoders import SentenceTransformerEncoder, bundled_model_path

    by_instance = SoftDict(SEED, encoder=SentenceTransformerEncoder().model)
    by_path = SoftDict(SEED, encoder=bundled_model_path())
    for d in (by_instance, by_path):
        np.testing.assert_allclose(d["fruit"], seed["fruit"], rtol=1e-4)
