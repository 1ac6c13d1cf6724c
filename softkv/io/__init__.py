"""Every byte softkv reads from or writes to a file.

- :func:`save` and :func:`load`: a SoftDict as one store file, written
  atomically, read as untrusted input (nothing in it is executed, fetched or
  trusted unchecked); :func:`read_file` gives a store's checked contents;
- :func:`read_catalog`: a CSV, JSON or JSONL table as key -> value pairs
  (:class:`Catalog`), never losing a row silently;
- :func:`open_regular`: how both open a path that may name anything;
- :func:`check_saveable`: whether a value is one a store file can hold.

``SoftDict.save`` and ``SoftDict.load`` call these; importing ``softkv`` does
not import this package.
"""

from ._catalog import ON_DUPLICATE, ON_EMPTY, Catalog, read_catalog
from ._files import open_regular
from ._rows import MAX_CATALOG_BYTES
from ._schema import check_saveable
from ._store_file import load, read_file, save

__all__ = ["MAX_CATALOG_BYTES", "ON_DUPLICATE", "ON_EMPTY", "Catalog", "check_saveable", "load", "open_regular",
           "read_catalog", "read_file", "save"]
