"""Smaller ways an ordinary call could lose data or mislead: each reproduction, refused or handled."""

import numpy as np
import pytest

from softkv import LexicalEncoder, SoftDict
from softkv.errors import EncoderMismatchError, FormatError


def lexical(**options):
    return SoftDict({"apple": 1.0, "banana": 2.0, "chair": 3.0}, encoder=LexicalEncoder(n_features=64), **options)


def test_an_on_evict_that_raises_still_hears_of_every_eviction():
    told = []

    def on_evict(key, value):
        told.append(key)
        raise RuntimeError(f"cannot archive {key}")

    d = lexical(max_keys=3, on_evict=on_evict)
    with pytest.raises(RuntimeError, match="cannot archive apple"):
        d.update({"x": 1.0, "y": 2.0})
    assert told == ["apple", "banana"] and d.evictions == 2 and list(d) == ["chair", "x", "y"]


def test_a_dict_holding_itself_has_a_repr_and_equals_itself():
    d = lexical()
    d["self"] = d
    assert "'self': SoftDict({...})" in repr(d) and d == d
    with pytest.raises(TypeError, match="key 'self' is a SoftDict"):
        d.save("unused.softkv")


def test_saving_into_a_missing_folder_names_the_folder_not_a_temporary_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"folder .*missing does not exist; create it first") as caught:
        lexical().save(tmp_path / "missing" / "d.softkv")
    assert ".tmp" not in str(caught.value)


def test_saving_onto_a_folder_says_it_is_a_folder_and_writes_nothing_beside_it(tmp_path):
    folder = tmp_path / "stores"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"stores: it is a folder; name a file in it") as caught:
        lexical().save(folder)
    assert ".tmp" not in str(caught.value) and sorted(tmp_path.iterdir()) == [folder] and not any(folder.iterdir())


def test_loading_a_folder_says_it_is_a_folder(tmp_path):
    with pytest.raises(FormatError, match="is not a regular file \\(a folder") as caught:
        SoftDict.load(tmp_path)
    assert "bytes" not in str(caught.value)


def test_reencoding_refuses_to_carry_a_projection_into_another_encoders_space(tmp_path):
    d = lexical()
    d.query_projection = np.eye(64) * 2
    path = d.save(tmp_path / "p.softkv")
    with pytest.raises(EncoderMismatchError, match="query projection .* reencode=True cannot carry it"):
        SoftDict.load(path, encoder=LexicalEncoder(n_features=32), reencode=True)
    d.query_projection = None
    loaded = SoftDict.load(d.save(path), encoder=LexicalEncoder(n_features=32), reencode=True)
    assert loaded == d and loaded.key_embeddings.shape == (3, 32)


def test_a_projection_set_on_an_empty_dict_is_checked_when_keys_arrive(tmp_path):
    d = SoftDict(encoder=LexicalEncoder(n_features=64))
    d.query_projection = np.eye(5)
    with pytest.raises(ValueError, match="width 64.*width 5"):
        d["apple"] = 1.0
    assert len(d) == 0
    d.query_projection = None
    d["apple"] = 1.0
    assert SoftDict.load(d.save(tmp_path / "e.softkv")) == d
