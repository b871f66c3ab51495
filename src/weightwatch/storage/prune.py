"""Forgetting what can no longer matter, so a year of polling stays the size of a season.

Part of the storage facade (``Storage.prune``), run by the daemon's maintenance job and at
the end of ``once``. What goes, and why no item can alert twice (docs/capacity.md):

- **item ids** of items long gone from their feed: not in the source's latest document
  (``items.last_seen`` differs from ``sources.last_document``) and last in any document
  before ``now - memory`` (``memory = max(MEMORY, retention)``). An id still in the latest
  document is kept however old, even while the feed answers 304 for months; a source with
  no 200 since migration 0010 keeps all its ids, and so does a watched page (its items
  are new blocks of text, and the blocks still on it are ``page_blocks``' memory). An
  item comes back as new only if its feed leaves it out of every document for ``memory``
  and then serves it again.
- **hits, their alerts and story features** of stories whose newest hit is older than
  ``memory`` (and older than ``dedup_window``), when every alert of the story is closed
  (sent or folded into a digest); a story with a pending, held or failed alert stays, and
  so does the newest story (hit ids are never reused). The newest digest of each channel
  URL stays (``url_history`` spaces digests by it).
- **alerts that belong to no hit** (digests, health notices), sent or folded before
  ``now - memory``.
- **the story index** (``story_words``, ``story_features``) outside the dedup window with a
  day to spare: a new hit only looks at ``created >= now - dedup_window``.

Freed pages are reused by the next inserts, so the file stops growing once the prunings
keep up (bench/year.py). No VACUUM is run: it rewrites the whole file while holding the
only writer (what one would return is measured in docs/capacity.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from weightwatch.storage.rows import iso

MEMORY = timedelta(days=90)  # the shortest time an item id outlives its last appearance
INDEX_SPARE = timedelta(days=1)  # the story index outlives the dedup window by this much


@dataclass(frozen=True)
class Pruned:
    """How many rows one pruning removed, per table."""

    items: int = 0
    hits: int = 0
    alerts: int = 0
    story_words: int = 0
    story_features: int = 0

    @property
    def total(self) -> int:
        return self.items + self.hits + self.alerts + self.story_words + self.story_features


def memory(retention: timedelta) -> timedelta:
    """How long an item id (and a closed story) outlives its last appearance."""
    return max(MEMORY, retention)


def prune(
    conn: sqlite3.Connection, now: datetime, *, retention: timedelta, dedup_window: timedelta
) -> Pruned:
    """Delete what the module docstring lists, in the caller's transaction."""
    forget = iso(now - memory(retention))
    items = conn.execute(
        "DELETE FROM items WHERE first_seen < :forget"
        " AND COALESCE(last_seen, first_seen) < :forget"
        " AND EXISTS (SELECT 1 FROM sources s WHERE s.name = items.source"
        "             AND s.last_document IS NOT NULL AND s.kind IS NOT 'page'"
        "             AND s.last_document IS NOT items.last_seen)",
        {"forget": forget},
    ).rowcount
    index_before = int((now - dedup_window - INDEX_SPARE).timestamp())
    words = conn.execute("DELETE FROM story_words WHERE created < ?", [index_before]).rowcount
    features = conn.execute(
        "DELETE FROM story_features WHERE hit_id NOT IN (SELECT hit_id FROM story_words)"
    ).rowcount
    stories_before = iso(min(now - memory(retention), now - dedup_window - INDEX_SPARE))
    conn.execute("DROP TABLE IF EXISTS temp.doomed")
    conn.execute(
        "CREATE TEMP TABLE doomed AS SELECT id FROM hits WHERE COALESCE(duplicate_of, id) IN"
        " (SELECT COALESCE(duplicate_of, id) AS first FROM hits GROUP BY first"
        "  HAVING MAX(created) < ?)"
        " AND COALESCE(duplicate_of, id) NOT IN"
        " (SELECT COALESCE(h.duplicate_of, h.id) FROM alerts a JOIN hits h ON h.id = a.hit_id"
        "  WHERE a.status NOT IN ('sent', 'folded'))"
        # The newest story stays: hit ids are never reused, so the writer's "no hit stored
        # since my read" check (service.poll.story_mark, MAX(id)) stays true to its word.
        " AND COALESCE(duplicate_of, id) IS NOT"
        " (SELECT COALESCE(duplicate_of, id) FROM hits ORDER BY id DESC LIMIT 1)",
        [stories_before],
    )
    try:
        alerts = conn.execute(
            "DELETE FROM alerts WHERE hit_id IN (SELECT id FROM temp.doomed)"
        ).rowcount
        features += conn.execute(
            "DELETE FROM story_features WHERE hit_id IN (SELECT id FROM temp.doomed)"
        ).rowcount
        hits = conn.execute("DELETE FROM hits WHERE id IN (SELECT id FROM temp.doomed)").rowcount
    finally:
        conn.execute("DROP TABLE IF EXISTS temp.doomed")
    alerts += conn.execute(
        "DELETE FROM alerts WHERE hit_id IS NULL AND status IN ('sent', 'folded')"
        " AND updated < ? AND id NOT IN"
        " (SELECT MAX(id) FROM alerts WHERE kind = 'digest' GROUP BY url_key)",
        [forget],
    ).rowcount
    return Pruned(items, hits, alerts, words, features)


def mark_present(
    conn: sqlite3.Connection, source: str, ids: Sequence[str], stamp: str | None
) -> None:
    """Record a feed's document: its items were seen at ``stamp``, and it is the latest."""
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ",".join("?" * len(chunk))
        conn.execute(
            f"UPDATE items SET last_seen = ? WHERE source = ? AND item_id IN ({marks})",
            [stamp, source, *chunk],
        )
    conn.execute("UPDATE sources SET last_document = ? WHERE name = ?", [stamp, source])
