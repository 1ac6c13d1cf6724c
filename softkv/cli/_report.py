"""What the ``softkv`` command prints for a query: a table people can read, or JSON for scripts.

The table lists the keys with the most weight, heaviest first; for a query
that names a key, the key and then its nearest neighbours by score, marked
as context (they take no weight). Vector values are shown under their
column names, numbers to four significant digits (no float noise: 2565, not
2564.999). :func:`as_json` gives one object per query, the read's
:func:`softkv.read.as_record`: the answer, whether it missed, and the
weights and scores of the keys shown.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .._display import Table, clip, number, short, visible
from ..read import LookupResult, as_record, rows_of

__all__ = ["as_json", "print_rich", "result_table"]


def formatted(value: Any, names: tuple[str, ...] | None = None, width: int = 40) -> list[str]:
    """A value as table cells of at most ``width`` characters: one per named component of a vector or field of
    a record, else one."""
    if names and isinstance(value, dict) and list(value) == list(names):  # a record: a cell per column
        return [formatted(cell, width=30)[0] for cell in value.values()]
    array = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    if names and array is not None and array.dtype.kind in "fiu" and array.shape == (len(names),):
        return [number(x) for x in array]
    if isinstance(value, (float, np.floating)):
        return [number(value)]
    if isinstance(value, str):
        return [clip(value, width)]
    return [short(value, width)]


def headline(result: LookupResult, names: tuple[str, ...] | None) -> str:
    query = repr(result.query) if isinstance(result.query, str) else "vector query"
    if result.missed:
        return f"{query}: no match ({result.reason})"
    cells = formatted(result.value, names)
    answer = ", ".join(f"{name} {cell}" for name, cell in zip(names, cells)) if len(cells) > 1 and names else cells[0]
    weighed, read = int(np.count_nonzero(result.weight_array)), len(result.keys)
    blend = (f"all the weight on one of {read} keys" if weighed == 1 else
             f"blend of {read} keys" if weighed == read else f"blend of {weighed} of {read} keys")
    how = "exact key" if result.exact else f"{blend}, temperature {result.temperature:.3g}"
    return f"{query} -> {answer}  ({how})"


def result_table(result: LookupResult, n: int, names: tuple[str, ...] | None) -> Table:
    """The headline, then the ``n`` rows: key, weight, score and the value's cells (a neighbour shown for
    context is marked "~" and explained below)."""
    width = len(formatted(result.row_value(0), names))
    value_header = list(names) if names and width == len(names) else ["value"]
    header = ("key", "weight", "score", *value_header)
    body = tuple((("~ " if row.context else "") + row.key, f"{row.weight:.3f}", f"{row.score:.3f}",
                  *formatted(row.value, names)) for row in rows_of(result, n))
    numeric = frozenset(i for i in range(1, len(header)) if all(_is_number(cells[i]) for cells in body))
    notes = ("(~ nearest other keys, for context: an exact key takes all the weight)",) if (
        result.exact and len(body) > 1) else ()
    return Table(header, body, numeric, headline(result, names), notes)


def print_rich(table: Table) -> None:
    """The table through rich (a terminal with the ``[cli]`` extra): the same cells, aligned by rich."""
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    shown = RichTable(box=None, padding=(0, 1))
    for i, column in enumerate(table.header):
        shown.add_column(column, justify="right" if i in table.right else "left", no_wrap=i == 0, overflow="fold")
    for row in table.rows:
        shown.add_row(*(Text(visible(cell)) for cell in row))  # cells are text, never rich markup
    console = Console()
    console.print(visible(table.title), markup=False, highlight=False)
    console.print(shown)
    for note in table.notes:
        console.print("  " + visible(note), markup=False, highlight=False)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def as_json(result: LookupResult, n: int, names: tuple[str, ...] | None) -> str:
    """One line of JSON: :func:`softkv.read.as_record` of the read."""
    return json.dumps(as_record(result, n, names), ensure_ascii=False)
