"""Retrieval quality on the dev benchmark (devdata.py): every kind of query, each reported apart, per encoder.

For each bundled encoder ("minilm", "multilingual") and each kind of query:
- top-1 (typos, abbreviations, other-language names, descriptions): how often
  the highest-scoring key is a right one;
- category: the weight a softmax read (temperature auto, every key) puts on
  the category's members.
Methods: meaning alone (the encoder's cosine), spelling alone (softkv's own
spelling score and rapidfuzz's ratio, WRatio, Jaro-Winkler and OSA), fixed
mixes of the two (0.5 was the old default), and the default (spelling added
where it stands out beyond chance). Every softkv row is read by a SoftDict.

Then abstention: the share of unrelated queries the default misses, and the
share of genuine queries it answered right when always answering but misses
with its default cutoff. Last, the cases that went wrong with the old default.
Run: make bench (or python quality.py --encoders minilm).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from devdata import KINDS, Task, catalogs, tasks

from softkv import SoftDict, attention

GENUINE = [kind for kind in KINDS if kind != "unrelated"]
FIXED_MIXES = (0.25, 0.5, 0.75)


def right_mask(task: Task, keys: list[str]) -> np.ndarray:
    column = {key: j for j, key in enumerate(keys)}
    mask = np.zeros((len(task.queries), len(keys)), dtype=bool)
    for i, right in enumerate(task.right):
        mask[i, [column[key] for key in right]] = True
    return mask


def per_query(kind: str, weights: np.ndarray, nearest: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Each query's mark: member weight for categories, else 1 when the nearest key is right."""
    if kind == "category":
        return (weights * mask).sum(axis=1)
    return mask[np.arange(len(nearest)), nearest].astype(np.float64)


class Bench:
    """The tasks and one SoftDict per catalog for one encoder; marks[method][kind] is a list of per-query marks."""

    def __init__(self, encoder: str, found: dict[str, dict[str, Any]], all_tasks: list[Task]) -> None:
        self.encoder = encoder
        self.tasks = all_tasks
        start = time.perf_counter()
        self.dicts = {name: SoftDict(table, encoder=encoder, threshold=None) for name, table in found.items()}
        self.build_seconds = time.perf_counter() - start
        self.marks: dict[str, dict[str, list[float]]] = {}

    def softkv(self, label: str, **params: Any) -> None:
        """A SoftDict read with these parameters (always answering)."""
        marks: dict[str, list[float]] = {kind: [] for kind in GENUINE}
        for task in self.tasks:
            if task.kind == "unrelated":
                continue
            d = self.dicts[task.catalog]
            d.set_params(threshold=None, **params)
            batch = d.lookup_many(task.queries)
            assert batch.weight_array is not None
            marks[task.kind] += list(per_query(task.kind, batch.weight_array, batch.nearest_rows,
                                               right_mask(task, list(batch.keys))))
        self.marks[label] = marks

    def matcher(self, label: str, scorer: Callable[..., float]) -> None:
        """A rapidfuzz scorer over the same keys; categories weigh its scores (0-1) with the same softmax."""
        from rapidfuzz import process, utils

        marks: dict[str, list[float]] = {kind: [] for kind in GENUINE}
        for task in self.tasks:
            if task.kind == "unrelated":
                continue
            keys = list(self.dicts[task.catalog].keys())
            S = process.cdist(task.queries, keys, scorer=scorer, processor=utils.default_process, workers=-1)
            S = np.asarray(S, dtype=np.float64) / 100.0
            weights = attention.softmax(S, "auto") if task.kind == "category" else S
            marks[task.kind] += list(per_query(task.kind, weights, S.argmax(axis=1), right_mask(task, keys)))
        self.marks[label] = marks

    def abstention(self) -> tuple[float, float, float, int, int]:
        """Default reads: (share of unrelated queries missed, share of genuine queries right when always
        answering, share right and answered with the default cutoff, n unrelated, n genuine)."""
        missed_unrelated, answered_right, right = [], [], []
        for task in self.tasks:
            d = self.dicts[task.catalog]
            d.set_params(spelling_weight="auto", threshold="auto")
            batch = d.lookup_many(task.queries, on_miss="ignore")
            if task.kind == "unrelated":
                missed_unrelated += list(batch.missed)
                continue
            mask = right_mask(task, list(batch.keys))
            good = mask[np.arange(len(task.queries)), batch.nearest_rows]
            right += list(good)
            answered_right += list(good & ~batch.missed)
        return (float(np.mean(missed_unrelated)), float(np.mean(right)), float(np.mean(answered_right)),
                len(missed_unrelated), len(right))


def report(bench: Bench, spelling_methods: list[str], mixes: list[str], default: str) -> None:
    counts = {kind: len(bench.marks[default][kind]) for kind in GENUINE}
    print(f"\nencoder {bench.encoder!r} (built {len(bench.dicts)} dicts in {bench.build_seconds:.0f} s); "
          "top-1, category: weight on members")
    print(f"  {'method':<30}" + "".join(f"{kind[:13]:>14}" for kind in GENUINE) + f"{'pooled':>9}")
    print(f"  {'(queries)':<30}" + "".join(f"{counts[kind]:>14}" for kind in GENUINE))
    for label, marks in bench.marks.items():
        pooled = np.mean([m for kind in GENUINE for m in marks[kind]])
        print(f"  {label:<30}" + "".join(f"{np.mean(marks[kind]):14.3f}" for kind in GENUINE) + f"{pooled:9.3f}")
    mean = {label: {kind: float(np.mean(m)) for kind, m in marks.items()} for label, marks in bench.marks.items()}
    print("  default against the better of meaning alone and the best spelling method, in points:")
    for kind in GENUINE:
        best_spelling = max(spelling_methods, key=lambda label: mean[label][kind])
        best = max(mean["meaning only"][kind], mean[best_spelling][kind])
        print(f"    {kind:<16} {100 * (mean[default][kind] - best):+6.1f}   (best spelling: {best_spelling})")
    pooled = {label: np.mean([m for kind in GENUINE for m in bench.marks[label][kind]]) for label in bench.marks}
    best_mix = max(mixes, key=lambda label: pooled[label])
    print(f"  pooled: default {pooled[default]:.3f}, best fixed mix ({best_mix}) {pooled[best_mix]:.3f}")
    missed, right, answered_right, n_unrelated, n_genuine = bench.abstention()
    print(f"  abstention: {100 * missed:.1f}% of {n_unrelated} unrelated queries miss; genuine queries right "
          f"{100 * right:.1f}% when always answering, {100 * answered_right:.1f}% with the default cutoff "
          f"({100 * (right - answered_right):.1f} points lost, of {n_genuine})")


def run(encoder: str, found: dict[str, dict[str, Any]], all_tasks: list[Task]) -> None:
    from rapidfuzz import fuzz
    from rapidfuzz.distance import OSA, JaroWinkler

    bench = Bench(encoder, found, all_tasks)
    bench.softkv("meaning only", spelling_weight=0.0)
    bench.softkv("spelling only (softkv)", spelling_weight=1.0)
    matchers = {"rapidfuzz ratio": fuzz.ratio, "rapidfuzz WRatio": fuzz.WRatio,
                "rapidfuzz Jaro-Winkler": JaroWinkler.normalized_similarity,
                "rapidfuzz OSA": OSA.normalized_similarity}
    for label, scorer in matchers.items():
        bench.matcher(label, scorer)
    mixes = [f"fixed mix {w}" + (" (old default)" if w == 0.5 else "") for w in FIXED_MIXES]
    for label, weight in zip(mixes, FIXED_MIXES):
        bench.softkv(label, spelling_weight=weight)
    bench.softkv("default (auto)", spelling_weight="auto")
    report(bench, ["spelling only (softkv)", *matchers], mixes, "default (auto)")


def cases() -> None:
    """The reads that went wrong with the old default (a fixed 0.5 mix, always answering), and now."""
    from softkv.datasets import airports, cars

    colours = {"red": (255, 0, 0), "dark red": (139, 0, 0), "orange": (255, 165, 0), "yellow": (255, 255, 0),
               "lime": (0, 255, 0), "green": (0, 128, 0), "blue": (0, 0, 255), "purple": (128, 0, 128),
               "pink": (255, 192, 203), "brown": (165, 42, 42), "white": (255, 255, 255), "gray": (128, 128, 128),
               "black": (0, 0, 0)}
    tables = {
        "13 colours": (colours, ["crimson", "dark blue", "teal", "the color of grass"]),
        "cars": (cars(), ["a small japanese car", "luxury german sedan", "lada"]),
        "200 US airports": (dict(list(airports().items())[:200]), ["Heathrow London"]),
        "fruit": ({"apple": 10, "banana": 5, "chair": 2}, ["quantum chromodynamics", "fruit"]),
    }
    print("\ncases: old default (fixed 0.5 mix, always answers) -> default")
    for name, (table, queries) in tables.items():
        d = SoftDict(table)
        for query in queries:
            d.set_params(spelling_weight=0.5, threshold=None)
            before = d.lookup(query)
            d.set_params(spelling_weight="auto", threshold="auto")
            after = d.lookup(query, on_miss="ignore")
            now = (f"miss (p_miss {after.p_miss:.2f}, nearest {after.nearest})" if after.missed
                   else f"{after.nearest} (weight {after.weights[after.nearest]:.2f})")
            print(f"  {name:<16} {query!r:<26} {before.nearest} (weight {before.weights[before.nearest]:.2f})"
                  f"  ->  {now}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", nargs="+", default=["minilm", "multilingual"])
    encoders = parser.parse_args().encoders
    found, all_tasks = catalogs(), tasks()
    print(f"{sum(len(t) for t in found.values())} keys in {len(found)} catalogs; "
          + ", ".join(f"{kind} {sum(len(t.queries) for t in all_tasks if t.kind == kind)}" for kind in KINDS))
    for encoder in encoders:
        run(encoder, found, all_tasks)
    cases()


if __name__ == "__main__":
    main()
