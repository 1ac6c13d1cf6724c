"""save/load: round trips, refusals and corrupted files (kills in the middle of a save: tests/stress)."""

import json
import random
import time
import zipfile

import numpy as np
import pytest

from softkv import FunctionEncoder, LexicalEncoder, SoftDict
from softkv.errors import EncoderMismatchError, FormatError


@pytest.fixture
def lexical_dict():
    return SoftDict({"apple": 10, "banana": 5.5, "chair": 2}, encoder=LexicalEncoder(), temperature=0.2, top_k=2)


def test_round_trip_keeps_everything_and_encodes_nothing(tmp_path, counting):
    d = SoftDict({"apple": 10, "banana": 5.5, "chair": -2}, encoder=counting, temperature=0.3, top_k=2,
                 threshold=0.1, scoring="dot", exact_match=False)
    d.query_projection = np.eye(16) * 2
    path = d.save(tmp_path / "fruit.softkv")
    calls = len(counting.calls)
    loaded = SoftDict.load(path, encoder=counting)
    assert len(counting.calls) == calls + 1  # the fingerprint probe only, no key
    assert loaded == d and list(loaded.items()) == list(d.items()) and type(dict(loaded.items())["apple"]) is int
    assert loaded.params == d.params
    np.testing.assert_array_equal(loaded.key_embeddings, d.key_embeddings)
    np.testing.assert_array_equal(loaded.query_projection, d.query_projection)
    np.testing.assert_allclose(loaded.lookup("fruit").weight_array, d.lookup("fruit").weight_array)


@pytest.mark.parametrize(
    "data",
    [
        {"a": [1.0, 2.0], "b": [3.0, 4.5]},
        {"a": np.eye(2), "b": np.zeros((2, 2))},
        {"a": "red", "b": "green"},
        {"a": True, "b": False},
        {"a": ("x", 1), "b": ("y", None)},
        {},
    ],
    ids=["vectors", "matrices", "strings", "bools", "tuples", "empty"],
)
def test_every_kind_of_value_round_trips(tmp_path, data):
    d = SoftDict(data, encoder=LexicalEncoder())
    loaded = SoftDict.load(d.save(tmp_path / "d.softkv"))  # the lexical encoder is rebuilt from the file
    assert loaded == d and loaded.value_kind == d.value_kind
    assert isinstance(loaded.encoder, LexicalEncoder)


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8", "uint64", "float16", "float32", "float64"])
def test_arrays_come_back_in_their_dtype_with_exact_values(tmp_path, dtype):
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else np.finfo(dtype)
    extreme = np.array([info.max, info.min, 7], dtype=dtype)  # 2**63 - 1 and 2**64 - 1 are not float64s
    d = SoftDict({"a": extreme, "b": np.array([1, 2, 3], dtype=dtype)}, encoder=LexicalEncoder())
    loaded = SoftDict.load(d.save(tmp_path / "d.softkv"))
    for key in d:
        assert loaded[key].dtype == np.dtype(dtype) and loaded[key].tobytes() == d[key].tobytes()


def test_arrays_of_several_dtypes_and_big_ints_come_back_exactly(tmp_path):
    values = {"a": np.array([2**53 + 1, 7]), "b": np.array([1.5, 2.5], dtype=np.float32), "c": [2**62 + 1, 3]}
    d = SoftDict(values, encoder=LexicalEncoder())
    loaded = SoftDict.load(d.save(tmp_path / "d.softkv"))
    assert loaded["a"].dtype == np.int64 and loaded["a"][0] == 2**53 + 1
    assert loaded["b"].dtype == np.float32 and loaded["c"] == [2**62 + 1, 3] and type(loaded["c"][0]) is int


def test_a_lone_surrogate_is_refused_when_saving_naming_the_key(tmp_path):
    d = SoftDict({"a": "x\ud800", "b": "y"}, encoder=LexicalEncoder())
    with pytest.raises(TypeError, match="key 'a' holds a lone surrogate"):
        d.save(tmp_path / "d.softkv")
    assert not list(tmp_path.iterdir())


def test_a_dict_without_encoder_round_trips(tmp_path):
    d = SoftDict.from_embeddings(["x", "y"], np.eye(2), [1.0, 2.0])
    loaded = SoftDict.load(d.save(tmp_path / "v.softkv"))
    assert loaded == d and loaded.encoder is None and loaded[np.array([1.0, 0.1])] == d[np.array([1.0, 0.1])]


def test_the_bundled_model_is_named_and_found_again(tmp_path, minilm):
    d = SoftDict({"apple": 10, "banana": 5})
    loaded = SoftDict.load(d.save(tmp_path / "m.softkv"))
    assert loaded.encoder is d.encoder and loaded["fruit"] == pytest.approx(d["fruit"])


def test_a_different_encoder_is_refused_unless_reencode(tmp_path, lexical_dict, counting):
    path = lexical_dict.save(tmp_path / "d.softkv")
    with pytest.raises(EncoderMismatchError, match="reencode=True"):
        SoftDict.load(path, encoder=counting)
    with pytest.raises(EncoderMismatchError):
        SoftDict.load(path, encoder=LexicalEncoder(ngram_range=(2, 4)))
    reencoded = SoftDict.load(path, encoder=counting, reencode=True)
    assert reencoded == lexical_dict and counting.texts[-3:] == ["apple", "banana", "chair"]


def test_a_custom_encoder_must_be_passed_to_load(tmp_path):
    table = {"a": [1.0, 0.0], "b": [0.0, 1.0]}
    encoder = FunctionEncoder(lambda texts: [table.get(t, [0.5, 0.5]) for t in texts], name="table")
    path = SoftDict({"a": 1.0, "b": 2.0}, encoder=encoder).save(tmp_path / "c.softkv")
    with pytest.raises(EncoderMismatchError, match="custom encoder .*'table'.*encoder=..."):
        SoftDict.load(path)
    assert SoftDict.load(path, encoder=encoder)["a"] == 1.0


def test_unsaveable_values_are_refused_and_the_old_file_kept(tmp_path, lexical_dict):
    path = lexical_dict.save(tmp_path / "d.softkv")
    before = path.read_bytes()
    odd = SoftDict({"a": frozenset({1}), "b": frozenset({2})}, encoder=LexicalEncoder())
    with pytest.raises(TypeError, match="key 'a' is a frozenset"):
        odd.save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["d.softkv"]


def rewrite_manifest(path, change):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["manifest.json"])
    change(manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    import hashlib

    members["manifest.sha256"] = hashlib.sha256(members["manifest.json"]).hexdigest().encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_newer_versions_and_foreign_files_are_refused_clearly(tmp_path, lexical_dict):
    path = lexical_dict.save(tmp_path / "d.softkv")
    rewrite_manifest(path, lambda m: m.update(version=3))
    with pytest.raises(FormatError, match="newer softkv .*version 3.*upgrade"):
        SoftDict.load(path)
    (tmp_path / "text.txt").write_text("hello")
    (tmp_path / "empty").write_bytes(b"")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    for name in ("text.txt", "empty", "other.zip"):
        with pytest.raises(FormatError):
            SoftDict.load(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        SoftDict.load(tmp_path / "missing.softkv")


def mutate(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:  # flip bits
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == 1:  # truncate
        del data[rng.randrange(len(data)) :]
    elif kind == 2:  # overwrite a run with noise
        start = rng.randrange(len(data))
        data[start : start + rng.randint(1, 64)] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    else:  # insert noise
        start = rng.randrange(len(data))
        data[start:start] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(data)


def test_a_thousand_damaged_files_raise_valueerrors_never_crash_or_hang(tmp_path):
    lexical_dict = SoftDict({"apple": [1.0, 2.0], "banana": [3.0, 4.0], "chair": [5.0, 6.0]},
                            encoder=LexicalEncoder(n_features=64), temperature=0.2)
    lexical_dict.query_projection = 0.5 * np.eye(64)  # all three array members present
    original = lexical_dict.save(tmp_path / "d.softkv").read_bytes()
    rng = random.Random(0)
    outcomes = {"refused": 0, "intact": 0}
    slowest = 0.0
    for i in range(1000):
        damaged = tmp_path / f"damaged-{i % 10}.softkv"
        damaged.write_bytes(mutate(original, rng))
        start = time.perf_counter()
        try:
            loaded = SoftDict.load(damaged)
        except ValueError:  # FormatError or EncoderMismatchError
            outcomes["refused"] += 1
        else:  # the damage hit bytes the format does not use (e.g. a timestamp): contents intact
            assert loaded == lexical_dict and loaded.params == lexical_dict.params
            np.testing.assert_array_equal(loaded.key_embeddings, lexical_dict.key_embeddings)
            outcomes["intact"] += 1
        slowest = max(slowest, time.perf_counter() - start)
    assert sum(outcomes.values()) == 1000 and outcomes["refused"] > 900
    assert slowest < 5.0


def test_the_embedding_cache_encodes_each_text_once_across_builds(tmp_path, counting):
    catalog = {f"item {i}": float(i) for i in range(20)}
    first = SoftDict(catalog, encoder=counting, cache_dir=tmp_path)
    encoded_once = list(counting.texts)
    second = SoftDict(catalog | {"new item": 1.0}, encoder=counting, cache_dir=tmp_path)
    assert counting.texts[len(encoded_once):] == [counting.texts[0], "new item"]  # the probe, then the new key
    np.testing.assert_array_equal(second.key_embeddings[:20], first.key_embeddings)
    assert second.encoder.hits == 20 and second.encoder.misses == 1
    assert len(list(tmp_path.glob("embeddings-*.sqlite"))) == 1
    SoftDict(catalog, encoder=LexicalEncoder(), cache_dir=tmp_path)  # another encoder, another file
    assert len(list(tmp_path.glob("embeddings-*.sqlite"))) == 2


def test_a_file_saved_before_the_spelling_measure_reads_with_both_and_a_forged_measure_is_refused(tmp_path,
                                                                                               lexical_dict):
    lexical_dict.spelling_measure = "edits"
    path = lexical_dict.save(tmp_path / "d.softkv")
    assert SoftDict.load(path).spelling_measure == "edits"
    rewrite_manifest(path, lambda m: m["params"].pop("spelling_measure"))  # as files were written before it
    assert SoftDict.load(path).spelling_measure == "both"
    rewrite_manifest(path, lambda m: m["params"].update(spelling_measure="__import__('os')"))
    with pytest.raises(FormatError, match="invalid parameters: spelling_measure must be one of"):
        SoftDict.load(path)
