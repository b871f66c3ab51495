"""A full disk under the database while alerts are pending (issue 10, item 1).

The database lives on a small tmpfs; a filler file takes the rest of its space, so every
write fails with SQLITE_FULL while reads still work, then the filler is deleted (space
returns). A send whose outcome cannot be recorded must never be sent again by the process
that made it: its URL is paused, and the send is recorded once a write succeeds.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from builders import write_config
from daemon_harness import DaemonProcess, wait_for
from fsfaults import small_tmpfs
from servers import WebhookReceiver
from weightwatch import config as config_mod
from weightwatch.delivery.routing import url_key
from weightwatch.service.deliver import Unrecorded, deliver_pending
from weightwatch.storage import Storage
from weightwatch.types import NewAlert

PER_URL = 3


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs (root only)."""
    with small_tmpfs(tmp_path / "tiny", "4m") as mount:
        yield mount


def fill(mount: Path) -> Path:
    """Take every free byte of ``mount`` with one file; returns it (delete it for space)."""
    filler = mount / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    try:
        while True:  # the last few bytes too
            os.write(fd, b"\0")
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


@dataclass
class Setup:
    config: config_mod.Config
    hooks: dict[str, WebhookReceiver]
    ops: WebhookReceiver


@pytest.fixture
def setup(tiny_fs: Path) -> Iterator[Setup]:
    hooks = {"a": WebhookReceiver(), "b": WebhookReceiver()}
    ops = WebhookReceiver()
    try:
        cfg = write_config(
            tiny_fs,
            {},
            {**{n: [h.apprise_url] for n, h in hooks.items()}, "ops": [ops.apprise_url]},
            [{"name": "r", "query": "anything", "notify": ["a", "b"]}],
            settings='ops = "ops"\n',
        )
        storage = Storage(cfg.settings.database)
        salt = storage.url_salt
        for name, hook in hooks.items():
            storage.queue_alerts(
                [
                    NewAlert(name, url_key(hook.apprise_url, salt), name, f"{name}{n}", f"body {n}")
                    for n in range(PER_URL)
                ],
                now=datetime.now(UTC),
            )
        storage.close()
        yield Setup(cfg, hooks, ops)
    finally:
        for server in [*hooks.values(), ops]:
            server.close()


def posts(hook: WebhookReceiver) -> Counter[str]:
    return Counter(r["title"] for r in hook.received)


def sent_titles(path: Path) -> set[str]:
    storage = Storage.open_read_only(path)
    try:
        return {a.title for a in storage.alerts("sent")}
    finally:
        storage.close()


@pytest.mark.system
def test_a_send_that_cannot_be_recorded_is_never_repeated_and_is_recorded_when_space_returns(
    setup: Setup, tiny_fs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = setup.config
    storage = Storage(cfg.settings.database)
    memory = Unrecorded()  # the process's memory of sends it could not record
    try:
        filler = fill(tiny_fs)
        with caplog.at_level(logging.INFO, logger="weightwatch"):
            for _ in range(4):  # the daemon's delivery job runs every 5 s
                deliver_pending(cfg, storage, timeout=5, unrecorded=memory)
        # Each URL got its first alert once; nothing was repeated; the rest wait.
        for name, hook in setup.hooks.items():
            assert posts(hook) == Counter({f"{name}0": 1})
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert any("could not be recorded" in r.getMessage() for r in errors)
        assert any("the disk is full" in r.getMessage() for r in errors)
        assert "DATABASE WRITES FAILING" in memory.describe()
        assert "2 alerts sent but not recorded" in memory.describe()
        # The ops channel heard of it once, directly (nothing can be queued).
        assert [r["title"] for r in setup.ops.received] == [
            "[weightwatch] cannot record alerts: database write failed"
        ]
        assert storage.counts()["sent"] == 0

        filler.unlink()  # space returns
        for _ in range(3):
            deliver_pending(cfg, storage, timeout=5, unrecorded=memory)
        for name, hook in setup.hooks.items():
            assert posts(hook) == Counter({f"{name}{n}": 1 for n in range(PER_URL)})
        assert memory.describe() == ""
        assert storage.counts()["pending"] == 0
        assert "[weightwatch] database writes work again" in [
            r["title"] for r in setup.ops.received
        ]
    finally:
        storage.close()
    assert {"a0", "a1", "a2", "b0", "b1", "b2"} <= sent_titles(cfg.settings.database)


@pytest.mark.system
def test_the_daemon_on_a_full_disk_sends_each_alert_once_and_says_so_in_its_status(
    setup: Setup, tiny_fs: Path
) -> None:
    cfg = setup.config
    # Hold the database open meanwhile, so its -wal and -shm files exist before the disk
    # fills (as they do under a daemon that has been running for a while).
    keep = Storage(cfg.settings.database)
    filler = fill(tiny_fs)
    daemon = DaemonProcess(tiny_fs / "config.toml", tiny_fs.parent)
    try:
        daemon.wait_ready()
        wait_for(
            lambda: all(h.received for h in setup.hooks.values()), 20, "a first post to each URL"
        )
        time.sleep(11)  # two more delivery runs on a full disk
        for name, hook in setup.hooks.items():
            assert posts(hook) == Counter({f"{name}0": 1})
        status = wait_for(
            lambda: next(
                (v for _, v in reversed(daemon.notify.fields("STATUS")) if "FAILING" in v), None
            ),
            15,
            "a STATUS line saying that database writes fail",
        )
        assert "2 alerts sent but not recorded" in status
        assert daemon.proc.poll() is None

        filler.unlink()  # space returns
        wait_for(
            lambda: all(len(h.received) >= PER_URL for h in setup.hooks.values()),
            20,
            "every alert delivered",
        )
        time.sleep(6)  # one more delivery run: nothing is sent twice
        for name, hook in setup.hooks.items():
            assert posts(hook) == Counter({f"{name}{n}": 1 for n in range(PER_URL)})
        wait_for(
            lambda: "FAILING" not in daemon.notify.fields("STATUS")[-1][1],
            10,
            "the STATUS line to clear",
        )
        assert daemon.stop() == 0
    finally:
        daemon.close()
        keep.close()
    log = daemon.log
    assert "could not be recorded" in log and "the disk is full" in log
    assert {"a0", "a1", "a2", "b0", "b1", "b2"} <= sent_titles(cfg.settings.database)
