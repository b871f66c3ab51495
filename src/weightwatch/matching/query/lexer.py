"""The query lexer: query text -> tokens, each with the 1-based column it starts at."""

from __future__ import annotations

import re
from dataclasses import dataclass

from weightwatch.errors import QueryError
from weightwatch.matching.query.words import _DOUBLE_QUOTES, _HYPHENS

MAX_DISTANCE = 50  # NEAR/n, "phrase"~n and a rule's proximity: at most this many words between
_QUOTES_TO_SPACES = str.maketrans({c: " " for c in _DOUBLE_QUOTES})
_LEX_MAP = str.maketrans(
    {**{c: "-" for c in _HYPHENS}, **{c: '"' for c in _DOUBLE_QUOTES}, "（": "(", "）": ")"}
)
_KEYWORDS = frozenset({"AND", "OR", "NOT"})
_FIELD_RE = re.compile(r"(title|text):", re.IGNORECASE)
_NEAR_RE = re.compile(r"NEAR/(\d+)")


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
