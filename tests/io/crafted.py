"""Crafted stores: valid softkv saves changed on purpose, with every checksum recomputed.

Damage is caught by checksums; a crafted file is not, so these exercise the
schema and size checks of softkv.io. Each class of the untrusted-store
issue has a case here; ``random_case`` draws one with random parameters for
the fuzz run (benchmarks/untrusted.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from softkv import LexicalEncoder, SoftDict

N_FEATURES = 64  # a small lexical encoder: crafted stores stay a few KB


def base_store(path: Path, kind: str = "scalar") -> Path:
    """A small valid store: three keys and an alias, scalar, vector or categorical values."""
    values = {"scalar": [1.0, 2.0, 3.0], "vector": [np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([5.0, 6.0])],
              "categorical": ["red", ("a", 1), "blue"]}[kind]
    d = SoftDict(dict(zip(["apple", "banana", "chair"], values)), encoder=LexicalEncoder(n_features=N_FEATURES))
    d.add("United States", values[0], aliases=["USA"])
    return d.save(path)


def members_of(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(members.pop("manifest.json")), {k: v for k, v in members.items() if k.endswith(".npy")}


def write_store(path: Path, manifest: Any, arrays: dict[str, bytes], manifest_text: str | None = None) -> Path:
    """A store with these contents and matching checksums (for the arrays the manifest lists)."""
    if isinstance(manifest, dict) and isinstance(manifest.get("arrays"), dict):
        manifest["arrays"] = {name: hashlib.sha256(arrays[name]).hexdigest() if name in arrays else digest
                              for name, digest in manifest["arrays"].items()}
    text = manifest_text if manifest_text is not None else json.dumps(manifest)
    data = text.encode("utf-8")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", data)
        archive.writestr("manifest.sha256", hashlib.sha256(data).hexdigest())
        for name, member in arrays.items():
            archive.writestr(name, member)
    return path


def npy(array: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_with_header_of(n_bytes: int) -> bytes:
    """A version-2.0 .npy whose header is ``n_bytes`` of a literal that is costly to parse (a shape of n_bytes/2
    sizes: parsing it whole costs hundreds of times its size); numpy reads headers of at most 10,000 bytes."""
    start = b"{'descr': '<f4', 'fortran_order': False, 'shape': ("
    end = b"), }"
    body = b"0," * ((n_bytes - len(start) - len(end) - 1) // 2)
    header = start + body + end
    header += b" " * (n_bytes - 1 - len(header)) + b"\n"
    return b"\x93NUMPY\x02\x00" + len(header).to_bytes(4, "little") + header


def npy_claiming(shape: tuple[int, ...], descr: str = "<f4", payload: bytes = b"\0" * 64) -> bytes:
    """A .npy header that claims ``shape`` followed by a few bytes: a file cannot hold what it claims."""
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin1")
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + payload


Change = Callable[[dict[str, Any], dict[str, bytes]], Any]


def _set(path: list[Any], value: Any) -> Change:
    def change(manifest: dict[str, Any], arrays: dict[str, bytes]) -> None:
        target = manifest
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return change


def _array(name: str, make: Callable[[], bytes]) -> Change:
    def change(manifest: dict[str, Any], arrays: dict[str, bytes]) -> None:
        arrays[name] = make()
        manifest["arrays"].setdefault(name, "0" * 64)
    return change


W = N_FEATURES
CASES: dict[str, Change] = {
    # 3: the alias table
    "alias shared by two keys": _set(["aliases", "apple"], ["USA"]),
    "alias equal to a key": _set(["aliases", "United States"], ["apple"]),
    "alias of a missing key": _set(["aliases", "pear"], ["PEAR"]),
    "NaN alias row": _array("alias_embeddings.npy", lambda: npy(np.full((1, W), np.nan, np.float32))),
    "alias rows of the wrong width": _array("alias_embeddings.npy", lambda: npy(np.ones((1, W + 1), np.float32))),
    "1-D alias array": _array("alias_embeddings.npy", lambda: npy(np.ones(W, np.float32))),
    "aliases not a mapping": _set(["aliases"], [["USA"]]),
    # 4: sizes from the file
    "huge n_features": _set(["encoder", "n_features"], 2**26),
    "huge lexical width": lambda m, a: m["encoder"].update(n_features=2**29, dim=2**29),
    "embeddings claiming 10**12 rows": _array("embeddings.npy", lambda: npy_claiming((10**12, W))),
    "embeddings claiming a huge width": _array("embeddings.npy", lambda: npy_claiming((4, 2**40))),
    "values claiming a huge shape": _set(["value_shape"], [2**40]),
    "background claiming 10**9 rows": _array("background.npy", lambda: npy_claiming((10**9, W))),
    "a 4 MB .npy header": _array("embeddings.npy", lambda: npy_with_header_of(4 << 20)),
    "unknown manifest fields": lambda m, a: m.update(padding="x" * 100_000, more=[0] * 1000),
    "max_keys below the number of keys": _set(["params", "max_keys"], 2),
    "huge finite background rows": _array("background.npy", lambda: npy(np.full((258, W), 1e38, np.float32))),
    "huge finite projection": _array("query_projection.npy", lambda: npy(np.eye(W, dtype=np.float32) * 1e20)),
    "an int array value holding 1.5": lambda m, a: m["values"].__setitem__(
        0, {"array": {"dtype": "int64", "shape": [1], "data": [1.5]}}),
    "an int array value beyond int8": lambda m, a: m["values"].__setitem__(
        0, {"array": {"dtype": "int8", "shape": [1], "data": [300]}}),
    # 5: malformed metadata and members
    "encoder is a list": _set(["encoder"], [1, 2]),
    "encoder without fingerprint": lambda m, a: m["encoder"].pop("fingerprint"),
    "encoder of unknown kind": _set(["encoder", "kind"], "pickle"),
    "ngram_range of one number": _set(["encoder", "ngram_range"], [3]),
    "ngram_range reversed": _set(["encoder", "ngram_range"], [5, 2]),
    "fingerprint with strings": _set(["encoder", "fingerprint"], ["x"] * W),
    "scalar value 10**400": lambda m, a: m["values"].__setitem__(0, 10**400),
    "value NaN constant": None,  # written as raw JSON text below
    "values too few": lambda m, a: m["values"].pop(),
    "value a list": lambda m, a: m["values"].__setitem__(0, [1, 2]),
    "deeply nested tuple": lambda m, a: m["values"].__setitem__(0, json.loads('{"tuple": [' * 200 + "1" + "]}" * 200)),
    "keys not strings": _set(["keys"], [1, 2, 3, 4]),
    "duplicate keys": _set(["keys"], ["apple", "apple", "chair", "United States"]),
    "object-dtype embeddings": _array("embeddings.npy", lambda: npy_claiming((4, W), "|O")),
    "object-dtype values": _array("values.npy", lambda: npy_claiming((4, 2), "|O")),
    "float64 embeddings": _array("embeddings.npy", lambda: npy(np.zeros((4, W), np.float64))),
    "fortran-order embeddings": _array("embeddings.npy", lambda: npy(np.asfortranarray(np.ones((4, W), np.float32)))),
    "NaN embeddings": _array("embeddings.npy", lambda: npy(np.full((4, W), np.nan, np.float32))),
    "inf projection": _array("query_projection.npy", lambda: npy(np.full((W, W), np.inf, np.float32))),
    "truncated array": lambda m, a: a.__setitem__("embeddings.npy", a["embeddings.npy"][:-8]),
    "not an array": _array("embeddings.npy", lambda: b"not numpy at all"),
    "unknown member": _array("payload.pkl", lambda: b"\x80\x04K\x01."),
    "checksum not hex": None,  # written below: write_store would recompute it
    "bad parameters": _set(["params", "temperature"], -1),
    "unknown parameter": _set(["params", "exec"], "rm -rf /"),
    "version 0": _set(["version"], 0),
    # 6: a model named by the file
    "a hub model named": lambda m, a: m.update(encoder={**m["encoder"], "kind": "sentence-transformers",
                                                        "source": "some-org/some-model", "normalize": True}),
    "a local path named": lambda m, a: m.update(encoder={**m["encoder"], "kind": "sentence-transformers",
                                                         "source": "/etc", "normalize": True}),
    "an unknown bundled encoder": lambda m, a: m.update(encoder={**m["encoder"], "kind": "bundled",
                                                                 "bundled": "https://example.com/model"}),
}


def crafted(folder: Path, label: str, kind: str = "scalar") -> Path:
    """The store of case ``label`` in ``folder``."""
    path = base_store(folder / f"{abs(hash(label))}.softkv", kind)
    manifest, arrays = members_of(path)
    if label in ("value NaN constant", "checksum not hex"):
        write_store(path, manifest, arrays)  # the checksums first, then the text changed
        text = json.dumps(manifest)
        text = (text.replace('"values": [', '"values": [NaN, ', 1) if label == "value NaN constant"
                else text.replace(manifest["arrays"]["embeddings.npy"], "z" * 64))
        return write_store(path, manifest, arrays, manifest_text=text)
    CASES[label](manifest, arrays)
    return write_store(path, manifest, arrays)


def random_case(folder: Path, rng: random.Random, index: int) -> tuple[str, Path]:
    """A random crafted store: a case from CASES, or a random field of the manifest set to a random value."""
    kind = rng.choice(["scalar", "vector", "categorical"])
    path = base_store(folder / f"fuzz{index}.softkv", kind)
    manifest, arrays = members_of(path)
    if rng.random() < 0.5:
        label = rng.choice([c for c, change in CASES.items() if change is not None])
        try:
            CASES[label](manifest, arrays)
        except (KeyError, IndexError, TypeError, AttributeError):
            pass  # this base has no such field: the file is still a crafted one
        return label, write_store(path, manifest, arrays)
    field = rng.choice(["keys", "values", "value_kind", "value_shape", "aliases", "encoder", "params", "version",
                        "arrays"])
    junk = rng.choice([None, -1, 0, 2**31, 10**30, 1e308, "x", "", [], {}, [None], [1e308] * 3, {"a": [1]},
                       ["apple"] * 4, [[1, 2]] * 4, True])
    if rng.random() < 0.5 and isinstance(manifest.get(field), dict) and manifest[field]:
        manifest[field][rng.choice(sorted(manifest[field]))] = junk
    elif rng.random() < 0.5 and isinstance(manifest.get(field), list) and manifest[field]:
        manifest[field][rng.randrange(len(manifest[field]))] = junk
    else:
        manifest[field] = junk
    if rng.random() < 0.3:
        name = rng.choice(sorted(arrays))
        shape = tuple(rng.choice([0, 1, 4, W, 2**20, 10**12]) for _ in range(rng.randint(1, 3)))
        arrays[name] = npy_claiming(shape, rng.choice(["<f4", "<f8", "|O", "<i8", ">f4"]))
    return f"{field} = {junk!r:.30}", write_store(path, manifest, arrays)
