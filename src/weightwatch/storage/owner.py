"""One owner per database: the process that polls and delivers holds an exclusive lock.

``weightwatch run`` holds it for its lifetime and ``weightwatch once`` for its run, so
two processes never deliver from one database (which would send the same pending alerts
twice: docs/reliability.md). The lock is ``flock(2)`` on ``<database>.lock`` beside the
database: the kernel releases it when the process ends in any way (kill -9 included), so
a stale lock file is harmless and is reused. The file records who holds it ("PID
COMMAND") for the refusal message; read-only commands (``status``, ``alerts``, ``hits``)
never take it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from weightwatch.errors import StorageError

LOCK_SUFFIX = ".lock"


def lock_path(database: Path | str) -> Path:
    """Where the owner lock of ``database`` lives: ``<database>.lock`` beside it."""
    db = Path(database)
    return db.with_name(db.name + LOCK_SUFFIX)


def _holder(fd: int) -> tuple[int | None, str]:
    """(pid, command) recorded by the process holding the lock, (None, "") if unknown."""
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return None, ""
    pid_text, _, command = text.partition(" ")
    return (int(pid_text), command) if pid_text.isdigit() else (None, "")


@dataclass(frozen=True)
class Holder:
    """Who holds a database's owner lock now: ``pid`` and ``command`` as it recorded them."""

    pid: int | None
    command: str  # "run", "once", or "" when the record is unreadable


def holder(database: Path | str) -> Holder | None:
    """The process owning ``database`` now, or None when nobody does (no lock file, or the
    lock is free). ``OSError`` when the lock file cannot be opened (a folder this user cannot
    enter): then nobody can tell.

    The probe takes a shared lock for two system calls when the lock is free; a ``run`` or
    ``once`` starting in that instant is refused as if owned (exit 75; the units restart it).
    """
    if str(database) == ":memory:":
        return None
    try:
        fd = os.open(lock_path(database), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return Holder(*_holder(fd))
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class Owner:
    """The exclusive owner lock of one database, held by this process until ``release``.

    ``command`` ("run" or "once") is recorded for the message another process prints
    when it is refused. ``":memory:"`` databases have no file and need no lock.
    """

    def __init__(self, database: Path | str, command: str) -> None:
        self.database = str(database)
        self.command = command
        self.path = lock_path(database)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock now or raise ``StorageError`` (kind "owned") naming the owner."""
        if self.database == ":memory:" or self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StorageError(
                f"The lock file {self.path} of the database {self.database} cannot be"
                f" opened ({exc.strerror or exc}); weightwatch needs to write beside the"
                " database.",
                kind="no-access",
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid, command = _holder(fd)
            os.close(fd)
            raise StorageError(self._refusal(pid, command), kind="owned") from None
        with contextlib.suppress(OSError):  # the record is for messages only
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {self.command}\n".encode(), 0)
        self._fd = fd

    def _refusal(self, pid: int | None, command: str) -> str:
        who = f"weightwatch {command}" if command else "another weightwatch process"
        if pid is not None:
            who += f" (pid {pid})"
        if self.command == "run":
            what = (
                "A second daemon would deliver the same alerts again, so this one does not"
                " start. Stop the other one first, or give this one its own database"
                " (settings.database)."
            )
        else:
            what = (
                f"Running {self.command} next to it would deliver the same alerts again, so"
                " nothing was done. While it runs, weightwatch status, alerts and hits are"
                " safe to use."
            )
        return f"The database {self.database} is in use by {who}. {what}"

    def release(self) -> None:
        """Give the lock up (the file stays: it is reused, and harmless when stale)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> Owner:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
