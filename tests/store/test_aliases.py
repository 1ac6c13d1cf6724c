"""One entry, several names."""

import numpy as np
import pytest

from softkv import SoftDict
from tests.conftest import table_encoder

VECTORS = {
    "United States": [1.0, 0.0, 0.0], "USA": [0.0, 1.0, 0.0], "America": [0.0, 0.7, 0.7],
    "Germany": [0.0, 0.0, 1.0], "q usa": [0.1, 0.95, 0.0], "q europe": [0.0, 0.1, 0.99],
}


@pytest.fixture
def d():
    d = SoftDict({"Germany": 83.0}, encoder=table_encoder(VECTORS), temperature=0.1, spelling_weight=0)
    d.add("United States", 335.0, aliases=["USA", "America"])
    return d


def test_an_alias_reads_its_entry_exactly_and_lookups_score_the_best_name(d):
    assert d["USA"] == 335.0 and d.lookup("America").exact and d.lookup("America").value == 335.0
    r = d.lookup("q usa")  # close to "USA", far from "United States"
    assert r.nearest == "United States" and set(r.weights) == {"United States", "Germany"}
    expected = float(np.dot(VECTORS["q usa"], VECTORS["USA"]) / np.linalg.norm(VECTORS["q usa"]))
    assert r.scores["United States"] == pytest.approx(expected, abs=1e-6)
    assert list(d) == ["Germany", "United States"] and "USA" not in d and d.aliases_of("United States") == [
        "USA", "America"]


def test_names_stay_unique_and_aliases_go_with_their_key(d):
    with pytest.raises(ValueError, match="already a name"):
        d.add("Germany", 83.0, aliases=["USA"])
    with pytest.raises(ValueError, match="is an alias of 'United States'"):
        d["America"] = 1.0
    assert d["Germany"] == 83.0 and d.aliases_of("Germany") == []
    del d["United States"]
    assert d.snapshot()[0].alias_names == []
    d["USA"] = 1.0  # a free name again
    assert d["USA"] == 1.0


def test_aliases_survive_save_load_and_copy(tmp_path, d):
    encoder = d.encoder
    loaded = SoftDict.load(d.save(tmp_path / "a.softkv"), encoder=encoder)
    for other in (loaded, d.copy()):
        assert other["USA"] == 335.0 and other.aliases_of("United States") == ["USA", "America"]
        np.testing.assert_allclose(other.lookup("q usa").weight_array, d.lookup("q usa").weight_array)


def test_aliases_and_the_spelling_index(counting):
    d = SoftDict({"Germany": 1.0}, encoder=counting, spelling_weight=1.0, temperature=0.01)
    d.add("United States", 2.0, aliases=["USA", "United States of America"])
    assert d.lookup("Unted Stats of Amerca").nearest == "United States"
    assert d.lookup("Germny").nearest == "Germany"
