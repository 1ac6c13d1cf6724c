"""Whether a dict's own near-duplicates tell the queries it lacks from the ones it holds.

The default cutoff is a chance level against unrelated text, so it answers
most queries of the catalog's own domain that name no key (a person the table
lacks, a smaller city, a request pip has no command for). A dict knows how
close its keys are to each other: each key read with itself left out
(``lookup_many(keys, exclude=keys)``) scores what a new entry of the domain
scores against its nearest neighbour. This script adds a second cutoff to the
default one: a quantile q of those scores per catalog (q = 0.1 misses a query
less similar to the catalog than 90% of its keys are to each other, the
contamination scikit-learn's outlier detectors once defaulted to), or a local
form (a query misses when it scores less against its nearest key than that
key's own nearest other key does), and prints, for
the dev benchmark (devdata.py) and heldout.py's catalogs:

- the share of each must-miss kind that misses;
- the share of genuine queries answered right (category queries left out),
  overall and for each kind, and the catalogs and kinds that lose more than a
  point against the default.

Run: python neighbours.py (both encoders, dev and held out, about 12 minutes)
or python neighbours.py --encoders minilm.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
from devdata import KINDS, MISSES, Task, catalogs, tasks
from heldout import build as held_out_build

from softkv import SoftDict

QUANTILES: tuple[float | str | None, ...] = (None, 0.05, 0.1, 0.25, "local")  # None: the default alone
Marks = dict[float | str | None, dict[str, list[bool]]]


def marks(encoder: str, found: dict[str, dict[str, object]], all_tasks: list[Task]) -> Marks:
    """Per cutoff, per kind (and per "kind, catalog"): each query's mark (missed for must-miss kinds, right and
    answered for genuine ones)."""
    out: Marks = {q: defaultdict(list) for q in QUANTILES}
    for catalog, table in found.items():
        d = SoftDict(table, encoder=encoder)
        keys = list(d.keys())
        own = d.lookup_many(keys, exclude=keys, on_miss="ignore").best_scores  # each key's nearest other key
        for task in all_tasks:
            if task.catalog != catalog or task.kind == "category":
                continue
            batch = d.lookup_many(task.queries, on_miss="ignore")
            right = np.array([keys[row] in wanted for row, wanted in zip(batch.nearest_rows, task.right)])
            for q in QUANTILES:
                level = (-np.inf if q is None else own[batch.nearest_rows] if q == "local"
                         else np.quantile(own, q))
                answered = ~batch.missed & (batch.exact | (batch.best_scores >= level))
                if task.kind in MISSES:
                    out[q][task.kind].extend(~answered)
                else:
                    for name in ("genuine right", task.kind, f"{task.kind}, {catalog}"):
                        out[q][name].extend(right & answered)
    return out


def report(title: str, found: Marks) -> None:
    kinds = [k for k in dict.fromkeys((*MISSES, "genuine right", *KINDS)) if k in found[None]]
    print(f"\n## {title}\n")
    print("| second cutoff | " + " | ".join(f"{k} missed" if k in MISSES else k for k in kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for q in QUANTILES:
        name = "none (the default)" if q is None else ("local" if q == "local" else f"quantile {q}")
        print(f"| {name} | " + " | ".join(f"{np.mean(found[q][k]):.3f}" for k in kinds) + " |")
    for q in QUANTILES[1:]:
        losses = [f"{k} {np.mean(found[None][k]):.2f} -> {np.mean(found[q][k]):.2f} ({len(found[q][k])})"
                  for k in sorted(found[q]) if ", " in k and np.mean(found[None][k]) - np.mean(found[q][k]) > 0.01]
        print(f"\n{q}: losses over a point: " + ("; ".join(losses) or "none"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="minilm,multilingual")
    encoders = parser.parse_args().encoders.split(",")
    dev, held = (catalogs(), tasks()), held_out_build()
    for encoder in encoders:
        report(f"{encoder}, dev benchmark", marks(encoder, *dev))
        report(f"{encoder}, held-out catalogs", marks(encoder, *held))


if __name__ == "__main__":
    main()
