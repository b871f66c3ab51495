"""Reports on a match: ``explain`` (every term, matched or not) and ``snippet``."""

from __future__ import annotations

from weightwatch.matching.query.document import Document
from weightwatch.matching.query.nodes import Query, _And, _Near, _Node, _Not, _Or, _Unit
from weightwatch.matching.query.results import Match, TermReport
from weightwatch.matching.query.terms import _Regex, _Term


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


def explain(query: Query, doc: Document) -> list[TermReport]:
    """A report for every term of the query, matched or not, in query order.

    Terms under ``NOT`` are included with ``negated=True``; a ``NEAR`` is one term whose
    ``parts`` report each side's terms. A term written twice (same polarity) is reported
    once. Whether the whole query matched is ``query.match(doc) is not None``.
    """
    units: list[tuple[_Unit, bool]] = []
    _walk(query._root, False, units)
    return [_report(unit, doc, negated) for unit, negated in units]


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
