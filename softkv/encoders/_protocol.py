"""What an encoder is, and the checks every encoder's output passes.

An encoder is anything with ``encode(texts: list[str]) -> array (n, d)``
(:class:`Encoder`). :func:`encode_checked` calls one and refuses what a store
cannot hold; :func:`fingerprint` says which encoder made a set of embeddings
(its embedding of :data:`PROBE`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

PROBE = "softkv encoder fingerprint: a quick brown fox jumps over the lazy dog"
"""The sentence whose embedding identifies an encoder (its fingerprint)."""


@runtime_checkable
class Encoder(Protocol):
    """The protocol: ``encode(texts) -> float32 array (len(texts), d)``."""

    def encode(self, texts: list[str]) -> np.ndarray: ...


def encode_checked(encoder: Encoder, texts: Sequence[str], dim: int | None = None) -> np.ndarray:
    """``encoder.encode(texts)`` as a C-contiguous float32 (n, d) array, or a clear error.

    Refuses output of the wrong shape, of the wrong width ``dim`` (the width
    of the embeddings already stored), or with NaN or inf.

    >>> class Pairs:
    ...     def __init__(self, n_rows=None): self.n_rows = n_rows
    ...     def encode(self, texts): return [[1.0, 2.0]] * (self.n_rows or len(texts))
    >>> encode_checked(Pairs(), ["a", "b"]).shape
    (2, 2)
    >>> encode_checked(Pairs(n_rows=1), ["a", "b"])
    Traceback (most recent call last):
    ...
    ValueError: encoder returned shape (1, 2) for 2 texts; expected (2, d) ...
    """
    try:
        with np.errstate(over="ignore"):
            vectors = np.asarray(encoder.encode(list(texts)), dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"encoder {encoder!r} did not return an array of numbers: {error}") from error
    n_texts = len(texts)
    if vectors.ndim != 2 or vectors.shape[0] != n_texts or vectors.shape[1] == 0:
        hint = ""
        if getattr(encoder, "batched", False):
            hint = "; if your function embeds one text at a time, use FunctionEncoder(fn, batched=False)"
        raise ValueError(
            f"encoder returned shape {vectors.shape} for {n_texts} texts; expected ({n_texts}, d) "
            f"with d >= 1{hint}"
        )
    if dim is not None and vectors.shape[1] != dim:
        raise ValueError(
            f"encoder returned vectors of width {vectors.shape[1]}, but the stored key embeddings "
            f"have width {dim}; use the encoder the keys were embedded with"
        )
    if not np.isfinite(vectors).all():
        bad = [texts[i] for i in np.flatnonzero(~np.isfinite(vectors).all(axis=1))[:3]]
        raise ValueError(f"encoder returned NaN or inf for {bad}; check the encoder")
    return np.ascontiguousarray(vectors)


def unwrap(encoder: Any) -> Any:
    """The encoder behind any wrapping layers (such as :class:`softkv.encoders.CachedEncoder`)."""
    while getattr(encoder, "wrapped", None) is not None:
        encoder = encoder.wrapped
    return encoder


def fingerprint(encoder: Encoder) -> np.ndarray:
    """The encoder's embedding of :data:`PROBE`: two encoders that agree on it embed alike."""
    vector: np.ndarray = encode_checked(unwrap(encoder), [PROBE])[0]
    return vector
