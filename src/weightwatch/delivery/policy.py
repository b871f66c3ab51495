"""Delivery policy, pure: what to send now, what to hold, what to fold into a digest.

For each channel URL the daemon (or ``once``) asks ``plan()`` with the URL's open alerts,
its recent history and ``now``; the shell then sends, holds and folds as told. Rules:

- **Retries.** A failed send is retried with exponential backoff and jitter: first after
  ``RETRY_FIRST`` (30 s), doubling, at most ``RETRY_CAP`` (3 h) apart, until it succeeds or
  the alert is older than ``MAX_AGE`` (24 h); then it is marked failed and reported. A
  permanent error (HTTP 4xx other than 408/429, an unusable URL) fails at once.
- **Quiet hours** (``quiet = "22:00-07:00"``, in ``settings.timezone``): nothing is sent
  during them; what arrives is held and goes out as one digest when they end.
- **Rate limit** (``max_per_hour = 10``): at most that many messages to the URL in any
  hour; alerts beyond it are held, not dropped, and roll into one digest as soon as the
  window allows; the digest says how many alerts it folds in.
- **Digests** (``digest = "1h"`` or ``digest = "daily 08:00"`` on a channel or a rule):
  alerts are held and sent together, one message listing the stories, when due: an
  interval digest at most once per interval (counted from the last digest, else from the
  oldest held alert), a daily digest at the first HH:MM after the oldest held alert.
A held alert that would go out alone for a rate or quiet reason is sent as itself, not as
a digest of one.

``url_outcome`` decides, per send's outcome, what the ops channel hears about a channel
URL: "failing" once its run of failed sends reaches ``settings.ops_failing_after`` in a
row or lasts ``settings.ops_failing_for`` (with at least ``Failing.min_run`` failures),
then nothing more until "working" (again) at its next success. The thresholds are the
hysteresis: a flaky URL whose failures come a few at a time never reaches them, so it
neither flaps nor re-arms on every success.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo

from weightwatch.types import UrlStreak

RETRY_FIRST = 30.0
RETRY_CAP = 3 * 3600.0
RETRY_JITTER = 0.2  # up to +20% of the wait
MAX_AGE = 24 * 3600.0
MIN_DIGEST_PERIOD = 300.0

_STATUS_RE = re.compile(r"\berror=(\d{3})\b")


def retry_delay(attempts: int, rand: float = 0.0) -> float:
    """Seconds before attempt ``attempts + 1`` after ``attempts`` failed ones (>= 1)."""
    base = min(RETRY_FIRST * 2.0 ** max(attempts - 1, 0), RETRY_CAP)
    return base * (1.0 + RETRY_JITTER * rand)


def is_permanent(error: str) -> bool:
    """A delivery error that retrying cannot fix: an HTTP 4xx other than 408 and 429."""
    m = _STATUS_RE.search(error)
    if not m:
        return False
    status = int(m.group(1))
    return 400 <= status < 500 and status not in (408, 429)


@dataclass(frozen=True)
class Digest:
    """``every`` seconds, or ``daily`` at a local time."""

    every: float | None = None
    daily: time | None = None

    def __str__(self) -> str:
        if self.daily is not None:
            return f"daily {self.daily:%H:%M}"
        return f"{self.every:g}s"

    @classmethod
    def from_str(cls, text: str | None) -> Digest | None:
        """Read back ``str(digest)`` as stored with an alert; None for None or junk."""
        if not text:
            return None
        daily = parse_daily(text)
        if daily is not None:
            return cls(daily=daily)
        try:
            return cls(every=float(text.rstrip("s")))
        except ValueError:
            return None


_DAILY_RE = re.compile(r"daily\s+(\d{1,2}):(\d{2})\Z", re.IGNORECASE)
_HHMM_RE = re.compile(r"(\d{1,2}):(\d{2})\Z")


def parse_daily(text: str) -> time | None:
    m = _DAILY_RE.match(text.strip())
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time of day (use 00:00 to 23:59)")
    return time(hour, minute)


def parse_quiet(text: str) -> tuple[time, time]:
    """``"22:00-07:00"`` → (22:00, 07:00); the range may wrap past midnight."""
    parts = [p.strip() for p in text.split("-")]
    if len(parts) != 2:
        raise ValueError(f'expected a range of local times such as "22:00-07:00", found {text!r}')
    out = []
    for part in parts:
        m = _HHMM_RE.match(part)
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            raise ValueError(f"{part!r} is not a time of day (use 00:00 to 23:59)")
        out.append(time(int(m.group(1)), int(m.group(2))))
    if out[0] == out[1]:
        raise ValueError("the quiet range starts and ends at the same time")
    return out[0], out[1]


def in_quiet(quiet: tuple[time, time] | None, now: datetime, tz: tzinfo) -> bool:
    if quiet is None:
        return False
    local = now.astimezone(tz).time().replace(tzinfo=None)
    start, end = quiet
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_daily(at: time, after: datetime, tz: tzinfo) -> datetime:
    """The first local ``at`` strictly after ``after`` (aware datetimes in, aware out)."""
    local = after.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate


@dataclass(frozen=True)
class Policy:
    """A channel's delivery options (rule digests travel on each alert as ``hold``)."""

    digest: Digest | None = None
    max_per_hour: int | None = None
    quiet: tuple[time, time] | None = None


@dataclass(frozen=True)
class Open:
    """An alert still to deliver: ``status`` "pending" or "held" (``hold`` says why)."""

    id: int
    status: str
    created: datetime
    attempts: int = 0
    next_attempt: datetime | None = None
    hold: str | None = None  # "quiet", "rate", or "digest:<spec>"
    digest: Digest | None = None  # a rule's own digest, if any


@dataclass(frozen=True)
class History:
    sent_last_hour: int = 0
    last_digest: datetime | None = None


@dataclass
class Plan:
    send: list[int] = field(default_factory=list)
    fold: list[int] = field(default_factory=list)  # into ONE digest, sent now
    hold: list[tuple[int, str]] = field(default_factory=list)
    expire: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.send or self.fold or self.hold or self.expire)


def _digest_due(
    spec: Digest, oldest: datetime, last: datetime | None, now: datetime, tz: tzinfo
) -> bool:
    if spec.daily is not None:
        return next_daily(spec.daily, oldest, tz) <= now
    assert spec.every is not None
    start = max(last, oldest - timedelta(seconds=spec.every)) if last else oldest
    return now >= start + timedelta(seconds=spec.every)


def plan(policy: Policy, alerts: list[Open], history: History, now: datetime, tz: tzinfo) -> Plan:
    """What to do now with one URL's open alerts (oldest first)."""
    out = Plan()
    live: list[Open] = []
    for a in alerts:
        if (now - a.created).total_seconds() > MAX_AGE:
            out.expire.append(a.id)
        else:
            live.append(a)
    quiet = in_quiet(policy.quiet, now, tz)

    # New alerts of a digest channel or a digest rule are held for the digest.
    fresh_holds: dict[int, str] = {}
    for a in live:
        if a.status == "pending" and a.attempts == 0:
            spec = a.digest or policy.digest
            if spec is not None:
                fresh_holds[a.id] = f"digest:{spec}"
            elif quiet:
                fresh_holds[a.id] = "quiet"
    if quiet:
        out.hold.extend(fresh_holds.items())
        return out

    held = [a for a in live if a.status == "held" or a.id in fresh_holds]
    budget = None if policy.max_per_hour is None else policy.max_per_hour - history.sent_last_hour

    due: list[Open] = []
    for a in held:
        reason = fresh_holds.get(a.id) or a.hold or ""
        if reason.startswith("digest:"):
            spec = a.digest or policy.digest
            oldest = min(
                h.created for h in held if (fresh_holds.get(h.id) or h.hold or "") == reason
            )
            if spec is None or _digest_due(spec, oldest, history.last_digest, now, tz):
                due.append(a)
        else:  # quiet hours are over; rate-held alerts go when the window allows
            due.append(a)
    sendable = [
        a
        for a in live
        if a.status == "pending"
        and a.id not in fresh_holds
        and (a.next_attempt is None or a.next_attempt <= now)
    ]

    if due and (budget is None or budget > 0):
        only = due[0]
        reason = fresh_holds.get(only.id) or only.hold or ""
        if len(due) == 1 and not reason.startswith("digest:"):
            sendable.insert(0, only)
        else:
            out.fold = [a.id for a in due]
            if budget is not None:
                budget -= 1
    for a in held:
        if a.id in fresh_holds and a.id not in out.fold and a not in sendable:
            out.hold.append((a.id, fresh_holds[a.id]))

    for a in sendable:
        if budget is not None and budget <= 0:
            if a.attempts == 0 or a.status == "held":
                out.hold.append((a.id, "rate"))
            continue  # a retry waits for room in the window
        out.send.append(a.id)
        if budget is not None:
            budget -= 1
    return out


@dataclass(frozen=True)
class Failing:
    """When a channel URL counts as failing: ``after`` failed sends in a row, or a run of
    failed sends lasting ``lasting`` seconds (``settings.ops_failing_after`` / ``_for``)
    once it has at least ``min_run`` of them."""

    after: int = 10
    lasting: float = 600.0
    # A run counts by its length in time only from this many failures: alerts of a flaky
    # URL retried minutes apart can leave 2 or 3 failures spanning 10 minutes, while one
    # alert of a dead URL, retried with backoff, has its 5th failure 7.5 minutes after the
    # first (and is failing at its 6th, 15.5 minutes after it).
    min_run: int = 5


def url_outcome(
    streak: UrlStreak, ok: bool, now: datetime, failing: Failing
) -> tuple[UrlStreak, str | None]:
    """A URL's run of failed sends after one more send (``ok``: it succeeded), and the
    event for the ops channel: "failing" (once per run), "working" (the first success
    after a reported "failing"), or None."""
    if ok:
        return UrlStreak(), ("working" if streak.reported else None)
    since = streak.since or now
    after = UrlStreak(streak.failures + 1, since, streak.reported)
    if streak.reported:
        return after, None
    lasted = (now - since).total_seconds()
    if after.failures >= failing.after or (
        lasted >= failing.lasting and after.failures >= failing.min_run
    ):
        return UrlStreak(after.failures, since, True), "failing"
    return after, None
