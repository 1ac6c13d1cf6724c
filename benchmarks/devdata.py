"""The dev benchmark of benchmarks/quality.py: catalogs from packages, every kind of query, each reported apart.

Catalogs (keys from ``softkv.datasets``, all from installed packages): US states,
countries, currencies, cars, xkcd colours, emoji names, US airports. Kinds of query:

- typo: one or two random edits of a key (seeded);
- abbreviation: US state postal and AP abbreviations ("CA", "Calif."), ISO currency codes ("JPY"),
  and a few airport codes;
- other language: the names of countries and currencies in German, French, Spanish, Italian,
  Portuguese, Dutch, Polish and Turkish (CLDR, via babel);
- description: written here by hand (no package has them): "the color of grass", "a small japanese
  car", "the main airport of Boston"; a key is right when its name says so (the rules below);
- category: emoji subgroup names ("animal mammal") over the emoji names; measured by the weight on
  the subgroup's members;
- unrelated: names from another catalog's domain, which must miss ("London Heathrow Airport" over US
  airports, car names over countries).

A key that is also a query is never used as a query (it would be an exact hit).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from softkv import datasets

KINDS = ("typo", "abbreviation", "other language", "description", "category", "unrelated")


@dataclass
class Task:
    """One catalog and one kind of query: each query with the keys that answer it right (none: must miss)."""

    catalog: str
    kind: str
    queries: list[str] = field(default_factory=list)
    right: list[set[str]] = field(default_factory=list)

    def add(self, query: str, right: set[str]) -> None:
        self.queries.append(query)
        self.right.append(right)


def _words(*words: str) -> Callable[[str], bool]:
    """A key is right when one of ``words`` is a word of it (or begins one)."""
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")", re.IGNORECASE)
    return lambda key: bool(pattern.search(key))


def _all(*rules: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda key: all(rule(key) for rule in rules)


COLOUR_DESCRIPTIONS = {
    "the color of grass": _words("grass", "green", "lawn"),
    "the color of the sky on a sunny day": _words("sky", "blue", "azure"),
    "the color of blood": _words("blood", "red", "crimson", "scarlet"),
    "the color of a lemon": _words("lemon", "yellow"),
    "the color of fresh snow": _words("snow", "white"),
    "the color of coal": _words("coal", "black", "charcoal"),
    "the color of the deep sea": _words("sea", "ocean", "blue", "navy", "teal"),
    "the color of chocolate": _words("chocolate", "brown", "cocoa"),
    "the color of a flamingo": _words("flamingo", "pink", "salmon"),
    "the color of the sun": _words("sun", "yellow", "gold"),
    "the color of red wine": _words("wine", "burgundy", "maroon", "claret", "merlot", "red"),
    "the color of a ripe tomato": _words("tomato", "red"),
    "the color of lavender flowers": _words("lavender", "lilac", "purple", "violet", "mauve"),
    "the color of ash": _words("grey", "gray", "ash"),
    "the color of sand": _words("sand", "beige", "tan", "khaki", "desert"),
    "the color of a pumpkin": _words("pumpkin", "orange"),
    "the color of a plum": _words("plum", "purple", "eggplant", "aubergine"),
    "the color of mint leaves": _words("mint", "green"),
    "the color of a banana": _words("banana", "yellow"),
    "the color of rust": _words("rust", "brown", "orange"),
    "the color of a rose": _words("rose", "red", "pink"),
    "the color of the night sky": _words("night", "midnight", "navy", "black"),
    "the color of an orange": _words("orange"),
    "the color of milk": _words("milk", "white", "cream"),
    "the color of a cucumber": _words("cucumber", "green"),
    "a very dark blue": _all(_words("blue", "navy"), _words("dark", "navy", "midnight", "deep")),
    "a bright shade of red": _words("red", "scarlet", "crimson"),
    "a pale shade of green": _all(_words("green", "mint"), _words("pale", "light", "pastel", "mint")),
    "a deep purple": _words("purple", "violet", "plum", "eggplant", "indigo", "aubergine"),
    "a warm golden yellow": _words("gold", "yellow", "amber", "mustard"),
}

JAPANESE = ("toyota", "toyouta", "honda", "datsun", "nissan", "mazda", "maxda", "subaru")
CAR_DESCRIPTIONS = {
    "a small japanese car": _words(*JAPANESE),
    "a japanese family car": _words(*JAPANESE),
    "luxury german sedan": _words("mercedes", "bmw", "audi"),
    "a german car": _words("volkswagen", "vokswagen", "vw", "audi", "bmw", "mercedes", "opel"),
    "an italian car": _words("fiat"),
    "a swedish car": _words("volvo", "saab"),
    "a french car": _words("peugeot", "renault"),
    "a british sports car": _words("triumph"),
    "a big american station wagon": _all(_words("(sw)", "wagon", "suburb", "safari"),
                                         _words("ford", "chevrolet", "plymouth", "dodge", "buick", "amc",
                                                "mercury", "pontiac", "oldsmobile", "chrysler")),
    "a small pickup truck": _words("pickup"),
    "a car that runs on diesel": _words("diesel"),
    "a huge american luxury car": _words("cadillac", "lincoln", "chrysler new yorker", "buick electra",
                                         "brougham"),
    "a two door sports coupe": _words("coupe", "camaro", "mustang", "firebird", "corvette", "280z", "rx"),
    "an economical volkswagen": _words("volkswagen", "vokswagen", "vw"),
    "a muscle car from chevrolet": _all(_words("chevrolet", "chevy", "chevroelt"),
                                        _words("camaro", "chevelle", "impala", "monte carlo", "nova", "malibu")),
}

AIRPORT_DESCRIPTIONS = {
    "the main airport of Chicago": _words("O'Hare"),
    "the main airport of Boston": _words("Gen Edw L Logan"),
    "the big airport of Atlanta": _words("Hartsfield"),
    "the international airport of Los Angeles": _words("Los Angeles International"),
    "the airport of Honolulu": _words("Honolulu International"),
    "the main airport of Seattle": _words("Seattle-Tacoma"),
    "the international airport of Denver": _words("Denver Intl"),
    "the airport of Las Vegas": _words("McCarran", "Las Vegas"),
    "the international airport of Miami": _words("Miami International"),
    "the international airport of Houston": _words("George Bush Intercontinental"),
}
AIRPORT_CODES = {"JFK": "John F Kennedy Intl (New York)", "LAX": "Los Angeles International (Los Angeles)",
                 "SFO": "San Francisco International (San Francisco)", "ORD": "Chicago O'Hare International (Chicago)",
                 "SEA": "Seattle-Tacoma Intl (Seattle)", "DFW": "Dallas-Fort Worth International (Dallas-Fort Worth)",
                 "LGA": "LaGuardia (New York)", "DEN": "Denver Intl (Denver)", "MIA": "Miami International (Miami)",
                 "BOS": "Gen Edw L Logan Intl (Boston)"}


def catalogs() -> dict[str, dict[str, object]]:
    """Catalog name -> key -> value (the values matter only for the examples)."""
    states = datasets.us_states()
    return {
        "US states": {name: names[0] for name, names in states.items()},
        "countries": dict.fromkeys(datasets.countries(), 1.0),
        "currencies": {name: code for name, (code, _) in datasets.currencies().items()},
        "cars": dict(datasets.cars()),
        "xkcd colours": dict(datasets.xkcd_colors()),
        "emoji": dict(datasets.emoji_subgroups()),
        "US airports": dict(datasets.airports()),
    }


def tasks(seed: int = 0, n_typos: int = 100, n_unrelated: int = 60, n_language: int = 300) -> list[Task]:
    """Every task of the benchmark, built from the packages with a fixed seed."""
    rng = random.Random(seed)
    found = catalogs()
    out: list[Task] = []
    for catalog, table in found.items():
        keys = list(table)
        typos = Task(catalog, "typo")
        for i, key in enumerate(rng.sample(keys, min(n_typos, len(keys)))):
            query = datasets.typo(key, rng, edits=1 + i % 2)
            if query not in table:
                typos.add(query, {key})
        out.append(typos)
    out += _named(found, rng, n_language)
    out += _described(found)
    out += _unrelated(found, rng, n_unrelated)
    return [task for task in out if task.queries]


def _named(found: dict[str, dict[str, object]], rng: random.Random, n_language: int) -> list[Task]:
    """Abbreviations and names in other languages."""
    abbreviations = [Task("US states", "abbreviation"), Task("currencies", "abbreviation"),
                     Task("US airports", "abbreviation")]
    for name, names in datasets.us_states().items():
        for alias in names:
            abbreviations[0].add(alias, {name})
    for name, (code, _) in datasets.currencies().items():
        abbreviations[1].add(code, {name})
    for code, name in AIRPORT_CODES.items():
        abbreviations[2].add(code, {name})
    languages = []
    for catalog, table in (("countries", datasets.countries()),
                           ("currencies", {k: v[1] for k, v in datasets.currencies().items()})):
        pairs = [(other, name) for name, others in table.items() for other in others if other not in table]
        task = Task(catalog, "other language")
        for other, name in rng.sample(pairs, min(n_language, len(pairs))):
            task.add(other, {name})
        languages.append(task)
    return abbreviations + languages


def _described(found: dict[str, dict[str, object]]) -> list[Task]:
    """Hand-written descriptions, and emoji subgroup names as category queries."""
    out = []
    for catalog, descriptions in (("xkcd colours", COLOUR_DESCRIPTIONS), ("cars", CAR_DESCRIPTIONS),
                                  ("US airports", AIRPORT_DESCRIPTIONS)):
        task = Task(catalog, "description")
        for query, rule in descriptions.items():
            right = {key for key in found[catalog] if rule(key)}
            assert right, f"no key answers {query!r}"
            task.add(query, right)
        out.append(task)
    categories = Task("emoji", "category")
    emoji = found["emoji"]
    for group in sorted(set(emoji.values())):
        if group.replace("-", " ") not in emoji:  # a name that is a key is an exact hit, not a category query
            categories.add(group.replace("-", " "), {name for name, g in emoji.items() if g == group})
    return out + [categories]


def _unrelated(found: dict[str, dict[str, object]], rng: random.Random, n: int) -> list[Task]:
    """Names from another domain, which must miss."""
    emoji = [name for name in found["emoji"] if not name.startswith("flag")]
    sources = {
        "US states": emoji,
        "countries": list(found["cars"]),
        "currencies": list(found["xkcd colours"]),
        "cars": emoji,
        "xkcd colours": list(found["cars"]),
        "emoji": list(found["US airports"]),
        "US airports": datasets.world_airports(),
    }
    out = []
    for catalog, pool in sources.items():
        task = Task(catalog, "unrelated")
        for query in rng.sample(pool, min(n, len(pool))):
            if query not in found[catalog]:
                task.add(query, set())
        out.append(task)
    return out
