"""The dev benchmark of benchmarks/quality.py: catalogs from packages, every kind of query, each reported apart.

Catalogs (keys from ``softkv.datasets``, all from installed packages): US states,
countries, currencies, cars, xkcd colours, emoji names, US airports; and, widened for
what the first set under-measured: a vocabulary (emoji names among 3,000 common English
words), people (FEBRL's synthetic records), the 600 most populous cities (GeoNames),
world airports by IATA code, pip's commands (an intent catalog), and a table of commands
in opposite pairs. Kinds of query:

- typo: one or two random edits of a key (seeded);
- abbreviation: US state postal and AP abbreviations ("CA", "Calif."), ISO currency codes ("JPY"),
  and a few airport codes;
- other language: the names of countries and currencies in German, French, Spanish, Italian,
  Portuguese, Dutch, Polish and Turkish (CLDR, via babel);
- description: written here by hand (no package has them): "the color of grass", "a small japanese
  car", "the main airport of Boston"; a key is right when its name says so (the rules below);
- category: emoji subgroup names ("animal mammal") over the emoji names, and over the vocabulary,
  whose common words are real-word spelling neighbours ("tool" and "stool"); measured by the weight on
  the subgroup's members;
- variant: a dirty copy of a person's record ("sophie manson" for "sophie mason"), and a city's other
  names in Latin script ("Nueva York", "Canton");
- initialism: two to four capitals naming a city ("NYC", "BJS"), an airport ("LHR") or a country ("DE");
- paraphrase: a request for one of pip's commands in other words (written here by hand), and a
  command in other words among keys in opposite pairs ("switch dark mode off"), where the opposite key
  ("enable dark mode") is also counted;
- unrelated: names from another catalog's domain, which must miss (car names over countries and over
  airports), and common short words over the cities ("test");
- unrelated code: codes of another domain or of nothing, which must miss, over the catalogs that codes
  are asked of: currency codes over cities, airports and US states ("USD" over cities), airport codes
  over currencies, and capitals that are no code of the catalog's kind ("QXW" over airports, two
  capitals that name no country over countries);
- not in catalog: queries of the catalog's own domain that it does not hold, which must miss: people
  held out of the table, smaller cities, airports outside the US over US airports ("London Heathrow
  Airport"), requests pip has no command for.

A key that is also a query is never used as a query (it would be an exact hit).
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from softkv import datasets

KINDS = ("typo", "abbreviation", "other language", "description", "category", "variant", "initialism",
         "paraphrase", "unrelated", "not in catalog", "unrelated code")
MISSES = ("unrelated", "not in catalog", "unrelated code")
"""The kinds whose queries must miss."""


@dataclass
class Task:
    """One catalog and one kind of query: each query with the keys that answer it right (none: must miss)."""

    catalog: str
    kind: str
    queries: list[str] = field(default_factory=list)
    right: list[set[str]] = field(default_factory=list)
    opposite: list[str | None] = field(default_factory=list)  # the key that means the opposite, if any

    def add(self, query: str, right: set[str], opposite: str | None = None) -> None:
        self.queries.append(query)
        self.right.append(right)
        self.opposite.append(opposite)

    @property
    def must_miss(self) -> bool:
        return self.kind in MISSES


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


PIP_REQUESTS = {  # a request in other words -> pip's command for it (written here by hand)
    "add the requests library to my environment": "install", "put numpy on this machine": "install",
    "set up the packages in requirements.txt": "install",
    "fetch the wheel files without installing them": "download", "get the source archive of flask": "download",
    "remove django": "uninstall", "get rid of a library I no longer use": "uninstall",
    "write my dependencies to a requirements file": "freeze", "pin every installed version": "freeze",
    "dump the environment as JSON": "inspect",
    "what libraries do I have": "list", "which packages are outdated": "list",
    "details about the installed version of pandas": "show", "where is this package installed": "show",
    "are my dependencies consistent": "check", "find broken requirements": "check",
    "change the default index url": "config", "edit pip.conf": "config",
    "look for a package on pypi": "search", "find packages by name": "search",
    "clear the downloaded wheels": "cache", "how much space do cached wheels take": "cache",
    "which versions of a package does the index offer": "index",
    "build a wheel for my project": "wheel", "make binary distributions of my requirements": "wheel",
    "sha256 of this archive": "hash", "compute a digest for a package file": "hash",
    "set up tab completion for my shell": "completion",
    "print platform details for a bug report": "debug",
    "how do I use the install command": "help",
}
PIP_OUT_OF_SCOPE = [  # requests of the same domain that pip has no command for: each must miss
    "publish my package to pypi", "create a virtual environment", "upgrade python itself", "run my test suite",
    "format my code", "build the documentation", "check my code style", "start a web server", "open a python shell",
    "create a conda environment", "profile my program", "log in to my pypi account", "create a new project folder",
    "count the lines of code", "rename my package", "compile a c extension by hand", "deploy to production",
    "convert a notebook to a script", "make an executable from my script", "vendor a library into my repo",
]
OPPOSITE_COMMANDS = [  # (key, its opposite): commands of a voice assistant or an app
    ("turn on the lights", "turn off the lights"), ("lock the front door", "unlock the front door"),
    ("subscribe to the newsletter", "unsubscribe from the newsletter"), ("enable dark mode", "disable dark mode"),
    ("mute the microphone", "unmute the microphone"), ("start recording", "stop recording"),
    ("open the garage door", "close the garage door"), ("increase the volume", "decrease the volume"),
    ("connect to bluetooth", "disconnect from bluetooth"), ("show notifications", "hide notifications"),
    ("pause the music", "resume the music"), ("follow this account", "unfollow this account"),
    ("accept the meeting invitation", "decline the meeting invitation"), ("pin this message", "unpin this message"),
    ("arm the alarm", "disarm the alarm"), ("zoom in", "zoom out"), ("raise the blinds", "lower the blinds"),
    ("add to favorites", "remove from favorites"), ("turn on wifi", "turn off wifi"),
    ("block this number", "unblock this number"),
]
OPPOSITE_REQUESTS = {  # a request in other words -> the key meant (its pair is the opposite)
    "switch the lights on": "turn on the lights", "kill the lights": "turn off the lights",
    "secure the front door": "lock the front door", "let me in through the front door": "unlock the front door",
    "sign me up for the newsletter": "subscribe to the newsletter",
    "stop the emails": "unsubscribe from the newsletter",
    "I don't want your newsletter any more": "unsubscribe from the newsletter",
    "use the dark theme": "enable dark mode", "switch dark mode off": "disable dark mode",
    "go back to the light theme": "disable dark mode",
    "silence my mic": "mute the microphone", "let them hear me again": "unmute the microphone",
    "begin capturing video": "start recording", "end the recording": "stop recording",
    "let the car out of the garage": "open the garage door", "shut the garage": "close the garage door",
    "make it louder": "increase the volume", "turn it down": "decrease the volume",
    "pair my headphones": "connect to bluetooth", "unpair my headphones": "disconnect from bluetooth",
    "let me see my alerts": "show notifications", "stop showing alerts": "hide notifications",
    "hold the song": "pause the music", "keep playing the song": "resume the music",
    "stop following them": "unfollow this account", "get their posts in my feed": "follow this account",
    "say yes to the meeting": "accept the meeting invitation",
    "say no to the meeting": "decline the meeting invitation",
    "keep this message at the top": "pin this message", "take this message off the top": "unpin this message",
    "activate the security system": "arm the alarm", "switch the security system off": "disarm the alarm",
    "make it bigger": "zoom in", "make it smaller": "zoom out",
    "pull the blinds up": "raise the blinds", "pull the blinds down": "lower the blinds",
    "star this": "add to favorites", "unstar this": "remove from favorites",
    "switch wifi off": "turn off wifi", "get me online": "turn on wifi",
    "stop this caller from reaching me": "block this number",
    "allow calls from this number again": "unblock this number",
}


def catalogs() -> dict[str, dict[str, object]]:
    """Catalog name -> key -> value (the values matter only for the examples)."""
    states = datasets.us_states()
    emoji = datasets.emoji_subgroups()
    return {
        "US states": {name: names[0] for name, names in states.items()},
        "countries": dict.fromkeys(datasets.countries(), 1.0),
        "currencies": {name: code for name, (code, _) in datasets.currencies().items()},
        "cars": dict(datasets.cars()),
        "xkcd colours": dict(datasets.xkcd_colors()),
        "emoji": dict(emoji),
        "US airports": dict(datasets.airports()),
        "vocabulary": {**dict.fromkeys(datasets.common_words(3000), "word"), **emoji},
        "people": _people()[0],
        "cities": _cities()[0],
        "world airports": {name: code for code, name in _airport_codes().items()},
        "pip commands": {summary: name for name, summary in datasets.pip_commands().items()},
        "opposite commands": {key: i for i, key in enumerate(k for pair in OPPOSITE_COMMANDS for k in pair)},
    }


def _people(held_out: float = 0.2, seed: int = 0) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """FEBRL: the catalog (the names of 80% of the originals -> their id), the held-out originals' names, and
    each copy's name -> its original's id."""
    records = datasets.people()
    unique = unique_originals(records)
    rng = random.Random(seed)
    out = set(rng.sample(sorted(unique), int(held_out * len(unique))))
    copies = {f"{r['given_name']} {r['surname']}": r["id"].split("-dup-")[0] for r in records if "-dup-" in r["id"]}
    catalog = {name: rec for rec, name in unique.items() if rec not in out}
    return catalog, {name: rec for rec, name in unique.items() if rec in out}, copies


def unique_originals(records: list[dict[str, str]]) -> dict[str, str]:
    """FEBRL's originals whose name no other original has: record id ("rec-12") -> "given surname"."""
    originals = {r["id"].rsplit("-", 1)[0]: f"{r['given_name']} {r['surname']}" for r in records
                 if r["id"].endswith("-org")}
    counts: dict[str, int] = {}
    for name in originals.values():
        counts[name] = counts.get(name, 0) + 1
    return {rec: name for rec, name in sorted(originals.items()) if counts[name] == 1}


def typos(catalog: str, keys: list[str], rng: random.Random, n: int) -> Task:
    """Seeded typos (one or two edits, alternately) of up to ``n`` of ``keys``; a typo that leaves a key as it
    was (a substitution by the same letter, a short name) is not asked."""
    names, task = set(keys), Task(catalog, "typo")
    for i, key in enumerate(rng.sample(keys, min(n, len(keys)))):
        query = datasets.typo(key, rng, edits=1 + i % 2)
        if query not in names:
            task.add(query, {key})
    return task


def distinct_cities() -> list[dict[str, object]]:
    """GeoNames' cities, most populous first, the first of each name only."""
    found, seen = [], set()
    for city in datasets.cities():
        if city["name"] not in seen:
            seen.add(city["name"])
            found.append(city)
    return found


def _cities(n: int = 600) -> tuple[dict[str, tuple[float, float]], list[dict[str, object]], list[str]]:
    """The ``n`` most populous cities (one per name) -> their location, their records, and smaller cities'
    names (ranks 3n to 5n) that the catalog does not hold."""
    found = distinct_cities()
    catalog = {str(c["name"]): c["location"] for c in found[:n]}
    return catalog, found[:n], [str(c["name"]) for c in found[3 * n:5 * n]]  # type: ignore[misc]


def _airport_codes(n: int = 1500, seed: int = 0) -> dict[str, str]:
    """``n`` airports with IATA codes (a seeded sample of those with distinct names)."""
    by_name: dict[str, str] = {}
    for code, name in datasets.airport_codes().items():
        by_name.setdefault(name, code)
    codes = sorted(by_name.values())
    chosen = set(random.Random(seed).sample(codes, n))
    return {code: name for name, code in by_name.items() if code in chosen}


def tasks(seed: int = 0, n_typos: int = 100, n_unrelated: int = 60, n_language: int = 300) -> list[Task]:
    """Every task of the benchmark, built from the packages with a fixed seed."""
    rng = random.Random(seed)
    found = catalogs()
    out: list[Task] = []
    for catalog, table in found.items():
        out.append(typos(catalog, list(table), rng, n_typos))
    out += _named(found, rng, n_language)
    out += _described(found)
    out += _unrelated(found, rng, n_unrelated, random.Random(seed + 2))
    out += _entities(found, rng)
    out += _requests(found)
    out += _codes(found, random.Random(seed + 1), n_unrelated)
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
    vocabulary = Task("vocabulary", "category")
    for group in sorted(set(emoji.values())):
        members = {name for name, g in emoji.items() if g == group}
        if group.replace("-", " ") not in emoji:  # a name that is a key is an exact hit, not a category query
            categories.add(group.replace("-", " "), members)
        if group.replace("-", " ") not in found["vocabulary"]:
            vocabulary.add(group.replace("-", " "), members)
    return out + [categories, vocabulary]


def _entities(found: dict[str, dict[str, object]], rng: random.Random, n: int = 300) -> list[Task]:
    """People and cities: variants, initialisms, typos, and names of the domain that the catalog lacks."""
    catalog, held_out, copies = _people()
    variants, absent = Task("people", "variant"), Task("people", "not in catalog")
    by_id = {rec: name for name, rec in catalog.items()}
    held = {rec: name for name, rec in held_out.items()}
    for copy, rec in sorted(copies.items()):
        if copy in by_id.values() or copy in held.values():
            continue  # a copy equal to a name of the table is an exact hit (or another person)
        if rec in by_id:
            variants.add(copy, {by_id[rec]})
        elif rec in held:
            absent.add(copy, set())
    out = [sampled(variants, rng, n), sampled(absent, rng, n // 2)]
    cities, records, smaller = _cities()
    names = {name.casefold() for name in cities}
    other, initials = Task("cities", "variant"), Task("cities", "initialism")
    owners: dict[str, set[str]] = {}
    for city in records:
        for alias in city["other_names"]:  # type: ignore[attr-defined]
            owners.setdefault(alias, set()).add(str(city["name"]))
    for alias, owner in sorted(owners.items()):
        if len(owner) > 1 or alias.casefold() in names:
            continue  # another city's name, or shared: not a variant of one city
        if 2 <= len(alias) <= 4 and alias.isupper() and alias.isalpha():
            initials.add(alias, owner)
        elif len(alias) > 4 and " " not in alias.strip() and alias.casefold() != next(iter(owner)).casefold():
            other.add(alias, owner)
    city_typos = typos("cities", sorted(cities), rng, 100)
    absent_cities = Task("cities", "not in catalog")
    for name in smaller:
        if name.casefold() not in names:
            absent_cities.add(name, set())
    short = Task("cities", "unrelated")
    for word in datasets.common_words(400):
        if 3 <= len(word) <= 5 and word.casefold() not in names:
            short.add(word, set())
    out += [city_typos, sampled(other, rng, n), sampled(initials, rng, n), sampled(absent_cities, rng, n // 2),
            sampled(short, rng, 100)]
    airports = Task("world airports", "initialism")
    for name, code in found["world airports"].items():
        airports.add(str(code), {name})
    countries = Task("countries", "initialism")
    for code, name in datasets.country_codes().items():
        if name in found["countries"]:
            countries.add(code, {name})
    return out + [sampled(airports, rng, n), countries]


def _requests(found: dict[str, dict[str, object]]) -> list[Task]:
    """pip's commands asked for in other words, requests it has no command for, and commands with opposites."""
    summary = {name: key for key, name in found["pip commands"].items()}
    asked, absent = Task("pip commands", "paraphrase"), Task("pip commands", "not in catalog")
    for request, command in PIP_REQUESTS.items():
        asked.add(request, {summary[command]})
    for request in PIP_OUT_OF_SCOPE:
        absent.add(request, set())
    opposite = {a: b for pair in OPPOSITE_COMMANDS for a, b in (pair, pair[::-1])}
    paired = Task("opposite commands", "paraphrase")
    for request, key in OPPOSITE_REQUESTS.items():
        paired.add(request, {key}, opposite[key])
    return [asked, absent, paired]


def sampled(task: Task, rng: random.Random, n: int) -> Task:
    """At most ``n`` of a task's queries, a seeded sample in their order."""
    if len(task.queries) <= n:
        return task
    keep = sorted(rng.sample(range(len(task.queries)), n))
    out = Task(task.catalog, task.kind)
    for i in keep:
        out.add(task.queries[i], task.right[i], task.opposite[i])
    return out


def _unrelated(found: dict[str, dict[str, object]], rng: random.Random, n: int, abroad: random.Random) -> list[Task]:
    """Names from another domain, which must miss, and airports outside the US over US airports.

    Airports abroad are of the US airports' own domain, so they count as queries the catalog does not
    hold, and the US airports' unrelated queries are car names, drawn with their own ``abroad`` generator
    so that every other catalog's sample stays what it was.
    """
    emoji = [name for name in found["emoji"] if not name.startswith("flag")]
    sources = {
        "US states": emoji,
        "countries": list(found["cars"]),
        "currencies": list(found["xkcd colours"]),
        "cars": emoji,
        "xkcd colours": list(found["cars"]),
        "emoji": list(found["US airports"]),
        "US airports": datasets.world_airports(),
        "vocabulary": list(found["US airports"]),
        "people": list(found["xkcd colours"]),
        "world airports": list(found["cars"]),
        "pip commands": list(found["emoji"]),
        "opposite commands": list(found["countries"]),
    }
    out = _must_miss(found, sources, "unrelated", rng, n)
    for task in out:
        if task.catalog == "US airports":
            task.kind = "not in catalog"
    return out + _must_miss(found, {"US airports": list(found["cars"])}, "unrelated", abroad, n)


def _codes(found: dict[str, dict[str, object]], rng: random.Random, n: int) -> list[Task]:
    """Codes from another domain or from none, over the catalogs that codes are asked of, which must miss."""
    currencies = sorted(code for code, _ in datasets.currencies().values())
    airports = sorted(datasets.airport_codes())
    taken = {"countries": set(datasets.country_codes()), "airports": set(airports)}

    def nothing(length: int, kind: str) -> list[str]:  # capitals that are no code of that kind
        pool = {"".join(rng.choice(string.ascii_uppercase) for _ in range(length)) for _ in range(20 * n)}
        return sorted(pool - taken[kind])

    sources = {
        "US states": currencies,
        "countries": nothing(2, "countries"),
        "currencies": airports,
        "cities": currencies,
        "world airports": nothing(3, "airports"),
        "US airports": currencies,
    }
    return _must_miss(found, sources, "unrelated code", rng, n)


def _must_miss(found: dict[str, dict[str, object]], sources: dict[str, list[str]], kind: str, rng: random.Random,
               n: int) -> list[Task]:
    """One task of ``kind`` per catalog: up to ``n`` of its source's texts that are not its keys, which must miss."""
    out = []
    for catalog, pool in sources.items():
        task = Task(catalog, kind)
        for query in rng.sample(pool, min(n, len(pool))):
            if query not in found[catalog]:
                task.add(query, set())
        out.append(task)
    return out
