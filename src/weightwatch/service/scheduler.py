"""The only module that imports APScheduler (3.11): one-shot jobs chained by their own runs.

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
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

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
