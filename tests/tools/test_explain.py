"""explain() says why a read answers what it does, and every number in it is what a brute-force re-read gives."""

import itertools
import random

import numpy as np
import pytest

from softkv import SoftDict
from tests.conftest import CountingEncoder, sweep

ENCODER = CountingEncoder(dim=10)
WORDS = ["apple", "apricot", "banana", "blueberry", "cherry", "chair", "armchair", "sofa", "table", "lamp",
         "garden hose", "garden chair", "grape", "melon", "stool", "bench"]
QUERIES = ["aple", "chiar", "garden", "lamp shade", "zzz", "apple", "bluebery pie", "couch"]
MODES = ["softmax", "sparsemax", "hard", "mean"]


def random_dict(seed, mode, top_k, spelling_weight, threshold, kind):
    rng = random.Random(seed)
    keys = rng.sample(WORDS, rng.randint(2, 9))
    values = {
        "scalar": lambda: rng.uniform(-5, 5),
        "vector": lambda: (rng.uniform(0, 9), rng.uniform(0, 9)),
        "category": lambda: rng.choice(["fruit", "seat", "other"]),
        "opaque": lambda: {"id": rng.randint(0, 99)},
    }[kind]
    d = SoftDict({key: values() for key in keys}, encoder=ENCODER, mode=mode, top_k=top_k,
                 spelling_weight=spelling_weight, threshold=threshold,
                 temperature=rng.choice(["auto", 0.05, 0.3]) if mode != "sparsemax" else 0.5)
    if rng.random() < 0.5 and "sofa" in d:
        d.add("sofa", d["sofa"], aliases=["couch"])
    return d


def settings():
    """Every mode x top_k x spelling x threshold, each with a kind of value and a dict of its own."""
    kinds = ["scalar", "vector", "category", "opaque"]
    for i, (mode, top_k, spelling, threshold) in enumerate(itertools.product(
            MODES, [None, 3], ["auto", 0.0, 0.5], [None, "auto", 0.2])):
        yield i, mode, top_k, spelling, threshold, kinds[i % 4]


SETTINGS = list(settings())


def same(a, b):
    if isinstance(a, (float, np.ndarray, np.floating)) or isinstance(b, (float, np.ndarray, np.floating)):
        return np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), atol=1e-5, equal_nan=True)
    return a == b


@pytest.mark.parametrize("setting", sweep(SETTINGS, ids=["-".join(map(str, s)) for s in SETTINGS]))
def test_every_number_matches_a_brute_force_read(setting):
    d = random_dict(*setting)
    n = len(d)
    for query in QUERIES:
        e = d.explain(query, k=n, rows=n)
        r = d.lookup(query, on_miss="ignore")
        assert e.missed == bool(r.missed) and e.exact == bool(r.exact) and e.nearest == r.nearest
        assert same(e.answer, r.value)
        for part in e.parts:
            assert part.weight == pytest.approx(r.weights.get(part.key, 0.0), abs=1e-6)
            assert part.score == pytest.approx(r.scores[part.key], abs=1e-5)
            assert part.meaning + part.spelling == pytest.approx(part.score, abs=1e-5)
            assert part.value is d[part.key]
            # leave-one-key-out, as a read that excludes the key
            alone = d.lookup_many([query], exclude=[part.key], on_miss="ignore")
            assert part.missed_without == bool(alone.missed[0])
            if not part.missed_without:
                assert same(part.without, alone[0].value if not alone.exact[0] else d[alone.nearest[0]])
        if d.value_kind not in ("categorical", "opaque") and not e.exact:
            total = sum(part.contribution for part in e.parts)
            assert same(total, e.answer)


@pytest.mark.parametrize("mode", ["softmax", "sparsemax"])
@pytest.mark.parametrize("seed", sweep(range(6), 3))
def test_the_answer_moves_with_the_temperature_as_a_re_read_at_that_temperature(mode, seed):
    d = random_dict(seed, mode, None, "auto", None, "scalar")
    for query in QUERIES:
        e = d.explain(query)
        if e.exact:
            assert e.half_weight_temperature is None
            continue
        for temperature, expected in ((e.temperature / 2, e.colder), (e.temperature * 2, e.warmer)):
            hot = d.copy()
            hot.temperature = temperature
            assert same(hot.lookup(query, on_miss="ignore").value, expected)
        t = e.half_weight_temperature
        if t is None:
            continue
        for factor, above in ((0.999, True), (1.001, False)):
            hot = d.copy()
            hot.temperature = t * factor
            weight = hot.lookup(query, on_miss="ignore").weights.get(e.nearest, 0.0)
            assert (weight > 0.5) == above, (query, t, factor, weight)


@pytest.mark.parametrize("seed", sweep(range(10), 3))
def test_hiding_a_key_reads_as_deleting_it_when_nothing_depends_on_the_number_of_keys(seed):
    """Meaning alone and a fixed temperature: a key hidden is a key deleted."""
    d = random_dict(seed, MODES[seed % 4], None, 0.0, None, "scalar")
    d.temperature = 0.2 if d.mode != "sparsemax" else 0.5
    for query in QUERIES:
        e = d.explain(query, k=len(d))
        for part in e.parts:
            smaller = d.copy()
            del smaller[part.key]
            if not smaller:
                continue
            assert same(part.without, smaller.lookup(query, on_miss="ignore").value)


def test_explain_states_its_parts_in_print_and_html():
    d = SoftDict({"apple": 10.0, "banana": 5.0, "chair": 2.0}, encoder=ENCODER, temperature=0.3)
    e = d.explain("apple pie", k=2)
    text = str(e)
    assert text.splitlines()[0].startswith("'apple pie' -> ")
    assert "answer without it" in text and "margin between the two best scores" in text
    assert sum(part.without is not None for part in e.parts) == 2
    html = e._repr_html_()
    assert html.count("<tr>") == 1 + 3 and "softkv-explain" in html
    assert "<script>" not in SoftDict({"<script>": 1.0}, encoder=ENCODER).explain("<script>")._repr_html_()


def test_explain_refuses_bad_counts_and_an_empty_dict():
    d = SoftDict({"apple": 1.0}, encoder=ENCODER)
    with pytest.raises(ValueError, match="k must be an integer"):
        d.explain("apple", k=-1)
    with pytest.raises(KeyError, match="empty"):
        SoftDict(encoder=ENCODER).explain("apple")


def test_explain_does_not_count_as_a_use():
    d = SoftDict({"apple": 1.0, "banana": 2.0}, encoder=ENCODER, max_keys=2)
    d.explain("apple")
    d["cherry"] = 3.0
    assert "apple" not in d  # the least recently used, since explain is not a read
