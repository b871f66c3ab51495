"""Item text is kept for `settings.retention`; item ids while their feed may serve them
again (``storage.prune.MEMORY`` after they left it)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from builders import titles, write_config
from feedgen import Entry, rss
from servers import HTTPTestServer, WebhookReceiver
from weightwatch.service.once import run_once
from weightwatch.storage.prune import MEMORY

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


def test_an_item_gone_from_its_feed_is_not_new_within_the_memory_and_new_after_it(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    """The guarantee of ``storage.prune``: an item its feed serves again is new only if the
    feed left it out of every document for longer than ``MEMORY``."""
    cfg = write_config(
        tmp_path,
        {"a": http_server.url("/f.xml")},
        {"hook": webhook.apprise_url},
        [{"name": "r", "query": "weights", "notify": ["hook"]}],
    )
    other = Entry("Harbour reopens after storm", "https://a.example/o", guid="o", text="sea")
    falcon = Entry("Falcon weights published by TII", "https://a.example/f", guid="f")
    orca = Entry("Microsoft ships Orca weights to researchers", "https://a.example/c", guid="c")

    def cycle(entries: list[Entry], at: datetime) -> None:
        http_server.set("/f.xml", rss(entries))
        run_once(cfg, now=lambda: at)

    cycle([other], T0)  # the first poll is recorded silently
    seen = T0 + timedelta(hours=1)
    cycle([orca, falcon, other], seen)  # both alert (Falcon's is the newest hit: it stays)
    cycle([other], seen + timedelta(hours=1))  # both leave the feed: last seen at `seen`
    cycle([falcon, other], seen + MEMORY)  # Falcon is back just inside the memory: not new
    cycle([other], seen + MEMORY + timedelta(days=1))  # Orca was gone longer: forgotten
    cycle([orca, other], seen + MEMORY + timedelta(days=2))  # so it is news again
    assert sorted(titles(webhook.received)) == [
        "[r] Falcon weights published by TII",
        "[r] Microsoft ships Orca weights to researchers",
        "[r] Microsoft ships Orca weights to researchers",
    ]
    db = sqlite3.connect(tmp_path / "ww.db")
    kept = {r[0] for r in db.execute("SELECT item_id FROM items")}
    db.close()
    assert kept == {"o", "f", "c"}
