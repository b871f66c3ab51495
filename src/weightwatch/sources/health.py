"""Pure decisions about a source after a poll: which items are new, what its stored state
becomes (``SourceUpdate``), and its health ("ok", "broken", "stale") with the event to
report when that changes.

Nothing here does I/O; every function takes ``now`` and plain values. The pipeline
(``service.poll``) calls these, then writes the result with ``Storage.record_poll`` or
``Storage.record_failure``. Where a health event is sent is ``delivery.routing``'s business.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from weightwatch.errors import HTTPStatusError, SourceError
from weightwatch.types import Item, SourceState, SourceUpdate, Validators

MAX_RETRY_AFTER = 24 * 3600.0  # a server cannot park a source for longer than a day


def new_items(items: Iterable[Item], known_ids: set[str]) -> list[Item]:
    """Items whose id was not seen before for this source, first occurrence only, in order."""
    seen = set(known_ids)
    out = []
    for item in items:
        if item.id not in seen:
            seen.add(item.id)
            out.append(item)
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
) -> SourceUpdate:
    """A source's state after a 200 or a 304 (a 304 keeps its validators and kind)."""
    return SourceUpdate(
        last_poll=now,
        last_ok=now,
        last_status="not modified" if status == 304 else "ok",
        last_http_status=status,
        last_error=warning or None,
        consecutive_failures=0,
        not_before=None,
        primed=True,
        validators=None if status == 304 else Validators(etag, last_modified, kind),
        permanent_url=permanent_url or None,
    )


def after_failure(*, now: datetime, error: SourceError, failures_before: int) -> SourceUpdate:
    """A source's state after a failed poll; a Retry-After (at most a day) parks it."""
    not_before = None
    status = None
    if isinstance(error, HTTPStatusError):
        status = error.status
        if error.retry_after:
            wait = min(max(error.retry_after, 0.0), MAX_RETRY_AFTER)
            not_before = now + timedelta(seconds=wait)
    return SourceUpdate(
        last_poll=now,
        last_status="error",
        last_http_status=status,
        last_error=str(error),
        consecutive_failures=failures_before + 1,
        not_before=not_before,
    )


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


def settle(
    state: SourceState,
    update: SourceUpdate,
    *,
    new_items: int,
    stale_after: float | None,
    now: datetime,
    max_failures: int,
    max_silence: float,
) -> tuple[SourceUpdate, str | None]:
    """``update`` with the source's health after this poll, and the event to report.

    A poll is a success when ``update`` is one (``last_ok`` set); ``state`` is the source
    as stored before it.
    """
    health, event = source_health(
        health=state.health,
        ok=update.last_ok is not None,
        failures=update.consecutive_failures,
        last_ok=state.last_ok,
        new_items=new_items,
        last_new_item=state.last_new_item or state.last_ok,
        stale_after=stale_after,
        now=now,
        max_failures=max_failures,
        max_silence=max_silence,
    )
    return replace(update, health=health), event
