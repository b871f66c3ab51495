"""The story index (``matching.story``): reading what a batch of new hits needs about
stored stories, and indexing a stored hit's features and words. Part of the storage
facade (``Storage.story_context``, ``Storage.record_poll``)."""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Generic, TypeVar

from weightwatch.storage.rows import from_iso
from weightwatch.types import NewHit, RelatedStory, StoredHit, StoryContext, StoryLookup

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

_HeadRow = tuple[object, object, object, object]  # title, source, created, link


class _Recent(Generic[K, V]):
    """A bounded map that forgets the least recently used entry first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self.entries.get(key)
        if value is not None:
            self.entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self.entries[key] = value
        self.entries.move_to_end(key)
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)


class Remembered:
    """What ``read_context`` read about stored hits that can never change, kept for the
    next batches of this connection: a hit's story (its ``duplicate_of`` is written once,
    with the hit) and features, and a story's first hit (the row of its head). A hit is
    deleted only with its whole story, long after it left every window
    (``storage.prune``), and hit ids are never reused, so nothing kept here goes stale.

    What a story's sources are changes as hits join it, so those are read every time.
    Bounded (``SIZE`` entries each, ~3 MB filled); at 1M stored hits it saves two of the
    decision's four reads most of the time (docs/dedup.md, "Cost")."""

    SIZE = 4096

    def __init__(self, size: int = SIZE) -> None:
        self.hits: _Recent[int, StoredHit] = _Recent(size)
        self.heads: _Recent[int, _HeadRow] = _Recent(size)


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


def read_context(
    conn: sqlite3.Connection, lookup: StoryLookup, kept: Remembered | None = None
) -> StoryContext:
    """What a batch of new hits needs to know about stored stories, in one read: the
    story of each (rule, link), each (rule, word)'s newest hits in the window, the
    features of every hit that is some new hit's candidate, and each named story's
    sources and first hit (see ``StoryContext``). ``kept``: what earlier reads of this
    connection remember (``Remembered``); without it everything is read."""
    kept = kept if kept is not None else Remembered(0)
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
    for hit_id in wanted:
        known = kept.hits.get(hit_id)
        if known is not None:
            hits[hit_id] = known
    for ids in _chunks([h for h in wanted if h not in hits]):
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            "SELECT h.id, COALESCE(h.duplicate_of, h.id), f.features FROM hits h"
            f" JOIN story_features f ON f.hit_id = h.id WHERE h.id IN ({marks})",
            ids,
        ).fetchall()
        for a, b, c in rows:
            hits[int(a)] = found = StoredHit(int(b), str(c))
            kept.hits.put(int(a), found)
    firsts = sorted(set(linked.values()) | {h.first_id for h in hits.values()})
    sources: dict[int, set[str]] = {f: set() for f in firsts}
    heads = _Heads()
    for first in firsts:
        head = kept.heads.get(first)
        if head is not None:
            heads.rows[first] = head
            sources[first].add(str(head[1]))
    for ids in _chunks([f for f in firsts if f not in heads.rows]):
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            f"SELECT id, source, title, link, created FROM hits WHERE id IN ({marks})", ids
        ).fetchall()
        for hit_id, source, title, link, created in rows:
            sources[hit_id].add(str(source))
            heads.rows[hit_id] = head = (title, source, created, link)
            kept.heads.put(hit_id, head)
    for ids in _chunks(firsts):
        marks = ",".join("?" * len(ids))
        # The members by id, found through the covering index: "duplicate_of IN (...)" on
        # its own (or "id IN (...) OR duplicate_of IN (...)") is planned as a scan of every
        # hit (most duplicate_of are NULL, so the statistics call that index unselective):
        # 130 ms against 0.9 ms at 86k hits (bench/year.py, docs/capacity.md).
        rows = conn.execute(
            "SELECT duplicate_of, source FROM hits WHERE id IN"
            f" (SELECT id FROM hits WHERE duplicate_of IN ({marks}))",
            ids,
        ).fetchall()
        for duplicate_of, source in rows:
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
        self.rows: dict[int, _HeadRow] = {}

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
