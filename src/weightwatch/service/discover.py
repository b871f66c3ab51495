"""``weightwatch discover URL``: the thin shell around ``discover``.

Fetches the page, asks ``discover.find_feeds`` for candidates, fetches each candidate to
check that it is a feed (unless told not to), tries the page itself as a watched page, and
prints ready-to-paste ``[[source]]`` tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from weightwatch.config import DEFAULT_MAX_BODY, DEFAULT_TIMEOUT
from weightwatch.errors import ParseError, SourceError
from weightwatch.sources import discover
from weightwatch.sources import feeds as _parser
from weightwatch.sources import page as _page
from weightwatch.sources.http import Fetcher, Response
from weightwatch.types import FeedResult

#: Candidates fetched to check them, at most (one at a time).
MAX_CHECKED = 12

_KIND_NAMES = {"rss": "RSS", "atom": "Atom", "rdf": "RSS 1.0", "json": "JSON Feed", "": "feed"}


@dataclass
class _Checked:
    candidate: discover.Candidate
    feed: FeedResult | None = None
    error: str = ""


def run(
    url: str,
    out: TextIO,
    *,
    check: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    user_agent: str | None = None,
) -> int:
    """Print what ``url`` offers; 0 when the page was read, 1 when it could not be fetched."""
    fetcher = Fetcher(timeout=timeout, max_body=DEFAULT_MAX_BODY, user_agent=user_agent)
    try:
        try:
            response = fetcher.fetch(url, source="discover")
        except SourceError as exc:
            out.write(f"Could not fetch {url}: {exc}\n")
            return 1
        feed = _as_feed(response)
        if feed is not None:
            kind = _KIND_NAMES.get(feed.kind, feed.kind)
            out.write(f"{url} is itself a feed ({kind}, {_items(feed)}).\n\n")
            name = discover.source_name(feed.title, url)
            out.write(discover.source_block(name, url, comment=feed.title or "") + "\n")
            return 0

        text = discover.decode(response.body, response.headers)
        candidates = discover.find_feeds(text, response.url)
        checked = [_Checked(c) for c in candidates[:MAX_CHECKED]]
        if check:
            for entry in checked:
                entry.feed, entry.error = _try_feed(fetcher, entry.candidate.url)
        try:
            page = _page.extract(response.body, url=response.url, headers=response.headers)
            page_note, title, page_ok = f"{len(page.blocks)} blocks of text", page.title, True
        except ParseError as exc:
            page_note, title, page_ok = exc.message, "", False
        _report(out, url, title, checked, check, page_note, page_ok=page_ok)
        return 0
    finally:
        fetcher.close()


def _read_feed(response: Response) -> FeedResult:
    """``response`` read as a feed (ParseError when it is not one)."""
    return _parser.parse(
        response.body,
        source="",
        url=response.url,
        now=datetime.now(UTC),
        headers=response.headers,
    )


def _as_feed(response: Response) -> FeedResult | None:
    """``response`` read as a feed, or None when it is not one (a page)."""
    try:
        return _read_feed(response)
    except ParseError:
        return None


def _try_feed(fetcher: Fetcher, url: str) -> tuple[FeedResult | None, str]:
    try:
        return _read_feed(fetcher.fetch(url, source="discover")), ""
    except SourceError as exc:
        return None, exc.message


def _report(
    out: TextIO,
    url: str,
    title: str,
    checked: list[_Checked],
    check: bool,
    page_note: str,
    *,
    page_ok: bool,
) -> None:
    write = out.write
    write(f"{url}" + (f"  ({title})" if title else "") + "\n\n")
    good = [c for c in checked if c.feed is not None or not check]
    bad = [c for c in checked if check and c.feed is None]
    names: list[str] = []
    if good:
        noun = "feed" if len(good) == 1 else "feeds"
        write(f"{len(good)} {noun}" + (" (each fetched and read):" if check else ":") + "\n\n")
    else:
        write("No feed found for this page.\n\n")
    for entry in good:
        c, feed = entry.candidate, entry.feed
        kind = _KIND_NAMES.get(feed.kind if feed else c.kind, c.kind)
        where = "advertised by the page" if c.origin == "advertised" else c.origin
        if c.origin == "linked":
            where = "linked from the page"
        label = (feed.title if feed and feed.title else c.title) or ""
        comment = f"{kind}, {where}" + (f": {label}" if label else "")
        if feed is not None:
            comment += f" ({_items(feed)})"
        name = discover.source_name(label or c.title, c.url, names)
        names.append(name)
        write(discover.source_block(name, c.url, comment=comment) + "\n\n")
    if bad:
        write("Candidates that are not feeds:\n")
        for entry in bad:
            write(f"  {entry.candidate.url} ({entry.candidate.origin}): {entry.error}\n")
        write("\n")
    if page_ok:
        name = discover.source_name(title, url, names)
        extra = ['kind = "page"', '# selector = "main"   # watch only this part of the page']
        if any(c.candidate.origin == "advertised" for c in good):
            extra.append("# prefer_feed = true  # or: switch to the feed the page advertises")
        comment = f"Or watch the page's text itself ({page_note}; see docs/pages.md)"
        write(discover.source_block(name, url, comment=comment, extra=extra) + "\n")
    else:
        write(f"The page itself cannot be watched. {page_note}\n")


def _items(feed: FeedResult) -> str:
    count = len(feed.items)
    return f"{count} item" + ("" if count == 1 else "s")


@dataclass(frozen=True)
class Offer:
    """A feed a page offers, fetched and read (``weightwatch add``)."""

    url: str
    title: str  # the feed's own title, else the page's label for it
    kind: str  # "RSS", "Atom", ...
    origin: str  # "the URL itself", "advertised by the page", "linked from the page", a platform
    items: int


def offers(
    url: str, *, timeout: float = DEFAULT_TIMEOUT, user_agent: str | None = None
) -> list[Offer]:
    """The feeds at ``url`` (itself, or the ones its page offers that read as feeds).

    SourceError when the page cannot be fetched; an empty list when it offers no feed.
    """
    fetcher = Fetcher(timeout=timeout, max_body=DEFAULT_MAX_BODY, user_agent=user_agent)
    try:
        response = fetcher.fetch(url, source="discover")
        feed = _as_feed(response)
        if feed is not None:
            kind = _KIND_NAMES.get(feed.kind, feed.kind)
            return [Offer(url, feed.title or "", kind, "the URL itself", len(feed.items))]
        text = discover.decode(response.body, response.headers)
        found: list[Offer] = []
        for candidate in discover.find_feeds(text, response.url)[:MAX_CHECKED]:
            got, _ = _try_feed(fetcher, candidate.url)
            if got is None:
                continue
            origin = {"advertised": "advertised by the page", "linked": "linked from the page"}
            found.append(
                Offer(
                    candidate.url,
                    got.title or candidate.title,
                    _KIND_NAMES.get(got.kind, got.kind),
                    origin.get(candidate.origin, candidate.origin),
                    len(got.items),
                )
            )
        return found
    finally:
        fetcher.close()
