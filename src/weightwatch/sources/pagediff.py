"""Which text on a watched page is new: pure functions over ``Block`` values, no I/O.

A block is new when its fingerprint was not on the page at any successful poll within
``WINDOW`` (30 days). So moving blocks around is not new text, a teaser that rotates back in
is not new, and a keyword that has sat on the page for weeks does not alert again when some
other part of the page changes.

New blocks become ``Item`` values that go through the same matching, dedup and alerts as
feed items:

- Consecutive new blocks form one item, and a heading starts a new one: a new section (its
  heading, paragraphs and list items) is one alert, not one per line. A new heading's text is
  the item's title and the rest its text; new text under an older heading is titled with
  its own first words, so rules look at new text only.
- ``id`` is ``"block:"`` and the first block's fingerprint, so the items table dedups them.
- ``published`` is the time of the poll that found the text (None on a first poll).
- ``link`` is the page's URL (as fetched: ``canonical_url`` would drop a trailing slash that
  some servers need) with a fragment that leads to the text: the nearest
  ``id`` before it (``#anchor``) and a text directive (``:~:text=start,end``) that
  browsers which support text fragments scroll to and highlight. The fragment also keeps
  links of different blocks apart: dedup treats "same link" as "same story", and every block
  of a page shares the page's URL.

The first successful poll of a page (or the first in ``WINDOW``) records the blocks without
new items; so does a poll where nearly all of a large page is new at once (a redesign, or
a changed ``selector`` / ``ignore``), with a warning, instead of flooding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

from weightwatch.types import Block, Item, PageResult

__all__ = [
    "MARKER",
    "REDESIGN_MIN_BLOCKS",
    "REDESIGN_SHARE",
    "WINDOW",
    "PageDiff",
    "block_link",
    "diff",
    "first_words",
    "starts_over",
]

#: How long a fingerprint is remembered after the block was last seen on the page.
WINDOW = timedelta(days=30)
#: Stored with the fingerprints of every successful page poll: "this page has a baseline",
#: also when the watched part was empty. Not a hex fingerprint, so it never collides.
MARKER = "-"
#: A poll where at least this share of the page's blocks, and at least this many, are new is
#: taken as a redesign: recorded without alerting.
REDESIGN_SHARE = 0.9
REDESIGN_MIN_BLOCKS = 30

TITLE_WORDS = 12
TITLE_CHARS = 160
TEXT_LIMIT = 20_000

_SENTENCE_END_RE = re.compile(r"[.!?](?=\s)")


@dataclass(frozen=True)
class PageDiff:
    """What one poll of a page changes: items for the new text, fingerprints to record."""

    items: list[Item] = field(default_factory=list)
    fingerprints: list[str] = field(default_factory=list)  # every block now, and MARKER
    new_blocks: int = 0
    first: bool = False  # no baseline within WINDOW: a first poll, recorded silently
    redesign: bool = False  # nearly all of a large page is new: recorded silently
    warning: str = ""


def diff(
    page: PageResult, seen: set[str], *, source: str, url: str, now: datetime | None = None
) -> PageDiff:
    """The new text of ``page`` given the fingerprints ``seen`` on it within the window.

    ``seen`` is empty when the page has no baseline (first poll): then every block is in
    ``items`` (for ``backfill``) and ``first`` is true.
    """
    blocks = page.blocks
    fingerprints = list(dict.fromkeys(b.fingerprint for b in blocks))
    fingerprints.append(MARKER)
    first = not seen
    is_new = [first or b.fingerprint not in seen for b in blocks]
    new_count = len({b.fingerprint for b, new in zip(blocks, is_new, strict=True) if new})
    warning = ""
    redesign = (
        not first
        and new_count >= REDESIGN_MIN_BLOCKS
        and new_count >= REDESIGN_SHARE * (len(fingerprints) - 1)
    )
    if redesign:
        warning = (
            f"{new_count} of the page's {len(fingerprints) - 1} blocks were new at once (a "
            "redesign, or a changed selector or ignore?); they were recorded without alerting."
        )
    items = group_items(blocks, is_new, source=source, url=url, now=None if first else now)
    return PageDiff(items, fingerprints, new_count, first, redesign, warning)


def starts_over(previous_kind: str | None, kind: str, page: PageDiff | None) -> bool:
    """Whether this poll is recorded like a first one: a page without a baseline, or a
    source that was a page and is now read as a feed (``prefer_feed``): none of its items
    were seen before, and alerting on the whole feed would be a flood."""
    if page is not None:
        return page.first
    return previous_kind == "page" and kind != "page"


def group_items(
    blocks: Sequence[Block],
    is_new: Sequence[bool],
    *,
    source: str,
    url: str,
    now: datetime | None = None,
) -> list[Item]:
    """Runs of consecutive new blocks as items; a heading block always starts a new run."""
    page_url = urlsplit(url)._replace(fragment="").geturl()
    items: list[Item] = []
    run: list[Block] = []
    emitted: set[str] = set()
    for block, new in zip(blocks, is_new, strict=True):
        if run and (not new or block.kind == "heading"):
            items.append(_item(run, source, page_url, now))
            run = []
        if new and block.fingerprint not in emitted:
            emitted.add(block.fingerprint)
            run.append(block)
    if run:
        items.append(_item(run, source, page_url, now))
    return items


def _item(run: list[Block], source: str, page_url: str, now: datetime | None) -> Item:
    first = run[0]
    if first.kind == "heading":
        title = _cut(first.text, TITLE_CHARS)
        rest = run[1:]
    else:
        title = first_words(first.text)
        rest = run
    text = _join(b.text for b in rest)
    return Item(
        source=source,
        id="block:" + first.fingerprint,
        link=block_link(page_url, first.anchor, first.text),
        title=title,
        text=text,
        published=now,
    )


def first_words(text: str, words: int = TITLE_WORDS, limit: int = TITLE_CHARS) -> str:
    """A title made of a block's start: its first sentence when short, else its first words."""
    end = _SENTENCE_END_RE.search(text)
    if end is not None and end.end() <= limit and len(text[: end.end()].split()) <= words + 8:
        return text[: end.end()]
    parts = text.split()
    if len(parts) <= words and len(text) <= limit:
        return text
    return _cut(" ".join(parts[:words]), limit).rstrip(".,;:") + "…"


def block_link(page_url: str, anchor: str, text: str) -> str:
    """``page_url#anchor:~:text=start,end``: close to the block, and different per block."""
    fragment = quote(anchor, safe="") if anchor else ""
    directive = _text_directive(text)
    if directive:
        fragment += ":~:text=" + directive
    return f"{page_url}#{fragment}" if fragment else page_url


def _text_directive(text: str) -> str:
    # Only the first cell of a table row: the " | " between cells is not on the page.
    words = text.split(" | ", 1)[0].split()
    if not words:
        return ""
    if len(words) <= 8:
        return _encode(" ".join(words))
    return _encode(" ".join(words[:4])) + "," + _encode(" ".join(words[-4:]))


def _encode(text: str) -> str:
    # "-", "," and "&" have a meaning in a text directive; quote() leaves "-" alone.
    return quote(text[:200], safe="").replace("-", "%2D")


def _join(texts: Iterable[str]) -> str:
    out: list[str] = []
    size = 0
    for text in texts:
        if size + len(text) > TEXT_LIMIT:
            out.append(_cut(text, max(TEXT_LIMIT - size, 1)))
            break
        out.append(text)
        size += len(text) + 1
    return "\n".join(out)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
