"""Shared fixtures, and the test tiers: every test gets exactly one, and its limits are enforced.

- ``unit``: in-process, no sockets, no subprocess, no SQLite file. The default.
- ``integration``: in-process with loopback servers and real SQLite files; no subprocess.
- ``system``: a real process (the daemon or the CLI), real signals, real time.
- ``corpus``: sweeps over ../shared/corpus; pure like ``unit``.

A test's tier is its own marker (``@pytest.mark.system``, or a module's ``pytestmark``) if it
has one; otherwise the fixtures it uses decide (a server fixture makes it ``integration``,
``cli`` or ``daemons`` makes it ``system``), and a test using none of them is ``unit``. Two
tier markers on one test are a collection error. The guard below makes a test that steps out
of its tier fail with a message naming the tier it needs: it guards the tier; it does not
stand in for anything the test checks.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import apprise  # noqa: F401
import pytest
import requests  # noqa: F401
import urllib3  # noqa: F401

from builders import run_cli
from daemon_harness import DaemonProcess
from servers import HTTPTestServer, WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"


@pytest.fixture
def http_server() -> Iterator[HTTPTestServer]:
    server = HTTPTestServer()
    yield server
    server.close()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


class SMTPSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives."""

    def __init__(self, port: int = 0) -> None:
        import socket

        from aiosmtpd.controller import Controller

        self.messages: list[tuple[str, list[str], str]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
                content = envelope.content.decode("utf-8", "replace")
                sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos), content))
                return "250 OK"

        if port:
            self.port = port
        else:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def apprise_url(self, to: str = "me@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=ww@example.org&to={to}&format=text"

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp() -> Iterator[SMTPSink]:
    sink = SMTPSink()
    yield sink
    sink.stop()


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli("check", "--config", path)``: the real ``weightwatch`` command in a subprocess."""
    return run_cli


# -- tiers ---------------------------------------------------------------------------------
# The I/O libraries are imported above, before any guard: their import-time side effects
# (urllib3 binds a socket to probe for IPv6) must not make a tier depend on test order.

TIERS = ("unit", "integration", "system", "corpus")
SYSTEM_FIXTURES = frozenset({"cli", "daemons"})
INTEGRATION_FIXTURES = frozenset({"http_server", "webhook", "smtp"})
TIER = pytest.StashKey[str]()
VIOLATIONS = pytest.StashKey[list[str]]()

# What each tier may not do: "socket" (connect, bind, sendto), "subprocess", "sqlite".
FORBIDDEN: dict[str, frozenset[str]] = {
    "unit": frozenset({"socket", "subprocess", "sqlite"}),
    "corpus": frozenset({"socket", "subprocess", "sqlite"}),
    "integration": frozenset({"subprocess"}),
    "system": frozenset(),
}
NEEDS = {"socket": "integration", "sqlite": "integration", "subprocess": "system"}


def tier_of(item: pytest.Item) -> str:
    explicit = {m.name for m in item.iter_markers() if m.name in TIERS}
    if len(explicit) > 1:
        raise pytest.UsageError(
            f"{item.nodeid}: one tier per test, found {sorted(explicit)}; mark the test, "
            "not its module, when a module mixes tiers"
        )
    if explicit:
        return explicit.pop()
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & SYSTEM_FIXTURES:
        return "system"
    if fixtures & INTEGRATION_FIXTURES:
        return "integration"
    return "unit"


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers added here
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item)
        item.stash[TIER] = tier
        if item.get_closest_marker(tier) is None:
            item.add_marker(tier)


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> str:
    counts = {tier: 0 for tier in TIERS}
    for item in items:
        counts[item.stash.get(TIER, "unit")] += 1
    return "tiers: " + ", ".join(f"{n} {tier}" for tier, n in counts.items())


class TierViolation(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def tier_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    item = request.node
    tier = item.stash.get(TIER, "unit")
    forbidden = FORBIDDEN[tier]
    if not forbidden:
        yield
        return
    seen: list[str] = []
    item.stash[VIOLATIONS] = seen

    def refuse(what: str, name: str) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            article = "an" if tier == "integration" else "a"
            message = (
                f"{article} {tier} test may not use {what} ({name}); mark it "
                f"@pytest.mark.{NEEDS[what]} (see tests/conftest.py)"
            )
            seen.append(message)
            raise TierViolation(message)

        return guarded

    with pytest.MonkeyPatch.context() as mp:
        if "socket" in forbidden:
            for name in ("connect", "connect_ex", "bind", "sendto"):
                mp.setattr(socket.socket, name, refuse("socket", f"socket.{name}"))
        if "subprocess" in forbidden:
            mp.setattr(subprocess.Popen, "__init__", refuse("subprocess", "subprocess.Popen"))
            for name in ("system", "fork", "posix_spawn", "posix_spawnp"):
                mp.setattr(os, name, refuse("subprocess", f"os.{name}"))
        if "sqlite" in forbidden:
            mp.setattr(sqlite3, "connect", refuse("sqlite", "sqlite3.connect"))
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    seen = item.stash.get(VIOLATIONS, [])
    if seen and report.when == "call" and report.passed:
        # The code under test caught the TierViolation: the test still fails.
        report.outcome = "failed"
        report.longrepr = seen[0]
    return report


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for d in started:
        d.close()
