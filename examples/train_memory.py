"""Train a soft dict by gradient descent: car names -> miles per gallon (vega-datasets' cars).
===========================================================================================

A SoftDict holds 60 cars. 150 other car names with their mpg are the training
pairs (queries whose answers are known), and the 94 cars left are held out.
fit() tunes what it is told to learn, reading as the dict reads (meaning and
spelling); the encoder stays frozen, so the names are embedded once.
Needs the [datasets] extra (make test installs it).
"""

import numpy as np

from softkv import SoftDict
from softkv.datasets import cars

mpg = cars()
names = sorted(mpg)
np.random.default_rng(0).shuffle(names)
memory_names, train_names, test_names = names[:60], names[60:210], names[210:]
truth = np.array([mpg[name] for name in test_names])

d = SoftDict({name: mpg[name] for name in memory_names}, threshold=None)  # every held-out car gets an answer


def held_out_mae(soft: SoftDict) -> float:
    return float(np.abs(soft.lookup_many(test_names).values - truth).mean())


nearest = [d[key] for key in d.lookup_many(test_names).nearest]
print(f"{len(memory_names)} cars in memory, {len(train_names)} training queries, {len(test_names)} held out")
print("held-out MAE in mpg:")
print(f"  {'predict the mean':<38} {np.abs(np.mean(list(d.values())) - truth).mean():6.3f}")
print(f"  {'hard: value of the nearest name':<38} {np.abs(np.array(nearest) - truth).mean():6.3f}")
print(f"  {'soft, untrained (temperature auto)':<38} {held_out_mae(d):6.3f}")

targets = [mpg[name] for name in train_names]
for learn in [("temperature",), ("temperature", "values"), ("temperature", "projection")]:
    trained = d.copy()
    history = trained.fit(train_names, targets, learn=learn, seed=0)
    label = "fit " + " + ".join(learn)
    kept = "; no epoch beat the start" if history.best_epoch < 0 else ""
    print(f"  {label:<38} {held_out_mae(trained):6.3f}   (temperature {trained.temperature:.3f}{kept})")
