"""Stores the command keeps for catalogs queried directly: a catalog is encoded once, not on every query.

``softkv query catalog.csv ...`` builds the catalog's SoftDict the first time
and saves it under ``$SOFTKV_CATALOG_CACHE`` (default: ``catalogs/`` in the
cache folder, ``$SOFTKV_CACHE_DIR`` or ``~/.cache/softkv``), named by the
SHA-256 of the file's bytes and of the options that shape the dict (key and
value columns, duplicates, empty cells, delimiter, encoding, encoder). A later
query of the same bytes with the same options loads that store; a changed file
or option is another name, so a kept store is never stale. The newest
:data:`KEEP` stores are kept. ``SOFTKV_CATALOG_CACHE=off`` keeps none. A kept
store that cannot be loaded (damaged, another softkv) is built again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..encoders._minilm import cache_folder
from ..errors import EncoderMismatchError, FormatError
from ..io import open_regular

__all__ = ["KEEP", "keep_store", "kept_store", "load_kept", "remember"]

KEEP = 16
"""Kept stores (the most recently used): each is about the size of its catalog's embeddings."""

SHAPING = ("key", "value", "on_duplicate", "on_empty", "delimiter", "encoding", "encoder")
"""The options that shape the dict built from a catalog (read parameters are set after loading)."""


def kept_store(path: Path, args: argparse.Namespace) -> Path | None:
    """Where the store of catalog ``path`` read with ``args`` is kept (it may not exist yet); None when off, or
    when ``path`` cannot be read (reading the catalog next says why)."""
    folder = os.environ.get("SOFTKV_CATALOG_CACHE")
    if folder is not None and folder.strip().lower() in ("off", "0", "none", ""):
        return None
    try:
        opened = open_regular(path)  # a FIFO or a device is no catalog: read_catalog says so
    except OSError:
        return None
    if opened is None:
        return None
    digest = hashlib.sha256()
    with opened[0] as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    options = {name: getattr(args, name, None) for name in SHAPING}
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    return Path(folder or cache_folder() / "catalogs") / f"{digest.hexdigest()[:32]}.softkv"


def load_kept(kept: Path | None) -> Any:
    """The kept store of a catalog, or None: none kept yet, or one that does not load (it is built again)."""
    from ..softdict import SoftDict

    if kept is None or not kept.is_file():
        return None
    try:
        d = SoftDict.load(kept)
    except (FormatError, EncoderMismatchError, OSError):
        return None
    remember(kept)
    return d


def keep_store(d: Any, kept: Path | None) -> None:
    """Save a catalog's dict as its kept store (a failure to keep costs the next query time, nothing else)."""
    if kept is None:
        return
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        d.save(kept)
        remember(kept)
    except OSError as error:
        print(f"softkv: the built store could not be kept in {kept.parent} ({error.strerror or error}); the next "
              "query encodes the catalog again", file=sys.stderr)


def remember(store: Path) -> None:
    """Mark ``store`` as just used and remove all but the :data:`KEEP` most recently used kept stores."""
    try:
        os.utime(store)
        kept = sorted(store.parent.glob("*.softkv"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # another process tidied first: nothing is lost, a store is built again when needed
