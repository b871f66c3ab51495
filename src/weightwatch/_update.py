"""The pipeline of one poll cycle: fetch, parse, decide, store, deliver.

It only calls: decisions are in ``decide``, matching in ``query``, messages in ``render``,
I/O in ``_fetch``, ``_parser``, ``_storage`` and ``_notify``. One failing source or
channel never stops the others.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from . import _notify, _parser, decide, dedup, delivery, query
from ._fetch import Conditional, Fetcher, Response
from ._storage import AlertRow, NewAlert, NewHit, SourceState, Storage
from .config import Config, Rule, Source
from .errors import SourceError
from .models import FeedResult, Item
from .render import (
    RuleMatch,
    alert_data,
    render_alert,
    render_digest,
    render_health,
    render_url_trouble,
)

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
        values = decide.after_failure(
            now=now, error=error, failures_before=state.consecutive_failures
        )
        notices = _health(config, source, state, values, now, ok=False, new_items=0)
        storage.record_failure(source.name, values, notices, now=now)
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
        notices = _health(config, source, state, values, now, ok=True, new_items=0)
        storage.record_poll(source.name, now=now, items=[], hits=[], state=values, notices=notices)
        log.info("%s: not modified (%.1f s)", source.name, duration)
        return SourceOutcome(source.name, "not modified", duration=duration)

    known = storage.known_item_ids(source.name, [i.id for i in feed.items])
    fresh = decide.new_items(feed.items, known)
    priming = not state.primed
    alerting = not priming or backfill or source.backfill
    # A first poll that does not alert is not matched at all: the user was never told about
    # that backlog, so a later report of one of its stories elsewhere is news to them.
    hits = _decide_hits(config, storage, source, fresh, now) if alerting else []
    if fresh or priming:
        values["last_new_item"] = now
    notices = _health(config, source, state, values, now, ok=True, new_items=len(fresh))
    storage.record_poll(
        source.name,
        now=now,
        items=[(i.id, i.link, i.title, i.text, i.published) for i in fresh],
        hits=hits,
        state=values,
        notices=notices,
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


def _health(
    config: Config,
    source: Source,
    state: SourceState,
    values: dict[str, Any],
    now: datetime,
    *,
    ok: bool,
    new_items: int,
) -> list[NewAlert]:
    """Update ``values["health"]`` and return the ops-channel messages for a change."""
    settings = config.settings
    health, event = decide.source_health(
        health=state.health,
        ok=ok,
        failures=int(values.get("consecutive_failures", 0)),
        last_ok=state.last_ok,
        new_items=new_items,
        last_new_item=state.last_new_item or state.last_ok,
        stale_after=source.stale_after,
        now=now,
        max_failures=settings.health_failures,
        max_silence=settings.health_after,
    )
    values["health"] = health
    if event is None:
        return []
    log.warning("%s: source %s.", source.name, event)
    ops = config.channels.get(settings.ops) if settings.ops else None
    if ops is None:
        return []
    title, body = render_health(
        event,
        source=source.name,
        url=source.url,
        error=str(values.get("last_error") or state.last_error or ""),
        failures=state.consecutive_failures
        if event == "recovered"
        else int(values.get("consecutive_failures", 0)),
        since=state.last_ok,
        stale_after=source.stale_after,
    )
    key = f"source:{source.name}:{event}:{now.isoformat()}"
    return [
        NewAlert(ops.name, decide.url_key(url), masked, title, body, kind="health", event_key=key)
        for url, masked in zip(ops.urls, ops.masked_urls, strict=True)
    ]


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
            alerts = _alerts_for(config, rules, item, originals)
            first = next(i for i, h in enumerate(item_hits) if h.rule == originals[0][0])
            item_hits[first] = replace(item_hits[first], alerts=alerts)
        hits.extend(item_hits)
    return hits


def _alerts_for(
    config: Config,
    rules: list[Rule],
    item: Item,
    originals: list[tuple[str, query.Match, str]],
) -> tuple[NewAlert, ...]:
    """One message per channel URL, naming every rule that sends this item to that URL."""
    by_name = {r.name: r for r in rules}
    per_url: dict[str, tuple[decide.AlertTarget, list[tuple[str, query.Match, str]]]] = {}
    for entry in originals:
        for target in decide.alert_targets([by_name[entry[0]]], config.channels):
            per_url.setdefault(target.url_key, (target, []))[1].append(entry)
    out = []
    for target, entries in per_url.values():
        matches = [RuleMatch(name, m.terms, snip) for name, m, snip in entries]
        title, body = render_alert(item, matches)
        digests = [by_name[name].digest for name, _, _ in entries]
        # A rule that wants each alert at once wins over a rule that wants a digest.
        rule_digest = str(digests[0]) if all(digests) else None
        out.append(
            NewAlert(
                channel=target.channel,
                url_key=target.url_key,
                masked_url=target.masked_url,
                title=title,
                body=body,
                format="text",
                data=alert_data(item, matches),
                rule_digest=rule_digest,
            )
        )
    return tuple(out)


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
    rand: Callable[[], float] = random.random,
) -> DeliveryOutcome:
    """Deliver what ``delivery.plan`` says is due, URL by URL; record each outcome on its own.

    URLs are sent to in parallel; one URL's alerts go in order, one at a time, so one slow
    or broken channel never delays another. With ``respect_backoff`` (the daemon) a failed
    alert waits for its next attempt time; ``once`` retries every pending alert each run.
    """
    outcome = DeliveryOutcome()
    moment = now()
    urls = {
        decide.url_key(url): (name, url)
        for name, channel in config.channels.items()
        for url in channel.urls
    }
    by_url: dict[str, list[AlertRow]] = defaultdict(list)
    for alert in storage.open_alerts():
        if alert.url_key not in urls:
            storage.mark_failed(
                alert.id,
                error="The channel URL is no longer in the config.",
                now=moment,
                attempted=False,
            )
            outcome.failed += 1
            outcome.errors.append(f"{alert.channel} {alert.masked_url}: no longer configured")
            continue
        by_url[alert.url_key].append(alert)

    to_send: dict[str, list[AlertRow]] = {}
    for key, alerts in by_url.items():
        channel = config.channels[urls[key][0]]
        sent_last_hour, last_digest = storage.url_history(key, moment)
        opens = [
            delivery.Open(
                id=a.id,
                status=a.status,
                created=a.created or moment,
                attempts=a.attempts,
                next_attempt=a.next_attempt if respect_backoff else None,
                hold=a.hold,
                digest=delivery.Digest.from_str(a.rule_digest),
            )
            for a in alerts
        ]
        plan = delivery.plan(
            channel.policy,
            opens,
            delivery.History(sent_last_hour, last_digest),
            moment,
            config.settings.tz,
        )
        rows = {a.id: a for a in alerts}
        for alert_id in plan.expire:
            row = rows[alert_id]
            error = (
                f"Gave up after 24 h and {row.attempts} attempts: {row.last_error or 'never sent'}"
            )
            storage.mark_failed(alert_id, error=error, now=moment, attempted=False)
            outcome.failed += 1
            outcome.errors.append(f"{row.channel} {row.masked_url}: {error}")
        if plan.hold:
            storage.hold_alerts(plan.hold, now=moment)
        sending: list[AlertRow] = []
        if plan.fold:
            folded = [rows[i] for i in plan.fold]
            digest = _digest_alert(folded, channel.name)
            digest_id = storage.fold_into_digest(plan.fold, digest, now=moment)
            made = storage.alert(digest_id)
            if made is not None:
                sending.append(made)
        sending += [rows[i] for i in plan.send]
        if sending:
            to_send[key] = sending
    if not to_send:
        return outcome

    done: queue.SimpleQueue[tuple[AlertRow, _notify.SendOutcome] | None] = queue.SimpleQueue()

    def send_all(url: str, alerts: list[AlertRow]) -> None:
        try:
            for alert in alerts:
                done.put((alert, _notify.send(url, alert.title, alert.body, timeout=timeout)))
        finally:
            done.put(None)

    threads = [
        threading.Thread(target=send_all, args=(urls[k][1], rows), daemon=True, name="notify")
        for k, rows in to_send.items()
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
        stamp = now()
        if result.ok:
            storage.mark_sent(alert.id, now=stamp)
            storage.url_failure(alert.url_key, alert.masked_url, None)
            outcome.sent += 1
            continue
        error = _notify.scrub(result.error, config.secrets)
        label = f"{alert.channel} {alert.masked_url}"
        failures = storage.url_failure(alert.url_key, alert.masked_url, error)
        if failures >= URL_TROUBLE_AFTER:
            _report_url_trouble(config, storage, alert, failures, error, stamp)
        if result.status == "permanent" or delivery.is_permanent(error):
            storage.mark_failed(alert.id, error=error, now=stamp, attempted=True)
            outcome.failed += 1
            log.error("Alert %s to %s failed for good: %s", alert.id, label, error)
        else:
            wait = delivery.retry_delay(alert.attempts + 1, rand())
            storage.mark_retry(
                alert.id, error=error, next_attempt=stamp + timedelta(seconds=wait), now=stamp
            )
            outcome.retry += 1
            log.warning(
                "Alert %s to %s not delivered (retry in %.0f s): %s", alert.id, label, wait, error
            )
        outcome.errors.append(f"{label}: {error}")
    return outcome


URL_TROUBLE_AFTER = 3  # failed attempts in a row before the ops channel hears of it


def _report_url_trouble(
    config: Config, storage: Storage, alert: AlertRow, failures: int, error: str, now: datetime
) -> None:
    """Tell the ops channel, once, that a URL keeps failing (unless it is the ops URL)."""
    ops = config.channels.get(config.settings.ops) if config.settings.ops else None
    if ops is None or alert.kind == "health":
        return
    ops_keys = [decide.url_key(u) for u in ops.urls]
    if alert.url_key in ops_keys or storage.url_health(alert.url_key)[1]:
        return
    title, body = render_url_trouble(alert.channel, alert.masked_url, failures, error)
    key = f"url:{alert.url_key}:{now.isoformat()}"
    storage.queue_alerts(
        [
            NewAlert(ops.name, k, masked, title, body, kind="health", event_key=key)
            for k, masked in zip(ops_keys, ops.masked_urls, strict=True)
        ],
        now=now,
    )
    storage.set_url_reported(alert.url_key, True)
    log.warning("Alerts to %s %s keep failing; told %s.", alert.channel, alert.masked_url, ops.name)


def _digest_alert(folded: list[AlertRow], channel: str) -> NewAlert:
    entries = []
    for row in folded:
        try:
            data = json.loads(row.data) if row.data else None
        except ValueError:
            data = None
        entries.append(data or {"rules": [], "title": row.title, "link": "", "source": ""})
    reasons = {(row.hold or "").split(":", 1)[0] for row in folded}
    reason = "digest" if "digest" in reasons else next(iter(reasons - {""}), "digest")
    title, body = render_digest(entries, reason=reason)
    first = folded[0]
    return NewAlert(
        channel=channel,
        url_key=first.url_key,
        masked_url=first.masked_url,
        title=title,
        body=body,
        kind="digest",
        data=json.dumps({"folded": [row.id for row in folded]}),
    )


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
