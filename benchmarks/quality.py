"""Retrieval quality on the dev benchmark (devdata.py), every kind of query reported apart, for each encoder.

For each bundled encoder ("minilm", "multilingual"):

1. top-1 by kind (category: the weight on the category's members) of the
   default, meaning alone, spelling alone, rapidfuzz's ratio, WRatio and
   token_set_ratio, the fixed mixes of the two channels (and the best of
   them), and a per-query oracle that takes whichever of meaning and spelling
   alone is right; then the default against the better of meaning alone and
   the best spelling method, in points;
2. commands in opposite pairs: how often each method answers the opposite key;
3. misses by default: the share of unrelated queries (another domain), of
   queries of the catalog's domain that it does not hold and of codes from
   elsewhere that miss, the genuine queries answered right when always
   answering and with the default cutoff, and what the cutoff costs each
   kind; beside it, the cost of an oracle's cutoff per catalog
   that makes 90% of that catalog's unrelated queries miss;
4. precision and recall at P = 0.90 and 0.95: on each catalog, the queries
   with one right key and those that must miss, split in two halves; every
   method's cutoff is chosen on one half and measured on the other
   (softkv: ``calibrate(keys=..., target_precision=P)``, which also chooses
   the scoring; the others: the lowest cutoff of their own score that keeps
   P on the first half);
5. reliability: on each catalog, the genuine queries in five equal groups by
   their best default score, and the share answered right in each.

Every softkv row is read by a SoftDict (``lookup_many``). Run: make bench (or
python quality.py --encoders minilm).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from devdata import KINDS, MISSES, Task, catalogs, tasks
from rapidfuzz import fuzz, process, utils

from softkv import SoftDict

GENUINE = [kind for kind in KINDS if kind not in MISSES]
MIXES = (0.25, 0.5, 0.75)
PRECISIONS = (0.90, 0.95)
Scorer = Callable[..., float]
RAPIDFUZZ: dict[str, Scorer] = {"ratio": fuzz.ratio, "WRatio": fuzz.WRatio, "token_set_ratio": fuzz.token_set_ratio}


def right_mask(task: Task, keys: list[str]) -> np.ndarray:
    column = {key: j for j, key in enumerate(keys)}
    mask = np.zeros((len(task.queries), len(keys)), dtype=bool)
    for i, right in enumerate(task.right):
        mask[i, [column[key] for key in right]] = True
    return mask


def softmax_auto(S: np.ndarray) -> np.ndarray:
    """The default temperature's softmax over raw scores (rapidfuzz's, for the category mass)."""
    S = S - S.max(axis=1, keepdims=True)
    T = S.std(axis=1, keepdims=True) / np.log(S.shape[1] + 1)
    W = np.exp(S / np.where(T > 0, T, 1.0))
    return W / W.sum(axis=1, keepdims=True)


class Bench:
    """One encoder's dicts, each method's read of each task, cached."""

    def __init__(self, encoder: str, found: dict[str, dict[str, Any]], all_tasks: list[Task]) -> None:
        self.encoder, self.tasks = encoder, all_tasks
        start = time.perf_counter()
        self.dicts = {name: SoftDict(table, encoder=encoder) for name, table in found.items()}
        self.build_seconds = time.perf_counter() - start
        self._reads: dict[tuple[int, str], tuple[np.ndarray, np.ndarray, np.ndarray | None, Any]] = {}

    def methods(self) -> dict[str, dict[str, Any] | Scorer]:
        softkv: dict[str, dict[str, Any] | Scorer] = {"default": {}, "meaning alone": {"spelling_weight": 0.0},
                                                       "spelling alone": {"spelling_weight": 1.0}}
        softkv.update({f"fixed mix {w}": {"spelling_weight": w} for w in MIXES})
        return {**softkv, **RAPIDFUZZ}

    def read(self, i: int, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, Any]:
        """(best score (B,), nearest column (B,), weights (B, N) or None, the batch or None) of a task."""
        if (i, method) not in self._reads:
            task, spec = self.tasks[i], self.methods()[method]
            d = self.dicts[task.catalog]
            if isinstance(spec, dict):
                d.set_params(spelling_weight="auto", threshold="auto")
                d.set_params(**spec)
                batch = d.lookup_many(task.queries, on_miss="ignore")
                found = (batch.best_scores, batch.nearest_rows, batch.weight_array, batch)
            else:
                S = np.asarray(process.cdist(task.queries, list(d.keys()), scorer=spec,
                                             processor=utils.default_process, workers=-1), dtype=np.float64) / 100
                found = (S.max(axis=1), S.argmax(axis=1), softmax_auto(S) if task.kind == "category" else None, None)
            self._reads[(i, method)] = found
        return self._reads[(i, method)]

    def marks(self, i: int, method: str) -> np.ndarray:
        """Each query's mark: 1 when its nearest key is right (category: the weight on the members)."""
        task = self.tasks[i]
        _, nearest, weights, _ = self.read(i, method)
        mask = right_mask(task, list(self.dicts[task.catalog].keys()))
        if task.kind == "category":
            assert weights is not None
            return (weights * mask).sum(axis=1)
        return mask[np.arange(len(nearest)), nearest].astype(np.float64)

    def by_kind(self, method: str) -> dict[str, float]:
        found: dict[str, list[float]] = {}
        for i, task in enumerate(self.tasks):
            if task.kind in GENUINE:
                found.setdefault(task.kind, []).extend(self.marks(i, method))
        return {kind: float(np.mean(marks)) for kind, marks in found.items()}

    def oracle(self) -> dict[str, float]:
        found: dict[str, list[float]] = {}
        for i, task in enumerate(self.tasks):
            if task.kind in GENUINE:
                best = np.maximum(self.marks(i, "meaning alone"), self.marks(i, "spelling alone"))
                found.setdefault(task.kind, []).extend(best)
        return {kind: float(np.mean(marks)) for kind, marks in found.items()}


def top1_report(bench: Bench) -> dict[str, dict[str, float]]:
    rows = {method: bench.by_kind(method) for method in bench.methods()}
    pooled = {method: float(np.mean([v for k, v in r.items()])) for method, r in rows.items()}
    best_mix = max((f"fixed mix {w}" for w in MIXES), key=lambda m: pooled[m])
    rows[f"best fixed mix ({best_mix[10:]})"] = rows[best_mix]
    rows["oracle (meaning or spelling)"] = bench.oracle()
    kinds = [kind for kind in GENUINE if kind in rows["default"]]
    counts = {kind: sum(len(t.queries) for t in bench.tasks if t.kind == kind) for kind in kinds}
    print(f"\n## {bench.encoder}: top-1 by kind (category: weight on the members); dicts built in "
          f"{bench.build_seconds:.0f} s\n")
    print("| method | " + " | ".join(f"{kind} ({counts[kind]})" for kind in kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for method, found in rows.items():
        print(f"| {method} | " + " | ".join(f"{found[kind]:.3f}" for kind in kinds) + " |")
    spelling = ["spelling alone", *RAPIDFUZZ]
    gaps = {kind: rows["default"][kind] - max(rows["meaning alone"][kind], *(rows[m][kind] for m in spelling))
            for kind in kinds}
    print("\ndefault against the better of meaning alone and the best spelling method, in points: "
          + "; ".join(f"{kind} {100 * gap:+.1f}" for kind, gap in gaps.items()))
    return rows


def opposites_report(bench: Bench) -> None:
    task_ids = [i for i, t in enumerate(bench.tasks) if any(t.opposite)]
    print("\nopposite pairs: share of the queries answered with the opposite key (right in brackets): ", end="")
    parts = []
    for method in ["default", "meaning alone", "spelling alone", *RAPIDFUZZ]:
        opposite = right = total = 0
        for i in task_ids:
            task = bench.tasks[i]
            keys = list(bench.dicts[task.catalog].keys())
            _, nearest, _, batch = bench.read(i, method)
            for q, (row, wanted) in enumerate(zip(nearest, task.right)):
                opposite += keys[row] == task.opposite[q]
                right += keys[row] in wanted
                total += 1
        parts.append(f"{method} {opposite / total:.3f} ({right / total:.3f})")
    print("; ".join(parts))


def misses_report(bench: Bench) -> None:
    counts: dict[str, list[bool]] = {kind: [] for kind in MISSES}
    right, answered_right = [], []
    lost: dict[str, int] = {}  # genuine queries right but missed, by kind
    for i, task in enumerate(bench.tasks):
        _, nearest, _, batch = bench.read(i, "default")
        if task.kind in MISSES:
            counts[task.kind] += list(batch.missed)
        elif task.kind != "category":
            good = bench.marks(i, "default") > 0
            right += list(good)
            answered_right += list(good & ~batch.missed)
            lost[task.kind] = lost.get(task.kind, 0) + int((good & batch.missed).sum())
    what = {"unrelated": "unrelated queries", "not in catalog": "queries of the catalog's domain it does not hold",
            "unrelated code": "codes from elsewhere"}
    print("\nmisses by default: " + ", ".join(f"{100 * np.mean(found):.1f}% of {len(found)} {what[kind]}"
                                             for kind, found in counts.items() if found)
          + f"; genuine queries right {100 * np.mean(right):.1f}% when always answering, "
          f"{100 * np.mean(answered_right):.1f}% with the default cutoff "
          f"({100 * (np.mean(right) - np.mean(answered_right)):.1f} points)")
    print("the cutoff's cost by kind, in points of all genuine queries: "
          + "; ".join(f"{kind} {100 * n / len(right):.1f}" for kind, n in lost.items()))
    print("an oracle's cutoff, chosen per catalog on the unrelated queries it must reject so that 90% of them miss, "
          "costs: on " + "; on ".join(f"{name} {_catalog_cutoff_cost(bench, name):.1f} points" for name in
                                                  ("the best score", "its margin over the default cutoff")))


def _catalog_cutoff_cost(bench: Bench, statistic: str, missed: float = 0.9) -> float:
    """Points of genuine accuracy lost when each catalog's cutoff on ``statistic`` is the level its unrelated
    queries stay below ``missed`` of the time (an oracle's choice, on the very queries it must reject)."""
    lost, n_genuine = 0, 0
    for catalog in bench.dicts:
        unrelated, genuine = [], []
        for i, task in enumerate(bench.tasks):
            if task.catalog != catalog or task.kind in ("category", "not in catalog", "unrelated code"):
                continue
            best, _, _, batch = bench.read(i, "default")
            value = best if statistic == "the best score" else best - np.asarray(batch.cutoff)
            if task.kind == "unrelated":
                unrelated += list(value)
            else:
                good = bench.marks(i, "default") > 0
                genuine += list(value[good & ~np.asarray(batch.exact)])  # an exact key never misses
                n_genuine += len(value)
        if unrelated:
            lost += int((np.asarray(genuine) < np.quantile(unrelated, missed)).sum())
    return 100 * lost / max(n_genuine, 1)


def _cutoff(best: np.ndarray, right: np.ndarray, target: float) -> float:
    """The lowest cutoff of a score at which the queries answered (best >= cutoff) are right at ``target``."""
    order = np.argsort(-best, kind="stable")
    precision = np.cumsum(right[order]) / np.arange(1, len(order) + 1)
    ordered = best[order]
    cuts = np.append(ordered[:-1] > ordered[1:], True)  # queries tied across a cutoff answer together
    reached = np.flatnonzero((precision >= target) & cuts)
    if not len(reached):
        return float("inf")
    k = int(reached.max())
    return float(best[order][k]) if k == len(order) - 1 else float((best[order][k] + best[order][k + 1]) / 2)


def precision_report(bench: Bench, seed: int = 0) -> list[tuple[str, float, str, float, float]]:
    """Per catalog with queries that must miss: recall and precision on one half at each P, the cutoff chosen on
    the other."""
    rows, chosen = [], {}
    for catalog in bench.dicts:
        ids = [i for i, t in enumerate(bench.tasks) if t.catalog == catalog and t.kind not in ("category",
                                                                                              "description")]
        if not any(bench.tasks[i].kind in MISSES for i in ids):
            continue
        queries = [(i, q) for i in ids for q in range(len(bench.tasks[i].queries))]
        rng = random.Random(seed)
        rng.shuffle(queries)
        halves = queries[::2], queries[1::2]
        for target in PRECISIONS:
            for method in ["calibrated default", "meaning alone (cosine)", *RAPIDFUZZ]:
                recall, precision, chose = _measure(bench, catalog, halves, method, target)
                rows.append((catalog, target, method, recall, precision))
                if chose:
                    chosen[catalog, target] = chose
    for target in PRECISIONS:
        print(f"\nat precision {target}: recall on the held-out half (its precision in brackets)\n")
        methods = ["calibrated default", "meaning alone (cosine)", *RAPIDFUZZ]
        print("| catalog | " + " | ".join(methods) + " |")
        print("|---|" + "---|" * len(methods))
        for catalog in dict.fromkeys(r[0] for r in rows):
            found = {r[2]: r for r in rows if r[0] == catalog and r[1] == target}
            print(f"| {catalog} | " + " | ".join(f"{found[m][3]:.3f} ({found[m][4]:.2f})" for m in methods) + " |")
        print("\nthe scoring calibrate chose: " + "; ".join(f"{c} {s}" for (c, t), s in chosen.items() if t == target))
    return rows


def _measure(bench: Bench, catalog: str, halves: tuple[list[tuple[int, int]], ...], method: str,
             target: float) -> tuple[float, float, str]:
    fit_half, test_half = halves
    chose = ""
    keys = list(bench.dicts[catalog].keys())

    def wanted(i: int, q: int) -> str | None:
        right = bench.tasks[i].right[q]
        return next(iter(right)) if len(right) == 1 else None

    if method == "calibrated default":
        d = bench.dicts[catalog].copy()
        d.set_params(spelling_weight="auto", threshold="auto")
        report = d.calibrate([bench.tasks[i].queries[q] for i, q in fit_half],
                             keys=[wanted(i, q) for i, q in fit_half], target_precision=target)
        chose = f"{report.chosen['spelling_weight']}/{report.chosen['spelling_measure']}"
        batch = d.lookup_many([bench.tasks[i].queries[q] for i, q in test_half], on_miss="ignore")
        answered = ~batch.missed
        right = np.array([keys[r] == wanted(i, q) for r, (i, q) in zip(batch.nearest_rows, test_half)])
    else:
        name = "meaning alone" if method.startswith("meaning") else method

        def scored(half: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
            best = np.array([bench.read(i, name)[0][q] for i, q in half])
            right = np.array([keys[bench.read(i, name)[1][q]] == wanted(i, q) for i, q in half])
            return best, right

        cut = _cutoff(*scored(fit_half), target)
        best, right = scored(test_half)
        answered = best >= cut
    n_right = sum(wanted(i, q) is not None for i, q in test_half)
    good = answered & right
    return float(good.sum() / max(n_right, 1)), float(good.sum() / max(answered.sum(), 1)), chose


def reliability_report(bench: Bench, bins: int = 5) -> None:
    print(f"\nreliability: genuine queries in {bins} equal groups by best default score, share right in each "
          "(lowest scores first)\n")
    print("| catalog | queries | " + " | ".join(f"q{b + 1}" for b in range(bins)) + " | largest fall |")
    print("|---|---|" + "---|" * (bins + 1))
    for catalog in bench.dicts:
        best, right = [], []
        for i, task in enumerate(bench.tasks):
            if task.catalog == catalog and task.kind in GENUINE and task.kind != "category":
                best += list(bench.read(i, "default")[0])
                right += list(bench.marks(i, "default") > 0)
        order = np.argsort(best, kind="stable")
        groups = [np.asarray(right, dtype=np.float64)[g].mean() for g in np.array_split(order, bins)]
        fall = max(groups[j] - groups[j + 1] for j in range(bins - 1))
        print(f"| {catalog} | {len(best)} | " + " | ".join(f"{g:.2f}" for g in groups) + f" | {max(fall, 0):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", nargs="+", default=["minilm", "multilingual"])
    encoders = parser.parse_args().encoders
    found, all_tasks = catalogs(), tasks()
    print(f"{sum(len(t) for t in found.values())} keys in {len(found)} catalogs; queries: "
          + ", ".join(f"{kind} {sum(len(t.queries) for t in all_tasks if t.kind == kind)}" for kind in KINDS))
    for encoder in encoders:
        bench = Bench(encoder, found, all_tasks)
        top1_report(bench)
        opposites_report(bench)
        misses_report(bench)
        precision_report(bench)
        reliability_report(bench)


if __name__ == "__main__":
    main()
