"""Why temperature="auto": its weights on the seed example and on 1,914 emoji names.

For each temperature rule, prints the weights that the query "fruit" gives the
seed's three keys, and the mean weight that each emoji subgroup name (e.g.
"animal mammal") puts on that subgroup's members: once by meaning alone
(spelling_weight=0, the scores the temperature was designed on) and once with the
default spelling weight (spelling_weight="auto"). Run: make bench
"""

from __future__ import annotations

import numpy as np

from softkv import SoftDict
from softkv.datasets import emoji_subgroups


def seed_weights(temperature, hybrid) -> list[float]:
    d = SoftDict({"apple": 10, "banana": 5, "chair": 2}, temperature=temperature, spelling_weight=hybrid)
    w = d.lookup("fruit").weights
    return [w.get(k, 0.0) for k in ("banana", "apple", "chair")]


def member_mass(d: SoftDict, names: dict[str, str], temperature) -> float:
    d.temperature = temperature
    groups = sorted(set(names.values()))
    batch = d.lookup_many([g.replace("-", " ") for g in groups])
    member = np.array([[names[k] == g for k in batch.keys] for g in groups])
    return float((batch.weight_array * member).sum(axis=1).mean())


def main() -> None:
    names = emoji_subgroups()
    groups = sorted(set(names.values()))
    for hybrid in (0.0, "auto"):
        d = SoftDict(dict.fromkeys(names, 0.0), spelling_weight=hybrid, threshold=None)  # every group answers
        batch = d.lookup_many([g.replace("-", " ") for g in groups])
        top1 = np.mean([names[key] == g for key, g in zip(batch.nearest, groups)])
        print(f"spelling_weight={hybrid!r}: {len(names)} emoji names in {len(groups)} subgroups; "
              f"nearest key is a member for {top1:.3f}")
        print(f"  {'temperature':<12} {'seed banana/apple/chair':<26} emoji weight on members")
        for temperature in (0.1, 0.05, 0.02, 0.01, "auto"):
            seed = "/".join(f"{w:.3f}" for w in seed_weights(temperature, hybrid))
            print(f"  {temperature!s:<12} {seed:<26} {member_mass(d, names, temperature):.3f}")


if __name__ == "__main__":
    main()
