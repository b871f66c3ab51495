"""Delivering queued alerts: what ``delivery.policy.plan`` says is due, URL by URL, each
send's outcome recorded on its own (``delivery.notify`` sends, ``Storage`` records).
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from weightwatch.config import Config
from weightwatch.delivery import notify as _notify
from weightwatch.delivery import policy as delivery
from weightwatch.delivery import routing
from weightwatch.delivery.render import render_digest, render_url_trouble
from weightwatch.service.writer import DeliveryStore
from weightwatch.types import AlertRow, DeliveryOutcome, NewAlert

log = logging.getLogger("weightwatch")


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
        routing.url_key(url): (name, url)
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
    ops_keys = [routing.url_key(u) for u in ops.urls]
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
