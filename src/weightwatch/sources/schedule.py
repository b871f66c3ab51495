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

import bisect
import math
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


# --- adaptive polling ----------------------------------------------------------------------
#
# Sources without their own ``interval`` share a request budget (``settings.interval``: as
# many requests as polling each of them that often). Polls are spent where items arrive:
# a source's poll frequency is proportional to a power of its publishing rate, from the
# square root (Sia & Cho, TKDE 2007: that minimises the mean delay for a fixed number of
# requests) to the rate itself (more to the busiest sources, which hold most items: a lower
# median at a small budget), the power chosen with the scale (``scale_for``); shaped by
# when in the day and week it publishes, clamped to [min_interval, max_interval].
# Everything here is pure: a source's ``Model`` is learned from the publish times of its
# items (``learn``), and ``plan`` maps a model, ``now`` and the global ``scale`` (from
# ``scale_for`` over every adaptive source's rate) to the next delay and its reason.

HISTORY = 256  # item publish times kept per source (stored: they survive restarts)
RATE_WINDOW = 28 * 86400.0  # the publishing rate is measured over at most the last 4 weeks
PRIOR_ITEMS = 0.5  # the rate estimate is (items + PRIOR_ITEMS) / (span + PRIOR_SPAN)
PRIOR_SPAN = 6 * 3600.0
SHAPE_PRIOR = 3.0  # pseudo-items per hour-of-day / day-of-week bin: no bin is ever "dead"
SHAPE_MIN_ITEMS = 12  # fewer items than this: no time-of-day/week shaping
POWERS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # rate exponents to choose from
QUANTILES = (0.5, 0.95, 0.99)  # the item-weighted delays it weighs (``_loss``) ...
WEIGHTS = (1.0, 0.25, 0.25)  # ... and how much
BUDGET_MARGIN = 0.98  # plan for 98 % of the budget: the shaping and jitter never overspend
MIN_INTERVAL = 120.0  # defaults of settings.min_interval / max_interval
MAX_INTERVAL = 3600.0
_HOUR = 3600.0
_DAY = 86400.0
_WEEK = 7 * _DAY


@dataclass(frozen=True)
class Model:
    """What one source's history says: its recent item times and their shape.

    ``times``: publish times (unix seconds, ascending, at most ``HISTORY``);
    ``hours`` / ``days``: multipliers of the poll frequency by hour of day / day of week
    (UTC, the day index counted from the epoch): the square root of how much busier than
    average that hour or day is, scaled to average 1 so that shaping moves polls in time
    without spending more; 1.0 where nothing is known."""

    times: tuple[float, ...] = ()
    hours: tuple[float, ...] = (1.0,) * 24
    days: tuple[float, ...] = (1.0,) * 7
    hour_counts: tuple[int, ...] = (0,) * 24  # items of ``times`` per hour of day / weekday
    day_counts: tuple[int, ...] = (0,) * 7


@dataclass(frozen=True)
class Bounds:
    """The settings that bound adaptive polling (seconds; ``budget`` is an interval)."""

    budget: float = 15 * 60.0
    min_interval: float = MIN_INTERVAL
    max_interval: float = MAX_INTERVAL


def bounds(budget: float, min_interval: float, max_interval: float) -> Bounds:
    """The settings as ``Bounds``, widened to hold the budget interval itself (a budget of
    5 s with the default min_interval of 2 min still polls about every 5 s)."""
    return Bounds(budget, min(min_interval, budget), max(max_interval, budget))


@dataclass(frozen=True)
class Plan:
    delay: float  # seconds until the next poll
    reason: str  # why, in a few words (``weightwatch status``)


EMPTY = Model()


def learn(model: Model, published: Iterable[float], now: float) -> Model:
    """``model`` after a poll that showed items published at ``published`` (unix seconds;
    times ahead of ``now`` count as ``now``). Only the latest ``HISTORY`` are kept."""
    known = model.times
    new: set[float] = set()
    for p in published:  # the times not known yet (``known`` is sorted: no set of it)
        t = min(float(p), now)
        k = bisect.bisect_left(known, t)
        if k == len(known) or known[k] != t:
            new.add(t)
    if not new:
        return model
    merged = sorted([*known, *new])  # nearly sorted already: cheap
    times = tuple(merged[-HISTORY:])
    hours, days = list(model.hour_counts), list(model.day_counts)
    for t in merged[:-HISTORY]:  # dropped: counted before unless they were new
        if t not in new:
            hours[int(t % _DAY // _HOUR)] -= 1
            days[int(t % _WEEK // _DAY)] -= 1
    for t in new.intersection(times):
        hours[int(t % _DAY // _HOUR)] += 1
        days[int(t % _WEEK // _DAY)] += 1
    if len(times) < SHAPE_MIN_ITEMS:
        return Model(times, hour_counts=tuple(hours), day_counts=tuple(days))
    return Model(
        times,
        _shape(hours, len(times), times[0], now, _DAY, _HOUR),
        _shape(days, len(times), times[0], now, _WEEK, _DAY),
        tuple(hours),
        tuple(days),
    )


def _shape(
    counts: Sequence[int], n: int, start: float, end: float, period: float, width: float
) -> tuple[float, ...]:
    """Per bin: the square root of (items in it + prior) / (items expected there at a flat
    rate + prior), where "expected" weighs each bin by how long [start, end] covered it;
    scaled to average 1 over the bins."""
    bins = len(counts)
    span = max(end - start, 1.0)
    full, rest = divmod(span, period)
    exposure = [full * width] * bins
    t = start + full * period
    while rest > 0:  # the partial cycle, bin by bin
        b = int(t % period // width)
        step = min(rest, width - t % width)
        exposure[b] += step
        t += step
        rest -= step
    per_s = n / span
    roots = [
        math.sqrt((c + SHAPE_PRIOR) / (per_s * e + SHAPE_PRIOR))
        for c, e in zip(counts, exposure, strict=True)
    ]
    mean = sum(roots) / bins
    return tuple(r / mean for r in roots)


def rate(model: Model, now: float) -> float:
    """Items per second over the last ``RATE_WINDOW`` (smoothed towards a quiet prior)."""
    times = model.times
    lo = bisect.bisect_left(times, now - RATE_WINDOW)
    count = len(times) - lo
    # Older items were kept: the window is full; else it starts at the oldest item.
    # No item ever: as quiet as a source whose items all left the window.
    span = RATE_WINDOW if lo > 0 or not times else now - times[0]
    return (count + PRIOR_ITEMS) / (span + PRIOR_SPAN)


def shape_at(model: Model, at: float) -> float:
    """The multiplier of the poll frequency at ``at`` (``Model.hours`` × ``Model.days``)."""
    return model.hours[int(at % _DAY // _HOUR)] * model.days[int(at % _WEEK // _DAY)]


class Scale(float):
    """The global scale c (a float, as before) and the rate exponent ``power`` it was solved
    for: a source is polled about every c / rate**power seconds."""

    power: float

    def __new__(cls, value: float, power: float = 0.5) -> Scale:
        obj = super().__new__(cls, value)
        obj.power = power
        return obj


def _solve(roots: Sequence[float], budget: float, lo_f: float, hi_f: float) -> float:
    """The c for which sum(clamp(s / c, lo_f, hi_f)) over ``roots`` is ``budget`` polls per
    second: exact, by sweeping the points where a source leaves or reaches a bound."""
    n = len(roots)
    if n * lo_f >= budget:  # even every source at max_interval is over: all at max
        return 1e12
    if n * hi_f <= budget:  # every source at min_interval is still under
        return 1e-12
    # With u = 1 / c a source spends lo_f until u = lo_f / s, then s * u until hi_f / s.
    events = sorted(
        [(lo_f / s, 0, s) for s in roots if s > 0] + [(hi_f / s, 1, s) for s in roots if s > 0]
    )
    at_lo, at_hi, mid = float(n), 0.0, 0.0  # sources at the floor / ceiling; sum of s between
    for u, kind, s in events:
        if at_lo * lo_f + at_hi * hi_f + mid * u >= budget:
            break
        if kind == 0:
            at_lo -= 1
            mid += s
        else:
            mid -= s
            at_hi += 1
    else:
        return 1e-12
    if mid <= 0:
        return 1.0 / u
    return mid / max(budget - at_lo * lo_f - at_hi * hi_f, 1e-300)


def _quantiles(
    waits: Sequence[float], weights: Sequence[float], ps: Sequence[float]
) -> list[float]:
    """Quantiles ``ps`` of the delay of an item when source i, publishing at ``weights[i]``
    items per second, is polled every ``waits[i]`` seconds: a mixture of Uniform(0, wait)
    weighted by rate. Exact (the mixture's distribution function is piecewise linear)."""
    total = sum(weights)
    order = sorted(range(len(waits)), key=waits.__getitem__)
    below = 0.0  # weight of the sources whose wait is shorter than x: all their items are in
    slope = sum(w / t for w, t in zip(weights, waits, strict=True))  # d(F * total) / dx
    out: list[float] = []
    targets = iter(sorted(ps))
    p = next(targets, None)
    for i in order:
        t = waits[i]
        while p is not None and below + slope * t >= p * total:
            out.append((p * total - below) / slope)
            p = next(targets, None)
        below += weights[i]
        slope -= weights[i] / t
    while p is not None:
        out.append(max(waits))
        p = next(targets, None)
    return out


def _loss(predicted: Sequence[float]) -> float:
    """How bad predicted item-weighted delays (``QUANTILES``, seconds) are: the log of the
    median plus a quarter of the logs of the p95 and p99, so 4 % off the median is worth
    16 % on the tail. The square root (power ½) minimises the mean delay; higher powers
    favour the busiest sources, which hold most items: at a small budget they cut the median
    a lot for a longer tail, at the default budget (most sources at a bound) they do not."""
    return sum(w * math.log(max(x, 1.0)) for w, x in zip(WEIGHTS, predicted, strict=True))


def scale_for(rates: Sequence[float], bounds: Bounds) -> Scale:
    """The ``Scale`` for which polling each source every c / rate**power seconds, clamped to
    the bounds, spends ``BUDGET_MARGIN`` of the budget (len(rates) / bounds.budget polls per
    second). The power is chosen from ``POWERS`` by what it predicts for the item-weighted
    delay (``_quantiles`` of QUANTILES with these rates), see ``_loss``."""
    if not rates:
        return Scale(0.0)
    budget = BUDGET_MARGIN * len(rates) / bounds.budget
    lo_f, hi_f = 1.0 / bounds.max_interval, 1.0 / bounds.min_interval
    best: tuple[float, Scale] | None = None
    rates = [max(r, 0.0) for r in rates]
    for power in POWERS:
        roots = [r**power for r in rates]
        c = _solve(roots, budget, lo_f, hi_f)
        if len(POWERS) == 1:
            return Scale(c, power)
        waits = [1.0 / min(max(s / c, lo_f), hi_f) for s in roots]
        loss = _loss(_quantiles(waits, rates, QUANTILES))
        if best is None or loss < best[0]:
            best = (loss, Scale(c, power))
    assert best is not None
    return best[1]


def adaptive_delay(model: Model, now: float, scale: float, bounds: Bounds) -> Plan:
    """The wait before the next poll: the time over which the wanted poll frequency,
    rate ** power × shape(t) / scale, integrates to one poll, clamped to the bounds
    (``power``: the ``Scale``'s, ½ for a plain float)."""
    per_s = rate(model, now)
    base = per_s ** getattr(scale, "power", 0.5)
    if base <= 0 or scale <= 0:
        return Plan(bounds.min_interval if scale <= 0 else bounds.max_interval, "adaptive")
    need, t = 1.0, now
    end = now + bounds.max_interval
    hours, days = model.hours, model.days
    while t < end:
        step = _HOUR - t % _HOUR
        if step > end - t:
            step = end - t
        freq = base * hours[int(t % _DAY // _HOUR)] * days[int(t % _WEEK // _DAY)] / scale
        if freq * step >= need:
            t += need / freq
            break
        need -= freq * step
        t += step
    delay = t - now
    per_day = per_s * _DAY
    if delay <= bounds.min_interval:
        return Plan(bounds.min_interval, f"adaptive, ~{per_day:.3g} items/day: min_interval")
    if delay >= bounds.max_interval:
        return Plan(bounds.max_interval, f"adaptive, ~{per_day:.3g} items/day: max_interval")
    return Plan(delay, f"adaptive, ~{per_day:.3g} items/day")


def plan(
    model: Model,
    now: float,
    *,
    scale: float,
    bounds: Bounds,
    interval: float | None = None,
    promise: bool = True,
    failures: int = 0,
    retry_after: float | None = None,
    max_age: float | None = None,
    ttl: float | None = None,
    rand: float = 0.0,
) -> Plan:
    """The next poll of a source: every ``interval`` if given, else adaptive within
    ``bounds``; then failures back off (as ``next_delay``) and server hints (Retry-After,
    Cache-Control max-age, RSS ttl) may lengthen the wait, up to ``HINT_CAP`` or the
    interval if that is longer. ``rand`` in [0, 1) chooses a jitter of up to ``JITTER`` of
    the wait (``JITTER_MAX`` s), added to it (an adaptive wait stays within
    ``max_interval``); with ``promise`` (a source's own interval:
    "at least this often") it is taken off an interval instead, so it is never exceeded
    unless failures or the server lengthen the wait. Without ``promise`` an interval is
    ``settings.interval`` under ``schedule = "fixed"``: exactly ``next_delay``."""
    if interval is not None:
        base = Plan(interval, "its own interval" if promise else "settings.interval (fixed)")
    else:
        base = adaptive_delay(model, now, scale, bounds)
    wait, reason = base.delay, base.reason
    if failures > 1:
        backoff = min(wait * 2.0 ** min(failures - 1, 30), max(BACKOFF_CAP, wait))
        if backoff > wait:
            wait, reason = backoff, f"backing off after {failures} failures in a row"
    asked: list[tuple[float, str]] = []
    if retry_after or max_age or ttl:
        hints = {"Retry-After": retry_after, "Cache-Control max-age": max_age, "RSS ttl": ttl}
        asked = [(h, name) for name, h in hints.items() if h is not None and h > 0]
    if asked:
        longest, name = max(asked)
        hinted = min(longest, max(HINT_CAP, wait))
        if hinted > wait:
            wait, reason = hinted, f"the server asked ({name})"
    jitter = min(wait * JITTER, JITTER_MAX) * rand
    if promise and interval is not None and wait <= interval:
        return Plan(float(wait - jitter), reason)  # a promise: early, never late
    if interval is None and wait <= bounds.max_interval:
        return Plan(float(min(wait + jitter, bounds.max_interval)), reason)  # the max gap
    return Plan(float(wait + jitter), reason)
