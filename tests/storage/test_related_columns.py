"""The related-story hint in storage (migration 0008): a hit's hint is stored with it, and
a story's first hit is read back as the ``RelatedStory`` a later hit may be hinted to."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils

from storage_builders import NOW, record_hits, story_hit
from weightwatch.matching import story
from weightwatch.storage import Storage
from weightwatch.storage.migrations import migrations
from weightwatch.types import RelatedStory, StoryLookup

pytestmark = pytest.mark.integration  # real SQLite files

TITLE = "OpenAI launches two open AI reasoning models"


def test_a_hits_hint_is_stored_and_a_same_poll_story_is_stamped_with_the_poll(
    tmp_path: Path,
) -> None:
    storage = Storage(tmp_path / "ww.db")
    storage.ensure_sources([("a", "http://a.example/feed")])
    earlier = RelatedStory("Earlier story", "wire", NOW - timedelta(hours=3), "https://w/1")
    same_poll = RelatedStory(TITLE, "a", None, "https://a.example/1")
    record_hits(
        storage,
        [
            story_hit(TITLE, "1"),
            story_hit("Other", "2", related=earlier),
            story_hit("Third", "3", related=same_poll),
        ],
    )
    rows = storage.conn.execute(
        "SELECT related_title, related_source, related_link, related_at FROM hits ORDER BY id"
    ).fetchall()
    assert rows == [
        (None, None, None, None),
        ("Earlier story", "wire", "https://w/1", "2026-03-01T09:00:00+00:00"),
        (TITLE, "a", "https://a.example/1", "2026-03-01T12:00:00+00:00"),
    ]
    newest_first = storage.stories(limit=5)
    assert [s["related_title"] for s in newest_first] == [TITLE, "Earlier story", None]


def test_the_story_context_names_each_storys_first_hit(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "ww.db")
    storage.ensure_sources([("a", "http://a.example/feed")])
    (first_id,) = record_hits(storage, [story_hit(TITLE, "1")])
    member = story_hit(TITLE + " - Reuters", "2", duplicate_of=first_id)
    (member_id,) = record_hits(storage, [member])
    feats = story.features(TITLE)
    lookup = StoryLookup(
        words=(("r", tuple((w, 1.0) for w in feats.lookup_words())),),
        since=NOW - timedelta(days=1),
        per_word=10,
        limit=10,
    )
    context = storage.story_context(lookup)
    assert set(context.hits) == {first_id, member_id}
    assert context.heads == {
        first_id: RelatedStory(TITLE, "a", NOW, "https://a.example/1"),
    }


def test_hits_stored_before_migration_0008_have_no_hint(tmp_path: Path) -> None:
    path = tmp_path / "ww.db"
    conn = sqlite3.connect(path)
    migrations.apply(sqlite_utils.Database(conn), stop_before="0008_related_hint")
    conn.execute(
        "INSERT INTO hits (rule, source, item_id, link, title, title_key, created, terms,"
        " snippet) VALUES ('r', 'a', '1', '', 'Old', 'old', '2026-01-01T00:00:00+00:00', '[]', '')"
    )
    conn.commit()
    conn.close()
    storage = Storage(path)
    (old,) = storage.stories()
    assert (old["title"], old["related_title"], old["related_at"]) == ("Old", None, None)
