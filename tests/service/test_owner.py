"""One owner per database: the daemon holds an exclusive lock for its lifetime, so neither
a second `run` nor a `once` beside it delivers (docs/reliability.md, "one owner").

The system tests run the real daemon, real `once` and `run` commands and a real webhook
receiver behind Apprise json://; the unit tests hold the lock in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from builders import CLI, ROOT, db_rows
from daemon_harness import OLD, daemon_config, news, polled, start, wait_for
from feedgen import rss
from servers import HTTPTestServer, WebhookReceiver
from weightwatch.errors import StorageError
from weightwatch.storage.owner import Owner, lock_path

NEW_ITEMS = 20


def test_a_second_owner_is_refused_naming_the_database_and_the_owner_pid(tmp_path: Path) -> None:
    db = tmp_path / "ww.db"
    with Owner(db, "run"):
        with pytest.raises(StorageError) as refused:
            Owner(db, "once").acquire()
        assert refused.value.kind == "owned"
        message = str(refused.value)
        assert f"The database {db} is in use by weightwatch run (pid {os.getpid()})." in message
        assert "status, alerts and hits are safe" in message
        with pytest.raises(StorageError, match="A second daemon would deliver"):
            Owner(db, "run").acquire()
    # Released: the next owner gets it, and the stale file beside the database is reused.
    assert lock_path(db).exists()
    with Owner(db, "once") as again:
        assert again.held
        assert lock_path(db).read_text(encoding="utf-8") == f"{os.getpid()} once\n"


def test_an_in_memory_database_needs_no_lock(tmp_path: Path) -> None:
    with Owner(":memory:", "run") as first, Owner(":memory:", "run") as second:
        assert not first.held and not second.held


def test_the_lock_file_is_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with Owner(tmp_path / "state" / "ww.db", "run") as owner:
            assert (owner.path.stat().st_mode & 0o777) == 0o600
    finally:
        os.umask(old)


def _once(config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIGHTWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "weightwatch", "once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )


@pytest.mark.system
@pytest.mark.timeout(300)  # a dozen processes start one after another; slow under load
def test_once_and_a_second_run_next_to_the_daemon_repeat_no_alert(
    tmp_path: Path,
    http_server: HTTPTestServer,
    webhook: WebhookReceiver,
    daemons: list[Any],
    cli: CLI,
) -> None:
    http_server.set("/lab.xml", rss([OLD]))
    path = daemon_config(tmp_path, {"lab": http_server.url("/lab.xml")}, webhook.apprise_url)
    d = start(daemons, path, tmp_path)
    d.wait_ready()
    wait_for(lambda: polled(http_server, "/lab.xml"), 10, "the first poll")
    wait_for(lambda: db_rows(tmp_path, "SELECT last_poll FROM sources")[0][0], 10, "recorded")
    webhook.delay = 0.15  # the daemon's delivery takes ~3 s: the onces run during it
    http_server.set("/lab.xml", rss([news(n) for n in range(NEW_ITEMS)] + [OLD]))

    # `once` again and again, concurrently with the daemon, from before the new items
    # are polled until every alert has arrived.
    results: list[subprocess.CompletedProcess[str]] = []
    done = threading.Event()

    def keep_running_once() -> None:
        while not done.is_set():
            results.append(_once(path))

    runner = threading.Thread(target=keep_running_once, daemon=True)
    runner.start()
    try:
        wait_for(lambda: len(webhook.received) >= NEW_ITEMS, 120, "every alert")
        second = cli("run", "--config", str(path), timeout=120)
        wait_for(lambda: len(results) >= 2, 120, "two onces")
    finally:
        done.set()
        runner.join(130)
    webhook.delay = 0.0
    wait_for(
        lambda: not db_rows(tmp_path, "SELECT 1 FROM alerts WHERE status != 'sent'"), 30, "all sent"
    )

    titles = Counter(r["title"] for r in webhook.received)
    assert len(titles) == NEW_ITEMS  # all delivered
    assert max(titles.values()) == 1  # none repeated
    assert all(r.returncode == 75 for r in results), [(r.returncode, r.stderr) for r in results]
    db = tmp_path / "ww.db"
    owner = f"The database {db} is in use by weightwatch run (pid {d.proc.pid})."
    assert owner in results[0].stderr
    assert second.returncode == 75
    assert owner in second.stderr
    assert "A second daemon would deliver the same alerts again" in second.stderr

    # kill -9 releases the lock with the process: once owns the database after it.
    d.proc.kill()
    d.proc.wait()
    after = _once(path)
    assert after.returncode == 0, after.stderr
    assert Counter(r["title"] for r in webhook.received) == titles
