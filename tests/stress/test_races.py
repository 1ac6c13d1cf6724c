"""Writers racing writers and readers: every write whole or refused, readers never blocked by an encode."""

import threading
import time

import pytest

from softkv import LexicalEncoder, SoftDict

pytestmark = pytest.mark.stress


class SlowEncoder:
    def __init__(self, seconds=0.05):
        self.inner, self.seconds = LexicalEncoder(), seconds

    def encode(self, texts):
        time.sleep(self.seconds)
        return self.inner.encode(texts)


def test_two_threads_adding_the_same_alias_leave_one_consistent_entry():
    for _ in range(6):
        d = SoftDict({"Germany": 83.0}, encoder=SlowEncoder())
        errors = []

        def add(d=d, errors=errors):
            try:
                d.add("United States", 335.0, aliases=["USA"])
            except ValueError as error:
                errors.append(error)

        threads = [threading.Thread(target=add) for _ in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert d.aliases_of("United States") == ["USA"] and len(errors) <= 1
        assert d["USA"] == 335.0
        del d["United States"]
        assert len(d) == len(list(d)) == 1 and "United States" not in d
        assert d["Germany"] == 83.0 and d.lookup("Germany").exact


def test_a_slow_encoder_never_blocks_readers():
    d = SoftDict({"apple": 1.0, "pear": 2.0}, encoder=SlowEncoder(seconds=0.05))
    d["apple"]
    def write():
        d.add("new key", 3.0, aliases=["newer key"])
        d.setdefault("other key", 4.0)

    writer = threading.Thread(target=write)
    d.encoder.seconds = 1.0  # the write's encode takes a second
    writer.start()
    time.sleep(0.1)
    start = time.perf_counter()
    assert d["apple"] == 1.0 and d.get("pear") == 2.0  # exact reads during the encode
    assert time.perf_counter() - start < 0.5
    writer.join()
    assert len(d) == 4 and d["newer key"] == 3.0


def test_fit_and_calibrate_beside_writers_apply_whole_or_refuse(lexical):
    pytest.importorskip("torch")
    d = SoftDict({f"item {i}": float(i) for i in range(40)}, encoder=lexical, threshold=None)
    stop, failures = threading.Event(), []

    def writer():
        i = 0
        while not stop.is_set():
            d[f"extra {i % 5}"] = float(i)
            d.pop(f"extra {(i + 2) % 5}", None)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(3):
            try:
                d.fit([f"item {i}" for i in range(40)], [float(i) for i in range(40)], learn=("values",), epochs=5)
            except RuntimeError as error:  # the dict changed after fit's snapshot: nothing was written back
                assert "changed after the snapshot" in str(error)
            report = d.calibrate()
            assert report.chosen is not None
    except Exception as error:  # noqa: BLE001
        failures.append(error)
    finally:
        stop.set()
        thread.join()
    assert not failures and len(d) == len(list(d))
    assert all(d[f"item {i}"] == d.lookup(f"item {i}").value for i in range(40))
