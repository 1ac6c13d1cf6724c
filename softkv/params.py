"""The parameters of a read, declared once: name, check, default, doc, and whether a save keeps it.

:class:`Params` is the table. Each field carries its check and a one-line
doc in its metadata; everything else derives from it: the SoftDict
attributes (``d.temperature = 0.05`` is checked here), ``d.params``, the
repr, save and load, ``copy`` and ``from_embeddings``.

A Params record is frozen: a read takes the dict's current record once and
uses it throughout, so changing a parameter while other threads read never
mixes two settings in one answer.

>>> p = Params.make(temperature=0.05, top_k=3)
>>> p.temperature, p.top_k, p.mode
(0.05, 3, 'softmax')
>>> Params.make(temperature=0)
Traceback (most recent call last):
...
ValueError: temperature must be "auto" or a finite number > 0, got 0; ...
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any, Generic, TypeVar, overload

import numpy as np

from .attention import MODES, SCORINGS
from .spelling import MEASURES

__all__ = ["Parameter", "Params", "parameters", "whole_number"]

T = TypeVar("T")


def whole_number(value: Any, least: int) -> bool:
    """Whether ``value`` is an integer (not a bool) of at least ``least``: a count of keys, rows or epochs.

    >>> whole_number(3, 1), whole_number(0, 1), whole_number(True, 0), whole_number(2.0, 0)
    (True, False, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= least


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _float32_finite(value: float) -> bool:
    """Finite in float32 as well, where the arithmetic happens (1e39 is inf there)."""
    with np.errstate(over="ignore"):
        return math.isfinite(value) and bool(np.isfinite(np.float32(value)))


def check_temperature(name: str, value: Any) -> float | str:
    if isinstance(value, str) and value == "auto":
        return "auto"
    if _real(value) and _float32_finite(float(value)) and np.float32(value) > 0:
        return float(value)
    raise ValueError(
        f'{name} must be "auto" or a finite number > 0, got {value!r}; '
        "smaller is sharper (closer to the nearest key), larger is smoother"
    )


def check_top_k(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if whole_number(value, 1):
        return int(value)
    raise ValueError(f"{name} must be None (all keys) or an integer >= 1, got {value!r}")


def check_threshold(name: str, value: Any) -> float | str | None:
    if value is None or (isinstance(value, str) and value == "auto"):
        return value
    if _real(value) and _float32_finite(float(value)):
        return float(value)
    raise ValueError(
        f'{name} must be "auto" (miss when no key beats chance), None (always answer) or a finite number in '
        f"the score's units, got {value!r}"
    )


def check_scoring(name: str, value: Any) -> str:
    if isinstance(value, str) and value in SCORINGS:
        return value
    raise ValueError(f"{name} must be one of {', '.join(map(repr, SCORINGS))}; got {value!r}")


def check_mode(name: str, value: Any) -> str:
    if isinstance(value, str) and value in MODES:
        return value
    raise ValueError(f"{name} must be one of {', '.join(map(repr, MODES))}; got {value!r}")


def check_spelling_weight(name: str, value: Any) -> float | str:
    if isinstance(value, str) and value == "auto":
        return value
    if _real(value) and 0.0 <= float(value) <= 1.0:
        return float(value)
    raise ValueError(f'{name} must be "auto" or a number from 0 (meaning only) to 1 (spelling only), got {value!r}')


def check_spelling_measure(name: str, value: Any) -> str:
    if isinstance(value, str) and value in MEASURES:
        return value
    raise ValueError(f"{name} must be one of {', '.join(map(repr, MEASURES))} (the mean of edit and n-gram "
                     f"similarity, or either alone), got {value!r}")


def check_exact_match(name: str, value: Any) -> bool | str:
    if isinstance(value, bool) or (isinstance(value, str) and value == "strict"):
        return value
    error = ValueError if isinstance(value, str) else TypeError
    raise error(f'{name} must be True (a key up to case, accents and whitespace), "strict" (the key itself) '
                f"or False (keys read softly too), got {value!r}")


def check_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"{name} must be True or False, got {value!r}")


def check_max_keys(name: str, value: Any) -> int | None:
    if value is None or whole_number(value, 1):
        return None if value is None else int(value)
    raise ValueError(f"{name} must be None (no limit) or an int >= 1, got {value!r}")


def check_evict(name: str, value: Any) -> str:
    if value in ("lru", "fifo"):
        return str(value)
    raise ValueError(f'{name} must be "lru" (least recently used first) or "fifo" (oldest first), got {value!r}')


MAX_VALUE_NAMES = 4096


def check_value_names(name: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if (isinstance(value, (list, tuple)) and 0 < len(value) <= MAX_VALUE_NAMES
            and all(isinstance(item, str) and 0 < len(item) <= 200 for item in value)):
        return tuple(value)
    raise ValueError(f"{name} must be None or a list of 1 to {MAX_VALUE_NAMES} non-empty names (one per component "
                     f"of a vector value), got {value!r}")


def _saved_names(value: Any) -> Any:
    return None if value is None else list(value)


def check_candidates(name: str, value: Any) -> int | None:
    if value is None or whole_number(value, 1):
        return None if value is None else int(value)
    raise ValueError(f"{name} must be None (the backend's own setting) or an integer >= 1, got {value!r}")


def check_index(name: str, value: Any) -> Any:
    if isinstance(value, str) and value in ("auto", "exact", "ivf"):
        return value
    if type(value).__name__ == "IVFIndex" and hasattr(value, "search"):  # softkv.index.IVFIndex, not imported here
        return value
    raise ValueError(f'{name} must be "auto", "exact", "ivf" or an IVFIndex, got {value!r}')


def _saved_index(value: Any) -> str:
    return value if isinstance(value, str) else "ivf"  # an IVFIndex is rebuilt on load


def _param(default: Any, check: Callable[[str, Any], Any], doc: str, save: Callable[[Any], Any] | None = None) -> Any:
    return field(default=default, metadata={"check": check, "doc": doc, "save": save or (lambda value: value)})


@dataclass(frozen=True)
class Params:
    """How a SoftDict reads: every field is a parameter of the constructor and an attribute.

    temperature : "auto" or float > 0, default "auto"
        Softmax temperature over the scores. "auto" uses, per query,
        std(scores) / ln(n_keys + 1): a real blend over three keys and still a
        focused one over thousands. A number is used as it is (for cosine,
        0.05 is sharp and 1 is nearly uniform).
    top_k : int >= 1 or None
        Only the k best-scoring keys get weight (sparse attention).
    threshold : "auto", float or None, default "auto"
        The one cutoff, like rapidfuzz's ``score_cutoff``: a read whose best
        score is below it is a miss. ``d[q]`` and ``lookup`` raise KeyError
        naming the nearest keys, ``get`` returns its default, ``lookup_many``
        raises, masks or answers anyway (``on_miss``), and ``p_miss`` is the
        weight a "none of these" slot scored at the threshold would take
        beside the keys. Exact keys never miss; None always answers. "auto"
        is chance for the default score: a read misses when its best key
        scores no more than the best of N unrelated names would, 9 times in
        10 (19 in 20 when meaning and spelling both count), as measured for
        that query against the background texts (:mod:`softkv.read._evidence`); it is None for raw similarities (a
        fixed spelling weight, no encoder, an approximate index).
    scoring : {"cosine", "dot", "scaled_dot", "neg_l2"}, default "cosine"
        The similarity of embeddings; see :func:`softkv.attention.scores`.
    exact_match : True, "strict" or False, default True
        A query that names a key (or an alias) returns that key's value as
        stored: True also when it differs from the name only in case, accents
        and whitespace ("APPLE", "Crème brûlée ") and no name of another key
        folds alike; "strict" only for the name itself; False makes keys blend
        like any other query.
    spelling_weight : "auto" or float in [0, 1], default "auto"
        How spelling (:mod:`softkv.spelling`) counts beside meaning for a text
        query. "auto": meaning and spelling are each measured in standard
        deviations above unrelated text, weighed by how clearly each singles
        out one name for this query, and put back on the similarity's scale,
        so that no name scores above an identical text
        (:mod:`softkv.read._evidence`); a query made of known words is read
        by meaning alone. A number w: the fixed mix
        (1 - w) * cosine + w * spelling of raw similarities (needs cosine); 0
        is meaning alone. Vector queries and reads through an approximate
        index score by meaning alone.
    spelling_measure : {"both", "edits", "ngrams"}, default "both"
        Which spelling similarity counts: the mean of edit similarity and
        character n-gram TF-IDF ("both"), or either alone
        (:meth:`softkv.spelling.SpellingTable.spelling`). Edits alone suit
        records of names with typos and swapped words; ``calibrate`` with a
        target precision tries each.
    mode : {"softmax", "sparsemax", "hard", "mean"}, default "softmax"
        How scores become weights: softmax (every key some weight), sparsemax
        (exact zeros below a data-dependent cut), hard (all the weight on the
        nearest key: 1-NN) or mean (equal weights on the top_k keys: kNN).
    strict : bool, default False
        True makes ``d[q]`` and ``d.get(q)`` exact, as for a plain dict: a
        query that is no key or alias raises KeyError (``get``: the
        default). ``lookup``, ``lookup_many`` and ``nearest`` still read
        softly.
    max_keys : int or None, default None
        At most this many keys: adding one more evicts one (``evict``), O(1).
    evict : {"lru", "fifo"}, default "lru"
        Which key goes when ``max_keys`` is reached: "lru" the least recently
        used (a key is used when read exactly, or when it takes at least
        :data:`softkv.capacity.USED_WEIGHT` of a soft read's weight, as in
        Neural Episodic Control's memory), "fifo" the oldest.
    value_names : list of str or None, default None
        Names of the components of vector values (a catalog's value
        columns): the ``softkv`` command shows them; reads ignore them.
    index : "auto", "exact", "ivf" or IVFIndex, default "auto"
        How a top_k read finds its k keys: "exact" scores every key; "ivf"
        asks a faiss IVF index (the ``[faiss]`` extra) for approximate
        candidates; "auto" uses IVF for top_k reads over at least
        ``softkv.index.ANN_MIN_KEYS`` (200,000) keys when faiss is installed.
    candidates : int >= 1 or None, default None
        For keys that live in a backend (:mod:`softkv.backends`): how many
        nearest names the engine returns for each query, at least ``top_k``
        (None: the backend's own setting). A query whose keys outside them
        would take more than :data:`softkv.read.TAIL_TOLERANCE` of its weight
        is read once more with four times as many. An in-process dict reads
        every key.
    """

    temperature: float | str = _param(
        "auto", check_temperature, 'softmax temperature: "auto" (per query, std(scores) / ln(N + 1)) or a number > 0')
    top_k: int | None = _param(None, check_top_k, "only the k best-scoring keys get weight (sparse attention)")
    threshold: float | str | None = _param(
        "auto", check_threshold, 'the score cutoff: below it a read misses; "auto": when no key beats chance')
    scoring: str = _param("cosine", check_scoring, 'similarity: "cosine", "dot", "scaled_dot" or "neg_l2"')
    exact_match: bool | str = _param(
        True, check_exact_match, 'a query naming a key (or alias) returns its stored value: up to case, or "strict"')
    spelling_weight: float | str = _param(
        "auto", check_spelling_weight, 'spelling beside meaning: "auto" per query, or a fixed mix weight 0 to 1')
    spelling_measure: str = _param(
        "both", check_spelling_measure, 'the spelling similarity: "both" (edits and n-grams), "edits" or "ngrams"')
    mode: str = _param("softmax", check_mode, 'how scores become weights: "softmax", "sparsemax", "hard" or "mean"')
    strict: bool = _param(False, check_bool, "d[q] and get(q) are exact, as for a dict (lookup stays soft)")
    max_keys: int | None = _param(None, check_max_keys, "at most this many keys; one more evicts one (evict)")
    evict: str = _param("lru", check_evict, 'which key goes at max_keys: "lru" (least recently used) or "fifo"')
    value_names: tuple[str, ...] | None = _param(
        None, check_value_names, "names of the components of vector values (for display)", _saved_names)
    index: Any = _param(
        "auto", check_index, 'how a top_k read finds its keys: "exact", "ivf" (faiss) or "auto"', _saved_index)
    candidates: int | None = _param(
        None, check_candidates, "a backend's nearest names per query, >= top_k (None: the backend's setting)")

    @classmethod
    def make(cls, **values: Any) -> Params:
        """A checked record: unknown names are a TypeError, bad values a ValueError naming the parameter."""
        return cls().replace(**values)

    def replace(self, **changes: Any) -> Params:
        """A copy with ``changes`` checked and applied; nothing changes if any is refused."""
        table = {spec.name: spec for spec in fields(Params)}
        unknown = sorted(set(changes) - set(table))
        if unknown:
            raise TypeError(f"unknown parameter {unknown[0]!r}; the parameters are {', '.join(table)}")
        checked = {name: table[name].metadata["check"](name, value) for name, value in changes.items()}
        combined = replace(self, **checked)
        combined._check_together()
        return combined

    def _check_together(self) -> None:
        """The rules between parameters: a ValueError naming both, whichever was set last."""
        if self.spelling_is_set and self.scoring != "cosine":
            raise ValueError(f"a fixed spelling weight mixes two cosines: it needs scoring='cosine', not "
                             f"{self.scoring!r} (spelling_weight='auto' works with every scoring)")
        if self.candidates is not None and self.top_k is not None and self.candidates < self.top_k:
            raise ValueError(f"candidates ({self.candidates}) must be at least top_k ({self.top_k}): a read weighs "
                             "the top_k best of the candidates")
        if self.index != "auto" and self.index != "exact":  # "ivf" or an IVFIndex
            if self.top_k is None:
                raise ValueError("an approximate index reads the top_k best keys: set top_k, or index='exact'")
            if self.spelling_is_set:
                raise ValueError("a set spelling weight reads every key: use index='exact' with it "
                                 "(spelling_weight='auto' reads by meaning alone through the index)")

    def as_dict(self) -> dict[str, Any]:
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}

    def saved(self) -> dict[str, Any]:
        """The parameters as a save keeps them (JSON values)."""
        return {spec.name: spec.metadata["save"](getattr(self, spec.name)) for spec in fields(self)}

    def changed(self) -> dict[str, Any]:
        """The parameters that differ from their defaults."""
        return {name: value for name, value in self.as_dict().items() if not _same(value, _DEFAULTS[name])}

    @property
    def counts_uses(self) -> bool:
        """Reads keep the usage order (a bounded dict that evicts the least recently used key)."""
        return self.max_keys is not None and self.evict == "lru"

    @property
    def spelling(self) -> float | str:
        """The spelling weight: "auto" (per query) or the fixed weight as a float."""
        return self.spelling_weight if self.spelling_weight == "auto" else float(self.spelling_weight)

    @property
    def spelling_is_set(self) -> bool:
        """Whether the caller set a spelling weight above 0 ("auto" steps aside where spelling cannot apply)."""
        return self.spelling_weight != "auto" and float(self.spelling_weight) > 0


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


_DEFAULTS = {spec.name: spec.default for spec in fields(Params)}


def parameters() -> Iterator[tuple[str, Any, str]]:
    """(name, default, doc) of every parameter, in declaration order.

    >>> [name for name, _, _ in parameters()][:3]
    ['temperature', 'top_k', 'threshold']
    """
    for spec in fields(Params):
        yield spec.name, spec.default, spec.metadata["doc"]


class Parameter(Generic[T]):
    """A read parameter as an attribute of the class that holds a :class:`Params` record: ``d.temperature``
    reads the record's field, ``d.temperature = 0.05`` sets it through ``set_params`` (checked, and the rules
    between parameters with it). Typed for the caller's type checker by the field's type ``T``; its doc is the
    field's line in the table.
    """

    def __init__(self) -> None:
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        docs = {field_name: doc for field_name, _, doc in parameters()}
        if name not in docs:
            raise TypeError(f"{owner.__name__}.{name} is not a read parameter; the parameters are {', '.join(docs)}")
        self.name, self.__doc__ = name, docs[name]

    @overload
    def __get__(self, owner: None, owner_type: type | None = None) -> Parameter[T]: ...

    @overload
    def __get__(self, owner: object, owner_type: type | None = None) -> T: ...

    def __get__(self, owner: object, owner_type: type | None = None) -> Any:
        if owner is None:
            return self
        return getattr(owner._params, self.name)  # type: ignore[attr-defined]

    def __set__(self, owner: object, value: T) -> None:
        owner.set_params(**{self.name: value})  # type: ignore[attr-defined]
