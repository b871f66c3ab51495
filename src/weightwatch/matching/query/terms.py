"""The leaves of a query: words and phrases (``_Term``) and regexes (``_Regex``).

Each finds the token ranges where it occurs in a field of a prepared ``Document`` and
describes them as ``Hit``s; ``nodes`` combines them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from weightwatch.errors import QueryError
from weightwatch.matching.query.document import _BOTH, _SELECT, Document, FieldName, _Field, _Ranges
from weightwatch.matching.query.lexer import _QUOTES_TO_SPACES, _bare_ok
from weightwatch.matching.query.results import Hit, How, _Collector

if TYPE_CHECKING:
    import regex

from weightwatch.matching.query.words import (
    _BREAK,
    _CASED_WORDS,
    _JOIN,
    _ONE_EDIT,
    _SWAP,
    _TWO_EDITS,
    TYPO_MIN_LETTERS,
    TYPO_ONE_EDIT_LETTERS,
    TYPO_TWO_EDITS_LETTERS,
    _gaps,
    _scan,
    _stem,
    _typo,
    _typo_buckets,
)

REGEX_TIMEOUT = 0.02  # seconds one regex search of one field may take
REGEX_TEXT_LIMIT = 25_000  # characters of a field's normalised text that a regex searches

_OR, _AND, _NOT, _NEAR_OP, _ATOM = 1, 2, 3, 4, 5  # precedence, for printing


class _Reported:
    """What the nodes that ``explain`` and ``Match.details`` report on (``_Term``,
    ``_Regex`` and ``nodes._Near``) share: a matched one adds its hits, under its label."""

    def collect(self, doc: Document, out: _Collector) -> None:
        hits, _ = self.unit_hits(doc)
        if hits:
            out.add(self.label(), self.render(), hits)

    def positive(self) -> list[str]:
        return [self.label()]

    def label(self) -> str:
        """How Query.terms and Match.terms name it (a word: as written)."""
        return self.render()

    def render(self) -> str:  # pragma: no cover - every node defines it
        raise NotImplementedError

    def unit_hits(self, doc: Document) -> tuple[tuple[Hit, ...], str]:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class _Term(_Reported):
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
class _Regex(_Reported):
    pattern: str
    compiled: regex.Pattern[str] = field(compare=False, repr=False)
    where: tuple[FieldName, ...] = _BOTH

    prec: ClassVar[int] = _ATOM

    @property
    def sel(self) -> slice:
        return _SELECT[self.where]

    def test(self, doc: Document) -> bool:
        return any(self._search(f, True)[0] for f in doc._fields[self.sel])

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


def _regex_problem(exc: Exception) -> tuple[str, int]:
    """The regex module's message without "at position N", and N (0 when it has none)."""
    message = str(getattr(exc, "msg", None) or exc)
    position = getattr(exc, "pos", None)
    return message, position if isinstance(position, int) else 0


def _make_regex(pattern: str, column: int) -> _Regex:
    """Compile a /regex/ term; column is where its opening "/" is."""
    import regex  # here: rules without a /regex/ load without the regex module

    flags = regex.IGNORECASE | regex.FULLCASE
    try:
        user = regex.compile(pattern, flags)
    except regex.error as exc:
        message, position = _regex_problem(exc)
        raise QueryError(f"bad regex: {message}", column + 1 + position) from None
    if user.fullmatch("") is not None:
        raise QueryError("regex matches empty text", column)
    try:  # match whole tokens: start after a space (or at the start), end before one
        compiled = regex.compile(rf"(?<!\S)(?:{pattern})(?!\S)", flags)
    except regex.error as exc:  # pragma: no cover - e.g. a (?x) comment eating the ")"
        raise QueryError(f"bad regex: {_regex_problem(exc)[0]}", column) from None
    return _Regex(pattern, compiled)
