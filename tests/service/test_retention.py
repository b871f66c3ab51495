"""Item text is kept for `settings.retention`; item ids are kept for good."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from builders import write_config
from feedgen import Entry, rss
from servers import HTTPTestServer, WebhookReceiver
from weightwatch.service.once import run_once

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_old_item_text_is_pruned_but_the_item_is_never_new_again(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    cfg = write_config(
        tmp_path,
        {"a": http_server.url("/f.xml")},
        {"hook": webhook.apprise_url},
        [{"name": "r", "query": "weights", "notify": ["hook"]}],
        'retention = "7d"',
    )
    old = Entry("Old news", "https://a.example/old", guid="old", text="long text about weights")
    http_server.set("/f.xml", rss([old]))
    run_once(cfg, now=lambda: T0)
    later = Entry("Lab releases weights", "https://a.example/new", guid="new", text="weights!")
    http_server.set("/f.xml", rss([later, old]))
    run_once(cfg, now=lambda: T0 + timedelta(days=8))
    db = sqlite3.connect(tmp_path / "ww.db")
    rows = dict(db.execute("SELECT item_id, text FROM items").fetchall())
    db.close()
    assert rows == {"old": "", "new": "weights!"}
    assert len(webhook.received) == 1  # the pruned item did not come back as new
