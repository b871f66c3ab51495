"""The one place where ``sqlite3`` errors become ``StorageError``: whole sentences that
name the database file and say what to do."""

from __future__ import annotations

import errno
import functools
import inspect
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from weightwatch.errors import StorageError

C = TypeVar("C", bound=type)

# SQLite's primary result codes (the low byte of ``sqlite_errorcode``).
_READONLY, _BUSY, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 8, 5, 11, 13, 14, 26
_LOCKED = 6

_WRITE_ACCESS = " weightwatch needs write access to the file and to its directory."


def access_problem(path: Path | str) -> str | None:
    """Why this process cannot write the database file ``path`` or its directory, or None."""
    if str(path) == ":memory:":
        return None
    file = Path(path).absolute()
    folder = file.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"the filesystem holding {folder} is mounted read-only"
    except OSError:
        pass
    if folder != file.parent:
        if not folder.is_dir():
            return f"{folder} is not a directory, so {file.parent} cannot be created"
        if not os.access(folder, os.W_OK | os.X_OK):
            return (
                f"its directory {file.parent} does not exist and {folder} is read-only"
                " for this user"
            )
        return None
    if not folder.is_dir():
        return f"{folder} is not a directory"
    if file.exists() and not os.access(file, os.R_OK | os.W_OK):
        return "the file is read-only for this user"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"its directory {folder} is read-only for this user"
    return None


def storage_error(path: Path | str, doing: str, exc: BaseException) -> StorageError:
    """The StorageError for ``exc``, raised while trying to ``doing`` the database ``path``
    ("open", "read", "write to"), with its ``kind``."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if isinstance(exc, OSError) and primary is None:
        primary = {
            errno.ENOSPC: _FULL,
            errno.EDQUOT: _FULL,
            errno.EROFS: _READONLY,
            errno.EACCES: _READONLY,
            errno.EPERM: _READONLY,
        }.get(exc.errno or 0, _CANTOPEN)
    detail = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)).rstrip(".")
    detail = detail or type(exc).__name__
    where = f"Could not {doing} the database {path}"
    if primary == _FULL:
        return StorageError(
            f"{where}: the disk is full ({detail}). Free some space; the change that failed"
            " was not saved.",
            kind="full",
        )
    if primary in (_READONLY, _CANTOPEN):
        problem = access_problem(path)
        if primary == _READONLY or problem:
            return StorageError(
                f"{where}: {problem or 'it is read-only'} ({detail})." + _WRITE_ACCESS,
                kind="no-access",
            )
        return StorageError(
            f"{where}: SQLite cannot open the file ({detail})."
            " Check that its directory exists and is writable.",
            kind="no-access",
        )
    if primary in (_CORRUPT, _NOTADB):
        return StorageError(
            f"{where}: it is damaged or is not a weightwatch database ({detail})."
            " Move it aside (weightwatch then starts a new one) or restore it from a backup.",
            kind="damaged",
        )
    if primary in (_BUSY, _LOCKED):
        return StorageError(
            f"{where}: another process kept it locked ({detail}). Try again.", kind="busy"
        )
    return StorageError(f"{where}: {detail}.")


@contextmanager
def converted(path: Path | str, doing: str) -> Iterator[None]:
    """Raise ``storage_error`` instead of any ``sqlite3.Error`` (or ``OSError``)."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise storage_error(path, doing, exc) from exc


def convert_errors(*, doing: str, skip: tuple[str, ...] = ()) -> Callable[[C], C]:
    """Class decorator: every public method (``self.path`` names the file) raises
    ``StorageError`` instead of ``sqlite3.Error``. Writes already convert in
    ``transaction()``; what is left to convert here are reads."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise storage_error(self.path, doing, exc) from exc

        return method

    def decorate(cls: C) -> C:
        for name, value in list(vars(cls).items()):
            if not name.startswith("_") and name not in skip and inspect.isfunction(value):
                setattr(cls, name, wrap(value))
        return cls

    return decorate
