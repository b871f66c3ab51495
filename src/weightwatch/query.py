"""Rule queries: a small boolean language, compiled once, matched against prepared items.

Language
--------
A query is made of terms and operators::

    OpenAI AND ("release weights" OR open-weight) AND NOT "Weight Watchers"

* A **term** is a bare word (``open-weight``, ``GPT-4``, ``OpenAI's``) or a
  ``"quoted phrase"`` (straight or curly double quotes). A bare word that the tokeniser
  cuts into several words (``gpt-oss-120b``) is matched like a phrase.
* ``AND``, ``OR`` and ``NOT`` are operators only when written in **uppercase**; ``and``,
  ``or``, ``not`` (any other case) are ordinary words that must appear in the item. This
  keeps titles pasted as queries ("Pride and Prejudice") meaning what they say.
* ``-word``, ``-"phrase"`` and ``-(...)`` are short for ``NOT``; the ``-`` must touch its term.
* Terms next to each other without an operator are joined by ``AND``.
* Precedence: ``NOT`` binds tightest, then ``AND``, then ``OR``; parentheses group.

``from_lists`` builds the same kind of query from ``any`` (OR), ``all`` (AND) and ``none``
(AND NOT) lists whose entries are terms written without quotes; ``all_of`` ANDs queries.
A query made only of negations is allowed: it matches every item without those terms.

Errors raise ``QueryError(message, column)`` with a 1-based column: ``empty query``,
``unterminated quote``, ``empty phrase``, ``unbalanced parenthesis`` (at the unmatched
``(`` or the stray ``)``), ``empty parentheses``, ``AND needs a term on both sides``
(also ``OR``), ``NOT needs a term after it`` (also ``"-"``), ``"&" has no letters or digits``.

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
  (``‐ ‑ ‒ – — ― −`` and fullwidth forms), underscores and soft hyphens.
* Words match whole tokens only: ``AI`` does not match ``said`` or ``OpenAI``, and
  ``GPT-4`` does not match ``GPT-40`` or ``GPT-4.5``. The words of a phrase must be
  consecutive tokens; punctuation between them is ignored, except that a phrase does not
  run across a sentence break (``.``, ``!``, ``?``, ``;``, ``:`` or ``…`` followed by space,
  or a blank line) unless the query has one at the same place (``"U.S. Army"``).
* Title and text are separate: a phrase never runs from one into the other, but the terms
  of an ``AND`` may be found one in the title and another in the text.

Stemming
--------
A light English stemmer (a cut-down Porter step 1) is applied to every ASCII, all-letter
token of 4 letters or more, the same way for query and item. Words of 3 letters or fewer,
tokens with digits and non-ASCII words are never stemmed (``AI``, ``is``, ``new`` stay).

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
* A few words whose stripped form is a different common word are left alone:
  ``news``, ``lens``, ``canvas``, ``does``, ``series``, ``species``, ``always``, ``united``,
  ``evening``, ``meaning``, ``wedding``.

Performance
-----------
``prepare`` tokenises an item once (one regular-expression scan; normalising and stemming
are cached per distinct word) and builds, with C-level helpers, dicts from each stem, and
from each token plus the next token's first letter, to where it first occurs. Offsets and
gaps are worked out only when a candidate is checked or a span is reported. Each term
keeps the few keys that can start a match, so a term absent from an item costs two
C-level set tests per field; only candidate positions are checked word by word.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, chain
from typing import ClassVar, Literal, cast

from .errors import QueryError

__all__ = [
    "Document",
    "Match",
    "Query",
    "Span",
    "all_of",
    "from_lists",
    "parse",
    "prepare",
    "snippet",
]

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


# ----------------------------------------------------------------------------- stemming

_VOWELS = frozenset("aeiou")
_KEEP = frozenset(
    {"news", "lens", "canvas", "does", "series", "species", "always"}
    | {"united", "evening", "meaning", "wedding"}
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
    return w


# ----------------------------------------------------------------------------- tokens


@lru_cache(maxsize=1 << 16)
def _word(raw: str) -> tuple[str, str, int] | None:
    """(normalised form, stem, characters of possessive to leave out of the span)."""
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
    return norm, _stem(norm), trim


def _scan(s: str) -> tuple[list[tuple[str, str]], list[tuple[str, str, int]]]:
    """(separator, token) pairs and (form, stem, trim) per token; tokens that normalise to
    nothing are folded into the next separator, so lengths still add up to offsets."""
    pairs: list[tuple[str, str]] = _PAIR_RE.findall(s)
    infos = list(map(_word, [raw for _, raw in pairs]))
    if None in infos:
        kept_pairs: list[tuple[str, str]] = []
        kept_infos: list[tuple[str, str, int]] = []
        carry = ""
        for (sep, raw), info in zip(pairs, infos, strict=True):
            if info is None:
                carry += sep + raw
            else:
                kept_pairs.append((carry + sep, raw))
                kept_infos.append(info)
                carry = ""
        return kept_pairs, kept_infos
    return pairs, cast(list[tuple[str, str, int]], infos)


def _layout(
    pairs: list[tuple[str, str]], infos: list[tuple[str, str, int]]
) -> tuple[list[int], list[int], list[int]]:
    """Start and end offsets of each token and the gap before it."""
    offsets = list(accumulate(map(len, chain.from_iterable(pairs))))
    starts, ends = offsets[0::2], offsets[1::2]
    if any(map(operator.itemgetter(2), infos)):  # possessives: leave the 's out of spans
        ends = [end - info[2] for end, info in zip(ends, infos, strict=True)]
    gap = _gap
    gaps = [_JOIN if sep == " " else gap(sep) for sep, _ in pairs]
    if gaps:
        gaps[0] = _BREAK
    return starts, ends, gaps


def _positions(tokens: list[str], first: int, key: str) -> list[int]:
    """Every position of key in tokens, given its first one (list.index runs in C)."""
    out = [first]
    try:
        while True:
            out.append(tokens.index(key, out[-1] + 1))
    except ValueError:
        return out


class _Field:
    """One tokenised field: forms and stems, where each stem and glued pair first occurs.

    ``glue[i]`` is token i followed by the first character of token i+1: the key that finds
    an item splitting a query word ("open source" for ``opensource``). Offsets and gaps are
    only needed to check a candidate or report a span, so they are computed on first use.
    """

    __slots__ = (
        "_layout",
        "_pairs",
        "glue",
        "glue_first",
        "glue_keys",
        "infos",
        "name",
        "norms",
        "stem_first",
        "stem_keys",
        "stems",
    )

    def __init__(self, name: Literal["title", "text"], s: str) -> None:
        self.name = name
        self._pairs, self.infos = _scan(s)
        self._layout: tuple[list[int], list[int], list[int]] | None = None
        norms = self.norms = [info[0] for info in self.infos]
        stems = self.stems = [info[1] for info in self.infos]
        n = len(norms)
        self.stem_first = dict(zip(reversed(stems), range(n - 1, -1, -1), strict=True))
        self.glue = list(map(operator.add, norms, map(operator.itemgetter(0), norms[1:])))
        self.glue_first = dict(zip(reversed(self.glue), range(n - 2, -1, -1), strict=True))
        self.stem_keys = self.stem_first.keys()
        self.glue_keys = self.glue_first.keys()

    def layout(self) -> tuple[list[int], list[int], list[int]]:
        """(starts, ends, gaps), computed once."""
        if self._layout is None:
            self._layout = _layout(self._pairs, self.infos)
        return self._layout


class Document:
    """An item's title and text, normalised and tokenised once by ``prepare``."""

    __slots__ = ("_fields", "text", "title")

    def __init__(self, title: str, text: str) -> None:
        self.title = title
        self.text = text
        self._fields = (_Field("title", title), _Field("text", text))

    def __repr__(self) -> str:
        return f"Document(title={self.title!r}, text={len(self.text)} characters)"


def prepare(title: str, text: str) -> Document:
    """Normalise and tokenise an item once; the result is reused for every rule."""
    return Document(title, text)


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Span:
    """Where a term matched: character offsets into the original title or text."""

    field: Literal["title", "text"]
    start: int
    end: int


@dataclass(frozen=True)
class Match:
    """The positive terms that matched (as written, query order) and where they are."""

    terms: tuple[str, ...]
    spans: tuple[Span, ...]


# ----------------------------------------------------------------------------- nodes

_OR, _AND, _NOT, _ATOM = 1, 2, 3, 4  # precedence, for printing
_KEYWORDS = frozenset({"AND", "OR", "NOT"})


@dataclass(frozen=True)
class _Term:
    display: str
    words: tuple[str, ...]
    stems: tuple[str, ...]
    gaps: tuple[int, ...]
    # Where a match can start: the first word's stem, or the stem of the first words glued
    # (looked up among token stems); or a prefix of the first word of 2 characters or more
    # (looked up among _Field.glue, for an item that splits the word).
    stem_keys: frozenset[str] = field(compare=False, repr=False)
    glue_keys: frozenset[str] = field(compare=False, repr=False)

    prec: ClassVar[int] = _ATOM

    def test(self, doc: Document) -> bool:
        for f in doc._fields:
            if not (
                f.stem_keys.isdisjoint(self.stem_keys) and f.glue_keys.isdisjoint(self.glue_keys)
            ) and self._find(f, first=True):
                return True
        return False

    def collect(self, doc: Document, terms: list[str], spans: list[Span]) -> None:
        found = False
        for f in doc._fields:
            hits = self._find(f, first=False)
            if hits:
                starts, ends, _ = f.layout()
                spans.extend(Span(f.name, starts[start], ends[end - 1]) for start, end in hits)
                found = True
        if found and self.display not in terms:
            terms.append(self.display)

    def positive(self) -> list[str]:
        return [self.display]

    def render(self) -> str:
        text = self.display.translate(_LEX_MAP)
        bare = (
            text not in _KEYWORDS
            and not text.startswith("-")
            and not any(c.isspace() or c in '()"' for c in text)
        )
        if bare:
            return self.display
        return '"' + " ".join(self.display.translate(_QUOTES_TO_SPACES).split()) + '"'

    def _find(self, f: _Field, first: bool) -> list[tuple[int, int]]:
        """Token ranges [start, end) where the term occurs in a field."""
        hits: list[tuple[int, int]] = []
        if len(self.words) == 1:  # the common case: one word, found by its stem
            stem = self.stems[0]
            at = f.stem_first.get(stem)
            if at is not None:
                if first:
                    return [(at, at + 1)]
                hits = [(i, i + 1) for i in _positions(f.stems, at, stem)]
            candidates: set[int] = set()
        else:
            candidates = set()
            for key in f.stem_keys & self.stem_keys:
                candidates.update(_positions(f.stems, f.stem_first[key], key))
        for key in f.glue_keys & self.glue_keys:
            candidates.update(_positions(f.glue, f.glue_first[key], key))
        candidates.difference_update(start for start, _ in hits)
        for start in sorted(candidates):
            end = self._align(f, 0, start)
            if end >= 0:
                hits.append((start, end))
                if first:
                    return hits
        hits.sort()
        return hits

    def _next(self, f: _Field, qi: int, ti: int) -> int:
        """Match words[qi:] from token ti, which follows a matched token; end or -1."""
        if qi == len(self.words):
            return ti
        if ti >= len(f.norms) or (f.layout()[2][ti] == _BREAK and self.gaps[qi] != _BREAK):
            return -1
        return self._align(f, qi, ti)

    def _align(self, f: _Field, qi: int, ti: int) -> int:
        """Match words[qi:] starting exactly at token ti; the end token index or -1."""
        words, stems = self.words, self.stems
        norms, gaps = f.norms, f.layout()[2]
        if f.stems[ti] == stems[qi]:
            end = self._next(f, qi + 1, ti + 1)
            if end >= 0:
                return end
        w, t = words[qi], norms[ti]
        if len(t) < len(w) and w.startswith(t):  # the item splits a query word: open source
            acc, j = t, ti + 1
            while j < len(norms) and gaps[j] == _JOIN:
                acc += norms[j]
                j += 1
                if _stem(acc) == stems[qi]:
                    end = self._next(f, qi + 1, j)
                    if end >= 0:
                        return end
                if len(acc) >= len(w) or not w.startswith(acc):
                    break
        elif len(t) > len(w) and t.startswith(w):  # the item glues query words: opensource
            acc = w
            for k in range(qi + 1, len(words)):
                acc += words[k]
                if _stem(acc) == f.stems[ti]:
                    end = self._next(f, k + 1, ti + 1)
                    if end >= 0:
                        return end
                if not t.startswith(acc):
                    break
        return -1


def _make_term(display: str, column: int) -> _Term:
    """Compile one term; display is what the user wrote (phrases: whitespace collapsed)."""
    pairs, infos = _scan(display)
    norms = [info[0] for info in infos]
    stems = [info[1] for info in infos]
    gaps = _layout(pairs, infos)[2]
    if not norms:
        raise QueryError(f'"{display}" has no letters or digits', column)
    stem_keys = {stems[0]}
    joined = norms[0]
    for norm in norms[1:]:
        joined += norm
        stem_keys.add(_stem(joined))
    first = norms[0]
    glue_keys = frozenset(first[:i] for i in range(2, len(first) + 1))
    return _Term(display, tuple(norms), tuple(stems), tuple(gaps), frozenset(stem_keys), glue_keys)


@dataclass(frozen=True)
class _Not:
    child: _Node
    prec: ClassVar[int] = _NOT

    def test(self, doc: Document) -> bool:
        return not self.child.test(doc)

    def collect(self, doc: Document, terms: list[str], spans: list[Span]) -> None:
        return None  # a negation never contributes terms or spans

    def positive(self) -> list[str]:
        return []

    def render(self) -> str:
        inner = self.child.render()
        return "NOT " + (inner if self.child.prec >= _NOT else f"({inner})")


@dataclass(frozen=True)
class _And:
    children: tuple[_Node, ...]
    prec: ClassVar[int] = _AND

    def test(self, doc: Document) -> bool:
        for child in self.children:  # noqa: SIM110 - a plain loop: no generator per test
            if not child.test(doc):
                return False
        return True

    def collect(self, doc: Document, terms: list[str], spans: list[Span]) -> None:
        for child in self.children:
            child.collect(doc, terms, spans)

    def positive(self) -> list[str]:
        return [t for child in self.children for t in child.positive()]

    def render(self) -> str:
        parts = (c.render() if c.prec > _OR else f"({c.render()})" for c in self.children)
        return " AND ".join(parts)


@dataclass(frozen=True)
class _Or:
    children: tuple[_Node, ...]
    prec: ClassVar[int] = _OR

    def test(self, doc: Document) -> bool:
        for child in self.children:  # noqa: SIM110 - a plain loop: no generator per test
            if child.test(doc):
                return True
        return False

    def collect(self, doc: Document, terms: list[str], spans: list[Span]) -> None:
        for child in self.children:
            if child.test(doc):
                child.collect(doc, terms, spans)

    def positive(self) -> list[str]:
        return [t for child in self.children for t in child.positive()]

    def render(self) -> str:
        return " OR ".join(c.render() for c in self.children)


_Node = _Term | _Not | _And | _Or


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
        terms: list[str] = []
        spans: list[Span] = []
        self._root.collect(doc, terms, spans)
        order = {"title": 0, "text": 1}
        spans = sorted(set(spans), key=lambda s: (order[s.field], s.start, s.end))
        return Match(tuple(terms), tuple(spans))

    def __str__(self) -> str:
        return self._root.render()

    def __repr__(self) -> str:
        return f"Query({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Query) and self._root == other._root

    def __hash__(self) -> int:
        return hash(self._root)


# ----------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Tok:
    kind: str  # "word", "phrase", "(", ")", "AND", "OR", "NOT"
    column: int
    text: str


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
            toks.append(_Tok("phrase", col, inner))
            i = close + 1
        elif c == "-":
            if i + 1 == n or mapped[i + 1].isspace() or mapped[i + 1] == ")":
                raise QueryError('"-" needs a term after it', col)
            toks.append(_Tok("NOT", col, "-"))
            i += 1
        else:
            j = i
            while j < n and not (mapped[j].isspace() or mapped[j] in '()"'):
                j += 1
            word = text[i:j]
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


_STARTS_TERM = frozenset({"word", "phrase", "(", "NOT"})


class _Parser:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.pos = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def starts_term(self) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind in _STARTS_TERM

    def take(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def binary(self, op: _Tok) -> None:
        """After consuming AND/OR: the next token must start a term."""
        if not self.starts_term():
            raise QueryError(f"{op.kind} needs a term on both sides", op.column)

    def parse_or(self) -> _Node:
        tok = self.peek()
        if tok is not None and tok.kind in ("AND", "OR"):
            raise QueryError(f"{tok.kind} needs a term on both sides", tok.column)
        nodes = [self.parse_and()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.binary(self.take())
            nodes.append(self.parse_and())
        return _or(nodes)

    def parse_and(self) -> _Node:
        nodes = [self.parse_unary()]
        while (tok := self.peek()) is not None:
            if tok.kind == "AND":
                self.binary(self.take())
            elif tok.kind == "OR" or tok.kind == ")":
                break
            nodes.append(self.parse_unary())
        return _and(nodes)

    def parse_unary(self) -> _Node:
        tok = self.take()
        if tok.kind == "NOT":
            if not self.starts_term():
                name = "NOT" if tok.text == "NOT" else '"-"'
                raise QueryError(f"{name} needs a term after it", tok.column)
            child = self.parse_unary()
            return child.child if isinstance(child, _Not) else _Not(child)
        if tok.kind == "(":
            close = self.peek()
            if close is not None and close.kind == ")":
                raise QueryError("empty parentheses", tok.column)
            node = self.parse_or()
            self.take()  # the ")": parentheses were checked to balance
            return node
        if tok.kind == "phrase":
            return _make_term(" ".join(tok.text.split()), tok.column)
        if tok.kind == "word":
            return _make_term(tok.text, tok.column)
        # AND/OR where a term should start, or a ")": both caught by the callers' checks
        raise QueryError(f"{tok.kind} needs a term on both sides", tok.column)


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

    Each entry is one term (a word or a phrase, written without quotes). An empty entry
    raises ``QueryError("empty entry", 1)``.
    """

    def term(entry: str) -> _Term:
        display = " ".join(entry.split())
        if not display:
            raise QueryError("empty entry", 1)
        return _make_term(display, 1)

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
