"""What a lookup returns: the answer together with the weights behind it, complete when made.

:class:`LookupResult` is one query; :class:`BatchResult` is many, as arrays
whose columns follow ``.keys``. Both are made once, by the read, with every
field; both print as a table of the heaviest keys. A miss is worded once,
by :func:`miss_reason`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from .._display import Table, clip, names_for, short, value_cells
from ..params import whole_number

if TYPE_CHECKING:
    from ._weighing import Answers, Weights

__all__ = ["BLANK_REASON", "BatchResult", "LookupResult", "by_weight", "effective_keys", "entropy", "is_blank",
           "miss_reason"]

TABLE_ROWS = 10

OPAQUE_DISTRIBUTION = ("these values are opaque (not all numbers, not all hashable), so they cannot be grouped by "
                       "value: the answer is the heaviest key's value, and .weights gives each key's weight")


def by_weight(weights: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The columns of one row by decreasing weight, equal weights by decreasing score: the order every table of
    keys is shown in.

    >>> by_weight(np.array([0.0, 0.7, 0.3, 0.0]), np.array([0.9, 0.5, 0.4, 0.1])).tolist()
    [1, 2, 0, 3]
    """
    return np.lexsort((-scores, -weights))


def entropy(W: np.ndarray) -> np.ndarray:
    """Shannon entropy of each row of W in nats: 0 for one key, ln N for uniform.

    >>> entropy(np.array([[0.5, 0.5, 0.0]])).round(4)
    array([0.6931])
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(W > 0, W * np.log(np.where(W > 0, W, 1.0)), 0.0)
    nats: np.ndarray = np.maximum(-terms.sum(axis=1), 0.0)
    return nats


def effective_keys(W: np.ndarray) -> np.ndarray:
    """1 / sum(w^2) per row: how many keys the blend effectively averages.

    >>> effective_keys(np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]))
    array([2., 1.])
    """
    counts: np.ndarray = 1.0 / np.einsum("bn,bn->b", W, W)
    return counts


def miss_reason(best_score: float, cutoff: float | None) -> str:
    """Why a read missed, in words: the best score against the cutoff, or no key left to read.

    >>> miss_reason(0.412, 0.52)
    'best score 0.412 < threshold 0.520'
    """
    if not np.isfinite(best_score) or cutoff is None:
        return "no key is left to read"
    return f"best score {best_score:.3f} < threshold {cutoff:.3f}"


def is_blank(query: Any) -> bool:
    """Whether ``query`` names nothing: None, NaN, pandas' NA, or text of whitespace only.

    >>> [is_blank(q) for q in ("", "  ", None, float("nan"), "fruit")]
    [True, True, True, True, False]
    """
    if query is None or type(query).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(query, str):
        return not query.strip()
    return isinstance(query, float | np.floating) and bool(np.isnan(query))


BLANK_REASON = "the query is blank: it names no key and reads nothing"


def query_text(query: Any) -> str:
    """A query as shown: the text quoted (a blank query as given), or the width of a vector."""
    return repr(query) if isinstance(query, str) or is_blank(query) else f"<vector of {np.shape(query)[-1]}>"


@dataclass(frozen=True, eq=False)
class LookupResult:
    """One soft lookup: ``.value`` and the attention weights that produced it.

    Attributes
    ----------
    query : str or ndarray
    value : float, ndarray, category or any stored value
        The stored value itself for an exact key; otherwise the blend
        (numeric values), the category with the most weight, or the heaviest
        key's value (opaque values). A miss read with ``on_miss="ignore"``
        still carries the blend.
    keys, weight_array, score_array
        The weights and scores as arrays, in ``keys`` order.
    temperature : float
        The temperature used for this query ("auto" resolved).
    exact : bool
        The query is a key (or an alias) and took its stored value.
    missed : bool
        No key reached the cutoff (``reason`` says why).
    cutoff : float or None
        The score this query's nearest key had to reach (None: always answers).
    p_miss : float or None
        With a cutoff: the weight a "none of these" slot scored at the cutoff
        would take beside the keys (0 for an exact key). High means a blend
        of weak matches, low a confident answer.
    confidence : float
        The nearest key's weight once such a slot has taken its share,
        weight * (1 - p_miss): high when one key beats both chance and the
        other keys (1 for an exact key), low for a miss or a close call.
    tail_mass, candidates : float, int or None
        A read of a backend's candidates (:mod:`softkv.backends`): the weight
        the keys it did not read would take, from a sample of them (NaN: no
        sample), and the names the engine returned for it. None: all read.

    Derived: ``weights`` and ``scores`` (dicts, heaviest or best first),
    ``nearest``, ``nearest_score``, ``entropy``, ``effective_keys``,
    ``distribution`` (categories: value -> total weight), ``reason``,
    ``top(n)``, ``table(n)``.
    """

    query: Any
    value: Any
    keys: tuple[str, ...]
    weight_array: np.ndarray
    score_array: np.ndarray
    temperature: float
    exact: bool = False
    missed: bool = False
    cutoff: float | None = None
    p_miss: float | None = None
    confidence: float = float("nan")
    tail_mass: float | None = None
    candidates: int | None = None
    row_values: Sequence[Any] = field(default=(), repr=False)
    category_weights: dict[Any, float] | None = field(default=None, repr=False)
    opaque: bool = field(default=False, repr=False)
    value_names: tuple[str, ...] | None = field(default=None, repr=False)  # the columns of vector values

    @property
    def distribution(self) -> dict[Any, float] | None:
        """For categorical values, value -> total weight, heaviest first; None for numbers. Opaque values (lists,
        dicts, objects) cannot be grouped by value: reading it raises a TypeError saying so."""
        if self.opaque:
            raise TypeError(OPAQUE_DISTRIBUTION)
        return self.category_weights

    @property
    def reason(self) -> str | None:
        """Why the query missed, in words (None when it was answered)."""
        if not self.missed:
            return None
        return BLANK_REASON if is_blank(self.query) else miss_reason(self.nearest_score, self.cutoff)

    @cached_property
    def _by_weight(self) -> np.ndarray:
        """The columns by weight, then score: sorted on first use (a lookup need not pay for it)."""
        return by_weight(self.weight_array, self.score_array)

    def row_value(self, row: int) -> Any:
        """The stored value of the key in column ``row`` of the arrays."""
        return self.row_values[row]

    @property
    def weights(self) -> dict[str, float]:
        """key -> weight for the keys with weight, heaviest first; sums to 1."""
        order = self._by_weight
        order = order[self.weight_array[order] > 0]
        return {self.keys[i]: float(self.weight_array[i]) for i in order}

    @property
    def scores(self) -> dict[str, float]:
        """key -> score, best first."""
        order = np.argsort(-self.score_array, kind="stable")
        return {self.keys[i]: float(self.score_array[i]) for i in order}

    @property
    def nearest(self) -> str:
        """The hard answer: the key with the best score (the key named, for an exact query)."""
        return self.keys[self.nearest_row]

    @property
    def nearest_row(self) -> int:
        """The column of :attr:`nearest` in the arrays."""
        return int(np.argmax(self.weight_array if self.exact else self.score_array))

    @property
    def nearest_score(self) -> float:
        return float(self.score_array.max()) if len(self.score_array) else float("-inf")

    @property
    def entropy(self) -> float:
        """Entropy of the weights in nats (0 for a single key)."""
        return float(entropy(self.weight_array[None, :])[0])

    @property
    def effective_keys(self) -> float:
        """1 / sum of squared weights: how many keys the blend really averages."""
        return float(effective_keys(self.weight_array[None, :])[0])

    def top(self, n: int = 5) -> list[tuple[str, float, float]]:
        """The n heaviest keys as (key, weight, score) tuples, heaviest first."""
        if not whole_number(n, 0):
            raise ValueError(f"top takes a number of keys, an integer >= 0, got {n!r}")  # -1 would drop the last
        return [(self.keys[i], float(self.weight_array[i]), float(self.score_array[i])) for i in self._by_weight[:n]]

    def headline(self) -> str:
        """One line: the query and its answer, or "no match" and why."""
        if self.missed:
            return f"{query_text(self.query)}: no match ({self.reason})"
        how = "exact key" if self.exact else f"temperature {self.temperature:.3g}, confidence {self.confidence:.2f}"
        tail = "" if self.tail_mass is None or self.exact else f", tail {self.tail_mass:.3f}"
        return (f"{query_text(self.query)} -> {short(self.value, 60)}  ({how}, {len(self.keys)} keys, "
                f"effective {self.effective_keys:.2f}{tail})")

    def as_table(self, n: int = TABLE_ROWS) -> Table:
        """The n heaviest keys with their weights, scores and values (under ``value_names``), under the headline."""
        names = names_for(self.row_values[0] if len(self.row_values) else None, self.value_names)
        rows = tuple((short(self.keys[i], 30), f"{self.weight_array[i]:.3f}", f"{self.score_array[i]:.3f}",
                      *value_cells(self.row_values[i], names)) for i in self._by_weight[:n])
        notes: tuple[str, ...] = ()
        if len(self.keys) > n:
            rest = float(self.weight_array[self._by_weight[n:]].sum())
            notes = (f"... {len(self.keys) - n} more keys, total weight {rest:.3f}",)
        right = frozenset({1, 2} | ({3 + j for j in range(len(names))} if names else set()))
        return Table(("key", "weight", "score", *(names or ("value",))), rows, right, self.headline(), notes, bars=1)

    def table(self, n: int = TABLE_ROWS) -> str:
        """A plain-text table of the n heaviest keys with their weights, scores and values."""
        return self.as_table(n).text().split("\n", 1)[1]

    def _repr_html_(self) -> str:
        return self.as_table().html("softkv-lookup")

    def __str__(self) -> str:
        return self.as_table().text()

    __repr__ = __str__


@dataclass(frozen=True, eq=False)
class BatchResult:
    """Many lookups at once, as arrays whose columns follow ``.keys``.

    Attributes
    ----------
    queries : list
    keys : tuple of str
    values : ndarray
        ``(n_queries, *value_shape)`` blended values; for categorical or opaque
        values an object array of the answers. With ``on_miss="mask"`` a
        missed query reads NaN (numbers) or None.
    score_array, weight_array : ndarray or None
        (n_queries, n_keys) scores and attention weights (None when read with
        ``weights=False``).
    nearest, nearest_rows
        The best-scoring key of each query (the key named, for an exact
        query), and its column.
    temperatures, exact, missed, p_miss, confidence, cutoff, best_scores : ndarray
        (n_queries,) per query: the temperature used, whether it named a key,
        whether it missed, the weight of a "none of these" slot at the cutoff
        (None without a cutoff), the nearest key's weight beside that slot,
        the cutoff (None: always answers) and the best score.
    tail_mass, candidates
        As in :class:`LookupResult`, (n_queries,) each, or None.
    categories, category_weights
        For categorical values: the distinct values and the
        (n_queries, n_categories) weight each query gives them.
    """

    queries: list[Any]
    keys: tuple[str, ...]
    row_values: list[Any]  # the stored values, in .keys order
    categories: list[Any] | None
    score_array: np.ndarray | None
    read_weights: Weights = field(repr=False)
    answers: Answers = field(repr=False)
    opaque: bool = False  # values read as the heaviest key's, not blended or grouped
    value_names: tuple[str, ...] | None = None  # the columns of vector values (for display)
    candidates: np.ndarray | None = None

    @property
    def values(self) -> np.ndarray:
        return self.answers.values

    @property
    def category_weights(self) -> np.ndarray | None:
        return self.answers.category_weights

    @property
    def weight_array(self) -> np.ndarray | None:
        return self.read_weights.dense if self.score_array is not None else None

    @property
    def temperatures(self) -> np.ndarray:
        return self.read_weights.temperatures

    @property
    def exact(self) -> np.ndarray:
        return self.read_weights.exact_rows >= 0

    @property
    def missed(self) -> np.ndarray:
        return self.read_weights.missed

    @property
    def p_miss(self) -> np.ndarray | None:
        return self.read_weights.p_miss

    @property
    def confidence(self) -> np.ndarray:
        found = self.read_weights.confidence
        assert found is not None
        return found

    @property
    def tail_mass(self) -> np.ndarray | None:
        return self.read_weights.tail_mass

    @property
    def cutoff(self) -> np.ndarray | None:
        """(n_queries,) the score each query's nearest key had to reach, or None (always answers)."""
        cutoff = self.read_weights.cutoff
        if cutoff is None:
            return None
        return np.broadcast_to(np.asarray(cutoff, dtype=np.float64), (len(self.queries),))

    @property
    def best_scores(self) -> np.ndarray:
        return self.read_weights.best_scores

    @property
    def nearest(self) -> list[str]:
        return [self.keys[i] for i in self.read_weights.nearest_rows]

    @property
    def nearest_rows(self) -> np.ndarray:
        return self.read_weights.nearest_rows

    @property
    def top_rows(self) -> np.ndarray | None:
        """(n_queries, top_k) the columns of the keys a top_k read weighed (None for a read of every key)."""
        return self.read_weights.top_rows

    @property
    def entropy(self) -> np.ndarray:
        return entropy(self._weights_kept())

    @property
    def effective_keys(self) -> np.ndarray:
        return effective_keys(self._weights_kept())

    def keys_with_weight(self, share: float) -> list[str]:
        """The keys that took at least ``share`` of some query's weight (each query's nearest, when the read
        kept no weights)."""
        rows = self.nearest_rows
        if self.weight_array is not None:
            rows = np.flatnonzero((self.weight_array >= share).any(axis=0))
        return [self.keys[r] for r in rows]

    def _weights_kept(self) -> np.ndarray:
        if self.weight_array is None:
            raise ValueError("this batch was read with weights=False; read it with weights=True to inspect rows")
        return self.weight_array

    def __len__(self) -> int:
        return len(self.queries)

    def __iter__(self) -> Iterator[LookupResult]:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, i: int) -> LookupResult:
        """The i-th query as a :class:`LookupResult`: an exact key's value as stored, a scalar blend as a float."""
        weights, scores = self._weights_kept(), self.score_array
        assert scores is not None
        exact_row = int(self.read_weights.exact_rows[i])
        value = self.values[i]
        if exact_row >= 0:
            value = self.row_values[exact_row]
        elif self.values.ndim == 1 and self.values.dtype != object:
            value = float(value)
        distribution = None
        if self.categories is not None and self.category_weights is not None:
            distribution = _distribution(self.categories, self.category_weights[i])
        cutoff, p_miss, tail = self.cutoff, self.p_miss, self.tail_mass
        return LookupResult(
            self.queries[i], value, self.keys, weights[i], scores[i], float(self.temperatures[i]), exact_row >= 0,
            bool(self.missed[i]), None if cutoff is None else float(cutoff[i]),
            None if p_miss is None else float(p_miss[i]), float(self.confidence[i]),
            None if tail is None else float(tail[i]), None if self.candidates is None else int(self.candidates[i]),
            self.row_values, distribution,
            self.opaque, self.value_names)

    def as_table(self, n: int = TABLE_ROWS) -> Table:
        """The first n queries with their answers ("no match" for a miss) and nearest keys."""
        nearest, names = self.nearest, names_for(self.row_values[0] if self.row_values else None, self.value_names)
        width = len(names) if names else 1
        rows = tuple((clip(query_text(query), 40), *(["no match"] + [""] * (width - 1) if self.missed[i] else
                                                     value_cells(self.values[i], names)), short(nearest[i], 30))
                     for i, query in enumerate(self.queries[:n]))
        notes = (f"... {len(self) - n} more queries",) if len(self) > n else ()
        return Table(("query", *(names or ("value",)), "nearest"), rows,
                     title=f"{len(self)} queries x {len(self.keys)} keys", notes=notes)

    def _repr_html_(self) -> str:
        return self.as_table().html("softkv-batch")

    def __str__(self) -> str:
        return self.as_table().text()

    __repr__ = __str__


def _distribution(categories: Sequence[Any], category_weights: np.ndarray) -> dict[Any, float]:
    order = np.argsort(-category_weights, kind="stable")
    return {categories[c]: float(category_weights[c]) for c in order if category_weights[c] > 0}
