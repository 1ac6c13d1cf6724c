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
    from rapidfuzz import fuzz, process, utils
    from rapidfuzz.distance import JaroWinkler

    states = us_states()
    emoji = emoji_subgroups()
    keys = sorted(set(states) | set(cars()) | set(emoji))
    rng = random.Random(0)
    aliases = [(alias, name) for name, names in states.items() for alias in names]
    typos = [(typo(key, rng, edits=1 + i % 2), key) for i, key in enumerate(rng.sample(keys, 400))]
    queries = {"aliases": aliases, "typos": typos, "both": aliases + typos}
    print(f"{len(keys)} keys; {len(aliases)} alias and {len(typos)} typo queries; top-1 accuracy")
    print("(both: all queries pooled; mean: the mean of the alias and typo columns)")
    d = SoftDict(dict.fromkeys(keys, 0.0))
    rows = []

    def softkv_row(label: str, weight: float | str) -> None:
        d.spelling_weight = weight
        rows.append((label, {name: np.mean([n == t for n, (_, t) in zip(d.lookup_many([q for q, _ in qs],
                     weights=False).nearest, qs)]) for name, qs in queries.items()}))

    def rapidfuzz_row(label: str, scorer: object) -> None:
        def top1(qs: list[tuple[str, str]]) -> float:
            found = process.extractOne  # one query at a time, as a caller would
            return float(np.mean([found(q, keys, scorer=scorer, processor=utils.default_process)[0] == t
                                  for q, t in qs]))
        rows.append((label, {name: top1(qs) for name, qs in queries.items()}))

    def tfidf_row(ngram_range: tuple[int, int]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range, sublinear_tf=True).fit(keys)
        K = vectorizer.transform(keys)
        rows.append((f"scikit-learn char_wb {ngram_range}", {
            name: float(np.mean([keys[i] == t for i, (_, t) in zip(
                (vectorizer.transform([q for q, _ in qs]) @ K.T).toarray().argmax(axis=1), qs)]))
            for name, qs in queries.items()}))

    softkv_row("meaning only (MiniLM cosine)", 0.0)
    for ngram_range in [(1, 3), (2, 3), (2, 4)]:
        tfidf_row(ngram_range)
    for label, scorer in [("rapidfuzz WRatio", fuzz.WRatio), ("rapidfuzz ratio", fuzz.ratio),
                          ("rapidfuzz Jaro-Winkler", JaroWinkler.normalized_similarity)]:
        rapidfuzz_row(label, scorer)
    baselines = len(rows)
    softkv_row("softkv default (hybrid auto)", "auto")
    softkv_row("spelling only (hybrid 1)", 1.0)
    for weight in (0.3, 0.4, 0.6, 0.7):
        softkv_row(f"hybrid {weight}", weight)
    print(f"  {'method':<30} {'aliases':>8} {'typos':>8} {'both':>8} {'mean':>8}")
    for i, (label, scores) in enumerate(rows):
        if i == baselines:
            print("  " + "-" * 66)
        mean = (scores["aliases"] + scores["typos"]) / 2
        print(f"  {label:<30} {scores['aliases']:8.3f} {scores['typos']:8.3f} {scores['both']:8.3f} {mean:8.3f}")
    default = rows[baselines][1]
    def value(scores: dict[str, float], column: str) -> float:
        return scores["both"] if column == "both" else (scores["aliases"] + scores["typos"]) / 2

    for column in ("both", "mean"):
        best_label, best = max(rows[:baselines], key=lambda row: value(row[1], column))
        gain = 100 * (value(default, column) - value(best, column))
        print(f"  default - best baseline ({best_label}), {column}: {gain:+.1f} points")

    groups = sorted(set(emoji.values()))
    members = SoftDict(dict.fromkeys(emoji, 0.0))
    for weight in (0.0, "auto"):
        members.hybrid = weight
        batch = members.lookup_many([g.replace("-", " ") for g in groups])
        member = np.array([[emoji[k] == g for k in batch.keys] for g in groups])
        nearest = np.mean([emoji[k] == g for k, g in zip(batch.nearest, groups)])
        print(f"emoji subgroup names, hybrid {weight}: mean weight on members "
              f"{(batch.weight_array * member).sum(axis=1).mean():.3f}, nearest key a member {nearest:.3f}")


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
    print(f"  hard: nearest name (top_k=1)            {error(temperature='auto', top_k=1, spelling_weight=0.0):.3f}")
    print(f"  hard, default hybrid                    {error(temperature='auto', top_k=1, spelling_weight=0.5):.3f}")
    print(f"  soft, meaning only (auto, all keys)     {error(temperature='auto', top_k=None, spelling_weight=0.0):.3f}")
    print(f"  soft, default (auto, all keys, hybrid)  {error(temperature='auto', top_k=None, spelling_weight=0.5):.3f}")
    chosen = report.chosen
    print(f"  soft, calibrated                        {report.best_error:.3f}   (temperature "
          f"{chosen['temperature']:.3f}, top_k {chosen['top_k']}, hybrid {chosen['hybrid']})")


if __name__ == "__main__":
    main()
    cars_leave_one_out()
