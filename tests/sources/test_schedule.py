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
