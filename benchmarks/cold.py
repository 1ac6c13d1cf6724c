"""A query from a saved store in a fresh process, against starting Python and importing numpy.

Builds a store from vega-datasets' cars (392 complete rows, duplicates
averaged: 300 keys, four value columns), then times fresh processes, each
repeated (median of --runs): `python -c "import numpy"` (the baseline),
`softkv query STORE <exact key>`, `softkv query STORE <typo>` and
`softkv query STORE <description>`. Every process starts with bytecode
already compiled (one run each first, untimed), as after an installation.
Run: python benchmarks/cold.py [--runs 7]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from softkv.datasets import cars_records

QUERIES = {"exact key": "toyota corona", "typo": "toyta corola", "description": "a small japanese car"}


def timed(command: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    catalog = folder / "cars.csv"
    rows = cars_records()
    with catalog.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    softkv = [sys.executable, "-m", "softkv"]
    store = folder / "cars.softkv"
    subprocess.run([*softkv, "build", str(catalog), "-o", str(store), "--on-duplicate", "mean"], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # bytecode cached, as installed
    commands = {"python -c 'import numpy'": [sys.executable, "-c", "import numpy"]}
    for kind, query in QUERIES.items():
        commands[f"softkv query ({kind})"] = [*softkv, "query", str(store), query]
    for command in commands.values():
        timed(command, env)  # compiles bytecode, warms the page cache
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):  # interleaved, so that a busy moment hits every command alike
        for name, command in commands.items():
            times[name].append(timed(command, env))
    baseline = statistics.median(times["python -c 'import numpy'"])
    print(f"fresh processes, median of {args.runs} (cars store: 300 keys x 4 values)")
    print(f"  {'command':<34} {'median':>8} {'ratio':>6}")
    for name, found in times.items():
        median = statistics.median(found)
        print(f"  {name:<34} {median:>6.2f} s {median / baseline:>6.2f}")


if __name__ == "__main__":
    main()
