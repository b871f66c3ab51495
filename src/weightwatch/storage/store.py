"""The storage facade: weightwatch's state in one SQLite file, behind ``Storage``.

The ``weightwatch.storage`` package is the only one that imports sqlite_utils / sqlite3:
``migrations`` (the frozen schema), ``connect`` (opening, schema checks), ``rows`` (row
mapping), ``stories`` (the story index), ``guard`` (every ``sqlite3.Error`` becomes a
``StorageError`` there) and this module.

Tables (created by the named migrations; never edit one once released, add a new one):

- ``sources``  one row per configured source: HTTP validators, last result, failure count,
  when it may be polled again (Retry-After) and is due next, whether its first poll has
  been recorded, its health and when it last had a new item; the hash of its last body
  and how often a 200 brought that body again (not parsed).
- ``items``    every item seen, per source: the "is this new?" memory (text kept for
  ``settings.retention``, ids while the feed serves them and ``storage.prune.MEMORY``
  after; ``last_seen``: when last in a document of the feed).
- ``hits``     an item that matched a rule; ``duplicate_of`` points at the first hit of its
  story (same canonical link, near-identical title or shared distinctive words);
  ``related_*`` (0008) name the story a first hit came close to without joining.
- ``alerts``   one row per message and channel URL (a hit's alert, a digest, a health
  notice): pending, held, folded into a digest, sent or failed, with attempts and the last
  error. The URL itself is not stored (it may hold secrets): ``url_key`` is its
  HMAC-SHA256 under the database's salt (``delivery.routing.url_key``; rows queued before
  migration 0007 held a bare SHA-256 until ``rekey_urls``) and ``masked_url`` is printable.
- ``url_health``  per channel URL: consecutive failed sends, since when, whether the ops
  channel was told it is failing (``UrlStreak``).
- ``page_blocks``  per watched page, the fingerprint of each block of text seen on it and
  when it was last seen (forgotten after ``pagediff.WINDOW``): the "is this text new?" memory.
- ``story_features``  per hit, its story features (``matching.story.Features`` as JSON).
- ``story_words``  the story index: (rule, word, created, hit) for candidate lookup.
- ``meta``  one row: ``url_salt``, 32 random bytes made when the database got migration
  0007, the key of the channel URL keys (``Storage.url_salt``).

One writer: the process that polls writes in one transaction per source (items, hits,
alerts and the source's state together), so a crash never loses an alert and never
records an item whose alerts were not queued. WAL lets ``status`` read meanwhile, through
``Storage.open_read_only``, which never creates or migrates a database.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weightwatch.storage import connect, prune, stories
from weightwatch.storage.guard import convert_errors, converted, storage_error
from weightwatch.storage.migrations import migrations
from weightwatch.storage.rows import alert_row as _alert_row
from weightwatch.storage.rows import from_iso, iso
from weightwatch.storage.rows import source_state as _source_state
from weightwatch.types import (
    AlertRow,
    Item,
    NewAlert,
    NewHit,
    PageBlocks,
    SourceState,
    SourceUpdate,
    StoryContext,
    StoryLookup,
    UrlStreak,
)

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["Storage", "from_iso", "iso", "migrations"]


@convert_errors(doing="read", skip=("transaction", "close"))
class Storage:
    """weightwatch's SQLite database; use from one thread (the writer).

    ``Storage(path)`` creates the file if needed and applies pending migrations;
    ``Storage.open_read_only(path)`` does neither. Every method raises ``StorageError``
    (never a raw ``sqlite3.Error``), with a message naming the file.

    ``url_salt`` is the database's salt for channel URL keys (``routing.url_key``), read
    once at open: whatever queues or delivers alerts keys URLs with it.
    """

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.conn = connect.read_only(self.path) if read_only else connect.writable(path)
        try:
            with converted(self.path, "read"):
                row = self.conn.execute("SELECT url_salt FROM meta WHERE id = 1").fetchone()
            if row is None or len(row[0]) < 16:
                raise storage_error(
                    self.path, "read", sqlite3.DatabaseError("its channel URL salt is missing")
                )
        except BaseException:
            self.conn.close()
            raise
        self.url_salt: bytes = bytes(row[0])
        self._remembered = stories.Remembered()

    @classmethod
    def open_read_only(cls, path: Path | str) -> Storage:
        """Open an existing database for reading: never creates, migrates or writes it.

        Raises ``StorageError`` when there is no database at ``path`` yet, when it is not
        a weightwatch database, or when its schema is older (migrations pending) or newer
        than this code's.
        """
        return cls(path, read_only=True)

    def close(self) -> None:
        try:
            if not self.read_only:
                self.conn.execute("PRAGMA optimize")
            self.conn.close()
        except sqlite3.Error:
            pass

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any exception.

        A ``sqlite3.Error`` from the block or from COMMIT becomes a ``StorageError``. The
        rollback is guarded: after some errors (SQLITE_FULL, an I/O error) SQLite has
        already rolled back, and an unguarded ROLLBACK would raise "no transaction is
        active" in place of the real error.
        """
        with converted(self.path, "start a write to"):
            self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise storage_error(self.path, "write to", exc) from exc
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise storage_error(self.path, "write to", exc) from exc

    def _rollback(self) -> None:
        if not self.conn.in_transaction:
            return  # SQLite rolled back already
        with contextlib.suppress(sqlite3.Error):  # the error that made us roll back counts
            self.conn.execute("ROLLBACK")

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """The connection as a ``sqlite_utils.Database`` (imports sqlite_utils: tests, tools)."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, list(params))
        keys = [d[0] for d in cursor.description]
        return [dict(zip(keys, row, strict=True)) for row in cursor]

    # -- sources -------------------------------------------------------------------

    def source_states(self) -> dict[str, SourceState]:
        out = {}
        for row in self._rows("SELECT * FROM sources"):
            out[row["name"]] = _source_state(row)
        return out

    def source_state(self, name: str) -> SourceState | None:
        rows = self._rows("SELECT * FROM sources WHERE name = ?", [name])
        return _source_state(rows[0]) if rows else None

    def last_hit_id(self) -> int:
        """The id of the newest hit (0 when there is none)."""
        row = self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM hits").fetchone()
        return int(row[0])

    def ensure_sources(self, sources: Iterable[tuple[str, str]]) -> None:
        """Add a row for each (name, url) not yet known; a changed URL resets validators.

        The ``url`` column is for display only (fetches use the config's URL or
        ``permanent_url``): callers pass the URL with its credentials masked
        (``Config.masked_sources``), so no secret is written to the database.
        """
        with self.transaction() as conn:
            # One read of every known (name, url), then only the rows that change: a cycle
            # over N unchanged sources is one statement, not N.
            current: dict[str, str] = dict(conn.execute("SELECT name, url FROM sources"))
            added: dict[str, str] = {}
            moved: dict[str, str] = {}
            for name, url in sources:
                if name not in current:
                    added[name] = url
                elif current[name] != url:
                    moved[name] = url
                current[name] = url
            conn.executemany("INSERT INTO sources (name, url) VALUES (?, ?)", added.items())
            conn.executemany(
                "UPDATE sources SET url = ?, permanent_url = NULL, etag = NULL,"
                " last_modified = NULL, body_hash = NULL WHERE name = ?",
                [(url, name) for name, url in moved.items()],
            )

    def set_next_due(self, name: str, when: datetime | None) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE sources SET next_due = ? WHERE name = ?", [iso(when), name])

    def set_schedule(
        self,
        name: str,
        when: datetime,
        interval: float,
        reason: str,
        item_times: Sequence[float] | None = None,
    ) -> None:
        """The next due time with the interval chosen and why; ``item_times`` (the source's
        recent publish times, bounded by the caller) replaces the stored ones unless None."""
        sql = "UPDATE sources SET next_due = ?, interval = ?, interval_reason = ?"
        params: list[Any] = [iso(when), interval, reason]
        if item_times is not None:
            sql += ", item_times = ?"
            params.append(json.dumps([round(t) for t in item_times]))
        with self.transaction() as conn:
            conn.execute(sql + " WHERE name = ?", [*params, name])

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
        """What a batch of new hits needs to know about stored stories, in one read
        (``storage.stories.read_context``)."""
        return stories.read_context(self.conn, lookup, self._remembered)

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
        present: Sequence[str] | None = None,
    ) -> list[int]:
        """In one transaction: new items, hits with their pending alerts, the source's state.

        ``present`` (a 200 of a feed): the ids of every item in the document; they are
        marked seen now and the document becomes the source's latest (``storage.prune``
        never forgets an id in it).

        ``page_blocks`` (a watched page's poll) refreshes its text fingerprints in the same
        transaction.

        ``notices`` are messages that belong to no hit (a source's health changed).

        ``items`` are (item_id, link, title, text, published). Returns the new hits' ids.
        """
        stamp = iso(now)
        hit_ids: list[int] = []
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO items (source, item_id, link, title, text, published, first_seen,"
                " last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(source, i, link, t, x, iso(p), stamp, stamp) for i, link, t, x, p in items],
            )
            if present is not None:
                prune.mark_present(conn, source, present, stamp)
            by_position: list[int | None] = []
            for hit in hits:
                duplicate_of = hit.duplicate_of
                if duplicate_of is None and hit.duplicate_of_batch is not None:
                    duplicate_of = by_position[hit.duplicate_of_batch]
                by_position.append(None)
                cur = conn.execute(
                    "INSERT INTO hits (rule, source, item_id, link, title, title_key, published,"
                    " created, terms, snippet, duplicate_of, duplicate_reason, related_title,"
                    " related_source, related_link, related_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
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
                        *_related_columns(hit, stamp),
                    ],
                )
                if cur.rowcount != 1:
                    continue
                hit_id = int(cur.lastrowid or 0)
                hit_ids.append(hit_id)
                by_position[-1] = duplicate_of if duplicate_of is not None else hit_id
                self._insert_alerts(conn, hit_id, hit.alerts, stamp)
                stories.index_story(conn, hit, hit_id, now)
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

    def record_bookkeeping(self, polls: Sequence[tuple[str, SourceUpdate]]) -> None:
        """In one transaction: the state of each source whose poll stored nothing else (a
        304 or an unchanged body, with no notice and no page): ``record_poll`` with no
        items, hits or notices, for many sources at once.

        ``once`` writes a cycle's 304s together at its end (``service.poll.Bookkeeping``):
        one commit instead of one per source. Lost with the process, they cost only a
        repeated conditional GET; anything that alerts is written per poll.
        """
        if not polls:
            return
        with self.transaction() as conn:
            # Polls alike (the same columns set) share one statement: executemany.
            batches: dict[str, list[list[Any]]] = {}
            for source, state in polls:
                sql, params = self._source_update(source, state, 0)
                batches.setdefault(sql, []).append(params)
            for sql, rows in batches.items():
                conn.executemany(sql, rows)

    @classmethod
    def _update_source(
        cls, conn: sqlite3.Connection, source: str, state: SourceUpdate, new_items: int
    ) -> None:
        """Write a poll's ``SourceUpdate``: its fields to their columns, by name."""
        conn.execute(*cls._source_update(source, state, new_items))

    @staticmethod
    def _source_update(source: str, state: SourceUpdate, new_items: int) -> tuple[str, list[Any]]:
        """The ``UPDATE`` of a poll's ``SourceUpdate`` and its parameters."""
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
            values["body_hash"] = state.validators.body_hash
        if state.permanent_url is not None:
            values["permanent_url"] = state.permanent_url
        if state.last_new_item is not None:
            values["last_new_item"] = iso(state.last_new_item)
        if state.unchanged:
            values["last_unchanged"] = iso(state.last_poll)
        sets = ", ".join(f"{column} = ?" for column in values)  # the literal names above
        if state.unchanged:
            sets += ", unchanged_polls = unchanged_polls + 1"
        return (
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
        return connect.detected_kinds(path)

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

    def prune(
        self, now: datetime, *, retention: timedelta, dedup_window: timedelta
    ) -> prune.Pruned:
        """Forget what can no longer matter (``storage.prune``), in one transaction."""
        with self.transaction() as conn:
            return prune.prune(conn, now, retention=retention, dedup_window=dedup_window)

    def prune_text(self, before: datetime) -> int:
        """Forget the text of items first seen before ``before``; keep their ids and titles.

        The ids stay while their feed may serve them again (``prune``): an old item that
        reappears in its feed is still not new.
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

    def mark_sent(
        self,
        alert_id: int,
        *,
        now: datetime,
        url_key: str | None = None,
        notices: Iterable[NewAlert] = (),
    ) -> None:
        """Record a delivered alert (and, with ``url_key``, that its URL works: its run of
        failures ends) in one go, with the ops ``notices`` that decided ("working again")."""
        with self.transaction() as conn:
            if url_key is not None:
                conn.execute(
                    "UPDATE url_health SET consecutive_failures = 0, reported = 0,"
                    " failing_since = NULL WHERE url_key = ?",
                    [url_key],
                )
            self._insert_alerts(conn, None, notices, iso(now))
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

    def rekey_urls(self, pairs: Iterable[tuple[str, str]]) -> int:
        """Re-key the rows of each (old key, new key) in one transaction: alerts (and the
        url-trouble notices whose ``event_key`` names the old key) and ``url_health``.
        Returns how many rows changed; writes nothing when no row holds an old key.

        For databases from before the salt (migration 0007): their rows hold the bare
        SHA-256 of the URL (``routing.legacy_rekeys`` pairs it with today's key). Old
        contents are overwritten (``secure_delete``) and the WAL emptied, so the old key
        does not linger in the file. A row already under the new key wins a conflict.
        """
        pairs = [(old, new) for old, new in pairs if old != new]
        found = [
            (old, new)
            for old, new in pairs
            if self.conn.execute(
                "SELECT EXISTS (SELECT 1 FROM alerts WHERE url_key = ?)"
                " OR EXISTS (SELECT 1 FROM url_health WHERE url_key = ?)",
                [old, old],
            ).fetchone()[0]
        ]
        if not found:
            return 0
        changed = 0
        (secure,) = self.conn.execute("PRAGMA secure_delete").fetchone()
        self.conn.execute("PRAGMA secure_delete = ON")
        try:
            with self.transaction() as conn:
                for old, new in found:
                    changed += conn.execute(
                        "UPDATE OR IGNORE alerts SET url_key = ? WHERE url_key = ?", [new, old]
                    ).rowcount
                    conn.execute(  # keys are hex: no LIKE wildcards in them
                        "UPDATE OR IGNORE alerts SET event_key = ? || substr(event_key, ?)"
                        " WHERE event_key LIKE ?",
                        [f"url:{new}", len(f"url:{old}") + 1, f"url:{old}:%"],
                    )
                    changed += conn.execute(
                        "UPDATE OR IGNORE url_health SET url_key = ? WHERE url_key = ?",
                        [new, old],
                    ).rowcount
                    conn.execute("DELETE FROM url_health WHERE url_key = ?", [old])
            with converted(self.path, "write to"):
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute(f"PRAGMA secure_delete = {int(secure)}")
        return changed

    def url_streak(self, url_key: str) -> UrlStreak:
        """The URL's current run of failed sends (an empty one if it never failed)."""
        row = self.conn.execute(
            "SELECT consecutive_failures, failing_since, reported FROM url_health"
            " WHERE url_key = ?",
            [url_key],
        ).fetchone()
        if row is None:
            return UrlStreak()
        return UrlStreak(int(row[0]), from_iso(row[1]), bool(row[2]))

    def record_url_failure(
        self,
        url_key: str,
        masked_url: str,
        error: str,
        streak: UrlStreak,
        notices: Iterable[NewAlert] = (),
        *,
        now: datetime,
    ) -> None:
        """Store a URL's run of failures as ``streak`` (decided by
        ``delivery.policy.url_outcome``) with its ops ``notices``, in one transaction."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO url_health (url_key, masked_url, consecutive_failures, last_error,"
                " reported, failing_since) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (url_key) DO UPDATE SET masked_url = excluded.masked_url,"
                " consecutive_failures = excluded.consecutive_failures,"
                " last_error = excluded.last_error, reported = excluded.reported,"
                " failing_since = excluded.failing_since",
                [
                    url_key,
                    masked_url,
                    streak.failures,
                    error,
                    int(streak.reported),
                    iso(streak.since) if streak.since else None,
                ],
            )
            self._insert_alerts(conn, None, notices, iso(now))

    def expire_alerts(
        self, expired: Iterable[tuple[int, str]], notices: Iterable[NewAlert] = (), *, now: datetime
    ) -> None:
        """Mark (id, error) alerts failed (given up on) and queue the ops ``notices`` saying
        so, in one transaction."""
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE alerts SET status = 'failed', last_error = ?, next_attempt = NULL,"
                " updated = ? WHERE id = ?",
                [(error, iso(now), alert_id) for alert_id, error in expired],
            )
            self._insert_alerts(conn, None, notices, iso(now))

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

    def pending_alerts(self) -> int:
        """Alerts still to deliver: what the daemon's status line shows every few seconds
        (an index read; ``counts`` also counts every item, which takes 0.2 s at 1.6M)."""
        row = self.conn.execute(
            "SELECT COUNT(*) FROM alerts WHERE status IN ('pending', 'held')"
        ).fetchone()
        return int(row[0])

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


def _related_columns(hit: NewHit, stamp: str | None) -> tuple[str | None, ...]:
    """The ``related_*`` columns of a hit: its hint's story, alerted ``stamp`` (now) when
    that story started earlier in the same poll; all NULL without a hint."""
    related = hit.related
    if related is None:
        return (None, None, None, None)
    when = iso(related.alerted_at) if related.alerted_at else stamp
    return (related.title, related.source, related.link, when)
