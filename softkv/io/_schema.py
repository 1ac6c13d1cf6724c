"""The save format's manifest and array members, checked whole before anything is built from them.

A store is a file people pass around, and its checksums only catch damage:
anyone can write a file whose checksums match. So the manifest is decoded
once into a :class:`Manifest`, every field checked against the schema below
in one pass (an unknown field is refused), every size derived from the file
is bounded, and every ``.npy`` header is read by numpy's own header reader
with its size limit and checked (dtype, shape, byte count) before its array
is allocated. Anything wrong raises :class:`FormatError` naming the member
and the problem.

Limits: at most :data:`MAX_KEYS` keys and as many aliases, embeddings of
width at most :data:`MAX_DIM`, values of at most :data:`MAX_VALUE_SIZE`
numbers, a lexical encoder of at most 2**20 features and n-grams of 1 to 8
characters, nested values at most :data:`MAX_DEPTH` deep, ``.npy`` headers of
at most :data:`MAX_NPY_HEADER` bytes, a manifest of at most
:data:`MAX_MANIFEST_BYTES` and a file of at most :data:`MAX_FILE_BYTES`.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FormatError

__all__ = ["MAX_DIM", "MAX_FILE_BYTES", "MAX_KEYS", "MAX_MANIFEST_BYTES", "Manifest", "read_manifest", "read_npy",
           "value_from_json", "value_to_json"]

MAX_KEYS = 100_000_000
MAX_DIM = 1 << 20
MAX_VALUE_SIZE = 1 << 20
MAX_DEPTH = 32
MAX_NPY_HEADER = 10_000  # numpy's own default for headers it reads from files it does not trust
MAX_MANIFEST_BYTES = 1 << 30
MAX_FILE_BYTES = 1 << 36  # 64 GiB
ENCODER_KINDS = ("bundled", "sentence-transformers", "lexical", "custom")
VALUE_KINDS = (None, "numeric", "categorical", "opaque")
ARRAY_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
                "float32", "float64")
VALUE_DTYPES = tuple(np.dtype(name).newbyteorder("<").str for name in ARRAY_DTYPES if name != "bool")
MEMBER_DTYPES = {"embeddings.npy": ("<f4",), "values.npy": VALUE_DTYPES, "query_projection.npy": ("<f4",),
                 "alias_embeddings.npy": ("<f4",), "background.npy": ("<f4",)}
FIELDS = frozenset({"format", "version", "keys", "value_kind", "value_shape", "values", "params", "encoder",
                    "aliases", "usage", "arrays"})


@dataclass(frozen=True)
class Manifest:
    """A manifest, checked: what a save holds besides its arrays (values decoded unless in ``values.npy``)."""

    version: int
    keys: list[str]
    value_kind: str | None
    value_shape: tuple[int, ...] | None
    values: list[Any] | None
    params: dict[str, Any]
    encoder: dict[str, Any] | None
    aliases: dict[str, list[str]]
    usage: list[str] | None
    arrays: dict[str, str]

    @property
    def n_aliases(self) -> int:
        return sum(len(names) for names in self.aliases.values())


def _fail(path: Any, problem: str) -> FormatError:
    return FormatError(f"{path}: {problem}")


def read_manifest(path: Any, manifest: Any, version: int) -> Manifest:
    """Every field of a manifest of at most version ``version``, against the schema, in one pass; FormatError for
    the first wrong one."""
    if not isinstance(manifest, dict) or manifest.get("format") != "softkv":
        raise _fail(path, "not a softkv save")
    found = manifest.get("version")
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise _fail(path, f"invalid format version {found!r:.40}")
    if found > version:
        raise FormatError(f"{path} was written by a newer softkv (format version {found}); this softkv reads up to "
                          f"version {version}: upgrade softkv to load it")
    unknown = sorted(set(manifest) - FIELDS)
    if unknown:
        raise _fail(path, f"the manifest has fields a softkv save does not: {', '.join(map(repr, unknown[:5]))}")
    keys = manifest.get("keys")
    if not isinstance(keys, list) or len(keys) > MAX_KEYS or not all(isinstance(k, str) for k in keys) or len(
            set(keys)) != len(keys):
        raise _fail(path, f"keys must be a list of at most {MAX_KEYS:,} distinct strings")
    arrays = _check_arrays(path, manifest.get("arrays"))
    params = manifest.get("params")
    if not isinstance(params, dict):
        raise _fail(path, "parameters missing")
    values = _check_values(path, manifest, len(keys))
    aliases = _check_aliases(path, manifest.get("aliases", {}), set(keys))
    usage = manifest.get("usage")
    if usage is not None and (not isinstance(usage, list) or len(usage) != len(keys) or set(usage) != set(keys)):
        raise _fail(path, "usage must list every key once (the order of use of a bounded dict)")
    max_keys = params.get("max_keys")
    if isinstance(max_keys, int) and not isinstance(max_keys, bool) and len(keys) > max_keys:
        raise _fail(path, f"it holds {len(keys):,} keys but max_keys is {max_keys:,}: a SoftDict never holds more "
                          "keys than its max_keys, and loading would have to drop some")
    shape = manifest.get("value_shape")
    return Manifest(found, keys, manifest.get("value_kind"), None if shape is None else tuple(shape), values, params,
                    _check_encoder(path, manifest.get("encoder")), aliases, usage, arrays)


def _check_arrays(path: Any, arrays: Any) -> dict[str, str]:
    if not isinstance(arrays, dict) or "embeddings.npy" not in arrays:
        raise _fail(path, "the manifest lists no embeddings")
    unknown = sorted(set(arrays) - set(MEMBER_DTYPES))
    if unknown:
        raise _fail(path, f"unknown members {unknown}")
    for name, digest in arrays.items():
        if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise _fail(path, f"the checksum of {name} is not a SHA-256 hex digest")
    return arrays


def _check_values(path: Any, manifest: dict[str, Any], n_keys: int) -> list[Any] | None:
    """The values decoded from the manifest (None when they are in values.npy), each checked once."""
    kind, shape = manifest.get("value_kind"), manifest.get("value_shape")
    if kind not in VALUE_KINDS:
        raise _fail(path, f"value_kind must be one of {VALUE_KINDS}, got {kind!r:.60}")
    if kind is None:
        if n_keys:
            raise _fail(path, f"{n_keys} keys but no value kind")
        if manifest.get("values", []) != []:
            raise _values_refused(path, n_keys)
        return []
    if kind == "numeric":
        if not isinstance(shape, list) or len(shape) > 8 or not all(
                isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_VALUE_SIZE for n in shape) or (
                math.prod(shape) > MAX_VALUE_SIZE):
            raise _fail(path, f"value_shape must list at most 8 sizes of at most {MAX_VALUE_SIZE:,} numbers in all")
    if kind != "numeric" and shape != []:
        raise _fail(path, f"{kind} values have no value_shape ([])")
    values = manifest.get("values")
    stored_as_json = "values.npy" not in manifest["arrays"]
    if not stored_as_json:
        if kind != "numeric" or shape == [] or values is not None:
            raise _fail(path, "values.npy holds numeric arrays only, and then the manifest lists no values")
        return None
    if not isinstance(values, list) or len(values) != n_keys:
        raise _values_refused(path, n_keys)
    if kind == "numeric" and shape == []:
        for item in values:
            if not _finite_number(item):
                raise _fail(path, f"a scalar value must be a finite number, got {item!r:.60}")
        return list(values)
    return [value_from_json(item, path) for item in values]


def _values_refused(path: Any, n_keys: int) -> FormatError:
    return _fail(path, f"values must be a list of {n_keys} items exactly when they are not numeric arrays")


def _finite_number(item: Any) -> bool:
    if isinstance(item, bool) or not isinstance(item, int | float):
        return False
    try:
        return math.isfinite(float(item))
    except OverflowError:  # an int beyond float64
        return False


def check_saveable(key: str, value: Any) -> None:
    """A TypeError, saying why, for a value no store file can hold (what :func:`save` would refuse)."""
    value_to_json(key, value)


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
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise TypeError(f"value for key {key!r} holds a lone surrogate ({value!r:.40}), which no file can hold "
                            "as UTF-8 text; it cannot be saved") from None
        return value
    if value is None or isinstance(value, bool | int | float):
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


_ELEMENT = {  # what value_to_json writes for an element of an array of each dtype (by its first letter)
    "b": lambda x: isinstance(x, bool),
    "i": lambda x: isinstance(x, int) and not isinstance(x, bool),
    "u": lambda x: isinstance(x, int) and not isinstance(x, bool),
    "f": lambda x: isinstance(x, int | float) and not isinstance(x, bool),
}


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
                isinstance(data, list) and len(data) == math.prod(shape) and all(map(_ELEMENT[dtype[0]], data))):
            try:
                array = np.array(data, dtype=dtype).reshape(shape)
            except (OverflowError, ValueError) as error:
                raise _fail(path, f"an array value does not fit its dtype {dtype}") from error
            if array.dtype.kind != "f" or np.isfinite(array).all():
                return array
    raise _fail(path, f"unreadable value in manifest: {item!r:.60}")


def _check_aliases(path: Any, aliases: Any, keys: set[str]) -> dict[str, list[str]]:
    if not isinstance(aliases, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(n, str) for n in v)
            for k, v in aliases.items()):
        raise _fail(path, "aliases must map keys to lists of names")
    names = [name for group in aliases.values() for name in group]
    if not set(aliases) <= keys:
        raise _fail(path, f"aliases name keys that are not in the file: {sorted(set(aliases) - keys)[:3]}")
    if len(set(names)) != len(names) or set(names) & keys or len(names) > MAX_KEYS:
        raise _fail(path, "every name must be unique: an alias is shared, repeated or equal to a key")
    return aliases


def _check_encoder(path: Any, found: Any) -> dict[str, Any] | None:
    """The encoder's identity: None, or kind, name, width and a fingerprint of that width, plus the kind's fields."""
    if found is None:
        return None
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
    return found


def read_npy(path: Any, name: str, data: bytes, shape: tuple[int | None, ...]) -> np.ndarray:
    """The array in ``.npy`` member ``name``: its header read by numpy's reader (at most MAX_NPY_HEADER bytes,
    versions 1.0 and 2.0), its dtype, a shape matching ``shape`` (None: any size, bounded) and a byte count that
    matches, all checked before the array is allocated."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        reader = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}[version]
        found, fortran_order, dtype = reader(stream, max_header_size=MAX_NPY_HEADER)
    except (ValueError, KeyError, TypeError, SyntaxError, OverflowError, RecursionError, MemoryError) as error:
        raise _fail(path, f"{name} is not a .npy array of format 1.0 or 2.0 with a header of at most "
                          f"{MAX_NPY_HEADER:,} bytes ({type(error).__name__})") from error
    if dtype.str not in MEMBER_DTYPES[name] or fortran_order:
        raise _fail(path, f"{name} must be C-ordered {' or '.join(MEMBER_DTYPES[name])}, got {dtype.str!r:.40}")
    if len(found) != len(shape) or not all(want is None and 0 <= n <= MAX_KEYS or n == want
                                           for n, want in zip(found, shape)):
        raise _fail(path, f"{name} has shape {found!r:.60}; expected {tuple('n' if n is None else n for n in shape)}")
    count, start = math.prod(found), stream.tell()
    if len(data) - start != count * dtype.itemsize:
        raise _fail(path, f"{name}: its data does not match its shape {found}")
    return np.frombuffer(data, dtype, count, start).reshape(found).copy()
