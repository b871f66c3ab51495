"""Plain values passed between the pure core and the thin shell."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of a feed, reduced to what matching, dedup and alerts need.

    ``id`` is the feed's guid, else the link, else a hash of title and text.
    ``link`` is the canonical link (see ``urls.canonical_url``), ``""`` when the entry has none.
    ``title`` and ``text`` are plain text: tags stripped, entities decoded, whitespace collapsed.
    ``published`` is timezone-aware UTC, or None when the feed gives no usable date.
    """

    source: str
    id: str
    link: str
    title: str
    text: str
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What one successful parse of a body produced."""

    kind: str  # "rss", "atom", "rdf", "json"
    title: str
    items: list[Item] = field(default_factory=list)
    warning: str = ""  # set when the feed was malformed but salvageable
    ttl: float | None = None  # seconds; RSS <ttl> (given in minutes), a hint to poll less often


@dataclass(frozen=True, slots=True)
class Block:
    """One block of visible text on a page: a heading, paragraph, list item or table row.

    ``fingerprint`` identifies the text (a hash of its normalised form: case, whitespace,
    Unicode variants and relative times such as "3 hours ago" do not change it).
    ``heading`` is the text of the nearest heading above it (its own text for a heading),
    ``anchor`` the nearest ``id`` at or before it, so ``page#anchor`` scrolls close to it.
    """

    fingerprint: str
    text: str
    kind: str  # "heading", "paragraph", "item", "row", "text"
    heading: str = ""
    anchor: str = ""


@dataclass(frozen=True, slots=True)
class PageResult:
    """What one successful extraction of an HTML page produced (see ``_page.extract``)."""

    title: str
    blocks: tuple[Block, ...] = ()
    warning: str = ""
