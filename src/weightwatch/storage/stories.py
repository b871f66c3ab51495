"""The story index (``matching.story``): reading what a batch of new hits needs about
stored stories, and indexing a stored hit's features and words. Part of the storage
facade (``Storage.story_context``, ``Storage.record_poll``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TypeVar

from weightwatch.storage.rows import from_iso
from weightwatch.types import NewHit, RelatedStory, StoredHit, StoryContext, StoryLookup

T = TypeVar("T")


def index_story(conn: sqlite3.Connection, hit: NewHit, hit_id: int, now: datetime) -> None:
    if not hit.story_features:
        return
    conn.execute(
        "INSERT OR REPLACE INTO story_features (hit_id, features) VALUES (?, ?)",
        [hit_id, hit.story_features],
    )
    stamp = int(now.timestamp())
    conn.executemany(
        "INSERT OR IGNORE INTO story_words (rule, word, created, hit_id) VALUES (?, ?, ?, ?)",
        [(hit.rule, word, stamp, hit_id) for word in dict.fromkeys(hit.story_words)],
    )


def read_context(conn: sqlite3.Connection, lookup: StoryLookup) -> StoryContext:
    """What a batch of new hits needs to know about stored stories, in one read: the
    story of each (rule, link), each (rule, word)'s newest hits in the window, the
    features of every hit that is some new hit's candidate, and each named story's
    sources and first hit (see ``StoryContext``)."""
    linked: dict[tuple[str, str], int] = {}
    by_rule: dict[str, list[str]] = {}
    for rule, link in sorted(lookup.links):
        if link:
            by_rule.setdefault(rule, []).append(link)
    for rule, links in by_rule.items():
        for chunk in _chunks(links):
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                "SELECT link, COALESCE(duplicate_of, id) FROM hits"
                f" WHERE rule = ? AND link IN ({marks}) ORDER BY id",
                [rule, *chunk],
            ).fetchall()
            for link, first in rows:
                linked.setdefault((rule, str(link)), int(first))
    recent: dict[tuple[str, str], tuple[int, ...]] = {}
    if lookup.since is not None:
        after = int(lookup.since.timestamp())
        for rule, words in lookup.words:
            for word, _ in words:
                if (rule, word) in recent:
                    continue
                rows = conn.execute(
                    "SELECT hit_id FROM story_words WHERE rule = ? AND word = ?"
                    " AND created >= ? ORDER BY created DESC LIMIT ?",
                    [rule, word, after, lookup.per_word],
                ).fetchall()
                recent[(rule, word)] = tuple(r[0] for r in rows)  # INTEGER NOT NULL: ints
    partial = StoryContext(linked=linked, recent=recent)
    ranked = {
        (rule, words, lookup.limit): tuple(partial.candidates(rule, words, lookup.limit))
        for rule, words in lookup.words
    }
    wanted = sorted({h for found in ranked.values() for h in found})
    hits: dict[int, StoredHit] = {}
    for ids in _chunks(wanted):
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            "SELECT h.id, COALESCE(h.duplicate_of, h.id), f.features FROM hits h"
            f" JOIN story_features f ON f.hit_id = h.id WHERE h.id IN ({marks})",
            ids,
        ).fetchall()
        hits.update((int(a), StoredHit(int(b), str(c))) for a, b, c in rows)
    firsts = sorted(set(linked.values()) | {h.first_id for h in hits.values()})
    sources: dict[int, set[str]] = {f: set() for f in firsts}
    heads = _Heads()
    for ids in _chunks(firsts):
        marks = ",".join("?" * len(ids))
        # The firsts by id, their members through the covering index: "id IN (...) OR
        # duplicate_of IN (...)" is planned as a scan of every hit (most duplicate_of are
        # NULL, so the statistics call that index unselective): 130 ms against 0.9 ms at
        # 86k hits (bench/year.py, docs/capacity.md).
        values = ",".join(["(?)"] * len(ids))
        rows = conn.execute(
            "SELECT id, duplicate_of, source, title, link, created FROM hits WHERE id IN"
            f" (VALUES {values} UNION SELECT id FROM hits WHERE duplicate_of IN ({marks}))",
            [*ids, *ids],
        ).fetchall()
        for hit_id, duplicate_of, source, title, link, created in rows:
            if hit_id in sources:
                sources[hit_id].add(str(source))
                heads.rows[hit_id] = (title, source, created, link)
            if duplicate_of in sources:
                sources[duplicate_of].add(str(source))
    return StoryContext(
        linked=linked,
        recent=recent,
        hits=hits,
        sources={f: frozenset(s) for f, s in sources.items()},
        heads=heads,
        ranked=ranked,
    )


class _Heads(Mapping[int, RelatedStory]):
    """Each named story's first hit as a ``RelatedStory``, made when asked for: the
    decider needs one only for a hit that joins no story but comes close to one, so the
    rows are kept as read (docs/dedup.md, "Cost")."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[object, object, object, object]] = {}

    def __getitem__(self, hit_id: int) -> RelatedStory:
        title, source, created, link = self.rows[hit_id]
        at = from_iso(None if created is None else str(created))
        return RelatedStory(str(title), str(source), at, str(link))

    def __iter__(self) -> Iterator[int]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _chunks(values: list[T]) -> Iterator[list[T]]:
    """At most 500 at a time: SQLite's limit on ``?`` parameters is 999 on old builds."""
    for start in range(0, len(values), 500):
        yield values[start : start + 500]
