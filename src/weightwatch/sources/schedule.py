"""When to poll a source next: pure policy over values (``now`` and randomness passed in).

- A healthy source is polled every ``interval`` (its own, else ``settings.interval``).
- Consecutive failures stretch the wait exponentially: 1, 2, 4, 8 ... times the interval
  after the 1st, 2nd, 3rd, 4th failure in a row (one blip costs nothing), capped at
  ``BACKOFF_CAP`` (6 h) but never below the interval. A source that recovers
  goes back to its interval at once.
- Server hints (``Retry-After``, ``Cache-Control: max-age``, RSS ``<ttl>``) may only
  lengthen the wait, up to ``HINT_CAP`` (6 h); they never shorten the configured interval.
- A small jitter (up to ``JITTER`` of the wait, at most ``JITTER_MAX`` seconds) keeps
  sources with one interval from firing in lockstep; it is added to the computed wait,
  not to an already-jittered time, so it does not drift.
- After a start or reload, a source's first poll is its stored next-due time when that is
  still ahead, else spread over its interval (``spread``) so a restart does not fire every
  source at once.
"""

from __future__ import annotations

import re
import zlib
from datetime import datetime, timedelta

BACKOFF_CAP = 6 * 3600.0
HINT_CAP = 6 * 3600.0
JITTER = 0.05
JITTER_MAX = 60.0
FIRST_RUN_MAX = 15 * 60.0  # sources with long intervals still start within 15 min of a start

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def next_delay(
    interval: float,
    *,
    failures: int = 0,
    retry_after: float | None = None,
    max_age: float | None = None,
    ttl: float | None = None,
    rand: float = 0.0,
) -> float:
    """Seconds until the next poll. ``rand`` in [0, 1) chooses the jitter."""
    if failures > 0:
        wait = min(interval * 2.0 ** min(failures - 1, 30), max(BACKOFF_CAP, interval))
    else:
        wait = interval
    hints = [h for h in (retry_after, max_age, ttl) if h is not None and h > 0]
    if hints:
        wait = max(wait, min(max(hints), max(HINT_CAP, interval)))
    jitter = min(wait * JITTER, JITTER_MAX) * rand
    return float(wait + jitter)


def max_age_of(cache_control: str | None) -> float | None:
    """``Cache-Control: max-age=N`` in seconds, or None."""
    if not cache_control:
        return None
    m = _MAX_AGE.search(cache_control)
    return float(m.group(1)) if m else None


def spread(name: str, interval: float) -> float:
    """A stable offset in [0, min(interval, FIRST_RUN_MAX)) for a source's first poll."""
    window = min(interval, FIRST_RUN_MAX)
    return (zlib.crc32(name.encode("utf-8")) % 10_000) / 10_000 * window


def first_run(name: str, interval: float, next_due: datetime | None, now: datetime) -> datetime:
    """When to poll a source first after a start: its stored due time if ahead, else spread."""
    if next_due is not None and next_due > now:
        return min(next_due, now + timedelta(seconds=max(interval, BACKOFF_CAP)))
    return now + timedelta(seconds=spread(name, interval))
