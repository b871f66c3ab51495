"""The one place where ``sqlite3`` errors become ``StorageError``: whole sentences that
name the database file and say what to do."""

from __future__ import annotations

import functools
import inspect
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from weightwatch.errors import StorageError

C = TypeVar("C", bound=type)

# SQLite's primary result codes (the low byte of ``sqlite_errorcode``).
_READONLY, _BUSY, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 8, 5, 11, 13, 14, 26


def storage_error(path: Path | str, doing: str, exc: BaseException) -> StorageError:
    """The StorageError for ``exc``, raised while trying to ``doing`` the database ``path``
    ("open", "read", "write to")."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    detail = str(exc).rstrip(".") or type(exc).__name__
    if primary == _FULL:
        return StorageError(
            f"Could not {doing} the database {path}: the disk is full ({detail})."
            " Free some space; the change that failed was not saved."
        )
    if primary == _READONLY:
        return StorageError(
            f"Could not {doing} the database {path}: it is read-only ({detail})."
            " weightwatch needs write access to the file and to its directory."
        )
    if primary in (_CORRUPT, _NOTADB):
        return StorageError(
            f"Could not {doing} the database {path}: it is damaged or is not a weightwatch"
            f" database ({detail}). Move it aside (weightwatch then starts a new one) or"
            " restore it from a backup."
        )
    if primary == _CANTOPEN:
        return StorageError(
            f"Could not {doing} the database {path}: SQLite cannot open the file ({detail})."
            " Check that its directory exists and is writable."
        )
    if primary == _BUSY:
        return StorageError(
            f"Could not {doing} the database {path}: another process kept it locked"
            f" ({detail}). Try again."
        )
    return StorageError(f"Could not {doing} the database {path}: {detail}.")


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
