"""How softkv shows things: numbers without float noise, values cut to a width, and one table renderer.

Every table softkv prints or renders (a lookup's weights, a batch, a dict in
a notebook, an explanation, a comparison, a calibration report, the command's
output) is a :class:`Table`: a header, rows of cells already formatted as
text, which columns are right-aligned, and optionally a column of weights
drawn as bars in HTML. ``Table.text()`` aligns it for a terminal and
``Table.html()`` renders it for a notebook (every cell escaped); the command
hands the same table to rich when it is installed.

>>> table = Table(("key", "weight"), (("banana", "0.816"), ("apple", "0.156")), right=frozenset({1}))
>>> print(table.text())
  key     weight
  banana   0.816
  apple    0.156
"""

from __future__ import annotations

import html
import itertools
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from .store import StoredValues

__all__ = ["Table", "clip", "dict_repr", "dict_table", "names_for", "number", "short", "value_cells", "visible"]

_INVISIBLE = ("Cc", "Cf", "Cs", "Zl", "Zp")  # controls, format (bidi overrides), surrogates, line/para separators
_JOINERS = "\u200c\u200d"  # format characters that shape text (emoji sequences, Persian) and move nothing


def visible(text: str) -> str:
    r"""``text`` with every control, format or separator character shown as its escape, so that a key can
    neither move the cursor, recolour the terminal nor reorder a line.

    >>> print(visible("red\x1b[31m, \u202etxt.exe, tab\there, café"))
    red\x1b[31m, \u202etxt.exe, tab\there, café
    """
    if text.isprintable():
        return text
    return "".join(ascii(c)[1:-1] if c not in _JOINERS and unicodedata.category(c) in _INVISIBLE else c for c in text)


def number(value: Any, digits: int = 4) -> str:
    """A number to ``digits`` significant digits, float noise dropped: 2564.9999 -> '2565', 0.1 -> '0.1'.

    >>> number(2564.9999), number(13.6), number(-0.000123456), number(float("nan"))
    ('2565', '13.6', '-0.0001235', 'nan')
    """
    return f"{float(value):.{digits}g}"


def short(value: Any, width: int = 28) -> str:
    """A value on one line of at most ``width`` characters: numbers without noise, short vectors in full.

    >>> short(np.array([1.0, 2.5])), short("a long name of a product", 12), short(0.30000000000000004)
    ('[1, 2.5]', "'a long n...", '0.3')
    """
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "fiu" and len(value) <= 6:
        text = "[" + ", ".join(number(x) for x in value) + "]"
    elif isinstance(value, np.ndarray):
        text = np.array2string(value, precision=3, separator=", ", threshold=6, edgeitems=2)
    elif isinstance(value, (float, np.floating)):
        text = number(value)
    else:
        text = repr(value) if isinstance(value, str) else str(value)
    return clip(" ".join(text.split()), width)


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in "..." when cut.

    >>> clip("a long name of a product", 12)
    'a long na...'
    """
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass(frozen=True)
class Table:
    """Rows of text cells under a header, shown as aligned text or as HTML.

    ``right`` holds the columns aligned right (numbers); ``bars`` the column
    whose cells are weights from 0 to 1, drawn as bars beside them in HTML;
    ``title`` is a line above the table, ``lead`` lines between the title and
    the table, and ``notes`` lines below it.
    """

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: frozenset[int] = frozenset()
    title: str = ""
    notes: tuple[str, ...] = ()
    bars: int | None = None
    lead: tuple[str, ...] = ()

    def text(self) -> str:
        """The table aligned in columns two spaces apart, with its title and notes (control characters shown as
        escapes: :func:`visible`)."""
        rows = [tuple(map(visible, row)) for row in [self.header, *self.rows]]
        widths = [max(len(cell) for cell in column) for column in zip(*rows)]
        lines = [visible(self.title)] if self.title else []
        lines += ["  " + visible(line) for line in self.lead]
        lines += ["  " + "  ".join(cell.rjust(w) if i in self.right else cell.ljust(w)
                                   for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
                  for row in rows]
        lines += ["  " + visible(note) for note in self.notes]
        return "\n".join(lines)

    def html(self, css_class: str = "softkv") -> str:
        """The table as HTML for notebooks: every cell escaped, weights drawn as bars."""
        def cell(i: int, text: str, tag: str = "td") -> str:
            style = " style='text-align:right'" if i in self.right else ""
            bar = ""
            if tag == "td" and i == self.bars:
                width = 100 * min(max(_as_float(text), 0.0), 1.0)
                bar = (f"<div style='background:#4c78a8;height:0.6em;width:{width:.1f}%;"
                       f"min-width:{1 if width > 0 else 0}px'></div>")
            return f"<{tag}{style}>{html.escape(text)}{bar}</{tag}>"

        head = "".join(cell(i, text, "th") for i, text in enumerate(self.header))
        body = "".join("<tr>" + "".join(cell(i, text) for i, text in enumerate(row)) + "</tr>" for row in self.rows)
        title = f"<p><b>{html.escape(self.title)}</b></p>" if self.title else ""
        lead = f"<ul>{''.join(f'<li>{html.escape(line)}</li>' for line in self.lead)}</ul>" if self.lead else ""
        notes = "".join(f"<p>{html.escape(note)}</p>" for note in self.notes)
        return (f"<div class='{css_class}'>{title}{lead}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
                f"</table>{notes}</div>")


def dict_repr(stored: StoredValues, encoder: Any, changed: dict[str, Any]) -> str:
    """``SoftDict({first keys...}, encoder=..., the parameters that differ from their defaults)``."""
    shown = dict(itertools.islice(stored.items(), 5))  # a backend's values are read one by one: five of them
    body = repr(shown) if len(stored) <= 5 else repr(shown)[:-1] + f", ... ({len(stored)} keys)}}"
    params = "".join(f", {k}={v!r}" for k, v in changed.items())
    return f"SoftDict({body}, encoder={encoder!r}{params})"


def dict_table(stored: StoredValues, value_kind: str | None, encoder: Any, changed: dict[str, Any],
               n: int = 10) -> Table:
    """A SoftDict as a table: size, value kind, encoder and the parameters set, then its first ``n`` keys."""
    rows = tuple((short(key, 40), short(value)) for key, value in itertools.islice(stored.items(), n))
    shown = ", ".join(f"{name}={value!r}" for name, value in changed.items())
    title = f"SoftDict: {len(stored)} keys, values {value_kind}, encoder {encoder!r}" + (f"; {shown}" if shown else "")
    return Table(("key", "value"), rows, title=title, notes=(f"... {len(stored) - n} more keys",) if len(
        stored) > n else ())


def _as_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def names_for(value: Any, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """``names`` when they name the components of vector values like ``value`` (or a record's fields), else None."""
    if names and isinstance(value, dict):
        return names if list(value) == list(names) else None
    return names if names and value is not None and np.shape(value) == (len(names),) else None


def value_cells(value: Any, names: tuple[str, ...] | None) -> list[str]:
    """A value as table cells: one number per named component of a vector, else one cell.

    >>> value_cells(np.array([89.0, 6.5]), ("price", "kg")), value_cells("red", None)
    (['89', '6.5'], ["'red'"])
    """
    if names and isinstance(value, dict):
        return [short(cell) for cell in value.values()]
    if names and np.shape(value) == (len(names),):
        return [number(x) for x in np.asarray(value, dtype=np.float64)]
    return [short(value)]
