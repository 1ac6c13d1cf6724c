"""The approximate (faiss IVF) read path against the exact one."""

import numpy as np
import pytest

pytest.importorskip("faiss")

from softkv import SoftDict  # noqa: E402
from softkv.read import IVFIndex  # noqa: E402


def clustered(n_keys=4000, dim=32, n_clusters=40, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_clusters, dim))
    points = centers[rng.integers(n_clusters, size=n_keys)] + 0.5 * rng.standard_normal((n_keys, dim))
    queries = centers[rng.integers(n_clusters, size=20)] + 0.5 * rng.standard_normal((20, dim))
    return points.astype(np.float32), queries.astype(np.float32), rng.standard_normal(n_keys)


@pytest.mark.parametrize("scoring", ["cosine", "dot", "neg_l2"])
def test_an_ivf_read_that_probes_every_cluster_equals_the_exact_top_k_read(scoring):
    K, Q, V = clustered()
    keys = [f"k{i}" for i in range(len(K))]
    exact = SoftDict.from_embeddings(keys, K, list(V), top_k=10, temperature=0.1, scoring=scoring, index="exact")
    approximate = SoftDict.from_embeddings(keys, K, list(V), top_k=10, temperature=0.1, scoring=scoring,
                                           index=IVFIndex(nprobe=10_000))
    a, b = exact.lookup_many(Q), approximate.lookup_many(Q)
    np.testing.assert_allclose(b.values, a.values, rtol=1e-4, atol=1e-5)
    assert b.nearest == a.nearest
    np.testing.assert_allclose(b.weight_array, a.weight_array, atol=1e-4)  # faiss rounds distances its own way


@pytest.mark.parametrize("scoring, tolerance", [("cosine", 1e-5), ("dot", 0.1)])
def test_the_auto_temperature_comes_from_the_keys_moments_or_a_sample(scoring, tolerance):
    K, Q, V = clustered()
    keys = [f"k{i}" for i in range(len(K))]
    exact = SoftDict.from_embeddings(keys, K, list(V), top_k=10, index="exact", scoring=scoring)
    approximate = SoftDict.from_embeddings(keys, K, list(V), top_k=10, index=IVFIndex(nprobe=4), scoring=scoring)
    a, b = exact.lookup_many(Q, weights=False), approximate.lookup_many(Q, weights=False)
    # cosine: exact from n, Σk and Σkkᵀ even when the probed clusters miss keys; dot: a sample of 1,024 keys
    np.testing.assert_allclose(b.temperatures, a.temperatures, rtol=tolerance)
    assert b.weight_array is None and np.mean([x == y for x, y in zip(a.nearest, b.nearest)]) >= 0.9


def test_the_index_follows_writes_and_needs_top_k():
    K, Q, V = clustered()
    d = SoftDict.from_embeddings([f"k{i}" for i in range(len(K))], K, list(V), top_k=5, index="ivf")
    d.lookup_many(Q)
    d.add("new", 123.0, embedding=Q[0] * 10)
    assert d.lookup(Q[0]).nearest == "new"  # rebuilt after the write
    del d["new"]
    assert d.lookup(Q[0]).nearest != "new"
    assert d.spelling_weight == "auto"  # "auto" reads by meaning alone through the index; a set weight cannot
    with pytest.raises(ValueError, match="reads every key"):
        d.spelling_weight = 0.5  # refused when set, not at the next read
    with pytest.raises(ValueError, match="set top_k"):
        d.top_k = None
    assert (d.spelling_weight, d.top_k) == ("auto", 5)  # nothing changed
    with pytest.raises(ValueError, match="index must be"):
        d.index = "hnsw"
