"""Training a SoftDict by gradient descent through :class:`softkv.nn.SoftKVMemory`.

The encoder stays frozen, so the queries are embedded once and every epoch is
a few small matrix products: fitting a few hundred pairs takes seconds on a
CPU. What is trained is the caller's choice (``learn=``):

- ``"values"``: the stored values (a write by gradient);
- ``"temperature"``: the softmax temperature;
- ``"projection"``: a (d, d) linear map of the query embeddings, starting at
  the identity: a metric learned on top of the encoder;
- ``"keys"``: the key embeddings themselves.

Queries that are keys of the SoftDict are read with their own key left out
(leave-one-out), so a SoftDict can be fitted on its own contents.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import attention
from ._params import hybrid_is_set
from ._read import embed_queries
from ._values import NUMERIC

LEARNABLE = ("values", "keys", "temperature", "projection")


@dataclass
class FitHistory:
    """What ``SoftDict.fit`` did: losses per epoch and the epoch it kept (-1: none beat the start)."""

    learned: tuple[str, ...]
    train_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0
    initial_validation_loss: float = float("nan")
    first_stage_epochs: int = 0  # epochs spent fitting the temperature alone before the rest (0: no such stage)

    @property
    def best_validation_loss(self) -> float:
        """The validation loss of the state kept (the initial one when best_epoch is -1)."""
        if self.best_epoch < 0:
            return self.initial_validation_loss
        return self.validation_loss[self.best_epoch]

    def __str__(self) -> str:
        return (
            f"FitHistory(learned={self.learned}, epochs={len(self.train_loss)}, best_epoch={self.best_epoch}, "
            f"validation MSE {self.initial_validation_loss:.4g} -> {self.best_validation_loss:.4g})"
        )


def _check_learn(learn: Sequence[str]) -> tuple[str, ...]:
    learn = (learn,) if isinstance(learn, str) else tuple(learn)
    unknown = [name for name in learn if name not in LEARNABLE]
    if unknown:
        raise ValueError(f"learn takes any of {LEARNABLE}; got {unknown}")
    return learn


def _numeric_rows(d: Any) -> tuple[list[str], np.ndarray]:
    store = d._store
    if store.spec is None or store.spec.kind != NUMERIC:
        raise TypeError(f"the torch module reads numeric values; this SoftDict holds {d.value_kind or 'nothing'}")
    keys = list(store.values)
    rows = [store.row_of[key] for key in keys]
    return keys, store.numeric_values[rows]


def _check_readable_by_module(d: Any) -> None:
    if len(d._store.aliases):
        raise ValueError("the torch module holds one embedding per key: it does not read aliases")
    if hybrid_is_set(d.hybrid) or d.mode != "softmax":
        raise ValueError("the torch module reads by softmax over embeddings alone: set d.hybrid = 0 and "
                         "d.mode = 'softmax' first")


def to_module(d: Any, *, learn: Sequence[str] = (), hops: int = 1) -> Any:
    """A SoftKVMemory with the keys, values and read parameters of SoftDict ``d``.

    The module reads by meaning alone: it reads what ``d`` reads with
    ``hybrid=0`` (a set spelling weight is refused; "auto" is not carried).
    """
    from .nn import SoftKVMemory

    learn = _check_learn(learn)
    keys, values = _numeric_rows(d)
    _check_readable_by_module(d)
    if "temperature" in learn and d.temperature == "auto":
        raise ValueError(
            'a learned temperature must start from a number: set d.temperature to a float first '
            '(fit() does this for you, starting from the median "auto" temperature)'
        )
    projection = d.query_projection if d.query_projection is not None else "projection" in learn
    return SoftKVMemory(
        d.key_embeddings,
        values.astype(np.float32),
        temperature=d.temperature,
        scoring=d.scoring,
        top_k=d.top_k,
        learn_keys="keys" in learn,
        learn_values="values" in learn,
        learn_temperature="temperature" in learn,
        query_projection=projection,
        learn_projection="projection" in learn,
        hops=hops,
        keys_names=keys,
    )


def update_from_module(d: Any, module: Any) -> None:
    """Write a module's trained tensors back into SoftDict ``d`` (same keys).

    A ``d`` with ``hybrid="auto"`` is set to ``hybrid=0``, the read that was
    trained, so that it answers as the module does.
    """
    if module.hops != 1:
        raise ValueError(f"a SoftDict reads in one hop; this module reads in {module.hops}")
    keys = module.keys_names
    if keys is None or len(keys) != len(d) or set(keys) != set(d):
        raise ValueError("the module does not hold this SoftDict's keys; make it with d.to_module()")
    learned = {name for name, _ in module.named_parameters()}
    if "keys" in learned:
        embeddings = module.keys.detach().cpu().numpy().astype(np.float32)
        if not np.isfinite(embeddings).all():
            raise ValueError("the module's key embeddings contain NaN or inf; nothing was changed")
        for key, row in zip(keys, embeddings):
            d._store.set_embedding(key, row)
    if "values" in learned:
        values = module.values.detach().cpu().double().numpy().reshape((len(keys),) + module.value_shape)
        d.update({key: (float(v) if module.value_shape == () else v) for key, v in zip(keys, values)})
    if "log_temperature" in learned:
        d.temperature = module.temperature
    if module.query_projection is not None:
        d.query_projection = module.query_projection.detach().cpu().numpy()
    if d.hybrid == "auto":  # the trained read is the module's, by meaning alone: read the same way
        d.hybrid = 0.0


def from_module(cls: Any, module: Any, keys: Sequence[str] | None = None, *, encoder: Any = None) -> Any:
    """A new SoftDict of class ``cls`` from a module's keys, values and parameters."""
    if module.hops != 1:
        raise ValueError(f"a SoftDict reads in one hop; this module reads in {module.hops}")
    keys = list(keys) if keys is not None else module.keys_names
    if keys is None:
        raise ValueError("the module carries no key names: pass keys=[...]")
    values = module.values.detach().cpu().double().numpy().reshape((len(keys),) + module.value_shape)
    d = cls.from_embeddings(
        keys,
        module.keys.detach().cpu().numpy(),
        [float(v) for v in values] if module.value_shape == () else list(values),
        encoder=encoder,
        temperature=module.temperature,
        scoring=module.scoring,
        top_k=module.top_k,
        hybrid=0.0,  # as the module reads
    )
    if module.query_projection is not None:
        d.query_projection = module.query_projection.detach().cpu().numpy()
    return d


def fit(
    d: Any,
    queries: Sequence[Any],
    targets: Any,
    *,
    learn: Sequence[str] = ("temperature", "projection"),
    epochs: int = 500,
    learning_rate: float = 0.01,
    validation_fraction: float = 0.2,
    patience: int = 30,
    projection_decay: float = 0.0,
    seed: int = 0,
    device: str | None = None,
) -> FitHistory:
    """Train SoftDict ``d`` so that ``d[query]`` approaches ``target``; returns the history.

    Full-batch Adam on the mean squared error, with early stopping: a random
    ``validation_fraction`` of the pairs is held out, and the state with the
    lowest validation loss is kept (after ``patience`` epochs without
    improvement, training stops). ``projection_decay`` adds
    ``decay * ||P - I||^2``, pulling the learned metric towards the encoder's.
    The trained tensors are written back into ``d``.

    When the temperature is learned together with anything else, it is fitted
    alone first, and the rest starts from that calibrated read: otherwise the
    (d, d) projection, which moves much faster than one log-temperature, ends
    training before the temperature has settled. The second stage keeps its
    state only if it beats the first on the validation pairs, so learning more
    never ends worse there than learning the temperature alone.

    Adam moves every entry by about ``learning_rate`` per step; for the
    projection and the keys, (d, d) and (N, d) tensors of entries near
    1/sqrt(d), the rate is divided by sqrt(d), so that each step changes them
    by about the same relative amount as it changes the temperature.

    The module reads by meaning alone, so a dict with ``hybrid="auto"`` is
    trained, and afterwards reads, with ``hybrid=0``; a set spelling weight
    is refused.

    ``device`` (e.g. ``"cuda"``) trains there; the results come back to the
    SoftDict as numpy arrays either way.
    """
    import torch

    learn = _check_learn(learn)
    keys, _ = _numeric_rows(d)
    _check_readable_by_module(d)
    targets = np.asarray(targets, dtype=np.float64)
    if len(queries) != len(targets) or len(queries) < 2:
        raise ValueError(
            f"need at least 2 (query, target) pairs of equal length, got {len(queries)} and {len(targets)}"
        )
    if targets.shape[1:] != d._store.spec.shape or not np.isfinite(targets).all():
        raise ValueError(f"targets must be finite with the values' shape {d._store.spec.shape}")
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    target_device = _check_device(device)
    Q = embed_queries(d.encoder, d._store.dim, list(queries))  # encoded once: the encoder is frozen
    row_of = {key: i for i, key in enumerate(keys)}
    exclude = np.array([row_of.get(q, -1) if isinstance(q, str) else -1 for q in queries])
    if "temperature" in learn and d.temperature == "auto":
        d.temperature = _median_auto_temperature(d, Q)
    module = to_module(d, learn=learn).to(target_device)

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(queries))
    n_val = max(1, int(round(validation_fraction * len(queries))))
    splits = {"validation": order[:n_val], "train": order[n_val:]}
    tensors = {
        name: (torch.as_tensor(Q[idx], device=module.keys.device),
               torch.as_tensor(targets[idx], dtype=torch.float32, device=module.keys.device),
               torch.as_tensor(exclude[idx], device=module.keys.device))
        for name, idx in splits.items()
    }
    parameters = dict(module.named_parameters())
    if not parameters:
        raise ValueError("learn is empty: nothing to train")
    history = FitHistory(learned=learn)

    def loss_on(name: str) -> torch.Tensor:
        query, target, excluded = tensors[name]
        predicted, _ = module(query, exclude=excluded)
        loss = ((predicted - target) ** 2).mean()
        if name == "train" and projection_decay and module.query_projection is not None:
            identity = torch.eye(module.query_projection.shape[0], device=module.keys.device)
            loss = loss + projection_decay * ((module.query_projection - identity) ** 2).sum()
        return loss

    with torch.no_grad():
        history.initial_validation_loss = best = float(loss_on("validation"))
    best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}  # kept if nothing helps
    history.best_epoch = -1
    stages = [list(parameters)]
    if "log_temperature" in parameters and len(parameters) > 1:
        stages.insert(0, ["log_temperature"])
    scaled = {"keys", "query_projection"}
    dim_scale = 1.0 / math.sqrt(module.keys.shape[1])
    for stage, names in enumerate(stages):
        if stage:
            module.load_state_dict(best_state)
            history.first_stage_epochs = len(history.train_loss)
        optimizer = torch.optim.Adam(
            [{"params": [parameters[n]], "lr": learning_rate * (dim_scale if n in scaled else 1.0)} for n in names]
        )
        start, stage_best = len(history.train_loss), -1
        for epoch in range(epochs):
            optimizer.zero_grad()
            loss = loss_on("train")
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                validation = float(loss_on("validation"))
            history.train_loss.append(float(loss.detach()))
            history.validation_loss.append(validation)
            if validation < best:
                best, history.best_epoch, stage_best = validation, start + epoch, epoch
                best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            elif epoch - stage_best >= patience:
                break
    module.load_state_dict(best_state)
    update_from_module(d, module)
    return history


def _median_auto_temperature(d: Any, Q: np.ndarray) -> float:
    store = d._store
    S = attention.scores(Q, store.embeddings, d.scoring, key_inverse_norms=store.inverse_norms)
    return float(np.median(attention.auto_temperature(S)))


def _check_device(device: str | None) -> Any:
    import torch

    try:
        target = torch.device(device or "cpu")
    except (RuntimeError, TypeError) as error:
        raise ValueError(f'device must name a torch device such as "cpu" or "cuda", got {device!r}') from error
    if target.type == "cuda" and not torch.cuda.is_available():
        raise ValueError('device="cuda" but torch sees no CUDA device here; leave device out to train on the CPU')
    return target
