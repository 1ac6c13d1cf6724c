"""The save format's manifest and array members, checked whole before anything is built from them.

A store is a file people pass around, and its checksums only catch damage:
anyone can write a file whose checksums match. So every field of the
manifest is checked against the schema below, every size derived from the
file is bounded, and every ``.npy`` header is read and checked (dtype, shape,
byte count) before its array is allocated. Anything wrong raises
:class:`FormatError` naming the member and the problem.

Limits (version 1): at most :data:`MAX_KEYS` keys and as many aliases,
embeddings of width at most :data:`MAX_DIM`, values of at most
:data:`MAX_VALUE_SIZE` numbers, a lexical encoder of at most 2**20 features
and n-grams of 1 to 8 characters, nested tuple values at most
:data:`MAX_DEPTH` deep, and a file of at most :data:`MAX_FILE_BYTES`.
"""

from __future__ import annotations

import ast
import math
from typing import Any

import numpy as np

from ..errors import FormatError

__all__ = ["MAX_DIM", "MAX_FILE_BYTES", "MAX_KEYS", "check_manifest", "check_npy_header", "value_from_json",
           "value_to_json"]

MAX_KEYS = 100_000_000
MAX_DIM = 1 << 20
MAX_VALUE_SIZE = 1 << 20
MAX_DEPTH = 32
MAX_FILE_BYTES = 1 << 36  # 64 GiB
ENCODER_KINDS = ("bundled", "sentence-transformers", "lexical", "custom")
VALUE_KINDS = (None, "numeric", "categorical", "opaque")
ARRAY_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
                "float32", "float64")
MEMBER_DTYPES = {"embeddings.npy": "<f4", "values.npy": "<f8", "query_projection.npy": "<f4",
                 "alias_embeddings.npy": "<f4", "background.npy": "<f4"}


def _fail(path: Any, problem: str) -> FormatError:
    return FormatError(f"{path}: {problem}")


def check_manifest(path: Any, manifest: Any, version: int) -> None:
    """Every field of a version-``version`` manifest, against the schema; FormatError for the first wrong one."""
    if not isinstance(manifest, dict) or manifest.get("format") != "softkv":
        raise _fail(path, "not a softkv save")
    found = manifest.get("version")
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise _fail(path, f"invalid format version {found!r}")
    if found > version:
        raise FormatError(f"{path} was written by a newer softkv (format version {found}); this softkv reads up to "
                          f"version {version}: upgrade softkv to load it")
    keys = manifest.get("keys")
    if not isinstance(keys, list) or len(keys) > MAX_KEYS or not all(isinstance(k, str) for k in keys) or len(
            set(keys)) != len(keys):
        raise _fail(path, f"keys must be a list of at most {MAX_KEYS:,} distinct strings")
    _check_arrays(path, manifest.get("arrays"))
    if not isinstance(manifest.get("params"), dict):
        raise _fail(path, "parameters missing")
    _check_values(path, manifest, len(keys))
    _check_aliases(path, manifest.get("aliases", {}), set(keys))
    usage = manifest.get("usage", keys)
    if not isinstance(usage, list) or len(usage) != len(keys) or set(usage) != set(keys):
        raise _fail(path, "usage must list every key once (the order of use of a bounded dict)")
    _check_encoder(path, manifest.get("encoder"))


def _check_arrays(path: Any, arrays: Any) -> None:
    if not isinstance(arrays, dict) or "embeddings.npy" not in arrays:
        raise _fail(path, "the manifest lists no embeddings")
    unknown = sorted(set(arrays) - set(MEMBER_DTYPES))
    if unknown:
        raise _fail(path, f"unknown members {unknown}")
    for name, digest in arrays.items():
        if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise _fail(path, f"the checksum of {name} is not a SHA-256 hex digest")


def _check_values(path: Any, manifest: dict[str, Any], n_keys: int) -> None:
    kind, shape = manifest.get("value_kind"), manifest.get("value_shape")
    if kind not in VALUE_KINDS:
        raise _fail(path, f"value_kind must be one of {VALUE_KINDS}, got {kind!r:.60}")
    if kind is None:
        if n_keys:
            raise _fail(path, f"{n_keys} keys but no value kind")
        return
    if kind == "numeric":
        if not isinstance(shape, list) or len(shape) > 8 or not all(
                isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_VALUE_SIZE for n in shape) or (
                math.prod(shape) > MAX_VALUE_SIZE):
            raise _fail(path, f"value_shape must list at most 8 sizes of at most {MAX_VALUE_SIZE:,} numbers in all")
    if kind != "numeric" and shape != []:
        raise _fail(path, f"{kind} values have no value_shape ([])")
    values = manifest.get("values")
    stored_as_json = "values.npy" not in manifest["arrays"]
    if stored_as_json != isinstance(values, list) or (isinstance(values, list) and len(values) != n_keys):
        raise _fail(path, f"values must be a list of {n_keys} items exactly when they are scalars or categories")
    if not stored_as_json and (kind != "numeric" or shape == []):
        raise _fail(path, "values.npy holds numeric arrays only")
    for item in values or ():
        if kind == "numeric" and shape == [] and not _finite_number(item):
            raise _fail(path, f"a scalar value must be a finite number, got {item!r:.60}")
        value_from_json(item, path)


def _finite_number(item: Any) -> bool:
    if isinstance(item, bool) or not isinstance(item, int | float):
        return False
    try:
        return math.isfinite(float(item))
    except OverflowError:  # an int beyond float64
        return False


def value_to_json(key: str, value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON with tags for tuples, lists, dicts and numeric arrays; TypeError for anything else
    (a save never pickles)."""
    if depth > MAX_DEPTH:
        raise TypeError(f"value for key {key!r} is nested deeper than {MAX_DEPTH} (or holds itself); it cannot be "
                        "saved")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise TypeError(f"value for key {key!r} holds {value!r}; it cannot be saved")
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, tuple | list):
        return {type(value).__name__: [value_to_json(key, item, depth + 1) for item in value]}
    if isinstance(value, dict):
        return {"dict": [[value_to_json(key, k, depth + 1), value_to_json(key, v, depth + 1)]
                         for k, v in value.items()]}
    if isinstance(value, np.ndarray) and value.dtype.name in ARRAY_DTYPES and value.size <= MAX_VALUE_SIZE:
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise TypeError(f"value for key {key!r} is an array holding NaN or inf; it cannot be saved")
        return {"array": {"dtype": value.dtype.name, "shape": list(value.shape), "data": value.ravel().tolist()}}
    raise TypeError(
        f"value for key {key!r} is a {type(value).__name__}; a save holds str, numbers, bool, None, and tuples, "
        "lists, dicts and numeric arrays of them, and never pickles: store a name for such a value instead "
        "(e.g. the name of a handler, kept in a plain dict)")


def value_from_json(item: Any, path: Any = "the manifest", depth: int = 0) -> Any:
    """The value :func:`value_to_json` wrote, checked; FormatError for anything it would not write."""
    if depth > MAX_DEPTH:
        raise _fail(path, f"a value is nested deeper than {MAX_DEPTH}")
    if item is None or isinstance(item, str | bool | int):
        return item
    if isinstance(item, float):
        if not math.isfinite(item):
            raise _fail(path, "a value is NaN or inf")
        return item
    if not isinstance(item, dict) or len(item) != 1:
        raise _fail(path, f"unreadable value in manifest: {item!r:.60}")
    (tag, body), = item.items()
    if tag in ("tuple", "list") and isinstance(body, list):
        parts = [value_from_json(part, path, depth + 1) for part in body]
        return tuple(parts) if tag == "tuple" else parts
    if tag == "dict" and isinstance(body, list) and all(isinstance(p, list) and len(p) == 2 for p in body):
        pairs = [(value_from_json(k, path, depth + 1), value_from_json(v, path, depth + 1)) for k, v in body]
        try:
            return dict(pairs)
        except TypeError as error:
            raise _fail(path, "a dict value has an unhashable key") from error
    if tag == "array" and isinstance(body, dict) and set(body) == {"dtype", "shape", "data"}:
        dtype, shape, data = body["dtype"], body["shape"], body["data"]
        if dtype in ARRAY_DTYPES and isinstance(shape, list) and len(shape) <= 8 and all(
                isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_VALUE_SIZE for n in shape) and (
                isinstance(data, list) and len(data) == math.prod(shape) and all(
                isinstance(x, int | float) and not isinstance(x, bool) or dtype == "bool" and isinstance(x, bool)
                for x in data)):
            try:
                array = np.array(data, dtype=dtype).reshape(shape)
            except (OverflowError, ValueError) as error:
                raise _fail(path, f"an array value does not fit its dtype {dtype}") from error
            if array.dtype.kind != "f" or np.isfinite(array).all():
                return array
    raise _fail(path, f"unreadable value in manifest: {item!r:.60}")


def _check_aliases(path: Any, aliases: Any, keys: set[str]) -> None:
    if not isinstance(aliases, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(n, str) for n in v)
            for k, v in aliases.items()):
        raise _fail(path, "aliases must map keys to lists of names")
    names = [name for group in aliases.values() for name in group]
    if not set(aliases) <= keys:
        raise _fail(path, f"aliases name keys that are not in the file: {sorted(set(aliases) - keys)[:3]}")
    if len(set(names)) != len(names) or set(names) & keys or len(names) > MAX_KEYS:
        raise _fail(path, "every name must be unique: an alias is shared, repeated or equal to a key")


def _check_encoder(path: Any, found: Any) -> None:
    """The encoder's identity: None, or kind, name, width and a fingerprint of that width, plus the kind's fields."""
    if found is None:
        return
    if not isinstance(found, dict) or found.get("kind") not in ENCODER_KINDS:
        raise _fail(path, f"the encoder must be null or an object whose kind is one of {ENCODER_KINDS}")
    dim, vector = found.get("dim"), found.get("fingerprint")
    if not isinstance(found.get("name"), str) or not isinstance(dim, int) or isinstance(dim, bool) or not (
            1 <= dim <= MAX_DIM):
        raise _fail(path, f"the encoder needs a name and a width (dim) from 1 to {MAX_DIM:,}")
    if not isinstance(vector, list) or len(vector) != dim or not all(_finite_number(x) for x in vector):
        raise _fail(path, f"the encoder's fingerprint must be {dim} finite numbers")
    kind = found["kind"]
    if kind == "bundled" and not isinstance(found.get("bundled", "minilm"), str):
        raise _fail(path, "a bundled encoder is named by a string")
    if kind == "sentence-transformers" and (not isinstance(found.get("source"), str) or not isinstance(
            found.get("normalize", True), bool)):
        raise _fail(path, "a sentence-transformers encoder needs a source (a string) and normalize (a boolean)")
    if kind == "lexical":
        ngrams, n_features = found.get("ngram_range"), found.get("n_features")
        if not (isinstance(ngrams, list) and len(ngrams) == 2 and all(
                isinstance(n, int) and not isinstance(n, bool) for n in ngrams) and 1 <= ngrams[0] <= ngrams[1] <= 8):
            raise _fail(path, "a lexical encoder's ngram_range must be [low, high] with 1 <= low <= high <= 8")
        if n_features != dim:
            raise _fail(path, "a lexical encoder's n_features must equal its width")


def check_npy_header(path: Any, name: str, data: bytes, shape: tuple[int | None, ...]) -> None:
    """The header of ``.npy`` member ``name``: its dtype, a shape matching ``shape`` (None: any size, bounded)
    and a byte count that matches, read before the array is allocated."""
    if data[:6] != b"\x93NUMPY" or len(data) < 10:
        raise _fail(path, f"{name} is not a .npy array")
    major = data[6]
    size_bytes = 2 if major == 1 else 4
    if major not in (1, 2, 3):
        raise _fail(path, f"{name}: unknown .npy version {major}")
    header_length = int.from_bytes(data[8:8 + size_bytes], "little")
    start = 8 + size_bytes
    try:
        header = ast.literal_eval(data[start:start + header_length].decode("latin1"))
    except (ValueError, SyntaxError, MemoryError, RecursionError) as error:
        raise _fail(path, f"{name}: unreadable .npy header") from error
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise _fail(path, f"{name}: unreadable .npy header")
    found = header["shape"]
    if header["descr"] != MEMBER_DTYPES[name] or header["fortran_order"] is not False:
        raise _fail(path, f"{name} must be C-ordered {MEMBER_DTYPES[name]}, got {header['descr']!r:.40}")
    if not isinstance(found, tuple) or len(found) != len(shape) or not all(
            isinstance(n, int) and (want is None and 0 <= n <= MAX_KEYS or n == want) for n, want in zip(found, shape)):
        raise _fail(path, f"{name} has shape {found!r:.60}; expected {tuple('n' if n is None else n for n in shape)}")
    if len(data) - start - header_length != math.prod(found) * np.dtype(MEMBER_DTYPES[name]).itemsize:
        raise _fail(path, f"{name}: its data does not match its shape {found}")
