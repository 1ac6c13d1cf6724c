"""What fit() learns on held-out data: cars, name -> miles per gallon, over ten random splits.

Two ways of training a SoftDict of 60 cars, each measured on cars it never saw:
- with queries: 150 other car names with known mpg are the training pairs,
  94 cars are held out;
- on its own keys: the 60 cars are the training pairs (each read with its own
  key left out), the other 244 are held out.
For each split: untrained (temperature auto), fit temperature, + values,
+ projection. Reported: mean and median held-out MAE over the splits, and on
how many splits learning the projection beat learning the temperature alone.
Run: make bench (or python fit.py --splits 3 for a quick look).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from softkv import SoftDict
from softkv.datasets import cars

LEARN = [("temperature",), ("temperature", "values"), ("temperature", "projection")]


def threads_used(n_queries: int, n_keys: int) -> int:
    from softkv.nn._training import _training_threads

    return _training_threads(torch.get_num_threads(), n_queries, n_keys, 384)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=10)
    splits = parser.parse_args().splits
    mpg = cars()
    names = sorted(mpg)
    columns = ["untrained", *("fit " + " + ".join(learn) for learn in LEARN)]
    for protocol in ("with queries", "on its own keys"):
        errors, seconds = [], []
        for seed in range(splits):
            order = list(names)
            np.random.default_rng(seed).shuffle(order)
            memory = order[:60]
            train, test = (order[60:210], order[210:]) if protocol == "with queries" else (memory, order[60:])
            truth = np.array([mpg[n] for n in test])
            d = SoftDict({n: mpg[n] for n in memory}, threshold=None)  # every held-out car is answered
            row = [np.abs(d.lookup_many(test).values - truth).mean()]
            d.embed(train)  # encoded once, before the clock: a fit's time is its training
            for learn in LEARN:
                trained = d.copy()
                start = time.perf_counter()
                trained.fit(train, [mpg[n] for n in train], learn=learn, seed=seed)
                seconds.append(time.perf_counter() - start)
                row.append(np.abs(trained.lookup_many(test).values - truth).mean())
            errors.append(row)
        table = np.array(errors)
        print(f"\n60 cars in memory, trained {protocol} ({len(train)} pairs), {len(test)} held out; "
              f"{splits} splits; held-out MAE (mpg); median fit {np.median(seconds):.2f} s "
              f"({threads_used(len(train), len(memory))} torch thread(s) of {torch.get_num_threads()})")
        print(f"  {'':<34} {'mean':>7} {'median':>7}")
        for name, column in zip(columns, table.T):
            print(f"  {name:<34} {column.mean():7.3f} {np.median(column):7.3f}")
        wins, ties = (table[:, 3] < table[:, 1] - 1e-9).sum(), (np.abs(table[:, 3] - table[:, 1]) <= 1e-9).sum()
        print(f"  projection beats temperature alone on {wins} of {splits} splits ({ties} ties: start kept)")


if __name__ == "__main__":
    main()
