"""The threaded mix: writers, deletes, setdefault, set_params(max_keys=...), copies, pickles, saves and reads at once.

Every value is the number in its key's name (``"k17"`` holds 17.0), so any
value read under a key can be checked: a value that is not its key's number
is fabricated. Counted, for :func:`run_mix`'s caller to assert on (a short
run in tests/stress, ten minutes in benchmarks/untrusted.py):

- states with more keys than their ``max_keys`` (a snapshot holds both);
- fabricated values (an exact read, a snapshot, ``dict(d.items())``, a copy,
  a pickle or a loaded save giving a key a value not its own);
- saved files that fail to load, and copies that fail to save and load;
- exceptions other than the documented ones (KeyError for deleting a key
  that is gone).
"""

from __future__ import annotations

import copy
import pickle
import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from softkv import LexicalEncoder, SoftDict

POOL = 40  # keys k0 .. k39
CAPACITIES = (1, 2, 5, 20, None)


def _own(key: str) -> float:
    return float(key[1:])


class Mix:
    """The shared dict, the counts and the first problems seen."""

    def __init__(self, folder: Path) -> None:
        self.d = SoftDict({f"k{i}": float(i) for i in range(10)}, encoder=LexicalEncoder(n_features=64),
                          threshold=None, max_keys=20)
        self.folder = folder
        self.counts: Counter[str] = Counter()
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self.stop = threading.Event()

    def note(self, kind: str, detail: str = "") -> None:
        with self._lock:
            self.counts[kind] += 1
            if detail and len(self.problems) < 20:
                self.problems.append(f"{kind}: {detail}")

    def check_values(self, pairs: dict[str, Any], where: str) -> None:
        wrong = [key for key, value in pairs.items() if value != _own(key)]
        if wrong:
            self.note("fabricated values", f"{where}: {wrong[0]!r} -> {pairs[wrong[0]]!r}")

    def check_dict(self, d: SoftDict, where: str) -> None:
        """A whole dict: its snapshot's size against its max_keys, and every value."""
        memory, params = d.snapshot(spelling=False, measure=False)
        if params.max_keys is not None and len(memory.keys) > params.max_keys:
            self.note("states over max_keys", f"{where}: {len(memory.keys)} keys, max_keys {params.max_keys}")
        self.check_values(dict(memory.stored), where)

    def guarded(self, work: Any, rng: random.Random) -> None:
        while not self.stop.is_set():
            try:
                work(rng)
            except KeyError:
                self.note("documented KeyErrors")  # a delete of a key another thread removed first
            except Exception as error:  # noqa: BLE001 - counted: this is what the mix looks for
                self.note("undocumented exceptions", f"{work.__name__}: {type(error).__name__}: {error}")
            self.note(f"{work.__name__} calls")

    # ---- the threads' work ----
    def write(self, rng: random.Random) -> None:
        key = f"k{rng.randrange(POOL)}"
        choice = rng.random()
        if choice < 0.35:
            self.d[key] = _own(key)
        elif choice < 0.55:
            del self.d[key]
        elif choice < 0.75:
            stored = self.d.setdefault(key, _own(key))
            if stored != _own(key):
                self.note("fabricated values", f"setdefault({key!r}) returned {stored!r}")
        elif choice < 0.9:
            self.d.update({f"k{i}": float(i) for i in rng.sample(range(POOL), 3)})
        else:
            self.d.pop(key, None)

    def tune(self, rng: random.Random) -> None:
        self.d.set_params(max_keys=rng.choice(CAPACITIES))
        time.sleep(0.002)

    def read(self, rng: random.Random) -> None:
        self.check_dict(self.d, "snapshot")
        self.check_values(dict(self.d.items()), "dict(d.items())")
        key = f"k{rng.randrange(POOL)}"
        result = self.d.lookup(key)
        if result.exact and result.value != _own(key):
            self.note("fabricated values", f"exact read of {key!r} gave {result.value!r}")

    def duplicate(self, rng: random.Random) -> None:
        how = rng.choice(["copy", "deepcopy", "pickle", "method"])
        other = {"copy": copy.copy, "deepcopy": copy.deepcopy, "method": SoftDict.copy,
                 "pickle": lambda d: pickle.loads(pickle.dumps(d))}[how](self.d)
        self.check_dict(other, how)
        other["k0"] = 0.0  # a copy is its own dict: writing it leaves the original alone
        if how == "copy" and other._store is self.d._store:
            self.note("fabricated values", "a copy shares the original's store")

    def save(self, rng: random.Random) -> None:
        path = self.folder / f"mix{rng.randrange(3)}.softkv"
        self.d.save(path)
        try:
            loaded = SoftDict.load(path)
        except Exception as error:  # noqa: BLE001 - counted
            self.note("saves that fail to load", f"{type(error).__name__}: {error}")
            return
        self.check_dict(loaded, "a loaded save")


def run_mix(seconds: float, folder: Path, seed: int = 0) -> Mix:
    """Run the mix for ``seconds``: 2 writers, a thread changing max_keys, 2 readers, a copier and a saver."""
    mix = Mix(folder)
    work = [mix.write, mix.write, mix.tune, mix.read, mix.read, mix.duplicate, mix.save]
    threads = [threading.Thread(target=mix.guarded, args=(job, random.Random(seed * 100 + i)))
               for i, job in enumerate(work)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    mix.stop.set()
    for thread in threads:
        thread.join()
    mix.check_dict(mix.d, "the final state")
    return mix


FAILURES = ("states over max_keys", "fabricated values", "saves that fail to load", "undocumented exceptions")
