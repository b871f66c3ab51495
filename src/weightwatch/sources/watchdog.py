"""The total deadline of a fetch, enforced by one shared watchdog thread.

``sources.http`` gives every fetch a ``Deadline`` and makes its connections register
themselves with the deadline of the fetch running in their thread (``current``, ``track``).
One daemon thread (``Watchdog``) sleeps until the earliest deadline; when one passes before
its fetch finished it shuts the fetch's sockets down (``shutdown(SHUT_RDWR)``), which wakes a
thread blocked in ``recv`` even while it waits for a status line or trickled headers. A
thread per fetch (``threading.Timer``) cost more than the fetch.

No HTTP library here: a connection is anything with a ``sock``.
"""

from __future__ import annotations

import contextlib
import heapq
import socket
import threading
import time
from typing import Protocol

__all__ = ["WATCHDOG", "Connection", "Deadline", "Watchdog", "current", "track"]


class Connection(Protocol):
    """What the watchdog needs of a connection: its socket, None while not connected."""

    @property
    def sock(self) -> socket.socket | None: ...


class Deadline:
    """The total deadline of one fetch, with a watchdog that shuts the sockets in use."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._conns: list[Connection] = []
        self._fired = False
        self._done = False

    def start(self) -> None:
        WATCHDOG.watch(self)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self._fired or time.monotonic() >= self.at

    def track(self, conn: Connection) -> None:
        """Remember a connection this fetch uses; shut it at once if the deadline has passed."""
        with self._lock:
            if self._done:
                return
            if not any(c is conn for c in self._conns):
                self._conns.append(conn)
            if self._fired:
                _shut(conn)

    def fire(self) -> None:
        """The deadline passed: shut every connection in use (unless the fetch is over)."""
        with self._lock:
            if self._done:
                return
            self._fired = True
            for conn in self._conns:
                _shut(conn)

    def finish(self) -> None:
        """The fetch is over: the watchdog must not touch its (maybe pooled) connections."""
        with self._lock:
            self._done = True
            self._conns.clear()

    @property
    def done(self) -> bool:
        return self._done


class Watchdog:
    """One thread for every fetch's deadline (a thread per fetch cost more than the fetch).

    Deadlines wait in a heap; the thread sleeps until the earliest one and fires it unless
    its fetch finished meanwhile. Finished deadlines are dropped lazily.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._cond = threading.Condition()
        self._seq = 0
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> None:
        with self._cond:
            self._seq += 1
            heapq.heappush(self._heap, (deadline.at, self._seq, deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="weightwatch-fetch-deadlines", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait(timeout=60.0)
                    if not self._heap:
                        self._thread = None
                        return
                    continue
                at, _, deadline = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._cond.wait(timeout=wait)
                    continue
                heapq.heappop(self._heap)
            deadline.fire()


WATCHDOG = Watchdog()


def _shut(conn: Connection) -> None:
    sock = conn.sock
    if sock is None:
        return
    # The plain socket method, also for an SSLSocket: it acts on the file descriptor and
    # wakes a thread blocked in recv() with end-of-file.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


current = threading.local()  # .deadline: the Deadline of the fetch running in this thread


def track(conn: Connection) -> None:
    deadline: Deadline | None = getattr(current, "deadline", None)
    if deadline is not None:
        deadline.track(conn)
