"""What a lookup returns: the answer together with the weights behind it.

:class:`LookupResult` is one query; :class:`BatchResult` is many, as arrays
whose columns follow ``.keys``. Both print as a table of the heaviest keys.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import attention
from .params import warn_deprecated

if TYPE_CHECKING:
    from .weighing import Answers, Weights

_TABLE_ROWS = 10


def number(value: Any, digits: int = 4) -> str:
    """A number to ``digits`` significant digits, float noise dropped: 2564.9999 -> '2565', 0.1 -> '0.1'.

    >>> number(2564.9999), number(13.6), number(-0.000123456), number(float("nan"))
    ('2565', '13.6', '-0.0001235', 'nan')
    """
    return f"{float(value):.{digits}g}"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int] | frozenset[int]) -> str:
    """Columns aligned under their header, two spaces apart, the columns in ``right`` right-aligned.

    >>> print(text_table(["key", "weight"], [["banana", "0.816"], ["apple", "0.156"]], {1}))
      key     weight
      banana   0.816
      apple    0.156
    """
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    return "\n".join("  " + "  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                                      for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
                     for row in [header, *rows])


def _short(value: Any, width: int = 28) -> str:
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "fiu" and len(value) <= 6:
        text = "[" + ", ".join(number(x) for x in value) + "]"
    elif isinstance(value, np.ndarray):
        text = np.array2string(value, precision=3, separator=", ", threshold=6, edgeitems=2)
    elif isinstance(value, float) or isinstance(value, np.floating):
        text = number(value)
    else:
        text = repr(value) if isinstance(value, str) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _query_text(query: Any) -> str:
    if isinstance(query, str):
        return repr(query)
    return f"<vector of {np.shape(query)[-1]}>"


class LookupResult:
    """One soft lookup: ``.value`` and the attention weights that produced it.

    Attributes
    ----------
    value : float, ndarray or category
        The blended value (numeric), or the category with the most weight.
    weights : dict
        key -> weight for the keys with non-zero weight, heaviest first; sums to 1.
    scores : dict
        key -> raw similarity of the query to each key, most similar first.
    nearest : str
        The hard answer: the key with the highest score.
    entropy : float
        Entropy of the weights in nats (0 for a single key).
    effective_keys : float
        1 / sum of squared weights: how many keys the blend really averages.
    temperature : float
        The temperature used for this query (resolved when it was "auto").
    exact : bool
        True when the query is a key and exact_match answered it with that
        key's stored value (all the weight on that key).
    distribution : dict or None
        For categorical values, value -> total weight, heaviest first; None
        for numeric values. For opaque values (lists, dicts, objects, which
        cannot be grouped by value) reading it raises a TypeError saying so:
        ``weights`` gives each key's weight.
    p_miss : float or None
        With a ``threshold``: the weight a "none of these" slot scored at the
        threshold would take beside the keys (0 for an exact key). High means
        a blend of weak matches, low a confident answer.
    missed : bool
        True when no key reached the threshold.
    cutoff : float or None
        The score this query's nearest key had to reach (None: always answers).
    reason : str or None
        Why the query missed, in words (None when it was answered).
    keys, weight_array, score_array
        The same weights and scores as arrays, in ``keys`` order.
    """

    def __init__(
        self,
        query: Any,
        keys: Sequence[str],
        weights: np.ndarray,
        scores: np.ndarray,
        value: Any,
        row_values: Sequence[Any],
        temperature: float,
        exact: bool = False,
        distribution: dict[Any, float] | None = None,
    ) -> None:
        self.query = query
        self.keys = tuple(keys)
        self.weight_array = weights
        self.score_array = scores
        self.value = value
        self.temperature = float(temperature)
        self.exact = exact
        self._distribution = distribution
        self._row_values = row_values
        self._order: np.ndarray | None = None
        self.p_miss: float | None = None
        self.missed = False
        self.cutoff: float | None = None

    @property
    def distribution(self) -> dict[Any, float] | None:
        if isinstance(self._distribution, str):
            raise TypeError(self._distribution)
        return self._distribution

    @property
    def reason(self) -> str | None:
        if not self.missed:
            return None
        best = float(np.max(self.score_array)) if len(self.score_array) else float("-inf")
        return f"best score {best:.3f} < threshold {self.cutoff:.3f}" if self.cutoff is not None else "no key to read"

    @property
    def _by_weight(self) -> np.ndarray:
        """Rows by decreasing weight, then (for equal weights: the keys a read left out) by decreasing score;
        sorted on first use (a lookup need not pay for it)."""
        if self._order is None:
            self._order = np.lexsort((-self.score_array, -self.weight_array))
        return self._order

    def row_value(self, row: int) -> Any:
        """The stored value of the key in column ``row`` of the arrays."""
        return self._row_values[row]

    @property
    def weights(self) -> dict[str, float]:
        order = self._by_weight[self.weight_array[self._by_weight] > 0]
        return {self.keys[i]: float(self.weight_array[i]) for i in order}

    @property
    def scores(self) -> dict[str, float]:
        order = np.argsort(-self.score_array, kind="stable")
        return {self.keys[i]: float(self.score_array[i]) for i in order}

    @property
    def nearest(self) -> str:
        return self.keys[int(np.argmax(self.score_array))]

    @property
    def nearest_score(self) -> float:
        return float(self.score_array.max())

    @property
    def entropy(self) -> float:
        return float(attention.entropy(self.weight_array[None, :])[0])

    @property
    def effective_keys(self) -> float:
        return float(attention.effective_keys(self.weight_array[None, :])[0])

    def top(self, n: int = 5) -> list[tuple[str, float, float]]:
        """The n heaviest keys as (key, weight, score) tuples, heaviest first."""
        return [
            (self.keys[i], float(self.weight_array[i]), float(self.score_array[i]))
            for i in self._by_weight[:n]
        ]

    def table(self, n: int = _TABLE_ROWS) -> str:
        """A plain-text table of the n heaviest keys with their weights, scores and values."""
        rows = [
            (self.keys[i], self.weight_array[i], self.score_array[i], self._row_values[i])
            for i in self._by_weight[:n]
        ]
        key_width = max([3] + [len(_short(k, 30)) for k, *_ in rows])
        lines = [f"  {'key':<{key_width}}  {'weight':>7}  {'score':>7}  value"]
        for key, weight, score, value in rows:
            lines.append(f"  {_short(key, 30):<{key_width}}  {weight:7.3f}  {score:7.3f}  {_short(value)}")
        if len(self.keys) > n:
            rest = float(self.weight_array[self._by_weight[n:]].sum())
            lines.append(f"  ... {len(self.keys) - n} more keys, total weight {rest:.3f}")
        return "\n".join(lines)

    def _repr_html_(self, n: int = _TABLE_ROWS) -> str:
        """The weight table as HTML, with a bar per weight, for notebooks."""
        headline = html.escape(str(self).splitlines()[0])
        rows = []
        for i in self._by_weight[:n]:
            weight = float(self.weight_array[i])
            bar = (f'<div style="background:#4c78a8;height:0.8em;width:{100 * weight:.1f}%;'
                   f'min-width:{1 if weight > 0 else 0}px"></div>')
            rows.append(
                f"<tr><td>{html.escape(str(self.keys[i]))}</td><td style='text-align:right'>{weight:.3f}</td>"
                f"<td style='width:12em'>{bar}</td><td style='text-align:right'>{self.score_array[i]:.3f}</td>"
                f"<td>{html.escape(_short(self._row_values[i]))}</td></tr>"
            )
        more = ""
        if len(self.keys) > n:
            rest = float(self.weight_array[self._by_weight[n:]].sum())
            more = f"<tr><td colspan='5'>… {len(self.keys) - n} more keys, total weight {rest:.3f}</td></tr>"
        return (
            f"<div class='softkv-lookup'><p><b>{headline}</b></p><table><thead><tr><th>key</th><th>weight</th>"
            f"<th></th><th>score</th><th>value</th></tr></thead><tbody>{''.join(rows)}{more}</tbody></table></div>"
        )

    def __str__(self) -> str:
        how = "exact key" if self.exact else f"temperature {self.temperature:.3g}"
        if self.p_miss is not None:
            how += f", p_miss {self.p_miss:.3f}"
        head = (
            f"{_query_text(self.query)} -> {_short(self.value, 60)}  ({how}, {len(self.keys)} keys, "
            f"effective {self.effective_keys:.2f})"
        )
        return head + "\n" + self.table()

    __repr__ = __str__


class BatchResult:
    """Many lookups at once, as arrays whose columns follow ``.keys``.

    Attributes
    ----------
    values : ndarray
        (n_queries, *value_shape) blended values; for categorical values an
        object array of the winning categories.
    weight_array, score_array : ndarray or None
        (n_queries, n_keys) attention weights and scores (None when read with
        ``weights=False``). ``weights`` and ``scores`` are the old names.
    nearest : list of str
        The highest-scoring key of each query.
    temperatures : ndarray
        (n_queries,) the temperature used for each query.
    exact : ndarray
        (n_queries,) True where a query was a key answered exactly.
    missed : ndarray
        (n_queries,) True where no key reached the threshold; their values are
        NaN (numeric) or None with ``on_miss="mask"``, and the blend anyway
        with ``on_miss="ignore"``.
    p_miss : ndarray or None
        (n_queries,) with a threshold: the weight of a "none of these" slot
        scored at the threshold, beside the keys.
    cutoffs : ndarray or None
        (n_queries,) the score each query's nearest key had to reach (the
        threshold, or each query's own with ``threshold="auto"``).
    categories, category_weights
        For categorical values: the distinct values and the
        (n_queries, n_categories) weight each query gives them.
    """

    def __init__(self, queries: list[Any], keys: tuple[str, ...], row_values: list[Any],
                 categories: list[Any] | None, score_array: np.ndarray | None, weights: Weights,
                 answers: Answers) -> None:
        self.queries = queries
        self.keys = keys
        self.row_values = row_values  # the stored values, in .keys order
        self.categories = categories
        self.score_array = score_array
        self._weights = weights
        self.values = answers.values
        self.category_weights = answers.category_weights
        self.exact_value: Any = None
        self.opaque = False  # values that are read as the heaviest key's, not blended or grouped

    @property
    def weight_array(self) -> np.ndarray | None:
        return self._weights.dense if self.score_array is not None else None

    @property
    def weights(self) -> np.ndarray | None:
        """Deprecated: :attr:`weight_array` (``LookupResult.weights`` is a dict; an array is ``weight_array``)."""
        warn_deprecated("BatchResult.weights is deprecated; use BatchResult.weight_array")
        return self.weight_array

    @property
    def scores(self) -> np.ndarray | None:
        """Deprecated: :attr:`score_array`."""
        warn_deprecated("BatchResult.scores is deprecated; use BatchResult.score_array")
        return self.score_array

    @property
    def temperatures(self) -> np.ndarray:
        return self._weights.temperatures

    @property
    def exact(self) -> np.ndarray:
        return self._weights.exact_rows >= 0

    @property
    def missed(self) -> np.ndarray:
        return self._weights.missed

    @property
    def p_miss(self) -> np.ndarray | None:
        return self._weights.p_miss

    @property
    def cutoffs(self) -> np.ndarray | None:
        cutoff = self._weights.cutoff
        if cutoff is None:
            return None
        return np.broadcast_to(np.asarray(cutoff, dtype=np.float64), (len(self.queries),))

    @property
    def best_scores(self) -> np.ndarray:
        """(n_queries,) the score of each query's nearest key."""
        return self._weights.best_scores

    def __len__(self) -> int:
        return len(self.queries)

    def __iter__(self) -> Iterator[LookupResult]:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, i: int) -> LookupResult:
        """The i-th query as a :class:`LookupResult`."""
        weights, scores = self.weight_array, self.score_array
        if weights is None or scores is None:
            raise ValueError("this batch was read with weights=False; read it with weights=True to inspect rows")
        distribution: Any = None
        if self.opaque:
            distribution = ("these values are opaque (not all numbers, not all hashable), so they cannot be grouped "
                            "by value: the answer is the heaviest key's value, and .weights gives each key's weight")
        elif self.categories is not None and self.category_weights is not None:
            distribution = _distribution(self.categories, self.category_weights[i])
        value = self.values[i]
        if self.values.ndim == 1 and self.values.dtype != object:
            value = float(value)  # a scalar blend reads as a Python float
        result = LookupResult(
            self.queries[i], self.keys, weights[i], scores[i], value,
            self.row_values, float(self.temperatures[i]), bool(self.exact[i]), distribution,
        )
        result.p_miss = None if self.p_miss is None else float(self.p_miss[i])
        result.missed = bool(self.missed[i])
        cutoffs = self.cutoffs
        result.cutoff = None if cutoffs is None else float(cutoffs[i])
        return result

    @property
    def nearest(self) -> list[str]:
        """The hard answer of each query: its highest-scoring key."""
        return [self.keys[i] for i in self._weights.nearest_rows]

    @property
    def top_rows(self) -> np.ndarray | None:
        """(n_queries, top_k) the columns of the keys a top_k read weighed (None for a read of every key)."""
        return self._weights.top_rows

    @property
    def nearest_rows(self) -> np.ndarray:
        """(n_queries,) the column of each query's nearest key in ``.keys``."""
        return self._weights.nearest_rows

    @property
    def entropy(self) -> np.ndarray:
        return attention.entropy(self._weights_kept())

    @property
    def effective_keys(self) -> np.ndarray:
        return attention.effective_keys(self._weights_kept())

    def _weights_kept(self) -> np.ndarray:
        if self.weight_array is None:
            raise ValueError("this batch was read with weights=False")
        return self.weight_array

    def __str__(self) -> str:
        width = max([5] + [len(_query_text(q)) for q in self.queries[:_TABLE_ROWS]])
        lines = [f"{len(self)} queries x {len(self.keys)} keys", f"  {'query':<{width}}  {'value':<28}  nearest"]
        nearest = self.nearest
        for i, query in enumerate(self.queries[:_TABLE_ROWS]):
            value = "(miss)" if self.missed[i] else _short(self.values[i])
            lines.append(f"  {_query_text(query):<{width}}  {value:<28}  {nearest[i]!r}")
        if len(self) > _TABLE_ROWS:
            lines.append(f"  ... {len(self) - _TABLE_ROWS} more queries")
        return "\n".join(lines)

    __repr__ = __str__


def _distribution(categories: Sequence[Any], category_weights: np.ndarray) -> dict[Any, float]:
    order = np.argsort(-category_weights, kind="stable")
    return {categories[c]: float(category_weights[c]) for c in order if category_weights[c] > 0}


def dict_repr(stored: dict[str, Any], encoder: Any, changed: dict[str, Any]) -> str:
    """``SoftDict({first keys...}, encoder=..., the parameters that differ from their defaults)``."""
    shown = dict(list(stored.items())[:5])
    body = repr(shown) if len(stored) <= 5 else repr(shown)[:-1] + f", ... ({len(stored)} keys)}}"
    params = "".join(f", {k}={v!r}" for k, v in changed.items())
    return f"SoftDict({body}, encoder={encoder!r}{params})"


def dict_html(stored: dict[str, Any], value_kind: str | None, encoder: Any, params: dict[str, Any]) -> str:
    """A SoftDict for notebooks: size, encoder, parameters and the first keys."""
    rows = "".join(
        f"<tr><td>{html.escape(key)}</td><td>{html.escape(_short(value))}</td></tr>"
        for key, value in list(stored.items())[:10]
    )
    more = f"<tr><td colspan='2'>… {len(stored) - 10} more keys</td></tr>" if len(stored) > 10 else ""
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return (
        f"<div class='softkv-dict'><p><b>SoftDict</b>: {len(stored)} keys, values {html.escape(str(value_kind))}"
        f"<br>encoder {html.escape(repr(encoder))}<br>{html.escape(shown)}</p>"
        f"<table><thead><tr><th>key</th><th>value</th></tr></thead><tbody>{rows}{more}</tbody></table></div>"
    )
