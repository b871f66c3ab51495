"""Pure decisions of a poll: which items are new, which hits are duplicates, what to alert.

Nothing here does I/O; every function takes ``now`` and plain values. The pipeline
(``_update``) calls these and does the fetching, storing and sending.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from weightwatch.config import Channel, Rule
from weightwatch.errors import HTTPStatusError, SourceError
from weightwatch.types import AlertTarget, Item

MAX_RETRY_AFTER = 24 * 3600.0  # a server cannot park a source for longer than a day

ALERT_FIRST_RETRY = 30.0  # seconds after the first failed attempt
ALERT_RETRY_CAP = 3600.0  # retries are at most an hour apart
ALERT_MAX_AGE = 24 * 3600.0  # then the alert is marked failed and reported


def url_key(url: str) -> str:
    """How an alert row names its channel URL without storing it (URLs may hold secrets)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def new_items(items: Iterable[Item], known_ids: set[str]) -> list[Item]:
    """Items whose id was not seen before for this source, first occurrence only, in order."""
    seen = set(known_ids)
    out = []
    for item in items:
        if item.id not in seen:
            seen.add(item.id)
            out.append(item)
    return out


def alert_targets(rules: Iterable[Rule], channels: dict[str, Channel]) -> list[AlertTarget]:
    """The distinct channel URLs the given rules notify, in rule and channel order."""
    out: list[AlertTarget] = []
    seen: set[str] = set()
    for rule in rules:
        for name in rule.notify:
            channel = channels.get(name)
            if channel is None:
                continue
            for url, masked in zip(channel.urls, channel.masked_urls, strict=True):
                key = url_key(url)
                if key not in seen:
                    seen.add(key)
                    out.append(AlertTarget(name, url, key, masked))
    return out


def after_success(
    *,
    now: datetime,
    status: int,
    etag: str | None,
    last_modified: str | None,
    permanent_url: str | None,
    kind: str | None,
    warning: str = "",
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "last_poll": now,
        "last_ok": now,
        "last_status": "not modified" if status == 304 else "ok",
        "last_http_status": status,
        "last_error": warning or None,
        "consecutive_failures": 0,
        "not_before": None,
        "primed": 1,
    }
    if status != 304:
        values["etag"] = etag
        values["last_modified"] = last_modified
        values["kind"] = kind
    if permanent_url:
        values["permanent_url"] = permanent_url
    return values


def after_failure(*, now: datetime, error: SourceError, failures_before: int) -> dict[str, Any]:
    not_before = None
    status = None
    if isinstance(error, HTTPStatusError):
        status = error.status
        if error.retry_after:
            wait = min(max(error.retry_after, 0.0), MAX_RETRY_AFTER)
            not_before = now + timedelta(seconds=wait)
    return {
        "last_poll": now,
        "last_status": "error",
        "last_http_status": status,
        "last_error": str(error),
        "consecutive_failures": failures_before + 1,
        "not_before": not_before,
    }


def alert_retry_due(attempts: int, updated: datetime | None, now: datetime) -> bool:
    """Whether a pending alert may be tried now: at once if never tried, then with backoff.

    After ``n`` failed attempts the next one waits ``ALERT_FIRST_RETRY * 2**(n-1)`` seconds,
    at most ``ALERT_RETRY_CAP``.
    """
    if attempts <= 0 or updated is None:
        return True
    wait = min(ALERT_FIRST_RETRY * 2.0 ** min(attempts - 1, 20), ALERT_RETRY_CAP)
    return now >= updated + timedelta(seconds=wait)


def alert_expired(created: datetime | None, now: datetime) -> bool:
    """A pending alert older than ``ALERT_MAX_AGE`` is given up on (marked failed)."""
    return created is not None and now - created > timedelta(seconds=ALERT_MAX_AGE)


def is_waiting(not_before: datetime | None, now: datetime) -> bool:
    """True while a server's Retry-After says the source must not be polled yet."""
    return not_before is not None and now < not_before


def source_health(
    *,
    health: str,
    ok: bool,
    failures: int,
    last_ok: datetime | None,
    new_items: int,
    last_new_item: datetime | None,
    stale_after: float | None,
    now: datetime,
    max_failures: int,
    max_silence: float,
) -> tuple[str, str | None]:
    """A source's health after a poll, and the event to report: (health, event or None).

    ``health`` is "ok", "broken" or "stale". A source breaks after ``max_failures`` failures
    in a row, or when a failure comes more than ``max_silence`` seconds after its last
    success; it recovers on its next success. With ``stale_after``, a working source that
    has produced no new item for that long is "stale" until one arrives. Each change is
    reported once: "broken", "recovered", "stale", "active".
    """
    if not ok:
        silent_too_long = last_ok is not None and (now - last_ok).total_seconds() >= max_silence
        if health != "broken" and (failures >= max_failures or silent_too_long):
            return "broken", "broken"
        return health, None
    if health == "broken":
        return "ok", "recovered"
    if stale_after:
        if new_items > 0:
            return ("ok", "active") if health == "stale" else ("ok", None)
        if (
            health == "ok"
            and last_new_item is not None
            and (now - last_new_item).total_seconds() >= stale_after
        ):
            return "stale", "stale"
    elif health == "stale":
        return "ok", None
    return health, None
