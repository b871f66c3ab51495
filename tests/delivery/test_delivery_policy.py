"""Delivery policy (pure): retries, quiet hours, rate limits and digests on a fake clock."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from weightwatch.delivery.policy import (
    Digest,
    Failing,
    History,
    Open,
    Policy,
    in_quiet,
    is_permanent,
    next_daily,
    parse_quiet,
    plan,
    retry_delay,
    url_outcome,
)
from weightwatch.types import UrlStreak

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
UTCZ = ZoneInfo("UTC")


def alert(n: int, *, minutes_ago: float = 0) -> Open:
    return Open(id=n, status="pending", created=T0 - timedelta(minutes=minutes_ago))


def test_a_plain_channel_sends_every_new_alert_now() -> None:
    p = plan(Policy(), [alert(1), alert(2)], History(), T0, UTCZ)
    assert p.send == [1, 2] and not p.fold and not p.hold


def test_a_failed_alert_waits_for_its_next_attempt() -> None:
    later = Open(1, "pending", T0, attempts=1, next_attempt=T0 + timedelta(seconds=30))
    assert plan(Policy(), [later], History(), T0, UTCZ).empty
    assert plan(Policy(), [later], History(), T0 + timedelta(seconds=31), UTCZ).send == [1]


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [
        (1, 30, 36),
        (2, 60, 72),
        (3, 120, 144),
        (10, 3 * 3600, 3 * 3600 * 1.2),
        (50, 3 * 3600, 3 * 3600 * 1.2),
    ],
)
def test_retry_backoff_doubles_from_30s_and_is_capped_at_3h(
    attempts: int, low: float, high: float
) -> None:
    assert retry_delay(attempts, 0.0) == low
    assert low <= retry_delay(attempts, 0.999) <= high


def test_an_alert_older_than_24h_expires() -> None:
    old = Open(1, "pending", T0 - timedelta(hours=25), attempts=7)
    assert plan(Policy(), [old], History(), T0, UTCZ).expire == [1]


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        ("Failed to send JSON POST notification: Page not found., error=404.", True),
        ("Failed to send: Verification Failed., error=401.", True),
        ("Failed to send: error=408.", False),
        ("Failed to send: error=429.", False),
        ("Failed to send: Internal server error., error=500.", False),
        ("A Connection error occurred sending JSON notification to 127.0.0.1.", False),
    ],
)
def test_permanent_errors_are_4xx_other_than_408_and_429(error: str, permanent: bool) -> None:
    assert is_permanent(error) is permanent


QUIET = parse_quiet("22:00-07:00")


@pytest.mark.parametrize(
    ("hhmm", "quiet"),
    [
        ("21:59", False),
        ("22:00", True),
        ("23:30", True),
        ("03:00", True),
        ("06:59", True),
        ("07:00", False),
        ("12:00", False),
    ],
)
def test_quiet_hours_wrap_past_midnight(hhmm: str, quiet: bool) -> None:
    h, m = (int(x) for x in hhmm.split(":"))
    assert in_quiet(QUIET, T0.replace(hour=h, minute=m), UTCZ) is quiet


def test_quiet_hours_use_the_configured_time_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # UTC+1 in November
    assert in_quiet(QUIET, T0.replace(hour=21, minute=30), berlin)  # 22:30 in Berlin
    assert not in_quiet(QUIET, T0.replace(hour=21, minute=30), UTCZ)


def test_alerts_during_quiet_hours_are_held_then_sent_as_one_digest() -> None:
    night = T0.replace(hour=23)
    p = plan(Policy(quiet=QUIET), [alert(1), alert(2)], History(), night, UTCZ)
    assert p.hold == [(1, "quiet"), (2, "quiet")] and not p.send
    morning = T0.replace(hour=7, minute=1) + timedelta(days=1)
    held = [Open(1, "held", night, hold="quiet"), Open(2, "held", night, hold="quiet")]
    p = plan(Policy(quiet=QUIET), held, History(), morning, UTCZ)
    assert p.fold == [1, 2] and not p.send


def test_one_alert_held_by_quiet_hours_goes_out_as_itself() -> None:
    held = [Open(1, "held", T0.replace(hour=23), hold="quiet")]
    p = plan(Policy(quiet=QUIET), held, History(), T0.replace(hour=8) + timedelta(days=1), UTCZ)
    assert p.send == [1] and not p.fold


def test_rate_limit_sends_up_to_the_limit_and_holds_the_rest() -> None:
    p = plan(
        Policy(max_per_hour=3), [alert(n) for n in range(1, 6)], History(sent_last_hour=1), T0, UTCZ
    )
    assert p.send == [1, 2]
    assert p.hold == [(3, "rate"), (4, "rate"), (5, "rate")]


def test_rate_held_alerts_roll_into_one_digest_when_the_window_allows() -> None:
    held = [Open(n, "held", T0, hold="rate") for n in (3, 4, 5)]
    assert plan(Policy(max_per_hour=3), held, History(sent_last_hour=3), T0, UTCZ).empty
    p = plan(Policy(max_per_hour=3), [*held, alert(6)], History(sent_last_hour=2), T0, UTCZ)
    assert p.fold == [3, 4, 5]  # the digest takes the one free slot...
    assert p.hold == [(6, "rate")]  # ...and the newcomer waits for the next one


def test_a_digest_channel_holds_alerts_and_sends_them_once_per_interval() -> None:
    hourly = Policy(digest=Digest(every=3600))
    p = plan(hourly, [alert(1), alert(2)], History(), T0, UTCZ)
    assert p.hold == [(1, "digest:3600s"), (2, "digest:3600s")]
    held = [Open(n, "held", T0, hold="digest:3600s") for n in (1, 2)]
    assert plan(hourly, held, History(), T0 + timedelta(minutes=59), UTCZ).empty
    assert plan(hourly, held, History(), T0 + timedelta(minutes=60), UTCZ).fold == [1, 2]
    # The next digest comes an hour after the last one, not an hour after each alert.
    recent = History(last_digest=T0 + timedelta(minutes=60))
    held3 = [Open(3, "held", T0 + timedelta(minutes=61), hold="digest:3600s")]
    assert plan(hourly, held3, recent, T0 + timedelta(minutes=119), UTCZ).empty
    assert plan(hourly, held3, recent, T0 + timedelta(minutes=120), UTCZ).fold == [3]


def test_a_daily_digest_goes_out_at_the_first_hhmm_after_the_oldest_alert() -> None:
    daily = Policy(digest=Digest(daily=time(8, 0)))
    evening = T0.replace(hour=19)
    held = [Open(1, "held", evening, hold="digest:daily 08:00")]
    assert plan(daily, held, History(), evening + timedelta(hours=12, minutes=59), UTCZ).empty
    assert plan(daily, held, History(), evening + timedelta(hours=13), UTCZ).fold == [1]


def test_a_rule_digest_holds_its_alerts_on_a_plain_channel() -> None:
    a = Open(1, "pending", T0, digest=Digest(every=3600))
    assert plan(Policy(), [a, alert(2)], History(), T0, UTCZ).hold == [(1, "digest:3600s")]


def test_next_daily_is_strictly_after() -> None:
    at = time(8, 0)
    assert next_daily(at, T0.replace(hour=8), UTCZ) == T0.replace(hour=8) + timedelta(days=1)
    assert next_daily(at, T0.replace(hour=7), UTCZ) == T0.replace(hour=8)


@pytest.mark.parametrize("bad", ["22:00", "25:00-07:00", "22:00-22:00", "ten-seven"])
def test_bad_quiet_ranges_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_quiet(bad)


# -- what the ops channel hears about a channel URL (url_outcome) ------------------------

FAILING = Failing(after=6, lasting=600.0, min_run=5)


def streak(failures: int = 0, since_min: float | None = None, reported: bool = False) -> UrlStreak:
    since = None if since_min is None else T0 - timedelta(minutes=since_min)
    return UrlStreak(failures, since, reported)


def case(before: UrlStreak, ok: bool, after: UrlStreak, event: str | None, id: str) -> object:
    return pytest.param(before, ok, after, event, id=id)


@pytest.mark.parametrize(
    ("before", "ok", "after", "event"),
    [
        case(streak(), False, streak(1, 0), None, "a first failure starts a run"),
        case(streak(1, 1), False, streak(2, 1), None, "a second is below the threshold"),
        case(streak(5, 1), False, streak(6, 1, True), "failing", "the Nth in a row: failing"),
        case(streak(4, 10), False, streak(5, 10, True), "failing", "a run of T: failing"),
        case(streak(4, 9.9), False, streak(5, 9.9), None, "just under T is not"),
        case(streak(1, 30), False, streak(2, 30), None, "T with too few failures is not"),
        case(streak(3, 5, True), False, streak(4, 5, True), None, "told once per run"),
        case(streak(90, 600, True), False, streak(91, 600, True), None, "however long"),
        case(streak(2, 1), True, streak(), None, "a success ends an unreported run quietly"),
        case(streak(3, 5, True), True, streak(), "working", "working again after failing"),
        case(streak(), True, streak(), None, "a working URL stays quiet"),
    ],
)
def test_a_url_is_failing_after_n_in_a_row_or_a_run_of_t_and_working_again_once(
    before: UrlStreak, ok: bool, after: UrlStreak, event: str | None
) -> None:
    assert url_outcome(before, ok, T0, FAILING) == (after, event)


def test_a_30_percent_flaky_url_is_never_failing_while_an_outage_is_one_pair() -> None:
    """The hysteresis, as the soak's channels b and c see it: 2,000 sends 10 s apart."""
    rng = random.Random(7)
    failing = Failing()  # the defaults: 10 in a row, or 10 minutes and 5 failures

    def events(fails: Callable[[int], bool]) -> list[str]:
        state, out = UrlStreak(), []
        for n in range(2000):
            state, event = url_outcome(state, not fails(n), T0 + timedelta(seconds=10 * n), failing)
            out += [event] if event else []
        return out

    assert events(lambda n: rng.random() < 0.3) == []
    assert events(lambda n: 300 <= n < 420) == ["failing", "working"]  # 20 minutes down
