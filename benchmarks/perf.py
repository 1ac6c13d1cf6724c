"""Performance of softkv against a baseline measured in the same run, as ratios of medians.

Run: make bench (or: python benchmarks/perf.py [--quick]). Prints one line per
item and a markdown table for the README. --quick runs tiny sizes (a smoke
test of this script, used by the test suite).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from softkv import SoftDict

ROWS: list[tuple[str, str, str, str]] = []


def median_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_bytes(function) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def report(item: str, ours: str, baseline: str, ratio: str) -> None:
    ROWS.append((item, ours, baseline, ratio))
    print(f"{item}: {ours} vs {baseline} -> {ratio}", flush=True)


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clustered(rng: np.random.Generator, n: int, dim: int, n_clusters: int, noise: float) -> np.ndarray:
    """Unit vectors around cluster centres, built in blocks: a stand-in for sentence embeddings."""
    centres = unit_rows(rng, n_clusters, dim)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        x = centres[rng.integers(n_clusters, size=size)] + noise * rng.standard_normal((size, dim)).astype(
            np.float32) / np.sqrt(dim)
        out[start : start + size] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def bench_build(n_texts: int, repeats: int) -> None:
    from softkv.encoders import SentenceTransformerEncoder

    words = ["red", "small", "wooden", "electric", "vintage", "organic", "folding", "heavy", "soft", "smart",
             "blue", "large"]
    nouns = ["chair", "lamp", "kettle", "jacket", "guitar", "tent", "knife", "sofa", "bicycle", "camera",
             "table", "clock", "drum", "scarf"]
    uses = ["for the kitchen", "for kids", "for travel", "for the office", "for the garden", "for winter",
            "for camping", "for cooking", "for reading", "for parties", "for runners", "for students"]
    texts = [f"{a} {b} {c}" for a in words for b in nouns for c in uses][:n_texts]
    encoder = SentenceTransformerEncoder()
    model = encoder.model
    model.encode(texts[:64])
    raw = median_time(lambda: model.encode(texts, batch_size=32, normalize_embeddings=True,
                                           show_progress_bar=False), repeats)
    built = median_time(lambda: SoftDict(dict.fromkeys(texts, 1.0), encoder=encoder, query_cache_size=0), repeats)
    report(f"build from {n_texts} texts (torch MiniLM)", f"{built:.2f} s", f"SentenceTransformer.encode {raw:.2f} s",
           f"{built / raw:.2f}x (goal <= 1.1x)")


def bench_batch_read(n_queries: int, n_keys: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    K, Q, V = unit_rows(rng, n_keys, 384), unit_rows(rng, n_queries, 384), rng.standard_normal(n_keys)
    tau = 0.05

    def bare() -> tuple[np.ndarray, np.ndarray]:
        """softmax(QK^T / t) V in plain numpy: S becomes W in place, so W is there to return."""
        S = Q @ K.T
        S /= tau
        S -= S.max(axis=1, keepdims=True)
        np.exp(S, out=S)
        S /= S.sum(axis=1, keepdims=True)
        return S @ V, S

    d = SoftDict.from_embeddings([f"k{i}" for i in range(n_keys)], K, list(V), temperature=tau)
    with_weights = lambda: d.lookup_many(Q)  # noqa: E731  (the default: weights and scores returned)
    values_only = lambda: d.lookup_many(Q, weights=False).values  # noqa: E731
    batch, (values, W) = with_weights(), bare()
    np.testing.assert_allclose(batch.values, values, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(batch.weight_array, W, rtol=1e-3, atol=1e-6)
    del batch, values, W
    timings: dict[str, list[float]] = {"bare": [], "weights": [], "values": []}
    for _ in range(repeats):  # alternated, so that both see the same machine
        for name, function in (("bare", bare), ("weights", with_weights), ("values", values_only)):
            start = time.perf_counter()
            function()
            timings[name].append(time.perf_counter() - start)
    t_bare, t_weights, t_values = (statistics.median(timings[n]) for n in ("bare", "weights", "values"))
    m_bare, m_values = peak_bytes(bare), peak_bytes(values_only)
    report(f"batch soft read {n_queries} x {n_keys:,} keys, weights returned (the default)", f"{t_weights:.2f} s",
           f"numpy softmax(QK^T/t)V with W {t_bare:.2f} s", f"{t_weights / t_bare:.2f}x (goal <= 1.3x)")
    report(f"batch soft read {n_queries} x {n_keys:,} keys, values only", f"{t_values:.2f} s, peak "
           f"{m_values / 2**20:.0f} MiB", f"numpy {t_bare:.2f} s, peak {m_bare / 2**20:.0f} MiB",
           f"{t_values / t_bare:.2f}x")
    d.temperature = "auto"
    t_auto = median_time(with_weights, repeats)
    report(f"batch soft read {n_queries} x {n_keys:,} keys, temperature auto", f"{t_auto:.2f} s",
           f"numpy, fixed temperature {t_bare:.2f} s", f"{t_auto / t_bare:.2f}x")


def bench_single_query(n_keys: int) -> None:
    from softkv.encoders import default_encoder

    rng = np.random.default_rng(1)
    K = unit_rows(rng, n_keys, 384)
    d = SoftDict.from_embeddings([f"k{i}" for i in range(n_keys)], K, list(rng.standard_normal(n_keys)),
                                 encoder=default_encoder(), threshold=None)  # random keys: nothing matches
    d.lookup("a repeated query")  # encoded once; later calls hit the query cache
    q = default_encoder().encode(["a repeated query"])[0]
    ours = median_time(lambda: d["a repeated query"], 201)

    values = np.array(list(d.values()))

    def bare() -> float:
        s = K @ q
        w = np.exp((s - s.max()) / s.std() * np.log(n_keys + 1))
        return float(w @ values / w.sum())

    base = median_time(bare, 201)
    report(f"single cached query, {n_keys:,} keys", f"{ours * 1000:.2f} ms", f"numpy read {base * 1000:.2f} ms",
           f"{ours / base:.2f}x (goal <= 1 ms)")


def fresh_process(code: str, env: dict[str, str] | None = None, repeats: int = 3) -> float:
    import os

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                       env={**os.environ, **(env or {})})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_start() -> None:
    imports = fresh_process("import softkv", repeats=5)
    nothing = fresh_process("pass", repeats=5)
    report("import softkv (fresh process, minus bare python)", f"{imports - nothing:.2f} s", "goal 0.3 s", "")
    folder = Path(tempfile.mkdtemp())
    path = SoftDict({"apple": 10, "banana": 5, "chair": 2}).save(folder / "fruit.softkv")
    code = f"from softkv import SoftDict; print(SoftDict.load({str(path)!r})['fruit'])"
    fresh_process(code)  # the first ONNX use exports the model once
    onnx = fresh_process(code)
    torch_backend = fresh_process(code, {"SOFTKV_BACKEND": "torch"})
    report("cold start: load a saved store, answer one query", f"ONNX {onnx:.2f} s",
           f"torch backend {torch_backend:.2f} s", f"{onnx / torch_backend:.2f}x (goal <= 2 s)")


def bench_insert_delete(large: int, small: int = 1000, operations: int = 2000) -> None:
    rng = np.random.default_rng(2)

    def per_operation(n_keys: int) -> tuple[float, float]:
        """Mean seconds per insert and per delete over ``operations`` of each (doublings included)."""
        d = SoftDict.from_embeddings([f"k{i}" for i in range(n_keys)], unit_rows(rng, n_keys, 384),
                                     [0.0] * n_keys)
        new = unit_rows(rng, operations, 384)
        start = time.perf_counter()
        for i in range(operations):
            d.add(f"new{i}", 1.0, embedding=new[i])
        insert = (time.perf_counter() - start) / operations
        start = time.perf_counter()
        for i in range(operations):
            del d[f"new{i}"]
        return insert, (time.perf_counter() - start) / operations

    small_insert, small_delete = per_operation(small)
    large_insert, large_delete = per_operation(large)
    report(f"insert one key at {large:,} keys", f"{large_insert * 1e6:.0f} us", f"at {small:,} keys "
           f"{small_insert * 1e6:.0f} us", f"{large_insert / small_insert:.2f}x (O(1): about 1x)")
    report(f"delete one key at {large:,} keys", f"{large_delete * 1e6:.0f} us", f"at {small:,} keys "
           f"{small_delete * 1e6:.0f} us", f"{large_delete / small_delete:.2f}x (O(1): about 1x)")


def bench_top_k(n_keys: int, n_queries: int, repeats: int, noise: float) -> None:
    """Exact and IVF top-10 reads on a clustered mixture; larger noise blurs the clusters (harder for IVF)."""
    import faiss

    from softkv.read import IVFIndex

    rng = np.random.default_rng(3)
    data = clustered(rng, n_keys + n_queries, 384, n_clusters=max(10, n_keys // 500), noise=noise)
    K, Q = data[:n_keys], data[n_keys:]
    V = list(rng.standard_normal(n_keys))
    keys = [f"k{i}" for i in range(n_keys)]
    flat = faiss.IndexFlatIP(384)
    flat.add(K)
    exact = SoftDict.from_embeddings(keys, K, V, top_k=10, temperature=0.05, index="exact")
    t_faiss = median_time(lambda: flat.search(Q, 10), repeats)
    t_exact = median_time(lambda: exact.lookup_many(Q, weights=False), repeats)
    report(f"top-10 read, {n_keys:,} keys (noise {noise}), {n_queries} queries: exact", f"{t_exact:.2f} s",
           f"faiss IndexFlatIP.search {t_faiss:.2f} s", f"{t_exact / t_faiss:.2f}x (goal <= 1.2x)")
    truth = [set(row) for row in flat.search(Q, 10)[1]]
    index = IVFIndex(nprobe=16)
    approximate = SoftDict.from_embeddings(keys, K, V, top_k=10, temperature=0.05, index=index)
    start = time.perf_counter()
    approximate.lookup_many(Q[:1], weights=False)
    build = time.perf_counter() - start
    for nprobe in (8, 16, 32, 64):
        index.nprobe = nprobe
        t_ivf = median_time(lambda: approximate.lookup_many(Q, weights=False), repeats)
        batch = approximate.lookup_many(Q, weights=False)
        found = [{int(batch.keys[r][1:]) for r in row} for row in batch.top_rows]
        recall = np.mean([len(f & t) / 10 for f, t in zip(found, truth)])
        report(f"top-10 read, {n_keys:,} keys (noise {noise}): IVF nprobe {nprobe} (built once in {build:.0f} s)",
               f"{t_ivf:.3f} s, recall@10 {recall:.3f}", f"exact {t_exact:.2f} s",
               f"{t_exact / t_ivf:.1f}x faster (goal >= 10x at recall >= 0.95)")


def bench_spelling(n_keys: int) -> None:
    """What the default spelling side adds: a repeated text query, and the first read after a write."""
    from softkv.encoders import default_encoder

    rng = np.random.default_rng(2)
    syllables = ["ka", "lo", "mi", "ran", "te", "su", "vo", "per", "qui", "del", "an", "tor"]
    names = list(dict.fromkeys(" ".join("".join(rng.choice(syllables, size=rng.integers(2, 4)))
                                        for _ in range(2)) for _ in range(n_keys * 2)))[:n_keys]
    K = unit_rows(rng, len(names), 384)
    dicts = {weight: SoftDict.from_embeddings(names, K, list(rng.standard_normal(len(names))),
                                              encoder=default_encoder(), spelling_weight=weight, threshold=None)
             for weight in ("auto", 0.0)}
    query = "kalo miranx"  # no key: a real lookup
    start = time.perf_counter()
    dicts["auto"][query]  # builds the n-gram index
    first = time.perf_counter() - start
    cached = {hybrid: median_time(lambda d=d: d[query], 201) for hybrid, d in dicts.items()}
    report(f"repeated text query, {len(names):,} keys, spelling on (default)", f"{cached['auto'] * 1000:.2f} ms",
           f"meaning only {cached[0.0] * 1000:.2f} ms", f"{cached['auto'] / cached[0.0]:.2f}x")
    after_write = []
    for i in range(5):
        for d in dicts.values():
            d.add(f"new key {i}", 0.0, embedding=K[i])
        start = time.perf_counter()
        dicts["auto"][query]
        after_write.append(time.perf_counter() - start)
    report(f"first text read after a write, {len(names):,} keys (n-gram weights rebuilt)",
           f"{np.median(after_write) * 1000:.0f} ms", f"first read ever {first * 1000:.0f} ms (index built)", "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of this script")
    quick = parser.parse_args().quick
    repeats = 1 if quick else 5
    bench_start() if not quick else None
    bench_build(50 if quick else 2000, repeats)
    bench_batch_read(20 if quick else 1000, 2_000 if quick else 100_000, repeats)
    bench_single_query(1_000 if quick else 10_000)
    for n_keys in ((1_000,) if quick else (10_000, 100_000)):
        bench_spelling(n_keys)
    bench_insert_delete(5_000 if quick else 100_000, operations=100 if quick else 20_000)
    for noise in (1.2, 2.5):
        bench_top_k(20_000 if quick else 1_000_000, 10 if quick else 100, repeats if quick else 3, noise)
    print("\n| item | softkv | baseline, same run | ratio |\n|---|---|---|---|")
    for row in ROWS:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
