"""Calibrated soft reads against hard ones on numeric tables from packages, by k-fold cross-validation.

Tables (``softkv.datasets``): cars (name -> miles per gallon), CSS colours
(name -> red, green, blue) and US airports ("name (city)" -> latitude,
longitude). For each, MAE over every value component:

- "same folds": one 5-fold split of the keys; every setting is scored on it,
  and each row is the best of its kind there (1-NN and kNN at their best
  spelling weight and k). Calibration picks from a space that holds all of
  them, so it can never be worse here; this is what ``calibrate(folds=5)``
  reports.
- "nested": the honest estimate. Outer 5 folds; inside each outer training
  part, calibrate(folds=5) chooses the calibrated setting, the best kNN and
  the best 1-NN, which then predict the outer held-out keys.

Run: python benchmarks/calibration.py (make bench). --quick uses small tables.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from softkv import SoftDict
from softkv.datasets import airports, cars, colors

FOLDS = 5


def best_of(report, mode: str | None) -> tuple[dict, float]:
    """The candidate of ``mode`` (None: any) with the lowest error in a calibration report."""
    found = [(p, e) for p, e in report.candidates if mode is None or p["mode"] == mode]
    return min(found, key=lambda item: item[1])


def same_folds(d: SoftDict) -> dict[str, float]:
    report = d.copy().calibrate(folds=FOLDS)
    return {"1-NN": best_of(report, "hard")[1], "kNN": best_of(report, "mean")[1], "default": report.current_error,
            "calibrated": report.error}


def nested(d: SoftDict, seed: int = 1) -> dict[str, float]:
    memory, _ = d.snapshot()
    keys = list(memory.stored)
    rows = {key: memory.embeddings[memory.row_of[key]] for key in keys}
    values = np.array([np.ravel(memory.stored[key]) for key in keys], dtype=float)
    fold_of = np.random.default_rng(seed).permutation(len(keys)) % FOLDS
    errors: dict[str, list[float]] = {"1-NN": [], "kNN": [], "default": [], "calibrated": []}
    for fold in range(FOLDS):
        train = [k for k, f in zip(keys, fold_of) if f != fold]
        test = [k for k, f in zip(keys, fold_of) if f == fold]
        inner = SoftDict.from_embeddings(train, [rows[k] for k in train], [memory.stored[k] for k in train],
                                         encoder=d.encoder)
        report = inner.copy().calibrate(folds=FOLDS)
        settings = {"1-NN": best_of(report, "hard")[0], "kNN": best_of(report, "mean")[0], "default": {},
                    "calibrated": report.chosen}
        truth = values[[keys.index(k) for k in test]]
        for name, setting in settings.items():
            reader = inner.copy()
            reader.set_params(**setting)
            batch = reader.lookup_many(test, weights=False, on_miss="ignore")  # a prediction for every key
            predicted = np.asarray(batch.values, dtype=float).reshape(len(test), -1)
            errors[name].extend(np.abs(predicted - truth).mean(axis=1))
    return {name: float(np.mean(found)) for name, found in errors.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the first 120 keys of each table")
    quick = parser.parse_args().quick
    tables = {"cars (mpg)": cars(), "CSS colours (RGB)": colors(), "US airports (lat, lon)": airports()}
    print(f"{FOLDS}-fold MAE; calibrated = d.calibrate(folds={FOLDS}); MiniLM with the default spelling weight\n")
    print("| table | keys | method | 1-NN | best-k kNN | default | calibrated | calibrated <= better of 1-NN, kNN |")
    print("|---|---|---|---|---|---|---|---|")
    for name, table in tables.items():
        if quick:
            table = dict(list(table.items())[:120])
        d = SoftDict(table)
        start = time.perf_counter()
        for method, found in (("same folds", same_folds(d)), ("nested", nested(d))):
            better = min(found["1-NN"], found["kNN"])
            verdict = "yes" if found["calibrated"] <= better + 1e-12 else f"no (+{found['calibrated'] - better:.3f})"
            print(f"| {name} | {len(d)} | {method} | {found['1-NN']:.3f} | {found['kNN']:.3f} | "
                  f"{found['default']:.3f} | **{found['calibrated']:.3f}** | {verdict} |", flush=True)
        print(f"<!-- {name}: {time.perf_counter() - start:.0f} s -->")


if __name__ == "__main__":
    main()
