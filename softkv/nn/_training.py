"""Training a SoftDict by gradient descent through :class:`softkv.nn.SoftKVMemory`.

The module reads as the dict reads (spelling, aliases and all), the encoder
stays frozen, and the text side of each query (its spelling similarities, the
key it names) is computed once, so every epoch is a few small matrix
products: fitting a few hundred pairs takes seconds on a CPU. What is trained
is the caller's choice (``learn=``):

- ``"values"``: the stored values (a write by gradient);
- ``"temperature"``: the softmax temperature;
- ``"spelling"``: the weight of spelling in the score;
- ``"projection"``: a (d, d) linear map of the query embeddings, starting at
  the identity: a metric learned on top of the encoder;
- ``"keys"``: the key embeddings themselves.

Queries that are keys of the SoftDict are read with their own key left out
(leave-one-out), so a SoftDict can be fitted on its own contents. Nothing
here changes a SoftDict: :func:`fit` returns an :class:`~softkv.store.Update`
that ``SoftDict.fit`` applies under its write lock.

Notes on :func:`fit`. When the temperature is learned together with anything
else, it is fitted alone first, and the rest starts from that calibrated read:
otherwise the (d, d) projection, which moves much faster than one
log-temperature, ends training before the temperature has settled. The second
stage keeps its state only if it beats the first on the validation pairs, so
learning more never ends worse there than learning the temperature alone.
Adam moves every entry by about ``learning_rate`` per step; for the projection
and the keys, (d, d) and (N, d) tensors of entries near 1/sqrt(d), the rate is
divided by sqrt(d), so that each step changes them by about the same relative
amount as it changes the temperature.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..params import Params, whole_number
from ..read import LeaveOut, Readable, embed_queries, median_temperature, queries_of, score, text_features
from ..store import Contents, Memory, Update
from ..store._values import NUMERIC
from ._module import SoftKVMemory

__all__ = ["LEARNABLE", "FitHistory", "fit", "fit_dict", "module_contents", "module_inputs", "module_update",
           "to_module"]

LEARNABLE = ("values", "keys", "temperature", "spelling", "projection")


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


SMALL_FIT = 5e7
"""Multiply-adds per epoch (queries x (keys + width) x width) below which a fit trains on one thread."""


def _training_threads(threads: int, n_queries: int, n_keys: int, width: int) -> int:
    """One thread for a small problem, whose products are too small to share (and a busy machine's cores make
    torch's default threads wait on each other: 3-19 s per fit measured against 0.6-1.9 s on one); at most 4."""
    return 1 if n_queries * (n_keys + width) * width < SMALL_FIT else min(threads, 4)


def _check_learn(learn: Sequence[str]) -> tuple[str, ...]:
    learn = (learn,) if isinstance(learn, str) else tuple(learn)
    unknown = [name for name in learn if name not in LEARNABLE]
    if unknown:
        raise ValueError(f"learn takes any of {LEARNABLE}; got {unknown}")
    return learn


def _order(memory: Memory) -> np.ndarray:
    """The memory row of each key in iteration order: the module's rows follow iteration order."""
    if memory.spec is None or memory.spec.kind != NUMERIC:
        kind = "nothing" if memory.spec is None else memory.spec.describe()
        raise TypeError(f"the torch module reads numeric values; this SoftDict holds {kind}")
    return np.array([memory.row_of[key] for key in memory.stored], dtype=np.int64)


def to_module(memory: Memory, params: Params, *, learn: Sequence[str] = (), hops: int = 1) -> SoftKVMemory:
    """A SoftKVMemory that reads as a SoftDict (``memory`` read with ``params``) reads."""
    learn = _check_learn(learn)
    order = _order(memory)
    if "temperature" in learn and params.temperature == "auto":
        params = params.replace(temperature=_starting_temperature(memory, params))
    if "spelling" in learn and (params.scoring != "cosine" or params.spelling_weight == "auto"):
        raise ValueError("a spelling weight is learned for a fixed mix of two cosines: set d.spelling_weight to a "
                         "number (and scoring='cosine') first; the default reads spelling beyond chance, with no "
                         "weight to learn")
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    projection = memory.projection if memory.projection is not None else "projection" in learn
    numeric = memory.numeric_values("a torch module (and fit)")
    module = SoftKVMemory(
        memory.embeddings[order], numeric[order].astype(np.float32), temperature=params.temperature,
        scoring=params.scoring, top_k=params.top_k, mode=params.mode, threshold=params.threshold,
        spelling_weight=None if params.spelling_weight == "auto" else float(params.spelling_weight),
        alias_embeddings=memory.alias_embeddings,
        alias_rows=position[memory.alias_rows], learn_keys="keys" in learn, learn_values="values" in learn,
        learn_temperature="temperature" in learn, learn_spelling="spelling" in learn, query_projection=projection,
        learn_projection="projection" in learn, hops=hops, keys=list(memory.stored),
    )
    module.text_inputs = TextInputs(memory, params)
    return module


def _starting_temperature(memory: Memory, params: Params) -> float:
    """Where a learned temperature starts when the dict reads with "auto": the median temperature "auto" gives
    the keys themselves read as queries, each without its own key (fit starts from its own queries')."""
    if len(memory) < 2:
        raise ValueError("a learned temperature starts from the one the dict reads its keys with, which needs at "
                         "least 2 keys; or set d.temperature to a number first")
    keys = list(memory.keys)
    leave_out = LeaveOut.one_key_each(np.arange(len(keys)), len(keys))
    return median_temperature(score(memory, params, keys, memory.embeddings, leave_out))


@dataclass(frozen=True)
class TextInputs:
    """What a module made from a SoftDict needs for text queries: embeddings, spelling and exact keys, by the
    dict's own encoder and code (:func:`module_inputs`)."""

    memory: Memory
    params: Params

    def __call__(self, texts: list[str]) -> tuple[Any, ...]:
        Q = embed_queries(self.memory.encoder, self.memory.dim, texts)
        found = module_inputs(self.memory, self.params, texts, Q)
        return Q, found.spelling, found.exact, found.cutoff, found.scale


@dataclass(frozen=True)
class ModuleInputs:
    """What the module takes besides the query embeddings, in its row order (:func:`module_inputs`)."""

    spelling: np.ndarray | None  # (B, N + A) added to (or mixed with) the similarities
    scale: np.ndarray | None  # (B, 1) the default score's factor of the similarities
    exclude: np.ndarray  # (B,) a key row to leave out, -1 for none
    exact: np.ndarray  # (B,) the row a query names, -1 for none
    cutoff: np.ndarray | None  # (B,) the default threshold of each query

    def arrays(self) -> tuple[Any, ...]:
        return self.spelling, self.scale, self.exclude, self.exact, self.cutoff


def module_inputs(memory: Memory, params: Params, queries: Sequence[Any], Q: np.ndarray,
                  leave_out_own: bool = False) -> ModuleInputs:
    """What the module takes besides the query embeddings Q, in its row order: computed by the dict's own code
    (:func:`softkv.read.text_features`). ``leave_out_own`` hides from a query that is a key its own key."""
    order = _order(memory)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    features = text_features(memory, params, queries, Q if memory.projection is None else Q @ memory.projection.T)
    spelling, exact = features.spelling, features.exact_rows
    if spelling is not None:
        n_keys = len(memory)
        spelling = np.concatenate([spelling[:, order], spelling[:, n_keys:]], axis=1)
    exact = np.where(exact >= 0, position[np.maximum(exact, 0)], -1)
    exclude = np.full(len(queries), -1, dtype=np.int64)
    if leave_out_own:
        exclude, exact = exact, np.full(len(queries), -1, dtype=np.int64)
    return ModuleInputs(spelling, features.scale, exclude, exact, features.cutoff)


def module_update(module: Any, memory: Memory) -> Update:
    """The :class:`Update` that writes a module's trained tensors back into the SoftDict it was made from."""
    if module.hops != 1:
        raise ValueError(f"a SoftDict reads in one hop; this module reads in {module.hops}")
    keys = module.keys
    if keys is None or len(keys) != len(memory) or set(keys) != set(memory.stored):
        raise ValueError("the module does not hold this SoftDict's keys; make it with d.to_module()")
    learned = {name for name, _ in module.named_parameters()}
    embeddings, values, params = {}, {}, {}
    if "key_embeddings" in learned:
        rows = module.key_embeddings.detach().cpu().numpy().astype(np.float32)
        if not np.isfinite(rows).all():
            raise ValueError("the module's key embeddings contain NaN or inf; nothing was changed")
        embeddings = dict(zip(keys, rows))
    if "values" in learned:
        trained = module.values.detach().cpu().double().numpy().reshape((len(keys),) + module.value_shape)
        values = {key: (float(v) if module.value_shape == () else v) for key, v in zip(keys, trained)}
    if "log_temperature" in learned:
        params["temperature"] = module.temperature
    if "spelling_logit" in learned:
        params["spelling_weight"] = float(module.spelling_weight.detach())
    projection = None if module.query_projection is None else module.query_projection.detach().cpu().numpy()
    return Update(params, values, embeddings, projection, made_from=memory.state)


def module_contents(module: Any, keys: Sequence[str] | None) -> tuple[Contents, dict[str, Any]]:
    """The :class:`~softkv.store.Contents` and read parameters of a module, for a new SoftDict."""
    if module.hops != 1:
        raise ValueError(f"a SoftDict reads in one hop; this module reads in {module.hops}")
    names = list(keys) if keys is not None else module.keys
    if names is None:
        raise ValueError("the module carries no key names: pass keys=[...]")
    trained = module.values.detach().cpu().double().numpy().reshape((len(names),) + module.value_shape)
    values = [float(v) for v in trained] if module.value_shape == () else list(trained)
    weight = module.spelling_weight
    params = {"temperature": module.temperature, "scoring": module.scoring, "top_k": module.top_k,
              "mode": module.mode, "threshold": module.threshold,
              "spelling_weight": "auto" if weight is None else float(weight.detach())}
    projection = None if module.query_projection is None else module.query_projection.detach().cpu().numpy()
    if len(set(names)) != len(names) or len(names) != len(values):
        raise ValueError(f"need {len(values)} distinct key names for the module's rows, got {len(names)}")
    embeddings = dict(zip(names, module.key_embeddings.detach().cpu().numpy()))
    return Contents(dict(zip(names, values)), embeddings, {}, projection), params


def fit(
    memory: Memory,
    params: Params,
    queries: Sequence[Any],
    Q: np.ndarray,
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
) -> tuple[FitHistory, Update]:
    """Train the read of ``memory`` so that it answers ``queries`` (embedded as Q) with ``targets``.

    Full-batch Adam on the mean squared error, with early stopping: a random
    ``validation_fraction`` of the pairs is held out, and the state with the
    lowest validation loss is kept (after ``patience`` epochs without
    improvement, training stops). ``projection_decay`` adds
    ``decay * ||P - I||^2``, pulling the learned metric towards the encoder's.
    Returns the history and the :class:`Update` to apply.

    Two stages when the temperature is learned with anything else, and step
    sizes scaled to the tensors: see the module's notes.

    ``device`` (e.g. ``"cuda"``) trains there; the results come back as
    numpy arrays either way. torch runs on at most 4 threads here: on
    problems this small more threads cost more in coordination than they
    save.
    """
    learn = _check_learn(learn)
    _check_schedule(epochs, learning_rate, patience, projection_decay)
    targets = _check_pairs(memory, queries, targets, validation_fraction)
    target_device = _check_device(device)
    inputs = module_inputs(memory, params, queries, Q, leave_out_own=True)
    if "temperature" in learn and params.temperature == "auto":  # start where "auto" reads these queries
        leave_out = LeaveOut.one_key_each(_memory_rows(memory, inputs.exclude), len(memory))
        params = params.replace(temperature=median_temperature(score(memory, params, queries, Q, leave_out)))
    module = to_module(memory, params, learn=learn).to(target_device)
    if not dict(module.named_parameters()):
        raise ValueError("learn is empty: nothing to train")
    splits = _splits((Q, *inputs.arrays(), targets), validation_fraction, seed, module.key_embeddings.device)
    threads = torch.get_num_threads()
    torch.set_num_threads(_training_threads(threads, len(Q), len(memory), Q.shape[1]))
    try:
        history = _train(module, splits, learn, epochs, learning_rate, patience, projection_decay)
    finally:
        torch.set_num_threads(threads)
    update = module_update(module, memory)
    if "temperature" in learn:
        update.params.setdefault("temperature", module.temperature)
    return history, update


def _splits(arrays: tuple[Any, ...], validation_fraction: float, seed: int, device: Any) -> dict[str, tuple[Any, ...]]:
    """The (queries, spelling, scale, exclude, exact, cutoff, targets) arrays cut at random into "train" and
    "validation" tensors."""
    order = np.random.default_rng(seed).permutation(len(arrays[0]))
    n_val = max(1, int(round(validation_fraction * len(order))))

    def tensors(rows: np.ndarray) -> tuple[Any, ...]:
        return tuple(None if array is None else torch.as_tensor(
            array[rows], device=device, dtype=torch.float32 if i == len(arrays) - 1 else None)
            for i, array in enumerate(arrays))

    return {"validation": tensors(order[:n_val]), "train": tensors(order[n_val:])}


def fit_dict(d: Readable, queries: Iterable[Any], targets: Any, **options: Any) -> FitHistory:
    """:func:`fit` SoftDict ``d`` and write the trained read back into it (``SoftDict.fit``); returns the history."""
    queries = queries_of(queries, "fit")  # a generator read once, here (it was read twice, the second time empty)
    memory, params = d.snapshot()
    history, update = fit(memory, params, queries, d.embed(queries), targets, **options)
    d.apply_update(update)
    return history


def _check_schedule(epochs: Any, learning_rate: Any, patience: Any, projection_decay: Any) -> None:
    """The training schedule's numbers, before any work: a NaN step size would train to NaN silently."""
    for name, value in (("epochs", epochs), ("patience", patience)):
        if not whole_number(value, 1):
            raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
    for name, value, low in (("learning_rate", learning_rate, "> 0"), ("projection_decay", projection_decay, ">= 0")):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or (
                value < 0 or value == 0 and name == "learning_rate"):
            raise ValueError(f"{name} must be a finite number {low}, got {value!r}")


def _check_pairs(memory: Memory, queries: Sequence[Any], targets: Any, validation_fraction: float) -> np.ndarray:
    _order(memory)
    assert memory.spec is not None
    try:
        targets = np.asarray(targets, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"targets are numbers with the values' shape {memory.spec.shape}, one per query ({error})") \
            from None
    if len(queries) != len(targets) or len(queries) < 2:
        raise ValueError(
            f"need at least 2 (query, target) pairs of equal length, got {len(queries)} and {len(targets)}"
        )
    if targets.shape[1:] != memory.spec.shape or not np.isfinite(targets).all():
        raise ValueError(f"targets must be finite with the values' shape {memory.spec.shape}")
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    checked: np.ndarray = targets
    return checked


def _train(module: Any, splits: dict[str, tuple[Any, ...]], learn: tuple[str, ...], epochs: int,
           learning_rate: float, patience: int, projection_decay: float) -> FitHistory:
    """Adam in one or two stages (the temperature first), keeping the state with the best validation loss."""
    def loss_on(name: str) -> Any:
        query, spelling, scale, exclude, exact, cutoff, target = splits[name]
        predicted, _ = module(query, spelling, exclude, exact, cutoff, scale)
        loss = ((predicted - target) ** 2).mean()
        if name == "train" and projection_decay and module.query_projection is not None:
            identity = torch.eye(module.query_projection.shape[0], device=module.key_embeddings.device)
            loss = loss + projection_decay * ((module.query_projection - identity) ** 2).sum()
        return loss

    parameters = dict(module.named_parameters())
    history = FitHistory(learned=learn, best_epoch=-1)
    with torch.no_grad():
        history.initial_validation_loss = best = float(loss_on("validation"))
    best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}  # kept if nothing helps
    stages = [list(parameters)]
    if "log_temperature" in parameters and len(parameters) > 1:
        stages.insert(0, ["log_temperature"])
    scale = {"key_embeddings": 1 / math.sqrt(module.key_embeddings.shape[1])}
    scale["query_projection"] = scale["key_embeddings"]
    for stage, names in enumerate(stages):
        if stage:
            module.load_state_dict(best_state)
            history.first_stage_epochs = len(history.train_loss)
        optimizer = torch.optim.Adam([{"params": [parameters[n]], "lr": learning_rate * scale.get(n, 1.0)}
                                      for n in names])
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
    return history


def _memory_rows(memory: Memory, module_rows: np.ndarray) -> np.ndarray:
    """Module rows (iteration order) as memory rows; -1 stays -1."""
    order = _order(memory)
    return np.where(module_rows >= 0, order[np.maximum(module_rows, 0)], -1)


def _check_device(device: str | None) -> Any:
    try:
        target = torch.device(device or "cpu")
    except (RuntimeError, TypeError) as error:
        raise ValueError(f'device must name a torch device such as "cpu" or "cuda", got {device!r}') from error
    if target.type == "cuda" and not torch.cuda.is_available():
        raise ValueError('device="cuda" but torch sees no CUDA device here; leave device out to train on the CPU')
    return target
