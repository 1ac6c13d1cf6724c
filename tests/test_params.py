"""temperature, top_k, threshold, scoring and exact_match as a caller sees them."""

import math

import numpy as np
import pytest

from softkv import SoftDict, attention
from tests.conftest import table_encoder

VECTORS = {
    "north": [0.0, 1.0], "east": [1.0, 0.0], "south": [0.0, -1.0], "west": [-1.0, 0.0],
    "north-east": [0.6, 0.8], "up": [0.1, 0.99], "nowhere": [-0.6, -0.8],
}
VALUES = {"north": 0.0, "east": 90.0, "south": 180.0, "west": 270.0}


def make(**params):
    params.setdefault("spelling_weight", 0)  # the vectors' geometry is the point here, not spelling
    params.setdefault("threshold", None)
    return SoftDict(VALUES, encoder=table_encoder(VECTORS), **params)


def test_fixed_temperature_is_softmax_of_scores_over_temperature():
    r = make(temperature=0.2).lookup("north-east")
    scores = np.array([r.scores[k] for k in VALUES])
    expected = np.exp(scores / 0.2) / np.exp(scores / 0.2).sum()
    np.testing.assert_allclose([r.weights[k] for k in VALUES], expected, rtol=1e-5)
    assert r.temperature == pytest.approx(0.2)


def test_auto_temperature_is_reported_per_query():
    r = make().lookup("north-east")
    scores = np.array(list(r.scores.values()))
    assert r.temperature == pytest.approx(scores.std() / math.log(5), rel=1e-5)


def test_changing_a_parameter_changes_the_next_lookup():
    d = make(temperature=10.0)
    smooth = d.lookup("north-east").effective_keys
    d.temperature = 0.01
    assert d.lookup("north-east").effective_keys < 1.01 < smooth


def test_top_k_restricts_weight_to_the_k_nearest():
    r = make(top_k=2).lookup("north-east")
    assert set(r.weights) == {"north", "east"} and sum(r.weights.values()) == pytest.approx(1.0)


def test_threshold_raises_a_keyerror_naming_the_nearest_keys():
    d = make(threshold=0.99)
    with pytest.raises(KeyError, match=r"best score 0\.800 < threshold 0\.990; nearest keys: 'north' \(0\.800\)"):
        d["north-east"]
    assert d.get("north-east", "none") == "none"
    assert d.lookup("up").nearest == "north"  # cosine 0.995 passes
    assert d["west"] == 270.0  # exact keys never miss
    with pytest.raises(KeyError):
        d.nearest("north-east")


def test_batch_misses_raise_or_are_masked():
    d = make(threshold=0.9)
    with pytest.raises(KeyError, match=r"'north-east'.*\(query 2 of 2\)"):
        d.lookup_many(["up", "north-east"])
    batch = d.lookup_many(["up", "north-east"], on_miss="mask")
    assert batch.missed.tolist() == [False, True]
    assert not math.isnan(batch.values[0]) and math.isnan(batch.values[1])


@pytest.mark.parametrize("scoring", attention.SCORINGS)
def test_every_scoring_answers_with_its_own_similarity(scoring):
    d = make(scoring=scoring, temperature=0.5)
    r = d.lookup("north-east")
    q, K = np.array([VECTORS["north-east"]]), np.array([VECTORS[k] for k in VALUES])
    expected = attention.scores(q, K, scoring)[0]
    np.testing.assert_allclose([r.scores[k] for k in VALUES], expected, rtol=1e-5, atol=1e-6)
    assert r.nearest == "north"


def test_exact_match_false_makes_keys_blend_like_any_query():
    d = make(temperature=1.0)
    assert d["north"] == 0.0
    d.exact_match = False
    r = d.lookup("north")
    assert not r.exact and 0.0 < d["north"] == pytest.approx(r.value) and r.weights["north"] < 1
    assert list(d.values()) == list(VALUES.values())  # views stay exact


def test_lookup_result_reports_and_prints_its_weights():
    r = make(temperature=0.5).lookup("north-east")
    assert list(r.weights) == [k for k, _, _ in r.top(4)]
    assert r.top(2)[0][0] == "north" and r.nearest == "north" and r.nearest_score == pytest.approx(0.8)
    w = np.array(list(r.weights.values()))
    assert r.entropy == pytest.approx(-(w * np.log(w)).sum(), rel=1e-5)
    assert r.effective_keys == pytest.approx(1 / (w**2).sum(), rel=1e-5)
    text = str(r)
    assert text.splitlines()[0].startswith("'north-east' -> ")
    assert "key" in text and "weight" in text and "'north'" in text and repr(r) == text


def test_a_miss_message_shows_scores_even_when_no_weights_are_kept():
    d = make(threshold=0.9)
    with pytest.raises(KeyError) as raised:
        d.lookup_many(["up", "north-east"], weights=False)
    best = d.lookup("north-east", on_miss="ignore").score_array.max()
    assert f"nearest keys: 'north' ({best:.3f})" in str(raised.value) or f"({best:.3f})" in str(raised.value)
    assert "(1.000)" not in str(raised.value)  # weights, not scores, were once shown here


COMBINATIONS = [
    ({"spelling_weight": 0.5, "scoring": "dot"}, "needs scoring='cosine'"),
    ({"index": "ivf"}, "set top_k"),
    ({"top_k": 5, "spelling_weight": 0.5, "index": "ivf"}, "reads every key"),
]


@pytest.mark.parametrize("params, message", COMBINATIONS)
def test_parameters_that_cannot_go_together_are_refused_when_set_not_at_the_first_read(params, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        SoftDict(VALUES, encoder=table_encoder(VECTORS), **params)
    d = make()
    before = d.params
    with pytest.raises(ValueError, match=message):
        d.set_params(**params)
    assert d.params == before
    *others, (last, value) = params.items()
    for name, other in others:  # one at a time: the last one set breaks the rule, and changes nothing
        setattr(d, name, other)
    before = d.params
    with pytest.raises(ValueError, match=message):
        setattr(d, last, value)
    assert d.params == before


@pytest.mark.parametrize("params, message", COMBINATIONS)
def test_a_file_whose_parameters_cannot_go_together_is_refused_by_load(params, message, tmp_path):
    from softkv.errors import FormatError
    from tests.io.test_persistence import rewrite_manifest

    path = SoftDict(VALUES, encoder=table_encoder(VECTORS)).save(tmp_path / "d.softkv")
    rewrite_manifest(path, lambda manifest: manifest["params"].update(params))
    with pytest.raises(FormatError, match=message):
        SoftDict.load(path, encoder=table_encoder(VECTORS))


def test_every_read_parameter_is_a_typed_attribute_of_the_dict_and_only_those():
    from dataclasses import fields

    from softkv.params import Parameter, Params

    declared = {name: kind for name, kind in SoftDict.__annotations__.items()
                if isinstance(SoftDict.__dict__.get(name), Parameter)}
    assert declared == {spec.name: f"Parameter[{spec.type}]" for spec in fields(Params)}
    for spec in fields(Params):
        assert getattr(SoftDict, spec.name).__doc__ == spec.metadata["doc"]


NAMES = {"john smith": 1, "mary jones": 2, "peter parker": 3}


def test_the_spelling_measure_decides_which_similarity_a_fixed_spelling_weight_reads(tmp_path):
    from softkv.spelling import LexicalIndex

    vectors = {name: [1.0, float(i)] for i, name in enumerate([*NAMES, "smith john"])}
    d = SoftDict(NAMES, encoder=table_encoder(vectors), spelling_weight=1.0, threshold=None)
    index = LexicalIndex()
    index.add(list(NAMES))
    table = index.table(list(NAMES))
    assert d.spelling_measure == "both"
    for measure in ("both", "edits", "ngrams"):
        d.spelling_measure = measure
        found = d.lookup("smith john")
        expected = table.spelling(["smith john"], measure)[0]
        assert found.nearest_score == pytest.approx(float(expected.max()), abs=1e-6) and found.nearest == "john smith"
    assert table.edits(["smith john"])[0, 0] == pytest.approx(0.9)  # one reordering: one edit of ten letters
    d.save(tmp_path / "d.softkv")
    assert SoftDict.load(tmp_path / "d.softkv", encoder=table_encoder(vectors)).spelling_measure == "ngrams"
    with pytest.raises(ValueError, match="spelling_measure must be one of 'both', 'edits', 'ngrams'"):
        d.spelling_measure = "edit"
    assert d.spelling_measure == "ngrams"  # a refused value changes nothing


def test_the_default_score_takes_the_measure_with_its_own_chance_level(minilm):
    from softkv.read._background import SPELLING_BACKGROUND

    d = SoftDict(NAMES)
    scores = {}
    for measure in ("both", "edits", "ngrams"):
        d.spelling_measure = measure
        found = d.lookup("smith jhon")
        assert found.nearest == "john smith" and 0 < found.nearest_score <= 1
        scores[measure] = found.nearest_score
    assert len(set(scores.values())) == 3 and len(set(SPELLING_BACKGROUND.values())) == 3
