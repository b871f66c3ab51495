"""The only module that imports sqlite_utils / sqlite3: weightwatch's state in one SQLite file.

Tables (created by named migrations below; never edit one once released, add a new one):

- ``sources``  one row per configured source: HTTP validators, last result, failure count,
  when it may be polled again (Retry-After), whether its first poll has been recorded.
- ``items``    every item seen, per source: the "is this new?" memory.
- ``hits``     an item that matched a rule; ``duplicate_of`` points at the earlier hit of the
  same rule when it is the same story (same canonical link or near-identical title).
- ``alerts``   one row per (hit, channel URL): pending, sent or failed, with attempts and
  the last error. The URL itself is not stored (it may hold secrets): ``url_key`` is its
  SHA-256 and ``masked_url`` is printable.
- ``page_blocks``  per watched page, the fingerprint of each block of text seen on it and
  when it was last seen (forgotten after ``pagediff.WINDOW``): the "is this text new?" memory.

One writer: the process that polls writes in one transaction per source (items, hits,
alerts and the source's state together), so a crash never loses an alert and never
records an item whose alerts were not queued. WAL lets ``status`` read meanwhile.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from weightwatch.errors import StorageError
from weightwatch.types import (
    AlertRow,
    Item,
    NewAlert,
    NewHit,
    PageBlocks,
    SourceState,
    SourceUpdate,
    StoredHit,
    StoryContext,
    StoryLookup,
)

T = TypeVar("T")

migrations = sqlite_utils.Migrations("weightwatch")


@migrations(name="0001_initial")
def _m0001_initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE sources (
            name TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            permanent_url TEXT,
            etag TEXT,
            last_modified TEXT,
            primed INTEGER NOT NULL DEFAULT 0,
            last_poll TEXT,
            last_ok TEXT,
            last_status TEXT,
            last_http_status INTEGER,
            last_error TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            not_before TEXT,
            kind TEXT,
            items_total INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute(
        """
        CREATE TABLE items (
            source TEXT NOT NULL,
            item_id TEXT NOT NULL,
            link TEXT NOT NULL,
            title TEXT NOT NULL,
            text TEXT NOT NULL,
            published TEXT,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (source, item_id)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE hits (
            id INTEGER PRIMARY KEY,
            rule TEXT NOT NULL,
            source TEXT NOT NULL,
            item_id TEXT NOT NULL,
            link TEXT NOT NULL,
            title TEXT NOT NULL,
            title_key TEXT NOT NULL,
            published TEXT,
            created TEXT NOT NULL,
            terms TEXT NOT NULL,
            snippet TEXT NOT NULL,
            duplicate_of INTEGER REFERENCES hits(id),
            duplicate_reason TEXT,
            UNIQUE (rule, source, item_id)
        )
        """
    )
    db.execute("CREATE INDEX hits_rule_link ON hits (rule, link)")
    db.execute("CREATE INDEX hits_rule_created ON hits (rule, created)")
    db.execute(
        """
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            hit_id INTEGER NOT NULL REFERENCES hits(id),
            channel TEXT NOT NULL,
            url_key TEXT NOT NULL,
            masked_url TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            last_error TEXT,
            UNIQUE (hit_id, url_key)
        )
        """
    )
    db.execute("CREATE INDEX alerts_status ON alerts (status)")


@migrations(name="0002_sources_next_due")
def _m0002_sources_next_due(db: sqlite_utils.Database) -> None:
    """The daemon's schedule survives restarts: when each source is due next."""
    db.execute("ALTER TABLE sources ADD COLUMN next_due TEXT")


@migrations(name="0003_page_blocks")
def _m0003_page_blocks(db: sqlite_utils.Database) -> None:
    """Watched pages: the fingerprints of the text blocks seen on each, and when last seen."""
    db.execute(
        """
        CREATE TABLE page_blocks (
            source TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            PRIMARY KEY (source, fingerprint)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX page_blocks_last_seen ON page_blocks (last_seen)")


@migrations(name="0004_alerts_delivery")
def _m0004_alerts_delivery(db: sqlite_utils.Database) -> None:
    """Durable delivery: digests, holds (quiet hours, rate limit), retries, health alerts.

    ``alerts`` is rebuilt because SQLite cannot relax ``hit_id NOT NULL`` in place: digest
    and health messages belong to no hit. Rows keep their ids.
    """
    db.execute(
        """
        CREATE TABLE alerts_v2 (
            id INTEGER PRIMARY KEY,
            hit_id INTEGER REFERENCES hits(id),
            kind TEXT NOT NULL DEFAULT 'hit',
            channel TEXT NOT NULL,
            url_key TEXT NOT NULL,
            masked_url TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            format TEXT NOT NULL DEFAULT 'text',
            data TEXT,
            rule_digest TEXT,
            status TEXT NOT NULL DEFAULT 'pending',
            hold TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            next_attempt TEXT,
            sent TEXT,
            last_error TEXT,
            digest_id INTEGER,
            event_key TEXT
        )
        """
    )
    db.execute(
        "INSERT INTO alerts_v2 (id, hit_id, channel, url_key, masked_url, title, body, status,"
        " attempts, created, updated, last_error, sent)"
        " SELECT id, hit_id, channel, url_key, masked_url, title, body, status, attempts,"
        " created, updated, last_error, CASE WHEN status = 'sent' THEN updated END FROM alerts"
    )
    db.execute("DROP TABLE alerts")
    db.execute("ALTER TABLE alerts_v2 RENAME TO alerts")
    db.execute(
        "CREATE UNIQUE INDEX alerts_hit_url ON alerts (hit_id, url_key) WHERE hit_id IS NOT NULL"
    )
    db.execute(
        "CREATE UNIQUE INDEX alerts_event_url ON alerts (event_key, url_key)"
        " WHERE event_key IS NOT NULL"
    )
    db.execute("CREATE INDEX alerts_open ON alerts (status, url_key)")
    db.execute("CREATE INDEX alerts_sent ON alerts (url_key, sent)")
    db.execute("ALTER TABLE sources ADD COLUMN health TEXT NOT NULL DEFAULT 'ok'")
    db.execute("ALTER TABLE sources ADD COLUMN last_new_item TEXT")
    db.execute(
        """
        CREATE TABLE url_health (
            url_key TEXT PRIMARY KEY,
            masked_url TEXT NOT NULL,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            reported INTEGER NOT NULL DEFAULT 0
        )
        """
    )


@migrations(name="0005_story_index")
def _m0005_story_index(db: sqlite_utils.Database) -> None:
    """Story clustering: each hit's story features, and an index of its distinctive words.

    ``story_words`` is the candidate blocking of ``weightwatch.matching.story``: a new hit looks up
    the newest hits of its rule that share a word with it, inside the window, instead of
    scanning the window. ``created`` is Unix seconds (small rows; the index is ordered by
    it). Existing hits are backfilled from their title and their item's text.
    """
    from weightwatch.matching import story

    db.execute(
        """
        CREATE TABLE story_features (
            hit_id INTEGER PRIMARY KEY REFERENCES hits(id),
            features TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE story_words (
            rule TEXT NOT NULL,
            word TEXT NOT NULL,
            created INTEGER NOT NULL,
            hit_id INTEGER NOT NULL,
            PRIMARY KEY (rule, word, created, hit_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX hits_duplicate_of ON hits (duplicate_of)")
    rows = db.execute(
        "SELECT h.id, h.rule, h.title, h.terms, h.created, COALESCE(i.text, '')"
        " FROM hits h LEFT JOIN items i ON i.source = h.source AND i.item_id = h.item_id"
    ).fetchall()
    for hit_id, rule, title, terms, created, text in rows:
        try:
            exclude = [str(t) for t in json.loads(terms)]
        except ValueError:
            exclude = []
        feats = story.features(title, text, exclude)
        db.execute(
            "INSERT INTO story_features (hit_id, features) VALUES (?, ?)",
            [hit_id, feats.to_json()],
        )
        stamp = _epoch(created)
        db.conn.executemany(
            "INSERT OR IGNORE INTO story_words (rule, word, created, hit_id) VALUES (?, ?, ?, ?)",
            [(rule, word, stamp, hit_id) for word in feats.index_words()],
        )


def _epoch(text: str | None) -> int:
    moment = from_iso(text)
    return int(moment.timestamp()) if moment is not None else 0


@migrations(name="0006_items_retention")
def _m0006_items_retention(db: sqlite_utils.Database) -> None:
    """Item text is kept for a retention period (explain, backtest); ids are kept forever."""
    db.execute("CREATE INDEX items_first_seen ON items (first_seen)")


def iso(moment: datetime | None) -> str | None:
    """UTC ISO-8601 text for storage; sorts correctly as text."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class Storage:
    """weightwatch's SQLite database; use from one thread (the writer)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self.db = sqlite_utils.Database(conn)
            migrations.apply(self.db)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"Could not open the database {path}: {exc}.") from exc
        self.conn = conn

    def close(self) -> None:
        try:
            self.conn.execute("PRAGMA optimize")
            self.conn.close()
        except sqlite3.Error:
            pass

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any exception."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StorageError(f"Could not start a write to {self.path}: {exc}.") from exc
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self.conn.execute("ROLLBACK")
                raise StorageError(f"Could not write to {self.path}: {exc}.") from exc

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        try:
            return list(self.db.query(sql, list(params)))
        except sqlite3.Error as exc:
            raise StorageError(f"Could not read {self.path}: {exc}.") from exc

    # -- sources -------------------------------------------------------------------

    def source_states(self) -> dict[str, SourceState]:
        out = {}
        for row in self._rows("SELECT * FROM sources"):
            out[row["name"]] = _source_state(row)
        return out

    def source_state(self, name: str) -> SourceState | None:
        rows = self._rows("SELECT * FROM sources WHERE name = ?", [name])
        return _source_state(rows[0]) if rows else None

    def ensure_sources(self, sources: Iterable[tuple[str, str]]) -> None:
        """Add a row for each (name, url) not yet known; a changed URL resets validators."""
        with self.transaction() as conn:
            for name, url in sources:
                row = conn.execute("SELECT url FROM sources WHERE name = ?", [name]).fetchone()
                if row is None:
                    conn.execute("INSERT INTO sources (name, url) VALUES (?, ?)", [name, url])
                elif row[0] != url:
                    conn.execute(
                        "UPDATE sources SET url = ?, permanent_url = NULL, etag = NULL,"
                        " last_modified = NULL WHERE name = ?",
                        [url, name],
                    )

    def set_next_due(self, name: str, when: datetime | None) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE sources SET next_due = ? WHERE name = ?", [iso(when), name])

    def source_report(self) -> list[dict[str, Any]]:
        """Every source's row with its pending and failed alert counts, for ``status``."""
        return self._rows(
            "SELECT s.*,"
            " (SELECT COUNT(*) FROM alerts a JOIN hits h ON a.hit_id = h.id"
            "   WHERE h.source = s.name AND a.status IN ('pending', 'held')) AS alerts_pending,"
            " (SELECT COUNT(*) FROM alerts a JOIN hits h ON a.hit_id = h.id"
            "   WHERE h.source = s.name AND a.status = 'failed') AS alerts_failed"
            " FROM sources s ORDER BY s.name"
        )

    def hits_since(self, since: datetime) -> int:
        row = self.conn.execute(
            "SELECT COUNT(*) FROM hits WHERE created >= ? AND duplicate_of IS NULL", [iso(since)]
        ).fetchone()
        return int(row[0])

    # -- items and hits ------------------------------------------------------------

    def known_item_ids(self, source: str, ids: list[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT item_id FROM items WHERE source = ? AND item_id IN ({marks})",
                [source, *chunk],
            ).fetchall()
            known.update(r[0] for r in rows)
        return known

    def hit_with_link(self, rule: str, link: str) -> int | None:
        """The original hit of ``rule`` with this canonical link, at any age."""
        if not link:
            return None
        row = self.conn.execute(
            "SELECT COALESCE(duplicate_of, id) FROM hits WHERE rule = ? AND link = ?"
            " ORDER BY id LIMIT 1",
            [rule, link],
        ).fetchone()
        return int(row[0]) if row else None

    # -- stories (weightwatch.matching.story) -------------------------------------------------

    @staticmethod
    def _index_story(conn: sqlite3.Connection, hit: NewHit, hit_id: int, now: datetime) -> None:
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

    def story_candidates(
        self,
        rule: str,
        words: Iterable[tuple[str, float]],
        since: datetime,
        *,
        per_word: int,
        limit: int,
    ) -> list[tuple[int, int, str]]:
        """Earlier hits of ``rule`` created at or after ``since`` that share a word with a new
        hit: ``(hit id, its story's first hit id, features JSON)``, best first.

        ``words`` are (word, weight). Each word brings its ``per_word`` newest hits; the
        ``limit`` hits sharing the most weight are returned (ties: newest first). Cost is
        bounded by ``len(words) * per_word`` index entries whatever the history size.
        """
        words = tuple(words)
        lookup = StoryLookup(words=((rule, words),), since=since, per_word=per_word, limit=limit)
        context = self.story_context(lookup)
        return [
            (h, context.hits[h].first_id, context.hits[h].features)
            for h in context.candidates(rule, words, limit)
            if h in context.hits
        ]

    def story_context(self, lookup: StoryLookup) -> StoryContext:
        """What a batch of new hits needs to know about stored stories, in one read: the
        story of each (rule, link), each (rule, word)'s newest hits in the window, the
        features of every hit that is some new hit's candidate, and each named story's
        sources (see ``StoryContext``)."""
        linked: dict[tuple[str, str], int] = {}
        by_rule: dict[str, list[str]] = {}
        for rule, link in sorted(lookup.links):
            if link:
                by_rule.setdefault(rule, []).append(link)
        for rule, links in by_rule.items():
            for chunk in _chunks(links):
                marks = ",".join("?" * len(chunk))
                rows = self.conn.execute(
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
                    rows = self.conn.execute(
                        "SELECT hit_id FROM story_words WHERE rule = ? AND word = ?"
                        " AND created >= ? ORDER BY created DESC LIMIT ?",
                        [rule, word, after, lookup.per_word],
                    ).fetchall()
                    recent[(rule, word)] = tuple(int(r[0]) for r in rows)
        partial = StoryContext(linked=linked, recent=recent)
        wanted = sorted(
            {
                h
                for rule, words in lookup.words
                for h in partial.candidates(rule, words, lookup.limit)
            }
        )
        hits: dict[int, StoredHit] = {}
        for ids in _chunks(wanted):
            marks = ",".join("?" * len(ids))
            rows = self.conn.execute(
                "SELECT h.id, COALESCE(h.duplicate_of, h.id), f.features FROM hits h"
                f" JOIN story_features f ON f.hit_id = h.id WHERE h.id IN ({marks})",
                ids,
            ).fetchall()
            hits.update((int(a), StoredHit(int(b), str(c))) for a, b, c in rows)
        firsts = sorted(set(linked.values()) | {h.first_id for h in hits.values()})
        sources: dict[int, set[str]] = {f: set() for f in firsts}
        for ids in _chunks(firsts):
            marks = ",".join("?" * len(ids))
            rows = self.conn.execute(
                "SELECT id, duplicate_of, source FROM hits"
                f" WHERE id IN ({marks}) OR duplicate_of IN ({marks})",
                [*ids, *ids],
            ).fetchall()
            for hit_id, duplicate_of, source in rows:
                if hit_id in sources:
                    sources[hit_id].add(str(source))
                if duplicate_of in sources:
                    sources[duplicate_of].add(str(source))
        return StoryContext(
            linked=linked,
            recent=recent,
            hits=hits,
            sources={f: frozenset(s) for f, s in sources.items()},
        )

    def story_sources(self, first_hit: int) -> set[str]:
        """The sources of a story's hits (its first hit and every member)."""
        rows = self.conn.execute(
            "SELECT DISTINCT source FROM hits WHERE id = ? OR duplicate_of = ?",
            [first_hit, first_hit],
        ).fetchall()
        return {str(r[0]) for r in rows}

    def stories(self, rule: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The newest stories (first hits), each with ``members``: the later hits attached to
        it, oldest first, for ``weightwatch hits``."""
        where = "WHERE duplicate_of IS NULL" + (" AND rule = ?" if rule else "")
        params: list[Any] = [rule] if rule else []
        firsts = self._rows(
            f"SELECT * FROM hits {where} ORDER BY id DESC LIMIT ?", [*params, limit]
        )
        if not firsts:
            return []
        ids = [row["id"] for row in firsts]
        marks = ",".join("?" * len(ids))
        members = self._rows(f"SELECT * FROM hits WHERE duplicate_of IN ({marks}) ORDER BY id", ids)
        by_first: dict[int, list[dict[str, Any]]] = {}
        for row in members:
            by_first.setdefault(row["duplicate_of"], []).append(row)
        for row in firsts:
            row["members"] = by_first.get(row["id"], [])
        return firsts

    def record_poll(
        self,
        source: str,
        *,
        now: datetime,
        items: list[tuple[str, str, str, str, datetime | None]],
        hits: list[NewHit],
        state: SourceUpdate,
        notices: Iterable[NewAlert] = (),
        page_blocks: PageBlocks | None = None,
    ) -> list[int]:
        """In one transaction: new items, hits with their pending alerts, the source's state.

        ``page_blocks`` (a watched page's poll) refreshes its text fingerprints in the same
        transaction.

        ``notices`` are messages that belong to no hit (a source's health changed).

        ``items`` are (item_id, link, title, text, published). Returns the new hits' ids.
        """
        stamp = iso(now)
        hit_ids: list[int] = []
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO items (source, item_id, link, title, text, published, first_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(source, i, link, t, x, iso(p), stamp) for i, link, t, x, p in items],
            )
            by_position: list[int | None] = []
            for hit in hits:
                duplicate_of = hit.duplicate_of
                if duplicate_of is None and hit.duplicate_of_batch is not None:
                    duplicate_of = by_position[hit.duplicate_of_batch]
                by_position.append(None)
                cur = conn.execute(
                    "INSERT INTO hits (rule, source, item_id, link, title, title_key, published,"
                    " created, terms, snippet, duplicate_of, duplicate_reason)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [
                        hit.rule,
                        hit.source,
                        hit.item_id,
                        hit.link,
                        hit.title,
                        hit.title_key,
                        iso(hit.published),
                        stamp,
                        json.dumps(list(hit.terms)),
                        hit.snippet,
                        duplicate_of,
                        hit.duplicate_reason,
                    ],
                )
                if cur.rowcount != 1:
                    continue
                hit_id = int(cur.lastrowid or 0)
                hit_ids.append(hit_id)
                by_position[-1] = duplicate_of if duplicate_of is not None else hit_id
                self._insert_alerts(conn, hit_id, hit.alerts, stamp)
                self._index_story(conn, hit, hit_id, now)
            self._update_source(conn, source, state, len(items))
            self._insert_alerts(conn, None, notices, stamp)
            if page_blocks is not None:
                self._record_page_blocks(conn, source, page_blocks, stamp)
        return hit_ids

    def record_failure(
        self,
        source: str,
        state: SourceUpdate,
        notices: Iterable[NewAlert] = (),
        *,
        now: datetime | None = None,
    ) -> None:
        with self.transaction() as conn:
            self._update_source(conn, source, state, 0)
            self._insert_alerts(conn, None, notices, iso(now or datetime.now(UTC)))

    @staticmethod
    def _update_source(
        conn: sqlite3.Connection, source: str, state: SourceUpdate, new_items: int
    ) -> None:
        """Write a poll's ``SourceUpdate``: its fields to their columns, by name."""
        values: dict[str, Any] = {
            "last_poll": iso(state.last_poll),
            "last_status": state.last_status,
            "last_http_status": state.last_http_status,
            "last_error": state.last_error,
            "consecutive_failures": state.consecutive_failures,
            "not_before": iso(state.not_before),
        }
        if state.health is not None:
            values["health"] = state.health
        if state.last_ok is not None:
            values["last_ok"] = iso(state.last_ok)
        if state.primed:
            values["primed"] = 1
        if state.validators is not None:
            values["etag"] = state.validators.etag
            values["last_modified"] = state.validators.last_modified
            values["kind"] = state.validators.kind
        if state.permanent_url is not None:
            values["permanent_url"] = state.permanent_url
        if state.last_new_item is not None:
            values["last_new_item"] = iso(state.last_new_item)
        sets = ", ".join(f"{column} = ?" for column in values)  # the literal names above
        conn.execute(
            f"UPDATE sources SET {sets}, items_total = items_total + ? WHERE name = ?",
            [*values.values(), new_items, source],
        )

    # -- watched pages (issue 6) ---------------------------------------------------

    def page_fingerprints(self, source: str, since: datetime) -> set[str]:
        """The block fingerprints seen on a watched page at or after ``since``."""
        rows = self.conn.execute(
            "SELECT fingerprint FROM page_blocks WHERE source = ? AND last_seen >= ?",
            [source, iso(since)],
        ).fetchall()
        return {r[0] for r in rows}

    @staticmethod
    def _record_page_blocks(
        conn: sqlite3.Connection, source: str, blocks: PageBlocks, stamp: str | None
    ) -> None:
        if blocks.fingerprints is None:
            conn.execute(
                "UPDATE page_blocks SET last_seen = ? WHERE source = ? AND last_seen ="
                " (SELECT MAX(last_seen) FROM page_blocks WHERE source = ?)",
                [stamp, source, source],
            )
        else:
            conn.executemany(
                "INSERT INTO page_blocks (source, fingerprint, first_seen, last_seen)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (source, fingerprint)"
                " DO UPDATE SET last_seen = excluded.last_seen",
                [(source, fp, stamp, stamp) for fp in blocks.fingerprints],
            )
        # Forget what left any page longer ago than the window (also of removed sources).
        conn.execute("DELETE FROM page_blocks WHERE last_seen < ?", [iso(blocks.forget_before)])

    @staticmethod
    def detected_kinds(path: Path | str) -> dict[str, str]:
        """What each source was detected as at its last poll ("atom", "page", ...), read
        without creating or migrating the database; empty when there is none yet."""
        if str(path) == ":memory:" or not Path(path).is_file():
            return {}
        try:
            conn = sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=ro", uri=True)
            try:
                rows = conn.execute("SELECT name, kind FROM sources WHERE kind IS NOT NULL")
                return {str(name): str(kind) for name, kind in rows}
            finally:
                conn.close()
        except sqlite3.Error:
            return {}

    def items_since(self, since: datetime) -> list[tuple[Item, datetime]]:
        """Stored items first seen at or after ``since`` (with their text), oldest first."""
        rows = self.conn.execute(
            "SELECT source, item_id, link, title, text, published, first_seen FROM items"
            " WHERE first_seen >= ? ORDER BY first_seen, rowid",
            [iso(since)],
        ).fetchall()
        return [
            (Item(r[0], r[1], r[2], r[3], r[4], from_iso(r[5])), datetime.fromisoformat(r[6]))
            for r in rows
        ]

    def find_items(self, id_or_url: str) -> list[tuple[Item, datetime]]:
        """Items whose id or canonical link is ``id_or_url``."""
        rows = self.conn.execute(
            "SELECT source, item_id, link, title, text, published, first_seen FROM items"
            " WHERE item_id = ? OR link = ? ORDER BY first_seen LIMIT 20",
            [id_or_url, id_or_url],
        ).fetchall()
        return [
            (Item(r[0], r[1], r[2], r[3], r[4], from_iso(r[5])), datetime.fromisoformat(r[6]))
            for r in rows
        ]

    def hit_of(self, rule: str, source: str, item_id: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT h.*, f.source AS first_source, f.title AS first_title FROM hits h"
            " LEFT JOIN hits f ON f.id = h.duplicate_of"
            " WHERE h.rule = ? AND h.source = ? AND h.item_id = ?",
            [rule, source, item_id],
        )
        return rows[0] if rows else None

    def prune_text(self, before: datetime) -> int:
        """Forget the text of items first seen before ``before``; keep their ids and titles.

        The ids stay forever: an old item that reappears in its feed is still not new.
        """
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE items SET text = '' WHERE first_seen < ? AND text != ''", [iso(before)]
            )
            return int(cur.rowcount)

    # -- alerts --------------------------------------------------------------------

    @staticmethod
    def _insert_alerts(
        conn: sqlite3.Connection, hit_id: int | None, alerts: Iterable[NewAlert], stamp: str | None
    ) -> int:
        cur = conn.executemany(
            "INSERT INTO alerts (hit_id, kind, channel, url_key, masked_url, title, body, format,"
            " data, rule_digest, event_key, created, updated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                (
                    hit_id,
                    a.kind,
                    a.channel,
                    a.url_key,
                    a.masked_url,
                    a.title,
                    a.body,
                    a.format,
                    a.data,
                    a.rule_digest,
                    a.event_key,
                    stamp,
                    stamp,
                )
                for a in alerts
            ],
        )
        return int(cur.rowcount)

    def queue_alerts(self, alerts: Iterable[NewAlert], *, now: datetime) -> int:
        """Queue messages that belong to no hit (health, test); returns how many were new."""
        with self.transaction() as conn:
            return self._insert_alerts(conn, None, alerts, iso(now))

    def open_alerts(self) -> list[AlertRow]:
        """Alerts still to deliver (pending or held), oldest first."""
        rows = self._rows("SELECT * FROM alerts WHERE status IN ('pending', 'held') ORDER BY id")
        return [_alert_row(r) for r in rows]

    def pending_alerts(self) -> list[AlertRow]:
        rows = self._rows("SELECT * FROM alerts WHERE status = 'pending' ORDER BY id")
        return [_alert_row(r) for r in rows]

    def alerts(self, status: str | None = None, limit: int = 1000) -> list[AlertRow]:
        if status:
            rows = self._rows(
                "SELECT * FROM alerts WHERE status = ? ORDER BY id DESC LIMIT ?", [status, limit]
            )
        else:
            rows = self._rows("SELECT * FROM alerts ORDER BY id DESC LIMIT ?", [limit])
        return [_alert_row(r) for r in rows]

    def alert(self, alert_id: int) -> AlertRow | None:
        rows = self._rows("SELECT * FROM alerts WHERE id = ?", [alert_id])
        return _alert_row(rows[0]) if rows else None

    def url_history(self, url_key: str, now: datetime) -> tuple[int, datetime | None]:
        """Messages sent to a URL in the last hour, and when its last digest went out."""
        row = self.conn.execute(
            "SELECT (SELECT COUNT(*) FROM alerts WHERE url_key = ? AND sent >= ?"
            "         AND kind IN ('hit', 'digest')),"
            " (SELECT MAX(sent) FROM alerts WHERE url_key = ? AND kind = 'digest')",
            [url_key, iso(now - timedelta(hours=1)), url_key],
        ).fetchone()
        return int(row[0]), from_iso(row[1])

    def mark_sent(self, alert_id: int, *, now: datetime, url_key: str | None = None) -> None:
        """Record a delivered alert (and, with ``url_key``, that its URL works) in one go."""
        with self.transaction() as conn:
            if url_key is not None:
                conn.execute(
                    "UPDATE url_health SET consecutive_failures = 0, reported = 0"
                    " WHERE url_key = ?",
                    [url_key],
                )
            conn.execute(
                "UPDATE alerts SET status = 'sent', attempts = attempts + 1, sent = ?,"
                " updated = ?, next_attempt = NULL, hold = NULL WHERE id = ?",
                [iso(now), iso(now), alert_id],
            )
            conn.execute(
                "UPDATE alerts SET sent = ?, updated = ? WHERE digest_id = ? AND status = 'folded'",
                [iso(now), iso(now), alert_id],
            )

    def mark_retry(
        self, alert_id: int, *, error: str, next_attempt: datetime, now: datetime
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE alerts SET status = 'pending', attempts = attempts + 1, last_error = ?,"
                " next_attempt = ?, updated = ? WHERE id = ?",
                [error, iso(next_attempt), iso(now), alert_id],
            )

    def mark_failed(self, alert_id: int, *, error: str, now: datetime, attempted: bool) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE alerts SET status = 'failed', attempts = attempts + ?, last_error = ?,"
                " next_attempt = NULL, updated = ? WHERE id = ?",
                [1 if attempted else 0, error, iso(now), alert_id],
            )

    def mark_alert(self, alert_id: int, *, status: str, error: str | None, now: datetime) -> None:
        """Record one attempt's result (kept for callers that need no retry time)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE alerts SET status = ?, attempts = attempts + 1, last_error = ?,"
                " updated = ?, sent = CASE WHEN ? = 'sent' THEN ? ELSE sent END WHERE id = ?",
                [status, error, iso(now), status, iso(now), alert_id],
            )

    def hold_alerts(self, holds: Iterable[tuple[int, str]], *, now: datetime) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE alerts SET status = 'held', hold = ?, updated = ? WHERE id = ?",
                [(reason, iso(now), alert_id) for alert_id, reason in holds],
            )

    def fold_into_digest(self, ids: list[int], digest: NewAlert, *, now: datetime) -> int:
        """One transaction: queue the digest message and mark its alerts folded into it."""
        with self.transaction() as conn:
            self._insert_alerts(conn, None, [digest], iso(now))
            row = conn.execute("SELECT last_insert_rowid()").fetchone()
            digest_id = int(row[0])
            conn.executemany(
                "UPDATE alerts SET status = 'folded', digest_id = ?, updated = ? WHERE id = ?",
                [(digest_id, iso(now), alert_id) for alert_id in ids],
            )
            return digest_id

    def requeue(self, ids: Iterable[int] | None, *, now: datetime) -> int:
        """Put failed alerts back in the queue (``None``: every failed alert)."""
        with self.transaction() as conn:
            if ids is None:
                cur = conn.execute(
                    "UPDATE alerts SET status = 'pending', next_attempt = NULL, created = ?,"
                    " updated = ? WHERE status = 'failed'",
                    [iso(now), iso(now)],
                )
                return int(cur.rowcount)
            total = 0
            for alert_id in ids:
                cur = conn.execute(
                    "UPDATE alerts SET status = 'pending', next_attempt = NULL, created = ?,"
                    " updated = ? WHERE id = ? AND status = 'failed'",
                    [iso(now), iso(now), alert_id],
                )
                total += int(cur.rowcount)
            return total

    def url_failure(self, url_key: str, masked_url: str, error: str | None) -> int:
        """Count one more failed attempt for a URL (None: a success resets it); returns count."""
        with self.transaction() as conn:
            if error is None:
                conn.execute(
                    "UPDATE url_health SET consecutive_failures = 0, reported = 0"
                    " WHERE url_key = ?",
                    [url_key],
                )
                return 0
            conn.execute(
                "INSERT INTO url_health (url_key, masked_url, consecutive_failures, last_error)"
                " VALUES (?, ?, 1, ?) ON CONFLICT (url_key) DO UPDATE SET"
                " consecutive_failures = consecutive_failures + 1,"
                " last_error = excluded.last_error",
                [url_key, masked_url, error],
            )
            row = conn.execute(
                "SELECT consecutive_failures FROM url_health WHERE url_key = ?", [url_key]
            ).fetchone()
            return int(row[0])

    def url_health(self, url_key: str) -> tuple[int, bool]:
        row = self.conn.execute(
            "SELECT consecutive_failures, reported FROM url_health WHERE url_key = ?", [url_key]
        ).fetchone()
        return (int(row[0]), bool(row[1])) if row else (0, False)

    def set_url_reported(self, url_key: str, reported: bool) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE url_health SET reported = ? WHERE url_key = ?", [int(reported), url_key]
            )

    def counts(self) -> dict[str, int]:
        row = self.conn.execute(
            "SELECT (SELECT COUNT(*) FROM items),"
            " (SELECT COUNT(*) FROM hits),"
            " (SELECT COUNT(*) FROM alerts WHERE status IN ('pending', 'held')),"
            " (SELECT COUNT(*) FROM alerts WHERE status = 'sent'),"
            " (SELECT COUNT(*) FROM alerts WHERE status = 'failed')"
        ).fetchone()
        keys = ("items", "hits", "pending", "sent", "failed")
        return dict(zip(keys, (int(v) for v in row), strict=True))

    def hits(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM hits ORDER BY id DESC LIMIT ?", [limit])


def _chunks(values: list[T]) -> Iterator[list[T]]:
    """At most 500 at a time: SQLite's limit on ``?`` parameters is 999 on old builds."""
    for start in range(0, len(values), 500):
        yield values[start : start + 500]


def _source_state(row: dict[str, Any]) -> SourceState:
    return SourceState(
        name=row["name"],
        url=row["url"],
        permanent_url=row["permanent_url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        primed=bool(row["primed"]),
        last_poll=from_iso(row["last_poll"]),
        last_ok=from_iso(row["last_ok"]),
        last_status=row["last_status"],
        last_http_status=row["last_http_status"],
        last_error=row["last_error"],
        consecutive_failures=int(row["consecutive_failures"]),
        not_before=from_iso(row["not_before"]),
        kind=row["kind"],
        items_total=int(row["items_total"]),
        next_due=from_iso(row.get("next_due")),
        health=row.get("health") or "ok",
        last_new_item=from_iso(row.get("last_new_item")),
    )


def _alert_row(row: dict[str, Any]) -> AlertRow:
    return AlertRow(
        id=row["id"],
        hit_id=row["hit_id"],
        channel=row["channel"],
        url_key=row["url_key"],
        masked_url=row["masked_url"],
        title=row["title"],
        body=row["body"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        created=from_iso(row["created"]),
        updated=from_iso(row["updated"]),
        kind=row["kind"],
        format=row["format"],
        data=row["data"],
        rule_digest=row["rule_digest"],
        hold=row["hold"],
        next_attempt=from_iso(row["next_attempt"]),
        sent=from_iso(row["sent"]),
        digest_id=row["digest_id"],
    )
