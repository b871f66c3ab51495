"""Text normalisation shared by ``dedup`` and ``story``: one copy of each step they both take.

* ``word_set``: a frozenset of the words of a literal list.
* ``undot_initialisms`` ("U.S." -> "US"), ``drop_possessives`` ("Men's" -> "Men") and
  ``drop_thousands_separators`` ("4,000" -> "4000"): steps both run, each in its own order,
  before tokenising.
* ``strip_wire_prefixes`` ("UPDATE 2-", "BREAKING: ") and ``strip_publisher_suffix``
  (" - Reuters", " | The Verge"): the headline cleanup both run before comparing titles.

What looks alike but is not the same stays with its user, on purpose (merging any of it
would change which items match, dedup or join a story):

* tokenising: ``query.words`` keeps apostrophes inside words, versions ("3.1") whole and
  combining marks, and glues hyphenated parts at match time; ``dedup`` uses rapidfuzz's
  ``default_process`` with dotted numbers kept whole; ``story`` its own token pattern;
* apostrophes: ``query`` knows ``' ‘ ’ ʼ ＇``, ``dedup`` and ``story`` drop a possessive after
  ``' ’ `````;
* inflections: ``query`` has a cut-down Porter step 1 (with 5b), ``story`` a lighter stemmer
  with irregular verbs and demonyms, ``dedup`` compares word pairs (``_variant``) instead of
  stemming.

Pure functions, no I/O, only ``re``.
"""

from __future__ import annotations

import re

__all__ = [
    "drop_possessives",
    "drop_thousands_separators",
    "strip_publisher_suffix",
    "strip_wire_prefixes",
    "undot_initialisms",
    "word_set",
]


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``, as a frozenset (for word lists)."""
    return frozenset(text.split())


# --- character-level steps ---------------------------------------------------------------

# Dotted initialisms: "U.S." == "US", "U.K." == "UK" (single letters only, so "Mt." stays).
_INITIALISM = re.compile(r"(?<![^\W\d_])((?:[^\W\d_]\.){2,})")
# Possessive "'s" is dropped ("Men's" == "Mens" -> "men"), so a lone "s" is a real token
# ("Model S").
_POSSESSIVE = re.compile(r"(?<=[^\W\d_])['’`]s\b")
# Thousands separators are dropped ("4,000" == "4000").
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def undot_initialisms(text: str) -> str:
    """ "U.S." -> "US", "A.I." -> "AI": dots out of runs of two or more single letters."""
    return _INITIALISM.sub(lambda m: m.group(1).replace(".", ""), text)


def drop_possessives(text: str) -> str:
    """ "OpenAI's" -> "OpenAI" ('s after a letter, with ' ’ or `)."""
    return _POSSESSIVE.sub("", text)


def drop_thousands_separators(text: str) -> str:
    """ "4,000" -> "4000" (a comma followed by exactly three digits)."""
    return _THOUSANDS.sub("", text)


# --- headline cleanup --------------------------------------------------------------------

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

# A publisher suffix is the last segment after " - ", " | ", " — " or " – ".
_SUFFIX_SEPARATOR = re.compile(r"\s+[-|—–]\s+")
_SUFFIX_MAX_WORDS = 5
_SUFFIX_MAX_CHARS = 40
# A last segment starting with one of these is part of the headline, not a publisher
# ("Quest 2 price hike is pure greed — and bad for VR").
_CONNECTIVES = word_set(
    "a an and as at but by for from if in into of on or over so than then to vs what "
    "when which while who why how with without yet"
)


def _wire_prefix(title: str) -> re.Match[str] | None:
    match = _PREFIX_SPACED.match(title)
    if match is None:
        match = _PREFIX_HYPHEN.match(title)
        if match is not None and not match.group(1).isupper():
            match = None
    return match


def strip_wire_prefixes(title: str) -> str:
    """The headline without its leading wire tags ("UPDATE 2-", "EXCLUSIVE-", "BREAKING:"),
    as long as something is left after them."""
    while (match := _wire_prefix(title)) is not None and title[match.end() :].strip():
        title = title[match.end() :]
    return title


def strip_publisher_suffix(title: str) -> str:
    """The headline without a short trailing publisher segment (" - Reuters"): at most 5
    words and 40 characters, no digits, not a question or exclamation, not starting with a
    connective, and shorter than what is left."""
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
