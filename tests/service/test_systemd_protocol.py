"""The sd_notify client and the journald log format, against a real datagram socket."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

import pytest

from weightwatch.service.systemd import JournalFormatter, Notifier


@pytest.mark.integration
def test_notifier_sends_datagrams_to_the_notify_socket(tmp_path: Path) -> None:
    path = tmp_path / "n.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(2)
        n = Notifier({"NOTIFY_SOCKET": str(path)})
        n.ready("3 sources")
        assert sock.recv(1024) == b"READY=1\nSTATUS=3 sources"
        n.reloading()
        msg = sock.recv(1024).decode()
        assert msg.startswith("RELOADING=1\nMONOTONIC_USEC=")
        assert int(msg.split("=")[-1]) > 0
        n.stopping()
        assert sock.recv(1024) == b"STOPPING=1"
        n.close()


@pytest.mark.integration
def test_notifier_reaches_an_abstract_socket() -> None:
    name = f"weightwatch-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        n = Notifier({"NOTIFY_SOCKET": "@" + name})
        n.watchdog()
        assert sock.recv(1024) == b"WATCHDOG=1"
        n.close()


def test_notifier_without_systemd_does_nothing() -> None:
    n = Notifier({})
    assert n.send("READY=1") is False
    assert n.watchdog_interval is None


def test_watchdog_interval_is_half_of_watchdog_usec_and_only_for_our_pid() -> None:
    assert Notifier({"WATCHDOG_USEC": "4000000"}).watchdog_interval == 2.0
    mine = {"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(mine).watchdog_interval == 2.0
    other = {"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier(other).watchdog_interval is None


def test_journal_format_prefixes_every_line_with_its_priority_tracebacks_included() -> None:
    fmt = JournalFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "weightwatch", logging.ERROR, __file__, 1, "bad\nworse", (), None
        )
        record.exc_info = sys.exc_info()
    lines = fmt.format(record).splitlines()
    assert lines[0] == "<3>bad" and lines[1] == "<3>worse"
    assert any("ValueError: boom" in line for line in lines)
    assert all(line.startswith("<3>") for line in lines)
    warn = logging.LogRecord("weightwatch", logging.WARNING, __file__, 1, "w", (), None)
    assert fmt.format(warn) == "<4>w"
