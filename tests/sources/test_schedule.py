"""Scheduling policy (pure): intervals, backoff, server hints, jitter, first runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from weightwatch.sources import schedule
from weightwatch.sources.schedule import (
    BACKOFF_CAP,
    HINT_CAP,
    first_run,
    max_age_of,
    next_delay,
    spread,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
M = 60.0


@pytest.mark.parametrize(
    ("case", "kwargs", "expected"),
    [
        ("healthy source waits its interval", {}, 10 * M),
        ("one failure costs nothing extra", {"failures": 1}, 10 * M),
        ("second failure doubles", {"failures": 2}, 20 * M),
        ("third failure quadruples", {"failures": 3}, 40 * M),
        ("backoff is capped at 6 h", {"failures": 30}, BACKOFF_CAP),
        ("Retry-After lengthens", {"retry_after": 3600.0}, 3600.0),
        ("Retry-After never shortens", {"retry_after": 5.0}, 10 * M),
        ("max-age lengthens", {"max_age": 1800.0}, 1800.0),
        ("max-age never shortens", {"max_age": 60.0}, 10 * M),
        ("ttl lengthens", {"ttl": 3600.0}, 3600.0),
        ("hints are capped", {"max_age": 7 * 86400.0}, HINT_CAP),
        ("the longest of backoff and hint wins", {"failures": 3, "retry_after": 60.0}, 40 * M),
    ],
)
def test_next_delay(case: str, kwargs: dict[str, float], expected: float) -> None:
    assert next_delay(10 * M, **kwargs) == pytest.approx(expected), case  # type: ignore[arg-type]


def test_an_interval_longer_than_the_caps_is_kept() -> None:
    day = 86400.0
    assert next_delay(day, failures=5) == day
    assert next_delay(day, max_age=2 * day) == day


def test_jitter_is_small_and_added_to_the_wait_not_compounded() -> None:
    low = next_delay(10 * M, rand=0.0)
    high = next_delay(10 * M, rand=0.999)
    assert low == 10 * M
    assert 10 * M < high <= 10 * M + min(10 * M * schedule.JITTER, schedule.JITTER_MAX)
    assert next_delay(86400.0, rand=0.999) <= 86400.0 + schedule.JITTER_MAX


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("max-age=300", 300.0),
        ("public, max-age=600, must-revalidate", 600.0),
        ('max-age="120"', 120.0),
        ("no-cache", None),
        ("s-maxage=100", None),
        ("", None),
        (None, None),
    ],
)
def test_max_age_of(header: str | None, expected: float | None) -> None:
    assert max_age_of(header) == expected


def test_first_runs_after_a_restart_are_spread_not_all_at_once() -> None:
    offsets = {spread(f"feed-{n}", 15 * M) for n in range(200)}
    assert min(offsets) >= 0 and max(offsets) < 15 * M
    assert len(offsets) > 150  # distinct times
    # stable: the same source gets the same offset each start
    assert spread("feed-1", 15 * M) == spread("feed-1", 15 * M)


def test_first_run_keeps_a_stored_due_time_that_is_still_ahead() -> None:
    due = NOW + timedelta(minutes=3)
    assert first_run("a", 10 * M, due, NOW) == due


def test_first_run_of_an_overdue_source_is_within_its_interval() -> None:
    overdue = NOW - timedelta(hours=5)
    when = first_run("a", 10 * M, overdue, NOW)
    assert NOW <= when < NOW + timedelta(minutes=10)


def test_first_run_with_a_long_interval_still_starts_within_15_minutes() -> None:
    when = first_run("a", 86400.0, None, NOW)
    assert when < NOW + timedelta(minutes=15)


# --- adaptive polling (schedule.plan) -------------------------------------------------------

H = 3600.0
DAY = 86400.0
T0 = 1_700_000_000.0  # a fixed "now" in unix seconds
BOUNDS = schedule.Bounds(budget=15 * M, min_interval=2 * M, max_interval=60 * M)


def every(gap: float, count: int, end: float = T0) -> list[float]:
    """``count`` publish times ``gap`` apart, the last at ``end``."""
    return [end - gap * k for k in range(count)]


def model_of(times: list[float], now: float = T0) -> schedule.Model:
    return schedule.learn(schedule.EMPTY, times, now)


BUSY = model_of(every(10 * M, 200))  # an item every 10 minutes
QUIET = model_of(every(7 * DAY, 3))  # one a week
SILENT = schedule.EMPTY
# A scale shared by a busy, a quiet and a silent source, as the daemon computes it.
SCALE = schedule.scale_for([schedule.rate(m, T0) for m in (BUSY, QUIET, SILENT)], BOUNDS)


def case(name: str, model: schedule.Model, expected: tuple[float, float], **kw: object) -> object:
    """One row: ``plan(model, T0, **kw)`` waits between expected[0] and expected[1] s."""
    return pytest.param(model, kw, expected, id=name)


@pytest.mark.parametrize(
    ("model", "kwargs", "expected"),
    [
        case("a busy feed is polled more often than the budget interval", BUSY, (2 * M, 10 * M)),
        case("a quiet feed backs off to max_interval", QUIET, (60 * M, 60 * M)),
        case("jitter never takes a wait past max_interval", QUIET, (60 * M, 60 * M), rand=0.999),
        case("a feed with no history waits at most max_interval", SILENT, (2 * M, 60 * M)),
        case("never shorter than min_interval", BUSY, (2 * M, 2 * M), scale=1e-6),
        case("max gap respected however quiet", SILENT, (60 * M, 60 * M), scale=1e12),
        case(
            "Retry-After is honoured beyond max_interval", BUSY, (2 * H, 2 * H), retry_after=2 * H
        ),
        case("Cache-Control max-age is honoured", QUIET, (3 * H, 3 * H), max_age=3 * H),
        case("RSS ttl is honoured", BUSY, (90 * M, 90 * M), ttl=90 * M),
        case("a hint shorter than the plan does not shorten it", QUIET, (60 * M, 60 * M), ttl=60.0),
        case("hints are capped at HINT_CAP", QUIET, (HINT_CAP, HINT_CAP), max_age=30 * DAY),
        case("an explicit interval is a promise", QUIET, (5 * M, 5 * M), interval=5 * M),
        case(
            "an explicit interval's jitter is taken off, never added",
            QUIET,
            (5 * M - 15.0, 5 * M - 14.0),
            interval=5 * M,
            rand=0.999,
        ),
        case(
            "a fixed settings.interval jitters as next_delay",
            QUIET,
            (15 * M + 44.0, 15 * M + 45.0),
            interval=15 * M,
            promise=False,
            rand=0.999,
        ),
        case(
            "a server may still lengthen an explicit interval",
            BUSY,
            (H, H),
            interval=5 * M,
            retry_after=H,
        ),
        case("failures back off", BUSY, (4 * 2 * M, 4 * 10 * M), failures=3),
    ],
)
def test_plan(
    model: schedule.Model, kwargs: dict[str, object], expected: tuple[float, float]
) -> None:
    args: dict[str, object] = {"scale": SCALE, "bounds": BOUNDS, **kwargs}
    delay = schedule.plan(model, T0, **args).delay  # type: ignore[arg-type]
    assert expected[0] - 1e-6 <= delay <= expected[1] + 1e-6


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({}, "adaptive"),
        ({"interval": 5 * M}, "its own interval"),
        ({"retry_after": 2 * H}, "Retry-After"),
        ({"max_age": 2 * H}, "max-age"),
        ({"failures": 4}, "failures"),
    ],
)
def test_plan_says_why(kwargs: dict[str, float], words: str) -> None:
    assert words in schedule.plan(BUSY, T0, scale=SCALE, bounds=BOUNDS, **kwargs).reason  # type: ignore[arg-type]


def test_a_busy_feed_speeds_up_as_it_gets_busier() -> None:
    calm = model_of(every(2 * H, 100))
    delays = [schedule.plan(m, T0, scale=SCALE, bounds=BOUNDS).delay for m in (calm, BUSY)]
    assert delays[1] < delays[0]


def test_a_feed_that_goes_quiet_backs_off() -> None:
    later = T0 + 20 * DAY  # nothing new for 20 days
    before = schedule.plan(BUSY, T0, scale=SCALE, bounds=BOUNDS).delay
    after = schedule.plan(BUSY, later, scale=SCALE, bounds=BOUNDS).delay
    assert after > 2 * before


def test_hours_without_items_get_longer_waits_than_busy_hours() -> None:
    # Items only from 09:00 to 17:00 UTC, every 20 minutes, for four weeks.
    day0 = T0 - T0 % DAY
    times = [day0 - d * DAY + 9 * H + k * 20 * M for d in range(28) for k in range(24)]
    model = model_of(times, day0 + 17 * H)
    work = schedule.plan(model, day0 + 10 * H, scale=SCALE, bounds=BOUNDS).delay
    night = schedule.plan(model, day0 + 1 * H, scale=SCALE, bounds=BOUNDS).delay
    assert night > 2 * work


def test_learning_keeps_the_latest_history_times_sorted_and_clamped_to_now() -> None:
    model = schedule.learn(schedule.EMPTY, [T0 + 999.0, *every(M, schedule.HISTORY + 10)], T0)
    assert len(model.times) == schedule.HISTORY
    assert list(model.times) == sorted(model.times)
    assert model.times[-1] == T0
    assert schedule.learn(model, [T0], T0) is model  # nothing new: the same model


@pytest.mark.parametrize("budget", [5 * M, 15 * M, 30 * M])
def test_the_scale_never_spends_more_than_the_budget_over_a_week(budget: float) -> None:
    bounds = schedule.Bounds(budget=budget, min_interval=2 * M, max_interval=60 * M)
    day0 = T0 - T0 % DAY
    office = [day0 - d * DAY + 9 * H + k * 20 * M for d in range(28) for k in range(24)]
    models = [model_of(every(gap, 100)) for gap in (M, 5 * M, H, DAY, 7 * DAY)]
    models += [model_of(office), SILENT, SILENT, SILENT, SILENT]
    scale = schedule.scale_for([schedule.rate(m, T0) for m in models], bounds)
    hours = [T0 + k * 600.0 for k in range(7 * 24 * 6)]  # every 10 minutes for a week
    polls_per_s = sum(
        1 / schedule.plan(m, t, scale=scale, bounds=bounds).delay for m in models for t in hours
    ) / len(hours)
    assert polls_per_s <= len(models) / budget


# --- the rate exponent (schedule.scale_for chooses it from the budget and the rates) -----------


def waits_of(rates: list[float], bounds: schedule.Bounds) -> list[float]:
    """Each source's unshaped wait under the scale the planner chooses for ``rates``."""
    scale = schedule.scale_for(rates, bounds)
    lo, hi = bounds.min_interval, bounds.max_interval
    return [min(max(scale / r**scale.power, lo), hi) for r in rates]


# Items per day of a few busy, some middling and many quiet sources, and one that never
# published (its rate is the quiet prior).
PER_DAY = [300.0, 150.0, 60.0, 20.0, 5.0, 1.0, 0.3, 0.1] + [0.5] * 20
RATES = [r / DAY for r in PER_DAY] + [schedule.rate(SILENT, T0)]


@pytest.mark.parametrize(
    "bounds",
    [
        pytest.param(schedule.bounds(15 * M, 2 * M, 60 * M), id="the default budget"),
        pytest.param(schedule.bounds(45 * M, 5 * M, 60 * M), id="a third of it"),
        pytest.param(schedule.bounds(4 * H, 5 * M, DAY), id="a sixteenth, max gap a day"),
    ],
)
def test_the_scale_spends_the_budget_with_its_margin(bounds: schedule.Bounds) -> None:
    polls_per_s = sum(1 / w for w in waits_of(RATES, bounds))
    assert polls_per_s == pytest.approx(schedule.BUDGET_MARGIN * len(RATES) / bounds.budget)


def test_a_source_that_never_published_is_as_quiet_as_one_whose_items_are_old() -> None:
    stale = model_of([T0 - 60 * DAY])
    assert schedule.rate(SILENT, T0) == pytest.approx(schedule.rate(stale, T0))
    assert schedule.rate(SILENT, T0) < schedule.rate(QUIET, T0)


def test_the_predicted_delays_are_those_of_uniform_waits() -> None:
    # Two sources, 3 and 1 items per unit, polled every 10 and 40: an item waits U(0, 10)
    # with weight 3/4 and U(0, 40) with weight 1/4.
    q = schedule._quantiles([10.0, 40.0], [3.0, 1.0], [0.5, 0.95])
    assert q[0] == pytest.approx(0.5 / (0.75 / 10 + 0.25 / 40))
    assert q[1] == pytest.approx(40 * (1 - 0.05 / 0.25))


def test_busier_feeds_get_a_larger_share_when_the_budget_is_small() -> None:
    def busiest_share(bounds: schedule.Bounds) -> float:
        polls = [1 / w for w in waits_of(RATES, bounds)]
        return polls[0] / sum(polls)

    third = schedule.bounds(45 * M, 5 * M, 60 * M)
    sixteenth = schedule.bounds(4 * H, 5 * M, DAY)
    assert schedule.scale_for(RATES, third).power == 0.5
    assert schedule.scale_for(RATES, sixteenth).power > 0.5
    assert busiest_share(sixteenth) > 2 * busiest_share(third)
    # 300 against 20 items a day: more than the square root's ratio of waits
    busy, middling = waits_of(RATES, sixteenth)[0:4:3]
    assert middling / busy > (300 / 20) ** 0.5


def test_the_chosen_power_is_the_one_whose_predicted_delays_are_best() -> None:
    bounds = schedule.bounds(4 * H, 5 * M, DAY)
    chosen = schedule.scale_for(RATES, bounds)
    budget = schedule.BUDGET_MARGIN * len(RATES) / bounds.budget
    lo_f, hi_f = 1 / bounds.max_interval, 1 / bounds.min_interval

    def loss(power: float) -> float:
        c = schedule._solve([r**power for r in RATES], budget, lo_f, hi_f)
        waits = [1 / min(max(r**power / c, lo_f), hi_f) for r in RATES]
        return schedule._loss(schedule._quantiles(waits, RATES, schedule.QUANTILES))

    assert loss(chosen.power) == min(loss(p) for p in schedule.POWERS)
