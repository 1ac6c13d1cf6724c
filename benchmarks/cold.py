"""A query from a saved store in a fresh process, against starting Python and importing numpy.

Builds a store from vega-datasets' cars (392 complete rows, duplicates
averaged: 300 keys, four value columns), then times fresh processes, each
repeated (median of --runs): `python -c "import numpy"` (the baseline),
`softkv query STORE <exact key>`, `softkv query STORE <typo>` and
`softkv query STORE <description>`. Every process starts with bytecode
already compiled (one run each first, untimed), as after an installation.

Then a catalog of 10,000 rows (the largest GeoNames cities, name -> population):
`softkv query cities.csv <city>` a second time (the first built and kept its
store) against `softkv query cities.softkv <city>` from a store built by
`softkv build`, in the same run.
Run: python benchmarks/cold.py [--runs 7] [--catalog-rows 10000]
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

from softkv.datasets import cars_records, cities

QUERIES = {"exact key": "toyota corona", "typo": "toyta corola", "description": "a small japanese car"}


def timed(command: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--catalog-rows", type=int, default=10_000)
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
    kept_catalog(folder, softkv, env, args.runs, args.catalog_rows)


def kept_catalog(folder: Path, softkv: list[str], env: dict[str, str], runs: int, n_rows: int) -> None:
    """A catalog queried again (its kept store loaded) against a query of a store built from it."""
    chosen = sorted(cities(), key=lambda city: -int(city["population"]))[:n_rows]  # type: ignore[call-overload]
    catalog, store = folder / "cities.csv", folder / "cities.softkv"
    with catalog.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "population"])
        seen = set()
        for city in chosen:
            if city["name"] not in seen:
                seen.add(city["name"])
                writer.writerow([city["name"], city["population"]])
    env = {**env, "SOFTKV_CATALOG_CACHE": str(folder / "kept")}
    began = time.perf_counter()
    subprocess.run([*softkv, "build", str(catalog), "-o", str(store)], env=env, check=True, stdout=subprocess.DEVNULL)
    built = time.perf_counter() - began
    first = timed([*softkv, "query", str(catalog), "Heidelberg"], env)  # builds and keeps the catalog's store
    commands = {"softkv query cities.softkv": [*softkv, "query", str(store), "Heidelberg"],
                "softkv query cities.csv (again)": [*softkv, "query", str(catalog), "Heidelberg"]}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(timed(command, env))
    store_median = statistics.median(times["softkv query cities.softkv"])
    print(f"\na catalog of {len(seen):,} rows: build {built:.1f} s, first query of the catalog {first:.1f} s "
          f"(builds and keeps its store); median of {runs}:")
    for name, found in times.items():
        median = statistics.median(found)
        print(f"  {name:<34} {median:>6.2f} s {median / store_median:>6.2f}x the store's")


if __name__ == "__main__":
    main()
