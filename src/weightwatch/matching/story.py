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
   * reversal: a close title that adds "not", "delays", "denies", ... (dedup's list).

3. ``best_match(hit, candidates)`` picks the story to join among earlier hits.

Every tuned number is in ``TUNING`` below, with the measured cases that fixed it; the
measurement is ``bench/dedup_quality.py`` and docs/dedup.md. No I/O here except reading the
packaged word list once.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import TypeVar

from rapidfuzz import fuzz

from weightwatch.matching import dedup
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
    "closest",
    "features",
    "same_story",
    "stems",
    "weight",
]

T = TypeVar("T")

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


def _scan(text: str) -> list[_Token]:
    text = _normalise(text)
    raw = _TOKEN.findall(text)
    letters = [w for w in raw if w.isalpha()]
    shouting = bool(letters) and sum(w.isupper() for w in letters) > 0.6 * len(letters)
    out = []
    for surface in raw:
        lower = surface.casefold()
        acronym = (
            not shouting and 2 <= len(surface) <= 5 and surface.isupper() and surface.isalpha()
        )
        capital = not shouting and any(ch.isupper() for ch in surface)
        if acronym:
            stem = lower  # "WHO" and "US" are names, not the stopwords "who" and "us"
        elif lower in _STOPWORDS:
            continue
        else:
            stem = _stem(lower)
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


@lru_cache(maxsize=1 << 16)  # bounded: new names keep coming in a long-running daemon
def rarity(stem: str) -> float:
    """0..1: log-scaled share of background feeds *not* using the word (1: none uses it)."""
    feeds, table = _word_table()
    df = table.get(stem, 0)
    return math.log((feeds + 1) / (df + 1)) / math.log(feeds + 1)


@lru_cache(maxsize=1 << 16)
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


@dataclass(frozen=True)
class Features:
    """What the story decision knows about one hit (``features``; stored as JSON)."""

    key: str  # dedup.title_key(title)
    title: tuple[str, ...]  # distinctive stems of the title, in order, each once
    text: tuple[str, ...]  # distinctive stems of the text start that the title lacks
    names: frozenset[str]  # which stems are names: capitalised and rare, acronyms, numbers
    versions: tuple[tuple[str, str], ...]  # ("llama", "3"), ("v", "3.1"), ("b", "120")

    @cached_property
    def words(self) -> frozenset[str]:
        return frozenset(self.title) | frozenset(self.text)

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
        )


def _versions(tokens: Sequence[_Token]) -> list[tuple[str, str]]:
    """Versioned names: a capitalised word followed by a number ("Llama 3", "Grok 2.5"),
    a glued one ("V3.1", "Qwen2.5", "GPT4"), a size ("27B", "120b": unit "b")."""
    out: list[tuple[str, str]] = []
    for i, tok in enumerate(tokens):
        m = _GLUED.fullmatch(tok.stem)
        if m is None:
            continue
        prefix, number, suffix = m.groups()
        if prefix:
            out.append((prefix, number + suffix))
        elif suffix and len(suffix) <= 2:
            out.append(("#" + suffix, number))
        elif i > 0 and tokens[i - 1].capital and tokens[i - 1].stem.isalpha():
            out.append((tokens[i - 1].stem, number))
    return out


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
        if any(ch.isdigit() for ch in tok.stem):
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
    versions = sorted(
        {v for v in _versions(title_tokens) + _versions(text_tokens) if v[0] not in excluded}
    )
    return Features(
        key=dedup.title_key(title),
        title=tuple(ordered),
        text=tuple(text_words),
        names=frozenset(n for n in names if n in kept),
        versions=tuple(versions),
    )


# --- the decision ----------------------------------------------------------------------


def _weight_of(words: Iterable[str]) -> float:
    return sum(weight(w) or 0.5 for w in words)  # acronyms of common words ("US") count half


def _version_conflict(a: Features, b: Features) -> bool:
    mine: dict[str, set[str]] = {}
    for name, version in a.versions:
        mine.setdefault(name, set()).add(version)
    theirs: dict[str, set[str]] = {}
    for name, version in b.versions:
        theirs.setdefault(name, set()).add(version)
    return any(mine[n].isdisjoint(theirs[n]) for n in mine.keys() & theirs.keys())


def _entity_swap(a: Features, b: Features) -> bool:
    """Parallel titles where each side has a name the other replaced ("Nvidia / AMD shares
    jump after TSMC earnings", "EU / UK regulators approve ...")."""
    if not a.key or not b.key:
        return False
    if dedup.similarity(a.key, b.key) < TUNING.swap_similarity:
        return False
    lost, gained = dedup.replaced_words(a.key, b.key)
    lost_names = [w for w in lost if _stem(w) in a.names and _stem(w) not in b.words]
    gained_names = [w for w in gained if _stem(w) in b.names and _stem(w) not in a.words]
    # One side's replacement being a name is enough: "Meta / Cohere to release Qwen 4
    # weights" must stay apart although "Meta" is too common a word to count as a name.
    return bool(lost and gained) and (bool(lost_names) or bool(gained_names))


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


def _reversal(a: Features, b: Features) -> bool:
    if not a.key or not b.key:
        return False
    if not dedup._reversal_differs(a.key, b.key):
        return False
    return dedup.similarity(a.key, b.key) >= TUNING.reversal_similarity


def guard(a: Features, b: Features) -> str | None:
    """Why two hits cannot be one story, or None."""
    if _version_conflict(a, b):
        return "versions differ"
    if _role_swap(a, b):
        return "roles swapped"
    if _entity_swap(a, b):
        return "names swapped"
    if _reversal(a, b):
        return "reversal"
    return None


def shared_score(a: Features, b: Features) -> tuple[float, frozenset[str]]:
    """Mean of the two coverages (weight of each title's words that the other hit has)."""
    a_words, b_words = a.words, b.words
    ab = frozenset(w for w in a.title if w in b_words)
    ba = frozenset(w for w in b.title if w in a_words)
    a_total, b_total = _weight_of(a.title), _weight_of(b.title)
    if not a_total or not b_total:
        return 0.0, frozenset()
    score = (_weight_of(ab) / a_total + _weight_of(ba) / b_total) / 2
    return score, ab | ba


def same_story(
    a: Features, b: Features, title_threshold: float | None = None
) -> tuple[bool, str, float]:
    """Whether two hits are one event: (decision, signal, score).

    ``signal`` is "similar title" (score 0..100, dedup's rule at ``title_threshold``,
    default ``TUNING.title_threshold``) or "shared words" (score 0..1). When the decision
    is False it is "no match" or the guard that refused ("versions differ", "roles
    swapped", "names swapped", "reversal").
    """
    threshold = TUNING.title_threshold if title_threshold is None else title_threshold
    if (
        a.key
        and b.key
        and (a.key == b.key or fuzz.ratio(a.key, b.key, score_cutoff=threshold))
        and dedup.is_near_duplicate(a.key, b.key, threshold)
    ):
        why = guard(a, b)
        if why is not None:
            return False, why, 0.0
        return True, "similar title", dedup.similarity(a.key, b.key)
    score, shared = shared_score(a, b)
    if (
        score < TUNING.min_score
        or len(shared) < TUNING.min_shared
        or len(shared & (a.names | b.names)) < TUNING.min_shared_names
        or _weight_of(shared) < TUNING.min_shared_weight
    ):
        return False, "no match", round(score, 3)
    why = guard(a, b)
    if why is not None:
        return False, why, round(score, 3)
    return True, "shared words", round(score, 3)


def best_match(
    hit: Features,
    candidates: Iterable[tuple[T, Features]],
    title_threshold: float | None = None,
) -> tuple[T, str, float] | None:
    """The candidate this hit joins: (its id, signal, score), or None for a new story.

    A similar title beats shared words; then the higher score; ties go to the earliest
    candidate given.
    """
    best: tuple[T, str, float] | None = None
    rank: tuple[int, float] = (-1, 0.0)
    for ident, other in candidates:
        ok, signal, score = same_story(hit, other, title_threshold)
        if not ok:
            continue
        mine = (1 if signal == "similar title" else 0, score)
        if mine > rank:
            best, rank = (ident, signal, score), mine
    return best


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
    low = TUNING.related if floor is None else floor
    scores: dict[T, float] = {}
    refused: set[T] = set()
    for ident, other in candidates:
        ok, signal, score = same_story(hit, other, title_threshold)
        if ok or signal != "no match":
            refused.add(ident)
        elif score >= low:
            if guard(hit, other) is not None:
                refused.add(ident)
            elif score > scores.get(ident, -1.0):
                scores[ident] = score
    best: tuple[T, float] | None = None
    for ident, score in scores.items():
        if ident not in refused and (best is None or score > best[1]):
            best = (ident, score)
    return best


def describe(signal: str, score: float) -> str:
    """How a member's reason is stored and shown: "similar title (93/100)", "shared words
    (0.62)", "same link"."""
    if signal == "similar title":
        return f"similar title ({score:.0f}/100)"
    if signal == "shared words":
        return f"shared words ({score:.2f})"
    return signal
