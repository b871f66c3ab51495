"""Generate small RSS feeds for tests (the corpus covers real-world shapes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass
class Entry:
    title: str
    link: str
    guid: str | None = None
    text: str = ""
    published: datetime | None = None


def rss(entries: list[Entry], title: str = "Test feed") -> bytes:
    base = datetime(2026, 11, 1, tzinfo=UTC)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>https://example.org/</link>",
        "<description>test</description>",
    ]
    for n, e in enumerate(entries):
        when = e.published or base + timedelta(hours=n)
        parts.append("<item>")
        parts.append(f"<title>{escape(e.title)}</title>")
        parts.append(f"<link>{escape(e.link)}</link>")
        if e.guid:
            parts.append(f'<guid isPermaLink="false">{escape(e.guid)}</guid>')
        parts.append(f"<pubDate>{format_datetime(when)}</pubDate>")
        parts.append(f"<description>{escape(e.text)}</description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")
