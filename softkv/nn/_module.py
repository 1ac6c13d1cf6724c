"""SoftKVMemory: the SoftDict read as a torch module, differentiable end to end.

It computes what :func:`softkv.read.score` and :func:`softkv.read.weigh`
compute, with the torch functions of :mod:`softkv.nn` (tested against
:mod:`softkv.attention`), so that gradients reach the values, the key
embeddings, the queries, the temperature, the spelling weight and an optional
query projection. What depends on the text of a query rather than on its
embedding (the spelling similarities to every name, the key it names
exactly) is computed by the same code as the dict's read
(:func:`softkv.read.text_features`) and passed in: ``d.to_module()``
answers text queries as ``d.lookup_many`` does (tested to 1e-5 for every mode,
scoring, top_k, spelling weight, aliases and threshold).

Importing this module imports torch; ``import softkv`` does not.

>>> import torch
>>> memory = SoftKVMemory(torch.eye(3), torch.tensor([10.0, 5.0, 2.0]), temperature=0.5)
>>> values, weights = memory(torch.tensor([[1.0, 1.0, 0.0]]))
>>> values.round(decimals=3), weights.shape
(tensor([6.9040]), torch.Size([1, 3]))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..attention import MODES, SCORINGS
from . import _functional as F

__all__ = ["ModuleRead", "SoftKVMemory"]


@dataclass(frozen=True)
class ModuleRead:
    """One read of the module: answers, weights and scores (B, N), the null slot's weight and the misses."""

    values: torch.Tensor
    weights: torch.Tensor
    scores: torch.Tensor
    p_miss: torch.Tensor | None
    missed: torch.Tensor


class SoftKVMemory(nn.Module):
    """A differentiable soft key-value memory: ``forward(queries) -> (values, weights)``.

    Parameters
    ----------
    key_embeddings : tensor or array, (N, d)
    values : tensor or array, ``(N, *value_shape)``
        Numeric values, one per key.
    temperature : "auto" or float > 0
        As in SoftDict. A learned temperature must start from a number
        (``SoftDict.to_module`` starts it from the one "auto" reads the keys with).
    scoring, top_k, mode, threshold
        As in SoftDict.
    spelling_weight : float in [0, 1] or None
        How the ``spelling`` passed to :meth:`forward` counts: None (the
        default read) adds it to the scores, as given; a number w mixes it,
        (1 - w) * similarity + w * spelling (a fixed spelling weight; learned
        with ``learn_spelling``).
    alias_embeddings, alias_rows : (A, d) and (A,), optional
        Other names of the keys: an entry scores as its best name.
    learn_keys, learn_values, learn_temperature, learn_spelling : bool
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
    keys : sequence of str, optional
        The SoftDict keys of the rows, kept for the round trip.

    The module follows its device and dtype: ``memory.to("cuda")`` or
    ``memory.double()`` moves everything, and queries are moved to match.
    """

    key_embeddings: torch.Tensor
    values: torch.Tensor
    log_temperature: torch.Tensor
    spelling_logit: torch.Tensor
    alias_embeddings: torch.Tensor
    alias_rows: torch.Tensor
    query_projection: torch.Tensor | None
    hop_projections: nn.ModuleList

    def __init__(self, key_embeddings: Any = None, values: Any = None, *, temperature: float | str = "auto",
                 scoring: str = "cosine", top_k: int | None = None, mode: str = "softmax",
                 threshold: Any = None, spelling_weight: float | None = None, alias_embeddings: Any = None,
                 alias_rows: Any = None, learn_keys: bool = False, learn_values: bool = False,
                 learn_temperature: bool = False, learn_spelling: bool = False, query_projection: Any = False,
                 learn_projection: bool | None = None, hops: int = 1, keys: Any = None) -> None:
        super().__init__()
        if key_embeddings is None or values is None:
            raise TypeError("SoftKVMemory needs key_embeddings and values")
        K = torch.as_tensor(key_embeddings).detach().clone()
        if not K.is_floating_point():
            K = K.to(torch.get_default_dtype())
        V = torch.as_tensor(values, dtype=K.dtype, device=K.device).detach().clone()
        _check(K, V, scoring, top_k, mode, hops, spelling_weight)
        n_keys, dim = K.shape
        self.scoring, self.top_k, self.mode, self.hops, self.threshold = scoring, top_k, mode, hops, threshold
        self.value_shape = tuple(V.shape[1:])
        self.keys = None if keys is None else list(keys)
        self._register("key_embeddings", K, learn_keys)
        self._register("values", V.reshape(n_keys, -1), learn_values)
        self._init_temperature(temperature, learn_temperature, K.dtype)
        if learn_spelling and spelling_weight is None:
            raise ValueError("the default read adds spelling beyond chance: it has no weight to learn; give the "
                             "dict a fixed spelling_weight first to learn one")
        self.fixed_spelling: float | None = None if learn_spelling or spelling_weight is None else float(
            spelling_weight)
        self.mixes_spelling = spelling_weight is not None
        if learn_spelling:  # learned through a logit, so that it stays between 0 and 1
            weight = min(max(float(spelling_weight), 1e-6), 1 - 1e-6)  # type: ignore[arg-type]
            self.spelling_logit = nn.Parameter(torch.tensor(math.log(weight / (1 - weight)), dtype=K.dtype))
        self.text_inputs: Any = None  # set by SoftDict.to_module: texts -> (embeddings, spelling, exact rows)
        aliases = torch.zeros((0, dim), dtype=K.dtype) if alias_embeddings is None else torch.as_tensor(
            alias_embeddings, dtype=K.dtype).detach().clone()
        self.register_buffer("alias_embeddings", aliases)
        self.register_buffer("alias_rows", torch.zeros(0, dtype=torch.long) if alias_rows is None else torch.as_tensor(
            alias_rows, dtype=torch.long).clone())
        self._init_projection(query_projection, learn_projection, dim)
        value_width = int(self.values.shape[1])
        self.hop_projections = nn.ModuleList(nn.Linear(value_width, dim, bias=False) for _ in range(hops - 1))
        for layer in self.hop_projections:
            assert isinstance(layer, nn.Linear)
            nn.init.zeros_(layer.weight)
            layer.to(K.dtype)

    def _register(self, name: str, tensor: torch.Tensor, learn: bool) -> None:
        if learn:
            self.register_parameter(name, nn.Parameter(tensor))
        else:
            self.register_buffer(name, tensor)

    def _init_temperature(self, temperature: float | str, learn: bool, dtype: torch.dtype) -> None:
        self.auto_temperature = temperature == "auto"
        if self.auto_temperature:
            if learn:
                raise ValueError('a learned temperature must start from a number: pass temperature=<float> '
                                 'instead of "auto"')
            self._register("log_temperature", torch.zeros((), dtype=dtype), False)
            return
        if not isinstance(temperature, (int, float)) or not temperature > 0:
            raise ValueError(f'temperature must be "auto" or a number > 0, got {temperature!r}')
        self._register("log_temperature", torch.tensor(math.log(temperature), dtype=dtype), learn)

    def _init_projection(self, projection: Any, learn: bool | None, dim: int) -> None:
        if projection is False or projection is None:
            self.query_projection = None
            return
        if projection is True:
            matrix = torch.eye(dim, dtype=self.key_embeddings.dtype)
        else:
            matrix = torch.as_tensor(projection, dtype=self.key_embeddings.dtype).detach().clone()
            if matrix.shape != (dim, dim):
                raise ValueError(f"query_projection must be ({dim}, {dim}), got {tuple(matrix.shape)}")
        self._register("query_projection", matrix, True if learn is None else learn)

    @property
    def temperature(self) -> float | str:
        """The temperature as SoftDict takes it: "auto" or the current number."""
        return "auto" if self.auto_temperature else float(self.log_temperature.detach().exp())

    @property
    def spelling_weight(self) -> torch.Tensor | None:
        """A fixed mix's spelling weight (a tensor, trained when ``learn_spelling``), or None (added as given)."""
        if not self.mixes_spelling:
            return None
        if self.fixed_spelling is not None:
            return torch.tensor(self.fixed_spelling, dtype=self.key_embeddings.dtype)
        return torch.sigmoid(self.spelling_logit)

    def _with_spelling(self, S: torch.Tensor, spelling: torch.Tensor | None,
                       scale: torch.Tensor | None = None) -> torch.Tensor:
        if scale is not None:
            S = S * scale
        if spelling is None:
            return S
        weight = self.spelling_weight
        if weight is None:
            return S + spelling
        weight = weight.to(S.device)
        return (1 - weight) * S + weight * spelling

    def scores(self, queries: torch.Tensor, spelling: torch.Tensor | None = None,
               scale: torch.Tensor | None = None) -> torch.Tensor:
        """Scores (B, N), as :func:`softkv.read.score`: ``scale`` (B, 1) times meaning, with ``spelling``
        (B, N + A) added (or mixed, for a fixed weight), each entry scored as its best name."""
        if self.query_projection is not None:
            queries = queries @ self.query_projection.T
        n_keys = self.key_embeddings.shape[0]
        S = F.similarity(queries, self.key_embeddings, self.scoring)
        if spelling is not None:
            spelling = torch.as_tensor(spelling, dtype=S.dtype, device=S.device)
        if scale is not None:
            scale = torch.as_tensor(scale, dtype=S.dtype, device=S.device).reshape(-1, 1)
        S = self._with_spelling(S, None if spelling is None else spelling[:, :n_keys], scale)
        if self.alias_embeddings.shape[0]:
            S_alias = self._with_spelling(F.similarity(queries, self.alias_embeddings, self.scoring),
                                          None if spelling is None else spelling[:, n_keys:], scale)
            index = self.alias_rows.to(S.device)[None, :].expand(S.shape[0], -1)
            S = S.scatter_reduce(1, index, S_alias, reduce="amax", include_self=True)
        return S

    def weights(self, S: torch.Tensor, exclude: torch.Tensor | None = None, exact: torch.Tensor | None = None,
                cutoff: Any = None) -> torch.Tensor:
        """Weights (B, N) from scores, as :func:`softkv.read.weigh`.

        ``exclude`` (B,) holds a key row per query to leave out (-1: none);
        ``exact`` (B,) the row a query names exactly (-1: none), which then
        takes all the weight; with a threshold (``cutoff`` (B,) for "auto"),
        a query that some key beats weighs only the keys that beat it.
        """
        keep = F.kept(S, exclude)
        temperature = self._temperature(S, keep)
        keep = F.keep_top_k(S, keep, self.top_k)
        level = self._level(cutoff, S)
        if level is not None:
            keep = F.keep_beyond(S, keep, level)
        W = F.normalize(S, keep, temperature, self.mode)
        if exact is not None:
            exact = torch.as_tensor(exact, device=S.device)
            rows = torch.nonzero(exact >= 0).flatten()
            if len(rows):
                one_hot = torch.zeros_like(W[rows]).scatter(1, exact[rows, None], 1.0)
                W = W.index_put((rows,), one_hot)
        return W

    def _level(self, cutoff: Any, S: torch.Tensor) -> torch.Tensor | None:
        """The threshold of each query (B, 1): the module's own, or the given cutoffs for "auto" (None: none)."""
        threshold = self.threshold if self.threshold != "auto" else cutoff
        if threshold is None:
            return None
        return torch.as_tensor(threshold, dtype=S.dtype, device=S.device).reshape(-1, 1).expand(S.shape[0], 1)

    def _temperature(self, S: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """The temperature of each row (B, 1): fixed, or std(kept scores) / ln(N + 1) as in softmax's "auto"."""
        return F.temperatures(S, keep, self.log_temperature.exp(), self.auto_temperature)

    def read(self, queries: Any, spelling: Any = None, exclude: Any = None, exact: Any = None,
             cutoff: Any = None, scale: Any = None) -> ModuleRead:
        """The whole read: answers, weights and scores of the last hop, p_miss and misses.

        ``queries`` are embeddings (B, d), or, for a module made by
        ``SoftDict.to_module``, texts: then the dict's encoder embeds them and
        the dict's own code gives their spelling, scale, exact keys and
        cutoffs. ``cutoff`` (B,) is each query's threshold when
        ``threshold="auto"``; ``scale`` (B, 1) the default score's factor of
        the meaning similarity.
        """
        if isinstance(queries, (list, tuple)) and queries and all(isinstance(q, str) for q in queries):
            if self.text_inputs is None:
                raise TypeError("this module reads embeddings; a module made by SoftDict.to_module reads text too")
            queries, spelling, exact, cutoff, scale = self.text_inputs(list(queries))
        query = torch.as_tensor(queries, dtype=self.key_embeddings.dtype, device=self.key_embeddings.device)
        if query.ndim == 1:
            query = query[None, :]
        for hop in range(self.hops):
            S = self.scores(query, spelling, scale)
            W = self.weights(S, exclude, exact, cutoff)
            read = W @ self.values / W.sum(dim=1, keepdim=True)
            if hop < self.hops - 1:
                query = query + self.hop_projections[hop](read)
        p_miss, missed = self._misses(S, exclude, exact, cutoff)
        return ModuleRead(read.reshape((read.shape[0],) + self.value_shape), W, S, p_miss, missed)

    def _misses(self, S: torch.Tensor, exclude: Any, exact: Any, cutoff: Any) -> tuple[torch.Tensor | None,
                                                                                        torch.Tensor]:
        named = torch.zeros(S.shape[0], dtype=torch.bool, device=S.device)
        if exact is not None:
            named = torch.as_tensor(exact, device=S.device) >= 0
        threshold = self._level(cutoff, S)
        if threshold is None:
            return None, torch.zeros_like(named)
        keep = F.kept(S, exclude)
        temperature = self._temperature(S, keep)
        keep = F.keep_top_k(S, keep, self.top_k)
        p_miss = F.null_weight(S, keep, temperature, threshold).masked_fill(named, 0.0)
        best = S.masked_fill(~keep, -math.inf).max(dim=1).values
        return p_miss, ~named & (best < threshold[:, 0])

    def forward(self, queries: Any, spelling: Any = None, exclude: Any = None, exact: Any = None,
                cutoff: Any = None, scale: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Read the memory: (values ``(B, *value_shape)``, weights of the last hop (B, N))."""
        found = self.read(queries, spelling, exclude, exact, cutoff, scale)
        return found.values, found.weights

    def extra_repr(self) -> str:
        return (
            f"key_embeddings={tuple(self.key_embeddings.shape)}, value_shape={self.value_shape}, "
            f"temperature={self.temperature!r}, scoring={self.scoring!r}, top_k={self.top_k}, mode={self.mode!r}, "
            f"aliases={self.alias_embeddings.shape[0]}, hops={self.hops}, "
            f"query_projection={self.query_projection is not None}"
        )


def _check(K: torch.Tensor, V: torch.Tensor, scoring: str, top_k: Any, mode: str, hops: Any, spelling: Any) -> None:
    if K.ndim != 2:
        raise ValueError(f"key_embeddings must be (n_keys, d), got shape {tuple(K.shape)}")
    if V.shape[0] != K.shape[0]:
        raise ValueError(f"need one value per key: {K.shape[0]} keys, values of shape {tuple(V.shape)}")
    if scoring not in SCORINGS:
        raise ValueError(f"scoring must be one of {SCORINGS}, got {scoring!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be None or an integer >= 1, got {top_k!r}")
    if not isinstance(hops, int) or hops < 1:
        raise ValueError(f"hops must be an integer >= 1, got {hops!r}")
    if spelling is not None and not 0.0 <= float(spelling) <= 1.0:
        raise ValueError(f"spelling_weight must be None or from 0 to 1, got {spelling!r}")
