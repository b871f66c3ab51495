"""``scheduler.Adaptive``'s global scale: recomputed at most every ``RESCALE_MIN_GAP`` seconds
after sources learn (not on every poll that finds an item), with the same outcome as a
fresh computation once it is."""

from __future__ import annotations

import pytest

from weightwatch.service.scheduler import Adaptive, rescale_due
from weightwatch.sources import schedule

EVERY, GAP = 60.0, 5.0
BOUNDS = schedule.Bounds(budget=900.0, min_interval=120.0, max_interval=3600.0)
T0 = 1_700_000_000.0


def case(*values: object, id: str) -> object:
    return pytest.param(*values, id=id)


@pytest.mark.parametrize(
    ("scaled_at", "dirty", "now", "due"),
    [
        case(None, False, T0, True, id="never computed"),
        case(T0, False, T0 + 1, False, id="fresh and nothing learned"),
        case(T0, True, T0 + 1, False, id="learned, but the last rescale was 1 s ago"),
        case(T0, True, T0 + GAP, True, id="learned, and the gap has passed"),
        case(T0, False, T0 + GAP, False, id="the gap passed but nothing was learned"),
        case(T0, False, T0 + EVERY, True, id="nothing learned for a whole RESCALE_EVERY"),
        case(T0, False, T0 - 1, True, id="the clock went back"),
    ],
)
def test_the_scale_is_recomputed_when_due(
    scaled_at: float | None, dirty: bool, now: float, due: bool
) -> None:
    assert rescale_due(scaled_at, dirty, now, every=EVERY, min_gap=GAP) is due


def busy_and_quiet(now: float) -> Adaptive:
    a = Adaptive()
    names = [f"s{k}" for k in range(50)]
    a.configure(names, {n: (now - 86400.0 * (k + 1),) for k, n in enumerate(names)}, now)
    return a


def test_a_burst_of_learning_costs_one_rescale_per_gap_not_one_per_poll() -> None:
    a = busy_and_quiet(T0)
    a.plan("s0", T0, BOUNDS)
    assert a.rescales == 1
    for k in range(40):  # 40 polls in 4 s, each finding a new item of s1
        now = T0 + 0.1 * k
        a.learn("s1", [now - 1.0], now)
        a.plan("s1", now, BOUNDS)
    assert a.rescales == 1
    a.plan("s2", T0 + GAP, BOUNDS)
    assert a.rescales == 2
    a.plan("s2", T0 + GAP + 1, BOUNDS)  # nothing learned since
    assert a.rescales == 2


def test_after_the_gap_the_plan_is_the_one_a_fresh_state_would_make() -> None:
    a = busy_and_quiet(T0)
    a.plan("s0", T0, BOUNDS)
    times = [T0 - 60.0 * k for k in range(30)]  # s1 turns busy: 30 items in 30 min
    a.learn("s1", times, T0 + 1)
    stale = a.plan("s1", T0 + 1, BOUNDS)
    later = a.plan("s1", T0 + GAP, BOUNDS)

    fresh = Adaptive()
    fresh.configure(a.adaptive, {n: m.times for n, m in a.models.items()}, T0 + GAP)
    assert later == fresh.plan("s1", T0 + GAP, BOUNDS)
    assert a.scale == pytest.approx(fresh.scale)
    # Within the gap only the global share lags: s1's own model was already the busy one.
    assert stale.delay < 3600.0 and stale.reason.startswith("adaptive, ~")


def test_a_source_that_is_not_adaptive_never_marks_the_scale_stale() -> None:
    a = busy_and_quiet(T0)
    a.plan("s0", T0, BOUNDS)
    a.learn("own", [T0 - 5.0], T0)
    assert not a.dirty
