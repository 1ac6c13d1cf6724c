"""Checks of what a caller hands a SoftDict: names, (key, value) pairs, embedding vectors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["MAX_MAGNITUDE", "check_key", "check_projection", "check_vectors", "pairs_of"]


def check_key(key: Any, what: str = "SoftDict keys") -> None:
    """A TypeError for a name that is not str, a ValueError for blank or unencodable text."""
    if not isinstance(key, str):
        raise TypeError(f"{what} must be str, got {type(key).__name__} {key!r}")
    if not key.strip():
        raise ValueError(f"{what} must contain non-blank text, got {key!r}")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"{what} must be valid Unicode text (no lone surrogates), got {key!r}") from error


def pairs_of(other: Any, keywords: Mapping[str, Any]) -> dict[str, Any]:
    """The (key, value) pairs ``dict.update(other, **keywords)`` would take, in order, the last of a key winning.

    ``other`` is a mapping (anything with ``keys()`` and ``__getitem__``) or an
    iterable of pairs; as for dict, an element that is not a sequence is a
    TypeError and one of another length a ValueError.
    """
    if hasattr(other, "keys"):
        pairs = [(key, other[key]) for key in other.keys()]
    else:
        pairs = []
        for position, element in enumerate(other):
            try:
                pair = tuple(element)
            except TypeError:
                raise TypeError(f"update takes a mapping or (key, value) pairs; element #{position} is "
                                f"{element!r:.40}") from None
            if len(pair) != 2:
                raise ValueError(f"update sequence element #{position} has length {len(pair)}; 2 is required")
            pairs.append(pair)
    return dict([*pairs, *keywords.items()])


MAX_MAGNITUDE = 1e15
"""The largest component an embedding or a query vector may have: products and squared distances of larger
ones overflow float32 (about 3.4e38) and would turn scores into inf or NaN."""


def check_vectors(vectors: Any, n_rows: int, dim: int | None, what: str = "embedding") -> np.ndarray:
    """``vectors`` as a float32 (n_rows, dim) array of finite numbers, or a ValueError."""
    vectors = np.asarray(vectors)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    if vectors.ndim != 2 or vectors.shape[0] != n_rows or vectors.shape[1] == 0 or (
            dim is not None and vectors.shape[1] != dim):
        expected = f"({n_rows}, {dim if dim is not None else 'd'})"
        raise ValueError(f"{what} vectors have shape {vectors.shape}; expected {expected}")
    if vectors.dtype.kind not in "iuf":
        raise ValueError(f"{what} vectors must be numbers, got dtype {vectors.dtype}")
    with np.errstate(over="ignore"):
        converted = np.ascontiguousarray(vectors, dtype=np.float32)
    if not np.isfinite(converted).all():
        raise ValueError(f"{what} vectors contain NaN or inf (in float32)")
    if converted.size and float(np.abs(converted).max()) > MAX_MAGNITUDE:
        raise ValueError(f"{what} vectors have components up to {float(np.abs(converted).max()):.3g}; beyond "
                         f"{MAX_MAGNITUDE:.0e} their scores overflow float32: scale them down (or normalise them)")
    return converted


def check_projection(matrix: Any, dim: int | None) -> np.ndarray:
    """A read-only float32 (dim, dim) copy of ``matrix`` (finite, bounded as embeddings are), or a ValueError."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or (dim is not None and matrix.shape[0] != dim):
        raise ValueError(f"query_projection must be a square (d, d) matrix with d = {dim}, got {matrix.shape}")
    checked = check_vectors(matrix, matrix.shape[0], dim, "query_projection").copy()
    checked.setflags(write=False)
    return checked
