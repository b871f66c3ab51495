"""weightwatch's schema: named migrations, applied in order by ``sqlite_utils``.

Frozen: a migration never changes once released (add a new one), and nothing here imports
application code, so what an old database migrates to never depends on today's code.
Migration 0005 backfills story features with its own frozen copy (``story_0005``).

Tables: ``sources`` (0001; ``next_due`` 0002; ``health``, ``last_new_item`` 0004;
``body_hash``, ``unchanged_polls``, ``last_unchanged`` 0009; ``last_document`` 0010;
``item_times``, ``interval``, ``interval_reason`` 0011), ``items`` (0001; ``last_seen``
0010), ``hits`` (0001; ``related_*`` 0008), ``alerts`` (0001, rebuilt by 0004),
``page_blocks`` (0003), ``url_health`` (0004; ``failing_since`` 0012), ``story_features``
and ``story_words`` (0005), ``meta`` (0007).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["migrations"]

_Step = Callable[["sqlite_utils.Database"], None]


class _Migrations:
    """The named migrations in order, recorded as ``sqlite_utils.Migrations`` would record
    them (same decorator); the ``sqlite_utils.Migrations`` itself is built on first use.

    So a database that is up to date opens without importing sqlite_utils (and click, which
    it imports): ``storage.connect`` compares ``names`` with the names recorded in the
    database's ``_sqlite_migrations`` table and applies nothing when none is pending.
    """

    table = "_sqlite_migrations"  # sqlite_utils.Migrations.migrations_table

    def __init__(self, name: str) -> None:
        self.name = name
        self._steps: list[tuple[str, _Step, bool]] = []
        self._built: sqlite_utils.Migrations | None = None

    def __call__(self, *, name: str, transactional: bool = True) -> Callable[[_Step], _Step]:
        def record(fn: _Step) -> _Step:
            if any(step[0] == name for step in self._steps) or self._built is not None:
                raise ValueError(f"migration {name!r} registered twice or too late")
            self._steps.append((name, fn, transactional))
            return fn

        return record

    @property
    def names(self) -> list[str]:
        """Every migration's name, in the order they apply."""
        return [step[0] for step in self._steps]

    def built(self) -> sqlite_utils.Migrations:
        """The ``sqlite_utils.Migrations`` of these steps (imports sqlite_utils)."""
        if self._built is None:
            import sqlite_utils

            built = sqlite_utils.Migrations(self.name)
            for name, fn, transactional in self._steps:
                built(name=name, transactional=transactional)(fn)
            self._built = built
        return self._built

    def apply(self, db: sqlite_utils.Database, *, stop_before: str | None = None) -> None:
        """Apply every pending migration (up to ``stop_before``, for tests of old data)."""
        self.built().apply(db, stop_before=stop_before)

    def applied(self, db: sqlite_utils.Database) -> list[str]:
        """The names of the migrations recorded in ``db``, in the order they applied."""
        return [m.name for m in self.built().applied(db)]


migrations = _Migrations("weightwatch")


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
    it). Existing hits are backfilled from their title and their item's text, with the
    frozen copy of ``story.features`` in ``story_0005`` (imported here: its word tables
    cost every start-up otherwise, and an up-to-date database never runs this).
    """
    from . import story_0005

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
        feats = story_0005.features(title, text, exclude)
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
    return int(datetime.fromisoformat(text).timestamp()) if text else 0


@migrations(name="0006_items_retention")
def _m0006_items_retention(db: sqlite_utils.Database) -> None:
    """Item text is kept for a retention period (explain, backtest); ids are kept forever."""
    db.execute("CREATE INDEX items_first_seen ON items (first_seen)")


@migrations(name="0007_url_salt")
def _m0007_url_salt(db: sqlite_utils.Database) -> None:
    """A random salt per database for the keys of channel URLs (HMAC-SHA256, not a bare
    SHA-256 anyone reading the file could check guessed URLs against).

    ``meta`` has exactly one row. Rows queued before this keep their SHA-256 keys until
    the application re-keys them (it knows the configured URLs; this migration does not).
    """
    db.execute(
        """
        CREATE TABLE meta (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            url_salt BLOB NOT NULL CHECK (length(url_salt) >= 16)
        )
        """
    )
    db.execute("INSERT INTO meta (id, url_salt) VALUES (1, ?)", [secrets.token_bytes(32)])


@migrations(name="0008_related_hint")
def _m0008_related_hint(db: sqlite_utils.Database) -> None:
    """The related-story hint: a hit that started a story close to an earlier one keeps
    that story's first hit (title, source, link, when it alerted) for ``weightwatch hits``;
    its alerts carry the hint in their body and data. NULL: no hint (and older hits)."""
    for column in ("related_title", "related_source", "related_link", "related_at"):
        db.execute(f"ALTER TABLE hits ADD COLUMN {column} TEXT")


@migrations(name="0009_unchanged_bodies")
def _m0009_unchanged_bodies(db: sqlite_utils.Database) -> None:
    """A 200 whose body is byte-identical to the last one is not parsed again: each source
    keeps the hash of its last body, how many polls found it unchanged, and when last."""
    db.execute("ALTER TABLE sources ADD COLUMN body_hash TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN unchanged_polls INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE sources ADD COLUMN last_unchanged TEXT")


@migrations(name="0010_items_last_seen")
def _m0010_items_last_seen(db: sqlite_utils.Database) -> None:
    """Item ids are forgotten once long gone from their feed (``storage.prune``).

    ``items.last_seen`` is when the item was last in a document its feed served (NULL for
    rows from before this migration: their ``first_seen`` stands in); ``sources.
    last_document`` is when the source's latest document (a 200) was read, so an item is in
    that document exactly when its ``last_seen`` equals it. NULL until the next 200: a
    source's items are not forgotten before it has one.
    """
    db.execute("ALTER TABLE items ADD COLUMN last_seen TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN last_document TEXT")


@migrations(name="0011_sources_item_times")
def _m0011_sources_item_times(db: sqlite_utils.Database) -> None:
    """Adaptive polling survives restarts: each source's recent item publish times (a JSON
    array of unix seconds, bounded by ``sources.schedule.HISTORY``) and the interval the
    scheduler chose last with its reason (for ``status``)."""
    db.execute("ALTER TABLE sources ADD COLUMN item_times TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN interval REAL")
    db.execute("ALTER TABLE sources ADD COLUMN interval_reason TEXT")


@migrations(name="0012_url_failing_since")
def _m0012_url_failing_since(db: sqlite_utils.Database) -> None:
    """When a channel URL's current run of failed sends began, for the ops channel's
    "keeps failing" after ``settings.ops_failing_for`` (NULL: no run of failures)."""
    db.execute("ALTER TABLE url_health ADD COLUMN failing_since TEXT")
