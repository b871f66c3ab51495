"""An old database opens, migrates and keeps its data; migrations are frozen."""

from __future__ import annotations

import ast
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from weightwatch.storage import Storage
from weightwatch.storage.migrations import migrations, story_0005
from weightwatch.types import StoryLookup

LINK = "http://example.org/1"

MIGRATIONS_DIR = Path(story_0005.__file__).parent
RELEASE = (
    "UPDATE 1-OpenAI releases open-weight GPT-OSS 120B model - Reuters",
    "OpenAI on Tuesday released gpt-oss-120b, its first open-weight model since GPT-2,"
    " under Apache 2.0.",
)


def _database_at_0004(path: Path) -> None:
    """A database as the code before migration 0005 left it, with a hit and its alert."""
    conn = sqlite3.connect(path)
    migrations.apply(sqlite_utils.Database(conn), stop_before="0005_story_index")
    stamp = "2026-02-01T10:00:00+00:00"
    conn.execute(
        "INSERT INTO sources (name, url, primed, last_status, next_due, health)"
        " VALUES ('a', 'http://example.org/a.xml', 1, 'ok', ?, 'ok')",
        [stamp],
    )
    conn.execute(
        "INSERT INTO items (source, item_id, link, title, text, published, first_seen)"
        " VALUES ('a', 'i1', 'http://example.org/1', ?, ?, ?, ?)",
        [*RELEASE, stamp, stamp],
    )
    conn.execute(
        "INSERT INTO hits (rule, source, item_id, link, title, title_key, published, created,"
        " terms, snippet) VALUES ('oa', 'a', 'i1', 'http://example.org/1', ?, 'k', ?, ?, ?, 's')",
        [RELEASE[0], stamp, stamp, json.dumps(["OpenAI"])],
    )
    conn.execute(
        "INSERT INTO alerts (hit_id, channel, url_key, masked_url, title, body, created, updated)"
        " VALUES (1, 'hook', 'k1', 'json://x/', 'the alert', 'body', ?, ?)",
        [stamp, stamp],
    )
    conn.execute(
        "INSERT INTO page_blocks (source, fingerprint, first_seen, last_seen)"
        " VALUES ('a', 'fp', ?, ?)",
        [stamp, stamp],
    )
    conn.commit()
    conn.close()


@pytest.mark.integration
def test_a_database_of_migration_0004_migrates_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "ww.db"
    _database_at_0004(path)
    storage = Storage(path)
    try:
        applied = migrations.applied(storage.db)
        assert applied[4:7] == ["0005_story_index", "0006_items_retention", "0007_url_salt"]
        assert applied == migrations.names
        assert "0008_related_hint" in applied and "0011_sources_item_times" in applied
        assert "0012_url_failing_since" in applied
        state = storage.source_state("a")
        assert state is not None and state.primed and state.last_status == "ok"
        assert storage.counts() == {"items": 1, "hits": 1, "pending": 1, "sent": 0, "failed": 0}
        [pending] = storage.open_alerts()
        assert (pending.title, pending.hit_id, pending.url_key) == ("the alert", 1, "k1")
        assert storage.page_fingerprints("a", datetime(2000, 1, 1, tzinfo=UTC)) == {"fp"}
        linked = storage.story_context(StoryLookup(links=frozenset({("oa", LINK)}))).linked
        assert linked == {("oa", LINK): 1}
        # 0005 backfilled the hit's story features and index words (the rule's term excluded).
        features = storage.conn.execute("SELECT features FROM story_features").fetchone()[0]
        assert features == story_0005.features(*RELEASE, ["OpenAI"]).to_json()
        words = {r[0] for r in storage.conn.execute("SELECT word FROM story_words")}
        assert {"gpt", "oss", "120b", "apach"} <= words and "openai" not in words
    finally:
        storage.close()
    assert Storage.open_read_only(path).counts()["hits"] == 1


@pytest.mark.parametrize(
    ("title", "text", "exclude", "expected"),
    [
        (
            *RELEASE,
            ["OpenAI"],
            '{"k":"120b gpt model open openai oss releases weight",'
            '"t":["weight","gpt","oss","120b"],"x":["2.0","apach","tuesday","2"],'
            '"n":["120b","2.0","apach","gpt","oss"],'
            '"v":[["#b","120"],["apach","2.0"],["gpt","2"]]}',
        ),
        (
            "Hundreds Of Protesters Storm Iraqi Parliament",
            "",
            [],
            '{"k":"hundreds iraqi of parliament protesters storm",'
            '"t":["hundred","protester","storm","iraq","parliament"],"x":[],"n":[],"v":[]}',
        ),
    ],
)
def test_the_frozen_story_features_of_0005_never_change(
    title: str, text: str, exclude: list[str], expected: str
) -> None:
    assert story_0005.features(title, text, exclude).to_json() == expected


def test_the_migrations_import_nothing_from_weightwatch() -> None:
    files = sorted(MIGRATIONS_DIR.glob("*.py"))
    assert {f.name for f in files} == {"__init__.py", "story_0005.py"}
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: only within the migrations package itself
                    assert node.module in (None, "story_0005"), (file.name, node.module)
                    continue
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith("weightwatch"), f"{file.name} imports {name}"
    assert (MIGRATIONS_DIR / "story_words_0005.txt").is_file()
