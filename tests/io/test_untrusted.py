"""A store may come from anyone: crafted files, devices, caches and concurrent writers never corrupt or crash."""

import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from softkv import LexicalEncoder, SoftDict
from softkv.errors import EncoderMismatchError, FormatError
from tests.io.crafted import CASES, crafted

ROOT = Path(__file__).resolve().parents[2]
REFUSED = (FormatError, EncoderMismatchError)


@pytest.mark.parametrize("label", sorted(CASES))
def test_every_crafted_store_is_refused_with_a_format_error(tmp_path, label):
    # a huge int is a fine category; NaN is written into a list of values only
    kinds = ["scalar"] if label in ("value NaN constant", "scalar value 10**400") else ["scalar", "vector",
                                                                                        "categorical"]
    for kind in kinds:
        try:
            path = crafted(tmp_path, label, kind)
        except (KeyError, IndexError, AttributeError):
            continue  # this kind of store has no such field (vector values live in values.npy)
        start = time.perf_counter()
        with pytest.raises(REFUSED):
            SoftDict.load(path)
        assert time.perf_counter() - start < 1.0


def test_a_store_naming_a_model_loads_it_only_when_asked_and_never_from_the_hub(tmp_path):
    path = crafted(tmp_path, "a hub model named")
    with pytest.raises(EncoderMismatchError, match="some-org/some-model.*load_model=True"):
        SoftDict.load(path)


LOAD_UNDER_A_MEMORY_LIMIT = """
import resource, sys
sys.path.insert(0, {root!r})
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from pathlib import Path
from softkv import SoftDict
from softkv.errors import FormatError
for path in sys.argv[1:]:
    try:
        SoftDict.load(path)
        print("loaded", path)
    except FormatError:
        pass
print("all refused within the limit")
"""


def test_stores_claiming_huge_sizes_are_refused_within_a_memory_limit(tmp_path):
    labels = ["huge n_features", "huge lexical width", "embeddings claiming 10**12 rows",
              "embeddings claiming a huge width", "values claiming a huge shape", "background claiming 10**9 rows",
              "a 4 MB .npy header", "unknown manifest fields"]
    paths = [str(crafted(tmp_path, label)) for label in labels]
    script = LOAD_UNDER_A_MEMORY_LIMIT.format(root=str(ROOT), limit=1500 * 2**20)
    out = subprocess.run([sys.executable, "-c", script, *paths], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("all refused within the limit") and "loaded" not in out.stdout


FAKE_HUB = """
import http.server, json, os, sys, threading
sys.path.insert(0, {root!r})
requests = []
class Hub(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        requests.append(self.path); self.send_response(404); self.end_headers()
    do_HEAD = do_GET
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Hub)
threading.Thread(target=server.serve_forever, daemon=True).start()
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:%d" % server.server_port
os.environ.pop("HF_HUB_OFFLINE", None); os.environ.pop("TRANSFORMERS_OFFLINE", None)
from softkv import SoftDict
outcomes = []
for load_model in (False, True):
    try:
        SoftDict.load(sys.argv[1], load_model=load_model)
        outcomes.append("loaded")
    except Exception as error:
        outcomes.append(type(error).__name__)
print(json.dumps({{"requests": requests, "outcomes": outcomes}}))
"""


@pytest.mark.slow
def test_loading_a_store_that_names_a_hub_model_sends_no_request(tmp_path):
    pytest.importorskip("sentence_transformers")
    import json

    path = crafted(tmp_path, "a hub model named")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    out = subprocess.run([sys.executable, "-c", FAKE_HUB.format(root=str(ROOT)), str(path)], capture_output=True,
                         text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["requests"] == []
    assert found["outcomes"][0] == "EncoderMismatchError" and found["outcomes"][1] != "loaded"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_devices_fifos_and_links_to_them_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "store.softkv"
    os.mkfifo(fifo)
    link = tmp_path / "zero.softkv"
    link.symlink_to("/dev/zero")
    for path in (fifo, link, "/dev/zero", "/dev/urandom", tmp_path):
        start = time.perf_counter()
        with pytest.raises((FormatError, IsADirectoryError)):
            SoftDict.load(path)
        assert time.perf_counter() - start < 1.0


def test_a_killed_saves_leftovers_are_removed_by_the_next_save(tmp_path):
    d = SoftDict({"a": 1.0}, encoder=LexicalEncoder())
    stale, fresh = tmp_path / ".d.softkv.abc123.tmp", tmp_path / ".d.softkv.def456.tmp"
    other = tmp_path / ".e.softkv.abc123.tmp"
    for leftover in (stale, fresh, other):
        leftover.write_bytes(b"half a save")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    d.save(tmp_path / "d.softkv")
    assert not stale.exists() and fresh.exists() and other.exists()  # only this target's, only stale ones


def test_an_add_that_fails_on_an_alias_stores_nothing():
    class Forgiving:
        def encode(self, texts):
            return LexicalEncoder().encode([t.encode("utf-8", "replace").decode() for t in texts])

    d = SoftDict({"a": 1.0}, encoder=Forgiving())
    with pytest.raises(ValueError, match="lone surrogates"):
        d.add("chair", 3.0, aliases=["ch\udfffair"])
    assert "chair" not in d and len(d) == len(list(d)) == 1


@pytest.mark.parametrize("make", [
    lambda e: SoftDict({"a": 1.0, "b": 2.0}, encoder=e, temperature=1e-46),
    lambda e: SoftDict({"a": 1.0, "b": 2.0}, encoder=e, threshold=1e39),
    lambda e: SoftDict({"a": 10**400}, encoder=e),
    lambda e: SoftDict.from_embeddings(["a", "b"], [[1.0, 0.0], [0.0, 1e20]], [1.0, 2.0]),
    lambda e: SoftDict.from_embeddings(["a", "b"], [[1.0, 0.0], [0.0, 1.0]], [1.0, 2.0],
                                       scoring="dot")[np.array([3e38, 1e38])],
], ids=["tiny temperature", "threshold beyond float32", "value beyond float64", "huge key vector",
        "huge query vector"])
def test_numbers_that_would_turn_reads_into_nan_are_refused(lexical, make):
    with pytest.raises(ValueError):
        make(lexical)


def test_a_broken_embedding_cache_costs_time_never_a_wrong_vector(tmp_path):
    import sqlite3

    from softkv.encoders import CachedEncoder

    encoder = LexicalEncoder()
    expected = encoder.encode(["apple", "pear"])

    def cache_file():
        folder = tmp_path / f"c{len(list(tmp_path.iterdir()))}"
        cached = CachedEncoder(encoder, folder)
        cached.encode(["apple", "pear"])
        return folder, cached.path

    folder, path = cache_file()  # rows swapped between texts: the checksums say so
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT text_sha256, vector FROM vectors").fetchall()
        for (digest, _), (_, vector) in zip(rows, reversed(rows)):
            connection.execute("UPDATE vectors SET vector = ? WHERE text_sha256 = ?", (vector, digest))
    cached = CachedEncoder(encoder, folder)
    np.testing.assert_array_equal(cached.encode(["apple", "pear"]), expected)
    assert cached.misses == 2
    folder, path = cache_file()  # vectors of another width
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE vectors SET vector = ?", (np.zeros(8, "<f4").tobytes(),))
    np.testing.assert_array_equal(CachedEncoder(encoder, folder).encode(["apple", "pear"]), expected)
    for damage in (lambda p: p.write_bytes(b"not a database" * 100),
                   lambda p: p.write_bytes(p.read_bytes()[:2048])):
        folder, path = cache_file()
        for extra in folder.glob("*-wal"):
            extra.unlink()
        damage(path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            np.testing.assert_array_equal(CachedEncoder(encoder, folder).encode(["apple", "pear"]), expected)
        assert any("unusable" in str(w.message) for w in caught)


def test_a_cache_never_follows_links_and_an_unusable_folder_only_warns(tmp_path):
    from softkv.encoders import CachedEncoder

    encoder = LexicalEncoder(n_features=64)
    expected = encoder.encode(["apple", "pear"])
    probe = CachedEncoder(encoder, tmp_path / "probe")
    probe.encode(["x"])
    name = probe.path.name
    target = tmp_path / "precious.txt"
    target.write_text("not yours to overwrite")
    for linked in ("", "-wal"):  # the cache file, or its write-ahead log, is a link elsewhere
        folder = tmp_path / f"linked{linked}"
        folder.mkdir()
        (folder / f"{name}{linked}").symlink_to(tmp_path / f"elsewhere{linked}.sqlite")
        with pytest.warns(RuntimeWarning, match="symbolic link"):
            np.testing.assert_array_equal(CachedEncoder(encoder, folder).encode(["apple", "pear"]), expected)
        assert not (tmp_path / f"elsewhere{linked}.sqlite").exists()
    a_file = tmp_path / "a file"
    a_file.write_text("x")
    unwritable = tmp_path / "locked"
    unwritable.mkdir(mode=0o500)
    for folder in (a_file, a_file / "below") + ((unwritable,) if os.geteuid() else ()):  # root writes anywhere
        with pytest.warns(RuntimeWarning, match="unusable"):
            d = SoftDict({"apple": 1.0, "pear": 2.0}, encoder=encoder, cache_dir=folder)
        assert d["apple"] == 1.0 and a_file.read_text() == "x"
    assert target.read_text() == "not yours to overwrite"


@pytest.mark.parametrize("name, content", [
    ("quote.csv", 'name,price\napple,1\n"banana,2\nchair,3\n'),
    ("short.csv", "name,price\napple,1\nbanana\n"),
    ("ints.json", "[1, 2]"),
    ("number.json", "5"),
    ("empty.softkv", ""),
    ("truncated.softkv", "PK\x03\x04garbage"),
    ("zero.csv", None),
])
def test_command_line_user_errors_exit_1_with_a_message_not_a_traceback(tmp_path, name, content):
    path = tmp_path / name
    if content is None:
        path.symlink_to("/dev/zero")
    else:
        path.write_text(content)
    out = subprocess.run([sys.executable, "-m", "softkv", "query", str(path), "apple"], capture_output=True,
                         text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("softkv query: ") and name in out.stderr
