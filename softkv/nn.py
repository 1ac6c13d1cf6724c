"""SoftKVMemory: the soft key-value read as a torch module, differentiable end to end.

The read is the one in :mod:`softkv.attention` (scores -> softmax(S / t) ->
W @ V), written with torch operations so that gradients reach the values, the
keys, the queries, the temperature and an optional query projection. With the
same inputs it returns what a SoftDict returns (tested to 1e-5).

Importing this module imports torch; ``import softkv`` does not.

>>> import torch
>>> memory = SoftKVMemory(torch.eye(3), torch.tensor([10.0, 5.0, 2.0]), temperature=0.5)
>>> values, weights = memory(torch.tensor([[1.0, 1.0, 0.0]]))
>>> values.round(decimals=3), weights.shape
(tensor([6.9040]), torch.Size([1, 3]))
"""

from __future__ import annotations

import math
from typing import Any

try:
    import torch
    from torch import nn
except ImportError as error:  # pragma: no cover - torch comes with sentence-transformers
    raise ImportError("softkv.nn needs torch; install it (a CPU build is enough): pip install torch") from error

from .attention import AUTO_SPREAD_FLOOR, SCORINGS

__all__ = ["SoftKVMemory"]

_VAR_EPS = 1e-12  # keeps d std / d S finite when every score is equal


class SoftKVMemory(nn.Module):
    """A differentiable soft key-value memory: ``forward(queries) -> (values, weights)``.

    Parameters
    ----------
    keys : tensor or array, (N, d)
        Key embeddings.
    values : tensor or array, (N, *value_shape)
        Numeric values, one per key.
    temperature : "auto" or float > 0
        As in SoftDict. A learned temperature must start from a number.
    scoring, top_k
        As in SoftDict: "cosine", "dot", "scaled_dot" or "neg_l2"; k best keys.
    learn_keys, learn_values, learn_temperature : bool
        Which of these are parameters (trained); the others are buffers.
    query_projection : bool or (d, d) tensor/array
        A linear map applied to every query before scoring: the learned metric
        on top of a frozen encoder. True starts it at the identity.
    learn_projection : bool
        Whether the projection is trained (default: when there is one).
    hops : int >= 1
        Reads in sequence, as in Key-Value Memory Networks: after each read
        but the last, the value read, mapped to query space by a learned
        linear layer (initialised at zero, so extra hops start as a no-op),
        is added to the query, and the memory is read again.
    keys_names : sequence of str, optional
        The SoftDict keys of the rows, kept for the round trip.

    The module follows its device and dtype: ``memory.to("cuda")`` or
    ``memory.double()`` moves everything, and queries are moved to match.
    """

    keys: torch.Tensor
    values: torch.Tensor
    log_temperature: torch.Tensor
    query_projection: torch.Tensor | None
    hop_projections: nn.ModuleList

    def __init__(
        self,
        keys: Any,
        values: Any,
        *,
        temperature: float | str = "auto",
        scoring: str = "cosine",
        top_k: int | None = None,
        learn_keys: bool = False,
        learn_values: bool = False,
        learn_temperature: bool = False,
        query_projection: Any = False,
        learn_projection: bool | None = None,
        hops: int = 1,
        keys_names: Any = None,
    ) -> None:
        super().__init__()
        keys = torch.as_tensor(keys).detach().clone()
        if not keys.is_floating_point():
            keys = keys.to(torch.get_default_dtype())
        values = torch.as_tensor(values, dtype=keys.dtype, device=keys.device).detach().clone()
        if keys.ndim != 2:
            raise ValueError(f"keys must be (n_keys, d), got shape {tuple(keys.shape)}")
        n_keys, dim = keys.shape
        if values.shape[0] != n_keys:
            raise ValueError(f"need one value per key: {n_keys} keys, values of shape {tuple(values.shape)}")
        if scoring not in SCORINGS:
            raise ValueError(f"scoring must be one of {SCORINGS}, got {scoring!r}")
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k must be None or an integer >= 1, got {top_k!r}")
        if not isinstance(hops, int) or hops < 1:
            raise ValueError(f"hops must be an integer >= 1, got {hops!r}")
        self.scoring, self.top_k, self.hops = scoring, top_k, hops
        self.value_shape = tuple(values.shape[1:])
        self.keys_names = None if keys_names is None else list(keys_names)
        self._register("keys", keys, learn_keys)
        self._register("values", values.reshape(n_keys, -1), learn_values)
        self.auto_temperature = temperature == "auto"
        if self.auto_temperature:
            if learn_temperature:
                raise ValueError(
                    'a learned temperature must start from a number: pass temperature=<float> instead of "auto"'
                )
            log_temperature = torch.zeros((), dtype=keys.dtype)
        else:
            if not isinstance(temperature, (int, float)) or not temperature > 0:
                raise ValueError(f'temperature must be "auto" or a number > 0, got {temperature!r}')
            log_temperature = torch.tensor(math.log(temperature), dtype=keys.dtype)
        self._register("log_temperature", log_temperature, learn_temperature)
        self._init_projection(query_projection, learn_projection, dim)
        value_width = int(self.values.shape[1])
        self.hop_projections = nn.ModuleList(nn.Linear(value_width, dim, bias=False) for _ in range(hops - 1))
        for layer in self.hop_projections:
            assert isinstance(layer, nn.Linear)
            nn.init.zeros_(layer.weight)
            layer.to(keys.dtype)

    def _register(self, name: str, tensor: torch.Tensor, learn: bool) -> None:
        if learn:
            self.register_parameter(name, nn.Parameter(tensor))
        else:
            self.register_buffer(name, tensor)

    def _init_projection(self, projection: Any, learn: bool | None, dim: int) -> None:
        if projection is False or projection is None:
            self.query_projection = None
            return
        if projection is True:
            matrix = torch.eye(dim, dtype=self.keys.dtype)
        else:
            matrix = torch.as_tensor(projection, dtype=self.keys.dtype).detach().clone()
            if matrix.shape != (dim, dim):
                raise ValueError(f"query_projection must be ({dim}, {dim}), got {tuple(matrix.shape)}")
        self._register("query_projection", matrix, True if learn is None else learn)

    @property
    def temperature(self) -> float | str:
        """The temperature as SoftDict takes it: "auto" or the current number."""
        return "auto" if self.auto_temperature else float(self.log_temperature.detach().exp())

    def scores(self, queries: torch.Tensor) -> torch.Tensor:
        """Similarities (B, N), as :func:`softkv.attention.scores`."""
        K = self.keys
        if self.scoring == "dot":
            return queries @ K.T
        if self.scoring == "scaled_dot":
            return queries @ K.T / math.sqrt(K.shape[1])
        if self.scoring == "cosine":
            q = queries / queries.norm(dim=1, keepdim=True).clamp_min(1e-30)
            k = K / K.norm(dim=1, keepdim=True).clamp_min(1e-30)
            return q @ k.T
        q_sq = (queries * queries).sum(dim=1, keepdim=True)
        k_sq = (K * K).sum(dim=1)
        return (2.0 * queries @ K.T - q_sq - k_sq[None, :]).clamp(max=0.0)

    def weights(self, S: torch.Tensor, exclude: torch.Tensor | None = None) -> torch.Tensor:
        """Attention weights (B, N) from scores, as :func:`softkv.attention.attention_weights`.

        ``exclude`` (B,) holds a key index per query to leave out (-1: none),
        for leave-one-out training on the memory's own keys.
        """
        n_keys = S.shape[1]
        temperature = self.log_temperature.exp()
        if self.auto_temperature:
            spread = (S.var(dim=1, unbiased=False, keepdim=True) + _VAR_EPS).sqrt()
            detached = S.detach()
            magnitude = torch.maximum(detached.max(dim=1, keepdim=True).values.abs(),
                                      detached.mean(dim=1, keepdim=True).abs())
            spread = torch.maximum(spread, AUTO_SPREAD_FLOOR * magnitude)
            temperature = temperature * spread / math.log(n_keys + 1)
        # Which keys may get weight; built without gradients, applied after the division so that
        # no -inf ever meets the temperature's gradient.
        keep = torch.ones_like(S, dtype=torch.bool)
        if exclude is not None:
            rows = torch.nonzero(exclude >= 0).flatten()
            keep[rows, exclude[rows]] = False
        if self.top_k is not None and self.top_k < n_keys:
            candidates = S.detach().masked_fill(~keep, -math.inf)
            kept = candidates.topk(self.top_k, dim=1).indices
            keep = torch.zeros_like(keep).scatter(1, kept, True)
        top = S.detach().masked_fill(~keep, -math.inf).max(dim=1, keepdim=True).values
        logits = ((S - top) / temperature).masked_fill(~keep, -math.inf)
        return torch.softmax(logits, dim=1)

    def forward(self, queries: Any, exclude: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Read the memory: (values (B, *value_shape), weights of the last hop (B, N))."""
        query = torch.as_tensor(queries, dtype=self.keys.dtype, device=self.keys.device)
        if query.ndim == 1:
            query = query[None, :]
        for hop in range(self.hops):
            projected = query if self.query_projection is None else query @ self.query_projection.T
            W = self.weights(self.scores(projected), exclude)
            read = W @ self.values / W.sum(dim=1, keepdim=True)
            if hop < self.hops - 1:
                query = query + self.hop_projections[hop](read)
        return read.reshape((read.shape[0],) + self.value_shape), W

    def extra_repr(self) -> str:
        return (
            f"keys={tuple(self.keys.shape)}, value_shape={self.value_shape}, temperature={self.temperature!r}, "
            f"scoring={self.scoring!r}, top_k={self.top_k}, hops={self.hops}, "
            f"query_projection={self.query_projection is not None}"
        )
