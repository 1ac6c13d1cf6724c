"""Notebook HTML and plots."""

import pytest

from softkv import SoftDict
from tests.conftest import table_encoder

VECTORS = {"apple": [1.0, 0.1], "banana": [0.9, 0.3], "chair <b>": [0.0, 1.0], "fruit": [1.0, 0.2]}


@pytest.fixture
def d():
    return SoftDict({"apple": 10, "banana": 5, "chair <b>": 2}, encoder=table_encoder(VECTORS), temperature=0.2)


def test_html_of_a_lookup_and_of_a_softdict(d):
    page = d.lookup("fruit")._repr_html_()
    assert page.count("<tr>") == 4 and "width:" in page and "chair &lt;b&gt;" in page and "<b>chair" not in page
    summary = d._repr_html_()
    assert "3 keys" in summary and "temperature=0.2" in summary and "apple" in summary


def test_plots_are_drawn_and_saved(d, tmp_path):
    pytest.importorskip("matplotlib")
    from softkv.tools import plot

    plot.weights(d.lookup("fruit"), path=tmp_path / "weights.png")
    plot.heatmap(d.lookup_many(["fruit", "apple"]), path=tmp_path / "heatmap.png")
    plot.explanation(d.explain("fruit"), path=tmp_path / "explain.png")
    assert (tmp_path / "explain.png").stat().st_size > 1000
    for name in ("weights.png", "heatmap.png"):
        assert (tmp_path / name).stat().st_size > 2000
    with pytest.raises(ValueError, match="weights=False"):
        plot.heatmap(d.lookup_many(["fruit"], weights=False))


def test_value_names_head_the_columns_and_long_names_are_cut_in_every_table():
    import numpy as np

    from softkv import LexicalEncoder, SoftDict

    long = "a" * 300
    d = SoftDict({long: np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}, encoder=LexicalEncoder(n_features=64),
                 value_names=("price", "kg"))
    result, batch = d.lookup("aaa"), d.lookup_many(["aaa", "q" * 100], on_miss="mask")
    for shown in (result._repr_html_(), batch._repr_html_(), str(result), str(batch)):
        assert "price" in shown and "kg" in shown and long not in shown and "q" * 100 not in shown
    assert max(len(line) for line in str(batch).splitlines()) < 100
    assert "no match" in str(batch) and "no match" in batch._repr_html_()
