"""Rule queries: a small boolean language, compiled once, matched against prepared items.

Language
--------
A query is made of terms and operators::

    OpenAI AND ("release weights" OR open-weight) AND NOT "Weight Watchers"
    release NEAR/3 weights AND title:(llama OR gemma) -/gpt ?4o?/

* A **term** is a bare word (``open-weight``, ``GPT-4``, ``OpenAI's``) or a
  ``"quoted phrase"`` (straight or curly double quotes). A bare word that the tokeniser
  cuts into several words (``gpt-oss-120b``) is matched like a phrase.
* ``AND``, ``OR``, ``NOT`` and ``NEAR/n`` are operators only when written in **uppercase**;
  ``and``, ``or``, ``not``, ``near`` (any other case) are ordinary words that must appear in
  the item. This keeps titles pasted as queries ("Pride and Prejudice") meaning what they
  say. A bare uppercase ``NEAR`` without ``/n`` is an error; write ``"NEAR"`` for the word.
* ``-word``, ``-"phrase"`` and ``-(...)`` are short for ``NOT``; the ``-`` must touch its term.
* Terms next to each other without an operator are joined by ``AND``.
* Precedence: ``NEAR`` binds tightest, then ``NOT``, then ``AND``, then ``OR``; parentheses
  group. ``NOT a NEAR/3 b`` is ``NOT (a NEAR/3 b)``; ``a NEAR/3 b AND c`` is
  ``(a NEAR/3 b) AND c``; ``a NEAR/2 b NEAR/2 c`` is ``(a NEAR/2 b) NEAR/2 c``.

Proximity
~~~~~~~~~
* ``a NEAR/n b`` matches when a and b occur, **in either order**, with at most ``n`` other
  words between them (``NEAR/0``: side by side), in the same field and the same sentence
  (the sentence breaks of phrases, below). ``release NEAR/3 weights`` matches "released the
  model weights" (2 words between) and "weights were released" (1), not "release of the
  new open model weights" (5). A side of ``NEAR`` is a word, a phrase, a regex, a
  ``NEAR`` or a parenthesised ``OR`` of those (``(release OR publish) NEAR/3 weights``);
  ``AND`` and ``NOT`` inside a side are errors. Its span runs from the first word of one
  side to the last of the other; the distance reported is the words in between.
* ``"a b"~n`` is a **sloppy phrase**: the words of the phrase **in the order written**,
  with at most ``n`` other words inserted between them in total, within one sentence.
  ``"release weights"~3`` matches "released the model weights" but not "weights were
  released" (use ``NEAR`` for any order). ``~n`` needs a quoted phrase of two or more words.
* A rule's ``proximity = n`` (config) gives ``~n`` to every quoted phrase of two or more
  words that the rule looks for and that has no ``~`` of its own (``Query.with_proximity``).
  Phrases under ``NOT`` (and in ``none = [...]``) stay exact: loosening what a rule excludes
  would silently drop alerts. The order is kept because it carries meaning ("Weight
  Watchers" is not "watchers of weight"); ``NEAR`` is the any-order tool.
* ``n`` is at most ``MAX_DISTANCE`` (50).

Fields
~~~~~~
``title:word``, ``text:"a phrase"``, ``title:/regex/`` and ``title:(a OR b NEAR/2 c)`` look
in one field only (the prefix is distributed over the group: ``title:(a -b)`` is
``title:a AND NOT title:b``). ``-title:word`` excludes items with the word in the title.
The prefix is ``title:`` or ``text:`` in any case and must touch its term; other
``something:`` prefixes are ordinary words (``re:Invent``). Without a prefix a term looks in
both fields (never a phrase running from one into the other).

Regular expressions
~~~~~~~~~~~~~~~~~~~
``/pattern/`` is a regular expression (Python syntax, the ``regex`` module), case-insensitive
(with full case folding: ``/straße/`` finds "STRASSE"), searched in the **normalised text**
of each field: the tokens below, lowercased, one space between tokens and a line break at a
sentence break. So hyphens and punctuation are spaces (``/gpt ?4o?/`` finds "GPT-4",
"gpt4o", "GPT 4o"), apostrophes are gone (``/openais?/``) and ``\\n`` is never inside a
sentence. A match must cover **whole tokens**: start at the beginning of one and end at the
end of one (write ``\\w*`` to reach inside words: ``/\\w*former/``). The closing ``/`` must be
followed by a space, a ``)`` or the end of the query; otherwise the term is an ordinary word
(``/r/LocalLLaMA`` is the words "r localllama"). A pattern that does not compile raises
``QueryError`` at the column of the problem; one that matches the empty string is refused.
Catastrophic patterns are contained three ways: the ``regex`` module avoids much of the
backtracking blow-up that ``re`` suffers; each search runs with a timeout of
``REGEX_TIMEOUT`` (20 ms) per field, after which the term counts as not matched for that
item (``explain`` says so); and at most ``REGEX_TEXT_LIMIT`` characters of a field are
searched. Regexes are not stemmed, not typo-tolerant and cost a search per item: prefer words.

Errors
~~~~~~
Errors raise ``QueryError(message, column)`` with a 1-based column: ``empty query``,
``unterminated quote``, ``empty phrase``, ``unbalanced parenthesis`` (at the unmatched
``(`` or the stray ``)``), ``empty parentheses``, ``AND needs a term on both sides``
(also ``OR``, ``NEAR/3``), ``NOT needs a term after it`` (also ``"-"``), ``"&" has no letters
or digits``, ``NEAR needs a distance, as in NEAR/3``, ``NEAR/3 can only join words, phrases,
regexes and OR-groups of them``, ``the distance can be at most 50``, ``"~" needs a number of
words``, ``~3 needs a phrase of two or more words``, ``title: needs a term right after it``,
``text: inside title: can never match``, ``empty regex``, the ``regex`` module's own message
(``missing ) at position 5`` becomes ``bad regex: missing )`` at that character) and
``regex matches empty text``.

``from_lists`` builds the same kind of query from ``any`` (OR), ``all`` (AND) and ``none``
(AND NOT) lists whose entries are terms written without quotes; ``all_of`` ANDs queries.
A query made only of negations is allowed: it matches every item without those terms.

Normalisation and tokens
------------------------
Query terms and items go through the same steps, so they always agree:

* Tokens are runs of letters, digits and combining marks. Apostrophes (``'`` ``’`` ``‘``
  ``ʼ``) inside a word are dropped (``don't`` = ``dont``) and a final possessive ``'s`` is
  ignored (``OpenAI's`` = ``OpenAI``). A ``.`` between two digits stays inside the token,
  so versions are whole tokens: ``3.1`` matches ``3.1`` but not ``31``, ``3 1`` or
  ``3.10``; ``v0.2`` is one token. Every other character separates tokens:
  ``gpt-oss-120b`` is ``gpt oss 120b``; ``C++`` is just ``c``; ``U.S.`` is ``u s``.
* Each token is NFKC-normalised and casefolded (fullwidth ``ＧＰＴ`` = ``gpt``); plain ASCII
  tokens take a fast path (``lower``). Accents are kept (``café`` ≠ ``cafe``).
* Hyphen, space and nothing are the same inside a term, in both directions:
  ``open-source`` = ``open source`` = ``opensource``, ``GPT-4`` = ``GPT 4`` = ``gpt4``.
  In an item, tokens are only glued together across whitespace, hyphens and dashes
  (``‐ ‑ ‒ – — ― −`` and fullwidth forms), underscores and soft hyphens, and single
  letters across a ``.`` (``U.S.`` = ``US``, ``A.I.`` = ``AI``).
* Words match whole tokens only: ``AI`` does not match ``said`` or ``OpenAI``, and
  ``GPT-4`` does not match ``GPT-40`` or ``GPT-4.5``. The words of a phrase must be
  consecutive tokens; punctuation between them is ignored, except that a phrase does not
  run across a sentence break (``.``, ``!``, ``?``, ``;``, ``:`` or ``…`` followed by space,
  or a blank line) unless the query has one at the same place (``"U.S. Army"``). A ``.``
  right after a single letter ends an abbreviation, not a sentence (``U.S. Army``,
  ``J. R. R. Tolkien``).
* Case does not matter, with one exception for **acronyms that are also common words**: a
  query word of 2 or 3 letters written in capitals whose lowercase form is a common English
  word (``US``, ``IT``, ``WHO``, ``CAN``, ... ``_CASED_WORDS``) matches only tokens written
  in capitals (``US``, ``U.S.``; not "tell us"). Write it in lowercase to match any case.
  Other acronyms (``AI``, ``GPT``, ``LLM``) match in any case (``gpt-oss``, ``llm``).
* Title and text are separate: a phrase never runs from one into the other, but the terms
  of an ``AND`` may be found one in the title and another in the text.

Stemming
--------
A light English stemmer (a cut-down Porter step 1, inflections only) is applied to every
ASCII, all-letter token of 4 letters or more, the same way for query and item. Words of 3
letters or fewer, tokens with digits and non-ASCII words are never stemmed (``AI``, ``is``,
``new`` stay). A full stemmer (Snowball's English, as in ``snowballstemmer`` or
``PyStemmer``) was measured and rejected: it also strips derivational suffixes, which merges
words an alert must keep apart (united/unit, canvas/canva, generative/generation/generator,
operator/operate, transformer/transform, organization/organize, university → "universiti"),
and every one of these would be a false alert.

* Plurals: ``-sses`` → ``-ss``; ``-ies`` → ``-i`` (``studies`` = ``study``), or ``-y``/``-ie``
  after one or two letters (``tries`` = ``try``, ``ties`` = ``tie``); a final ``-s`` is
  dropped unless the word ends in ``-ss`` (``models`` = ``model``, ``GPUs`` = ``GPU``).
* ``-ed``, ``-ing`` (``-ied`` → ``-i``): dropped when what is left has a vowel and at
  least 3 letters; then ``-at``/``-bl``/``-iz`` get their ``e`` back, a doubled final
  consonant other than l/s/z is undoubled (``stopped`` = ``stop``) and a short
  consonant-vowel-consonant stem gets its ``e`` back (``hoped`` = ``hope``, but ``hopped``
  = ``hop``). ``-eed`` becomes ``-ee`` only after a syllable (``agreed``; not ``need``).
* The plural step runs first, then the ``-ed``/``-ing`` one (``buildings`` = ``build``);
  then a final ``y`` after a consonant becomes ``i`` and a final ``e`` is dropped unless
  that leaves a short consonant-vowel-consonant word: ``release``, ``releases``,
  ``released`` and ``releasing`` all become ``releas``, but ``note`` does not become ``not``.
  Last, a final ``ll`` after two syllables loses an ``l`` (Porter's step 5b), so British and
  American spellings meet: ``model`` = ``models`` = ``modeling`` = ``modelling`` =
  ``modelled``, ``install`` = ``instal``.
* A few words are left alone: those whose stripped form is a different common word
  (``news``, ``lens``, ``canvas``, ``does``, ``series``, ``species``, ``always``,
  ``united``, ``evening``, ``meaning``, ``wedding``) and those whose inflection means
  something else in the news this tool watches: ``weighting``, ``weighted`` (statistics,
  not model weights; ``weights`` = ``weight`` still).

Typos
-----
An **unquoted** query word of 6 letters or more (letters only) also matches an item word
that is a likely typo of it. The comparison is between stems (``released`` and
``relaesed`` compare as ``releas``/``relaes``) with rapidfuzz (``OSA`` distance for swapped
letters, ``Indel`` distance for missing and extra ones). Both must:

* be letters only and have a stem of 5 letters or more (``gpt4`` never matches ``gpt5``;
  ``AI`` never matches ``Al``);
* share the first and the last letter: ``weights`` does not match ``heights``, ``weighty``,
  ``weighs`` or ``weigths``; ``OpenAI`` does not match ``OpenAL``; ``memory`` (stem
  ``memori``) does not match ``memoir``;
* differ by what the length of the query word's stem allows: up to 7 letters, two
  adjacent letters swapped (``wieghts``, ``Gemnii``, ``relaesed`` for ``released``); 8 or
  9 letters, also one missing or one extra letter (``Deepsek``, ``Anthropc``); 10 letters
  or more, up to two missing or extra letters, or one swap, or one substituted letter
  (``Perplexty``, ``Perplixity``, ``JavaSript``). Never a substituted letter below 10
  letters (``weights``/``Wright``, ``Claude``/``cloud``), never two
  (``connection``/``collection``, ``production``/``protection``).

The limits come from running words over the real-feed corpus: with one edit of any kind
for every word of 6 letters, ``OpenAI`` matched "OpenAPI" (dozens of items), ``launch``
"lunch" and ``Mistral`` "mistrial"; with two edits from 10 letters as written,
``Kubernetes`` (stem ``kubernet``) matched "Kubert"; with two edits of any kind,
``connection`` matched "collection", "convention" and "correction". Short words have many
real neighbours a letter away, long ones few. With these limits, what the 400 most
frequent long words of that corpus match by typo is nearly all real typos ("diferent",
"enviroment", "managment") or the same word in another language ("plattform",
"informationen"). ``weights`` never matches ``weighting`` (three edits, and a kept word).

Quoting a word or phrase turns typo tolerance off for it (``"Gemini"`` does not match
"Gemnii"); regexes have none. ``explain`` reports a typo hit with its similarity score
(``rapidfuzz`` normalised OSA similarity of the stems, 0-100).

Explain
-------
``Match`` carries, besides ``terms`` and ``spans``, ``details``: a ``TermReport`` per matched
term, with a ``Hit`` per place it matched: field, character span, the original text and
HOW it matched (``exact``, ``stem``, ``hyphen-join``, ``typo`` with ``score``, ``regex``,
``near`` with ``distance`` and the ``parts`` that matched on each side, ``proximity`` with
``distance``). ``explain(query, doc)`` returns a ``TermReport`` for **every** term of the
query, matched or not, negated ones included (``negated=True``), each ``NEAR`` with reports
of its sides (``parts``). ``str()`` of a report reads like::

    release NEAR/3 weights: matched 'released the model weights' (title 0-26, near, distance 2)
    weights: matched 'wieghts' (text 4-11, typo, score 83.3)
    NOT "Weight Watchers": not matched

Performance
-----------
``prepare`` tokenises an item once (one regular-expression scan; normalising, stemming and
the typo bucket are cached per distinct word) and builds, with C-level helpers, dicts from
each stem, from each token plus the next token's first letter, and from each typo bucket
(first letter, last letter, length of a stem) to where it first occurs. Offsets are worked
out only when a span is reported, and what separates two tokens only where a candidate is
checked. Each term keeps the few keys that can start a match (its typo-tolerant first word
also the buckets its typos can be in), so a term absent from an item costs three C-level
set tests per field; only candidate positions are checked word by word, and a typo
distance is computed (and cached) only for the stems of a bucket that matched. ``NEAR``
checks both sides like terms and pairs their positions only when both are present. A
regex builds the field's normalised text once per item and runs one search per field.
``bench/match_cost.py`` measures all this over real feeds.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import accumulate, chain, pairwise
from typing import ClassVar, Literal, cast

import regex
from rapidfuzz.distance import OSA, Indel

from weightwatch.errors import QueryError

__all__ = [
    "MAX_DISTANCE",
    "REGEX_TEXT_LIMIT",
    "REGEX_TIMEOUT",
    "Document",
    "Hit",
    "Match",
    "Query",
    "Span",
    "TermReport",
    "all_of",
    "explain",
    "from_lists",
    "parse",
    "prepare",
    "snippet",
]

MAX_DISTANCE = 50  # NEAR/n, "phrase"~n and a rule's proximity: at most this many words between
REGEX_TIMEOUT = 0.02  # seconds one regex search of one field may take
REGEX_TEXT_LIMIT = 25_000  # characters of a field's normalised text that a regex searches
# Unquoted query words this long or longer tolerate a typo: two swapped letters; when their
# stem has TYPO_ONE_EDIT_LETTERS, also a missing or an extra letter; TYPO_TWO_EDITS_LETTERS,
# two missing or extra letters, or one substituted letter. See "Typos".
TYPO_MIN_LETTERS = 6
TYPO_ONE_EDIT_LETTERS = 8
TYPO_TWO_EDITS_LETTERS = 10
_SWAP, _ONE_EDIT, _TWO_EDITS = 1, 2, 3  # typo tolerance levels, per query word
_LENGTH_SLACK = {_SWAP: 0, _ONE_EDIT: 1, _TWO_EDITS: 2}  # how much longer or shorter

FieldName = Literal["title", "text"]
How = Literal["exact", "stem", "hyphen-join", "typo", "regex", "near", "proximity"]

# --------------------------------------------------------------------------- characters

_HYPHENS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_APOSTROPHES = "'\u2018\u2019\u02bc\uff07"
_DOUBLE_QUOTES = '"\u201c\u201d\u201e\u201f\uff02'
_INVISIBLE_JOINERS = "\u00ad\u200b\u200c\u200d\u2060"


def _mark_class() -> str:
    """A regex class body holding every combining mark of the Basic Multilingual Plane."""
    ranges: list[tuple[int, int]] = []
    for cp in range(0x300, 0x10000):
        if unicodedata.category(chr(cp))[0] == "M":
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(f"\\u{a:04x}-\\u{b:04x}" if a != b else f"\\u{a:04x}" for a, b in ranges)


# A run of letters and digits, with combining marks (never first) kept inside it. Marks
# are not \w, so a token can only start at [^\W_] and a separator is just [\W_]*.
_RUN = rf"[^\W_]+(?:[{_mark_class()}]+[^\W_]*)*"
_TOKEN_RE = re.compile(
    rf"{_RUN}(?:(?:(?<=\d)[.\uff0e](?=\d)|[{re.escape(_APOSTROPHES)}](?=[^\W_])){_RUN})*"
)
_PAIR_RE = re.compile(rf"([\W_]*)({_TOKEN_RE.pattern})")  # (separator, token)
_SOFT_SEP_RE = re.compile(rf"[\s_{re.escape(_HYPHENS + _INVISIBLE_JOINERS)}]*")
_STOP_RE = re.compile(r"[.!?;:…]\s|[。！？；：]|\n\s*\n")
_QUOTES_TO_SPACES = str.maketrans({c: " " for c in _DOUBLE_QUOTES})
_APOSTROPHE_MAP = str.maketrans({c: "'" for c in _APOSTROPHES})
_LEX_MAP = str.maketrans(
    {**{c: "-" for c in _HYPHENS}, **{c: '"' for c in _DOUBLE_QUOTES}, "（": "(", "）": ")"}
)

_JOIN, _NEAR, _BREAK = 0, 1, 2  # what separates two tokens: glue-able, punctuation, sentence


@lru_cache(maxsize=4096)
def _gap(sep: str) -> int:
    if _SOFT_SEP_RE.fullmatch(sep):
        return _BREAK if sep.count("\n") > 1 else _JOIN
    return _BREAK if _STOP_RE.search(sep) else _NEAR


# Short common English words that are also acronyms: written in capitals in a query, they
# only match tokens written in capitals ("US" is not "us"). See "Normalisation and tokens".
# Not AND, OR, NOT: written in capitals and quoted, they mean the plain word.
_CASED_TEXT = """
    am an as at be by do go he if in is it me my no of oh on so to up us we
    all any are art bad big bit but can car cut day did due end few fit for fun get
    got had has her him his hot how its let lot man may new nor now off old one our
    out own pay per put ran red run sad saw say see set she sit six tax ten the too top
    two use via war was way who why win won yes yet you
"""
_CASED_WORDS = frozenset(_CASED_TEXT.split())

# ----------------------------------------------------------------------------- stemming

_VOWELS = frozenset("aeiou")
_KEEP = frozenset(
    {"news", "lens", "canvas", "does", "series", "species", "always"}
    | {"united", "evening", "meaning", "wedding"}
    | {"weighting", "weighted"}  # statistics, not model weights
)


def _cv(word: str) -> str:
    """'v'/'c' per letter, with Porter's rule that y after a consonant is a vowel."""
    out = []
    prev_vowel = False
    for i, ch in enumerate(word):
        vowel = ch in _VOWELS or (ch == "y" and i > 0 and not prev_vowel)
        out.append("v" if vowel else "c")
        prev_vowel = vowel
    return "".join(out)


def _m(word: str) -> int:
    """Porter's measure: how many vowel-run-then-consonant-run sequences the word has."""
    cv = _cv(word)
    collapsed = "".join(ch for i, ch in enumerate(cv) if i == 0 or cv[i - 1] != ch)
    return collapsed.count("vc")


def _cvc(word: str) -> bool:
    """Ends consonant-vowel-consonant, the last not w, x or y (hop, not hoop or box)."""
    return len(word) >= 3 and _cv(word)[-3:] == "cvc" and word[-1] not in "wxy"


def _restore(stem: str) -> str:
    """After -ed/-ing: put back an e, or undouble a consonant (Porter step 1b)."""
    if stem.endswith(("at", "bl", "iz")):
        return stem + "e"
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in _VOWELS and stem[-1] not in "lsz":
        return stem[:-1]
    if _m(stem) == 1 and _cvc(stem):
        return stem + "e"
    return stem


def _strip_plural(w: str) -> str:
    if w.endswith("sses"):
        return w[:-2]
    if w.endswith("ies"):
        rest = w[:-3]
        if len(rest) >= 3:
            return rest + "i"
        return rest + ("y" if len(rest) == 2 else "ie")
    if w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def _strip_verb(w: str) -> str:
    if len(w) <= 3:
        return w
    if w.endswith("ied"):
        rest = w[:-3]
        if len(rest) >= 3:
            return rest + "i"
        return rest + ("y" if len(rest) == 2 else "ie")
    if w.endswith("eed"):
        return w[:-1] if _m(w[:-3]) > 0 else w
    for suffix in ("ed", "ing"):
        if w.endswith(suffix):
            rest = w[: -len(suffix)]
            if len(rest) >= 3 and "v" in _cv(rest):
                return _restore(rest)
    return w


@lru_cache(maxsize=1 << 15)
def _stem(word: str) -> str:
    if len(word) <= 3 or word in _KEEP or not (word.isascii() and word.isalpha()):
        return word
    w = _strip_plural(word)
    if w in _KEEP:
        return w
    w = _strip_verb(w)
    if w in _KEEP:
        return w
    if len(w) > 3 and w[-1] == "y" and w[-2] not in _VOWELS and "v" in _cv(w[:-1]):
        w = w[:-1] + "i"
    elif w.endswith("e") and len(w) > 3:
        base = w[:-1]
        m = _m(base)
        if m > 1 or (m == 1 and not _cvc(base)):
            w = base
    if w.endswith("ll") and _m(w) > 1:  # Porter 5b: modelling = modeling, install = instal
        w = w[:-1]
    return w


# ----------------------------------------------------------------------------- tokens


def _typo_bucket(stem: str) -> str:
    """Where a stem is filed for typo look-ups: first letter, last letter, length ("we6" for
    ``weight``); "" when it can be no typo (digits, fewer than 5 letters)."""
    return f"{stem[0]}{stem[-1]}{len(stem)}" if len(stem) >= 5 and stem.isalpha() else ""


def _typo_buckets(stem: str, level: int) -> frozenset[str]:
    """The buckets where a typo of a query stem can be: the lengths its level allows."""
    slack = _LENGTH_SLACK[level]
    sizes = range(max(5, len(stem) - slack), len(stem) + slack + 1)
    return frozenset(f"{stem[0]}{stem[-1]}{size}" for size in sizes)


_Info = tuple[str, str, int, str]  # form, stem, possessive to leave out, typo bucket


@lru_cache(maxsize=1 << 16)
def _word(raw: str) -> _Info | None:
    """(normalised form, stem, characters of possessive to leave out of the span, typo
    bucket of the stem)."""
    if raw.isascii():
        norm = raw.lower()
    else:
        norm = unicodedata.normalize("NFKC", raw)
        norm = unicodedata.normalize("NFKC", norm.casefold()).translate(_APOSTROPHE_MAP)
    trim = 0
    if "'" in norm:
        if norm.endswith("'s") and raw[-2] in _APOSTROPHES:
            norm = norm[:-2]
            trim = 2
        norm = norm.replace("'", "")
    if not norm.isalnum():
        norm = "".join(
            c for c in norm if c.isalnum() or c == "." or unicodedata.category(c)[0] == "M"
        )
    if not norm:
        return None
    stem = _stem(norm)
    return norm, stem, trim, _typo_bucket(stem)


def _scan(s: str) -> tuple[list[tuple[str, str]], list[_Info]]:
    """(separator, token) pairs and (form, stem, trim) per token; tokens that normalise to
    nothing are folded into the next separator, so lengths still add up to offsets."""
    pairs: list[tuple[str, str]] = _PAIR_RE.findall(s)
    infos = list(map(_word, [raw for _, raw in pairs]))
    if None in infos:
        kept_pairs: list[tuple[str, str]] = []
        kept_infos: list[_Info] = []
        carry = ""
        for (sep, raw), info in zip(pairs, infos, strict=True):
            if info is None:
                carry += sep + raw
            else:
                kept_pairs.append((carry + sep, raw))
                kept_infos.append(info)
                carry = ""
        return kept_pairs, kept_infos
    return pairs, cast(list[_Info], infos)


def _offsets(pairs: list[tuple[str, str]], infos: list[_Info]) -> tuple[list[int], list[int]]:
    """Start and end offsets of each token."""
    offsets = list(accumulate(map(len, chain.from_iterable(pairs))))
    starts, ends = offsets[0::2], offsets[1::2]
    if any(map(operator.itemgetter(2), infos)):  # possessives: leave the 's out of spans
        ends = [end - info[2] for end, info in zip(ends, infos, strict=True)]
    return starts, ends


def _abbreviation(sep: str, before: str) -> bool:
    """Whether a sentence-break separator after the token ``before`` only ends an
    abbreviation: a full stop right after a single letter ("U.S. Army", "J. R. Tolkien")."""
    return (
        sep[0] == "."
        and not sep[1:].strip()
        and sep.count("\n") < 2
        and len(before) == 1
        and before.isalpha()
    )


def _gaps(pairs: list[tuple[str, str]], infos: list[_Info]) -> list[int]:
    """What separates each token from the one before it (_JOIN, _NEAR or _BREAK)."""
    gap = _gap
    gaps = [_JOIN if sep == " " else gap(sep) for sep, _ in pairs]
    if gaps:
        gaps[0] = _BREAK
        i = 0
        try:
            while True:  # list.index finds the few breaks in C
                i = gaps.index(_BREAK, i + 1)
                if _abbreviation(pairs[i][0], infos[i - 1][0]):
                    gaps[i] = _NEAR
        except ValueError:
            pass
    return gaps


def _positions(tokens: list[str], first: int, key: str) -> list[int]:
    """Every position of key in tokens, given its first one (list.index runs in C)."""
    out = [first]
    try:
        while True:
            out.append(tokens.index(key, out[-1] + 1))
    except ValueError:
        return out


@lru_cache(maxsize=1 << 15)
def _typo(q: str, t: str, level: int) -> float:
    """Similarity (0-100) when item stem t is a likely typo of query stem q, else 0.

    Both letters only, stems of 5 letters or more, the same first and last letter; then by
    the query word's level: two adjacent letters swapped (_SWAP); or also one missing or
    extra letter (_ONE_EDIT); or up to two missing or extra letters, or one swap, or one
    substituted letter (_TWO_EDITS). Anything more, even two substituted letters in a long
    word, mostly makes another real word (launch/lunch, OpenAI/OpenAPI, connection/
    collection, production/protection).
    """
    if (
        q == t
        or len(t) < 5
        or abs(len(q) - len(t)) > _LENGTH_SLACK[level]
        or q[0] != t[0]
        or not t.isalpha()
        or q[-1] != t[-1]
    ):
        return 0.0
    if level == _TWO_EDITS:
        ok = Indel.distance(q, t, score_cutoff=2) <= 2  # a swap or a substitution counts 2
    elif len(q) == len(t):  # one swap of adjacent letters
        ok = sorted(q) == sorted(t) and OSA.distance(q, t, score_cutoff=1) == 1
    else:  # one letter missing or extra
        ok = level == _ONE_EDIT and Indel.distance(q, t, score_cutoff=1) == 1
    return round(OSA.normalized_similarity(q, t) * 100, 1) if ok else 0.0


class _Field:
    """One tokenised field: forms and stems, where each stem, glued pair and typo bucket
    first occurs.

    ``glue[i]`` is token i followed by the first character of token i+1: the key that finds
    an item splitting a query word ("open source" for ``opensource``). ``typo_keys[i]`` is
    token i's typo bucket ("" when it can be no typo). Offsets are only needed to report a
    span and gaps to check a candidate, so they are computed on first use (gaps one by one);
    so are the stems of each typo bucket and the normalised text that regexes search.
    """

    __slots__ = (
        "_gaps",
        "_offsets",
        "_pairs",
        "_regex_text",
        "_typo_stems",
        "glue",
        "glue_first",
        "glue_keys",
        "infos",
        "name",
        "norms",
        "source",
        "stem_first",
        "stem_keys",
        "stems",
        "typo_first",
        "typo_keys",
        "typo_view",
    )

    def __init__(self, name: FieldName, s: str) -> None:
        self.name: FieldName = name
        self.source = s
        self._pairs, self.infos = _scan(s)
        self._gaps: list[int] | None = None
        self._offsets: tuple[list[int], list[int]] | None = None
        self._regex_text: str | None = None
        norms = self.norms = [info[0] for info in self.infos]
        stems = self.stems = [info[1] for info in self.infos]
        n = len(norms)
        self.stem_first = dict(zip(reversed(stems), range(n - 1, -1, -1), strict=True))
        self.glue = list(map(operator.add, norms, map(operator.itemgetter(0), norms[1:])))
        self.glue_first = dict(zip(reversed(self.glue), range(n - 2, -1, -1), strict=True))
        self.stem_keys = self.stem_first.keys()
        self.glue_keys = self.glue_first.keys()
        self.typo_keys = list(map(operator.itemgetter(3), self.infos))
        self.typo_first = dict(zip(reversed(self.typo_keys), range(n - 1, -1, -1), strict=True))
        self.typo_view = self.typo_first.keys()
        self._typo_stems: dict[str, tuple[str, ...]] | None = None

    def gaps(self) -> list[int]:
        """What comes before each token (_JOIN, _NEAR, _BREAK), all of them, computed once
        (for regexes; matching words only looks at a few with ``gap``)."""
        if self._gaps is None:
            self._gaps = _gaps(self._pairs, self.infos)
        return self._gaps

    def gap(self, i: int) -> int:
        """What comes before token i: _JOIN, _NEAR or _BREAK (the first token: _BREAK)."""
        if self._gaps is not None:
            return self._gaps[i]
        if i == 0:
            return _BREAK
        sep = self._pairs[i][0]
        if sep == " ":
            return _JOIN
        gap = _gap(sep)
        if gap == _BREAK and _abbreviation(sep, self.norms[i - 1]):
            return _NEAR
        return gap

    def breaks(self, a: int, b: int) -> bool:
        """Whether a sentence break comes before any of tokens a..b-1."""
        gap = self.gap
        return any(gap(i) == _BREAK for i in range(a, b))

    def offsets(self) -> tuple[list[int], list[int]]:
        """Where each token starts and ends in the original string, computed once."""
        if self._offsets is None:
            self._offsets = _offsets(self._pairs, self.infos)
        return self._offsets

    def stem_positions(self, key: str) -> list[int]:
        return _positions(self.stems, self.stem_first[key], key)

    def glue_positions(self, key: str) -> list[int]:
        return _positions(self.glue, self.glue_first[key], key)

    def typo_stems(self, key: str) -> tuple[str, ...]:
        """The distinct stems filed under a typo bucket (worked out once per bucket)."""
        found = self._typo_stems
        if found is None:
            found = self._typo_stems = {}
        stems = found.get(key)
        if stems is None:
            positions = _positions(self.typo_keys, self.typo_first[key], key)
            stems = found[key] = tuple(dict.fromkeys(self.stems[i] for i in positions))
        return stems

    def regex_text(self) -> str:
        """The normalised text: one space between tokens, a line break at a sentence break.
        Token i starts after the i-th separator, so offsets map back by counting them."""
        if self._regex_text is None:
            norms = self.norms
            gaps = self.gaps()
            cuts = [0]
            try:
                while True:
                    cuts.append(gaps.index(_BREAK, cuts[-1] + 1))
            except ValueError:
                cuts.append(len(norms))
            self._regex_text = "\n".join(" ".join(norms[a:b]) for a, b in pairwise(cuts) if b > a)
        return self._regex_text

    def upper(self, a: int, b: int) -> bool:
        """Whether tokens a..b-1 are written in capitals (possessive 's aside)."""
        for (_, raw), info in zip(self._pairs[a:b], self.infos[a:b], strict=True):
            core = raw[: len(raw) - info[2]]
            if not core.isupper():
                return False
        return True

    def dotted(self, j: int) -> bool:
        """Whether tokens j-1 and j are single letters with a "." between (U.S.)."""
        return self._pairs[j][0] == "." and len(self.norms[j]) == 1 and len(self.norms[j - 1]) == 1

    def excerpt(self, a: int, b: int) -> tuple[int, int, str]:
        """Character span and original text of tokens a..b-1."""
        starts, ends = self.offsets()
        start, end = starts[a], ends[b - 1]
        return start, end, self.source[start:end]


class Document:
    """An item's title and text, normalised and tokenised once by ``prepare``."""

    __slots__ = ("_fields", "text", "title")

    def __init__(self, title: str, text: str) -> None:
        self.title = title
        self.text = text
        self._fields: tuple[_Field, ...] = (_Field("title", title), _Field("text", text))

    def __repr__(self) -> str:
        return f"Document(title={self.title!r}, text={len(self.text)} characters)"


def prepare(title: str, text: str) -> Document:
    """Normalise and tokenise an item once; the result is reused for every rule."""
    return Document(title, text)


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Span:
    """Where a term matched: character offsets into the original title or text."""

    field: FieldName
    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    """One place where a term matched, and how.

    ``how`` is ``exact`` (same form), ``stem`` (an inflection: released/release),
    ``hyphen-join`` (open source/opensource, U.S./US), ``typo`` (``score``: similarity 0-100
    of the worst word), ``regex``, ``near`` (``distance``: words between the two sides,
    ``parts``: the hit of each side, in query order) or ``proximity`` (a sloppy phrase with
    ``distance`` words inserted). A sloppy phrase matched word for word is reported by its
    words (``exact``, ``stem``...) with ``distance`` 0.
    """

    field: FieldName
    start: int
    end: int
    text: str  # the original characters from start to end
    how: How
    score: float | None = None
    distance: int | None = None
    parts: tuple[Hit, ...] = ()

    @property
    def span(self) -> Span:
        return Span(self.field, self.start, self.end)

    def __str__(self) -> str:
        extra = [f"{self.field} {self.start}-{self.end}", self.how]
        if self.score is not None:
            extra.append(f"score {self.score:g}")
        if self.distance is not None:
            extra.append(f"distance {self.distance}")
        shown = " ".join(self.text.split())
        return f"{shown!r} ({', '.join(extra)})"


@dataclass(frozen=True)
class TermReport:
    """What one term of a query found in an item (see ``explain`` and ``Match.details``).

    ``term`` is the term in canonical query syntax (``"release weights"~3``,
    ``title:weights``, ``release NEAR/3 weights``, ``/gpt ?4o?/``); ``negated`` is true for a
    term under ``NOT``; ``parts`` holds, for ``NEAR``, the reports of its sides' terms;
    ``note`` says when a regex search gave up (and so counted as not matched).
    """

    term: str
    matched: bool
    hits: tuple[Hit, ...] = ()
    negated: bool = False
    parts: tuple[TermReport, ...] = ()
    note: str = ""

    def __str__(self) -> str:
        name = f"NOT {self.term}" if self.negated else self.term
        if self.matched:
            found = "; ".join(str(hit) for hit in self.hits)
            line = f"{name}: matched {found}"
        else:
            line = f"{name}: not matched"
        return f"{line} ({self.note})" if self.note else line


@dataclass(frozen=True)
class Match:
    """The positive terms that matched (as written, query order) and where they are.

    ``details`` has a ``TermReport`` per matched term, in the order of ``terms``, saying
    where and how each matched; it is left out of comparisons.
    """

    terms: tuple[str, ...]
    spans: tuple[Span, ...]
    details: tuple[TermReport, ...] = field(default=(), compare=False)


class _Collector:
    """What ``Query.match`` gathers from the nodes that made an item match."""

    __slots__ = ("details", "spans", "terms")

    def __init__(self) -> None:
        self.terms: list[str] = []
        self.spans: list[Span] = []
        self.details: list[TermReport] = []

    def add(self, label: str, term: str, hits: tuple[Hit, ...]) -> None:
        self.spans.extend(hit.span for hit in hits)
        if label not in self.terms:
            self.terms.append(label)
            self.details.append(TermReport(term, True, hits))


# ----------------------------------------------------------------------------- nodes

_OR, _AND, _NOT, _NEAR_OP, _ATOM = 1, 2, 3, 4, 5  # precedence, for printing
_KEYWORDS = frozenset({"AND", "OR", "NOT"})
_FIELD_RE = re.compile(r"(title|text):", re.IGNORECASE)
_NEAR_RE = re.compile(r"NEAR/(\d+)")
_BOTH: tuple[FieldName, ...] = ("title", "text")
_SELECT = {("title", "text"): slice(0, 2), ("title",): slice(0, 1), ("text",): slice(1, 2)}

_Ranges = list[tuple[int, int]]  # token ranges [start, end) in one field


def _regex_close(text: str, i: int) -> int:
    """For a "/" at text[i] that starts a term: the index of the closing "/" when the term
    is a regex (the "/" is followed by a space, a ")" or the end), else -1."""
    j, n, in_class = i + 1, len(text), False
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "/":
            return j if j + 1 == n or text[j + 1].isspace() or text[j + 1] == ")" else -1
        j += 1
    return -1


def _bare_ok(display: str) -> bool:
    """Whether a term's text reads back as the same single word without quotes."""
    text = display.translate(_LEX_MAP)
    if text in _KEYWORDS or text == "NEAR" or text.startswith("NEAR/"):
        return False
    if text.startswith("-") or _FIELD_RE.match(text):
        return False
    if text.startswith("/") and _regex_close(text, 0) >= 0:
        return False
    return not any(c.isspace() or c in '()"' for c in text)


@dataclass(frozen=True)
class _Term:
    display: str
    words: tuple[str, ...]
    stems: tuple[str, ...]
    gaps: tuple[int, ...]
    typos: tuple[int, ...]  # per word: its typo tolerance level (0: none)
    cased: tuple[bool, ...]  # per word: an acronym that only matches tokens in capitals
    quoted: bool = False  # written in quotes: no typos; a phrase of 2+ words takes ~n
    slop: int | None = None  # "phrase"~n: words that may be inserted, in total
    where: tuple[FieldName, ...] = _BOTH
    # Where a match can start: the first word's stem, or the stem of the first words glued
    # (looked up among token stems); or a prefix of the first word of 2 characters or more
    # (looked up among _Field.glue, for an item that splits the word); or, for a typo, the
    # first word's typo buckets (looked up in _Field.typo_first).
    stem_keys: frozenset[str] = field(init=False, compare=False, repr=False)
    glue_keys: frozenset[str] = field(init=False, compare=False, repr=False)
    typo_keys: frozenset[str] = field(init=False, compare=False, repr=False)
    simple: bool = field(init=False, compare=False, repr=False)  # one word, any case
    sel: slice = field(init=False, compare=False, repr=False)

    prec: ClassVar[int] = _ATOM

    def __post_init__(self) -> None:
        stem_keys = {self.stems[0]}
        joined = self.words[0]
        for word in self.words[1:]:
            joined += word
            stem_keys.add(_stem(joined))
        first = self.words[0]
        put = object.__setattr__
        put(self, "stem_keys", frozenset(stem_keys))
        put(self, "glue_keys", frozenset(first[:i] for i in range(2, len(first) + 1)))
        typo_keys = _typo_buckets(self.stems[0], self.typos[0]) if self.typos[0] else frozenset()
        put(self, "typo_keys", typo_keys)
        put(self, "simple", len(self.words) == 1 and not self.cased[0])
        put(self, "sel", _SELECT[self.where])

    # ---- the query tree interface

    def test(self, doc: Document) -> bool:
        for f in doc._fields[self.sel]:
            if (
                f.stem_keys.isdisjoint(self.stem_keys)
                and f.glue_keys.isdisjoint(self.glue_keys)
                and f.typo_view.isdisjoint(self.typo_keys)
            ):
                continue
            if self._find(f, first=True):
                return True
        return False

    def collect(self, doc: Document, out: _Collector) -> None:
        hits, _ = self.unit_hits(doc)
        if hits:
            out.add(self.label(), self.render(), hits)

    def positive(self) -> list[str]:
        return [self.label()]

    def label(self) -> str:
        """How Query.terms and Match.terms name it: as written, with its field if any."""
        return self.display if self.where == _BOTH else self.render()

    def render(self) -> str:
        if self.quoted or not _bare_ok(self.display):
            body = '"' + " ".join(self.display.translate(_QUOTES_TO_SPACES).split()) + '"'
        else:
            body = self.display
        if self.slop is not None:
            body += f"~{self.slop}"
        return body if self.where == _BOTH else f"{self.where[0]}:{body}"

    # ---- positions, for NEAR and reports

    def field_test(self, f: _Field) -> bool:
        return f.name in self.where and bool(self.field_hits(f, first=True))

    def field_hits(self, f: _Field, first: bool = False) -> _Ranges:
        if f.name not in self.where or (
            f.stem_keys.isdisjoint(self.stem_keys)
            and f.glue_keys.isdisjoint(self.glue_keys)
            and f.typo_view.isdisjoint(self.typo_keys)
        ):
            return []
        return self._find(f, first)

    def unit_hits(self, doc: Document) -> tuple[tuple[Hit, ...], str]:
        hits = [
            self.describe(f, start, end)
            for f in doc._fields[self.sel]
            for start, end in self.field_hits(f)
        ]
        return tuple(hits), ""

    def describe(self, f: _Field, start: int, end: int) -> Hit:
        trace: list[tuple[int, int, str, float]] = []
        self._align(f, 0, start, self.slop or 0, trace)
        a, b, text = f.excerpt(start, end)
        kinds = {kind for _, _, kind, _ in trace}
        skipped = sum(j - i for i, j, kind, _ in trace if kind == "skip")
        scores = [score for _, _, kind, score in trace if kind == "typo"]
        how: How
        if skipped:
            how = "proximity"
        elif scores:
            how = "typo"
        elif "hyphen-join" in kinds:
            how = "hyphen-join"
        elif "stem" in kinds:
            how = "stem"
        else:
            how = "exact"
        distance = skipped if self.slop is not None else None
        return Hit(f.name, a, b, text, how, min(scores) if scores else None, distance)

    # ---- matching

    def _find(self, f: _Field, first: bool) -> _Ranges:
        """Token ranges [start, end) where the term occurs in a field."""
        hits: _Ranges = []
        candidates: set[int] = set()
        if self.simple:  # the common case: one word, found by its stem
            stem = self.stems[0]
            at = f.stem_first.get(stem)
            if at is not None:
                if first:
                    return [(at, at + 1)]
                hits = [(i, i + 1) for i in f.stem_positions(stem)]
        else:
            for key in f.stem_keys & self.stem_keys:
                candidates.update(f.stem_positions(key))
        for key in f.glue_keys & self.glue_keys:
            candidates.update(f.glue_positions(key))
        if self.typo_keys:
            stem, level = self.stems[0], self.typos[0]
            for key in f.typo_view & self.typo_keys:
                for other in f.typo_stems(key):
                    if _typo(stem, other, level):
                        candidates.update(f.stem_positions(other))
        candidates.difference_update(start for start, _ in hits)
        slop = self.slop or 0
        for start in sorted(candidates):
            end = self._align(f, 0, start, slop, None)
            if end >= 0:
                hits.append((start, end))
                if first:
                    return hits
        hits.sort()
        return hits

    def _next(
        self,
        f: _Field,
        qi: int,
        ti: int,
        slop: int,
        trace: list[tuple[int, int, str, float]] | None,
    ) -> int:
        """Match words[qi:] from token ti, which follows a matched token, skipping at most
        slop tokens (not across a sentence break); the end or -1."""
        if qi == len(self.words):
            return ti
        n = len(f.norms)
        gap = f.gap
        for skip in range(slop + 1):
            at = ti + skip
            if at >= n or (gap(at) == _BREAK and (skip or self.gaps[qi] != _BREAK)):
                return -1
            end = self._align(f, qi, at, slop - skip, trace)
            if end >= 0:
                if skip and trace is not None:
                    trace.append((ti, at, "skip", 0.0))
                return end
        return -1

    def _align(
        self,
        f: _Field,
        qi: int,
        ti: int,
        slop: int,
        trace: list[tuple[int, int, str, float]] | None,
    ) -> int:
        """Match words[qi:] starting exactly at token ti; the end token index or -1."""
        words, stems, cased = self.words, self.stems, self.cased
        norms = f.norms
        stem = f.stems[ti]
        if stem == stems[qi]:
            if not cased[qi] or f.upper(ti, ti + 1):
                end = self._next(f, qi + 1, ti + 1, slop, trace)
                if end >= 0:
                    if trace is not None:
                        kind = "exact" if norms[ti] == words[qi] else "stem"
                        trace.append((ti, ti + 1, kind, 0.0))
                    return end
        elif self.typos[qi]:
            score = _typo(stems[qi], stem, self.typos[qi])
            if score:
                end = self._next(f, qi + 1, ti + 1, slop, trace)
                if end >= 0:
                    if trace is not None:
                        trace.append((ti, ti + 1, "typo", score))
                    return end
        w, t = words[qi], norms[ti]
        if len(t) < len(w) and w.startswith(t):  # the item splits a query word: open source
            acc, j = t, ti + 1
            while j < len(norms) and (f.gap(j) == _JOIN or f.dotted(j)):
                acc += norms[j]
                j += 1
                if _stem(acc) == stems[qi] and (not cased[qi] or f.upper(ti, j)):
                    end = self._next(f, qi + 1, j, slop, trace)
                    if end >= 0:
                        if trace is not None:
                            trace.append((ti, j, "hyphen-join", 0.0))
                        return end
                if len(acc) >= len(w) or not w.startswith(acc):
                    break
        elif len(t) > len(w) and t.startswith(w):  # the item glues query words: opensource
            acc = w
            for k in range(qi + 1, len(words)):
                acc += words[k]
                if _stem(acc) == f.stems[ti] and (
                    not any(cased[qi : k + 1]) or f.upper(ti, ti + 1)
                ):
                    end = self._next(f, k + 1, ti + 1, slop, trace)
                    if end >= 0:
                        if trace is not None:
                            trace.append((ti, ti + 1, "hyphen-join", 0.0))
                        return end
                if not t.startswith(acc):
                    break
        return -1


def _make_term(
    display: str, column: int, quoted: bool = False, slop: int | None = None, slop_column: int = 0
) -> _Term:
    """Compile one term; display is what the user wrote (phrases: whitespace collapsed)."""
    pairs, infos = _scan(display)
    norms = tuple(info[0] for info in infos)
    stems = tuple(info[1] for info in infos)
    gaps = tuple(_gaps(pairs, infos))
    if not norms:
        raise QueryError(f'"{display}" has no letters or digits', column)
    if slop is not None and len(norms) < 2:
        raise QueryError(f"~{slop} needs a phrase of two or more words", slop_column)
    tolerant = tuple(
        (
            _TWO_EDITS
            if len(stem) >= TYPO_TWO_EDITS_LETTERS
            else _ONE_EDIT
            if len(stem) >= TYPO_ONE_EDIT_LETTERS
            else _SWAP
        )
        if len(norm) >= TYPO_MIN_LETTERS and norm.isalpha() and len(stem) >= 5
        else 0
        for norm, stem in zip(norms, stems, strict=True)
    )
    # Quotes only change a term with two or more words or a typo-tolerant one; dropping
    # them otherwise keeps '"ai"' and 'ai' the same query.
    quoted = quoted and (len(norms) > 1 or any(tolerant))
    cased = tuple(
        2 <= len(core) <= 3
        and core.isascii()
        and core.isalpha()
        and core.isupper()
        and info[0] in _CASED_WORDS
        for core, info in (
            (raw[: len(raw) - info[2]], info) for (_, raw), info in zip(pairs, infos, strict=True)
        )
    )
    typos = (0,) * len(norms) if quoted else tolerant
    return _Term(display, norms, stems, gaps, typos, cased, quoted, slop)


@dataclass(frozen=True)
class _Regex:
    pattern: str
    compiled: regex.Pattern[str] = field(compare=False, repr=False)
    where: tuple[FieldName, ...] = _BOTH

    prec: ClassVar[int] = _ATOM

    @property
    def sel(self) -> slice:
        return _SELECT[self.where]

    def test(self, doc: Document) -> bool:
        return any(self._search(f, True)[0] for f in doc._fields[self.sel])

    def collect(self, doc: Document, out: _Collector) -> None:
        hits, _ = self.unit_hits(doc)
        if hits:
            out.add(self.label(), self.render(), hits)

    def positive(self) -> list[str]:
        return [self.label()]

    def label(self) -> str:
        return self.render()

    def render(self) -> str:
        body = f"/{self.pattern}/"
        return body if self.where == _BOTH else f"{self.where[0]}:{body}"

    def field_test(self, f: _Field) -> bool:
        return f.name in self.where and bool(self._search(f, True)[0])

    def field_hits(self, f: _Field, first: bool = False) -> _Ranges:
        return self._search(f, first)[0] if f.name in self.where else []

    def unit_hits(self, doc: Document) -> tuple[tuple[Hit, ...], str]:
        hits: list[Hit] = []
        gave_up = False
        for f in doc._fields[self.sel]:
            ranges, timed_out = self._search(f, False)
            hits.extend(self.describe(f, start, end) for start, end in ranges)
            gave_up = gave_up or timed_out
        note = f"the regex search gave up after {REGEX_TIMEOUT * 1000:g} ms" if gave_up else ""
        return tuple(hits), note

    def describe(self, f: _Field, start: int, end: int) -> Hit:
        a, b, text = f.excerpt(start, end)
        return Hit(f.name, a, b, text, "regex")

    def _search(self, f: _Field, first: bool) -> tuple[_Ranges, bool]:
        """Token ranges matched in a field, and whether a search timed out."""
        text = f.regex_text()
        end = len(text)
        if end > REGEX_TEXT_LIMIT:  # cut at a token boundary
            end = max(text.rfind(" ", 0, REGEX_TEXT_LIMIT), text.rfind("\n", 0, REGEX_TEXT_LIMIT))
        hits: _Ranges = []
        search = self.compiled.search
        pos = counted = token = 0
        try:
            while pos < end:
                m = search(text, pos, end, timeout=REGEX_TIMEOUT)
                if m is None:
                    break
                s, e = m.span()
                if e > s:  # one separator before each token but the first: count them
                    token += text.count(" ", counted, s) + text.count("\n", counted, s)
                    last = token + text.count(" ", s, e) + text.count("\n", s, e)
                    hits.append((token, last + 1))
                    counted = s
                    if first:
                        break
                    pos = e
                else:
                    pos = s + 1
        except TimeoutError:
            return hits, True
        return hits, False


_REGEX_FLAGS = regex.IGNORECASE | regex.FULLCASE


def _regex_problem(exc: Exception) -> tuple[str, int]:
    """The regex module's message without "at position N", and N (0 when it has none)."""
    message = str(getattr(exc, "msg", None) or exc)
    position = getattr(exc, "pos", None)
    return message, position if isinstance(position, int) else 0


def _make_regex(pattern: str, column: int) -> _Regex:
    """Compile a /regex/ term; column is where its opening "/" is."""
    try:
        user = regex.compile(pattern, _REGEX_FLAGS)
    except regex.error as exc:
        message, position = _regex_problem(exc)
        raise QueryError(f"bad regex: {message}", column + 1 + position) from None
    if user.fullmatch("") is not None:
        raise QueryError("regex matches empty text", column)
    try:  # match whole tokens: start after a space (or at the start), end before one
        compiled = regex.compile(rf"(?<!\S)(?:{pattern})(?!\S)", _REGEX_FLAGS)
    except regex.error as exc:  # pragma: no cover - e.g. a (?x) comment eating the ")"
        raise QueryError(f"bad regex: {_regex_problem(exc)[0]}", column) from None
    return _Regex(pattern, compiled)


@dataclass(frozen=True)
class _Near:
    left: _Node
    right: _Node
    distance: int

    prec: ClassVar[int] = _NEAR_OP

    def test(self, doc: Document) -> bool:
        return any(self.field_test(f) for f in doc._fields)

    def collect(self, doc: Document, out: _Collector) -> None:
        hits, _ = self.unit_hits(doc)
        if hits:
            out.add(self.label(), self.render(), hits)

    def positive(self) -> list[str]:
        return [self.label()]

    def label(self) -> str:
        return self.render()

    def render(self) -> str:
        left, right = self.left.render(), self.right.render()
        if self.left.prec < _NEAR_OP:
            left = f"({left})"
        if self.right.prec <= _NEAR_OP:
            right = f"({right})"
        return f"{left} NEAR/{self.distance} {right}"

    def field_test(self, f: _Field) -> bool:
        return self.left.field_test(f) and self.right.field_test(f) and bool(self._pairs(f, True))

    def field_hits(self, f: _Field, first: bool = False) -> _Ranges:
        return [(start, end) for start, end, _, _, _ in self._pairs(f, first)]

    def unit_hits(self, doc: Document) -> tuple[tuple[Hit, ...], str]:
        hits = [
            self._hit(f, pair) for f in doc._fields if self.field_test(f) for pair in self._pairs(f)
        ]
        return tuple(hits), ""

    def describe(self, f: _Field, start: int, end: int) -> Hit:
        for pair in self._pairs(f):
            if pair[:2] == (start, end):
                return self._hit(f, pair)
        raise AssertionError("describe() of a range that NEAR did not find")  # pragma: no cover

    def _hit(self, f: _Field, pair: tuple[int, int, tuple[int, int], tuple[int, int], int]) -> Hit:
        start, end, left, right, between = pair
        a, b, text = f.excerpt(start, end)
        parts = (self.left.describe(f, *left), self.right.describe(f, *right))
        return Hit(f.name, a, b, text, "near", None, between, parts)

    def _pairs(
        self, f: _Field, first: bool = False
    ) -> list[tuple[int, int, tuple[int, int], tuple[int, int], int]]:
        """(start, end, left range, right range, words between) for each left hit that has
        a right hit near enough (the closest one), in the same sentence, not overlapping."""
        lefts = self.left.field_hits(f)
        if not lefts:
            return []
        rights = sorted(self.right.field_hits(f))
        if not rights:
            return []
        n = self.distance
        starts = [s for s, _ in rights]
        longest = max(e - s for s, e in rights)
        out: list[tuple[int, int, tuple[int, int], tuple[int, int], int]] = []
        seen: set[tuple[int, int]] = set()
        for s1, e1 in lefts:
            best: tuple[int, int, int] | None = None
            i = bisect_left(starts, e1)  # the closest right hit after this left one
            if i < len(rights) and starts[i] - e1 <= n and not f.breaks(e1, starts[i] + 1):
                best = (starts[i] - e1, *rights[i])
            i = bisect_left(starts, s1 - n - longest)  # right hits ending before it
            while i < len(rights) and starts[i] < s1:
                s2, e2 = rights[i]
                i += 1
                between = s1 - e2
                if (
                    0 <= between <= n
                    and (best is None or between < best[0])
                    and not f.breaks(e2, s1 + 1)
                ):
                    best = (between, s2, e2)
            if best is not None:
                between, s2, e2 = best
                key = (min(s1, s2), max(e1, e2))
                if key not in seen:
                    seen.add(key)
                    out.append((*key, (s1, e1), (s2, e2), between))
                    if first:
                        break
        out.sort()
        return out


def _positional(node: _Node) -> bool:
    """Whether a node can be a side of NEAR: it has positions in a field."""
    if isinstance(node, _Or):
        return all(_positional(child) for child in node.children)
    return isinstance(node, _Term | _Regex | _Near)


@dataclass(frozen=True)
class _Not:
    child: _Node
    prec: ClassVar[int] = _NOT

    def test(self, doc: Document) -> bool:
        return not self.child.test(doc)

    def collect(self, doc: Document, out: _Collector) -> None:
        return None  # a negation never contributes terms or spans

    def positive(self) -> list[str]:
        return []

    def render(self) -> str:
        inner = self.child.render()
        return "NOT " + (inner if self.child.prec >= _NOT else f"({inner})")

    def field_test(self, f: _Field) -> bool:  # pragma: no cover - never a side of NEAR
        raise AssertionError("NOT has no positions")

    def field_hits(self, f: _Field, first: bool = False) -> _Ranges:  # pragma: no cover
        raise AssertionError("NOT has no positions")

    def describe(self, f: _Field, start: int, end: int) -> Hit:  # pragma: no cover
        raise AssertionError("NOT has no positions")


@dataclass(frozen=True)
class _And:
    children: tuple[_Node, ...]
    prec: ClassVar[int] = _AND

    def test(self, doc: Document) -> bool:
        for child in self.children:  # noqa: SIM110 - a plain loop: no generator per test
            if not child.test(doc):
                return False
        return True

    def collect(self, doc: Document, out: _Collector) -> None:
        for child in self.children:
            child.collect(doc, out)

    def positive(self) -> list[str]:
        return [t for child in self.children for t in child.positive()]

    def render(self) -> str:
        parts = (c.render() if c.prec > _OR else f"({c.render()})" for c in self.children)
        return " AND ".join(parts)

    def field_test(self, f: _Field) -> bool:  # pragma: no cover - never a side of NEAR
        raise AssertionError("AND has no positions")

    def field_hits(self, f: _Field, first: bool = False) -> _Ranges:  # pragma: no cover
        raise AssertionError("AND has no positions")

    def describe(self, f: _Field, start: int, end: int) -> Hit:  # pragma: no cover
        raise AssertionError("AND has no positions")


@dataclass(frozen=True)
class _Or:
    children: tuple[_Node, ...]
    prec: ClassVar[int] = _OR

    def test(self, doc: Document) -> bool:
        for child in self.children:  # noqa: SIM110 - a plain loop: no generator per test
            if child.test(doc):
                return True
        return False

    def collect(self, doc: Document, out: _Collector) -> None:
        for child in self.children:
            if child.test(doc):
                child.collect(doc, out)

    def positive(self) -> list[str]:
        return [t for child in self.children for t in child.positive()]

    def render(self) -> str:
        return " OR ".join(c.render() for c in self.children)

    # As a side of NEAR (every child then has positions):

    def field_test(self, f: _Field) -> bool:
        return any(child.field_test(f) for child in self.children)

    def field_hits(self, f: _Field, first: bool = False) -> _Ranges:
        found: set[tuple[int, int]] = set()
        for child in self.children:
            found.update(child.field_hits(f))
        return sorted(found)

    def describe(self, f: _Field, start: int, end: int) -> Hit:
        for child in self.children:
            if (start, end) in child.field_hits(f):
                return child.describe(f, start, end)
        raise AssertionError("describe() of a range that no branch found")  # pragma: no cover


_Node = _Term | _Regex | _Near | _Not | _And | _Or
_Unit = _Term | _Regex | _Near  # what explain and Match.details report on


def _and(nodes: Sequence[_Node]) -> _Node:
    flat: list[_Node] = []
    for node in nodes:
        flat.extend(node.children if isinstance(node, _And) else (node,))
    return flat[0] if len(flat) == 1 else _And(tuple(flat))


def _or(nodes: Sequence[_Node]) -> _Node:
    flat: list[_Node] = []
    for node in nodes:
        flat.extend(node.children if isinstance(node, _Or) else (node,))
    return flat[0] if len(flat) == 1 else _Or(tuple(flat))


def _scope(node: _Node, name: FieldName, column: int) -> _Node:
    """Restrict every term under node to one field (title:(...))."""
    if isinstance(node, _Term | _Regex):
        if name not in node.where:
            raise QueryError(f"{node.where[0]}: inside {name}: can never match", column)
        return replace(node, where=(name,))
    if isinstance(node, _Near):
        return _Near(
            _scope(node.left, name, column), _scope(node.right, name, column), node.distance
        )
    if isinstance(node, _Not):
        return _Not(_scope(node.child, name, column))
    return type(node)(tuple(_scope(child, name, column) for child in node.children))


def _loosen(node: _Node, words: int, negated: bool) -> _Node:
    """Give ~words to every quoted phrase of two or more words not under NOT."""
    if isinstance(node, _Term):
        if not negated and node.quoted and len(node.words) > 1 and node.slop is None:
            return replace(node, slop=words)
        return node
    if isinstance(node, _Regex):
        return node
    if isinstance(node, _Near):
        left, right = _loosen(node.left, words, negated), _loosen(node.right, words, negated)
        return _Near(left, right, node.distance)
    if isinstance(node, _Not):
        return _Not(_loosen(node.child, words, not negated))
    return type(node)(tuple(_loosen(child, words, negated) for child in node.children))


def _units(node: _Node) -> list[_Unit]:
    """The reportable terms of a side of NEAR, in query order."""
    if isinstance(node, _Or):
        return [unit for child in node.children for unit in _units(child)]
    return [node] if isinstance(node, _Term | _Regex | _Near) else []


def _report(unit: _Unit, doc: Document, negated: bool) -> TermReport:
    hits, note = unit.unit_hits(doc)
    parts: tuple[TermReport, ...] = ()
    if isinstance(unit, _Near):
        sides = _units(unit.left) + _units(unit.right)
        parts = tuple(_report(side, doc, negated) for side in sides)
    return TermReport(unit.render(), bool(hits), hits, negated, parts, note)


def _walk(node: _Node, negated: bool, out: list[tuple[_Unit, bool]]) -> None:
    if isinstance(node, _Not):
        _walk(node.child, not negated, out)
    elif isinstance(node, _And | _Or):
        for child in node.children:
            _walk(child, negated, out)
    elif (node, negated) not in out:
        out.append((node, negated))


# ----------------------------------------------------------------------------- Query


class Query:
    """A compiled rule query. Build it with ``parse``, ``from_lists`` or ``all_of``."""

    __slots__ = ("_root", "terms")

    def __init__(self, root: _Node) -> None:
        self._root = root
        self.terms: tuple[str, ...] = tuple(dict.fromkeys(root.positive()))

    def match(self, doc: Document) -> Match | None:
        """The terms and spans that make this item match, or None when it does not."""
        if not self._root.test(doc):
            return None
        out = _Collector()
        self._root.collect(doc, out)
        order = {"title": 0, "text": 1}
        spans = sorted(set(out.spans), key=lambda s: (order[s.field], s.start, s.end))
        return Match(tuple(out.terms), tuple(spans), tuple(out.details))

    def with_proximity(self, words: int) -> Query:
        """This query with ``~words`` on every quoted phrase of two or more words that it
        looks for (not under NOT) and that has no ``~`` yet; 0 returns the query as is."""
        if not 0 <= words <= MAX_DISTANCE:
            raise ValueError(f"proximity must be from 0 to {MAX_DISTANCE} words")
        return self if words == 0 else Query(_loosen(self._root, words, False))

    def __str__(self) -> str:
        return self._root.render()

    def __repr__(self) -> str:
        return f"Query({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Query) and self._root == other._root

    def __hash__(self) -> int:
        return hash(self._root)


def explain(query: Query, doc: Document) -> list[TermReport]:
    """A report for every term of the query, matched or not, in query order.

    Terms under ``NOT`` are included with ``negated=True``; a ``NEAR`` is one term whose
    ``parts`` report each side's terms. A term written twice (same polarity) is reported
    once. Whether the whole query matched is ``query.match(doc) is not None``.
    """
    units: list[tuple[_Unit, bool]] = []
    _walk(query._root, False, units)
    return [_report(unit, doc, negated) for unit, negated in units]


# ----------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Tok:
    kind: str  # "word", "phrase", "regex", "FIELD", "(", ")", "AND", "OR", "NOT", "NEAR"
    column: int
    text: str
    value: int | None = None  # NEAR: its distance; phrase: its ~n
    value_column: int = 0  # phrase: where its "~" is


def _lex(text: str) -> list[_Tok]:
    mapped = text.translate(_LEX_MAP)  # one character for one: columns stay right
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = mapped[i]
        col = i + 1
        if c.isspace():
            i += 1
        elif c in "()":
            toks.append(_Tok(c, col, c))
            i += 1
        elif c == '"':
            close = mapped.find('"', i + 1)
            if close < 0:
                raise QueryError("unterminated quote", col)
            inner = text[i + 1 : close]
            if not inner.strip():
                raise QueryError("empty phrase", col)
            i = close + 1
            slop = None
            if i < n and mapped[i] == "~":
                j = i + 1
                while j < n and mapped[j].isdigit() and mapped[j].isascii():
                    j += 1
                if j == i + 1:
                    raise QueryError('"~" needs a number of words, as in "open weights"~3', i + 1)
                slop = int(mapped[i + 1 : j])
                if slop > MAX_DISTANCE:
                    raise QueryError(f"the distance can be at most {MAX_DISTANCE}", i + 1)
                toks.append(_Tok("phrase", col, inner, slop, i + 1))
                i = j
            else:
                toks.append(_Tok("phrase", col, inner, slop))
        elif c == "-":
            if i + 1 == n or mapped[i + 1].isspace() or mapped[i + 1] == ")":
                raise QueryError('"-" needs a term after it', col)
            toks.append(_Tok("NOT", col, "-"))
            i += 1
        elif c == "/" and (close := _regex_close(mapped, i)) >= 0:
            if close == i + 1:
                raise QueryError("empty regex", col)
            toks.append(_Tok("regex", col, text[i + 1 : close]))
            i = close + 1
        elif field_prefix := _FIELD_RE.match(mapped, i):
            name = field_prefix.group(1).lower()
            i = field_prefix.end()
            if i == n or mapped[i].isspace() or mapped[i] == ")":
                raise QueryError(f"{name}: needs a term right after it", col)
            toks.append(_Tok("FIELD", col, name))
        else:
            j = i
            while j < n and not (mapped[j].isspace() or mapped[j] in '()"'):
                j += 1
            word = text[i:j]
            if word == "NEAR" or word.startswith("NEAR/"):
                near = _NEAR_RE.fullmatch(word)
                if near is None or not near.group(1).isascii():
                    raise QueryError("NEAR needs a distance, as in NEAR/3", col)
                distance = int(near.group(1))
                if distance > MAX_DISTANCE:
                    raise QueryError(f"the distance can be at most {MAX_DISTANCE}", col)
                toks.append(_Tok("NEAR", col, f"NEAR/{distance}", distance))
            else:
                toks.append(_Tok(word if word in _KEYWORDS else "word", col, word))
            i = j
    return toks


def _check_parentheses(toks: list[_Tok]) -> None:
    open_columns: list[int] = []
    for tok in toks:
        if tok.kind == "(":
            open_columns.append(tok.column)
        elif tok.kind == ")":
            if not open_columns:
                raise QueryError("unbalanced parenthesis", tok.column)
            open_columns.pop()
    if open_columns:
        raise QueryError("unbalanced parenthesis", open_columns[0])


_STARTS_ATOM = frozenset({"word", "phrase", "regex", "(", "FIELD"})
_STARTS_TERM = _STARTS_ATOM | {"NOT"}


class _Parser:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.pos = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def starts(self, kinds: frozenset[str]) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind in kinds

    def take(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def binary(self, op: _Tok) -> None:
        """After consuming AND/OR: the next token must start a term."""
        if not self.starts(_STARTS_TERM):
            raise QueryError(f"{op.kind} needs a term on both sides", op.column)

    def parse_or(self) -> _Node:
        tok = self.peek()
        if tok is not None and tok.kind in ("AND", "OR", "NEAR"):
            raise QueryError(f"{tok.text} needs a term on both sides", tok.column)
        nodes = [self.parse_and()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.binary(self.take())
            nodes.append(self.parse_and())
        return _or(nodes)

    def parse_and(self) -> _Node:
        nodes = [self.parse_not()]
        while (tok := self.peek()) is not None:
            if tok.kind == "AND":
                self.binary(self.take())
            elif tok.kind == "OR" or tok.kind == ")":
                break
            nodes.append(self.parse_not())
        return _and(nodes)

    def parse_not(self) -> _Node:
        tok = self.peek()
        if tok is None or tok.kind != "NOT":
            return self.parse_near()
        self.take()
        if not self.starts(_STARTS_TERM):
            name = "NOT" if tok.text == "NOT" else '"-"'
            raise QueryError(f"{name} needs a term after it", tok.column)
        child = self.parse_not()
        return child.child if isinstance(child, _Not) else _Not(child)

    def parse_near(self) -> _Node:
        node = self.parse_atom()
        while (tok := self.peek()) is not None and tok.kind == "NEAR":
            self.take()
            if not self.starts(_STARTS_ATOM):
                raise QueryError(f"{tok.text} needs a term on both sides", tok.column)
            right = self.parse_atom()
            if not (_positional(node) and _positional(right)):
                raise QueryError(
                    f"{tok.text} can only join words, phrases, regexes and OR-groups of them",
                    tok.column,
                )
            node = _Near(node, right, cast(int, tok.value))
        return node

    def parse_atom(self) -> _Node:
        tok = self.take()
        if tok.kind == "FIELD":
            if not self.starts(_STARTS_ATOM):
                raise QueryError(f"{tok.text}: needs a term right after it", tok.column)
            name = cast(FieldName, tok.text)
            return _scope(self.parse_atom(), name, tok.column)
        if tok.kind == "(":
            close = self.peek()
            if close is not None and close.kind == ")":
                raise QueryError("empty parentheses", tok.column)
            node = self.parse_or()
            self.take()  # the ")": parentheses were checked to balance
            return node
        if tok.kind == "phrase":
            display = " ".join(tok.text.split())
            return _make_term(display, tok.column, True, tok.value, tok.value_column)
        if tok.kind == "word":
            return _make_term(tok.text, tok.column)
        if tok.kind == "regex":
            return _make_regex(tok.text, tok.column)
        if tok.kind == "NOT":  # "a NEAR/3 -b", "title:-b"
            raise QueryError(
                "NOT needs a term after it" if tok.text == "NOT" else '"-" needs a term after it',
                tok.column,
            )
        # AND/OR/NEAR where a term should start, or a ")": both caught by the callers' checks
        raise QueryError(f"{tok.text} needs a term on both sides", tok.column)


def parse(text: str) -> Query:
    """Compile a query; raises ``QueryError`` with a 1-based column when it is malformed."""
    toks = _lex(text)
    if not toks:
        raise QueryError("empty query", 1)
    _check_parentheses(toks)
    parser = _Parser(toks)
    root = parser.parse_or()
    leftover = parser.peek()
    if leftover is not None:  # pragma: no cover - balanced parentheses leave nothing over
        raise QueryError("unbalanced parenthesis", leftover.column)
    return Query(root)


def from_lists(
    any: Sequence[str] = (), all: Sequence[str] = (), none: Sequence[str] = ()
) -> Query | None:
    """Build ``(any1 OR any2) AND all1 AND all2 AND NOT none1 ...``; None if all are empty.

    Each entry is one term (a word or a phrase, written without quotes): an entry of one
    word is typo-tolerant like a bare word, an entry of several is a phrase like a quoted
    one. An empty entry raises ``QueryError("empty entry", 1)``.
    """

    def term(entry: str) -> _Term:
        display = " ".join(entry.split())
        if not display:
            raise QueryError("empty entry", 1)
        return _make_term(display, 1, quoted=not _bare_ok(display))

    parts: list[_Node] = []
    if any:
        parts.append(_or([term(e) for e in any]))
    parts.extend(term(e) for e in all)
    parts.extend(_Not(term(e)) for e in none)
    return Query(_and(parts)) if parts else None


def all_of(*queries: Query) -> Query:
    """The AND of several queries (for example a rule's ``query`` and its lists)."""
    if not queries:
        raise ValueError("all_of needs at least one query")
    return Query(_and([q._root for q in queries]))


# ----------------------------------------------------------------------------- snippet


def snippet(doc: Document, match: Match, width: int = 160) -> str:
    """Plain-text context around the first matched span in the text (else the title).

    Cut on word boundaries, with "…" where text was left out; whitespace runs become one
    space. The result is at most ``width`` characters unless one matched span is longer.
    """
    text_spans = [s for s in match.spans if s.field == "text"]
    title_spans = [s for s in match.spans if s.field == "title"]
    if text_spans:
        source, span = doc.text, min(text_spans, key=lambda s: (s.start, s.end))
        start, end = span.start, span.end
    elif title_spans:
        source, span = doc.title, min(title_spans, key=lambda s: (s.start, s.end))
        start, end = span.start, span.end
    else:
        source = doc.text if doc.text.strip() else doc.title
        start = end = len(source) - len(source.lstrip())
    n = len(source)
    room = max(width - 2, 1)  # keep two characters for the ellipses
    if end - start >= room:
        lo, hi = start, start + room
    else:
        lo = max(0, start - (room - (end - start)) // 3)
        hi = min(n, lo + room)
        lo = max(0, min(lo, hi - room))
    if lo > 0 and not source[lo - 1].isspace():  # do not start inside a word
        cut = lo
        while cut < start and not source[cut].isspace():
            cut += 1
        lo = cut
    if hi < n and not source[hi].isspace():  # do not end inside a word
        floor = end if end <= hi else start  # a span longer than the width is cut itself
        cut = hi
        while cut > floor and not source[cut - 1].isspace():
            cut -= 1
        if cut > start:
            hi = cut
    piece = " ".join(source[lo:hi].split())
    before = "…" if source[:lo].strip() else ""
    after = "…" if source[hi:].strip() else ""
    return before + piece + after
