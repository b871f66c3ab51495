"""The daemon's one database writer: a thread that owns the ``Storage``.

Every other thread reaches the database through it, so there is exactly one writer and
no "database is locked". Two typed ways in:

- ``Writer.call(lambda s: s.method(...))`` runs one call on the writer thread and returns
  its result (or raises its exception there, in the caller);
- ``WriterDeliveryStore`` is the ``DeliveryStore`` that ``deliver_pending`` records its
  sends through: each method is one ``Writer.call``, so sends happen in the delivery
  threads and only the writes queue for the writer.

Once the writer has stopped, every call raises ``WriterClosed`` (a ``StorageError``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from weightwatch.errors import StorageError
from weightwatch.storage import Storage
from weightwatch.types import AlertRow, NewAlert, UrlStreak

T = TypeVar("T")


class WriterClosed(StorageError):
    """The writer has stopped (the daemon is stopping); the write was not made."""


class Writer:
    """One thread that owns the Storage; ``call(fn)`` runs ``fn(storage)`` there."""

    def __init__(self, path: Path) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[Storage], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._opened: Future[None] = Future()
        self._closed = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(path,), name="writer", daemon=True)
        self.thread.start()
        self._opened.result()  # re-raises StorageError from opening

    def _run(self, path: Path) -> None:
        try:
            storage = Storage(path)
        except BaseException as exc:
            self._opened.set_exception(exc)
            return
        self._opened.set_result(None)
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    break
                fn, fut = job
                if not fut.set_running_or_notify_cancel():
                    continue
                try:
                    fut.set_result(fn(storage))
                except BaseException as exc:
                    fut.set_exception(exc)
        finally:
            self._closed.set()
            storage.close()
            while True:  # fail whatever was queued behind the stop
                try:
                    left = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if left is not None:
                    left[1].set_exception(WriterClosed("The database is closed."))

    def call(self, fn: Callable[[Storage], T]) -> T:
        if self._closed.is_set():
            raise WriterClosed("The database is closed.")
        fut: Future[T] = Future()
        self._jobs.put((fn, fut))
        return fut.result()

    def close(self, timeout: float) -> None:
        self._jobs.put(None)
        self.thread.join(timeout)


class DeliveryStore(Protocol):
    """What delivering alerts reads and records (``Storage`` itself is one)."""

    @property
    def url_salt(self) -> bytes: ...  # the database's salt for channel URL keys
    def open_alerts(self) -> list[AlertRow]: ...
    def alert(self, alert_id: int) -> AlertRow | None: ...
    def url_history(self, url_key: str, now: datetime) -> tuple[int, datetime | None]: ...
    def url_streak(self, url_key: str) -> UrlStreak: ...
    def hold_alerts(self, holds: Iterable[tuple[int, str]], *, now: datetime) -> None: ...
    def fold_into_digest(self, ids: list[int], digest: NewAlert, *, now: datetime) -> int: ...
    def queue_alerts(self, alerts: Iterable[NewAlert], *, now: datetime) -> int: ...
    def record_url_failure(
        self,
        url_key: str,
        masked_url: str,
        error: str,
        streak: UrlStreak,
        notices: Iterable[NewAlert] = (),
        *,
        now: datetime,
    ) -> None: ...
    def expire_alerts(
        self, expired: Iterable[tuple[int, str]], notices: Iterable[NewAlert] = (), *, now: datetime
    ) -> None: ...
    def mark_sent(
        self,
        alert_id: int,
        *,
        now: datetime,
        url_key: str | None = None,
        notices: Iterable[NewAlert] = (),
    ) -> None: ...
    def mark_retry(
        self, alert_id: int, *, error: str, next_attempt: datetime, now: datetime
    ) -> None: ...
    def mark_failed(self, alert_id: int, *, error: str, now: datetime, attempted: bool) -> None: ...


class WriterDeliveryStore:
    """The ``DeliveryStore`` of the daemon: every method runs on the writer thread."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._url_salt = writer.call(lambda s: s.url_salt)

    @property
    def url_salt(self) -> bytes:
        return self._url_salt

    def open_alerts(self) -> list[AlertRow]:
        return self._writer.call(lambda s: s.open_alerts())

    def alert(self, alert_id: int) -> AlertRow | None:
        return self._writer.call(lambda s: s.alert(alert_id))

    def url_history(self, url_key: str, now: datetime) -> tuple[int, datetime | None]:
        return self._writer.call(lambda s: s.url_history(url_key, now))

    def url_streak(self, url_key: str) -> UrlStreak:
        return self._writer.call(lambda s: s.url_streak(url_key))

    def hold_alerts(self, holds: Iterable[tuple[int, str]], *, now: datetime) -> None:
        self._writer.call(lambda s: s.hold_alerts(holds, now=now))

    def fold_into_digest(self, ids: list[int], digest: NewAlert, *, now: datetime) -> int:
        return self._writer.call(lambda s: s.fold_into_digest(ids, digest, now=now))

    def queue_alerts(self, alerts: Iterable[NewAlert], *, now: datetime) -> int:
        return self._writer.call(lambda s: s.queue_alerts(alerts, now=now))

    def record_url_failure(
        self,
        url_key: str,
        masked_url: str,
        error: str,
        streak: UrlStreak,
        notices: Iterable[NewAlert] = (),
        *,
        now: datetime,
    ) -> None:
        notices = list(notices)
        self._writer.call(
            lambda s: s.record_url_failure(url_key, masked_url, error, streak, notices, now=now)
        )

    def expire_alerts(
        self, expired: Iterable[tuple[int, str]], notices: Iterable[NewAlert] = (), *, now: datetime
    ) -> None:
        expired, notices = list(expired), list(notices)
        self._writer.call(lambda s: s.expire_alerts(expired, notices, now=now))

    def mark_sent(
        self,
        alert_id: int,
        *,
        now: datetime,
        url_key: str | None = None,
        notices: Iterable[NewAlert] = (),
    ) -> None:
        notices = list(notices)
        self._writer.call(
            lambda s: s.mark_sent(alert_id, now=now, url_key=url_key, notices=notices)
        )

    def mark_retry(
        self, alert_id: int, *, error: str, next_attempt: datetime, now: datetime
    ) -> None:
        self._writer.call(
            lambda s: s.mark_retry(alert_id, error=error, next_attempt=next_attempt, now=now)
        )

    def mark_failed(self, alert_id: int, *, error: str, now: datetime, attempted: bool) -> None:
        self._writer.call(
            lambda s: s.mark_failed(alert_id, error=error, now=now, attempted=attempted)
        )
