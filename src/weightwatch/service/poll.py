"""One poll of one source, fetched and stored: the I/O around the pure decisions.

``fetch_source`` fetches and parses (``sources.http``, ``sources.feeds``, ``sources.page``).
Storing a poll has three steps, so the daemon can run the middle one off the writer thread:

1. ``read_seen`` (storage): which of the fetched items' ids are known, and a watched
   page's block fingerprints;
2. ``prepare_poll`` (pure work): the page diff, the new items, the source's next state and
   health (``sources.health``, ``delivery.routing``), and the new items matched against
   the rules (``matching.hits.match``);
3. ``write_poll`` (storage): one read of the story context for those hits, the story
   decisions (``matching.hits.decide``, pure), then one transaction with everything.

A 200 whose decoded body is byte-identical to the source's last one (``body_hash``) is
not parsed or matched: it holds nothing new (its items are all known), so it is stored like
a 304, as "unchanged", with its new validators. Many servers send no ETag/Last-Modified, or
new ones for the same bytes.

``store_poll`` runs the three in a row (``once``). The daemon decides off the writer
thread instead (``read_story`` then ``decide_poll``) and hands the decision to
``write_poll``, which uses it only if no hit was stored since its read. One failing
source never stops others.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from weightwatch.config import Config, Source
from weightwatch.delivery import routing
from weightwatch.errors import ParseError, SourceError, StorageError
from weightwatch.sources import health
from weightwatch.sources.http import Conditional, Fetcher, Response
from weightwatch.storage.store import Storage
from weightwatch.types import (
    FeedResult,
    Item,
    NewAlert,
    NewHit,
    PageBlocks,
    PageResult,
    SourceOutcome,
    SourceState,
    SourceUpdate,
    StoryContext,
    Validators,
)

if TYPE_CHECKING:
    from weightwatch.matching import hits as decider
    from weightwatch.sources import pagediff  # imported where a page or a 200 needs it

log = logging.getLogger("weightwatch")


@dataclass
class Fetched:
    source: Source
    state: SourceState
    started: float
    response: Response | None = None
    feed: FeedResult | None = None
    error: SourceError | None = None
    page: PageResult | None = None  # a watched page: its blocks; feed.items come from the diff
    body_hash: str | None = None  # a 200's (``body_hash``)
    unchanged: bool = False  # a 200 with the body of the last one: not parsed


def body_hash(source: Source, body: bytes) -> str:
    """The hash a 200's decoded body is recognised by at the next poll. How the source is
    read (kind, selector, ignore, prefer_feed) is part of it: after a config change the
    same bytes are read again."""
    reading = f"{source.kind}\0{source.selector}\0{source.ignore}\0{source.prefer_feed}\0"
    return hashlib.sha256(reading.encode() + body).hexdigest()


def fetch_source(fetcher: Fetcher, source: Source, state: SourceState) -> Fetched:
    out = Fetched(source, state, time.monotonic())
    url = state.permanent_url or source.url
    conditional: Conditional | None = Conditional(state.etag, state.last_modified)
    rereading = source.prefer_feed and state.kind == "page"
    if rereading:
        conditional = None  # read the page again: it may advertise a feed by now
    try:
        out.response = fetcher.fetch(url, conditional, source=source.name, origin=source.url)
        if out.response.status == 200:
            out.body_hash = body_hash(source, out.response.body)
            if out.body_hash == state.body_hash and state.primed and not rereading:
                out.unchanged = True
            else:
                out.response, out.feed, out.page = _read(fetcher, source, out.response)
            out.response = replace(out.response, body=b"")  # parsed: the bytes can go
    except SourceError as exc:
        out.error = exc
    except Exception as exc:  # never let one source's surprise kill the worker
        log.exception("Unexpected error polling %s.", source.name)
        out.error = SourceError(f"unexpected error: {type(exc).__name__}", source=source.name)
    return out


def _read(
    fetcher: Fetcher, source: Source, response: Response
) -> tuple[Response, FeedResult, PageResult | None]:
    """A 200 body as a feed or as a page, by the source's kind (docs/pages.md).

    ``auto`` reads a feed as a feed and an HTML page as a page. With ``prefer_feed`` a page
    that advertises a feed is swapped for it, and the response returned is the feed's, its
    URL as the permanent one: later polls fetch the feed itself.
    """
    # Imported at the first 200: a cycle of 304s loads neither feedparser nor selectolax.
    from weightwatch.sources import feeds as _parser
    from weightwatch.sources import page as _page

    kind = "auto" if source.prefer_feed else source.kind
    if kind != "page":
        try:
            feed = _parser.parse(
                response.body,
                source=source.name,
                url=response.url,
                now=datetime.now(UTC),
                headers=response.headers,
            )
            return response, feed, None
        except ParseError as exc:
            if kind == "feed" or not _page.is_html(response.body, response.headers):
                raise
            served_as_html = "html" in response.headers.get("content-type", "").lower()
            if isinstance(exc, _parser.TooMuchMarkup) and not served_as_html:
                raise  # XML with too much markup to parse: not a page to read instead
    if source.prefer_feed:
        from weightwatch.sources import discover

        text = discover.decode(response.body[: discover.SCAN_LIMIT], response.headers)
        found = discover.find_feeds(text, response.url)
        for candidate in [c for c in found if c.origin == "advertised"][:3]:
            try:
                got = fetcher.fetch(candidate.url, source=source.name, origin=source.url)
                feed = _parser.parse(
                    got.body,
                    source=source.name,
                    url=got.url,
                    now=datetime.now(UTC),
                    headers=got.headers,
                )
            except SourceError as exc:
                log.info("%s: advertised feed %s not usable: %s", source.name, candidate.url, exc)
                continue
            log.info("%s: switching to the advertised feed %s.", source.name, candidate.url)
            return replace(got, permanent_url=got.permanent_url or candidate.url), feed, None
    page = _page.extract(
        response.body,
        url=response.url,
        headers=response.headers,
        selector=source.selector,
        ignore=source.ignore,
        source=source.name,
    )
    return response, FeedResult(kind="page", title=page.title, warning=page.warning), page


@dataclass(frozen=True)
class Seen:
    """What storage knows of a fetched poll before it is stored (``read_seen``): the ids
    of its items already stored, and for a watched page its diff against the blocks seen
    within ``pagediff.WINDOW`` (the page's items are that diff's); and the database's salt
    for channel URL keys (``Storage.url_salt``)."""

    url_salt: bytes
    known_ids: frozenset[str] = frozenset()
    page: pagediff.PageDiff | None = None


def read_seen(storage: Storage, fetched: Fetched, now: datetime) -> Seen:
    """Read what ``prepare_poll`` needs from storage (nothing for a failure or a 304)."""
    feed, response = fetched.feed, fetched.response
    if feed is None or response is None or fetched.error is not None or response.status != 200:
        return Seen(storage.url_salt)
    name = fetched.source.name
    page = None
    items = feed.items
    if fetched.page is not None:
        from weightwatch.sources import pagediff

        prints = storage.page_fingerprints(name, now - pagediff.WINDOW)
        page = pagediff.diff(fetched.page, prints, source=name, url=response.url, now=now)
        items = page.items
    known = frozenset(storage.known_item_ids(name, [i.id for i in items]))
    return Seen(storage.url_salt, known, page)


class _NoMatches:
    """``matching.hits.Matches()`` (no hits) without loading the matcher: a poll with no
    new item (a 304, an unchanged body) never needs it."""

    items: tuple[()] = ()


NO_MATCHES = cast("decider.Matches", _NoMatches())


@dataclass
class Prepared:
    """A poll ready to be written: the source's next state, the new items, their hits
    (story decisions still to make), the ops notices; and what to log and report."""

    source: Source
    state: SourceState
    update: SourceUpdate
    duration: float
    status: str  # "ok", "not modified", "unchanged", "error"
    url_salt: bytes  # keys the alerts' channel URLs (``Seen.url_salt``)
    error: str = ""
    notices: list[NewAlert] = field(default_factory=list)
    fresh: list[Item] = field(default_factory=list)
    matches: decider.Matches = field(default_factory=lambda: NO_MATCHES)
    page_blocks: PageBlocks | None = None
    items_total: int = 0  # items in the feed (for the log)
    primed: bool = False  # first poll recorded without alerting
    present: tuple[str, ...] | None = None  # a feed's 200: every item id in the document


class Bookkeeping:
    """The polls of a cycle that change nothing but their source's poll bookkeeping, kept
    to be written together (``once``): one transaction at the end instead of one commit
    per 304 (``Storage.record_bookkeeping``).

    Only a 304 or an unchanged body with no notice (no health change to report) and no
    watched page's fingerprints qualifies: anything that can alert is written as its poll
    is stored. A cycle that ends before ``flush`` loses only these rows: the next poll
    sends the same conditional GET again.
    """

    def __init__(self) -> None:
        self._polls: list[Prepared] = []

    def __len__(self) -> int:
        return len(self._polls)

    def take(self, prepared: Prepared) -> SourceOutcome | None:
        """Keep a poll that qualifies and return its outcome; None: write it now."""
        if (
            prepared.status not in ("not modified", "unchanged")
            or prepared.notices
            or prepared.page_blocks is not None
        ):
            return None
        self._polls.append(prepared)
        return SourceOutcome(prepared.source.name, prepared.status, duration=prepared.duration)

    def flush(self, storage: Storage) -> None:
        """Write the polls kept so far in one transaction (raises ``StorageError``)."""
        polls, self._polls = self._polls, []
        storage.record_bookkeeping([(p.source.name, p.update) for p in polls])
        for p in polls:
            log.info("%s: %s (%.1f s)", p.source.name, p.status, p.duration)


def store_poll(
    config: Config,
    storage: Storage,
    fetched: Fetched,
    now: datetime,
    backfill: bool,
    bookkeeping: Bookkeeping | None = None,
) -> SourceOutcome:
    """Store one fetched poll: read what is known, prepare, decide and write (one thread).

    With ``bookkeeping``, a poll that only updates its source's bookkeeping (a 304 ...) is
    kept there for its ``flush`` instead of written now.
    """
    prepared = prepare_poll(config, fetched, read_seen(storage, fetched, now), now, backfill)
    if bookkeeping is not None and (outcome := bookkeeping.take(prepared)) is not None:
        return outcome
    return write_poll(config, storage, prepared, now)


def prepare_poll(
    config: Config, fetched: Fetched, seen: Seen, now: datetime, backfill: bool
) -> Prepared:
    """Everything about a poll that needs no storage: the page diff, the new items, the
    source's next state and health, and the new items matched against the rules."""
    source, state = fetched.source, fetched.state
    duration = time.monotonic() - fetched.started
    if fetched.error is not None or fetched.response is None:
        error = fetched.error or SourceError("no response")
        update = health.after_failure(
            now=now, error=error, failures_before=state.consecutive_failures
        )
        update, notices = _health(config, source, state, update, now, seen.url_salt, new_items=0)
        return Prepared(
            source,
            state,
            update,
            duration,
            "error",
            seen.url_salt,
            error=str(error),
            notices=notices,
        )

    response, feed = fetched.response, fetched.feed
    page = seen.page if fetched.page is not None else None
    if feed is not None and page is not None:
        feed = replace(feed, items=page.items, warning=page.warning or feed.warning)
    update = health.after_success(
        now=now,
        status=response.status,
        etag=response.etag,
        last_modified=response.last_modified,
        permanent_url=response.permanent_url,
        kind=feed.kind if feed else None,
        warning=feed.warning if feed else "",
    )
    if fetched.unchanged:  # the last body again: its new validators, the same kind
        validators = Validators(response.etag, response.last_modified, state.kind, state.body_hash)
        update = replace(update, last_status="unchanged", validators=validators, unchanged=True)
    elif update.validators is not None:
        update = replace(update, validators=replace(update.validators, body_hash=fetched.body_hash))
    if response.status == 304 or feed is None:
        update, notices = _health(config, source, state, update, now, seen.url_salt, new_items=0)
        unchanged = None
        if state.kind == "page":
            from weightwatch.sources import pagediff

            unchanged = PageBlocks(None, now - pagediff.WINDOW)
        return Prepared(
            source,
            state,
            update,
            duration,
            "unchanged" if fetched.unchanged else "not modified",
            seen.url_salt,
            notices=notices,
            page_blocks=unchanged,
        )

    from weightwatch.sources import pagediff  # a 200 (a 304 never needs it)

    fresh = health.new_items(feed.items, set(seen.known_ids))
    priming = not state.primed or pagediff.starts_over(state.kind, feed.kind, page)
    alerting = (not priming or backfill or source.backfill) and not (page and page.redesign)
    # A first poll that does not alert is not matched at all: the user was never told about
    # that backlog, so a later report of one of its stories elsewhere is news to them.
    rules = [r for r in config.rules if r.applies_to(source)]
    matches = NO_MATCHES
    if alerting and fresh:  # the matcher (and its story code) loads when there is news
        from weightwatch.matching import hits as decider

        matches = decider.match(fresh, rules)
    if fresh or priming:
        update = replace(update, last_new_item=now)
    salt = seen.url_salt
    update, notices = _health(config, source, state, update, now, salt, new_items=len(fresh))
    return Prepared(
        source,
        state,
        update,
        duration,
        "ok",
        salt,
        notices=notices,
        fresh=fresh,
        matches=matches,
        page_blocks=PageBlocks(page.fingerprints, now - pagediff.WINDOW) if page else None,
        items_total=len(feed.items),
        primed=priming and not alerting,
        present=None if page else tuple(i.id for i in feed.items),
    )


@dataclass(frozen=True)
class Decided:
    """A poll's story decisions, made on a read of the story context taken when the newest
    stored hit was ``mark``: still right while no hit has been stored since."""

    mark: int
    hits: list[NewHit]


def story_mark(storage: Storage) -> int:
    """The newest stored hit's id: a decision made on an earlier read still holds while
    it is unchanged."""
    return storage.last_hit_id()


def read_story(
    config: Config, storage: Storage, prepared: Prepared, now: datetime
) -> tuple[int, StoryContext]:
    """The story context of a prepared poll's hits, with the mark ``Decided`` keeps."""
    lookup = prepared.matches.lookup(now, config.settings.dedup_window)
    return story_mark(storage), storage.story_context(lookup)


def decide_poll(config: Config, prepared: Prepared, context: StoryContext) -> list[NewHit]:
    """The story decisions and alerts of a prepared poll's hits (pure: no storage)."""
    from weightwatch.delivery import templates  # jinja2: only when there are hits to decide

    settings = config.settings
    from weightwatch.matching import hits as decider

    return decider.decide(
        prepared.matches,
        context,
        source=prepared.source.name,
        channels=config.channels,
        templates=templates.cached,
        url_salt=prepared.url_salt,
        dedup_window=settings.dedup_window,
        title_similarity=settings.title_similarity,
        max_alerts=settings.max_alerts_per_poll,
    )


def write_poll(
    config: Config,
    storage: Storage,
    prepared: Prepared,
    now: datetime,
    decided: Decided | None = None,
) -> SourceOutcome:
    """Decide the stories of a prepared poll's hits on one read of the story context, then
    write items, hits, alerts, notices and the source's state in one transaction.

    In the daemon this runs on the writer thread: the read, the (pure) decision and the
    write see no other source's write in between, so two sources reporting one story at
    the same time still make one story. ``decided`` (made off the writer thread on an
    earlier read) is used instead when no hit has been stored since that read, so the
    same holds; otherwise the decision is made again here.

    A poll that fetched fine but cannot be decided or stored for a reason of its own (any
    exception but a ``StorageError``) is recorded as a failed poll of its source, like a
    fetch error: it shows in ``status``, counts towards the source's failures and health
    messages, and the items are fetched again next time (the validators are not saved).
    A ``StorageError`` is the database's failure, not the source's: it is raised for the
    caller (``once`` stops with the storage message; the daemon logs it once per kind and
    goes on polling), so a full disk does not mark every source broken.
    """
    try:
        return _write_poll(config, storage, prepared, now, decided)
    except StorageError:
        raise
    except Exception as exc:
        if prepared.status == "error":
            raise  # recording a failure failed: there is nothing simpler to record
        return record_poll_error(
            config, storage, prepared.source, prepared.state, now, exc, prepared.duration
        )


def record_poll_error(
    config: Config,
    storage: Storage,
    source: Source,
    state: SourceState,
    now: datetime,
    exc: Exception,
    duration: float = 0.0,
) -> SourceOutcome:
    """Record a poll that was fetched but could not be decided or stored as a failed poll;
    re-raises ``exc`` when even that cannot be written."""
    name = source.name
    if isinstance(exc, StorageError):
        message = f"could not store the poll: {exc}"
        log.error("%s: %s", name, message)
    else:
        message = f"internal error storing the poll ({type(exc).__name__}: {exc}); see the log"
        log.exception("%s: storing the poll failed.", name)
    error = SourceError(message, source=name)
    update = health.after_failure(now=now, error=error, failures_before=state.consecutive_failures)
    update, notices = _health(config, source, state, update, now, storage.url_salt, new_items=0)
    try:
        storage.record_failure(name, update, notices, now=now)
    except StorageError as again:
        raise exc from again
    return SourceOutcome(name, "error", error=message, duration=duration)


def _write_poll(
    config: Config,
    storage: Storage,
    prepared: Prepared,
    now: datetime,
    decided: Decided | None,
) -> SourceOutcome:
    p = prepared
    name = p.source.name
    if p.status == "error":
        storage.record_failure(name, p.update, p.notices, now=now)
        log.warning("%s: failed after %.1f s: %s", name, p.duration, p.error)
        return SourceOutcome(name, "error", error=p.error, duration=p.duration)
    if p.status in ("not modified", "unchanged"):
        storage.record_poll(
            name,
            now=now,
            items=[],
            hits=[],
            state=p.update,
            notices=p.notices,
            page_blocks=p.page_blocks,
        )
        log.info("%s: %s (%.1f s)", name, p.status, p.duration)
        return SourceOutcome(name, p.status, duration=p.duration)

    new_hits: list[NewHit] = []
    if p.matches.items:
        if decided is not None and decided.mark == story_mark(storage):
            new_hits = decided.hits
        else:
            new_hits = decide_poll(config, p, read_story(config, storage, p, now)[1])
    storage.record_poll(
        name,
        now=now,
        items=[(i.id, i.link, i.title, i.text, i.published) for i in p.fresh],
        hits=new_hits,
        state=p.update,
        notices=p.notices,
        page_blocks=p.page_blocks,
        present=p.present,
    )
    alert_rows = sum(len(h.alerts) for h in new_hits)
    originals = sum(1 for h in new_hits if h.duplicate_of is None and h.duplicate_of_batch is None)
    log.info(
        "%s: ok, %d items, %d new, %d hits, %d alerts queued%s (%.1f s)",
        name,
        p.items_total,
        len(p.fresh),
        originals,
        alert_rows,
        ", first poll recorded silently" if p.primed else "",
        p.duration,
    )
    return SourceOutcome(
        name,
        "ok",
        new_items=len(p.fresh),
        hits=originals,
        alerts=alert_rows,
        duration=p.duration,
        primed=p.primed,
    )


def _health(
    config: Config,
    source: Source,
    state: SourceState,
    update: SourceUpdate,
    now: datetime,
    url_salt: bytes,
    *,
    new_items: int,
) -> tuple[SourceUpdate, list[NewAlert]]:
    """``update`` with the source's health, and the ops channel's messages for a change."""
    settings = config.settings
    update, event = health.settle(
        state,
        update,
        new_items=new_items,
        stale_after=source.stale_after,
        now=now,
        max_failures=settings.health_failures,
        max_silence=settings.health_after,
    )
    if event is not None:
        log.warning("%s: source %s.", source.name, event)
    ops = config.channels.get(settings.ops) if settings.ops else None
    return update, routing.health_notices(
        ops, event, source=source, state=state, update=update, now=now, salt=url_salt
    )
