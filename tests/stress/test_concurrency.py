"""Readers alongside a writer see consistent snapshots: no key paired with another key's row."""

import sys
import threading
import time

import numpy as np
import pytest

from softkv import SoftDict
from tests.conftest import CountingEncoder

pytestmark = pytest.mark.stress

ENCODER = CountingEncoder(dim=8)
POOL = [f"key {i}" for i in range(60)]
EMBEDDINGS = dict(zip(POOL, ENCODER.encode(POOL)))


def embedding(key):
    return EMBEDDINGS[key]


def race(threads, stop, seconds):
    """Run the threads for a while, switching between them as often as possible: torn reads, if any, show up."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        time.sleep(seconds)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        sys.setswitchinterval(interval)


def test_concurrent_reads_match_a_consistent_state(tmp_path):
    d = SoftDict({key: 0.0 for key in POOL[:30]}, encoder=ENCODER, temperature=0.5, spelling_weight=0,
                 threshold=None)  # by meaning; every query answers
    queries = ["q one", "q two", "q three"]
    query_vectors = ENCODER.encode(queries)
    stop = threading.Event()
    problems, checks = [], [0]

    def writer():
        rng = np.random.default_rng(0)
        version = 0
        while not stop.is_set():
            time.sleep(0)  # let readers in between writes
            version += 1
            key = POOL[rng.integers(len(POOL))]
            action = rng.integers(3)
            if action == 0:
                d[key] = float(version)
            elif action == 1:
                d.pop(key, None)
            else:
                d.update({k: float(version) for k in rng.choice(POOL, 5)})

    def check(batch):
        if len(batch.keys) != len(set(batch.keys)):
            problems.append("duplicate keys")
        if not len(batch.keys) == batch.weight_array.shape[1] == batch.score_array.shape[1] == len(batch.row_values):
            problems.append("keys and rows of different lengths")
            return
        K = np.array([embedding(k) for k in batch.keys])
        Kn = K / np.linalg.norm(K, axis=1, keepdims=True)
        for i, q in enumerate(query_vectors[: len(batch)]):
            expected_scores = Kn @ (q / np.linalg.norm(q))
            if not np.allclose(batch.score_array[i], expected_scores, atol=1e-5):
                problems.append("a key was read with another key's embedding")
            blended = float(batch.weight_array[i] @ np.array(batch.row_values, dtype=float))
            if abs(blended - batch.values[i]) > 1e-6 * (1 + abs(blended)):
                problems.append("values torn from their rows")
        checks[0] += 1

    def reader(many):
        while not stop.is_set():
            try:
                batch = d.lookup_many(queries if many else queries[:1])  # a batch of one reads as lookup does
            except KeyError:  # the writer emptied the dict for a moment
                continue
            except Exception as error:  # a thread's exception would otherwise vanish
                problems.append(f"{type(error).__name__}: {error}")
                continue
            check(batch)

    readers = [threading.Thread(target=reader, args=(i % 2 == 0,)) for i in range(3)]
    race([threading.Thread(target=writer)] + readers, stop, seconds=3.0)
    assert not problems, problems[:5]
    assert checks[0] > 100


def test_a_save_during_writes_is_a_consistent_snapshot(tmp_path):
    d = SoftDict({key: 1.0 for key in POOL[:30]}, encoder=ENCODER, threshold=None)
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            i += 1
            d[POOL[30 + i % 30]] = float(i)
            d.pop(POOL[30 + (i * 7) % 30], None)

    SoftDict.load(d.save(tmp_path / "warm-up.softkv"), encoder=ENCODER)  # imports done before the race
    thread = threading.Thread(target=writer)
    # A writer spinning in Python keeps the GIL for a whole switch interval each time the saver gives it up
    # (numpy and file calls do, many times per save): the default 5 ms made a save take seconds to minutes.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    thread.start()
    try:
        for n in range(20):
            path = d.save(tmp_path / f"snap{n}.softkv")
            loaded = SoftDict.load(path, encoder=ENCODER)
            expected = np.array([embedding(k) for k in loaded])
            np.testing.assert_allclose(loaded.key_embeddings, expected, rtol=1e-6)
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)


def test_spelling_reads_beside_a_writer_see_a_consistent_state(monkeypatch):
    """The default hybrid read shares its n-gram index and query cache between reader threads."""
    import softkv.spelling

    monkeypatch.setattr(softkv.spelling, "QUERY_CACHE_SIZE", 8)  # evictions all the time
    d = SoftDict({key: float(i) for i, key in enumerate(POOL[:30])}, encoder=ENCODER, threshold=None)
    stop = threading.Event()
    problems, reads = [], [0]

    def writer():
        rng = np.random.default_rng(1)
        while not stop.is_set():
            time.sleep(0)
            key = POOL[rng.integers(len(POOL))]
            d.pop(key, None) if rng.integers(2) else d.update({key: 1.0})

    def reader(seed):
        rng = np.random.default_rng(seed)
        while not stop.is_set():
            texts = [f"query {rng.integers(10_000)}" for _ in range(rng.integers(1, 8))]  # new texts fill the cache
            try:
                batch = d.lookup_many(texts)
            except KeyError:
                continue
            except Exception as error:
                problems.append(f"{type(error).__name__}: {error}")
                continue
            expected = batch.weight_array @ np.array(batch.row_values, dtype=float)
            if not np.allclose(batch.values, expected, atol=1e-6) or not np.isfinite(batch.score_array).all():
                problems.append("a blend that does not match its weights")
            reads[0] += 1

    race([threading.Thread(target=writer)] + [threading.Thread(target=reader, args=(i,)) for i in range(3)], stop,
         seconds=2.0)
    assert not problems, problems[:5]
    assert reads[0] > 50
