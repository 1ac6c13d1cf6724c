"""A SoftDict whose keys live in Milvus against the raw pymilvus calls it wraps, measured in the same run.

The keys: --keys unit vectors in 384 dimensions, in clusters (a dict without an encoder, read with vector
queries, so that no model time is in any figure). The backend reads with --candidates candidates. Each figure
is a median over --repeats runs (20 times as many for ``d[key]``, a call of a few milliseconds), softkv's and
the raw call's in turn (on a server, once it has indexed every row), and each ratio divides two medians of
this run:

- one soft read, ``d.lookup(vector)`` of a vector near a key (and of one near no key, "far read", whose
  weight may spread beyond the candidates, so that the read widens), against the ``MilvusClient.search`` (top
  candidates, with their rows) and a ``get`` of one row (a text query's exact name) that a read is made of;
  the collection's statistics and its key sample are read again only after a write (softkv.backends._stats);
- a batch of 32 reads near keys, ``d.lookup_many``, against one batched ``search`` and the same ``get``;
- ``d[key]`` against ``MilvusClient.get`` of that key's row without its embedding (what ``d[key]`` reads);
- ``d.update`` of --keys pairs into a collection against ``MilvusClient.insert`` of the same rows into
  another (throughput), and against an upsert of those rows a column at a time, the way softkv sends them
  (pymilvus's connection, which converts a column at a time where MilvusClient converts each field of each row);
- the same soft read in process (an in-process SoftDict of the same keys, exact over every key).

The store is Milvus Lite in a temporary folder unless --uri names a server (SOFTKV_MILVUS_TOKEN for its
token). Milvus Lite is a Python rewrite of Milvus: its figures measure softkv's overhead over the same calls,
not a server's speed.
Run: python benchmarks/backend.py [--keys 20000] [--candidates 200] [--repeats 9] [--writes 3]
     [--uri http://host:19530] [--consistency Bounded]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

from softkv import SoftDict
from softkv.backends import MilvusStore
from softkv.backends._rows import COLUMNS, FIELDS, KEY, NAME_FIELDS, create_collection, item, row_id


def clustered(n: int, dim: int = 384, clusters: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    vectors = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def median_time(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired(ours, theirs, repeats: int) -> tuple[float, float]:
    """The median times of two calls run in turn, so that a server busy in the background (building an
    index after a write) slows both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for call, kept in ((ours, times[0]), (theirs, times[1])):
            start = time.perf_counter()
            call()
            kept.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def wait_for_index(client, collection: str, limit: float = 900.0) -> float:
    """Seconds until the server has indexed every row of ``collection`` (searches of rows not yet indexed scan
    them, and an index being built takes the server's cores): at most ``limit``."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        found = client.describe_index(collection, "embedding")
        if found.get("pending_index_rows", 0) == 0 and found.get("indexed_rows", 0) >= found.get("total_rows", 0):
            break
        time.sleep(2)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=20_000)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--uri", default=None)
    parser.add_argument("--consistency", default="Strong", help="Strong, Session, Bounded or Eventually")
    parser.add_argument("--index", default="FLAT", help="the engine's index: FLAT (exact) or IVF_FLAT")
    parser.add_argument("--nlist", type=int, default=1024, help="IVF_FLAT's clusters")
    parser.add_argument("--nprobe", type=int, default=16, help="IVF_FLAT's clusters searched per query")
    parser.add_argument("--sample", type=int, default=None, help="keys sampled for the spread (default: the store's)")
    parser.add_argument("--no-insert", action="store_true", help="skip the raw inserts (two thirds of the write time)")
    parser.add_argument("--writes", type=int, default=3, help="writes of every key timed, each way (medians)")
    args = parser.parse_args()
    uri = args.uri or str(Path(tempfile.mkdtemp()) / "bench.db")
    vectors = clustered(args.keys)
    names = [f"key {i}" for i in range(args.keys)]
    local = SoftDict.from_embeddings(names, vectors, list(range(args.keys)))
    ivf = args.index != "FLAT"
    store = MilvusStore(uri, "softkv_bench", candidates=args.candidates, consistency=args.consistency,
                        index={"index_type": args.index, **({"params": {"nlist": args.nlist}} if ivf else {})},
                        search={"nprobe": args.nprobe} if ivf else None,
                        **({} if args.sample is None else {"sample": args.sample}))
    store.clear()
    remote = SoftDict(encoder=False, backend=store)
    client, collection = store._client, store.collection

    raw = f"{collection}_raw"

    def update() -> float:
        store.clear()
        remote.update(SoftDict.from_embeddings(names[:1], vectors[:1], [0]))  # the collections made, as for raw
        started = time.perf_counter()
        remote.update(local)  # lends its embeddings: one checked write, new rows upserted a part at a time
        return time.perf_counter() - started

    def insert(columns: bool) -> float:
        create_collection(client, raw, vectors.shape[1], COLUMNS, "Strong")
        schema = client.describe_collection(raw)
        types = {field["name"]: field["type"] for field in schema["fields"]}
        started = time.perf_counter()
        for first in range(0, args.keys, 16_384):  # a server takes at most 64 MB in one message
            rows = [item(names[i], vectors[i], KEY, "", [], i)  # the rows softkv writes
                    for i in range(first, min(first + 16_384, args.keys))]
            if columns:  # the same rows, a column at a time (pymilvus's connection)
                client._get_connection().upsert(raw, [{"name": name, "type": types[name], "values": [
                    row[name] for row in rows]} for name in rows[0]], schema=schema)
            else:
                client.insert(raw, rows)
        seconds = time.perf_counter() - started
        client.drop_collection(raw)
        return seconds

    writes: dict[str, list[float]] = {"update": [], "insert": [], "columns": []}
    for _ in range(args.writes):  # in turn, softkv's last: its collection holds the keys the reads read
        if not args.no_insert:
            writes["insert"].append(insert(columns=False))
            writes["columns"].append(insert(columns=True))
        writes["update"].append(update())
    update_rate, insert_rate, column_rate = (args.keys / statistics.median(times) if times else float("nan")
                                             for times in writes.values())

    rng = np.random.default_rng(1)
    far = clustered(32, seed=2)[0]  # near no key: its weight spreads out, and the read widens
    queries = vectors[rng.choice(args.keys, 32, replace=False)] + 0.3 * clustered(32, seed=3)  # near some keys
    query = queries[0]

    def raw_read(batch):  # the candidates with their rows, and the row of a name (what a text query adds)
        found = client.search(collection, data=batch.tolist(), limit=args.candidates, anns_field="embedding",
                              output_fields=FIELDS)
        [hit["entity"] for hits in found for hit in hits]  # pymilvus decodes the rows when they are read
        client.get(collection, ids=[row_id(names[0])], output_fields=FIELDS)

    indexing = wait_for_index(client, collection) if args.uri else 0.0
    remote.lookup(query, on_miss="ignore")  # warm
    figures = {
        "soft read": paired(lambda: remote.lookup(query, on_miss="ignore"), lambda: raw_read(query[None, :]),
                            args.repeats),
        "far read": paired(lambda: remote.lookup(far, on_miss="ignore"), lambda: raw_read(far[None, :]), args.repeats),
        "batch of 32": paired(lambda: remote.lookup_many(queries, on_miss="ignore"), lambda: raw_read(queries),
                              args.repeats),
        "d[key]": paired(lambda: remote[names[int(rng.integers(args.keys))]],
                         lambda: client.get(collection, ids=[row_id(names[int(rng.integers(args.keys))])],
                                            output_fields=NAME_FIELDS), 20 * args.repeats),
    }
    ids_only = median_time(lambda: client.search(collection, data=[query.tolist()], limit=args.candidates,
                                                 anns_field="embedding", output_fields=[]), args.repeats)
    in_process = median_time(lambda: local.lookup(query, on_miss="ignore"), args.repeats)
    in_process_batch = median_time(lambda: local.lookup_many(queries, on_miss="ignore"), args.repeats)
    a, b = local.lookup_many(queries, on_miss="ignore"), remote.lookup_many(queries, on_miss="ignore")
    agree = np.mean([x == y for x, y in zip(a.nearest, b.nearest)])
    columns = {key: j for j, key in enumerate(a.keys)}
    spread = np.zeros_like(a.weight_array)
    spread[:, [columns[key] for key in b.keys]] = b.weight_array
    variation = 0.5 * np.abs(a.weight_array - spread).sum(axis=1)
    relative = np.abs(a.temperatures - b.temperatures) / a.temperatures
    threads = sorted({info["num_threads"] for info in threadpool_info()})
    print(f"{args.keys} keys, 384 dimensions, candidates {args.candidates}, sample {store.sample_size}, "
          f"{args.repeats} repeats, BLAS threads {threads}, store {'a server' if args.uri else 'Milvus Lite'}, "
          f"{args.consistency}, "
          f"index {args.index}" + (f" (nlist {args.nlist}, nprobe {args.nprobe})" if ivf else "")
          + (f", index built {indexing:.0f} s after the write" if args.uri else "")
          + "; softkv and raw calls timed in turn")
    print(f"{'':14}{'softkv':>12}{'raw pymilvus':>14}{'ratio':>8}")
    for name, (ours, theirs) in figures.items():
        print(f"{name:14}{ours * 1e3:10.1f} ms{theirs * 1e3:11.1f} ms{ours / theirs:8.2f}")
    print(f"{'update':14}{update_rate:8.0f} keys/s{insert_rate:8.0f} keys/s{update_rate / insert_rate:8.2f}"
          f"   (medians of {args.writes} writes of every key)")
    print(f"the same rows upserted a column at a time, as softkv sends them: {column_rate:.0f} keys/s "
          f"(update {update_rate / column_rate:.2f}x that)")
    print(f"the engine's search of one query for {args.candidates} ids, without their rows: {ids_only * 1e3:.1f} ms")
    print(f"in process: one exact soft read over all {args.keys} keys {in_process * 1e3:.1f} ms; through the "
          f"backend {figures['soft read'][0] / in_process:.2f}x that; a batch of 32 {in_process_batch * 1e3:.1f} ms, "
          f"through the backend {figures['batch of 32'][0] / in_process_batch:.2f}x")
    print(f"32 queries near keys, against the exact read of every key in process: nearest key agrees "
          f"{agree:.3f}, total variation of the weights median {np.median(variation):.2e} (largest "
          f"{variation.max():.2e}), temperature relative error median {np.median(relative):.1e}; "
          f"tail mass median {np.median(b.tail_mass if b.tail_mass is not None else [0.0]):.1e}; read again with more "
          f"candidates: {int(np.sum(np.asarray(b.candidates if b.candidates is not None else []) > args.candidates))}"
          " of the 32")
    store.clear()
    store.close()


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
