"""The SoftDict read in torch, as plain functions: the arithmetic of :mod:`softkv.attention`, differentiable.

Each function mirrors one in the numpy kernel and is tested against it:
:func:`similarity` (:func:`~softkv.attention.scores`), :func:`temperatures`
(the "auto" temperature, :func:`~softkv.attention.auto_temperature`),
:func:`keep_top_k` (:func:`~softkv.attention.top_k_rows`), :func:`normalize`
(softmax, :func:`sparsemax`, hard and mean, :func:`~softkv.attention.normalize`)
and :func:`null_weight` (:func:`~softkv.attention.null_probability`).
Keys left out of a row are given by a boolean ``keep`` mask (B, N).

>>> import torch
>>> S = torch.tensor([[0.73, 0.54, 0.34]])
>>> keep = torch.ones_like(S, dtype=torch.bool)
>>> normalize(S, keep, torch.tensor([[0.1]]), "softmax").round(decimals=3)
tensor([[0.8550, 0.1280, 0.0170]])
"""

from __future__ import annotations

import math

import torch

from ..attention import AUTO_SPREAD_FLOOR

_VAR_EPS = 1e-12  # keeps d std / d S finite when every score is equal


def similarity(queries: torch.Tensor, K: torch.Tensor, scoring: str) -> torch.Tensor:
    """Similarities (B, N) of queries to the rows of K, as :func:`softkv.attention.scores`."""
    if scoring == "dot":
        return queries @ K.T
    if scoring == "scaled_dot":
        return queries @ K.T / math.sqrt(K.shape[1])
    if scoring == "cosine":
        q = queries / queries.norm(dim=1, keepdim=True).clamp_min(1e-30)
        k = K / K.norm(dim=1, keepdim=True).clamp_min(1e-30)
        cosine: torch.Tensor = (q @ k.T).clamp(-1.0, 1.0)
        return cosine
    q_sq = (queries * queries).sum(dim=1, keepdim=True)
    k_sq = (K * K).sum(dim=1)
    return (2.0 * queries @ K.T - q_sq - k_sq[None, :]).clamp(max=0.0)


def kept(S: torch.Tensor, exclude: torch.Tensor | None) -> torch.Tensor:
    """The keep mask (B, N): every key but the one row ``exclude`` names per query (-1: none); no gradients."""
    keep = torch.ones_like(S, dtype=torch.bool)
    if exclude is not None:
        exclude = torch.as_tensor(exclude, device=S.device)
        rows = torch.nonzero(exclude >= 0).flatten()
        keep[rows, exclude[rows]] = False
    return keep


def temperatures(S: torch.Tensor, keep: torch.Tensor, scale: torch.Tensor, auto: bool) -> torch.Tensor:
    """The temperature of each row (B, 1): ``scale`` itself, or (auto) scale * std(kept scores) / ln(N + 1)."""
    if not auto:
        return scale.expand(S.shape[0], 1)
    counts = keep.sum(dim=1, keepdim=True).clamp_min(1)
    mean = S.masked_fill(~keep, 0.0).sum(dim=1, keepdim=True) / counts
    variance = ((S - mean).masked_fill(~keep, 0.0) ** 2).sum(dim=1, keepdim=True) / counts
    spread = (variance + _VAR_EPS).sqrt()
    top = S.detach().masked_fill(~keep, -math.inf).max(dim=1, keepdim=True).values
    magnitude = torch.maximum(top.abs(), mean.detach().abs())
    spread = torch.maximum(spread, AUTO_SPREAD_FLOOR * magnitude)
    return scale * spread / math.log(S.shape[1] + 1)


def keep_top_k(S: torch.Tensor, keep: torch.Tensor, top_k: int | None) -> torch.Tensor:
    """The keep mask narrowed to each row's k best kept keys (None, or k >= N: unchanged)."""
    if top_k is None or top_k >= S.shape[1]:
        return keep
    candidates = S.detach().masked_fill(~keep, -math.inf)
    return torch.zeros_like(keep).scatter(1, candidates.topk(top_k, dim=1).indices, True) & keep


def keep_beyond(S: torch.Tensor, keep: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
    """The keep mask narrowed to the keys at ``level`` (B, 1) or above, in each row whose best kept key is."""
    best = S.detach().masked_fill(~keep, -math.inf).max(dim=1, keepdim=True).values
    return keep & ((S.detach() >= level) | (best < level))


def normalize(S: torch.Tensor, keep: torch.Tensor, temperature: torch.Tensor, mode: str) -> torch.Tensor:
    """Weights (B, N) of the kept keys: softmax, sparsemax, the nearest key (hard) or the plain mean."""
    top = S.detach().masked_fill(~keep, -math.inf).max(dim=1, keepdim=True).values
    if mode == "hard":
        best = S.detach().masked_fill(~keep, -math.inf).argmax(dim=1, keepdim=True)
        return torch.zeros_like(S).scatter(1, best, 1.0)
    if mode == "mean":
        weights = keep.to(S.dtype)
        return weights / weights.sum(dim=1, keepdim=True).clamp_min(1)
    # no -inf ever meets the temperature's gradient: masked after the division
    logits = ((S - top) / temperature).masked_fill(~keep, -math.inf)
    if mode == "sparsemax":
        return sparsemax(logits)
    return torch.softmax(logits, dim=1)


def sparsemax(logits: torch.Tensor) -> torch.Tensor:
    """Row-wise sparsemax of logits (-inf: left out), as :func:`softkv.attention.sparsemax`; differentiable."""
    z_sorted = logits.sort(dim=1, descending=True).values
    finite = torch.isfinite(z_sorted)
    cumulative = torch.where(finite, z_sorted, torch.zeros_like(z_sorted)).cumsum(dim=1)
    k = torch.arange(1, logits.shape[1] + 1, device=logits.device, dtype=logits.dtype)
    support = finite & (1.0 + k * torch.where(finite, z_sorted, torch.zeros_like(z_sorted)) > cumulative)
    k_z = support.sum(dim=1, keepdim=True)
    threshold = (cumulative.gather(1, k_z - 1) - 1.0) / k_z.to(logits.dtype)
    return torch.clamp(logits - threshold, min=0.0)


def null_weight(S: torch.Tensor, keep: torch.Tensor, temperature: torch.Tensor, cutoff: torch.Tensor) -> torch.Tensor:
    """The softmax weight (B,) of a "none of these" slot scored at ``cutoff`` (B, 1) beside the kept keys."""
    logits = torch.cat([S.masked_fill(~keep, -math.inf), cutoff], dim=1)
    return torch.softmax(logits / temperature, dim=1)[:, -1]
