"""The score: spelling counts only beyond chance, a clear match does not blend, scores stay on the cosine scale."""

import numpy as np
import pytest

from softkv import SoftDict

datasets = pytest.importorskip("softkv.datasets")


@pytest.fixture(scope="module")
def big_cities(minilm):
    return SoftDict({row["name"]: row["population"] for row in datasets.cities()[:600]})


def test_a_name_up_to_case_is_the_key(minilm):
    d = SoftDict({"apple": 10, "banana": 5, "chair": 2})
    assert d["Apple"] == 10 and d["  APPLE "] == 10 and d.lookup("Apple").exact
    strict = SoftDict({"apple": 10, "banana": 5, "chair": 2}, exact_match="strict")
    assert not strict.lookup("Apple").exact
    # names that fold alike are no key's name: the read is soft
    twins = SoftDict({"Apple": 1, "apple": 2, "pear": 3})
    assert not twins.lookup("APPLE").exact and twins["apple"] == 2


def test_a_clear_typo_takes_all_the_weight(minilm):
    d = SoftDict({"apple": 1.5, "banana": 2})
    assert d["aple"] == 1.5  # exactly: the other key, at chance level, takes nothing
    r = SoftDict({"apple": 10, "banana": 5, "chair": 2}).lookup("fruit")
    assert set(r.weights) == {"banana", "apple"} and r.weights["banana"] > 0.5  # chair is below chance


def test_chance_spelling_does_not_answer(big_cities):
    """Unrelated text shares letters with some of 600 city names by chance; that is no evidence."""
    assert big_cities.lookup("NYC").nearest == "New York City"
    for text in ["test", "banana", "the weather today"]:
        assert big_cities.lookup(text, on_miss="mask").missed, text
    assert big_cities.lookup("Tokio").weights["Tokyo"] > 0.99


def test_scores_stay_on_the_cosine_scale(big_cities):
    batch = big_cities.lookup_many(["NYC", "Tokio", "sao paulo", "a big city in germany", "zzz"], on_miss="mask")
    assert np.all(batch.score_array <= 1 + 1e-6) and np.all(batch.score_array >= -1 - 1e-6)
    for r in batch:
        assert 0.0 <= r.confidence <= 1.0


@pytest.fixture(scope="module")
def colours(minilm):
    return SoftDict(dict(datasets.xkcd_colors()))


@pytest.mark.parametrize("spelling_weight", ["auto", 0.0, 0.5, 1.0])
def test_no_name_scores_above_an_identical_text(colours, spelling_weight):
    """A key read as a query scores 1, not 1 + 1e-7 as float32 rounding gave ("DEEP PINK", "ROYAL BLUE" by
    the default's mix): a printed score is a cosine."""
    d = colours.copy()
    d.spelling_weight = spelling_weight
    names = list(d.keys())
    batch = d.lookup_many(names + [name.upper() for name in names], on_miss="ignore")
    assert batch.score_array.max() <= 1.0
    assert np.all(batch.best_scores <= 1.0)


def test_confidence_is_higher_for_a_right_answer_than_for_chance(big_cities):
    right = [big_cities.lookup(q).confidence for q in ["Tokio", "Mumbay", "Sao Paolo", "NYC"]]
    chance = [big_cities.lookup(q, on_miss="mask").confidence for q in ["test", "banana", "keyboard shortcut"]]
    assert min(right) > max(chance)


def test_a_calibrated_threshold_keeps_its_precision_and_reports_its_recall(big_cities):
    d = big_cities.copy()
    queries = ["Tokio", "Mumbay", "Sao Paolo", "NYC", "Moskow", "Lagos city", "Rockford", "Springfield",
               "my favourite", "Bananaville", "pest control", "sunny beach"]
    keys = ["Tokyo", "Mumbai", "São Paulo", "New York City", "Moscow", "Lagos", None, None, None, None, None, None]
    report = d.calibrate(queries, keys=keys, target_precision=0.8)
    answered = [(d.lookup(q, on_miss="mask"), key) for q, key in zip(queries, keys)]
    answered = [(r.nearest, key) for r, key in answered if not r.missed]
    right = sum(nearest == key for nearest, key in answered)
    assert right / len(answered) >= 0.8 and report.recall == pytest.approx(right / 6) and report.recall > 0.5


def test_a_read_that_hides_a_key_scores_the_others_as_the_dict_without_it(minilm):
    """Meaning and spelling are weighed by the keys a query sees, so a hidden key does not sway them (edits
    alone: the n-gram measure's IDF is the dict's own, with the key or without it)."""
    keys = {"chair": 1.0, "chairs": 1.5, "banana": 2.0, "orange": 3.0, "table": 4.0, "umbrella": 5.0}
    d = SoftDict(keys, threshold=None, spelling_measure="edits")
    without = SoftDict({k: v for k, v in keys.items() if k != "chair"}, threshold=None, spelling_measure="edits")
    for query in ["chiar", "chairz", "bananna", "something to sit on"]:
        hidden = d.lookup_many([query], exclude=["chair"])[0]
        alone = without.lookup(query)
        assert hidden.scores.keys() - {"chair"} == alone.scores.keys()
        for key, value in alone.scores.items():
            assert hidden.scores[key] == pytest.approx(value, abs=1e-6), (query, key)
    assert d.lookup("chiar").scores["chairs"] != pytest.approx(without.lookup("chiar").scores["chairs"], abs=1e-4)
