"""Saving and loading a SoftDict: one zip file, no pickle, atomic, checked.

The format (version 2) is a zip archive of uncompressed members:

- ``manifest.json``: ``{"format": "softkv", "version": 2, ...}`` with the keys
  in order, the value kind and shape, the values as tagged JSON (strings,
  numbers, bool, None, and tuples, lists, dicts and numeric arrays of them:
  a value of any other type is refused when saving, never pickled), the
  lookup parameters, the usage order (with ``max_keys``), the encoder's identity (kind, name, width and a
  fingerprint: its embedding of a fixed probe sentence), and the SHA-256 of
  every array member;
- ``manifest.sha256``: the SHA-256 of ``manifest.json``;
- ``embeddings.npy`` (n_keys, d) float32, rows in key order;
- ``values.npy`` (n_keys, *shape), for array values all of one dtype (kept: an int64 comes back exact);
- ``query_projection.npy`` (d, d) float32, when the dict has one;
- ``alias_embeddings.npy`` (n_aliases, d) float32, when the dict has aliases;
- ``background.npy`` (258, d) float32: the encoder's embeddings of the
  background texts (:mod:`softkv.background`), so that a loaded dict encodes
  nothing before its first answer.

Array headers are read by numpy's header reader with its size limit, the
arrays from the bytes that follow, and JSON is plain data: loading
never runs code. Saving writes a temporary file in the target's folder,
fsyncs it and renames it over the target, so a crash leaves either the old
file or the new one, never half of one. Anything wrong with a file raises
:class:`FormatError` (a ValueError).
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import stat
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..encoders import BUNDLED, LexicalEncoder, SentenceTransformerEncoder, as_encoder, bundled_encoder, fingerprint
from ..encoders._registry import identity
from ..errors import EncoderMismatchError, FormatError
from ..params import Params
from ..read import BACKGROUND_TEXTS, Background, Readable
from ..store import Contents, check_vectors
from ..store._values import NUMERIC
from ._files import open_regular
from ._schema import MAX_DIM, MAX_FILE_BYTES, MAX_MANIFEST_BYTES, Manifest, read_manifest, read_npy, value_to_json

T = TypeVar("T")
FORMAT = "softkv"
VERSION = 2  # 2: list, dict and array values (tags in the manifest); version 1 files load as they did
FINGERPRINT_MIN_COSINE = 0.999

__all__ = ["load", "read_file", "save"]


# ---- encoder identity ----
def _encoder_from_identity(found: dict[str, Any] | None, load_model: bool) -> Any:
    if found is None:
        return None
    kind = found.get("kind")
    if kind == "bundled":
        name = found.get("bundled", "minilm")
        if name not in BUNDLED:
            raise EncoderMismatchError(f"this file names a bundled encoder {name!r} that this softkv does not ship "
                                       f"(it ships {', '.join(BUNDLED)}); pass one: SoftDict.load(path, encoder=...)")
        return bundled_encoder(name)
    if kind == "sentence-transformers":
        if not load_model:  # a file may come from anyone: the model it names is not loaded unless asked
            raise EncoderMismatchError(
                f"this file was embedded with the sentence-transformers model {found['source']!r}; softkv does not "
                "load a model named by a file unless told: pass the model, SoftDict.load(path, encoder=...), or "
                "load_model=True to load that name from this machine (never from the model hub)")
        return SentenceTransformerEncoder(str(found["source"]), normalize=bool(found.get("normalize", True)),
                                          local_files_only=True)
    if kind == "lexical":
        low, high = found["ngram_range"]
        return LexicalEncoder(ngram_range=(int(low), int(high)), n_features=int(found["n_features"]))
    raise EncoderMismatchError(
        f"this file was saved with a custom encoder ({found.get('name')!r}); pass it: "
        "SoftDict.load(path, encoder=...)"
    )


def check_fingerprint(found: dict[str, Any] | None, encoder: Any) -> bool:
    """True when ``encoder`` embeds the probe as the saved encoder did (cosine >= 0.999)."""
    if found is None or encoder is None:
        return found is None and encoder is None
    saved = np.asarray(found["fingerprint"], dtype=np.float64)
    now = fingerprint(encoder).astype(np.float64)
    if saved.shape != now.shape:
        return False
    cosine = float(saved @ now) / max(float(np.linalg.norm(saved) * np.linalg.norm(now)), 1e-30)
    return cosine >= FINGERPRINT_MIN_COSINE


# ---- writing ----
def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def save(d: Readable, path: str | os.PathLike[str]) -> Path:
    """Write SoftDict ``d`` to ``path`` atomically (a snapshot, written without holding its lock); returns the path.

    >>> import tempfile, pathlib
    >>> from softkv import SoftDict
    >>> d = SoftDict({"apple": 10, "banana": 5}, temperature=0.1)
    >>> path = d.save(pathlib.Path(tempfile.mkdtemp()) / "fruit.softkv")
    >>> SoftDict.load(path) == d, SoftDict.load(path).temperature
    (True, 0.1)
    """
    memory, params = d.snapshot(spelling=False)
    path = Path(path)
    keys = list(memory.stored)
    rows = [memory.row_of[key] for key in keys]
    spec = memory.spec
    aliases = dict(memory.aliases_of)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "keys": keys,
        "value_kind": None if spec is None else spec.kind,
        "value_shape": None if spec is None else list(spec.shape),
        "params": params.saved(),
        "encoder": identity(memory.encoder),
        "aliases": aliases,
    }
    if params.max_keys is not None:
        manifest["usage"] = list(memory.usage)  # a bounded dict's order of use, least recent first
    arrays = {"embeddings.npy": memory.embeddings[rows] if keys else np.empty((0, 0), np.float32)}
    stored = [memory.stored[key] for key in keys]
    if spec is not None and spec.kind == NUMERIC and spec.shape != () and all(
            isinstance(v, np.ndarray) and v.dtype == stored[0].dtype for v in stored):
        arrays["values.npy"] = np.stack(stored)  # arrays of numbers of one dtype: one member, in that dtype
    elif spec is not None:
        manifest["values"] = [value_to_json(key, value) for key, value in zip(keys, stored)]
    if memory.projection is not None:
        arrays["query_projection.npy"] = memory.projection
    if memory.background is not None:
        arrays["background.npy"] = memory.background.embeddings
    if aliases:
        alias_row = {name: i for i, name in enumerate(memory.alias_names)}
        arrays["alias_embeddings.npy"] = memory.alias_embeddings[[alias_row[n] for g in aliases.values() for n in g]]
    members = {name: _npy_bytes(array) for name, array in arrays.items()}
    manifest["arrays"] = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, allow_nan=False).encode("utf-8")
    members = {
        "manifest.json": manifest_bytes,
        "manifest.sha256": hashlib.sha256(manifest_bytes).hexdigest().encode("ascii"),
        **members,
    }
    _atomic_write(path, members)
    return path


STALE_SECONDS = 60.0
"""A save's temporary file untouched for this long belongs to a save that was killed: the next save removes it."""


def _file_mode(path: Path) -> int:
    """The permissions of a new file here (0666 less the umask), or those of the file being replaced."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        pass
    try:  # Linux states the umask; reading it this way changes nothing for other threads
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (a thread creating a file meanwhile gets 022)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_write(path: Path, members: dict[str, bytes]) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():  # said before anything is written: the replace at the end would fail on it
        raise IsADirectoryError(f"cannot save to {path}: it is a folder; name a file in it, e.g. "
                                f"{path / 'store.softkv'}")
    if not folder.is_dir():  # said here: mkstemp would name a temporary file the caller never asked for
        raise FileNotFoundError(f"cannot save to {path}: the folder {folder} does not exist; create it first "
                                "(Path(folder).mkdir(parents=True))")
    _remove_stale_temporaries(folder, path.name)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
                for name, data in members.items():
                    archive.writestr(name, data)
            handle.flush()
            os.fchmod(handle.fileno(), _file_mode(path))  # mkstemp makes it 0600, whatever the umask
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)  # make the rename itself durable
    finally:
        os.close(directory)


def _remove_stale_temporaries(folder: Path, name: str) -> None:
    """Delete ``.NAME.*.tmp`` files in ``folder`` not modified for :data:`STALE_SECONDS` (a live save writes
    its file continuously, so an old one is a killed save's)."""
    now = time.time()
    for leftover in folder.glob(f".{glob.escape(name)}.*.tmp"):
        try:
            if leftover.is_file() and not leftover.is_symlink() and now - leftover.stat().st_mtime > STALE_SECONDS:
                leftover.unlink()
        except OSError:
            pass  # gone meanwhile, or not ours to remove: the save goes on


# ---- reading ----
def read_file(path: str | os.PathLike[str]) -> tuple[Manifest, dict[str, np.ndarray]]:
    """The manifest and arrays of a save, all checked (:class:`Manifest`); FormatError for anything wrong.

    Only a regular file is read (a FIFO or a device, or a link to one, is
    refused before any byte is read), of at most ``MAX_FILE_BYTES``.
    """
    try:
        with _open_regular(path) as handle, zipfile.ZipFile(handle) as archive:
            archive_size = os.fstat(handle.fileno()).st_size
            infos = {info.filename: info for info in archive.infolist()}
            for info in infos.values():  # stored members no larger than the file: no zip bombs
                if info.compress_type != zipfile.ZIP_STORED or info.file_size > archive_size:
                    raise FormatError(f"{path}: member {info.filename!r} is compressed or larger than the file")
            if "manifest.json" not in infos or "manifest.sha256" not in infos:
                raise FormatError(f"{path} is not a softkv save (no manifest)")
            if infos["manifest.json"].file_size > MAX_MANIFEST_BYTES:
                raise FormatError(f"{path}: a manifest over {MAX_MANIFEST_BYTES:,} bytes")
            manifest_bytes = archive.read("manifest.json")
            if hashlib.sha256(manifest_bytes).hexdigest().encode("ascii") != archive.read("manifest.sha256"):
                raise FormatError(f"{path}: the manifest does not match its checksum")
            manifest = read_manifest(path, json.loads(manifest_bytes.decode("utf-8"), parse_constant=_refuse_constant),
                                     VERSION)
            del manifest_bytes
            arrays = _read_arrays(path, archive, manifest)
    except FormatError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError, RecursionError,
            NotImplementedError, RuntimeError, OverflowError, TypeError, MemoryError) as error:
        if isinstance(error, FileNotFoundError | IsADirectoryError | PermissionError):
            raise
        raise FormatError(f"{path} is not a readable softkv save: {type(error).__name__}: {error}") from error
    return manifest, arrays


def _open_regular(path: str | os.PathLike[str]) -> Any:
    """``path`` opened for reading if it is a regular file of at most MAX_FILE_BYTES."""
    opened = open_regular(path)
    if opened is None:
        raise FormatError(f"{path} is not a regular file (a folder, a device or a pipe); a softkv save is a file")
    if opened[1] > MAX_FILE_BYTES:
        opened[0].close()
        raise FormatError(f"{path} is larger than any softkv save may be ({MAX_FILE_BYTES:,} bytes)")
    return opened[0]


def _refuse_constant(name: str) -> Any:
    raise FormatError(f"the manifest holds {name}; a save holds finite numbers only")


def _read_arrays(path: Any, archive: zipfile.ZipFile, manifest: Manifest) -> dict[str, np.ndarray]:
    """Each listed member: its checksum, then its header against the shape the manifest implies, then the array."""
    n_keys, found = len(manifest.keys), manifest.encoder
    width = found["dim"] if found is not None and n_keys else None
    arrays: dict[str, np.ndarray] = {}
    for name in sorted(manifest.arrays, key=lambda n: n != "embeddings.npy"):  # the width comes first
        data = archive.read(name)
        if hashlib.sha256(data).hexdigest() != manifest.arrays[name]:
            raise FormatError(f"{path}: {name} does not match its checksum")
        shape = {"embeddings.npy": (n_keys, width), "values.npy": (n_keys, *(manifest.value_shape or ())),
                 "query_projection.npy": (width, width), "alias_embeddings.npy": (manifest.n_aliases, width),
                 "background.npy": (len(BACKGROUND_TEXTS), width)}[name]
        arrays[name] = read_npy(path, name, data, shape)
        del data
        if name == "embeddings.npy":
            width = arrays[name].shape[1] if n_keys else width
            if width is not None and width > MAX_DIM:
                raise FormatError(f"{path}: embeddings wider than {MAX_DIM:,}")
    return arrays


def load(path: str | os.PathLike[str], build: Callable[[Contents, Any, dict[str, Any]], T], *,
         encoder: Any = None, reencode: bool = False, load_model: bool = False) -> T:
    """A SoftDict from a file written by :func:`save`: ``build(contents, encoder, params)`` of what it holds.

    ``encoder`` defaults to the one the file names when that is safe: a
    bundled encoder or a LexicalEncoder. A sentence-transformers model the
    file names is loaded only with ``load_model=True``, and then from this
    machine only; a custom encoder must be passed. One whose fingerprint
    differs from the saved one raises ``EncoderMismatchError`` unless
    ``reencode=True``, which embeds the keys again with it. A damaged,
    foreign, crafted or newer file raises ``FormatError``; both are
    ValueErrors. Nothing in a file is executed or fetched.
    """
    manifest, arrays = read_file(path)
    keys = manifest.keys
    values = manifest.values if manifest.values is not None else list(arrays["values.npy"])
    found = manifest.encoder
    chosen = _encoder_from_identity(found, load_model) if encoder is None else as_encoder(encoder)
    keep_embeddings = True
    if chosen is not None and not check_fingerprint(found, chosen):
        if not reencode:
            saved = "no encoder" if found is None else f"{found.get('name')!r} (width {found.get('dim')})"
            raise EncoderMismatchError(
                f"{path} was embedded with {saved}, and the encoder given embeds differently; its similarities "
                "would be meaningless. Pass the same encoder, or reencode=True to embed the keys again"
            )
        if "query_projection.npy" in arrays:
            raise EncoderMismatchError(
                f"{path} has a query projection learned in its encoder's space, which means nothing in another's: "
                "reencode=True cannot carry it. Load it with its own encoder, set d.query_projection = None and "
                "save it, then load that with reencode=True (and learn a projection again with d.fit)")
        keep_embeddings = False  # every key is embedded again with the new encoder
    aliases = manifest.aliases
    embeddings = _embeddings_of(path, keys, aliases, arrays) if keep_embeddings else None
    background = _background_of(path, arrays.get("background.npy"), found) if keep_embeddings else None
    contents = Contents(dict(zip(keys, values)), embeddings, aliases, arrays.get("query_projection.npy"), background,
                        manifest.usage or ())
    params = _params_of(path, manifest.params)
    try:
        return build(contents, chosen, params)
    except (TypeError, ValueError, KeyError) as error:
        raise FormatError(f"{path}: invalid contents: {error}") from error


def _embeddings_of(path: Any, keys: list[str], aliases: dict[str, list[str]],
                   arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    embeddings = arrays["embeddings.npy"]
    if embeddings.dtype != np.float32 or embeddings.ndim != 2 or embeddings.shape[0] != len(keys):
        raise FormatError(f"{path}: embeddings of shape {embeddings.shape} for {len(keys)} keys")
    names = [name for group in aliases.values() for name in group]
    rows = dict(zip(keys, embeddings))
    if names:
        vectors = arrays.get("alias_embeddings.npy")
        if vectors is None or vectors.dtype != np.float32 or vectors.shape != (len(names), embeddings.shape[1]):
            raise FormatError(f"{path}: {len(names)} aliases but alias embeddings of another shape")
        rows.update(zip(names, vectors))
    return rows


def _background_of(path: Any, vectors: np.ndarray | None, found: dict[str, Any] | None) -> Background | None:
    """The encoder's background as saved (the yardstick of scores), checked; None to measure it again."""
    if vectors is None or found is None:
        return None
    try:  # the header fixed the dtype and shape: the numbers are bounded as embeddings are
        return Background.measure(check_vectors(vectors, len(BACKGROUND_TEXTS), found["dim"], "background"))
    except ValueError as error:
        raise FormatError(f"{path}: background.npy: {error}") from error


def _params_of(path: Any, saved: dict[str, Any]) -> dict[str, Any]:
    """The saved parameters, checked as parameters set in Python are (the rules between them included)."""
    try:
        return Params.make(**saved).as_dict()
    except (TypeError, ValueError) as error:
        raise FormatError(f"{path}: invalid parameters: {error}") from error
