"""A blank query (empty or whitespace text, None, NaN, pandas' NA) is a miss: it names no key and reads nothing."""

import numpy as np
import pytest

from softkv import LexicalEncoder, SoftDict

BLANKS = ["", "   ", "\t\n", None, float("nan"), np.float32("nan")]


@pytest.fixture
def d():
    return SoftDict({"apple": 1.0, "pear": 2.0}, encoder=LexicalEncoder(n_features=64))


@pytest.mark.parametrize("blank", BLANKS, ids=repr)
def test_a_blank_query_misses_as_a_missing_key_does(d, blank):
    assert d.get(blank, "default") == "default" and blank not in d
    with pytest.raises(KeyError, match="the query is blank"):
        d[blank]
    result = d.lookup(blank, on_miss="ignore")
    assert result.missed and result.reason.startswith("the query is blank") and "no match" in result.headline()
    assert np.isnan(result.value) and not result.weights


@pytest.mark.parametrize("on_miss", ["mask", "ignore"])
def test_a_blank_query_in_a_batch_misses_alone(d, on_miss):
    batch = d.lookup_many(["apple", None, "", "pear"], on_miss=on_miss)
    assert batch.missed.tolist() == [False, True, True, False] and batch.queries == ["apple", None, "", "pear"]
    assert batch.values[0] == 1.0 and batch.values[3] == 2.0 and np.isnan(batch.values[1:3]).all()
    assert batch.weight_array[1:3].sum() == 0 and batch[1].reason.startswith("the query is blank")
    with pytest.raises(KeyError, match=r"\(query 3 of 4\): the query is blank"):
        d.lookup_many(["apple", "pear", "", None])


def test_blank_queries_miss_in_a_dict_of_vectors_and_of_categories():
    vectors = SoftDict.from_embeddings(["x", "y"], np.eye(2), [1.0, 2.0])
    assert vectors.get(None, "default") == "default"
    assert np.isnan(vectors.lookup_many([None, np.array([1.0, 0.0])], on_miss="mask").values[0])
    kinds = SoftDict({"apple": "fruit", "chair": "furniture"}, encoder=LexicalEncoder(n_features=64))
    assert kinds.lookup_many(["apple", "  "], on_miss="mask").values.tolist() == ["fruit", None]


def test_pandas_missing_values_are_blank(d):
    pd = pytest.importorskip("pandas")
    assert d.get(pd.NA, "default") == "default"
    queries = pd.Series(["apple", None, float("nan")])
    assert d.lookup_many(list(queries), on_miss="mask").missed.tolist() == [False, True, True]
