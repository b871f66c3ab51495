"""The operators of a query (``NEAR``, ``NOT``, ``AND``, ``OR``) and the compiled ``Query``."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from weightwatch.errors import QueryError
from weightwatch.matching.query.document import Document, FieldName, _Field, _Ranges
from weightwatch.matching.query.lexer import MAX_DISTANCE
from weightwatch.matching.query.results import Hit, Match, _Collector
from weightwatch.matching.query.terms import _AND, _NEAR_OP, _NOT, _OR, _Regex, _Reported, _Term


@dataclass(frozen=True)
class _Near(_Reported):
    left: _Node
    right: _Node
    distance: int

    prec: ClassVar[int] = _NEAR_OP

    def test(self, doc: Document) -> bool:
        return any(self.field_test(f) for f in doc._fields)

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


class _Positionless:
    """``NOT`` and ``AND``: never a side of ``NEAR`` (the parser refuses it), so they have
    no positions in a field."""

    word: ClassVar[str]

    def field_test(self, f: _Field) -> bool:  # pragma: no cover - never a side of NEAR
        raise AssertionError(f"{self.word} has no positions")

    def field_hits(self, f: _Field, first: bool = False) -> _Ranges:  # pragma: no cover
        raise AssertionError(f"{self.word} has no positions")

    def describe(self, f: _Field, start: int, end: int) -> Hit:  # pragma: no cover
        raise AssertionError(f"{self.word} has no positions")


@dataclass(frozen=True)
class _Not(_Positionless):
    child: _Node
    prec: ClassVar[int] = _NOT
    word: ClassVar[str] = "NOT"

    def test(self, doc: Document) -> bool:
        return not self.child.test(doc)

    def collect(self, doc: Document, out: _Collector) -> None:
        return None  # a negation never contributes terms or spans

    def positive(self) -> list[str]:
        return []

    def render(self) -> str:
        inner = self.child.render()
        return "NOT " + (inner if self.child.prec >= _NOT else f"({inner})")


@dataclass(frozen=True)
class _And(_Positionless):
    children: tuple[_Node, ...]
    prec: ClassVar[int] = _AND
    word: ClassVar[str] = "AND"

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
