"""Opening a file that may come from anyone: a regular file only, and nothing read before that is known.

A FIFO would block an open for reading, and a device (``/dev/zero``) or a
link to one would read until memory runs out; :func:`open_regular` opens
without waiting (O_NONBLOCK) and looks at what it opened before any byte is
read. A store (:mod:`softkv.persistence`) and a catalog (:mod:`softkv.catalog`)
are opened this way, each saying in its own words what it refuses.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

__all__ = ["open_regular"]


def open_regular(path: str | os.PathLike[str]) -> tuple[BinaryIO, int] | None:
    """``path`` opened for binary reading with its size, or None (nothing read) when it is not a regular file.

    OSError from opening (no such file, no permission) passes through.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     handle, size = open_regular(f.name); handle.close()
    >>> size, open_regular("/dev/null")
    (0, None)
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        return None
    return os.fdopen(descriptor, "rb"), status.st_size
