"""The pipeline of one poll cycle: fetch, parse, decide, store, deliver.

It only calls: decisions are in ``decide``, matching in ``query``, messages in ``render``,
I/O in ``_fetch``, ``_parser``, ``_storage`` and ``_notify``. One failing source or
channel never stops the others.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from . import _notify, _parser, decide, dedup, query
from ._fetch import Conditional, Fetcher, Response
from ._storage import AlertRow, NewHit, SourceState, Storage
from .config import Config, Source
from .errors import SourceError
from .models import FeedResult, Item
from .render import RuleMatch, render_alert

log = logging.getLogger("weightwatch")


@dataclass
class SourceOutcome:
    source: str
    status: str  # "ok", "not modified", "error", "waiting"
    new_items: int = 0
    hits: int = 0
    alerts: int = 0
    error: str = ""
    duration: float = 0.0
    primed: bool = False  # first poll: recorded without alerting


@dataclass
class DeliveryOutcome:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class CycleSummary:
    sources: list[SourceOutcome] = field(default_factory=list)
    delivery: DeliveryOutcome = field(default_factory=DeliveryOutcome)
    pending: int = 0
    duration: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.sources if o.status == status)

    def render(self) -> str:
        ok = self.count("ok") + self.count("not modified")
        failed = self.count("error")
        waiting = self.count("waiting")
        new = sum(o.new_items for o in self.sources)
        hits = sum(o.hits for o in self.sources)
        lines = [
            f"{len(self.sources)} sources: {ok} ok ({self.count('not modified')} not modified),"
            f" {failed} failed" + (f", {waiting} waiting for Retry-After" if waiting else "") + ".",
            f"{new} new items, {hits} hits; alerts: {self.delivery.sent} sent,"
            f" {self.pending} pending, {self.delivery.failed} failed. ({self.duration:.1f} s)",
        ]
        primed = [o.source for o in self.sources if o.primed]
        if primed:
            lines.append(
                f"First poll of {len(primed)} source(s): their current items were recorded"
                " without alerting (use --backfill to alert on them)."
            )
        for o in self.sources:
            if o.status == "error":
                lines.append(f"  failed: {o.source}: {o.error}")
        for error in self.delivery.errors:
            lines.append(f"  alert not delivered: {error}")
        return "\n".join(lines)


@dataclass
class Fetched:
    source: Source
    state: SourceState
    started: float
    response: Response | None = None
    feed: FeedResult | None = None
    error: SourceError | None = None


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def poll_sources(
    config: Config,
    storage: Storage,
    fetcher: Fetcher,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    backfill: bool = False,
    sources: Iterable[Source] | None = None,
) -> list[SourceOutcome]:
    """Poll each source once: fetch concurrently (never two at once to one host), store serially."""
    chosen = list(config.sources if sources is None else sources)
    storage.ensure_sources((s.name, s.url) for s in chosen)
    states = storage.source_states()
    outcomes: list[SourceOutcome] = []
    by_host: dict[str, list[tuple[Source, SourceState]]] = defaultdict(list)
    start_time = now()
    for source in chosen:
        state = states[source.name]
        if decide.is_waiting(state.not_before, start_time):
            outcomes.append(
                SourceOutcome(
                    source.name,
                    "waiting",
                    error=f"the server asked to wait until {state.not_before:%H:%M:%S} UTC",
                )
            )
            continue
        by_host[host_of(state.permanent_url or source.url)].append((source, state))

    results: queue.SimpleQueue[Fetched | None] = queue.SimpleQueue()

    def host_worker(jobs: list[tuple[Source, SourceState]]) -> None:
        for source, state in jobs:
            results.put(fetch_source(fetcher, source, state))
        results.put(None)

    workers = max(1, min(config.settings.workers, len(by_host)))
    with ThreadPoolExecutor(workers, thread_name_prefix="fetch") as pool:
        for jobs in by_host.values():
            pool.submit(host_worker, jobs)
        remaining = len(by_host)
        while remaining:
            fetched = results.get()
            if fetched is None:
                remaining -= 1
                continue
            try:
                outcomes.append(store_poll(config, storage, fetched, now(), backfill))
            except Exception:  # a bug in one source's handling must not stop the cycle
                log.exception("Storing the poll of %s failed.", fetched.source.name)
                outcomes.append(SourceOutcome(fetched.source.name, "error", error="internal error"))
    return outcomes


def fetch_source(fetcher: Fetcher, source: Source, state: SourceState) -> Fetched:
    out = Fetched(source, state, time.monotonic())
    url = state.permanent_url or source.url
    try:
        out.response = fetcher.fetch(
            url, Conditional(state.etag, state.last_modified), source=source.name
        )
        if out.response.status == 200:
            out.feed = _parser.parse(
                out.response.body,
                source=source.name,
                url=out.response.url,
                headers=out.response.headers,
            )
    except SourceError as exc:
        out.error = exc
    except Exception as exc:  # never let one source's surprise kill the worker
        log.exception("Unexpected error polling %s.", source.name)
        out.error = SourceError(f"unexpected error: {type(exc).__name__}", source=source.name)
    return out


def store_poll(
    config: Config, storage: Storage, fetched: Fetched, now: datetime, backfill: bool
) -> SourceOutcome:
    source, state = fetched.source, fetched.state
    duration = time.monotonic() - fetched.started
    if fetched.error is not None or fetched.response is None:
        error = fetched.error or SourceError("no response")
        storage.record_failure(
            source.name,
            decide.after_failure(now=now, error=error, failures_before=state.consecutive_failures),
        )
        log.warning("%s: failed after %.1f s: %s", source.name, duration, error)
        return SourceOutcome(source.name, "error", error=str(error), duration=duration)

    response, feed = fetched.response, fetched.feed
    values = decide.after_success(
        now=now,
        status=response.status,
        etag=response.etag,
        last_modified=response.last_modified,
        permanent_url=response.permanent_url,
        kind=feed.kind if feed else None,
        warning=feed.warning if feed else "",
    )
    if response.status == 304 or feed is None:
        storage.record_poll(source.name, now=now, items=[], hits=[], state=values)
        log.info("%s: not modified (%.1f s)", source.name, duration)
        return SourceOutcome(source.name, "not modified", duration=duration)

    known = storage.known_item_ids(source.name, [i.id for i in feed.items])
    fresh = decide.new_items(feed.items, known)
    priming = not state.primed
    alerting = not priming or backfill or source.backfill
    # A first poll that does not alert is not matched at all: the user was never told about
    # that backlog, so a later report of one of its stories elsewhere is news to them.
    hits = _decide_hits(config, storage, source, fresh, now) if alerting else []
    storage.record_poll(
        source.name,
        now=now,
        items=[(i.id, i.link, i.title, i.text, i.published) for i in fresh],
        hits=hits,
        state=values,
    )
    alert_rows = sum(len(h.alerts) for h in hits)
    originals = sum(1 for h in hits if h.duplicate_of is None)
    log.info(
        "%s: ok, %d items, %d new, %d hits, %d alerts queued%s (%.1f s)",
        source.name,
        len(feed.items),
        len(fresh),
        originals,
        alert_rows,
        ", first poll recorded silently" if priming and not alerting else "",
        duration,
    )
    return SourceOutcome(
        source.name,
        "ok",
        new_items=len(fresh),
        hits=originals,
        alerts=alert_rows,
        duration=duration,
        primed=priming and not alerting,
    )


def _decide_hits(
    config: Config,
    storage: Storage,
    source: Source,
    fresh: list[Item],
    now: datetime,
) -> list[NewHit]:
    rules = [r for r in config.rules if r.applies_to(source)]
    if not rules or not fresh:
        return []
    since = now - timedelta(seconds=config.settings.dedup_window)
    threshold = config.settings.title_similarity
    recent_cache: dict[str, list[decide.Earlier]] = {}
    hits: list[NewHit] = []
    for item in fresh:
        doc = query.prepare(item.title, item.text)
        matched: list[tuple[str, query.Match]] = []
        for rule in rules:
            m = rule.query.match(doc)
            if m is not None:
                matched.append((rule.name, m))
        if not matched:
            continue
        key = dedup.title_key(item.title)
        originals: list[tuple[str, query.Match, str]] = []
        item_hits: list[NewHit] = []
        for rule_name, m in matched:
            if rule_name not in recent_cache:
                recent_cache[rule_name] = [
                    decide.Earlier(h.id, h.link, h.title_key)
                    for h in storage.recent_hits(rule_name, since)
                ]
            dup = decide.find_duplicate(
                item.link,
                key,
                same_link=storage.hit_with_link(rule_name, item.link),
                recent=recent_cache[rule_name],
                threshold=threshold,
            )
            snip = query.snippet(doc, m)
            if dup is None and not _batch_duplicate(hits, rule_name, item.link, key, threshold):
                originals.append((rule_name, m, snip))
            hit = NewHit(
                rule=rule_name,
                source=source.name,
                item_id=item.id,
                link=item.link,
                title=item.title,
                title_key=key,
                published=item.published,
                terms=m.terms,
                snippet=snip,
                duplicate_of=dup[0] if dup else None,
                duplicate_reason=dup[1] if dup else None,
            )
            item_hits.append(hit)
        if originals:
            by_name = {r.name: r for r in rules}
            title, body = render_alert(
                item, [RuleMatch(name, m.terms, snip) for name, m, snip in originals]
            )
            targets = decide.alert_targets([by_name[n] for n, _, _ in originals], config.channels)
            first = next(i for i, h in enumerate(item_hits) if h.rule == originals[0][0])
            item_hits[first] = replace(
                item_hits[first],
                alerts=tuple((t.channel, t.url_key, t.masked_url, title, body) for t in targets),
            )
        hits.extend(item_hits)
    return hits


def _batch_duplicate(hits: list[NewHit], rule: str, link: str, key: str, threshold: float) -> bool:
    """A hit earlier in this same poll already covers this story for this rule."""
    for h in hits:
        if h.rule != rule:
            continue
        if (link and h.link == link) or dedup.is_near_duplicate(key, h.title_key, threshold):
            return True
    return False


def deliver_pending(
    config: Config,
    storage: Storage,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    timeout: float = 30.0,
    respect_backoff: bool = False,
) -> DeliveryOutcome:
    """One delivery attempt for every pending alert; each URL's outcome recorded on its own.

    URLs are sent to in parallel; alerts for one URL go in order, one at a time. With
    ``respect_backoff`` (the daemon) an alert that failed is retried only when
    ``decide.alert_retry_due``; ``once`` tries every pending alert. An alert pending for
    longer than ``decide.ALERT_MAX_AGE`` is marked failed.
    """
    outcome = DeliveryOutcome()
    moment = now()
    pending = []
    for alert in storage.pending_alerts():
        if decide.alert_expired(alert.created, moment):
            storage.mark_alert(
                alert.id,
                status="failed",
                error=f"Gave up after {alert.attempts} attempts: {alert.last_error or ''}".strip(),
                now=moment,
            )
            outcome.failed += 1
            outcome.errors.append(f"{alert.channel} {alert.masked_url}: gave up (too old)")
        elif not respect_backoff or decide.alert_retry_due(alert.attempts, alert.updated, moment):
            pending.append(alert)
    if not pending:
        return outcome
    urls = {
        decide.url_key(url): url for channel in config.channels.values() for url in channel.urls
    }
    by_url: dict[str, list[AlertRow]] = defaultdict(list)
    for alert in pending:
        url = urls.get(alert.url_key)
        if url is None:
            storage.mark_alert(
                alert.id,
                status="failed",
                error="The channel URL is no longer in the config.",
                now=now(),
            )
            outcome.failed += 1
            outcome.errors.append(f"{alert.channel} {alert.masked_url}: no longer configured")
            continue
        by_url[url].append(alert)

    done: queue.SimpleQueue[tuple[AlertRow, _notify.SendOutcome] | None] = queue.SimpleQueue()

    def send_all(url: str, alerts: list[AlertRow]) -> None:
        try:
            for alert in alerts:
                done.put((alert, _notify.send(url, alert.title, alert.body, timeout=timeout)))
        finally:
            done.put(None)

    threads = [
        threading.Thread(target=send_all, args=(u, a), daemon=True, name="notify")
        for u, a in by_url.items()
    ]
    for t in threads:
        t.start()
    remaining = len(threads)
    while remaining:
        got = done.get()
        if got is None:
            remaining -= 1
            continue
        alert, result = got
        if result.ok:
            storage.mark_alert(alert.id, status="sent", error=None, now=now())
            outcome.sent += 1
            continue
        error = _notify.scrub(result.error, config.secrets)
        final = result.status == "permanent"
        storage.mark_alert(
            alert.id,
            status="failed" if final else "pending",
            error=error,
            now=now(),
        )
        label = f"{alert.channel} {alert.masked_url}"
        log.warning("Alert %s to %s not delivered: %s", alert.id, label, error)
        if final:
            outcome.failed += 1
        else:
            outcome.retry += 1
        outcome.errors.append(f"{label}: {error}")
    return outcome


def run_once(
    config: Config,
    *,
    backfill: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    storage: Storage | None = None,
) -> CycleSummary:
    """``weightwatch once``: poll every source, deliver pending alerts, summarise."""
    started = time.monotonic()
    own = storage is None
    store = storage or Storage(config.settings.database)
    fetcher = Fetcher(
        timeout=config.settings.timeout,
        max_body=config.settings.max_body,
        user_agent=config.settings.user_agent or None,
        pool_size=max(16, config.settings.workers),
    )
    try:
        summary = CycleSummary()
        summary.sources = poll_sources(config, store, fetcher, now=now, backfill=backfill)
        summary.delivery = deliver_pending(config, store, now=now, timeout=config.settings.timeout)
        summary.pending = store.counts()["pending"]
        summary.duration = time.monotonic() - started
        return summary
    finally:
        fetcher.close()
        if own:
            store.close()
