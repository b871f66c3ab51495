"""Words: how query terms and items are cut into tokens, normalised, stemmed and
compared for typos.

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
"""

from __future__ import annotations

import operator
import re
import unicodedata
from functools import lru_cache
from itertools import accumulate, chain
from typing import TypeVar, cast

_K = TypeVar("_K")

# Unquoted query words this long or longer tolerate a typo: two swapped letters; when their
# stem has TYPO_ONE_EDIT_LETTERS, also a missing or an extra letter; TYPO_TWO_EDITS_LETTERS,
# two missing or extra letters, or one substituted letter. See "Typos".
TYPO_MIN_LETTERS = 6
TYPO_ONE_EDIT_LETTERS = 8
TYPO_TWO_EDITS_LETTERS = 10
_SWAP, _ONE_EDIT, _TWO_EDITS = 1, 2, 3  # typo tolerance levels, per query word
_LENGTH_SLACK = {_SWAP: 0, _ONE_EDIT: 1, _TWO_EDITS: 2}  # how much longer or shorter

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


# What _mark_class() returns with Unicode 14.0.0 (Python 3.11's unicodedata), written out
# because computing it (65,000 code points) took about 10 ms of every start-up.
# tests/matching/query/test_words.py checks it against _mark_class().
_MARKS_UNICODE_14 = (
    r"\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1-\u05c2\u05c4-\u05c5\u05c7"
    r"\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7-\u06e8\u06ea-\u06ed"
    r"\u0711\u0730-\u074a\u07a6-\u07b0\u07eb-\u07f3\u07fd\u0816-\u0819\u081b-\u0823"
    r"\u0825-\u0827\u0829-\u082d\u0859-\u085b\u0898-\u089f\u08ca-\u08e1\u08e3-\u0903"
    r"\u093a-\u093c\u093e-\u094f\u0951-\u0957\u0962-\u0963\u0981-\u0983\u09bc\u09be-\u09c4"
    r"\u09c7-\u09c8\u09cb-\u09cd\u09d7\u09e2-\u09e3\u09fe\u0a01-\u0a03\u0a3c\u0a3e-\u0a42"
    r"\u0a47-\u0a48\u0a4b-\u0a4d\u0a51\u0a70-\u0a71\u0a75\u0a81-\u0a83\u0abc\u0abe-\u0ac5"
    r"\u0ac7-\u0ac9\u0acb-\u0acd\u0ae2-\u0ae3\u0afa-\u0aff\u0b01-\u0b03\u0b3c\u0b3e-\u0b44"
    r"\u0b47-\u0b48\u0b4b-\u0b4d\u0b55-\u0b57\u0b62-\u0b63\u0b82\u0bbe-\u0bc2\u0bc6-\u0bc8"
    r"\u0bca-\u0bcd\u0bd7\u0c00-\u0c04\u0c3c\u0c3e-\u0c44\u0c46-\u0c48\u0c4a-\u0c4d"
    r"\u0c55-\u0c56\u0c62-\u0c63\u0c81-\u0c83\u0cbc\u0cbe-\u0cc4\u0cc6-\u0cc8\u0cca-\u0ccd"
    r"\u0cd5-\u0cd6\u0ce2-\u0ce3\u0d00-\u0d03\u0d3b-\u0d3c\u0d3e-\u0d44\u0d46-\u0d48"
    r"\u0d4a-\u0d4d\u0d57\u0d62-\u0d63\u0d81-\u0d83\u0dca\u0dcf-\u0dd4\u0dd6\u0dd8-\u0ddf"
    r"\u0df2-\u0df3\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd"
    r"\u0f18-\u0f19\u0f35\u0f37\u0f39\u0f3e-\u0f3f\u0f71-\u0f84\u0f86-\u0f87\u0f8d-\u0f97"
    r"\u0f99-\u0fbc\u0fc6\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d"
    r"\u1071-\u1074\u1082-\u108d\u108f\u109a-\u109d\u135d-\u135f\u1712-\u1715\u1732-\u1734"
    r"\u1752-\u1753\u1772-\u1773\u17b4-\u17d3\u17dd\u180b-\u180d\u180f\u1885-\u1886\u18a9"
    r"\u1920-\u192b\u1930-\u193b\u1a17-\u1a1b\u1a55-\u1a5e\u1a60-\u1a7c\u1a7f\u1ab0-\u1ace"
    r"\u1b00-\u1b04\u1b34-\u1b44\u1b6b-\u1b73\u1b80-\u1b82\u1ba1-\u1bad\u1be6-\u1bf3"
    r"\u1c24-\u1c37\u1cd0-\u1cd2\u1cd4-\u1ce8\u1ced\u1cf4\u1cf7-\u1cf9\u1dc0-\u1dff"
    r"\u20d0-\u20f0\u2cef-\u2cf1\u2d7f\u2de0-\u2dff\u302a-\u302f\u3099-\u309a\ua66f-\ua672"
    r"\ua674-\ua67d\ua69e-\ua69f\ua6f0-\ua6f1\ua802\ua806\ua80b\ua823-\ua827\ua82c"
    r"\ua880-\ua881\ua8b4-\ua8c5\ua8e0-\ua8f1\ua8ff\ua926-\ua92d\ua947-\ua953\ua980-\ua983"
    r"\ua9b3-\ua9c0\ua9e5\uaa29-\uaa36\uaa43\uaa4c-\uaa4d\uaa7b-\uaa7d\uaab0\uaab2-\uaab4"
    r"\uaab7-\uaab8\uaabe-\uaabf\uaac1\uaaeb-\uaaef\uaaf5-\uaaf6\uabe3-\uabea\uabec-\uabed"
    r"\ufb1e\ufe00-\ufe0f\ufe20-\ufe2f"
)


def _marks() -> str:
    """``_mark_class()``: written out for Unicode 14.0.0, computed for any other version."""
    if unicodedata.unidata_version == "14.0.0":
        return _MARKS_UNICODE_14
    return _mark_class()


# A run of letters and digits, with combining marks (never first) kept inside it. Marks
# are not \w, so a token can only start at [^\W_] and a separator is just [\W_]*.
_RUN = rf"[^\W_]+(?:[{_marks()}]+[^\W_]*)*"
# A token (only _PAIR_RE is compiled: each compile of the mark class costs a few ms).
_TOKEN = rf"{_RUN}(?:(?:(?<=\d)[.\uff0e](?=\d)|[{re.escape(_APOSTROPHES)}](?=[^\W_])){_RUN})*"
_PAIR_RE = re.compile(rf"([\W_]*)({_TOKEN})")  # (separator, token)
_SOFT_SEP_RE = re.compile(rf"[\s_{re.escape(_HYPHENS + _INVISIBLE_JOINERS)}]*")
_STOP_RE = re.compile(r"[.!?;:…]\s|[。！？；：]|\n\s*\n")
_QUOTES_TO_SPACES = str.maketrans({c: " " for c in _DOUBLE_QUOTES})
_APOSTROPHE_MAP = str.maketrans({c: "'" for c in _APOSTROPHES})

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


def _ie(rest: str) -> str:
    """What is left of -ies/-ied: -i after three letters or more (studies, studied: studi),
    -y after two (tries: try), -ie after one (ties: tie)."""
    if len(rest) >= 3:
        return rest + "i"
    return rest + ("y" if len(rest) == 2 else "ie")


def _strip_plural(w: str) -> str:
    if w.endswith("sses"):
        return w[:-2]
    if w.endswith("ies"):
        return _ie(w[:-3])
    if w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def _strip_verb(w: str) -> str:
    if len(w) <= 3:
        return w
    if w.endswith("ied"):
        return _ie(w[:-3])
    if w.endswith("eed"):
        return w[:-1] if _m(w[:-3]) > 0 else w
    for suffix in ("ed", "ing"):
        if w.endswith(suffix):
            rest = w[: -len(suffix)]
            if len(rest) >= 3 and "v" in _cv(rest):
                return _restore(rest)
    return w


@lru_cache(maxsize=1 << 14)
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


@lru_cache(maxsize=1 << 14)
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


def _positions(tokens: list[_K], first: int, key: _K) -> list[int]:
    """Every position of key in tokens, given its first one (list.index runs in C)."""
    out = [first]
    try:
        while True:
            out.append(tokens.index(key, out[-1] + 1))
    except ValueError:
        return out


@lru_cache(maxsize=1 << 13)
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
    from rapidfuzz.distance import OSA, Indel  # here: loading the rules needs no rapidfuzz

    if level == _TWO_EDITS:
        ok = Indel.distance(q, t, score_cutoff=2) <= 2  # a swap or a substitution counts 2
    elif len(q) == len(t):  # one swap of adjacent letters
        ok = sorted(q) == sorted(t) and OSA.distance(q, t, score_cutoff=1) == 1
    else:  # one letter missing or extra
        ok = level == _ONE_EDIT and Indel.distance(q, t, score_cutoff=1) == 1
    return round(OSA.normalized_similarity(q, t) * 100, 1) if ok else 0.0
