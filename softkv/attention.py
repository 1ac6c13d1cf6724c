"""The attention arithmetic behind every soft lookup, in plain numpy.

A read is three steps, each a function here:

1. ``scores(Q, K, scoring)``: similarities S between queries and keys;
2. ``attention_weights(S, temperature, top_k, mode)``: a stable row-wise softmax of S / temperature (or
   sparsemax, the nearest key, or the plain mean of the k best), optionally over the k best keys only;
3. ``blend(W, V)``: the weighted average W @ V of the values.

Shapes are batch first and carried by the names: Q is (B, d) query embeddings, K is (N, d) key embeddings,
S and W are (B, N), V is ``(N, *value_shape)``. Nothing here holds state or knows about text. The read pipeline
(:mod:`softkv.read`) is the one caller that turns a query into an answer with these functions;
:mod:`softkv.nn` writes the same arithmetic in torch and is tested against them.

>>> K = np.array([[1.0, 0.0], [0.0, 1.0]])
>>> Q = np.array([[0.8, 0.6]])
>>> W = attention_weights(scores(Q, K, "dot"), temperature=0.5)
>>> W.round(3)
array([[0.599, 0.401]])
>>> blend(W, np.array([10.0, 0.0])).round(2)
array([5.99])
"""

from __future__ import annotations

import math
from typing import Any, Literal, Union

import numpy as np

SCORINGS: tuple[str, ...] = ("cosine", "dot", "scaled_dot", "neg_l2")
Temperature = Union[float, Literal["auto"], np.ndarray]
AUTO_SPREAD_FLOOR = 1e-4

__all__ = ["MODES", "SCORINGS", "attention_weights", "auto_temperature", "blend", "blend_rows", "category_weights",
           "hard", "inverse_norms", "mean_of_kept", "normalize", "null_probability", "null_probability_of",
           "scores", "softmax", "sparsemax", "spread_temperature", "stable_softmax", "top_k_rows",
           "top_k_weights"]


def inverse_norms(X: np.ndarray) -> np.ndarray:
    """1 / ||x|| for each row of X (0 for a zero row), the cache cosine scoring needs.

    >>> inverse_norms(np.array([[3.0, 4.0], [0.0, 0.0]]))
    array([0.2, 0. ])
    """
    norms = np.linalg.norm(X, axis=1)
    with np.errstate(divide="ignore"):
        inv = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 0.0)
    return inv.astype(X.dtype, copy=False)


def scores(
    Q: np.ndarray,
    K: np.ndarray,
    scoring: str = "cosine",
    *,
    key_inverse_norms: np.ndarray | None = None,
    unit_keys: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Similarity of every query to every key, shape (B, N); larger is closer.

    - ``cosine``: ``q.k / (|q| |k|)``, in [-1, 1];
    - ``dot``: q.k;
    - ``scaled_dot``: q.k / sqrt(d), the transformer's QK^T / sqrt(d_k);
    - ``neg_l2``: ``-|q - k|^2``, so that softmax(S / t) is a Gaussian (RBF)
      kernel of bandwidth sqrt(t / 2): Nadaraya-Watson regression.

    One matrix product; ``key_inverse_norms`` (from :func:`inverse_norms`)
    spares recomputing the key norms on every call, and ``unit_keys=True``
    (every key of length 1, as sentence-transformers' normalized output)
    spares scaling by them at all. ``out`` receives the (B, N) product.

    >>> K = np.array([[2.0, 0.0], [1.0, 1.0]])
    >>> scores(np.array([[1.0, 0.0]]), K, "cosine").round(3)
    array([[1.   , 0.707]])
    >>> scores(np.array([[1.0, 0.0]]), K, "neg_l2")
    array([[-1., -1.]])
    """
    if scoring == "cosine" and unit_keys:  # normalize the (few) queries, not the (many) scores
        unit: np.ndarray = np.matmul((Q * inverse_norms(Q)[:, None]).astype(K.dtype, copy=False), K.T, out=out)
        np.clip(unit, -1.0, 1.0, out=unit)  # float32 rounding puts an identical text at 1 + 1e-7
        return unit
    QK: np.ndarray = np.matmul(Q.astype(K.dtype, copy=False) if out is not None else Q, K.T, out=out)  # O(B N d)
    if scoring == "dot":
        return QK
    if scoring == "scaled_dot":
        QK *= 1.0 / math.sqrt(K.shape[1])
        return QK
    if scoring == "cosine":
        QK *= inverse_norms(Q)[:, None]
        QK *= (inverse_norms(K) if key_inverse_norms is None else key_inverse_norms)[None, :]
        np.clip(QK, -1.0, 1.0, out=QK)
        return QK
    if scoring == "neg_l2":
        q_sq = np.einsum("bd,bd->b", Q, Q)
        k_sq = np.einsum("nd,nd->n", K, K)
        QK *= 2.0
        QK -= q_sq[:, None]
        QK -= k_sq[None, :]
        np.minimum(QK, 0.0, out=QK)  # rounding can make a distance negative
        return QK
    raise ValueError(f"scoring must be one of {SCORINGS}, got {scoring!r}")


def auto_temperature(S: np.ndarray, n_keys: int | None = None) -> np.ndarray:
    """The default temperature of each row: std(scores) / ln(N + 1), shape (B, 1).

    Dividing by the spread of the row's own scores makes the weights
    independent of the scoring's scale (cosine, dot and distances alike), and
    the ln(N + 1) factor sharpens the softmax as keys are added, so that the
    mass of many weak matches cannot swamp a few strong ones ("scalable
    softmax"). On three keys it still blends; on thousands it still focuses.
    Scores that differ by less than ``AUTO_SPREAD_FLOOR`` of their magnitude
    (float32 rounding) count as ties and get near-equal weights. Entries of
    -inf (keys masked out) are left out of the spread. ``n_keys`` overrides N
    when S holds a sample of the keys' scores.

    >>> auto_temperature(np.array([[0.73, 0.54, 0.34]])).round(4)
    array([[0.1149]])
    """
    row_max = S.max(axis=1, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        return _auto_temperature(np.subtract(S, row_max), row_max, n_keys)


def _auto_temperature(logits: np.ndarray, row_max: np.ndarray, n_keys: int | None = None) -> np.ndarray:
    """std / ln(N + 1) of each row, from its logits S - max (which have the same std).

    Two read-only passes (the mean and the sum of squares) instead of a
    centred copy; rows whose squares overflow or underflow fall back to a
    scaled, exact computation.
    """
    n_scores = logits.shape[1]
    mean = logits.mean(axis=1, keepdims=True)
    variance = np.einsum("bn,bn->b", logits, logits)[:, None] / n_scores - mean * mean
    spread = np.sqrt(np.maximum(variance, 0.0))
    unusual = ~np.isfinite(variance[:, 0])
    # Scores below ~1e-154 whose squares underflow to a zero spread though they differ
    unusual |= (spread[:, 0] == 0) & (logits.min(axis=1) < 0)
    if unusual.any():  # huge or tiny scores, or keys masked out with -inf: the slow, careful way
        mean[unusual], spread[unusual] = _finite_moments(logits[unusual])
    return spread_temperature(spread, np.maximum(np.abs(row_max), np.abs(row_max + mean)),
                              n_scores if n_keys is None else n_keys)


def spread_temperature(spread: np.ndarray, magnitude: np.ndarray, n_keys: int) -> np.ndarray:
    """The "auto" temperature of scores with this spread (std) and magnitude (the larger of abs(max), abs(mean))
    over ``n_keys`` keys: spread / ln(N + 1), where a spread at the level of rounding error
    (``AUTO_SPREAD_FLOOR`` of the magnitude) is a tie, not a signal to amplify."""
    temperature: np.ndarray = np.maximum(spread, AUTO_SPREAD_FLOOR * magnitude) / math.log(n_keys + 1)
    return temperature


def _finite_moments(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each row over its finite entries (-inf: a masked key), overflow-safe."""
    rows = rows.astype(np.float64)
    finite = np.isfinite(rows)
    count = np.maximum(finite.sum(axis=1, keepdims=True), 1)
    safe = np.where(finite, rows, 0.0)
    scale = np.abs(safe).max(axis=1, keepdims=True)
    scale = np.where(scale > 0, scale, 1.0)
    scaled = safe / scale
    mean = scaled.sum(axis=1, keepdims=True) / count
    variance = np.where(finite, (scaled - mean) ** 2, 0.0).sum(axis=1, keepdims=True) / count
    return mean * scale, np.sqrt(variance) * scale


def softmax(S: np.ndarray, temperature: float | np.ndarray | str = 1.0) -> np.ndarray:
    """Row-wise softmax(S / temperature), finite for any finite S.

    The row maximum is subtracted before dividing, so the best key's logit is
    exactly 0 and the others are <= 0: exp never overflows, and a gap too
    large to represent becomes a weight of exactly 0. Entries of -inf get
    weight 0. A temperature of 0 (all scores equal under "auto") means a
    uniform row. ``temperature="auto"`` computes :func:`auto_temperature`
    from the same shifted scores, sparing a pass.

    >>> softmax(np.array([[1000.0, 999.0, -1e308]])).round(4)
    array([[0.7311, 0.2689, 0.    ]])
    """
    return stable_softmax(S, temperature)[0]


def stable_softmax(
    S: np.ndarray, temperature: float | np.ndarray | str, out: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`softmax` written into ``out`` (which may be S itself), with what a read needs besides.

    Returns the weights, the temperatures (B, 1) and the row sums (B,) of
    exp((S - max) / temperature) before normalising: the partition function
    relative to the best key, from which :func:`null_probability_of` gets a
    null slot's weight without another pass over the scores.
    """
    row_max = S.max(axis=1, keepdims=True)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # a gap past the float range: weight 0
        logits = np.subtract(S, row_max, out=out)
        if not np.isfinite(row_max).all():
            logits[np.isnan(logits)] = 0.0  # inf - inf: a tie of overflowed scores at the top
        if isinstance(temperature, str):
            temperature = _auto_temperature(logits, row_max)
        temperature = np.where(np.asarray(temperature) > 0, temperature, 1.0).astype(S.dtype, copy=False)
        logits /= temperature
        np.exp(logits, out=logits)
    sums = logits.sum(axis=1)
    logits /= sums[:, None]
    return logits, np.broadcast_to(temperature, (S.shape[0], 1)), sums


def attention_weights(S: np.ndarray, temperature: Temperature = "auto", top_k: int | None = None,
                      mode: str = "softmax") -> np.ndarray:
    """Attention weights W (B, N) from scores S: rows are >= 0 and sum to 1.

    ``temperature`` is a positive number, an array broadcasting to (B, 1), or
    ``"auto"`` (:func:`auto_temperature`, computed over all N scores).
    ``top_k`` keeps only the k best keys of each row (:func:`top_k_weights`);
    the rest get exactly 0. ``mode`` is "softmax", "sparsemax", "hard" or
    "mean" (see :func:`normalize`).

    >>> S = np.array([[0.73, 0.54, 0.34]])
    >>> attention_weights(S).round(3)
    array([[0.816, 0.156, 0.027]])
    >>> attention_weights(S, temperature=0.1, top_k=2).round(3)
    array([[0.87, 0.13, 0.  ]])
    """
    if isinstance(temperature, str) and temperature != "auto":
        raise ValueError(f'temperature must be a positive number or "auto", got {temperature!r}')
    if top_k is None or top_k >= S.shape[1]:
        return normalize(S, temperature, mode)[0]
    W_k, rows, _ = top_k_weights(S, temperature, top_k, mode)
    W = np.zeros_like(S, dtype=W_k.dtype)
    np.put_along_axis(W, rows, W_k, axis=1)
    return W


def top_k_weights(S: np.ndarray, temperature: Any, top_k: int,
                  mode: str = "softmax") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse attention: the weights of each row's k best keys (B, k), their columns (B, k) and the temperatures
    (B, 1). An "auto" temperature is computed over all N scores, before the others are dropped.

    >>> W_k, rows, _ = top_k_weights(np.array([[0.73, 0.54, 0.34]]), 0.1, 2)
    >>> sorted(zip(rows[0].tolist(), W_k[0].round(2).tolist()))
    [(0, 0.87), (1, 0.13)]
    """
    if isinstance(temperature, str):
        temperature = auto_temperature(S)
    S_k, rows = top_k_rows(S, top_k)
    W_k, T = normalize(S_k, temperature, mode)
    return W_k, rows, T


MODES: tuple[str, ...] = ("softmax", "sparsemax", "hard", "mean")


def sparsemax(S: np.ndarray, temperature: float | np.ndarray = 1.0) -> np.ndarray:
    """Row-wise sparsemax(S / temperature): the Euclidean projection onto the simplex.

    Like softmax, rows are >= 0 and sum to 1; unlike it, keys far enough
    below the best get exactly 0, as in the hand-written 0.6 apple + 0.4
    banana + 0.0 chair (Martins & Astudillo, 2016). O(N log N) per row.

    >>> sparsemax(np.array([[0.73, 0.54, 0.34]]), temperature=0.5)
    array([[0.69, 0.31, 0.  ]])
    """
    z = S / np.where(np.asarray(temperature) > 0, temperature, 1.0)
    z = np.where(np.isneginf(z), -np.inf, z - z.max(axis=1, keepdims=True))
    z_sorted = -np.sort(-z, axis=1)
    finite = np.isfinite(z_sorted)
    cumulative = np.cumsum(np.where(finite, z_sorted, 0.0), axis=1)
    k = np.arange(1, z.shape[1] + 1)
    support = finite & (1.0 + k * z_sorted > cumulative)
    k_z = support.sum(axis=1, keepdims=True)  # >= 1: the best key is always in the support
    threshold = (np.take_along_axis(cumulative, k_z - 1, axis=1) - 1.0) / k_z
    weights: np.ndarray = np.maximum(z - threshold, 0.0).astype(S.dtype, copy=False)
    return weights


def hard(S: np.ndarray) -> np.ndarray:
    """One-hot rows at each row's best score (the first on ties): the nearest key.

    >>> hard(np.array([[0.2, 0.9, 0.9]]))
    array([[0., 1., 0.]])
    """
    W = np.zeros_like(S)
    W[np.arange(S.shape[0]), S.argmax(axis=1)] = 1.0
    return W


def mean_of_kept(S: np.ndarray) -> np.ndarray:
    """Equal weights on every key of a row that is not masked out (-inf): the plain mean, as kNN takes.

    >>> mean_of_kept(np.array([[0.2, -np.inf, 0.9, 0.5]]))
    array([[0.33333333, 0.        , 0.33333333, 0.33333333]])
    """
    kept = (S > -np.inf).astype(S.dtype)
    weights: np.ndarray = kept / np.maximum(kept.sum(axis=1, keepdims=True), 1)
    return weights


def normalize(S: np.ndarray, temperature: Any, mode: str = "softmax") -> tuple[np.ndarray, np.ndarray]:
    """Weights (B, N) and the temperatures used (B, 1), by softmax, sparsemax, hard argmax or the mean.

    The temperature of "hard" and "mean" reads is reported but has no effect.
    """
    if mode == "softmax":
        W, T, _ = stable_softmax(S, temperature)
        return W, T
    if isinstance(temperature, str):
        temperature = auto_temperature(S)
    temperature = np.broadcast_to(np.asarray(temperature, dtype=S.dtype), (S.shape[0], 1))
    if mode == "sparsemax":
        return sparsemax(S, temperature), temperature
    if mode == "hard":
        return hard(S), temperature
    if mode == "mean":
        return mean_of_kept(S), temperature
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def null_probability(S: np.ndarray, temperature: Any, cutoff: Any) -> np.ndarray:
    """The softmax weight of a null slot of score ``cutoff`` beside the keys, per row (B,).

    A "none of these" key with no value, as in the zero association of
    Hopfield layers: near 1 when every key scores well below ``cutoff``
    (a blend of weak matches), near 0 when a key scores well above it.

    >>> null_probability(np.array([[0.9, 0.2], [0.1, 0.05]]), 0.1, cutoff=0.5).round(3)
    array([0.018, 0.971])
    """
    temperature = np.broadcast_to(np.where(np.asarray(temperature) > 0, temperature, 1.0), (S.shape[0], 1))
    best = S.max(axis=1)
    with np.errstate(under="ignore"):
        sums = np.exp((S - best[:, None]) / temperature).sum(axis=1)
    return null_probability_of(best, sums, temperature[:, 0], cutoff)


def null_probability_of(best: np.ndarray, sums: np.ndarray, temperature: np.ndarray, cutoff: Any) -> np.ndarray:
    """:func:`null_probability` from each row's best score and its partition sum relative to it (B,).

    ``cutoff`` is one score or one per row (B,).

    >>> null_probability_of(np.array([0.9]), np.array([1.0 + np.exp(-7.0)]), np.array([0.1]), 0.5).round(3)
    array([0.018])
    """
    temperature = np.where(temperature > 0, temperature, 1.0)
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        gap = (cutoff - best) / temperature  # > 0: the null slot is the best
        null_mass = np.exp(np.minimum(gap, 0.0))
        key_mass = sums * np.exp(np.minimum(-gap, 0.0))
        p_miss = null_mass / (null_mass + key_mass)
    return np.where(np.isfinite(best), p_miss, 1.0)


def top_k_rows(S: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best scores of each row and their columns, both (B, k), in no particular order.

    >>> scores_k, rows = top_k_rows(np.array([[0.1, 0.9, 0.5, 0.7]]), 2)
    >>> sorted(rows[0].tolist()), sorted(scores_k[0].tolist())
    ([1, 3], [0.7, 0.9])
    """
    rows = np.argpartition(S, -top_k, axis=1)[:, -top_k:]  # O(N) per row
    return np.take_along_axis(S, rows, axis=1), rows


def blend_rows(W_k: np.ndarray, rows: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Sparse blend: sum_j W_k[b, j] V[rows[b, j]] / sum_j W_k[b, j], shape ``(B, *value_shape)``.

    >>> blend_rows(np.array([[0.25, 0.75]]), np.array([[2, 0]]), np.array([1.0, 5.0, 3.0]))
    array([1.5])
    """
    flat = V.reshape(V.shape[0], -1)[rows]  # (B, k, m)
    blended = np.einsum("bk,bkm->bm", W_k.astype(flat.dtype, copy=False), flat)
    blended /= W_k.sum(axis=1, dtype=blended.dtype)[:, None]
    values: np.ndarray = blended.reshape((W_k.shape[0],) + V.shape[1:])
    return values


def blend(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """The weighted values W @ V / sum(W), shape ``(B, *value_shape)``.

    Dividing by the row sums (1 up to rounding) keeps every answer a convex
    combination of the values: float32 weights cannot push a blend outside
    the values' range, and equal values blend to that value (up to float64 rounding).

    >>> blend(np.array([[0.5, 0.5]]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[2., 3.]])
    >>> bool(blend(np.array([[0.3, 0.7]], dtype=np.float32), np.array([0.1, 0.1]))[0] == 0.1)
    True
    """
    n_keys = V.shape[0]
    blended = W @ V.reshape(n_keys, -1)
    blended /= W.sum(axis=1, dtype=blended.dtype)[:, None]
    values: np.ndarray = blended.reshape((W.shape[0],) + V.shape[1:])
    return values


def category_weights(W: np.ndarray, codes: np.ndarray, n_categories: int) -> np.ndarray:
    """The total weight of each category, (B, n_categories), from weights W (B, N) and each key's code (N,).

    >>> category_weights(np.array([[0.5, 0.2, 0.3]]), np.array([1, 0, 1]), 2)
    array([[0.2, 0.8]])
    """
    n_queries = W.shape[0]
    # one bincount over (query, category) cells: no scipy import on the read path
    cells = (np.arange(n_queries)[:, None] * n_categories + codes[None, :]).ravel()
    totals = np.bincount(cells, weights=W.ravel(), minlength=n_queries * n_categories)
    return totals.reshape(n_queries, n_categories).astype(W.dtype, copy=False)
