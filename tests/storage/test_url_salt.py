"""Channel URL keys: a random salt per database (migration 0007) and re-keying the rows an
older weightwatch keyed by the bare SHA-256 of the URL (issue 10, item 13)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from weightwatch.config import Channel
from weightwatch.delivery import routing
from weightwatch.storage import Storage
from weightwatch.storage.migrations import migrations

pytestmark = pytest.mark.integration  # real SQLite files

STAMP = "2026-02-01T10:00:00+00:00"
URL = "json://tok:S3CRET@127.0.0.1:9/hook"
OTHER = "json://127.0.0.1:9/gone"


def sha(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def database_at_0006(path: Path, sent: int = 0) -> None:
    """A database as the code before the salt left it: rows keyed by SHA-256 (and
    ``sent`` delivered alerts to ``URL``, enough for index pages to split and free)."""
    conn = sqlite3.connect(path)
    migrations.apply(sqlite_utils.Database(conn), stop_before="0007_url_salt")
    conn.executemany(
        "INSERT INTO alerts (kind, channel, url_key, masked_url, title, body, status, created,"
        " updated, sent) VALUES ('hit', 'hook', ?, 'json://x/', ?, ?, 'sent', ?, ?, ?)",
        [(sha(URL), f"old {n}", "x" * 200, STAMP, STAMP, STAMP) for n in range(sent)],
    )
    for n, url in enumerate((URL, URL, OTHER), 1):
        conn.execute(
            "INSERT INTO alerts (kind, channel, url_key, masked_url, title, body, created,"
            " updated, event_key) VALUES ('health', 'hook', ?, 'json://x/', ?, 'b', ?, ?, ?)",
            [sha(url), f"alert {n}", STAMP, STAMP, f"e{n}"],
        )
    conn.execute(
        "INSERT INTO alerts (kind, channel, url_key, masked_url, title, body, status, created,"
        " updated, event_key) VALUES ('health', 'ops', 'k-ops', 'ops', 'trouble', 'b', 'sent',"
        " ?, ?, ?)",
        [STAMP, STAMP, f"url:{sha(URL)}:{STAMP}"],
    )
    conn.execute(
        "INSERT INTO url_health (url_key, masked_url, consecutive_failures, reported)"
        " VALUES (?, 'json://x/', 2, 1)",
        [sha(URL)],
    )
    conn.commit()
    conn.close()


def test_a_new_database_gets_its_own_random_32_byte_salt_kept_across_opens(
    tmp_path: Path,
) -> None:
    first, second = Storage(tmp_path / "a.db"), Storage(tmp_path / "b.db")
    salts = first.url_salt, second.url_salt
    first.close()
    second.close()
    assert len(salts[0]) == 32 and salts[0] != salts[1]
    again = Storage(tmp_path / "a.db")
    assert again.url_salt == salts[0]
    again.close()
    reader = Storage.open_read_only(tmp_path / "a.db")
    assert reader.url_salt == salts[0]
    reader.close()


def test_the_url_key_is_an_hmac_under_the_salt_not_the_bare_sha256() -> None:
    one, two = b"1" * 32, b"2" * 32
    assert routing.url_key(URL, one) == routing.url_key(URL, one)
    assert routing.url_key(URL, one) != routing.url_key(URL, two)
    assert routing.url_key(URL, one) != sha(URL) == routing.legacy_url_key(URL)
    assert routing.url_key(URL, one) != routing.url_key(OTHER, one)


def test_migrating_an_old_database_adds_a_salt_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "ww.db"
    database_at_0006(path)
    storage = Storage(path)
    try:
        assert len(storage.url_salt) == 32
        assert [a.url_key for a in storage.open_alerts()] == [sha(URL), sha(URL), sha(OTHER)]
    finally:
        storage.close()


def test_rekeying_moves_the_rows_of_configured_urls_to_the_hmac_key_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ww.db"
    database_at_0006(path, sent=500)
    storage = Storage(path)
    storage.conn.execute("PRAGMA secure_delete = OFF")  # as SQLite builds without it have
    try:
        new = routing.url_key(URL, storage.url_salt)
        pairs = routing.legacy_rekeys(
            {"hook": Channel("hook", (URL,), ("json://x/",))}, storage.url_salt
        )
        assert pairs == [(sha(URL), new)]
        assert storage.rekey_urls(pairs) == 503  # its alerts and its url_health row
        assert [(a.title, a.url_key) for a in storage.open_alerts()] == [
            ("alert 1", new),
            ("alert 2", new),
            ("alert 3", sha(OTHER)),  # no longer configured: left to expire
        ]
        assert storage.url_health(new) == (2, True)
        assert storage.url_health(sha(URL)) == (0, False)
        (event,) = storage.conn.execute(
            "SELECT event_key FROM alerts WHERE channel = 'ops'"
        ).fetchone()
        assert event == f"url:{new}:{STAMP}"
        assert storage.rekey_urls(pairs) == 0  # idempotent: nothing left to re-key
        assert storage.conn.execute("PRAGMA secure_delete").fetchone() == (0,)  # restored
    finally:
        storage.close()
    data = path.read_bytes() + _wal(path)
    assert sha(URL).encode() not in data  # not even in freed space or the WAL
    assert URL.encode() not in data and b"S3CRET" not in data


def test_a_row_already_under_the_new_key_wins_a_rekey_conflict(tmp_path: Path) -> None:
    path = tmp_path / "ww.db"
    database_at_0006(path)
    storage = Storage(path)
    try:
        new = routing.url_key(URL, storage.url_salt)
        storage.url_failure(new, "json://x/", "down")
        storage.rekey_urls([(sha(URL), new)])
        assert storage.url_health(new) == (1, False)
        rows = storage.conn.execute("SELECT COUNT(*) FROM url_health").fetchone()[0]
        assert rows == 1
    finally:
        storage.close()


def _wal(path: Path) -> bytes:
    wal = Path(f"{path}-wal")
    return wal.read_bytes() if wal.exists() else b""
