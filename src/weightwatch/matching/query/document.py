"""The prepared item a query matches against: ``prepare(title, text)`` -> ``Document``.

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
from itertools import pairwise
from typing import Literal

from weightwatch.matching.query.words import (
    _BREAK,
    _JOIN,
    _NEAR,
    _abbreviation,
    _gap,
    _gaps,
    _offsets,
    _positions,
    _scan,
)

FieldName = Literal["title", "text"]
_BOTH: tuple[FieldName, ...] = ("title", "text")
_SELECT = {("title", "text"): slice(0, 2), ("title",): slice(0, 1), ("text",): slice(1, 2)}
_Ranges = list[tuple[int, int]]  # token ranges [start, end) in one field


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
            # Every sentence start (gaps[0] is always _BREAK), then the end.
            cuts = [*_positions(gaps, 0, _BREAK), len(norms)] if gaps else [0, 0]
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
