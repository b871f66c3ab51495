"""Opening the database file: for writing (created and migrated) or read-only (neither)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from weightwatch.errors import StorageError
from weightwatch.storage.guard import converted
from weightwatch.storage.migrations import migrations


def writable(path: Path | str) -> sqlite3.Connection:
    """The connection of the one writer: creates the file and applies pending migrations."""
    with converted(path, "open"):
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrations.apply(sqlite_utils.Database(conn))
        except BaseException:
            conn.close()
            raise
    return conn


def read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection (``mode=ro``) to an existing database of this code's schema."""
    if str(path) == ":memory:" or not path.is_file():
        raise StorageError(
            f"There is no database at {path} yet: has weightwatch polled? Run"
            " `weightwatch once` or start the daemon (`weightwatch run`) to create it,"
            " or check settings.database in the config."
        )
    with converted(path, "open"):
        uri = f"{path.absolute().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=10.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            check_schema(sqlite_utils.Database(conn), path)
        except BaseException:
            conn.close()
            raise
    return conn


def check_schema(db: sqlite_utils.Database, path: Path) -> None:
    """A database opened read-only must have exactly this code's migrations applied."""
    known = [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]
    applied = [m.name for m in migrations.applied(db)]
    newer = [name for name in applied if name not in known]
    if newer:
        raise StorageError(
            f"The database {path} was written by a newer weightwatch (it has migration"
            f" {newer[-1]}, unknown to this version): upgrade weightwatch."
        )
    pending = [name for name in known if name not in applied]
    if pending:
        raise StorageError(
            f"The database {path} has an older schema ({len(pending)} migration(s) pending,"
            f" from {pending[0]}): run `weightwatch once` or start the daemon"
            " (`weightwatch run`) to migrate it, then try again."
        )


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
