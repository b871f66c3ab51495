"""Delivering queued alerts: what ``delivery.policy.plan`` says is due, URL by URL, each
send's outcome recorded on its own (``delivery.notify`` sends, ``Storage`` records).

When the database cannot record a send (a full disk, a read-only file), the send is
remembered in memory (``Unrecorded``, one per process): that alert is never sent again by
this process, nothing more goes to its URL, and the outcome is recorded as soon as a
write succeeds again. The failure is logged at ERROR, shown in the daemon's status and
told to the ops channel (directly while the database fails, queued once it works).
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from weightwatch.config import Channel, Config
from weightwatch.delivery import policy as delivery
from weightwatch.delivery import routing
from weightwatch.errors import StorageError
from weightwatch.service.writer import DeliveryStore, WriterClosed
from weightwatch.types import AlertRow, DeliveryOutcome, NewAlert

if TYPE_CHECKING:
    from weightwatch.delivery import notify as _notify
    from weightwatch.storage import Storage

# ``delivery.notify`` (and Apprise through it) and ``delivery.render`` are imported where
# an alert is sent or a message rendered: a pass with nothing due loads neither.

log = logging.getLogger("weightwatch")


@dataclass
class Unrecorded:
    """What this process sent but could not record, until a database write succeeds.

    One per process (the daemon keeps one for its life; pass the same one to every
    ``deliver_pending``). Its alerts are never sent again and their URLs get nothing more
    while it holds them; each pass first tries to record them (``flush``).
    """

    sends: dict[int, tuple[AlertRow, _notify.SendOutcome, datetime]] = field(default_factory=dict)
    error: str = ""  # the storage error of the current failure, "" when writes work
    since: datetime | None = None
    ops_told: bool = False
    failures: int = 0  # storage failures seen so far (a pass without one ends a failure)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url_keys(self) -> set[str]:
        with self.lock:
            return {alert.url_key for alert, _, _ in self.sends.values()}

    def holds(self, alert: AlertRow) -> bool:
        with self.lock:
            return alert.id in self.sends or any(
                a.url_key == alert.url_key for a, _, _ in self.sends.values()
            )

    def add(self, alert: AlertRow, result: _notify.SendOutcome, stamp: datetime) -> None:
        with self.lock:
            self.sends[alert.id] = (alert, result, stamp)

    def failed(self, exc: StorageError, stamp: datetime) -> bool:
        """Note a storage failure; True when it starts a failure (log it at ERROR then)."""
        with self.lock:
            first = not self.error
            self.error = str(exc)
            self.failures += 1
            if first:
                self.since = stamp
            return first

    def describe(self) -> str:
        """One line for the daemon's status, "" while the database works."""
        with self.lock:
            if not self.error and not self.sends:
                return ""
            held = len(self.sends)
            urls = len({a.url_key for a, _, _ in self.sends.values()})
            return (
                f"DATABASE WRITES FAILING since {self.since:%H:%M:%S} UTC:"
                f" {held} alerts sent but not recorded, {urls} URLs paused ({self.error})"
                if self.since
                else f"DATABASE WRITES FAILING ({self.error})"
            )


def rekey_legacy_urls(config: Config, storage: Storage) -> int:
    """Re-key the rows an older weightwatch keyed by the bare SHA-256 of a channel URL
    that is still configured (``routing.legacy_rekeys``), so they keep going to it; rows of
    URLs no longer configured stay as they are. Run at start (``once``, the daemon) and
    at reload, before delivering; a no-op once done."""
    changed = storage.rekey_urls(routing.legacy_rekeys(config.channels, storage.url_salt))
    if changed:
        log.info("Re-keyed %d stored row(s) of channel URLs to this database's salt.", changed)
    return changed


def deliver_pending(
    config: Config,
    storage: DeliveryStore,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    timeout: float = 30.0,
    respect_backoff: bool = False,
    rand: Callable[[], float] = random.random,
    should_stop: Callable[[], bool] = lambda: False,
    unrecorded: Unrecorded | None = None,
) -> DeliveryOutcome:
    """Deliver what ``delivery.plan`` says is due, URL by URL; record each outcome on its own.

    URLs are sent to in parallel; one URL's alerts go in order, one at a time, so one slow
    or broken channel never delays another. With ``respect_backoff`` (the daemon) a failed
    alert waits for its next attempt time; ``once`` retries every pending alert each run.

    A send whose outcome cannot be recorded goes into ``unrecorded`` (see ``Unrecorded``):
    pass the process's one so that no later pass sends it again.
    """
    outcome = DeliveryOutcome()
    memory = unrecorded if unrecorded is not None else Unrecorded()
    failures_before = memory.failures
    moment = now()
    if memory.sends:
        _flush(config, storage, memory, rand, outcome, moment)
    _deliver_due(
        config, storage, memory, outcome, moment, now, timeout, respect_backoff, rand, should_stop
    )
    if _ops(config) is not None and not should_stop():
        # What this pass told the ops channel (a URL failing or working again, alerts
        # expired) goes now, not a pass later: only new health messages are looked at.
        _deliver_due(
            config,
            storage,
            memory,
            outcome,
            moment,
            now,
            timeout,
            respect_backoff,
            rand,
            should_stop,
            only=lambda a: a.kind == "health" and a.attempts == 0 and a.status == "pending",
        )
    if memory.sends and not memory.ops_told:
        memory.ops_told = True
        _tell_ops_directly(config, memory, timeout, storage.url_salt)
    elif memory.failures == failures_before:
        _storage_worked(memory)
    return outcome


def _deliver_due(
    config: Config,
    storage: DeliveryStore,
    memory: Unrecorded,
    outcome: DeliveryOutcome,
    moment: datetime,
    now: Callable[[], datetime],
    timeout: float,
    respect_backoff: bool,
    rand: Callable[[], float],
    should_stop: Callable[[], bool],
    only: Callable[[AlertRow], bool] | None = None,
) -> None:
    urls = {
        routing.url_key(url, storage.url_salt): (name, url)
        for name, channel in config.channels.items()
        for url in channel.urls
    }
    by_url: dict[str, list[AlertRow]] = defaultdict(list)
    for alert in storage.open_alerts():
        if only is not None and not only(alert):
            continue
        if memory.holds(alert):
            continue  # sent but not recorded, or its URL is paused until a write succeeds
        if alert.url_key not in urls:
            try:
                storage.mark_failed(
                    alert.id,
                    error="The channel URL is no longer in the config.",
                    now=moment,
                    attempted=False,
                )
            except StorageError as exc:
                _storage_failed(memory, exc, moment)
                continue
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
    expired: list[tuple[AlertRow, str]] = []
    for key, alerts in by_url.items():
        try:
            sending = _plan_url(
                config, storage, key, alerts, urls, moment, respect_backoff, expired
            )
        except WriterClosed:
            raise
        except StorageError as exc:  # nothing was sent: the next pass tries again
            _storage_failed(memory, exc, moment)
            continue
        if sending:
            to_send[key] = sending
    if expired:
        try:
            _expire(config, storage, expired, moment, outcome)
        except WriterClosed:
            raise
        except StorageError as exc:  # still open: the next pass expires them again
            _storage_failed(memory, exc, moment)
    if to_send:
        _deliver(config, storage, to_send, urls, memory, outcome, now, timeout, rand, should_stop)


def _plan_url(
    config: Config,
    storage: DeliveryStore,
    key: str,
    alerts: list[AlertRow],
    urls: dict[str, tuple[str, str]],
    moment: datetime,
    respect_backoff: bool,
    expired: list[tuple[AlertRow, str]],
) -> list[AlertRow]:
    """Ask ``delivery.plan`` about one URL's open alerts; hold and fold as told, add those
    to expire to ``expired`` (with their error); the alerts to send now, in order."""
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
        error = f"Gave up after 24 h and {row.attempts} attempts: {row.last_error or 'never sent'}"
        expired.append((row, error))
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
    return sending


def _deliver(
    config: Config,
    storage: DeliveryStore,
    to_send: dict[str, list[AlertRow]],
    urls: dict[str, tuple[str, str]],
    memory: Unrecorded,
    outcome: DeliveryOutcome,
    now: Callable[[], datetime],
    timeout: float,
    rand: Callable[[], float],
    should_stop: Callable[[], bool],
) -> None:
    """Send each URL's alerts in its own thread, recording each outcome before the next."""
    from weightwatch.delivery import notify as _notify

    # Each URL's thread sends one alert, then waits until its outcome is committed before
    # sending the next: a crash can then repeat at most the one alert per URL that was
    # sent but not yet recorded (docs/reliability.md).
    done: queue.SimpleQueue[tuple[AlertRow, _notify.SendOutcome, threading.Event] | None] = (
        queue.SimpleQueue()
    )
    abort = threading.Event()
    paused: set[str] = set()  # URLs with a send that could not be recorded

    def send_all(url: str, alerts: list[AlertRow]) -> None:
        try:
            for alert in alerts:
                if abort.is_set() or should_stop() or alert.url_key in paused:
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
        stamp = now()
        try:
            _record_delivery(config, storage, alert, result, stamp, rand, outcome)
        except WriterClosed:
            abort.set()  # the database is gone (stopping): send nothing more
            raise
        except StorageError as exc:
            # Sent (or tried) but not recorded: never send it again from this process,
            # pause its URL, and record the outcome once a write succeeds (``_flush``).
            memory.add(alert, result, stamp)
            paused.add(alert.url_key)
            _storage_failed(memory, exc, stamp)
            log.error(
                "Alert %s to %s %s was %s but that could not be recorded; it will not be"
                " sent again, and nothing more goes to that URL until the database accepts"
                " writes.",
                alert.id,
                alert.channel,
                alert.masked_url,
                "sent" if result.ok else "tried",
            )
            outcome.errors.append(
                f"{alert.channel} {alert.masked_url}: sent, not recorded: {exc}"
                if result.ok
                else f"{alert.channel} {alert.masked_url}: outcome not recorded: {exc}"
            )
        except BaseException:
            abort.set()
            raise
        finally:
            recorded.set()


def _storage_failed(memory: Unrecorded, exc: StorageError, stamp: datetime) -> None:
    if memory.failed(exc, stamp):
        log.error("Delivery cannot write to the database: %s", exc)


def _storage_worked(memory: Unrecorded) -> None:
    """A pass with no storage failure and nothing left unrecorded ends a failure."""
    with memory.lock:
        if memory.sends or not memory.error:
            return
        memory.error, memory.since, memory.ops_told = "", None, False
    log.info("Delivery writes to the database work again.")


def _flush(
    config: Config,
    storage: DeliveryStore,
    memory: Unrecorded,
    rand: Callable[[], float],
    outcome: DeliveryOutcome,
    moment: datetime,
) -> None:
    """Record what was sent while the database failed, oldest first; stop at a failure."""
    from weightwatch.delivery.render import render_storage_recovered

    with memory.lock:
        held = sorted(memory.sends.values(), key=lambda entry: entry[2])
        since = memory.since
    recorded = 0
    for alert, result, stamp in held:
        try:
            _record_delivery(config, storage, alert, result, stamp, rand, outcome)
        except WriterClosed:
            raise
        except StorageError as exc:
            memory.failed(exc, moment)
            log.debug("Still cannot record the alerts sent meanwhile: %s", exc)
            return
        with memory.lock:
            del memory.sends[alert.id]
        recorded += 1
    log.warning(
        "The database accepts writes again: recorded %d alert(s) sent while it failed.",
        recorded,
    )
    ops = config.channels.get(config.settings.ops) if config.settings.ops else None
    if ops is not None:
        title, body = render_storage_recovered(recorded, since)
        key = f"storage:recovered:{moment.isoformat()}"
        try:
            storage.queue_alerts(
                [
                    NewAlert(
                        ops.name,
                        routing.url_key(u, storage.url_salt),
                        m,
                        title,
                        body,
                        kind="health",
                        event_key=key,
                    )
                    for u, m in zip(ops.urls, ops.masked_urls, strict=True)
                ],
                now=moment,
            )
        except StorageError as exc:
            _storage_failed(memory, exc, moment)
            return
    with memory.lock:
        memory.error, memory.since, memory.ops_told = "", None, False


def _tell_ops_directly(config: Config, memory: Unrecorded, timeout: float, salt: bytes) -> None:
    """While the database fails, tell the ops channel straight away (once per failure,
    not queued: a queued row cannot be written). Paused URLs get nothing."""
    from weightwatch.delivery import notify as _notify
    from weightwatch.delivery.render import render_storage_trouble

    ops = config.channels.get(config.settings.ops) if config.settings.ops else None
    if ops is None:
        return
    with memory.lock:
        held = list(memory.sends.values())
        error = memory.error
    paused = {a.url_key for a, _, _ in held}
    title, body = render_storage_trouble(
        _notify.scrub(error, config.secrets), len(held), [a.channel for a, _, _ in held]
    )
    for url in ops.urls:
        if routing.url_key(url, salt) in paused:
            continue
        result = _notify.send(url, title, body, timeout=timeout)
        if not result.ok:
            log.warning("Could not tell %s that the database fails: %s", ops.name, result.error)


def _ops(config: Config) -> Channel | None:
    return config.channels.get(config.settings.ops) if config.settings.ops else None


def _failing(config: Config) -> delivery.Failing:
    s = config.settings
    return delivery.Failing(after=s.ops_failing_after, lasting=s.ops_failing_for)


def _expire(
    config: Config,
    storage: DeliveryStore,
    expired: list[tuple[AlertRow, str]],
    moment: datetime,
    outcome: DeliveryOutcome,
) -> None:
    """Mark the alerts this pass gave up on failed, and tell the ops channel in ONE
    message (``routing.expired_notices``), in one transaction."""
    notices = routing.expired_notices(
        _ops(config), [row for row, _ in expired], now=moment, salt=storage.url_salt
    )
    storage.expire_alerts([(row.id, error) for row, error in expired], notices, now=moment)
    for row, error in expired:
        outcome.failed += 1
        outcome.errors.append(f"{row.channel} {row.masked_url}: {error}")
        log.error("Alert %s to %s %s failed: %s", row.id, row.channel, row.masked_url, error)
    if notices:
        log.warning(
            "Told %s that %d alert(s) expired undelivered.", notices[0].channel, len(expired)
        )


def _record_delivery(
    config: Config,
    storage: DeliveryStore,
    alert: AlertRow,
    result: _notify.SendOutcome,
    stamp: datetime,
    rand: Callable[[], float],
    outcome: DeliveryOutcome,
) -> None:
    """Commit one send's outcome: sent, retry later (with backoff), or failed for good;
    with its URL's run of failures and what the ops channel hears of it
    (``delivery.url_outcome``: "failing" once, "working again" once)."""
    from weightwatch.delivery import notify as _notify

    ops = _ops(config)
    streak = storage.url_streak(alert.url_key)
    if result.ok:
        _, event = delivery.url_outcome(streak, True, stamp, _failing(config))
        notices = routing.url_notices(
            ops, event, alert, streak, error="", now=stamp, salt=storage.url_salt
        )
        storage.mark_sent(alert.id, now=stamp, url_key=alert.url_key, notices=notices)
        outcome.sent += 1
        if notices:
            log.info(
                "Alerts to %s %s work again; told %s.",
                alert.channel,
                alert.masked_url,
                notices[0].channel,
            )
        return
    error = _notify.scrub(result.error, config.secrets)
    label = f"{alert.channel} {alert.masked_url}"
    after, event = delivery.url_outcome(streak, False, stamp, _failing(config))
    notices = routing.url_notices(
        ops, event, alert, after, error=error, now=stamp, salt=storage.url_salt
    )
    if event and not notices:  # nobody to tell: it stays unreported
        after = replace(after, reported=False)
    storage.record_url_failure(alert.url_key, alert.masked_url, error, after, notices, now=stamp)
    if notices:
        log.warning("Alerts to %s keep failing; told %s.", label, notices[0].channel)
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
    from weightwatch.delivery.render import render_digest

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
