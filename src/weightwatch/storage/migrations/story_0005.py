"""A frozen copy of the story features that migration 0005 backfilled existing hits with.

Copied verbatim from ``weightwatch.matching.story.features`` and the ``dedup`` title-key
helpers it uses, as they were when migration 0005 was written, with the word weights
(``story_words_0005.txt``). Never edit it, and never import application code here: an old
database must migrate to exactly what 0005 produced, whatever ``matching`` becomes later.
(Only the parts ``features`` needs were copied; the tuned numbers it reads are below.)
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from rapidfuzz import utils

_WORDS_FILE = Path(__file__).with_name("story_words_0005.txt")


@dataclass(frozen=True)
class _Tuning:
    """The numbers of ``story.TUNING`` that ``features`` reads, as they were."""

    min_weight: float = 0.25
    name_weight: float = 0.5
    title_case_name_weight: float = 0.9
    number_weight: float = 0.8
    weak_number_weight: float = 0.3
    text_chars: int = 400
    max_text_words: int = 12


TUNING = _Tuning()


# --- dedup.title_key -------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --- title_key -------------------------------------------------------------------------

# Wire-service / format tags at the start of a headline. The optional number covers
# Reuters' "UPDATE 2-" and "WRAPUP 1-".
_WIRE_TAGS = (
    r"update[sd]?|exclusive|breaking(?:\s+news)?|refile|rpt|corrected|correction"
    r"|wrapup|brief|urgent|flash|developing|just\s+in|video|watch|live"
)
# "BREAKING: ...", "Update 2: ...", "EXCLUSIVE - ...", "UPDATE 1 — ...": any case.
_PREFIX_SPACED = re.compile(rf"^\s*(?:{_WIRE_TAGS})(?:\s*\d+)?\s*(?::|\s[-–—])\s*", re.IGNORECASE)
# Reuters style "UPDATE 1-Fed ...", "EXCLUSIVE-...": only when the tag is upper case, so
# ordinary hyphenated words ("Breaking-Bad", "Live-action") stay.
_PREFIX_HYPHEN = re.compile(rf"^\s*({_WIRE_TAGS})(?:\s*\d+)?-(?!\s)", re.IGNORECASE)

# Update markers at the end: Bloomberg's "(2)", Dow Jones' " -- 2nd Update".
_UPDATE_SUFFIX = re.compile(
    r"(?:\s*\(\d{1,2}\)|\s*--\s*(?:\d+(?:st|nd|rd|th)\s+)?update[sd]?)\s*$", re.IGNORECASE
)

# A publisher suffix is the last segment after " - ", " | ", " — " or " – ".
_SUFFIX_SEPARATOR = re.compile(r"\s+[-|—–]\s+")
_SUFFIX_MAX_WORDS = 5
_SUFFIX_MAX_CHARS = 40
# A last segment starting with one of these is part of the headline, not a publisher
# ("Quest 2 price hike is pure greed — and bad for VR").
_CONNECTIVES = _words(
    "a an and as at but by for from if in into of on or over so than then to vs what "
    "when which while who why how with without yet"
)

# Dotted initialisms: "U.S." == "US", "U.K." == "UK" (single letters only, so "Mt." stays).
_KEY_INITIALISM = re.compile(r"(?<![^\W\d_])((?:[^\W\d_]\.){2,})")
# "Trailer No. 3" == "Trailer #3" (and "no" stays a negation word elsewhere).
_NUMERO = re.compile(r"\bno\.\s*(?=\d)")
# Numbers keep their internal dots, so "3.3" != "3" and "17.1.1" != "17.1"; thousands
# separators are dropped ("4,000" == "4000").
_KEY_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
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
# Possessive "'s" is dropped ("Men's" == "Mens" -> "men"), so a lone "s" is a real token
# ("Model S").
_KEY_POSSESSIVE = re.compile(r"(?<=[^\W\d_])['’`]s\b")


def _wire_prefix(title: str) -> re.Match[str] | None:
    match = _PREFIX_SPACED.match(title)
    if match is None:
        match = _PREFIX_HYPHEN.match(title)
        if match is not None and not match.group(1).isupper():
            match = None
    return match


def _strip_wire_prefixes(title: str) -> str:
    while (match := _wire_prefix(title)) is not None and title[match.end() :].strip():
        title = title[match.end() :]
    return title


def _strip_publisher_suffix(title: str) -> str:
    separators = list(_SUFFIX_SEPARATOR.finditer(title))
    if not separators:
        return title
    last = separators[-1]
    head, suffix = title[: last.start()], title[last.end() :].strip()
    words = suffix.split()
    if (
        not words
        or len(words) > _SUFFIX_MAX_WORDS
        or len(suffix) > _SUFFIX_MAX_CHARS
        or any(ch.isdigit() for ch in suffix)
        or suffix.endswith(("?", "!"))
        or words[0].casefold() in _CONNECTIVES
        or len(head.split()) <= len(words)
    ):
        return title
    return head


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
    text = _strip_wire_prefixes(text)
    text = _UPDATE_SUFFIX.sub("", text)
    text = _strip_publisher_suffix(text)
    text = _UPDATE_SUFFIX.sub("", text)
    text = _KEY_INITIALISM.sub(lambda m: m.group(1).replace(".", ""), text)
    text = text.casefold()
    text = _NUMERO.sub("", text)
    text = _PER_CENT.sub("percent", text)
    text = _KEY_POSSESSIVE.sub("", text)
    text = _KEY_THOUSANDS.sub("", text)
    return " ".join(sorted(_tokens(text)))


# --- comparison ------------------------------------------------------------------------


# --- story.features ------------------------------------------------------------------

_STOPWORDS = _words(
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
_INITIALISM = re.compile(r"(?<![^\W\d_])((?:[^\W\d_]\.){2,})")
_POSSESSIVE = re.compile(r"(?<=[^\W\d_])['’`]s\b")
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])['’`](?=[^\W\d_])")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
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
    text = _INITIALISM.sub(lambda m: m.group(1).replace(".", ""), text)
    text = _POSSESSIVE.sub("", text)
    text = _APOSTROPHE.sub("", text)  # "won't" -> "wont", "Jerí's" handled above
    return _THOUSANDS.sub("", text)


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
        lines = _WORDS_FILE.read_text(encoding="utf-8").splitlines()
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
    """0..1: how much sharing this word says about being one story (rarer weighs more)."""
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

    key: str  # title_key(title)
    title: tuple[str, ...]  # distinctive stems of the title, in order, each once
    text: tuple[str, ...]  # distinctive stems of the text start that the title lacks
    names: frozenset[str]  # which stems are names: capitalised and rare, acronyms, numbers
    versions: tuple[tuple[str, str], ...]  # ("llama", "3"), ("v", "3.1"), ("b", "120")

    def index_words(self) -> list[str]:
        """The stems to put in the story index (title first, then text)."""
        return list(self.title) + list(self.text)

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


_MONTHS = _words(
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
    cleaned = _strip_publisher_suffix(_strip_wire_prefixes(title))
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
        key=title_key(title),
        title=tuple(ordered),
        text=tuple(text_words),
        names=frozenset(n for n in names if n in kept),
        versions=tuple(versions),
    )


# --- the decision ----------------------------------------------------------------------
