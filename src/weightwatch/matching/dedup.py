"""Conservative near-duplicate check for headlines re-published across sources.

The pipeline stores ``title_key(title)`` with every hit and, for each new item, asks
``find_duplicate`` whether a recent hit already covers it. This module only catches
*near-identical* re-publications: the same headline with a wire prefix ("UPDATE 1-"),
a publisher suffix (" - Reuters"), an update marker ("(2)", "-- 2nd Update"), different
case, punctuation or word order, or a small edit (an added word, a spelling variant).
Different headlines about the same story are not merged. That is deliberate: a false
merge means a user misses an alert. docs/dedup.md has the measurement behind
``DEFAULT_THRESHOLD`` and the kinds of pairs this misses on purpose.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import TypeVar

from rapidfuzz import fuzz, process, utils

from weightwatch.matching.text import (
    drop_possessives,
    drop_thousands_separators,
    strip_publisher_suffix,
    strip_wire_prefixes,
    undot_initialisms,
    word_set,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "MIN_FUZZY_TOKENS",
    "find_duplicate",
    "is_near_duplicate",
    "number_tokens",
    "replaced_words",
    "reversal_counts",
    "similarity",
    "title_key",
]

T = TypeVar("T")

DEFAULT_THRESHOLD: float = 90.0
"""Minimum ``similarity`` for two keys to count as the same headline (docs/dedup.md)."""

MIN_FUZZY_TOKENS = 4
"""Keys with fewer tokens than this are never duplicates by title alone, not even when equal:
on the UCI data exact short matches were boilerplate ("Business Highlights", "Titanfall
Review") 4 times out of 4. A short headline still dedups by its link."""


# --- title_key -------------------------------------------------------------------------

# Update markers at the end: Bloomberg's "(2)", Dow Jones' " -- 2nd Update".
_UPDATE_SUFFIX = re.compile(
    r"(?:\s*\(\d{1,2}\)|\s*--\s*(?:\d+(?:st|nd|rd|th)\s+)?update[sd]?)\s*$", re.IGNORECASE
)

# "Trailer No. 3" == "Trailer #3" (and "no" stays a negation word elsewhere).
_NUMERO = re.compile(r"\bno\.\s*(?=\d)")
# Numbers keep their internal dots, so "3.3" != "3" and "17.1.1" != "17.1".
_DOTTED_NUMBER = re.compile(r"[^\W_]*\d+(?:\.\d+)+[^\W_]*")
# Wire abbreviations of whole words ("$2 bln", "5 pct"); units glued to a number such as
# "120b" are left alone, they are part of a digit-bearing token.
_ABBREVIATIONS = {
    "mln": "million",
    "mn": "million",
    "bln": "billion",
    "bn": "billion",
    "pct": "percent",
    "mth": "month",
    "mths": "months",
}
_PER_CENT = re.compile(r"\bper\s+cent\b")


def _tokens(text: str) -> list[str]:
    """``utils.default_process`` tokens, keeping dotted numbers as one token."""
    tokens: list[str] = []
    pos = 0
    for match in _DOTTED_NUMBER.finditer(text):
        tokens.extend(utils.default_process(text[pos : match.start()]).split())
        tokens.append(".".join(utils.default_process(p) for p in match.group().split(".")))
        pos = match.end()
    tokens.extend(utils.default_process(text[pos:]).split())
    return [_ABBREVIATIONS.get(tok, tok) for tok in tokens]


def title_key(title: str) -> str:
    """Normalised, word-order-insensitive form of a headline, to store with each hit.

    NFKC + casefold; wire prefixes ("UPDATE 2-", "EXCLUSIVE-", "BREAKING:"), update
    markers ("(2)", "-- 2nd Update") and a short trailing publisher segment
    (" - Reuters", " | The Verge") removed; "U.S." -> "us", "bln" -> "billion";
    punctuation dropped by ``rapidfuzz.utils.default_process`` except inside dotted
    numbers ("3.1" stays one token); tokens sorted and joined by single spaces.
    """
    text = unicodedata.normalize("NFKC", title)
    text = strip_wire_prefixes(text)
    text = _UPDATE_SUFFIX.sub("", text)
    text = strip_publisher_suffix(text)
    text = _UPDATE_SUFFIX.sub("", text)
    text = undot_initialisms(text)
    text = text.casefold()
    text = _NUMERO.sub("", text)
    text = _PER_CENT.sub("percent", text)
    text = drop_possessives(text)
    text = drop_thousands_separators(text)
    return " ".join(sorted(_tokens(text)))


# --- comparison ------------------------------------------------------------------------


def _has_digit(token: str) -> bool:
    return any(ch.isdigit() for ch in token)


def number_tokens(key: str) -> frozenset[str]:
    """Digit-bearing tokens of a key ("4", "v3", "120b", "2025", "3.1")."""
    return frozenset(tok for tok in key.split() if _has_digit(tok))


def similarity(a_key: str, b_key: str) -> float:
    """0..100: ``fuzz.ratio`` on sorted keys, i.e. ``token_sort_ratio`` of the titles."""
    return float(fuzz.ratio(a_key, b_key))


# Words whose replacement never changes which story a headline is about.
_FUNCTION_WORDS = word_set(
    "a an the to for of in on at by with from as and or is are was were be been being "
    "its it this that these those after over into amid about than has have had"
)

# Words that reverse a headline: one side having more of any of them than the other means
# different news ("will" vs "won't" -> "won t"; "passes bill" vs "fails to pass bill").
_REVERSALS = word_set(
    "not no never t cannot nor without none nothing nobody fail fails failed deny denies "
    "denied reject rejects rejected refuse refuses refused delay delays delayed cancel "
    "cancels cancelled canceled scrap scraps scrapped halt halts halted pause pauses "
    "paused suspend suspends suspended postpone postpones postponed abandon abandons "
    "abandoned withdraw withdraws withdrew withdrawn retract retracts retracted"
)

# Never a spelling variant of each other ("$1 million" vs "$1 billion").
_MAGNITUDES = word_set("hundred thousand million billion trillion")
_INFLECTIONS = frozenset({"", "s", "es", "d", "ed", "ing"})


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _variant(a: str, b: str) -> bool:
    """True if two different words are plausibly the same word.

    Inflections ("launch"/"launches", "unveils"/"unveiled"), abbreviations of at least
    four letters ("exec"/"executive", "Mich."/"Michigan"), swapped letters
    ("Bieber"/"Beiber") and small slips in longer words: one letter added or dropped in
    a word of five letters or more ("Stacy"/"Stacey"), one letter changed in a word of
    seven or more ("apologizes"/"apologises"). A changed letter in a shorter word is not
    a variant ("hires"/"fires", "falls"/"fails"), nor are magnitudes ("million"/"billion").
    """
    if a in _MAGNITUDES or b in _MAGNITUDES:
        return False
    n = _common_prefix(a, b)
    if n >= 2 and a[n:] in _INFLECTIONS and b[n:] in _INFLECTIONS:
        return True
    if n >= 4 and n == min(len(a), len(b)):
        return True
    if len(a) == len(b) >= 5 and n >= 1 and sorted(a) == sorted(b):
        return True
    return min(len(a), len(b)) >= 5 and fuzz.ratio(a, b) >= 85


def replaced_words(a_key: str, b_key: str) -> tuple[list[str], list[str]]:
    """Content words of each key that the other replaced by a *different* word.

    Words only one side has are additions ("... protection in US"), which a re-published
    headline often makes; a word on each side with no inflected or misspelled
    counterpart on the other is a substitution ("releases" -> "delays", "EU" -> "UK"),
    which is how headlines about different events differ. Function words and digit
    tokens (compared separately) are ignored. Returns ``([], [])`` unless both sides
    have replaced words.
    """
    a_counts, b_counts = Counter(a_key.split()), Counter(b_key.split())
    only_a = [t for t in a_counts - b_counts if t not in _FUNCTION_WORDS and not _has_digit(t)]
    only_b = [t for t in b_counts - a_counts if t not in _FUNCTION_WORDS and not _has_digit(t)]
    lost = [t for t in only_a if not any(_variant(t, u) for u in only_b)]
    gained = [t for t in only_b if not any(_variant(t, u) for u in only_a)]
    if lost and gained:
        return lost, gained
    return [], []


def reversal_counts(key: str) -> dict[str, int]:
    """How often each reversal word ("not", "delays", ...) is in a ``title_key``."""
    return {w: n for w, n in Counter(key.split()).items() if w in _REVERSALS}


def _reversal_differs(a_key: str, b_key: str) -> bool:
    """Whether the two keys differ in a reversal word (or in how often they have it)."""
    return reversal_counts(a_key) != reversal_counts(b_key)


def _check_threshold(threshold: float) -> None:
    if not 0.0 <= threshold <= 100.0:
        raise ValueError(f"threshold must be within 0..100, got {threshold!r}")


class _Query:
    """One key compared against many; the per-key work is done once."""

    __slots__ = ("key", "numbers", "short")

    def __init__(self, key: str) -> None:
        self.key = key
        # Keys are sorted, so this compares digit tokens as a multiset ("3 3" != "3").
        self.numbers = [tok for tok in key.split() if _has_digit(tok)]
        self.short = len(key.split()) < MIN_FUZZY_TOKENS

    def score(self, other: str, threshold: float) -> float | None:
        """Similarity if ``other`` is a near duplicate at ``threshold``, else None."""
        if not self.key or not other or self.short:
            return None
        if self.key == other:
            return 100.0
        score = float(fuzz.ratio(self.key, other, score_cutoff=threshold))
        return self.guarded(other, score, threshold)

    def guarded(self, other: str, score: float, threshold: float) -> float | None:
        """``score`` if ``other`` (not equal to the key) passes every guard, else None."""
        if not score or score < threshold:
            return None
        tokens = other.split()
        if len(tokens) < MIN_FUZZY_TOKENS:
            return None
        if [tok for tok in tokens if _has_digit(tok)] != self.numbers:
            return None
        if _reversal_differs(self.key, other) or replaced_words(self.key, other)[0]:
            return None
        return score


def is_near_duplicate(a_key: str, b_key: str, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """True when two ``title_key`` keys are the same headline for alerting purposes.

    Equal non-empty keys always are. Otherwise all of: both keys have at least
    ``MIN_FUZZY_TOKENS`` tokens; the same digit-bearing tokens (``number_tokens``, also
    counted, so "3 3" != "3"); ``similarity >= threshold``; the same reversal words
    ("not", "won't", "fails", "denies", "delays", ...); and no content word replaced by a
    different one (``replaced_words``).
    """
    _check_threshold(threshold)
    return _Query(a_key).score(b_key, threshold) is not None


def find_duplicate(
    key: str, candidates: Iterable[tuple[T, str]], threshold: float = DEFAULT_THRESHOLD
) -> tuple[T, float] | None:
    """Best ``(id, similarity)`` among ``(id, key)`` candidates that ``key`` duplicates.

    Uses the same rule as ``is_near_duplicate``. Ties go to the earliest candidate.
    Returns None when no candidate qualifies. ``candidates`` is read once, into memory;
    scoring runs in rapidfuzz's C++ loop, so ~100k candidates take tens of milliseconds.
    """
    _check_threshold(threshold)
    query = _Query(key)
    ids: list[T] = []
    keys: list[str] = []
    for ident, other in candidates:
        ids.append(ident)
        keys.append(other)
    if not query.key or query.short:
        return None
    best: tuple[int, float] | None = None
    hits = process.extract(key, keys, scorer=fuzz.ratio, score_cutoff=threshold, limit=None)
    for other, raw, index in hits:
        score = 100.0 if other == key else query.guarded(other, float(raw), threshold)
        if score is None:
            continue
        if best is None or score > best[1] or (score == best[1] and index < best[0]):
            best = (index, score)
    return None if best is None else (ids[best[0]], best[1])
