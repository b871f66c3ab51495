"""The story index read (``Storage.story_context``): what it remembers between reads of one
connection never hides a change, and none of its statements scans every stored hit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from storage_builders import NOW, record_hits, story_hit
from weightwatch.matching import story
from weightwatch.storage import Storage
from weightwatch.storage.stories import read_context
from weightwatch.types import StoryContext, StoryLookup

pytestmark = pytest.mark.integration  # real SQLite files

TITLE = "OpenAI releases gpt-oss-120b open-weight reasoning model"


def lookup(title: str, link: str = "") -> StoryLookup:
    words = tuple((w, story.weight(w) or 0.5) for w in story.features(title).lookup_words())
    return StoryLookup(
        links=frozenset({("r", link)}) if link else frozenset(),
        words=(("r", words),),
        since=NOW - timedelta(days=1),
        per_word=64,
        limit=32,
    )


def plain(context: StoryContext) -> tuple[object, ...]:
    return (
        dict(context.linked),
        dict(context.recent),
        dict(context.hits),
        dict(context.sources),
        dict(context.heads),
    )


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    storage = Storage(tmp_path / "ww.db")
    storage.ensure_sources([(s, f"http://{s}.example/feed") for s in "abc"])
    return storage


def test_a_storys_sources_are_read_anew_when_another_outlet_joins_it(storage: Storage) -> None:
    (first,) = record_hits(storage, [story_hit(TITLE, "1")], "a")
    before = storage.story_context(lookup(TITLE))  # remembers the story's first hit
    assert before.sources[first] == {"a"}
    record_hits(storage, [story_hit(TITLE + " - Reuters", "2", "b", duplicate_of=first)], "b")
    after = storage.story_context(lookup(TITLE))
    assert after.sources[first] == {"a", "b"}
    assert len(after.hits) == 2


def test_a_read_that_remembers_equals_a_read_from_scratch(storage: Storage) -> None:
    (first,) = record_hits(storage, [story_hit(TITLE, "1")], "a")
    record_hits(storage, [story_hit(TITLE + " (update)", "2", "b", duplicate_of=first)], "b")
    record_hits(storage, [story_hit("OpenAI open-weight model gpt-oss-120b is out", "3", "c")], "c")
    record_hits(storage, [story_hit("Mistral releases a new reasoning model", "4")], "a")
    titles = [TITLE, "gpt-oss-120b reasoning benchmarks", "Mistral reasoning model weights"]
    for _ in range(2):  # the second round is answered from what the first remembered
        for title in titles:
            asked = lookup(title, "https://a.example/1")
            remembered = storage.story_context(asked)
            assert plain(remembered) == plain(read_context(storage.conn, asked))
            assert remembered.hits  # the comparison is not of two empty reads


def test_no_statement_of_the_read_scans_every_stored_hit(storage: Storage) -> None:
    record_hits(
        storage, [story_hit(f"Story number {n} about reasoning", str(n)) for n in range(30)], "a"
    )
    (first,) = record_hits(storage, [story_hit(TITLE, "x", "b")], "b")
    record_hits(storage, [story_hit(TITLE, "y", "c", duplicate_of=first)], "c")
    # The statistics `PRAGMA optimize` gathered on a year of 1,000 feeds (bench/year.py):
    # most hits start their own story (duplicate_of NULL), so the index on duplicate_of
    # looks unselective, and a careless query scans the table.
    storage.conn.execute("ANALYZE")
    storage.conn.executemany(
        "UPDATE sqlite_stat1 SET stat = ? WHERE tbl = 'hits' AND idx = ?",
        [
            ("86907 86907", "hits_duplicate_of"),
            ("86907 8691 2", "hits_rule_created"),
            ("86907 8691 1", "hits_rule_link"),
            ("86907 8691 4 1", "sqlite_autoindex_hits_1"),
        ],
    )
    storage.conn.execute("ANALYZE sqlite_schema")  # load the statistics
    statements: list[str] = []
    storage.conn.set_trace_callback(statements.append)
    try:
        context = storage.story_context(lookup(TITLE, "https://b.example/x"))
    finally:
        storage.conn.set_trace_callback(None)
    assert context.sources[first] == {"b", "c"}
    plans = {
        sql: [row[3] for row in storage.conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
        for sql in statements
    }
    assert len(plans) >= 4
    scans = {sql: plan for sql, plan in plans.items() if "SCAN hits" in plan}
    assert scans == {}
