"""Channel URL keys end to end (issue 10, item 13): a database an older weightwatch left,
with alerts keyed by the bare SHA-256 of their URL, still delivers them, once, to the
right URL; and after a run the database file holds neither a channel URL nor its SHA-256."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from builders import OPENAI_RULE, db_rows, write_config
from daemon_harness import DaemonProcess, wait_for
from feedgen import Entry, rss
from servers import HTTPTestServer, WebhookReceiver
from weightwatch.delivery import routing
from weightwatch.service.once import run_once
from weightwatch.storage import Storage
from weightwatch.storage.migrations import migrations

GONE = "json://127.0.0.1:9/gone"


def secret_url(webhook: WebhookReceiver) -> str:
    return f"json://tok:S3CRET@127.0.0.1:{webhook.port}/hook"


def sha(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def database_before_the_salt(path: Path, url: str) -> None:
    """The schema before migration 0007, with two pending alerts and a failure count for
    ``url`` and one pending alert for a URL no longer configured, all keyed by SHA-256."""
    conn = sqlite3.connect(path)
    migrations.apply(sqlite_utils.Database(conn), stop_before="0007_url_salt")
    conn.execute("PRAGMA journal_mode = WAL")
    stamp = datetime.now(UTC).isoformat()  # queued just now: not yet expired
    for title, to in (("first pending", url), ("second pending", url), ("orphan", GONE)):
        conn.execute(
            "INSERT INTO alerts (kind, channel, url_key, masked_url, title, body, created,"
            " updated, event_key) VALUES ('health', 'hook', ?, 'json://x/', ?, 'body', ?, ?, ?)",
            [sha(to), title, stamp, stamp, title],
        )
    conn.execute(
        "INSERT INTO url_health (url_key, masked_url, consecutive_failures, reported)"
        " VALUES (?, 'json://x/', 1, 0)",
        [sha(url)],
    )
    conn.commit()
    conn.close()


def database_bytes(path: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()
    )


def test_alerts_an_older_weightwatch_queued_are_delivered_once_under_the_new_key(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    url = secret_url(webhook)
    database_before_the_salt(tmp_path / "ww.db", url)
    cfg = write_config(
        tmp_path, {}, {"hook": [url]}, [{"name": "r", "query": "x", "notify": ["hook"]}]
    )
    summary = run_once(cfg)
    assert summary.delivery.sent == 2
    run_once(cfg)  # nothing left to send
    assert sorted(r["title"] for r in webhook.received) == ["first pending", "second pending"]

    storage = Storage.open_read_only(cfg.settings.database)
    new = routing.url_key(url, storage.url_salt)
    storage.close()
    keys = db_rows(tmp_path, "SELECT title, url_key, status FROM alerts ORDER BY id")
    assert keys == [
        ("first pending", new, "sent"),
        ("second pending", new, "sent"),
        ("orphan", sha(GONE), "failed"),  # no longer configured: kept as it was, not sent
    ]
    # the success reset the failure count kept from before, under the new key
    assert db_rows(tmp_path, "SELECT url_key, consecutive_failures FROM url_health") == [(new, 0)]
    data = database_bytes(tmp_path / "ww.db")
    assert sha(url).encode() not in data and url.encode() not in data and b"S3CRET" not in data


@pytest.mark.system
def test_the_daemon_re_keys_an_older_database_at_start_and_delivers_each_alert_once(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    url = secret_url(webhook)
    database_before_the_salt(tmp_path / "ww.db", url)
    write_config(tmp_path, {}, {"hook": [url]}, [{"name": "r", "query": "x", "notify": ["hook"]}])
    daemon = DaemonProcess(tmp_path / "config.toml", tmp_path)
    try:
        daemon.wait_ready()
        wait_for(lambda: len(webhook.received) >= 2, 20, "the two pending alerts")
        time.sleep(6)  # another delivery pass (every 5 s): nothing is sent again
        assert daemon.stop() == 0
    finally:
        daemon.close()
    assert sorted(r["title"] for r in webhook.received) == ["first pending", "second pending"]
    sent = db_rows(tmp_path, "SELECT COUNT(*) FROM alerts WHERE status = 'sent'")
    assert sent == [(2,)]
    assert sha(url).encode() not in database_bytes(tmp_path / "ww.db")


def test_after_a_run_the_database_holds_neither_the_channel_url_nor_its_sha256(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    url = secret_url(webhook)
    old = Entry("Quarterly update on robot arms", "https://lab.example/robots", guid="r1")
    news = Entry(
        "OpenAI releases weights for gpt-oss-120b",
        "https://lab.example/gpt-oss",
        guid="g1",
        text="OpenAI released weights under Apache 2.0 today.",
    )
    http_server.set("/lab.xml", rss([old]))
    cfg = write_config(
        tmp_path,
        {"lab": http_server.url("/lab.xml")},
        {"hook": [url]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
    )
    run_once(cfg)
    http_server.set("/lab.xml", rss([news, old]))
    assert run_once(cfg).delivery.sent == 1
    assert len(webhook.received) == 1
    storage = Storage.open_read_only(cfg.settings.database)
    salt = storage.url_salt
    storage.close()
    assert db_rows(tmp_path, "SELECT url_key FROM alerts") == [(routing.url_key(url, salt),)]
    data = database_bytes(tmp_path / "ww.db")
    assert url.encode() not in data and b"S3CRET" not in data
    assert sha(url).encode() not in data
