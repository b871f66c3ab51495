"""The query parser: tokens -> a tree of nodes, with ``QueryError`` at the column of a
problem; ``parse``, ``from_lists`` and ``all_of`` build a ``Query``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from weightwatch.errors import QueryError
from weightwatch.matching.query.document import FieldName
from weightwatch.matching.query.lexer import _bare_ok, _lex, _Tok
from weightwatch.matching.query.nodes import (
    Query,
    _and,
    _Near,
    _Node,
    _Not,
    _or,
    _positional,
    _scope,
)
from weightwatch.matching.query.terms import _make_regex, _make_term, _Term


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
