"""How much markup a body may have before it is parsed (pure).

feedparser (expat through SAX) cannot be interrupted and holds the GIL: a body of a million
nested or flat elements took 11–33 s, past any fetch deadline. ``too_much_markup`` bounds
the work before the parser sees the body, in a pass that costs nearly nothing on real feeds.
"""

from __future__ import annotations

import re

#: Deepest element nesting parsed (a real feed nests a few dozen; Blink stops HTML at 512).
MAX_DEPTH = 512
#: Most elements parsed: 150,000 ``<a/>`` take about 5 s here; 10,000 items of a dozen
#: elements each fit.
MAX_ELEMENTS = 150_000

_HIDDEN_MARKUP_RE = re.compile(rb"<!--|<!\[CDATA\[")
_XML_TAG_RE = re.compile(rb"<(/?)[^\s<>/!?][^<>]*?(/?)>")


def _markup(data: bytes) -> list[bytes]:
    """The parts of ``data`` outside comments and CDATA sections (an unclosed one runs to
    the end), in one linear pass."""
    parts: list[bytes] = []
    pos = 0
    while match := _HIDDEN_MARKUP_RE.search(data, pos):
        parts.append(data[pos : match.start()])
        end = data.find(b"-->" if match.group() == b"<!--" else b"]]>", match.end())
        if end < 0:
            return parts
        pos = end + 3
    parts.append(data[pos:])
    return parts


def too_much_markup(data: bytes) -> str:
    """Why ``data`` has too many elements or nests them too deep to parse, or ``""``.

    Counts at C speed first: every "<" that is not "</", "<!" or "<?" may open an element,
    so a body with few of them (nearly every feed) is done at once. Only past ``MAX_DEPTH``
    such "<" are comments and CDATA left out and the elements counted, and only then, with
    at most ``MAX_ELEMENTS`` of them, is the nesting followed tag by tag.
    """

    def opens(part: bytes) -> int:
        return part.count(b"<") - part.count(b"</") - part.count(b"<!") - part.count(b"<?")

    if opens(data) <= MAX_DEPTH:
        return ""
    parts = _markup(data)
    elements = sum(map(opens, parts))
    if elements > MAX_ELEMENTS:
        return f"The feed has more than {MAX_ELEMENTS:,} elements (a real feed has far fewer)"
    if elements <= MAX_DEPTH:
        return ""
    depth = 0
    for part in parts:
        for closing, empty in _XML_TAG_RE.findall(part):
            if closing:
                depth = max(depth - 1, 0)
            elif not empty:
                depth += 1
                if depth > MAX_DEPTH:
                    return (
                        f"The feed nests elements more than {MAX_DEPTH} deep "
                        "(a real feed nests a few dozen)"
                    )
    return ""
