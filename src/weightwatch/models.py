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
