"""``Storage.prune`` forgets ids long gone from their feed, closed stories past the memory
and the story index outside the dedup window, and nothing a poll still needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from weightwatch.storage import Storage
from weightwatch.storage.prune import INDEX_SPARE, MEMORY
from weightwatch.types import NewAlert, NewHit, SourceUpdate

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=30)
WINDOW = timedelta(days=3)


def poll(
    st: Storage,
    source: str,
    now: datetime,
    document: list[str],
    hits: tuple[NewHit, ...] = (),
) -> None:
    """A 200 of ``source`` serving ``document`` (ids, newest first), through the storage
    layer as the pipeline writes it: the unknown ids as new items, the whole document."""
    known = st.known_item_ids(source, document)
    st.record_poll(
        source,
        now=now,
        items=[(i, f"https://e.x/{i}", i, "text", None) for i in document if i not in known],
        hits=list(hits),
        state=SourceUpdate(last_poll=now, last_status="ok", primed=True),
        present=document,
    )


def not_modified(st: Storage, source: str, now: datetime) -> None:
    st.record_poll(
        source,
        now=now,
        items=[],
        hits=[],
        state=SourceUpdate(last_poll=now, last_status="not modified", primed=True),
    )


def hit(source: str, item: str, words: tuple[str, ...] = ("w",)) -> NewHit:
    return NewHit(
        rule="r",
        source=source,
        item_id=item,
        link=f"https://e.x/{item}",
        title=item,
        title_key=item,
        published=None,
        terms=("w",),
        snippet="",
        alerts=(NewAlert("hook", "k1", "json://x/", item, "body"),),
        story_features='{"f": 1}',
        story_words=words,
    )


def ids(st: Storage, source: str) -> set[str]:
    rows = st.conn.execute("SELECT item_id FROM items WHERE source = ?", [source]).fetchall()
    return {r[0] for r in rows}


def prune(st: Storage, now: datetime) -> None:
    st.prune(now, retention=RETENTION, dedup_window=WINDOW)


@pytest.fixture
def st(tmp_path: Path) -> Storage:
    storage = Storage(tmp_path / "ww.db")
    storage.ensure_sources([("a", "https://a.x/feed"), ("b", "https://b.x/feed")])
    return storage


def test_ids_gone_from_the_feed_for_the_memory_are_forgotten_and_the_latest_document_kept(
    st: Storage,
) -> None:
    poll(st, "a", T0, ["x", "y"])
    t1 = T0 + timedelta(days=1)
    poll(st, "a", t1, ["z", "y"])  # x leaves the feed
    for day in range(2, 400, 7):  # then the feed answers 304 for a year
        not_modified(st, "a", T0 + timedelta(days=day))
    prune(st, T0 + timedelta(days=400))
    assert ids(st, "a") == {"y", "z"}  # in the latest document, however old


def test_an_id_is_kept_until_it_was_absent_for_exactly_the_memory(st: Storage) -> None:
    poll(st, "a", T0, ["x"])
    poll(st, "a", T0 + timedelta(days=1), ["y"])  # x was last seen at T0
    prune(st, T0 + MEMORY)
    assert ids(st, "a") == {"x", "y"}
    prune(st, T0 + MEMORY + timedelta(seconds=1))
    assert ids(st, "a") == {"y"}


def test_an_id_served_again_within_the_memory_is_seen_again_and_not_forgotten(
    st: Storage,
) -> None:
    poll(st, "a", T0, ["x"])
    poll(st, "a", T0 + timedelta(days=1), ["y"])
    back = T0 + MEMORY - timedelta(days=1)
    poll(st, "a", back, ["x", "y"])  # x comes back: known, so not new, and seen now
    assert st.known_item_ids("a", ["x"]) == {"x"}
    poll(st, "a", back + timedelta(hours=1), ["y"])
    prune(st, back + MEMORY)
    assert ids(st, "a") == {"x", "y"}


def test_a_source_without_a_document_since_the_upgrade_keeps_all_its_ids(st: Storage) -> None:
    poll(st, "a", T0, ["x"])
    poll(st, "a", T0 + timedelta(days=1), ["y"])
    # As a database from before migration 0010 has it: no last_seen, no latest document.
    st.conn.execute("UPDATE items SET last_seen = NULL")
    st.conn.execute("UPDATE sources SET last_document = NULL")
    prune(st, T0 + timedelta(days=1000))
    assert ids(st, "a") == {"x", "y"}


def test_retention_longer_than_the_memory_keeps_ids_as_long_as_the_text(st: Storage) -> None:
    poll(st, "a", T0, ["x"])
    poll(st, "a", T0 + timedelta(days=1), ["y"])
    st.prune(T0 + timedelta(days=200), retention=timedelta(days=365), dedup_window=WINDOW)
    assert ids(st, "a") == {"x", "y"}


def test_the_story_index_is_pruned_outside_the_dedup_window_and_old_closed_stories_go(
    st: Storage,
) -> None:
    poll(st, "a", T0, ["x"], (hit("a", "x"),))
    later = T0 + WINDOW + INDEX_SPARE + timedelta(hours=1)
    poll(st, "b", later, ["v"], (hit("b", "v"),))
    st.conn.execute("UPDATE alerts SET status = 'sent', sent = created")
    prune(st, later)
    words = st.conn.execute("SELECT hit_id FROM story_words").fetchall()
    features = st.conn.execute("SELECT hit_id FROM story_features").fetchall()
    (newest,) = st.conn.execute("SELECT MAX(id) FROM hits").fetchone()
    assert words == [(newest,)] and features == [(newest,)]
    assert st.counts()["hits"] == 2  # hits themselves stay for the memory
    prune(st, T0 + MEMORY + timedelta(days=1))
    assert [r[0] for r in st.conn.execute("SELECT item_id FROM hits")] == ["v"]
    assert st.conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 1


def test_the_newest_story_is_kept_so_hit_ids_are_never_reused(st: Storage) -> None:
    poll(st, "a", T0, ["x", "y"], (hit("a", "x"), hit("a", "y", ("v",))))
    st.conn.execute("UPDATE alerts SET status = 'sent', sent = created")
    prune(st, T0 + timedelta(days=1000))
    assert [r[0] for r in st.conn.execute("SELECT item_id FROM hits")] == ["y"]
    assert st.last_hit_id() == 2


def test_a_story_with_an_alert_not_sent_is_kept_whole(st: Storage) -> None:
    poll(st, "a", T0, ["x"], (hit("a", "x"),))
    poll(st, "b", T0, ["v"], (hit("b", "v", ("v",)),))  # a newer story, closed
    st.conn.execute("UPDATE alerts SET status = 'sent' WHERE id = 2")
    st.conn.execute("UPDATE alerts SET status = 'failed' WHERE id = 1")
    prune(st, T0 + timedelta(days=1000))
    assert st.counts()["hits"] == 2
    assert st.conn.execute("SELECT status FROM alerts ORDER BY id").fetchall() == [
        ("failed",),
        ("sent",),
    ]


def test_the_newest_digest_of_each_url_is_kept(st: Storage) -> None:
    for day in (0, 1):
        digest = NewAlert("hook", "k1", "json://x/", f"digest {day}", "b", kind="digest")
        st.queue_alerts([digest], now=T0 + timedelta(days=day))
    st.conn.execute("UPDATE alerts SET status = 'sent', sent = created, updated = created")
    prune(st, T0 + timedelta(days=1000))
    assert st.conn.execute("SELECT title FROM alerts").fetchall() == [("digest 1",)]


def test_a_watched_page_keeps_its_ids(st: Storage) -> None:
    poll(st, "a", T0, ["x"])
    poll(st, "a", T0 + timedelta(days=1), ["y"])
    st.conn.execute("UPDATE sources SET kind = 'page' WHERE name = 'a'")  # detected as a page
    prune(st, T0 + timedelta(days=1000))
    assert ids(st, "a") == {"x", "y"}
