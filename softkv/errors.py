"""Every exception softkv raises on purpose, in one place.

A soft read that finds no key raises the built-in ``KeyError`` (naming the
nearest keys), wrong types ``TypeError`` and wrong values ``ValueError``, as a
dict would; the classes here are the ``ValueError`` subclasses of files:

- :class:`FormatError`: a store file that is not a readable softkv store;
- :class:`EncoderMismatchError`: an encoder that embeds differently from the one a store was saved with;
- :class:`CatalogError`: a catalog file (CSV, JSON, JSONL) that cannot be read as asked.

>>> issubclass(FormatError, ValueError), issubclass(CatalogError, ValueError)
(True, True)
"""

from __future__ import annotations

__all__ = ["CatalogError", "EncoderMismatchError", "FormatError"]


class FormatError(ValueError):
    """A file that is not a readable softkv store: corrupted, truncated, foreign, crafted or too new."""


class EncoderMismatchError(ValueError):
    """The encoder given to load embeds differently from the one the file was saved with."""


class CatalogError(ValueError):
    """A catalog that cannot be read as asked; the message names the file, the row and the column."""
