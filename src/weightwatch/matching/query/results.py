"""What a match returns: spans, hits, term reports and ``Match``.

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

"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from weightwatch.matching.query.document import FieldName

How = Literal["exact", "stem", "hyphen-join", "typo", "regex", "near", "proximity"]


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
