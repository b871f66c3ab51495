"""The fetch deadline watchdog on real sockets, without HTTP."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from weightwatch.sources.watchdog import Deadline


class Conn:
    """The one thing the watchdog needs of a connection: its socket."""

    def __init__(self, sock: socket.socket | None) -> None:
        self.sock = sock


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_the_watchdog_wakes_a_thread_blocked_in_recv_at_the_deadline(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, _ = pair
    started = time.monotonic()  # before the deadline's clock starts (in Deadline())
    deadline = Deadline(0.2)
    deadline.track(Conn(a))
    deadline.start()
    assert a.recv(1) == b""  # end of file: the watchdog shut the socket down
    waited = time.monotonic() - started
    deadline.finish()
    assert deadline.expired
    assert 0.15 <= waited < 5


def test_a_connection_tracked_after_the_deadline_fired_is_shut_at_once(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, _ = pair
    deadline = Deadline(60)
    deadline.fire()
    deadline.track(Conn(a))
    assert a.recv(1) == b""
    assert deadline.expired


def test_a_finished_fetch_keeps_its_connections_open_when_its_deadline_fires(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    deadline = Deadline(60)
    deadline.track(Conn(a))
    deadline.finish()
    deadline.fire()
    b.sendall(b"x")
    assert a.recv(1) == b"x"
    assert not deadline.expired


def test_a_connection_without_a_socket_yet_is_left_alone() -> None:
    deadline = Deadline(60)
    deadline.track(Conn(None))
    deadline.fire()
    assert deadline.expired
