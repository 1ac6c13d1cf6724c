"""Untrusted stores and concurrent writers, at length: crafted classes, a crafted-store fuzz run, stress runs.

classes: every crafted class of tests/io/crafted.py, loaded once each: the
file's size, the peak memory the load added (the process's high-water mark,
reset before each load through /proc/self/clear_refs) against that size, the
time to refuse it, and whether it was refused.

fuzz: N crafted stores (tests/crafted.py: every case of the untrusted-store
classes, and random fields of the manifest and headers of the arrays set to
junk, checksums recomputed). Each is loaded; a store that loads is read with
three queries. Counted: refusals (FormatError, EncoderMismatchError), loads,
any other exception (a crash), reads that give NaN, the slowest load, and the
process's peak memory.

stress: for S seconds, 8 readers and 2 writers on one SoftDict. Writers add
keys with aliases and delete them; readers read soft and exact, check each
batch against a blend recomputed from its own weights and values, and check
snapshots for consistency (every alias resolves to a key, keys are unique).
mix: for M seconds, the threaded mix of tests/stress/mix.py (writers,
deletes, setdefault, set_params(max_keys=...), copies, pickles, saves and
loads, reads): states over max_keys, fabricated values, saves that fail to
load and undocumented exceptions, which must all be 0.
Run: python benchmarks/untrusted.py [--fuzz 2000] [--stress 60] [--mix 600]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from softkv import LexicalEncoder, SoftDict  # noqa: E402
from softkv.errors import EncoderMismatchError, FormatError  # noqa: E402
from tests.io.crafted import CASES, crafted, random_case  # noqa: E402
from tests.stress.mix import FAILURES, run_mix  # noqa: E402


def _memory_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field))


def classes() -> None:
    """One load of each crafted class: its size, the memory the load added, the time, refused or not."""
    folder = Path(tempfile.mkdtemp())
    kinds = {"an int array value holding 1.5": "categorical", "an int array value beyond int8": "categorical",
             "object-dtype values": "vector", "values claiming a huge shape": "vector"}
    print(f"{'crafted class':42} {'file KB':>8} {'added MB':>9} {'x size':>7} {'ms':>7}  outcome")
    worst_ratio, worst_ms = 0.0, 0.0
    for label in sorted(CASES):
        path = crafted(folder, label, kinds.get(label, "scalar"))
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # the high-water mark starts again from the current use
        before = _memory_kb("VmRSS:")
        start = time.perf_counter()
        try:
            SoftDict.load(path)
            outcome = "LOADED"
        except (FormatError, EncoderMismatchError) as error:
            outcome = f"refused: {str(error).split(': ', 1)[-1][:50]}"
        except Exception as error:  # noqa: BLE001 - a crash is what this looks for
            outcome = f"CRASH {type(error).__name__}"
        seconds = time.perf_counter() - start
        added = max(_memory_kb("VmHWM:") - before, 0) * 1024
        size = path.stat().st_size
        worst_ratio, worst_ms = max(worst_ratio, added / size), max(worst_ms, seconds * 1000)
        print(f"{label[:42]:42} {size / 1024:8.1f} {added / 2**20:9.1f} {added / size:7.1f} {seconds * 1000:7.1f}  "
              f"{outcome}")
    print(f"classes: {len(CASES)}; the most memory a load added: {worst_ratio:.1f}x its file's size; the slowest: "
          f"{worst_ms:.0f} ms")


def mix(seconds: float) -> None:
    result = run_mix(seconds, Path(tempfile.mkdtemp()))
    calls = ", ".join(f"{result.counts[f'{job} calls']} {job}" for job in ("write", "tune", "read", "duplicate",
                                                                          "save"))
    found = ", ".join(f"{result.counts[kind]} {kind}" for kind in FAILURES)
    print(f"mix: {seconds:.0f} s, 7 threads: {calls} calls ({result.counts['documented KeyErrors']} documented "
          f"KeyErrors); {found}")
    for problem in result.problems:
        print("  " + problem)


def fuzz(n_files: int) -> None:
    folder, rng = Path(tempfile.mkdtemp()), random.Random(0)
    outcomes: Counter[str] = Counter()
    slowest = 0.0
    for i in range(n_files):
        label, path = random_case(folder, rng, i)
        start = time.perf_counter()
        try:
            d = SoftDict.load(path)
            outcomes["loaded"] += 1
        except (FormatError, EncoderMismatchError):
            outcomes["refused"] += 1
            d = None
        except Exception as error:  # noqa: BLE001 - counted: a crash is what this run looks for
            outcomes["crashed"] += 1
            print(f"  crash on {label}: {type(error).__name__}: {error}")
            d = None
        slowest = max(slowest, time.perf_counter() - start)
        if d is not None:
            width = d.key_embeddings.shape[1]
            queries = ["fruit", "apple", "USA"] if d.encoder is not None else list(np.eye(3, width))
            try:
                values = d.lookup_many(queries, on_miss="ignore").values
                if values.dtype != object and not np.isfinite(values.astype(float)).all():
                    outcomes["read NaN"] += 1
            except Exception as error:  # noqa: BLE001
                outcomes["read failed"] += 1
                print(f"  a loaded store failed to read ({label}): {type(error).__name__}: {error}")
        path.unlink()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"fuzz: {n_files} crafted stores: {outcomes['refused']} refused, {outcomes['loaded']} loaded, "
          f"{outcomes['crashed']} crashed, {outcomes['read NaN']} loads read NaN, {outcomes['read failed']} loads "
          f"failed to read; slowest load {slowest * 1000:.0f} ms; peak memory of the process {peak:.0f} MB")


def stress(seconds: float, n_readers: int = 8, n_writers: int = 2) -> None:
    d = SoftDict({f"base {i}": float(i) for i in range(200)}, encoder=LexicalEncoder(), threshold=None)
    stop = threading.Event()
    counts: Counter[str] = Counter()
    problems: list[str] = []
    lock = threading.Lock()

    def note(kind: str, detail: str = "") -> None:
        with lock:
            counts[kind] += 1
            if detail and len(problems) < 20:
                problems.append(detail)

    def writer(w: int) -> None:
        rng, i = random.Random(w), 0
        while not stop.is_set():
            try:
                d.add(f"w{w} key {i}", float(i), aliases=[f"w{w} alias {i}", f"w{w} other {i}"])
                if i >= 10:
                    del d[f"w{w} key {rng.randrange(i - 10, i)}"]
                note("writes")
            except KeyError:
                note("writes")  # deleted already by this writer's earlier pick
            except Exception as error:  # noqa: BLE001
                note("writer exceptions", f"writer: {type(error).__name__}: {error}")
            i += 1

    def reader(r: int) -> None:
        rng = random.Random(100 + r)
        while not stop.is_set():
            try:
                queries = [f"base {rng.randrange(200)}", f"w{rng.randrange(2)} alias {rng.randrange(50)}",
                           "something else"]
                batch = d.lookup_many(queries, on_miss="ignore")
                stored = np.array([float(v) for v in batch.row_values])
                if not np.allclose(batch.weight_array @ stored, batch.values, atol=1e-4):
                    note("mismatched reads", f"blend differs from its weights for {queries}")
                if d[queries[0]] != float(queries[0].split()[1]):
                    note("mismatched reads", f"exact read of {queries[0]}")
                memory, _ = d.snapshot(spelling=False, measure=False)
                keys = set(memory.keys)
                if len(keys) != len(memory.keys) or len(memory.keys) != len(memory.stored) or not all(
                        key in keys for key in memory.aliases_of) or len(memory.alias_names) != sum(
                        len(names) for names in memory.aliases_of.values()):
                    note("inconsistent states", "a snapshot whose aliases or keys disagree")
                note("reads")
            except Exception as error:  # noqa: BLE001
                note("reader exceptions", f"reader: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(n_writers)]
    threads += [threading.Thread(target=reader, args=(r,)) for r in range(n_readers)]
    [t.start() for t in threads]
    time.sleep(seconds)
    stop.set()
    [t.join() for t in threads]
    consistent = len(d) == len(list(d)) and all(d.aliases_of(k) is not None for k in d)
    print(f"stress: {seconds:.0f} s, {n_readers} readers, {n_writers} writers: {counts['reads']} reads, "
          f"{counts['writes']} writes; {counts['reader exceptions']} reader exceptions, {counts['writer exceptions']} "
          f"writer exceptions, {counts['inconsistent states']} inconsistent snapshots, {counts['mismatched reads']} "
          f"reads that differ from their reference; final state consistent: {consistent}")
    for problem in problems:
        print("  " + problem)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz", type=int, default=2000, help="crafted stores to load")
    parser.add_argument("--stress", type=float, default=60.0, help="seconds of the stress run")
    parser.add_argument("--mix", type=float, default=600.0, help="seconds of the threaded mix")
    args = parser.parse_args()
    classes()
    fuzz(args.fuzz)
    stress(args.stress)
    mix(args.mix)


if __name__ == "__main__":
    main()
