"""Story clustering, pure: is a new hit the same news event as an earlier hit of its rule?

Different outlets write different headlines about one event ("Manchin, Schumer agree to
... Build Back Better" / "Senate Democrats reach deal on Inflation Reduction Act"). The
near-identical title check of ``dedup`` cannot join those, so a hit also joins a story when
it shares enough *distinctive* words with one of the story's hits:

1. ``features(title, text)`` reduces a hit to what the decision needs: the ``dedup``
   title key, the distinctive word stems of its title and of the start of its text
   (common words weigh nothing: the weight of a word is how rare it is in general feed
   text, ``story_words.txt``), which of them are names (capitalised, acronyms, numbers),
   and "versioned names" such as ``llama 3``, ``grok 2.5``, ``v3.1`` or ``gpt-oss-120b``.
2. ``same_story(a, b)`` says whether two hits are one event, with the signal that decided
   and a score: ``"similar title"`` (``dedup.is_near_duplicate``) or ``"shared words"``
   (how much of each title's weight the other hit covers, both ways, averaged), after the
   guards that keep look-alike events apart:

   * versions: a name with disjoint versions on the two sides (Llama 3 / Llama 4,
     iOS 17.1 / 17.1.1, Gemma 2 27B / 9B) is two things;
   * name swap: parallel titles (token_sort_ratio >= 70) where each side has a name the
     other replaced ("Nvidia / AMD shares jump after TSMC earnings", "EU / UK regulators
     approve ...");
   * role swap: the same two names in opposite order around the same verb
     ("Anthropic sues OpenAI" / "OpenAI sues Anthropic");
   * reversal: a close title that adds "not", "delays", "denies", ... (dedup's list), or
     any title about the same versioned name that does;
   * word replaced: alike titles that differ by one word which is no paraphrase of the
     other ("Tesla recalls Model Y / Model S", "Meta / Cohere to release ...").

   When the titles fall short, ``"shared names"``: rare names both hits carry beyond the
   shared title words, in title or lede (issue 12). Verbs and qualifiers that mean one
   event ("launches" / "releases", "open-weight" / "open") are read through the reviewed
   table of ``matching.paraphrase``; years, counts and ordinals are never versions.

3. ``best_match(hit, candidates)`` picks the story to join among earlier hits;
   ``best_story(hit, candidates)`` also compares the hit with each story's combined
   evidence (the bounded union of its candidates' words, signal ``"story words"``), the
   guards still applying against every member.

Every tuned number is in ``TUNING`` below, with the measured cases that fixed it; the
measurement is ``bench/dedup_quality.py`` and docs/dedup.md. No I/O here except reading the
packaged word list once.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar

from rapidfuzz import fuzz

from weightwatch.matching import dedup, paraphrase
from weightwatch.matching.text import (
    drop_possessives,
    drop_thousands_separators,
    strip_publisher_suffix,
    strip_wire_prefixes,
    undot_initialisms,
    word_set,
)

__all__ = [
    "TUNING",
    "WORDS_FILE",
    "Features",
    "Tuning",
    "best_match",
    "best_story",
    "choose",
    "closest",
    "features",
    "same_story",
    "stems",
    "stored",
    "weight",
]

T = TypeVar("T")
V = TypeVar("V")
H = TypeVar("H", bound=Hashable)

WORDS_FILE = Path(__file__).with_name("story_words.txt")


@dataclass(frozen=True)
class Tuning:
    """Every tuned number of story clustering, with the cases that fixed it.

    Measured with ``bench/dedup_quality.py`` on data we did not write (Google News groups,
    UCI aggregator stories) and on the hand-labelled world-news pairs in
    ``tests/data/story_pairs.tsv``; docs/dedup.md has the tables.
    """

    # How far back a new hit looks for a story to join (seconds). The Google News groups
    # are one day; the UCI stories span the 3 days of the sample, and a story's later
    # reports ("sentenced", "appeals") arrive within days. Longer windows only add
    # candidates for false merges. Becomes ``settings.dedup_window``'s default.
    window: float = 3 * 24 * 3600.0

    # Signal 1, near-identical titles: dedup's threshold (docs/dedup.md, "Chosen
    # threshold"). Scorer: fuzz.ratio on sorted keys = token_sort_ratio.
    title_threshold: float = dedup.DEFAULT_THRESHOLD

    # Signal 2, shared distinctive words. The mean of the two coverages (the weight of each
    # title's words found in the other hit, title and text) must reach this. 0.5 fixed by
    # the sweep in docs/dedup.md: labelled pairs precision 0.966 / recall 0.77, Google 3.11
    # alerts per story with 2 false merges. 0.45 drops labelled precision to 0.938 (the
    # target is 0.95); 0.55 gives 0.981 / 0.72 and 3.33 alerts per story. Joined at 0.5:
    # "Hundreds Of Protesters Storm Iraqi Parliament" / "Iraqi protesters break into
    # parliament ..." (0.6); kept apart: "NYC asks WHO to rename monkeypox" / "WHO
    # recommends ... monkeypox" (0.4), Yankees trade / Subway Series (0.3).
    min_score: float = 0.5
    # At least this many distinct shared words ... (one shared word, however rare, is a
    # topic, not an event: "Yankees" joins a trade and a game)
    min_shared: int = 2
    # ... of which at least one a name (capitalised word, acronym or number): two shared
    # common-ish words ("shares jump") are no event.
    min_shared_names: int = 1
    # ... and the shared words must weigh this much together: two common-ish names alone
    # ("Russia-Ukraine News: Live Updates" / "Ukraine takes out key bridge ...", 1.0) are a
    # topic.
    min_shared_weight: float = 1.1

    # Evidence from the ledes (issue 12): a pair whose titles fall short of ``min_score``
    # still joins when the names both carry beyond the shared title words (title or lede,
    # each weighted by rarity: acronyms of common words half, numbers of 2+ digits 0.8)
    # weigh at least ``lede_weight`` and the titles still cover each other this much.
    # Measured on the labelled pairs with ledes (docs/dedup.md, "Evidence from the
    # lede"): every different-event pair there has at most 1.51 of such names (Starmer's
    # two statements: "Keir", "Minister"); the same-event pairs it joins have 1.6 to 3.7
    # ("Rubio praises Orban ..." / "US strengthens ties with European populists ...":
    # Budapest, Marco, Viktor, Secretary, Minister; "Introducing gpt-oss" / "OpenAI
    # launches two 'open' AI reasoning models": 120b, 20b) at title scores of 0.26 to 0.6.
    lede_weight: float = 1.6
    lede_min_score: float = 0.25

    # Comparing with the story, not only with its hits (issue 12): a hit that joins no
    # single member joins a story of at least ``story_min_members`` candidates whose
    # combined words (the ``story_union_words`` heaviest of the members' title and text
    # stems) cover ``story_min_score`` of its title weight with ``story_min_shared`` words,
    # one a name; guards apply against every member. Measured in docs/dedup.md, "Comparing
    # with the story".
    story_min_members: int = 1
    story_union_words: int = 48
    story_min_score: float = 0.6
    story_min_shared: int = 3
    story_needs_name: bool = False

    # Word weights: log-scaled rarity in the background feeds (story_words.txt), 1.0 for a
    # word no background feed uses. Below ``min_weight`` a word is common (weight 0): it is
    # in more than ~1 in 5 feeds ("says", "new", "deal", "year").
    min_weight: float = 0.25
    # A capitalised word is a name only if it is at least this rare, so Title Case
    # headlines ("Hundreds Of Protesters Storm ...") do not make every word a name.
    name_weight: float = 0.5
    title_case_name_weight: float = 0.9
    # Digit-bearing tokens: "117" counts, "$1b", "0.75": a number of two or more digits
    # is as strong as a rare word; a single digit or a year is weak (every other headline
    # has "2" or "2022").
    number_weight: float = 0.8
    weak_number_weight: float = 0.3

    # How much of a hit's text is read (characters): the summary or lede, not the article
    # body; feeds that put the whole article in the text would otherwise share everything.
    text_chars: int = 400
    # At most this many text words (highest weights) are kept per hit, next to all the
    # title words; bounds the index size and the cost per decision.
    max_text_words: int = 12

    # Candidate blocking (storage): the new hit's ``lookup_words`` rarest words are looked
    # up in the story index, each word's newest ``per_word`` hits in the window; the
    # ``max_candidates`` earlier hits sharing the most weight are scored. Fixed by
    # bench/story_cost.py (median ~1 ms, p99 < 10 ms at 1M stored hits) with the quality
    # numbers measured through the same blocking.
    lookup_words: int = 16
    per_word: int = 64
    max_candidates: int = 32

    # The reversal guard applies to titles at least this alike (token_sort_ratio): "OpenAI
    # releases / delays open-weight model" (85) are two events; a far-apart pair with a
    # "not" in one of them ("... Will Not Comply With L.A. Order" / "Indoor mask mandate
    # ... could be paused", Google group 3) is usually one.
    reversal_similarity: float = 70.0
    # The name-swap guard likewise applies to titles at least this alike.
    swap_similarity: float = 70.0

    # The related-story hint (``closest``): a hit that joins no story but whose best
    # candidate's shared-words score reaches this (and no guard refused that story) says
    # "Possibly the same story as: ...". Provisional, from ``bench/dedup_quality.py
    # --related`` (docs/dedup.md, "Related-story hint").
    related: float = 0.3


TUNING = Tuning()


# --- words -----------------------------------------------------------------------------

# Function words and news boilerplate: never evidence of a story, whatever their weight.
_STOPWORDS = word_set(
    """
    a about above after again against ago all also am amid among an and any are as at be
    because been before being below between both but by can could did do does doing down
    during each even ever every few for from further get gets got had has have having he her
    here hers him his how however i if in into is it its itself just least less like may me
    might more most much must my near no nor not now of off on once only onto or other our
    ours out over own per s same she should since so some such t than that the their theirs
    them then there these they this those though through thus to too toward towards under
    until up upon us very via vs was we were what when where whether which while who whom
    whose why will with within without would yet you your yours
    one two three four five six seven eight nine ten first second third last next
    live update updates breaking exclusive video watch photos photo opinion analysis review
    news report reports say says said told tell tells new latest today day week year years
    """
)

_IRREGULAR = {"died": "die", "dies": "die", "dead": "die", "dying": "die", "news": "news"}
# A country and its people are one name ("China" / "Chinese rocket", "Iraqi parliament").
_DEMONYMS = {
    demonym: country
    for country, demonyms in (
        ("afghanistan", "afghan afghans"),
        ("america", "american americans"),
        ("australia", "australian australians"),
        ("brazil", "brazilian brazilians"),
        ("britain", "british briton britons"),
        ("canada", "canadian canadians"),
        ("china", "chinese"),
        ("egypt", "egyptian egyptians"),
        ("france", "french"),
        ("germany", "german germans"),
        ("greece", "greek greeks"),
        ("india", "indian indians"),
        ("indonesia", "indonesian indonesians"),
        ("iran", "iranian iranians"),
        ("iraq", "iraqi iraqis"),
        ("ireland", "irish"),
        ("israel", "israeli israelis"),
        ("italy", "italian italians"),
        ("japan", "japanese"),
        ("korea", "korean koreans"),
        ("lebanon", "lebanese"),
        ("mexico", "mexican mexicans"),
        ("nigeria", "nigerian nigerians"),
        ("pakistan", "pakistani pakistanis"),
        ("palestine", "palestinian palestinians"),
        ("peru", "peruvian peruvians"),
        ("philippines", "filipino filipinos philippine"),
        ("poland", "polish"),
        ("russia", "russian russians"),
        ("saudi", "saudis"),
        ("spain", "spanish"),
        ("sudan", "sudanese"),
        ("syria", "syrian syrians"),
        ("taiwan", "taiwanese"),
        ("turkey", "turkish turks"),
        ("ukraine", "ukrainian ukrainians"),
        ("venezuela", "venezuelan venezuelans"),
        ("vietnam", "vietnamese"),
        ("yemen", "yemeni yemenis"),
    )
    for demonym in demonyms.split()
}

# Tokens: words and numbers; dotted numbers stay whole ("3.1", "v3.1", "17.1.1").
_TOKEN = re.compile(r"[^\W_]+(?:\.\d+)+[^\W_]*|[^\W_]+")
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])['’`](?=[^\W\d_])")
_YEAR = re.compile(r"(?:19|20)\d\d")
_GLUED = re.compile(r"([^\W\d_]*)(\d+(?:\.\d+)*)([^\W\d_]*)")


@lru_cache(maxsize=1 << 14)  # bounded, like ``weight``: a word's stem never changes
def _stem(word: str) -> str:
    """A light English stem, enough to join inflections ("strikes"/"strike"/"striking")."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word in _DEMONYMS:
        return _DEMONYMS[word]
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ing") and len(word) >= 6:
        word = word[:-3]
    elif (word.endswith("ed") and len(word) >= 5) or word.endswith(
        ("sses", "shes", "ches", "xes", "zes")
    ):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    return word


_MONEY = re.compile(
    r"(\d+(?:\.\d+)?)\s*(billion|bln|bn|b|million|mln|mn|m|trillion|tn|t)\b", re.IGNORECASE
)
_MAGNITUDE = {"b": "b", "bln": "b", "bn": "b", "billion": "b", "m": "m", "mln": "m", "mn": "m"}
_MAGNITUDE |= {"million": "m", "t": "t", "tn": "t", "trillion": "t"}


def _money(m: re.Match[str]) -> str:
    return m.group(1) + _MAGNITUDE[m.group(2).casefold()]


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = paraphrase.canonical_phrases(text)  # "rolls out" -> "releases", "open-weight" -> "open"
    text = _MONEY.sub(_money, text)  # "$1 billion" = "$1B" = "1bn" -> "1b"
    text = undot_initialisms(text)
    text = drop_possessives(text)
    text = _APOSTROPHE.sub("", text)  # "won't" -> "wont", "Jerí's" handled above
    return drop_thousands_separators(text)


@dataclass(frozen=True)
class _Token:
    surface: str
    stem: str
    capital: bool  # written with a capital (and the text is not all capitals)
    acronym: bool  # "WHO", "US", "EU" inside mixed-case text


def _fold(word: str) -> str:
    """A Latin-script word without its accents ("Jerí" = "Jeri", "Orbán" = "Orban"):
    outlets spell names both ways. Other scripts are left as they are."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    if any(ord(ch) > 0x24F and not unicodedata.combining(ch) for ch in decomposed):
        return word
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _scan(text: str) -> list[_Token]:
    text = _normalise(text)
    raw = _TOKEN.findall(text)
    letters = [w for w in raw if w.isalpha()]
    shouting = bool(letters) and sum(w.isupper() for w in letters) > 0.6 * len(letters)
    out = []
    for surface in raw:
        lower = _fold(surface.casefold())
        acronym = (
            not shouting and 2 <= len(surface) <= 5 and surface.isupper() and surface.isalpha()
        )
        capital = not shouting and any(ch.isupper() for ch in surface)
        if acronym:
            stem = lower  # "WHO" and "US" are names, not the stopwords "who" and "us"
        elif lower in _STOPWORDS:
            continue
        else:
            stem = paraphrase.canonical(_stem(lower))  # "launches" = "unveils" = "releases"
        out.append(_Token(surface, stem, capital, acronym))
    return out


def stems(text: str) -> set[str]:
    """The word stems of ``text`` that can be evidence (stopwords removed)."""
    return {tok.stem for tok in _scan(text)}


@cache
def _word_table() -> tuple[int, dict[str, int]]:
    feeds = 1
    table: dict[str, int] = {}
    try:
        lines = WORDS_FILE.read_text(encoding="utf-8").splitlines()
    except OSError:  # a broken install: every word is rare, clustering gets looser
        return feeds, table
    for line in lines:
        if line.startswith("# feeds\t"):
            feeds = int(line.split("\t")[1])
        elif line and not line.startswith("#"):
            word, count = line.split("\t")
            table[word] = int(count)
    return feeds, table


def rarity(stem: str) -> float:
    """0..1: log-scaled share of background feeds *not* using the word (1: none uses it)."""
    feeds, table = _word_table()
    df = table.get(stem, 0)
    return math.log((feeds + 1) / (df + 1)) / math.log(feeds + 1)


_DIGIT = re.compile(r"\d")


def _has_digit(stem: str) -> bool:
    return _DIGIT.search(stem) is not None


@lru_cache(maxsize=1 << 14)  # bounded: new names keep coming in a long-running daemon
def weight(stem: str) -> float:
    """0..1: how much sharing this word says about being one story (rarer weighs more).

    Cached: ``TUNING`` is constant in the daemon (call ``weight.cache_clear()`` after
    replacing it in an experiment)."""
    if any(ch.isdigit() for ch in stem):
        digits = sum(ch.isdigit() for ch in stem)
        if _YEAR.fullmatch(stem) or digits < 2:
            return TUNING.weak_number_weight
        return TUNING.number_weight
    value = rarity(stem)
    return value if value >= TUNING.min_weight else 0.0


# --- features --------------------------------------------------------------------------


class _once(Generic[V]):  # lower case: used as a decorator, like cached_property
    """``functools.cached_property`` without its lock: on Python 3.11 every first access
    takes an ``RLock``, which cost more than the value for the candidates of a decision
    (docs/dedup.md, "Cost"). The value is computed once per object and kept in its
    ``__dict__`` (also for frozen dataclasses, as cached_property does)."""

    def __init__(self, fn: Callable[[Any], V]) -> None:
        self._fn = fn
        self._name = fn.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, obj: object, owner: type | None = None) -> V:
        if obj is None:
            raise AttributeError(self._name)
        value = obj.__dict__[self._name] = self._fn(obj)
        return value


@dataclass(frozen=True)
class Features:
    """What the story decision knows about one hit (``features``; stored as JSON).

    The values a comparison derives from one side (its word weights, its versions by name,
    its reversal words) are computed on first use and kept with the object, so a hit
    compared with 32 candidates derives its own once (``_once``)."""

    key: str  # dedup.title_key(title)
    title: tuple[str, ...]  # distinctive stems of the title, in order, each once
    text: tuple[str, ...]  # distinctive stems of the text start that the title lacks
    names: frozenset[str]  # which stems are names: capitalised and rare, acronyms, numbers
    versions: tuple[tuple[str, str], ...]  # ("llama", "3"), ("v", "3.1"), ("#b", "120")
    # The versions the title names (its subject); the text's others may be comparisons
    # ("V3.2, built on V3.1"). Empty in features stored before issue 12.
    subject: tuple[tuple[str, str], ...] = ()

    @_once
    def words(self) -> frozenset[str]:
        return frozenset(self.title) | frozenset(self.text)

    @_once
    def weights(self) -> dict[str, float]:
        """Each word's weight as the decision counts it (``_weight_of``)."""
        return {w: weight(w) or 0.5 for w in self.words}

    @_once
    def title_weights(self) -> dict[str, float]:
        """Each title word's weight as the decision counts it, in title order."""
        return {w: weight(w) or 0.5 for w in self.title}

    @_once
    def title_weight(self) -> float:
        """``_weight_of(self.title)``."""
        return _weight_of(self.title)

    @_once
    def by_name(self) -> dict[str, set[str]]:
        """``_by_name(self)``."""
        return _by_name(self)

    @_once
    def reversals(self) -> dict[str, int]:
        """``dedup.reversal_counts(self.key)``."""
        return dedup.reversal_counts(self.key)

    def index_words(self) -> list[str]:
        """The stems to put in the story index (title first, then text)."""
        return list(self.title) + list(self.text)

    def lookup_words(self) -> list[str]:
        """The stems to look candidates up by, most telling first."""
        ranked = sorted(self.index_words(), key=lambda s: (-weight(s), s))
        return ranked[: TUNING.lookup_words]

    def to_json(self) -> str:
        return json.dumps(
            {
                "k": self.key,
                "t": self.title,
                "x": self.text,
                "n": sorted(self.names),
                "v": [list(v) for v in self.versions],
                "s": [list(v) for v in self.subject],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Features:
        d = json.loads(text)
        return cls(
            key=d["k"],
            title=tuple(d["t"]),
            text=tuple(d["x"]),
            names=frozenset(d["n"]),
            versions=tuple((v[0], v[1]) for v in d["v"]),
            subject=tuple((v[0], v[1]) for v in d.get("s", ())),
        )


@lru_cache(maxsize=4096)
def stored(text: str) -> Features:
    """``Features.from_json``, kept for the next decisions: a stored hit is a candidate
    again and again while it is in the window, and its features never change (the JSON is
    the key). With the object come the values derived on first use (its words and their
    weights), so a candidate seen before costs a dictionary lookup. Bounded (about 3 KB an
    entry, ~11 MiB at most); measured in docs/dedup.md, "Cost"."""
    return Features.from_json(text)


_ORDINAL = frozenset({"st", "nd", "rd", "th"})
_UNITS = frozenset({"b", "m", "t", "k", "gb", "tb", "mb"})


def _versions(tokens: Sequence[_Token]) -> list[tuple[str, str]]:
    """Versioned names: a name followed by a number ("Llama 3", "Grok 2.5", "GPT-2"), a
    glued one ("V3.1", "Qwen2.5", "GPT4"), a size ("27B", "120b": unit "b").

    Years, counts and dates are not versions: a year ("since 2019"), a number of three or
    more digits after a word ("Kills 280"), an ordinal ("18th") and a number after a
    common word ("Kills 28", "Top 10", "Since 2019" in Title Case) are left out, so "its
    first since 2019" never conflicts with "since GPT-2"."""
    out: list[tuple[str, str]] = []
    for i, tok in enumerate(tokens):
        m = _GLUED.fullmatch(tok.stem)
        if m is None:
            continue
        prefix, number, suffix = m.groups()
        if prefix:
            out.append((prefix, number + suffix))
        elif suffix:
            if suffix in _UNITS or (len(suffix) <= 2 and suffix not in _ORDINAL):
                if suffix not in _UNITS and i > 0 and _names_a_version(tokens[i - 1], number):
                    out.append((tokens[i - 1].stem, number + suffix))  # "Gemma 3n"
                else:
                    out.append(("#" + suffix, number))  # a size: "27B", "120b"
        elif i > 0 and _names_a_version(tokens[i - 1], number):
            out.append((tokens[i - 1].stem, number))
    return out


def _names_a_version(before: _Token, number: str) -> bool:
    """Whether ``number`` after the token ``before`` is the version of a name."""
    if not (before.capital and before.stem.isalpha()):
        return False
    if "." in number:
        return True  # "Small 3.1", "iOS 17.1.1"
    if _YEAR.fullmatch(number) or len(number) > 2:
        return False  # a year or a count, not a version
    return before.acronym or rarity(before.stem) >= TUNING.name_weight  # not "Kills 28"


_MONTHS = word_set(
    "january february march april may june july august september october november december"
    " jan feb mar apr jun jul aug sep sept oct nov dec"
)


def _without_dates(tokens: list[_Token]) -> list[_Token]:
    """Drop the day of "March 10" / "10 March": every paper that day has it (UCI: "News in
    Pictures - 10 March, 2014" / "Opening Bell 10 March")."""
    out = []
    for i, tok in enumerate(tokens):
        if tok.stem.isdigit() and len(tok.stem) <= 2:
            before = tokens[i - 1].stem if i else ""
            after = tokens[i + 1].stem if i + 1 < len(tokens) else ""
            if before in _MONTHS or after in _MONTHS:
                continue
        out.append(tok)
    return out


def features(title: str, text: str = "", exclude: Iterable[str] = ()) -> Features:
    """The story features of a hit. ``exclude``: the rule's own terms as written (every hit
    of the rule has them, so they say nothing about which story it is)."""
    excluded: set[str] = set()
    for term in exclude:
        excluded |= stems(term)
    cleaned = strip_publisher_suffix(strip_wire_prefixes(title))
    title_tokens = _scan(cleaned)
    # No title at all (some feeds): the text start stands in for it.
    if not title_tokens and text:
        title_tokens = _scan(text[:120])
    text_tokens = _scan(text[: TUNING.text_chars]) if text else []

    def distinctive(tok: _Token) -> bool:
        return tok.stem not in excluded and (tok.acronym or weight(tok.stem) > 0.0)

    # In Title Case every word is capitalised: only a rarer one is then a name.
    longer = [t for t in title_tokens if len(t.surface) >= 4 and t.surface.isalpha()]
    title_case = bool(longer) and sum(t.capital for t in longer) >= 0.6 * len(longer)

    def is_name(tok: _Token, in_title: bool) -> bool:
        if _has_digit(tok.stem):
            return weight(tok.stem) >= TUNING.number_weight
        floor = TUNING.title_case_name_weight if in_title and title_case else TUNING.name_weight
        return tok.acronym or (tok.capital and weight(tok.stem) >= floor)

    names: set[str] = set()
    ordered: list[str] = []
    title_tokens = _without_dates(title_tokens)
    text_tokens = _without_dates(text_tokens)
    for tok in title_tokens:
        if not distinctive(tok):
            continue
        if is_name(tok, True):
            names.add(tok.stem)
        if tok.stem not in ordered:
            ordered.append(tok.stem)
    in_title = set(ordered)
    extra: dict[str, float] = {}
    for tok in text_tokens:
        if tok.stem in in_title or not distinctive(tok):
            continue
        if is_name(tok, False):
            names.add(tok.stem)
        extra.setdefault(tok.stem, weight(tok.stem) + (0.5 if tok.stem in names else 0.0))
    text_words = sorted(extra, key=lambda s: (-extra[s], s))[: TUNING.max_text_words]
    kept = in_title | set(text_words)
    subject = sorted({v for v in _versions(title_tokens) if v[0] not in excluded})
    versions = sorted(set(subject) | {v for v in _versions(text_tokens) if v[0] not in excluded})
    return Features(
        key=dedup.title_key(title),
        title=tuple(ordered),
        text=tuple(text_words),
        names=frozenset(n for n in names if n in kept),
        versions=tuple(versions),
        subject=tuple(subject),
    )


# --- the decision ----------------------------------------------------------------------


def _weight_of(words: Iterable[str]) -> float:
    return sum(weight(w) or 0.5 for w in words)  # acronyms of common words ("US") count half


def _by_name(f: Features) -> dict[str, set[str]]:
    """Each versioned name's versions: those the title names, else those of the text."""
    out: dict[str, set[str]] = {}
    for name, version in f.subject:
        out.setdefault(name, set()).add(version)
    titled = set(out)
    for name, version in f.versions:
        if name not in titled:
            out.setdefault(name, set()).add(version)
    return out


def _version_conflict(a: Features, b: Features) -> bool:
    if not (a.versions or a.subject) or not (b.versions or b.subject):
        return False  # no versioned name on one side
    mine, theirs = a.by_name, b.by_name
    return any(mine[n].isdisjoint(theirs[n]) for n in mine.keys() & theirs.keys())


def _similarity(a: Features, b: Features) -> float:
    return dedup.similarity(a.key, b.key) if a.key and b.key else 0.0


def _replaced_word(a: Features, b: Features, similarity: float | None = None) -> bool:
    """Near-identical titles that differ by one word replaced by another that is no
    paraphrase of it ("Tesla recalls Model Y / Model S ...", "... removes / restores model
    ..."): dedup's word guard, kept when the shared words would join them. Only a pure
    substitution counts: "free ... since 2019" / "... since GPT-2" differs in more.
    ``similarity``: ``dedup.similarity`` of the keys when the caller has it."""
    if not a.key or not b.key:
        return False
    sim = _similarity(a, b) if similarity is None else similarity
    if sim < TUNING.swap_similarity:
        return False
    a_tokens, b_tokens = Counter(a.key.split()), Counter(b.key.split())
    lost, gained = list((a_tokens - b_tokens).elements()), list((b_tokens - a_tokens).elements())
    if len(lost) != 1 or len(gained) != 1:
        return False
    return paraphrase.canonical(_stem(lost[0])) != paraphrase.canonical(_stem(gained[0]))


def _entity_swap(a: Features, b: Features, similarity: float | None = None) -> bool:
    """Parallel titles where each side has a name the other replaced ("Nvidia / AMD shares
    jump after TSMC earnings", "EU / UK regulators approve ...")."""
    if not a.key or not b.key:
        return False
    sim = _similarity(a, b) if similarity is None else similarity
    if sim < TUNING.swap_similarity:
        return False
    lost, gained = dedup.replaced_words(a.key, b.key)
    lost_names = [w for w in lost if _stem(w) in a.names and _stem(w) not in b.words]
    gained_names = [w for w in gained if _stem(w) in b.names and _stem(w) not in a.words]
    # A name on each side: "Meta / Cohere to release Qwen 4 weights", where "Meta" is too
    # common a word to count as a name, is a pure one-word substitution and stays apart by
    # ``_replaced_word``; a one-sided name here cost true pairs ("Jesse Jackson dies, aged
    # 84" / "Jesse Jackson, ... U.S. presidential hopeful, dies at 84").
    return bool(lost_names) and bool(gained_names)


def _role_swap(a: Features, b: Features) -> bool:
    """The same two names around the same words, in opposite order: who did what to whom."""
    shared = [w for w in a.title if w in b.names and w in a.names and w in b.title]
    if len(shared) < 2:
        return False
    x, y = shared[0], shared[1]
    ia, ja = a.title.index(x), a.title.index(y)
    ib, jb = b.title.index(x), b.title.index(y)
    if ib < jb:  # same order in both
        return False
    between_a = a.title[ia + 1 : ja]
    between_b = b.title[jb + 1 : ib]
    return bool(between_a) and between_a == between_b


def _reversal(a: Features, b: Features, similarity: float | None = None) -> bool:
    """A close title that adds "not", "delays", "denies", ...; or any two titles about
    the same versioned name where one does ("Meta delays ... Llama 4 Behemoth" / "Meta
    releases Llama 4 ...")."""
    if not a.key or not b.key:
        return False
    if a.reversals == b.reversals:  # dedup's reversal check, each side's words kept
        return False
    if set(a.subject) & set(b.subject):
        return True
    sim = _similarity(a, b) if similarity is None else similarity
    return sim >= TUNING.reversal_similarity


def guard(a: Features, b: Features) -> str | None:
    """Why two hits cannot be one story, or None."""
    if _version_conflict(a, b):
        return "versions differ"
    if _role_swap(a, b):
        return "roles swapped"
    sim = _similarity(a, b)  # the three below need it; computed once
    if _entity_swap(a, b, sim):
        return "names swapped"
    if _reversal(a, b, sim):
        return "reversal"
    if _replaced_word(a, b, sim):
        return "word replaced"
    return None


def shared_score(a: Features, b: Features) -> tuple[float, frozenset[str]]:
    """Mean of the two coverages (weight of each title's words that the other hit has)."""
    _, score, shared = _shared(a, b)
    return score, shared


def _shared(a: Features, b: Features) -> tuple[float, float, frozenset[str]]:
    """``shared_score`` with the first of its two coverages: (a's, the mean, the words)."""
    a_words, b_words = a.words, b.words
    ab = frozenset(w for w in a.title if w in b_words)
    a_total, b_total = a.title_weight, b.title_weight
    if not a_total:
        return 0.0, 0.0, frozenset()
    a_cover = sum(map(a.title_weights.__getitem__, ab)) / a_total  # _weight_of(ab), in order
    if not b_total:  # b has no title words, yet its text may cover a's title
        return a_cover, 0.0, frozenset()
    ba = frozenset(w for w in b.title if w in a_words)
    b_cover = sum(map(b.title_weights.__getitem__, ba)) / b_total
    return a_cover, (a_cover + b_cover) / 2, ab | ba


def same_story(
    a: Features, b: Features, title_threshold: float | None = None
) -> tuple[bool, str, float]:
    """Whether two hits are one event: (decision, signal, score).

    ``signal`` is "similar title" (score 0..100, dedup's rule at ``title_threshold``,
    default ``TUNING.title_threshold``) or "shared words" (score 0..1). When the decision
    is False it is "no match" or the guard that refused ("versions differ", "roles
    swapped", "names swapped", "reversal").
    """
    return _judge(a, b, title_threshold)[:3]


def _judge(
    a: Features, b: Features, title_threshold: float | None
) -> tuple[bool, str, float, float]:
    """``same_story`` and how much of a's title weight b covers (``math.inf`` when the
    titles were decided alike without counting words): the bound ``_Compared.story``
    uses to skip stories that cannot cover the hit."""
    passes, signal, score, cover, refused = _unguarded(a, b, title_threshold)
    if not passes:
        return False, signal, score, cover
    why = guard(a, b)
    if why is not None:
        return False, why, refused, cover
    return True, signal, score, cover


def _unguarded(
    a: Features, b: Features, title_threshold: float | None
) -> tuple[bool, str, float, float, float]:
    """``_judge`` before the guards: (whether the evidence joins them, the signal, its
    score, a's coverage, the score reported if a guard refuses). ``_Compared`` applies the
    guards only where the answer depends on them."""
    threshold = TUNING.title_threshold if title_threshold is None else title_threshold
    if (
        a.key
        and b.key
        and (a.key == b.key or fuzz.ratio(a.key, b.key, score_cutoff=threshold))
        and dedup.is_near_duplicate(a.key, b.key, threshold)
    ):
        return True, "similar title", dedup.similarity(a.key, b.key), math.inf, 0.0
    cover, score, shared = _shared(a, b)
    signal = "shared words"
    if (
        score < TUNING.min_score
        or len(shared) < TUNING.min_shared
        or len(shared & (a.names | b.names)) < TUNING.min_shared_names
        or _weight_of(shared) < TUNING.min_shared_weight
    ):
        # Evidence from the ledes: rare names both hits carry that the titles do not share
        # ("gpt-oss-120b" and "gpt-oss-20b" in both ledes under "OpenAI launches two 'open'
        # AI reasoning models" / "Introducing gpt-oss"), weighted by rarity. (The score is
        # checked first: below ``lede_min_score`` the names are not looked at.)
        if score < TUNING.lede_min_score:
            return False, "no match", round(score, 3), cover, 0.0
        lede = lede_names(a, b, shared)
        if _weight_of(lede) < TUNING.lede_weight or len(shared | lede) < TUNING.min_shared:
            return False, "no match", round(score, 3), cover, 0.0
        signal = "shared names"
    return True, signal, round(score, 3), cover, round(score, 3)


def lede_names(a: Features, b: Features, shared: frozenset[str]) -> frozenset[str]:
    """The names both hits have (title or text) beyond the ``shared`` title words."""
    names = a.names | b.names
    return frozenset(w for w in a.words & b.words if w in names and w not in shared)


_SIGNAL_RANK = {"similar title": 2, "shared words": 1, "shared names": 0}
_GUARDS = frozenset(
    {"versions differ", "roles swapped", "names swapped", "reversal", "word replaced"}
)


class _Compared:
    """One hit compared with its candidates: each pair decided once (``same_story``) and
    each pair's guard computed at most once, shared by the member choice (``best_match``),
    the story comparison (``best_story``) and the hint (``closest``). Before, a hit that
    joined nothing was scored three times over (docs/dedup.md, "Cost")."""

    def __init__(
        self, hit: Features, candidates: Sequence[Features], title_threshold: float | None
    ) -> None:
        self.hit = hit
        self.candidates = candidates
        # Each pair's evidence; the guards are applied lazily (``guard``): the member
        # choice needs them only down to the best candidate that passes.
        self._pending = [_unguarded(hit, f, title_threshold) for f in candidates]
        # How much of the hit's title weight each candidate's words cover: a story's
        # combined words cover at most the sum over its members (``story``).
        self.covers = [p[3] for p in self._pending]
        self._guards: dict[int, str | None] = {}
        self._verdicts: list[tuple[bool, str, float]] | None = None

    def guard(self, n: int) -> str | None:
        """``guard(hit, candidates[n])``, computed once."""
        if n not in self._guards:
            self._guards[n] = guard(self.hit, self.candidates[n])
        return self._guards[n]

    @property
    def verdicts(self) -> list[tuple[bool, str, float]]:
        """``same_story(hit, candidate)`` of every candidate."""
        if self._verdicts is None:
            out = []
            for n, (passes, signal, score, _, refused) in enumerate(self._pending):
                why = self.guard(n) if passes else None
                if not passes:
                    out.append((False, signal, score))
                elif why is None:
                    out.append((True, signal, score))
                else:
                    out.append((False, why, refused))
            self._verdicts = out
        return self._verdicts

    def member(self, idents: Sequence[T]) -> tuple[T, str, float] | None:
        """``best_match``: a similar title beats shared words, then the higher score; ties
        to the earliest. The candidates whose evidence joins are tried best first, so
        the guards run only until one passes."""
        pending = self._pending
        joining = sorted(
            (n for n, p in enumerate(pending) if p[0]),
            key=lambda n: (-_SIGNAL_RANK.get(pending[n][1], 0), -pending[n][2], n),
        )
        for n in joining:
            if self.guard(n) is None:
                return idents[n], pending[n][1], pending[n][2]
        return None

    def story(
        self, idents: Sequence[T], stories: Sequence[Hashable]
    ) -> tuple[T, str, float] | None:
        """``best_story``'s comparison with each story's combined evidence."""
        grouped: dict[Hashable, list[int]] = {}
        for n, key in enumerate(stories):
            grouped.setdefault(key, []).append(n)
        hit = self.hit
        found: tuple[T, str, float] | None = None
        top = 0.0
        for members in grouped.values():
            if len(members) < TUNING.story_min_members:
                continue
            # Two shortcuts that decide nothing differently: a story whose members' words
            # cover less than ``story_min_score`` of the title one by one cannot together
            # (the margin absorbs the order of float sums), and a story with a member the
            # pair decision already refused (a guard) is refused below anyway.
            if sum(self.covers[n] for n in members) < TUNING.story_min_score - 1e-9:
                continue
            if any(self.verdicts[n][1] in _GUARDS for n in members):
                continue
            feats = [self.candidates[n] for n in members]
            score, shared = story_score(hit, feats)
            if (
                score < TUNING.story_min_score
                or score <= top
                or len(shared) < TUNING.story_min_shared
                or (
                    TUNING.story_needs_name
                    and not shared & (hit.names | frozenset().union(*(f.names for f in feats)))
                    and not _shares_version(hit, feats)
                )
                or _weight_of(shared) < TUNING.min_shared_weight
            ):
                continue
            if any(self.guard(n) is not None for n in members):
                continue
            found, top = (idents[members[0]], "story words", round(score, 3)), score
        return found

    def near(self, stories: Sequence[T], floor: float | None) -> tuple[T, float] | None:
        """``closest``: the story with the highest "shared words" score at or above
        ``floor`` that no guard refused and this hit does not join."""
        low = TUNING.related if floor is None else floor
        scores: dict[T, float] = {}
        refused: set[T] = set()
        for n, ident in enumerate(stories):
            ok, signal, score = self.verdicts[n]
            if ok or signal != "no match":
                refused.add(ident)
            elif score >= low and ident not in refused:  # a refused story stays refused
                if self.guard(n) is not None:
                    refused.add(ident)
                elif score > scores.get(ident, -1.0):
                    scores[ident] = score
        best: tuple[T, float] | None = None
        for ident, score in scores.items():
            if ident not in refused and (best is None or score > best[1]):
                best = (ident, score)
        return best


def best_match(
    hit: Features,
    candidates: Iterable[tuple[T, Features]],
    title_threshold: float | None = None,
) -> tuple[T, str, float] | None:
    """The candidate this hit joins: (its id, signal, score), or None for a new story.

    A similar title beats shared words; then the higher score; ties go to the earliest
    candidate given.
    """
    given = list(candidates)
    compared = _Compared(hit, [f for _, f in given], title_threshold)
    return compared.member([ident for ident, _ in given])


def story_score(hit: Features, members: Sequence[Features]) -> tuple[float, frozenset[str]]:
    """How much of the hit's title weight the story's combined evidence covers, and the
    words it shares with it. The combined evidence is the bounded, weighted union of the
    members' words (title and text): their ``story_union_words`` heaviest distinct stems."""
    union: dict[str, float] = {}
    for m in members:
        union.update(m.weights)  # a word weighs the same in every member
    words: Iterable[str] = union
    if len(union) > TUNING.story_union_words:
        words = frozenset(sorted(union, key=lambda w: (-union[w], w))[: TUNING.story_union_words])
    total = hit.title_weight
    if not total:
        return 0.0, frozenset()
    shared = frozenset(w for w in hit.title if w in words)
    return sum(map(hit.title_weights.__getitem__, shared)) / total, shared


def _shares_version(hit: Features, members: Sequence[Features]) -> bool:
    """Whether the hit names a version of a name (not a bare size) that a member names."""
    mine = {v for v in hit.versions if not v[0].startswith("#")}
    return any(mine & set(m.versions) for m in members)


def best_story(
    hit: Features,
    candidates: Iterable[tuple[T, Hashable, Features]],
    title_threshold: float | None = None,
) -> tuple[T, str, float] | None:
    """The candidate this hit joins, as ``best_match``, and else the story whose combined
    evidence covers it (signal "story words"): ``candidates`` are (id, story, features),
    the story being any key that the members of one story share.

    A hit that matches no single member still joins a story of at least
    ``story_min_members`` candidates when the union of their words covers at least
    ``story_min_score`` of its title weight with ``story_min_shared`` words, one of them a
    name, and no guard applies between it and *any* of them (guards stay pairwise, so
    one member about Llama 3 keeps a Llama 4 hit out). The story with the highest
    coverage wins; ties go to the earliest."""
    return choose(hit, candidates, title_threshold, hint=False)[0]


def closest(
    hit: Features,
    candidates: Iterable[tuple[T, Features]],
    title_threshold: float | None = None,
    floor: float | None = None,
) -> tuple[T, float] | None:
    """The story this hit comes close to without joining: (its id, score), or None.

    For a hit that ``best_match`` leaves alone. Candidates are given with their story's id
    (several may share one); the id with the highest "shared words" score at or above
    ``floor`` (default ``TUNING.related``) wins, ties to the earliest given. A story with a
    candidate that a guard refuses (versions differ, roles or names swapped, reversal) is
    never hinted, nor one this hit would join. Decides nothing about joining.
    """
    given = list(candidates)
    compared = _Compared(hit, [f for _, f in given], title_threshold)
    return compared.near([ident for ident, _ in given], floor)


def choose(
    hit: Features,
    candidates: Iterable[tuple[T, H, Features]],
    title_threshold: float | None = None,
    *,
    hint: bool = True,
) -> tuple[tuple[T, str, float] | None, tuple[H, float] | None]:
    """The whole story decision of a new hit, each candidate compared once: (what
    ``best_story`` joins, else the story ``closest`` hints at). ``candidates`` are (id,
    story, features) as for ``best_story``; the hint names a story (its key), computed
    only when the hit joins nothing (and ``hint``). The same answers as calling
    ``best_story`` and then ``closest(hit, [(story, features), ...])``
    (tests/matching/test_story.py pins it on the labelled pairs)."""
    given = list(candidates)
    idents = [ident for ident, _, _ in given]
    stories = [key for _, key, _ in given]
    compared = _Compared(hit, [f for _, _, f in given], title_threshold)
    found = compared.member(idents)
    if found is None:
        found = compared.story(idents, stories)
    if found is not None or not hint:
        return found, None
    return None, compared.near(stories, None)


def describe(signal: str, score: float) -> str:
    """How a member's reason is stored and shown: "similar title (93/100)", "shared words
    (0.62)", "same link"."""
    if signal == "similar title":
        return f"similar title ({score:.0f}/100)"
    if signal in ("shared words", "shared names", "story words"):
        return f"{signal} ({score:.2f})"
    return signal
