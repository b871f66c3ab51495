"""Database failures (issue 10, item 9): one clear message naming the file and what to do,
an exit code that says whether restarting can help, no traceback, and a daemon that
keeps polling through a full disk without filling the journal."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from builders import write_config
from daemon_harness import DaemonProcess, wait_for
from feedgen import Entry, rss
from fsfaults import remount, small_tmpfs
from servers import HTTPTestServer, WebhookReceiver, closed_port
from weightwatch.cli import main
from weightwatch.errors import StorageError
from weightwatch.service.once import run_once
from weightwatch.storage import Storage

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
RULE = 'OpenAI AND "release weights"'
OLD = Entry("Quarterly update on robot arms", "https://lab.example/robots", guid="r1")
NEWS = Entry("OpenAI to release weights of its next model", "https://lab.example/w", guid="w1")

EX_DATAERR, EX_TEMPFAIL, EX_NOPERM = 65, 75, 77


def bulky(n: int, size: int = 4096, tag: str = "b") -> list[Entry]:
    """Items that need n * size bytes of database space (text is kept for retention)."""
    return [
        Entry(
            f"Robot arm report {tag}{i}",
            f"https://lab.example/{tag}{i}",
            guid=f"{tag}{i}",
            text=f"{tag}{i} " + "gears and levers " * (size // 17),
        )
        for i in range(n)
    ]


def daemon_config(path: Path, db: Path, sources: dict[str, str], hook: str) -> Path:
    lines = [
        "[settings]",
        f'database = "{db.as_posix()}"',
        'interval = "5s"',
        'timeout = "3s"',
        "[channels]",
        f'hook = "{hook}"',
    ]
    for name, url in sources.items():
        lines += ["[[source]]", f'name = "{name}"', f'url = "{url}"']
    lines += ["[[rule]]", 'name = "oa"', f"query = '{RULE}'", 'notify = ["hook"]']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs of its own (root only): fills up and turns read-only on demand."""
    with small_tmpfs(tmp_path / "fs", "1m", "mode=0755") as mount:
        yield mount


# -- the daemon refuses to start on a database it cannot use --------------------------


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x13\x37 not an sqlite file " * 500)


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _newer(path: Path) -> None:
    storage = Storage(path)
    storage.conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
        " VALUES ('weightwatch', '0099_from_the_future', '2030-01-01')"
    )
    storage.close()


START_CASES: list[tuple[str, Callable[[Path], None], int, str]] = [
    ("garbage", _garbage, EX_DATAERR, "it is damaged or is not a weightwatch database"),
    ("empty", _empty, EX_DATAERR, "is empty (0 bytes): it is not a weightwatch database"),
    ("newer", _newer, EX_DATAERR, "was written by a newer weightwatch"),
]


def _wait_exit(d: DaemonProcess, timeout: float = 30) -> int:
    try:
        return d.proc.wait(timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the daemon kept running:\n{d.log}") from exc


def _assert_one_journal_error(log: str, path: Path, words: str) -> None:
    assert "Traceback" not in log, log
    lines = [line for line in log.splitlines() if line]
    assert all(line.startswith("<") for line in lines), lines
    errors = [line for line in lines if line.startswith("<3>")]
    assert len(errors) == 1, lines
    assert str(path) in errors[0] and words in errors[0], errors


@pytest.mark.parametrize(
    ("case", "make", "code", "words"), START_CASES, ids=[c[0] for c in START_CASES]
)
def test_the_daemon_refuses_an_unusable_database_with_one_journal_error_and_no_restart_code(
    tmp_path: Path, case: str, make: Callable[[Path], None], code: int, words: str
) -> None:
    db = tmp_path / "state" / "ww.db"
    db.parent.mkdir()
    make(db)
    before = db.read_bytes()
    config = daemon_config(
        tmp_path / "c.toml", db, {"a": "http://127.0.0.1:9/a.xml"}, "json://127.0.0.1:9/x"
    )
    d = DaemonProcess(config, tmp_path, journal=True)
    try:
        assert _wait_exit(d) == code
        _assert_one_journal_error(d.log, db, words)
        assert d.notify.fields("READY") == []
        assert any(words in v for _, v in d.notify.fields("STATUS")), d.notify.messages
        assert db.read_bytes() == before  # refused, not repaired, migrated or replaced
    finally:
        d.close()


def test_the_daemon_on_a_read_only_database_says_it_needs_write_access_and_exits_77(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if os.geteuid() == 0:  # root ignores file modes: a read-only filesystem instead
        folder = request.getfixturevalue("tmpfs")
        Storage(folder / "ww.db").close()
        remount(folder, "ro")
    else:
        folder = tmp_path / "state"
        folder.mkdir()
        Storage(folder / "ww.db").close()
        (folder / "ww.db").chmod(0o444)
        folder.chmod(0o555)
    db = folder / "ww.db"
    config = daemon_config(
        tmp_path / "c.toml", db, {"a": "http://127.0.0.1:9/a.xml"}, "json://127.0.0.1:9/x"
    )
    d = DaemonProcess(config, tmp_path, journal=True)
    try:
        assert _wait_exit(d) == EX_NOPERM
        _assert_one_journal_error(d.log, db, "")
        assert "read-only" in d.log and "write access" in d.log
    finally:
        d.close()
        if os.geteuid() != 0:
            folder.chmod(0o755)


def test_the_units_do_not_restart_on_database_problems_an_operator_must_fix() -> None:
    for unit in sorted((ROOT / "systemd").glob("*.service")):
        text = unit.read_text(encoding="utf-8")
        line = re.search(r"^RestartPreventExitStatus=(.*)$", text, re.MULTILINE)
        assert line, unit
        codes = set(line.group(1).split())
        assert {"78", str(EX_DATAERR), str(EX_NOPERM)} <= codes, unit
        assert str(EX_TEMPFAIL) not in codes, unit  # a full disk may recover: restart


def test_a_command_on_an_unusable_database_exits_with_its_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(
        tmp_path,
        {"a": "http://127.0.0.1:9/a.xml"},
        {"hook": ["json://127.0.0.1:9/x"]},
        [{"name": "oa", "query": RULE, "notify": ["hook"]}],
    )
    _empty(cfg.settings.database)
    for argv in (["once"], ["status"]):
        code = main([*argv, "--config", str(tmp_path / "config.toml")])
        err = capsys.readouterr().err
        assert code == EX_DATAERR, argv
        assert err.startswith(f"weightwatch: {cfg.settings.database} is empty (0 bytes)"), err


# -- `once` on a full disk -----------------------------------------------------------


def _once(config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEIGHTWATCH_", "JOURNAL"))}
    return subprocess.run(
        [sys.executable, "-m", "weightwatch", "once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_once_on_a_full_disk_names_the_file_and_exits_75_then_works_when_space_returns(
    tmp_path: Path, tmpfs: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    db = tmpfs / "ww.db"
    http_server.set("/lab.xml", rss([OLD]))
    http_server.set("/more.xml", rss([OLD]))
    sources = {"lab": http_server.url("/lab.xml"), "more": http_server.url("/more.xml")}
    config = daemon_config(tmp_path / "c.toml", db, sources, webhook.apprise_url)
    first = _once(config)
    assert first.returncode == 0, first.stderr
    http_server.set("/lab.xml", rss([*bulky(300), OLD]))  # 1.2 MB of text: more than the disk
    full = _once(config)
    assert full.returncode == EX_TEMPFAIL, (full.stdout, full.stderr)
    assert f"Could not write to the database {db}: the disk is full" in full.stderr
    assert "Free some space" in full.stderr
    assert "internal error" not in full.stderr + full.stdout
    assert "Traceback" not in full.stderr
    remount(tmpfs, "size=16m")
    http_server.set("/lab.xml", rss([NEWS, *bulky(300), OLD]))
    again = _once(config)
    assert again.returncode == 0, again.stderr
    assert len(webhook.received) == 1 and NEWS.title in webhook.received[0]["title"]


def _full_storage(path: Path) -> Storage:
    storage = Storage(path)
    pages = storage.conn.execute("PRAGMA page_count").fetchone()[0]
    storage.conn.execute(f"PRAGMA max_page_count = {pages + 20}")  # about 80 KB more
    return storage


def test_a_full_database_stops_poll_sources_with_the_storage_error_not_internal_error(
    tmp_path: Path, http_server: HTTPTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    http_server.set("/big.xml", rss(bulky(100)))
    http_server.set("/big2.xml", rss(bulky(100, tag="c")))
    cfg = write_config(
        tmp_path,
        {
            "down": f"http://127.0.0.1:{closed_port()}/x.xml",
            "big": http_server.url("/big.xml"),
            "big2": http_server.url("/big2.xml"),
        },
        {"hook": ["json://127.0.0.1:9/x"]},
        [{"name": "oa", "query": RULE, "notify": ["hook"]}],
    )
    storage = _full_storage(cfg.settings.database)
    try:
        with pytest.raises(StorageError) as caught:
            run_once(cfg, storage=storage)
    finally:
        storage.close()
    assert caught.value.kind == "full"
    assert str(cfg.settings.database) in str(caught.value)
    assert "internal error" not in caplog.text
    assert "Storing the poll" not in caplog.text


def test_a_source_that_fails_on_its_own_still_does_not_stop_the_others(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    http_server.set("/lab.xml", rss([OLD]))
    cfg = write_config(
        tmp_path,
        {"down": f"http://127.0.0.1:{closed_port()}/x.xml", "lab": http_server.url("/lab.xml")},
        {"hook": ["json://127.0.0.1:9/x"]},
        [{"name": "oa", "query": RULE, "notify": ["hook"]}],
    )
    summary = run_once(cfg)
    status = {s.source: s.status for s in summary.sources}
    assert status["down"] == "error" and status["lab"] != "error"


# -- the running daemon on a full disk -------------------------------------------------


def test_the_daemon_on_a_full_disk_logs_one_error_keeps_polling_and_recovers(
    tmp_path: Path, tmpfs: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    db = tmpfs / "ww.db"
    http_server.set("/lab.xml", rss([OLD]))
    http_server.set("/more.xml", rss([OLD]))
    sources = {"lab": http_server.url("/lab.xml"), "more": http_server.url("/more.xml")}
    config = daemon_config(tmp_path / "c.toml", db, sources, webhook.apprise_url)
    d = DaemonProcess(config, tmp_path, journal=True)
    try:
        d.wait_ready()
        wait_for(lambda: "lab: " in d.log and "more: " in d.log, 20, "both first polls")
        http_server.set("/lab.xml", rss([*bulky(300), OLD]))
        http_server.set("/more.xml", rss([*bulky(300, tag="m"), OLD]))
        polls = len(http_server.hits("/lab.xml")) + len(http_server.hits("/more.xml"))
        wait_for(
            lambda: (
                len(http_server.hits("/lab.xml")) + len(http_server.hits("/more.xml")) >= polls + 4
            ),
            30,
            "four polls on the full disk",
        )
        assert d.proc.poll() is None, d.log
        errors = [line for line in d.log.splitlines() if line.startswith("<3>")]
        assert len(errors) == 1, d.log
        assert f"the database {db}: the disk is full" in errors[0]
        assert "Free some space" in errors[0]
        assert "Traceback" not in d.log
        remount(tmpfs, "size=16m")
        http_server.set("/lab.xml", rss([NEWS, *bulky(300), OLD]))
        wait_for(lambda: "writes work again" in d.log, 30, "the recovery line")
        wait_for(lambda: webhook.received, 30, "the alert of the item polled after recovery")
        assert NEWS.title in webhook.received[0]["title"]
        assert d.stop() == 0
    finally:
        d.close()
    counts: Any = sqlite3.connect(db).execute("SELECT COUNT(*) FROM items").fetchone()
    assert counts[0] >= 600
