"""softkv serve on loopback: latency and throughput against the same framework serving a constant and against
an in-process ``d.lookup``, then a mixed run of good and bad requests, then a restart.

The store: GeoNames cities of at least 100,000 people (name -> population, the first --keys of them). The
queries: "repeated" is one query asked again and again (its embedding is cached); "new" are typos of city
names, each asked once (each one encoded). Measured in the same run, each with 1 and 8 concurrent clients
(threads of this process, one keep-alive connection each, on loopback):

- ``softkv serve STORE`` answering ``GET /lookup?q=``;
- a constant: the same framework (FastAPI on uvicorn, the same options) answering a fixed JSON object;
- in process: ``d.lookup(q)`` on the same store, loaded here (repeated, and new queries of the same kind).

Then --mix requests from 8 clients: reads (repeated and new, single and batched), writes with the token (PUT
then DELETE of keys of their own), writes without it, malformed JSON, unknown parameters, bad temperatures and
over-long queries; each must get the status it is owed (an "error" is any other status, or no answer). Last,
the service saves, stops, starts again from its store and must answer a set of queries exactly as before.
Run: python benchmarks/serve.py [--keys 2000] [--requests 400] [--mix 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from softkv import SoftDict
from softkv.datasets import cities, typo

TOKEN = "bench-token"
CONSTANT_APP = """
from fastapi import FastAPI
app = FastAPI()
ANSWER = {"query": "x", "answer": 1.0, "miss": False, "nearest": "x"}
@app.get("/lookup")
def lookup(q: str) -> dict:
    return ANSWER
@app.get("/health")
def health() -> dict:
    return {"status": "ok"}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running(command: list[str], port: int) -> Iterator[str]:
    """A server process on ``port``, waited for, then stopped by its process id."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{command[:4]} exited: {process.stderr.read()[-2000:] if process.stderr else ''}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"{command[:4]} did not start within 180 s")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(store: Path) -> tuple[list[str], int]:
    port = free_port()
    return [sys.executable, "-m", "softkv", "serve", str(store), "--port", str(port), "--writable", "--token",
            TOKEN], port


def constant() -> tuple[list[str], int]:
    port = free_port()
    return [sys.executable, "-c", CONSTANT_APP + f"\nimport uvicorn\nuvicorn.run(app, host='127.0.0.1', port={port},"
            " log_level='warning', access_log=False)"], port


def clients(url: str, queries: list[str], n_clients: int) -> tuple[list[float], float, int]:
    """Latencies (s) of GET /lookup for each query, split among ``n_clients`` threads; wall time; errors.

    Timed clients use http.client, not httpx: its per-request cost in this process is a few times smaller, and
    the clients share the machine's two cores with the server."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    shares = [queries[i::n_clients] for i in range(n_clients)]

    host, port = url.removeprefix("http://").split(":")

    def work(share: list[str]) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        for query in share:
            began = time.perf_counter()
            connection.request("GET", "/lookup?" + urllib.parse.urlencode({"q": query}))
            response = connection.getresponse()
            response.read()
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                errors[0] += response.status != 200
        connection.close()

    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - began, errors[0]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def in_process(d: SoftDict, queries: list[str]) -> list[float]:
    times = []
    for query in queries:
        began = time.perf_counter()
        d.lookup(query, on_miss="ignore")
        times.append(time.perf_counter() - began)
    return times


def mixed(url: str, n: int, names: list[str], rng: random.Random) -> tuple[int, dict[str, int]]:
    """``n`` requests of every kind from 8 clients: (requests that did not get their status, count per kind)."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    kinds: list[tuple[str, Callable[[httpx.Client, int], tuple[httpx.Response, int]]]] = [
        ("read, repeated", lambda c, i: (c.get("/lookup", params={"q": names[i % 50]}), 200)),
        ("read, new", lambda c, i: (c.get("/lookup", params={"q": typo(names[i % len(names)], rng, 2)}), 200)),
        ("batch of 8", lambda c, i: (c.post("/lookup", json={"queries": names[i % 40:i % 40 + 8]}), 200)),
        ("write with token", lambda c, i: (c.put(f"/keys/written {i}", json={"value": i}, headers=auth), 200)),
        ("write without token", lambda c, i: (c.put(f"/keys/written {i}", json={"value": i}), 401)),
        ("malformed JSON", lambda c, i: (c.post("/lookup", content=b'{"queries": [',
                                                headers={"content-type": "application/json"}), 400)),
        ("unknown parameter", lambda c, i: (c.get("/lookup", params={"q": "x", "colour": "red"}), 400)),
        ("bad temperature", lambda c, i: (c.get("/lookup", params={"q": "x", "temperature": "-1"}), 400)),
        ("over-long query", lambda c, i: (c.get("/lookup", params={"q": "x" * 5000}), 413)),
    ]
    counts = {name: 0 for name, _ in kinds}
    wrong: list[str] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            for i in range(worker, n, 8):
                name, request = kinds[i % len(kinds)]
                try:
                    response, status = request(client, i)
                    ok = response.status_code == status and (status == 200 or "error" in response.json())
                    if ok and name == "write with token":  # each written key is deleted again: the store stays bounded
                        deleted = client.delete(f"/keys/written {i}", headers=auth)
                        ok = deleted.status_code == 200
                except httpx.HTTPError as error:
                    ok, response = False, None
                    with lock:
                        wrong.append(f"{name}: {error}")
                with lock:
                    counts[name] += 1
                    if not ok and response is not None:
                        wrong.append(f"{name}: {response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for line in wrong[:5]:
        print("   ", line)
    return len(wrong), counts


def answers(url: str, queries: list[str]) -> list[Any]:
    with httpx.Client(base_url=url, timeout=60) as client:
        return [client.get("/lookup", params={"q": query}).json() for query in queries]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=400, help="requests per latency and throughput cell")
    parser.add_argument("--mix", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(0)
    rows = cities(100_000)[: args.keys]
    names = [str(row["name"]) for row in rows]
    n = args.requests
    fresh = [typo(rng.choice(names), rng, 2) + f" {i}" for i in range(5 * n)]  # distinct: each encoded once
    with tempfile.TemporaryDirectory() as folder:
        store = SoftDict({str(row["name"]): int(row["population"]) for row in rows}).save(Path(folder) / "c.softkv")
        d = SoftDict.load(store)
        d.lookup("warm up", on_miss="ignore")
        local = {"repeated": in_process(d, [names[7]] * n), "new": in_process(d, fresh[:n])}
        table: dict[tuple[str, str, int], tuple[list[float], float, int]] = {}
        with running(*constant()) as url:
            for clients_n in (1, 8):
                clients(url, ["warm"] * 20, clients_n)
                table[("constant", "-", clients_n)] = clients(url, [names[7]] * n, clients_n)
        with running(*serve(store)) as url:
            clients(url, ["warm up"] * 20, 1)
            for clients_n, offset in ((1, 1), (8, 3)):
                table[("served", "repeated", clients_n)] = clients(url, [names[7]] * n, clients_n)
                table[("served", "new", clients_n)] = clients(url, fresh[offset * n:(offset + 1) * n], clients_n)
            began = time.perf_counter()
            errors, counts = mixed(url, args.mix, names, rng)
            mix_seconds = time.perf_counter() - began
            httpx.post(url + "/save", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
            probe = [*names[:20], *fresh[:20], "quantum chromodynamics"]
            before = answers(url, probe)
        with running(*serve(store)) as url:
            after = answers(url, probe)
    report(table, local, n, args, errors, counts, mix_seconds, before == after, len(probe))


def report(table: dict[tuple[str, str, int], tuple[list[float], float, int]], local: dict[str, list[float]],
           n: int, args: argparse.Namespace, errors: int, counts: dict[str, int], mix_seconds: float,
           same: bool, probed: int) -> None:
    print(f"softkv serve, {args.keys:,} city keys, {n} requests per cell, loopback, {os.cpu_count()} cores; the "
          f"service reads with 1 BLAS thread (its default), in process with OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print(f"  {'':<22}{'clients':>8}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'errors':>8}")
    for (what, queries, clients_n), (latencies, wall, errs) in table.items():
        label = what if queries == "-" else f"{what}, {queries}"
        p50, p99 = percentile(latencies, 50) * 1e3, percentile(latencies, 99) * 1e3
        print(f"  {label:<22}{clients_n:>8}{p50:>9.2f}{p99:>9.2f}{len(latencies) / wall:>9.0f}{errs:>8}")
    for queries, times in local.items():
        print(f"  {'in process, ' + queries:<22}{'':>8}{statistics.median(times) * 1e3:>9.2f}"
              f"{percentile(times, 99) * 1e3:>9.2f}{1 / statistics.median(times):>9.0f}")
    print("  goals (same run):")
    for queries in ("repeated", "new"):
        served = percentile(table[("served", queries, 1)][0], 50)
        base = percentile(table[("constant", "-", 1)][0], 50)
        lookup = statistics.median(local[queries])
        bound = base + 1.5 * lookup
        print(f"    {queries:<9} p50 {served * 1e3:.2f} ms <= constant {base * 1e3:.2f} + 1.5 x in-process "
              f"{lookup * 1e3:.2f} = {bound * 1e3:.2f} ms: {'yes' if served <= bound else 'NO'}")
        latencies, wall, _ = table[("served", queries, 8)]
        rate, floor = len(latencies) / wall, 0.6 / lookup
        print(f"    {queries:<9} 8 clients {rate:.0f} req/s >= 0.6 / in-process = {floor:.0f} req/s: "
              f"{'yes' if rate >= floor else 'NO'}")
    kinds = ", ".join(f"{name} {count:,}" for name, count in counts.items())
    print(f"  mix of {sum(counts.values()):,} requests in {mix_seconds:.1f} s from 8 clients ({kinds}): "
          f"{errors} errors")
    print(f"  restarted from its store: {probed} answers {'the same' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
