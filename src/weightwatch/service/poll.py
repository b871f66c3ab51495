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

from weightwatch.config import Config, Rule, Source
from weightwatch.delivery import notify as _notify
from weightwatch.delivery import policy as delivery
from weightwatch.delivery import templates
from weightwatch.delivery.render import (
    RuleMatch,
    alert_data,
    render_digest,
    render_formatted,
    render_health,
    render_url_trouble,
)
from weightwatch.errors import ParseError, SourceError
from weightwatch.matching import dedup, query, story
from weightwatch.service.writer import DeliveryStore
from weightwatch.sources import discover, pagediff
from weightwatch.sources import feeds as _parser
from weightwatch.sources import health as decide
from weightwatch.sources import page as _page
from weightwatch.sources.http import Conditional, Fetcher, Response
from weightwatch.storage.store import AlertRow, NewAlert, NewHit, PageBlocks, SourceState, Storage
from weightwatch.types import FeedResult, Item, PageResult

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
    page: PageResult | None = None  # a watched page: its blocks; feed.items come from the diff


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

    # Bounded: when storing falls behind, fetchers wait instead of piling up parsed feeds.
    results: queue.Queue[Fetched | None] = queue.Queue(maxsize=2 * config.settings.workers)

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
    conditional: Conditional | None = Conditional(state.etag, state.last_modified)
    if source.prefer_feed and state.kind == "page":
        conditional = None  # read the page again: it may advertise a feed by now
    try:
        out.response = fetcher.fetch(url, conditional, source=source.name)
        if out.response.status == 200:
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
    kind = "auto" if source.prefer_feed else source.kind
    if kind != "page":
        try:
            feed = _parser.parse(
                response.body, source=source.name, url=response.url, headers=response.headers
            )
            return response, feed, None
        except ParseError:
            if kind == "feed" or not _page.is_html(response.body, response.headers):
                raise
    if source.prefer_feed:
        text = discover.decode(response.body[: discover.SCAN_LIMIT], response.headers)
        found = discover.find_feeds(text, response.url)
        for candidate in [c for c in found if c.origin == "advertised"][:3]:
            try:
                got = fetcher.fetch(candidate.url, source=source.name)
                feed = _parser.parse(got.body, source=source.name, url=got.url, headers=got.headers)
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
    page = None
    if feed is not None and fetched.page is not None:
        seen = storage.page_fingerprints(source.name, now - pagediff.WINDOW)
        page = pagediff.diff(fetched.page, seen, source=source.name, url=response.url, now=now)
        feed = replace(feed, items=page.items, warning=page.warning or feed.warning)
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
        unchanged = PageBlocks(None, now - pagediff.WINDOW) if state.kind == "page" else None
        storage.record_poll(
            source.name,
            now=now,
            items=[],
            hits=[],
            state=values,
            notices=notices,
            page_blocks=unchanged,
        )
        log.info("%s: not modified (%.1f s)", source.name, duration)
        return SourceOutcome(source.name, "not modified", duration=duration)

    known = storage.known_item_ids(source.name, [i.id for i in feed.items])
    fresh = decide.new_items(feed.items, known)
    priming = not state.primed or pagediff.starts_over(state.kind, feed.kind, page)
    alerting = (not priming or backfill or source.backfill) and not (page and page.redesign)
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
        page_blocks=PageBlocks(page.fingerprints, now - pagediff.WINDOW) if page else None,
    )
    alert_rows = sum(len(h.alerts) for h in hits)
    originals = sum(1 for h in hits if h.duplicate_of is None and h.duplicate_of_batch is None)
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
    """Match new items against the rules; decide, per rule, whether each hit starts a story
    or joins one (``story``); queue the alerts: the first hit of a story alerts, a later
    member does what its rule's ``on_update`` says (silent, digest, alert)."""
    rules = [r for r in config.rules if r.applies_to(source)]
    if not rules or not fresh:
        return []
    by_name = {r.name: r for r in rules}
    hits: list[NewHit] = []
    batch: list[_Member] = []  # this poll's hits so far, for stories that start in it
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
        updates: list[tuple[int, query.Match, str, int]] = []  # (hit position, ..., sources)
        item_hits: list[NewHit] = []
        for rule_name, m in matched:
            feats = story.features(item.title, item.text, m.terms)
            snip = query.snippet(doc, m)
            found = _find_story(config, storage, rule_name, item, feats, batch, now)
            position = len(hits) + len(item_hits)
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
                story_features=feats.to_json(),
                story_words=tuple(feats.index_words()),
            )
            if found is None:
                originals.append((rule_name, m, snip))
                batch.append(_Member(rule_name, item.link, feats, None, position))
            else:
                first_id, first_pos, reason, sources = found
                hit = replace(
                    hit,
                    duplicate_of=first_id,
                    duplicate_of_batch=first_pos,
                    duplicate_reason=reason,
                )
                batch.append(_Member(rule_name, item.link, feats, first_id, first_pos))
                if by_name[rule_name].on_update != "silent":
                    updates.append((len(item_hits), m, snip, len(sources | {source.name})))
            item_hits.append(hit)
        if originals:
            alerts = _alerts_for(config, rules, item, originals)
            first = next(i for i, h in enumerate(item_hits) if h.rule == originals[0][0])
            item_hits[first] = replace(item_hits[first], alerts=alerts)
        told = {a.url_key for h in item_hits for a in h.alerts}
        for index, m, snip, count in updates:
            rule = by_name[item_hits[index].rule]
            made = [
                a
                for a in _alerts_for(config, [rule], item, [(rule.name, m, snip)])
                if a.url_key not in told
            ]
            told.update(a.url_key for a in made)
            item_hits[index] = replace(
                item_hits[index], alerts=tuple(_as_update(a, rule, count) for a in made)
            )
        hits.extend(item_hits)
    return hits


@dataclass(frozen=True)
class _Member:
    """A hit decided earlier in the same poll (not stored yet)."""

    rule: str
    link: str
    features: story.Features
    first_id: int | None  # its story's first hit, when that is stored
    first_pos: int | None  # else the position of that first hit in this poll's list


def _find_story(
    config: Config,
    storage: Storage,
    rule: str,
    item: Item,
    feats: story.Features,
    batch: list[_Member],
    now: datetime,
) -> tuple[int | None, int | None, str, set[str]] | None:
    """The story a new hit of ``rule`` joins: (first hit id, or its position in this poll;
    the reason; the story's sources so far), or None for a new story.

    Same canonical link first (at any age), then ``story.best_match`` among the candidates
    that the story index finds within ``dedup_window`` and this poll's earlier hits.
    """
    same = storage.hit_with_link(rule, item.link)
    if same is not None:
        return same, None, "same link", storage.story_sources(same)
    mates = [b for b in batch if b.rule == rule]
    for b in mates:
        if item.link and b.link == item.link:
            return _joined(storage, b, "same link")
    window = config.settings.dedup_window
    if window <= 0:
        return None
    tune = story.TUNING
    rows = storage.story_candidates(
        rule,
        [(w, story.weight(w) or 0.5) for w in feats.lookup_words()],
        now - timedelta(seconds=window),
        per_word=tune.per_word,
        limit=tune.max_candidates,
    )
    candidates: list[tuple[tuple[int, int], story.Features]] = [
        ((0, n), story.Features.from_json(text)) for n, (_, _, text) in enumerate(rows)
    ]
    candidates += [((1, n), b.features) for n, b in enumerate(mates)]
    best = story.best_match(feats, candidates, config.settings.title_similarity)
    if best is None:
        return None
    (where, n), signal, score = best
    reason = story.describe(signal, score)
    if where == 0:
        first = rows[n][1]
        return first, None, reason, storage.story_sources(first)
    return _joined(storage, mates[n], reason)


def _joined(
    storage: Storage, mate: _Member, reason: str
) -> tuple[int | None, int | None, str, set[str]]:
    if mate.first_id is not None:
        return mate.first_id, None, reason, storage.story_sources(mate.first_id)
    return None, mate.first_pos, reason, set()  # a story of this poll: this source only


def _as_update(alert: NewAlert, rule: Rule, sources: int) -> NewAlert:
    """A later member's alert: held for a digest (``on_update = "digest"``) or sent as an
    update naming how many sources the story has (``"alert"``)."""
    if rule.on_update == "digest":
        held = rule.digest or delivery.Digest(every=UPDATE_DIGEST_EVERY)
        return replace(alert, rule_digest=str(held))
    note = f"Update: this story now has {sources} sources."
    return replace(
        alert,
        title=f"Update: {alert.title} ({sources} sources)",
        body=f"{note}\n\n{alert.body}",
    )


UPDATE_DIGEST_EVERY = 3600.0  # on_update = "digest" on a rule without a digest of its own


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
        channel = config.channels[target.channel]
        fmt = channel.format if channel.format != "auto" else _notify.auto_format(target.url)
        rule_title = next((t for n, _, _ in entries if (t := by_name[n].title_template)), None)
        rule_body = next((t for n, _, _ in entries if (t := by_name[n].body_template)), None)
        title_text = rule_title or channel.title_template
        body_text = rule_body or channel.body_template
        title, body = render_formatted(
            item,
            matches,
            fmt=fmt,
            channel=target.channel,
            title_template=templates.cached(title_text, False) if title_text else None,
            body_template=templates.cached(body_text, fmt == "html") if body_text else None,
        )
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
                format=fmt,
                data=alert_data(item, matches),
                rule_digest=rule_digest,
            )
        )
    return tuple(out)


def deliver_pending(
    config: Config,
    storage: DeliveryStore,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    timeout: float = 30.0,
    respect_backoff: bool = False,
    rand: Callable[[], float] = random.random,
    should_stop: Callable[[], bool] = lambda: False,
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
            log.error(
                "Alert %s to %s %s failed: its URL is no longer in the config.",
                alert.id,
                alert.channel,
                alert.masked_url,
            )
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
            log.error("Alert %s to %s %s failed: %s", alert_id, row.channel, row.masked_url, error)
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

    # Each URL's thread sends one alert, then waits until its outcome is committed before
    # sending the next: a crash can then repeat at most the one alert per URL that was
    # sent but not yet recorded (docs/reliability.md).
    done: queue.SimpleQueue[tuple[AlertRow, _notify.SendOutcome, threading.Event] | None] = (
        queue.SimpleQueue()
    )
    abort = threading.Event()

    def send_all(url: str, alerts: list[AlertRow]) -> None:
        try:
            for alert in alerts:
                if abort.is_set() or should_stop():
                    return
                result = _notify.send(
                    url, alert.title, alert.body, timeout=timeout, fmt=alert.format
                )
                recorded = threading.Event()
                done.put((alert, result, recorded))
                recorded.wait()
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
        alert, result, recorded = got
        try:
            _record_delivery(config, storage, alert, result, now(), rand, outcome)
        except BaseException:
            abort.set()  # the database is gone (stopping): send nothing more
            raise
        finally:
            recorded.set()
    return outcome


URL_TROUBLE_AFTER = 3  # failed attempts in a row before the ops channel hears of it


def _report_url_trouble(
    config: Config,
    storage: DeliveryStore,
    alert: AlertRow,
    failures: int,
    error: str,
    now: datetime,
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


def _record_delivery(
    config: Config,
    storage: DeliveryStore,
    alert: AlertRow,
    result: _notify.SendOutcome,
    stamp: datetime,
    rand: Callable[[], float],
    outcome: DeliveryOutcome,
) -> None:
    """Commit one send's outcome: sent, retry later (with backoff), or failed for good."""
    if result.ok:
        storage.mark_sent(alert.id, now=stamp, url_key=alert.url_key)
        outcome.sent += 1
        return
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
        store.prune_text(now() - timedelta(seconds=config.settings.retention))
        summary.pending = store.counts()["pending"]
        summary.duration = time.monotonic() - started
        return summary
    finally:
        fetcher.close()
        if own:
            store.close()
