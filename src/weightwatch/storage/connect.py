"""Opening the database file: for writing (created and migrated) or read-only (neither).

The applied migrations are read with plain SQL; sqlite_utils is imported only to apply
pending ones, so opening an up-to-date database costs no import of it (or of click).
"""

from __future__ import annotations

import errno
import glob
import os
import secrets
import sqlite3
from pathlib import Path

from weightwatch.errors import StorageError
from weightwatch.storage.guard import converted
from weightwatch.storage.migrations import migrations


def writable(path: Path | str) -> sqlite3.Connection:
    """The connection of the one writer: creates the file and applies pending migrations.

    A new database is made complete under a temporary name and then linked into place
    (``_create``), so weightwatch never leaves an empty file at ``path``, even when it is
    killed while creating it. An existing 0-byte file is therefore never its own and is
    refused (``refuse_empty``), as is a database of a newer schema: neither is migrated.
    """
    if str(path) != ":memory:":
        file = Path(path)
        with converted(path, "open"):
            file.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_creations(file)
            if not file.exists():
                _create(file)
        refuse_empty(file)
    with converted(path, "open"):
        conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            applied = refuse_newer(conn, path)
            if set(migrations.names) - set(applied):
                _apply(conn)
        except BaseException:
            conn.close()
            raise
    return conn


_CREATING = ".creating"


def _create(file: Path) -> None:
    """Make a new, fully migrated database at ``file``: built as ``.NAME.PID-RANDOM.creating``
    beside it, then hard-linked to ``file`` (which fails instead of replacing a database
    that another process created meanwhile; that one is used then)."""
    tmp = file.with_name(f".{file.name}.{os.getpid()}-{secrets.token_hex(4)}{_CREATING}")
    # Readable by its owner only whatever the umask (history, the channel-key salt); SQLite
    # gives the -wal and -shm files the database's mode.
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an umask cannot widen it, but a default ACL might have
    finally:
        os.close(fd)
    try:
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            _apply(conn)  # rollback journal, synced commits
            conn.execute("PRAGMA journal_mode = WAL")  # recorded in the header, as a writer's
        finally:
            conn.close()
        for suffix in ("-wal", "-journal"):
            side = Path(f"{tmp}{suffix}")
            if side.exists() and side.stat().st_size > 0:
                raise OSError(f"the new database left {side.name} behind")
        try:
            os.link(tmp, file)
        except FileExistsError:
            pass  # created by another process meanwhile: use that one
        except OSError as exc:  # a filesystem without hard links
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            if not file.exists():
                os.rename(tmp, file)
        _sync_directory(file.parent)
    finally:
        for leftover in (tmp, *(Path(f"{tmp}{s}") for s in ("-wal", "-shm", "-journal"))):
            leftover.unlink(missing_ok=True)


def _remove_stale_creations(file: Path) -> None:
    """Remove what a process killed while creating ``file`` left (its pid is gone)."""
    for stale in file.parent.glob(f".{glob.escape(file.name)}.*-*{_CREATING}*"):
        pid = stale.name[len(file.name) + 2 :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sync_directory(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def refuse_empty(file: Path) -> None:
    """An existing 0-byte file is not a database weightwatch made (``_create``): refuse it
    rather than start over in it and silently lose the history it should hold."""
    try:
        empty = file.stat().st_size == 0
    except OSError:
        return  # opening it reports the problem
    if empty:
        raise StorageError(
            f"{file} is empty (0 bytes): it is not a weightwatch database. If you meant to"
            " start over, delete it; if it should hold your history, restore it from a"
            " backup.",
            kind="empty",
        )


def _apply(conn: sqlite3.Connection) -> None:
    """Apply the pending migrations (the only use of sqlite_utils here)."""
    import sqlite_utils

    migrations.apply(sqlite_utils.Database(conn))


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """The names of the migrations applied to the database, in the order they were applied
    (read as ``sqlite_utils.Migrations.applied`` reads them)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [migrations.table]
    ).fetchone()
    if exists is None:
        return []
    rows = conn.execute(
        f"SELECT name FROM [{migrations.table}] WHERE migration_set = ? ORDER BY rowid",
        [migrations.name],
    )
    return [str(name) for (name,) in rows]


def refuse_newer(conn: sqlite3.Connection, path: Path | str) -> list[str]:
    """A database a newer weightwatch migrated is never opened by this one; else the
    names of its applied migrations."""
    applied = applied_migrations(conn)
    known = set(migrations.names)
    newer = [name for name in applied if name not in known]
    if newer:
        raise StorageError(
            f"The database {path} was written by a newer weightwatch (it has migration"
            f" {newer[-1]}, unknown to this version): upgrade weightwatch, or restore a"
            " backup made before the upgrade.",
            kind="newer",
        )
    return applied


def read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection (``mode=ro``) to an existing database of this code's schema."""
    if str(path) == ":memory:" or not path.is_file():
        raise StorageError(
            f"There is no database at {path} yet: has weightwatch polled? Run"
            " `weightwatch once` or start the daemon (`weightwatch run`) to create it,"
            " or check settings.database in the config.",
            kind="missing",
        )
    refuse_empty(path)
    with converted(path, "open"):
        uri = f"{path.absolute().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=10.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            check_schema(conn, path)
        except BaseException:
            conn.close()
            raise
    return conn


def check_schema(conn: sqlite3.Connection, path: Path) -> None:
    """A database opened read-only must have exactly this code's migrations applied."""
    applied = set(refuse_newer(conn, path))
    pending = [name for name in migrations.names if name not in applied]
    if pending:
        raise StorageError(
            f"The database {path} has an older schema ({len(pending)} migration(s) pending,"
            f" from {pending[0]}): run `weightwatch once` or start the daemon"
            " (`weightwatch run`) to migrate it, then try again.",
            kind="older",
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
