"""The only module that imports APScheduler (3.11): one-shot jobs chained by their own runs;
and ``Adaptive``, the daemon's state for ``sources.schedule``'s adaptive polling.

Each source is one job with a ``date`` trigger: when it has run, the daemon computes the
next time from ``schedule`` (interval, backoff, server hints, jitter) and schedules it
again. That gives exact control over backoff and avoids the interval trigger's jitter
drift. Facts from ``shared/notes/dependencies.md`` this relies on:

- ``misfire_grace_time=None`` so a late run (busy pool, suspended laptop) is never
  silently dropped; ``coalesce=True`` so a backlog collapses into one run.
- ``max_instances=1`` so one source never runs twice at once.
- ``shutdown(wait=False)``: ``wait=True`` would also run queued jobs.
- A separate one-thread executor for the heartbeat, so a pool full of slow polls does not
  stop the watchdog pings, while a dead scheduler thread does; another for delivery, so
  alerts go out on time however busy polling is.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from weightwatch.sources import schedule

log = logging.getLogger("weightwatch.scheduler")


class Scheduler:
    def __init__(self, workers: int) -> None:
        self._sched = BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(max_workers=max(2, workers)),
                "beat": ThreadPoolExecutor(max_workers=1),
                "alerts": ThreadPoolExecutor(max_workers=1),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )
        self._sched.add_listener(self._on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    @staticmethod
    def _on_event(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("Job %s missed its run at %s.", event.job_id, event.scheduled_run_time)
        elif event.exception is not None:
            log.error(
                "Job %s failed.",
                event.job_id,
                exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
            )

    def start(self) -> None:
        self._sched.start()

    def at(self, job_id: str, when: datetime, func: Callable[..., Any], *args: Any) -> None:
        """Run ``func(*args)`` once at ``when``, replacing any pending run of ``job_id``."""
        self._sched.add_job(
            func,
            trigger="date",
            run_date=when,
            args=args,
            id=job_id,
            name=job_id,
            replace_existing=True,
        )

    def every(
        self,
        job_id: str,
        seconds: float,
        func: Callable[..., Any],
        *,
        executor: str = "default",
        first: datetime | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {}
        if first is not None:
            kwargs["next_run_time"] = first
        self._sched.add_job(
            func,
            trigger="interval",
            seconds=seconds,
            id=job_id,
            name=job_id,
            replace_existing=True,
            executor=executor,
            **kwargs,
        )

    def remove(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self._sched.remove_job(job_id)

    @property
    def running(self) -> bool:
        return bool(self._sched.running)

    def shutdown(self) -> None:
        if self._sched.running:
            self._sched.shutdown(wait=False)


def rescale_due(
    scaled_at: float | None,
    dirty: bool,
    now: float,
    *,
    every: float,
    min_gap: float,
) -> bool:
    """Whether ``Adaptive`` recomputes the global scale now (pure): never computed (or the
    sources changed: ``scaled_at`` None), the clock went back, ``every`` seconds passed, or
    an adaptive source learned something (``dirty``) and at least ``min_gap`` seconds passed.
    The gap bounds the cost (one rescale reads every source's rate: O(sources)) when many
    sources learn in quick succession; a learned rate reaches the scale at most ``min_gap``
    late (the source's own model is used at once)."""
    if scaled_at is None:
        return True
    age = now - scaled_at
    return age < 0 or age >= every or (dirty and age >= min_gap)


class Adaptive:
    """The daemon's adaptive-polling state (``sources.schedule``): each source's ``Model``
    learned from the publish times of its new items, and the global scale that shares the
    budget among the adaptive sources, recomputed at least every ``RESCALE_EVERY`` seconds
    (rates also fall while nothing arrives) and, after an adaptive source learned
    something, at the next plan at least ``RESCALE_MIN_GAP`` seconds after the last one
    (``rescale_due``: not on every poll that finds an item, which at 1,000 sources made
    each such poll read every source's rate). Thread-safe: poll jobs call ``learn`` and
    ``plan`` from the scheduler's pool."""

    RESCALE_EVERY = 60.0
    RESCALE_MIN_GAP = 5.0

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.models: dict[str, schedule.Model] = {}
        self.adaptive: frozenset[str] = frozenset()
        self.scale = 0.0
        self.scaled_at: float | None = None
        self.dirty = False  # an adaptive source learned something since the last rescale
        self.rescales = 0  # how many times the scale was computed (tests, diagnostics)

    def configure(
        self, adaptive: Iterable[str], stored: dict[str, tuple[float, ...]], now: float
    ) -> None:
        """Which sources are adaptive; models for sources not known yet, from stored times."""
        with self.lock:
            self.adaptive = frozenset(adaptive)
            for name, times in stored.items():
                if name not in self.models:
                    self.models[name] = schedule.learn(schedule.EMPTY, times, now)
            self.scaled_at = None  # other sources: share the budget anew at the next plan

    def learn(self, name: str, published: Iterable[float], now: float) -> tuple[float, ...] | None:
        """Add a poll's new items; their times to store when the model changed, else None."""
        with self.lock:
            old = self.models.get(name, schedule.EMPTY)
            new = schedule.learn(old, published, now)
            if new is old:
                return None
            self.models[name] = new
            if name in self.adaptive:
                self.dirty = True  # its rate changed: share the budget anew (rescale_due)
            return new.times

    def plan(self, name: str, now: float, bounds: schedule.Bounds, **kwargs: Any) -> schedule.Plan:
        with self.lock:
            due = rescale_due(
                self.scaled_at,
                self.dirty,
                now,
                every=self.RESCALE_EVERY,
                min_gap=self.RESCALE_MIN_GAP,
            )
            if due:
                rates = [
                    schedule.rate(self.models.get(n, schedule.EMPTY), now)
                    for n in sorted(self.adaptive)
                ]
                self.scale = schedule.scale_for(rates, bounds)
                self.scaled_at = now
                self.dirty = False
                self.rescales += 1
            model = self.models.get(name, schedule.EMPTY)
            scale = self.scale
        return schedule.plan(model, now, scale=scale, bounds=bounds, **kwargs)
