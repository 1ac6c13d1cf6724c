"""Retrieval quality on the dev data: spelling, meaning and the hybrid of both.

Keys: the 50 US states, the 304 car names and the 1,914 emoji names, in one
catalog (2,268 keys). Queries: every state's postal and AP abbreviation
("CA", "Calif.") and 400 seeded typos of random keys (one or two edits). The
number is top-1: how often the nearest key is the intended one. Also the
weight that emoji subgroup names put on their members. Run: make bench
"""

from __future__ import annotations

import random

import numpy as np

from softkv import SoftDict
from softkv.datasets import cars, emoji_subgroups, typo, us_states


def main() -> None:
    from rapidfuzz import fuzz, process

    states = us_states()
    emoji = emoji_subgroups()
    keys = sorted(set(states) | set(cars()) | set(emoji))
    rng = random.Random(0)
    aliases = [(alias, name) for name, names in states.items() for alias in names]
    typos = [(typo(key, rng, edits=1 + i % 2), key) for i, key in enumerate(rng.sample(keys, 400))]
    queries = {"aliases": aliases, "typos": typos, "both": aliases + typos}
    print(f"{len(keys)} keys; {len(aliases)} alias and {len(typos)} typo queries; top-1 accuracy")
    d = SoftDict(dict.fromkeys(keys, 0.0))
    rows = []
    for label, weight in [("meaning only (MiniLM cosine)", 0.0), ("spelling only (char TF-IDF)", 1.0),
                          *[(f"hybrid {w}", w) for w in (0.3, 0.4, 0.5, 0.6, 0.7)]]:
        d.hybrid = weight
        rows.append((label, {name: np.mean([n == t for n, (_, t) in zip(d.lookup_many([q for q, _ in qs],
                     weights=False).nearest, qs)]) for name, qs in queries.items()}))
    rows.append(("rapidfuzz WRatio", {name: np.mean([process.extractOne(q, keys, scorer=fuzz.WRatio)[0] == t
                                                     for q, t in qs]) for name, qs in queries.items()}))
    print(f"  {'method':<30} {'aliases':>8} {'typos':>8} {'both':>8}")
    for label, scores in rows:
        print(f"  {label:<30} {scores['aliases']:8.3f} {scores['typos']:8.3f} {scores['both']:8.3f}")

    groups = sorted(set(emoji.values()))
    members = SoftDict(dict.fromkeys(emoji, 0.0))
    for weight in (0.0, 0.5):
        members.hybrid = weight
        batch = members.lookup_many([g.replace("-", " ") for g in groups])
        member = np.array([[emoji[k] == g for k in batch.keys] for g in groups])
        print(f"emoji subgroup names, hybrid {weight}: mean weight on members "
              f"{(batch.weights * member).sum(axis=1).mean():.3f}")


def cars_leave_one_out() -> None:
    """Leave-one-key-out MAE on cars (name -> mpg) for the settings calibrate() compares."""
    mpg = cars()
    d = SoftDict(mpg)
    report = d.calibrate()

    def error(**params: object) -> float:
        return next(e for p, e in report.candidates if all(p[k] == v for k, v in params.items()))

    mean = np.mean(list(mpg.values()))
    print(f"cars, {len(mpg)} names, leave-one-key-out MAE in mpg:")
    print(f"  predict the mean                        {np.mean([abs(v - mean) for v in mpg.values()]):.3f}")
    print(f"  hard: nearest name (top_k=1)            {error(temperature='auto', top_k=1, hybrid=0.0):.3f}")
    print(f"  soft, default (auto, all keys)          {error(temperature='auto', top_k=None, hybrid=0.0):.3f}")
    chosen = report.chosen
    print(f"  soft, calibrated                        {report.best_error:.3f}   (temperature "
          f"{chosen['temperature']:.3f}, top_k {chosen['top_k']}, hybrid {chosen['hybrid']})")


if __name__ == "__main__":
    main()
    cars_leave_one_out()
