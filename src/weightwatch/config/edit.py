"""Writing the config file for the user: ``add_sources`` appends ``[[source]]`` tables.

The only tomlkit importer. The user's file is kept byte for byte: the new tables are
rendered by tomlkit (quoting, escapes) and spliced in as text after the last ``[[source]]``
table (at the end of the file when there is none), never by re-serialising the document
(tomlkit 0.15 moves a ``[[source]]`` written after a ``[[rule]]`` up to the first ones on
a plain load/dump, and re-attaches the comment above the next table to the new one). The
splice is then proved: the new file's TOML must be the old file's with exactly the new
sources added (else the tables go at the end of the file, proved the same way).

Before anything is written, the whole new file is validated by the checker of
``weightwatch check`` (``reading.parse``) in this environment: a ConfigError means nothing
was written. Then: one backup (``config.toml.bak``, the file as it was), the new text to a
temporary file in the same directory with the same mode (and owner, when allowed), fsync,
and ``os.replace``. A symlinked config is written through the link. ``${VAR}`` in the file
stays as written; a ``$`` in a new URL is written as ``$$`` so that it stays literal.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from weightwatch.config.reading import MAX_CONFIG_BYTES, parse
from weightwatch.errors import ConfigError, Problem
from weightwatch.types import NewSource

__all__ = ["Edit", "add_sources", "configured_sources", "how_to_apply", "read_text"]

_SOURCE_HEADER_RE = re.compile(r"[ \t]*\[\[[ \t]*(?:source|\"source\"|'source')[ \t]*\]\]")
_HEADER_RE = re.compile(r"[ \t]*\[")
_QUIET_RE = re.compile(r"[ \t]*(?:#.*)?")
_NEW_FILE_MODE = 0o600  # a config may hold secrets


@dataclass(frozen=True)
class Edit:
    """What ``add_sources`` did (or, with ``write=False``, would do)."""

    path: Path  # the file written (a symlink's target)
    text: str  # the new file's text
    backup: Path | None  # where the old file was kept; None when there was none or no write
    created: bool  # the file did not exist before


def read_text(path: Path) -> tuple[str, bool]:
    """The config's text as it is on disk, and whether it exists (a missing file is "")."""
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return "", False
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError([Problem("", f"cannot be read: {reason}")], str(path)) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError([Problem("", "is larger than 1MB; is this the config file?")], str(path))
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        raise ConfigError([Problem("", "is not UTF-8 text")], str(path)) from None


def configured_sources(text: str) -> list[tuple[str, str]]:
    """The (name, URL) of each ``[[source]]`` in config ``text``, for planning.

    The URL as written, with ``$$`` read as the ``$`` it stands for; ``${VAR}`` unexpanded.
    """
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except (tomllib.TOMLDecodeError, RecursionError):
        return []  # the validation of the new file reports it
    tables = data.get("source", [])
    if not isinstance(tables, list):
        return []
    return [
        (str(t.get("name", "")), str(t.get("url", "")).replace("$$", "$"))
        for t in tables
        if isinstance(t, dict)
    ]


def add_sources(
    path: Path,
    sources: Sequence[NewSource],
    *,
    env: Mapping[str, str] | None = None,
    write: bool = True,
) -> Edit:
    """Add ``sources`` to the config at ``path``; ConfigError (nothing written) on problems."""
    target = Path(os.path.realpath(path))
    old, exists = read_text(target)
    if not sources:
        return Edit(target, old, None, not exists)
    block = render(sources)
    if "\r\n" in old:
        block = block.replace("\n", "\r\n")
    new = _splice(old, block, len(sources))
    # The checker of `weightwatch check`, in this environment; raises ConfigError.
    parse(new.removeprefix("\ufeff"), path=target, env=env, need_secrets=False)
    if not write:
        return Edit(target, new, None, not exists)
    backup = _write(target, old, new, exists)
    return Edit(target, new, backup, not exists)


def render(sources: Sequence[NewSource]) -> str:
    """The ``[[source]]`` tables, each after a blank line."""
    tables = tomlkit.aot()
    for source in sources:
        table = tomlkit.table()
        table.add("name", source.name)
        table.add("url", source.url.replace("$", "$$"))
        if source.tags:
            table.add("tags", list(source.tags))
        if source.interval:
            table.add("interval", source.interval)
        tables.append(table)
    document = tomlkit.document()
    document.add("source", tables)
    # "\n[[source]]\n...\n\n[[source]]\n...\n": a blank line before each table
    return "\n" + tomlkit.dumps(document).lstrip("\n")


def _splice(old: str, block: str, count: int) -> str:
    """``old`` with ``block`` after its last ``[[source]]`` table, proved by re-reading."""
    expected = _expected(old, block, count)
    after = _after_last_source(old)
    newline = "\r\n" if "\r\n" in old else "\n"
    if after is not None:
        new = old[:after] + block.rstrip("\r\n") + newline + old[after:]
        if expected is not None and _data(new) == expected:
            return new
    if not old:
        return block.lstrip("\r\n")
    return old + ("" if old.endswith("\n") else newline) + block


def _after_last_source(text: str) -> int | None:
    """The offset just after the last key line of the last ``[[source]]`` table, or None."""
    lines = text.splitlines(keepends=True)
    last = max((i for i, line in enumerate(lines) if _SOURCE_HEADER_RE.match(line)), default=None)
    if last is None:
        return None
    end = next((i for i in range(last + 1, len(lines)) if _HEADER_RE.match(lines[i])), len(lines))
    while end > last + 1 and _QUIET_RE.fullmatch(lines[end - 1].rstrip("\r\n")):
        end -= 1  # comments and blank lines above the next table belong to it
    offset = sum(len(line) for line in lines[:end])
    if not lines[end - 1].endswith("\n"):
        return None  # the table ends the file without a newline: append instead
    return offset


def _data(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except (tomllib.TOMLDecodeError, RecursionError):
        return None


def _expected(old: str, block: str, count: int) -> dict[str, Any] | None:
    before, added = _data(old), _data(block)
    if before is None or added is None or count == 0:
        return None
    tables = before.get("source", [])
    if not isinstance(tables, list):
        return None
    return {**before, "source": [*tables, *added["source"]]}


def _write(target: Path, old: str, new: str, exists: bool) -> Path | None:
    """Back up ``old`` and replace the file with ``new`` atomically; the backup's path."""
    if exists:
        info = os.stat(target)
        mode = stat.S_IMODE(info.st_mode)
        owner: tuple[int, int] | None = (info.st_uid, info.st_gid)
    else:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        mode, owner = _NEW_FILE_MODE, None
    backup = None
    if exists:
        backup = target.with_name(target.name + ".bak")
        _replace(backup, old, mode, owner, expect=None)
    _replace(target, new, mode, owner, expect=(old, exists))
    return backup


def _replace(
    path: Path,
    text: str,
    mode: int,
    owner: tuple[int, int] | None,
    *,
    expect: tuple[str, bool] | None,
) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``.

    ``expect``: what ``path`` must still hold right before the rename (its text, and whether
    it exists), so that an edit made meanwhile (by hand, or another command) is not lost.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            os.fchmod(file.fileno(), mode)
            if owner is not None and owner != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError):
                    os.fchown(file.fileno(), *owner)
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        if expect is not None and read_text(path) != expect:
            raise ConfigError(
                [Problem("", "changed while weightwatch was editing it; nothing was written")],
                str(path),
            )
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def how_to_apply(path: Path) -> str:
    """How the running daemon picks the change up, for a config at ``path``."""
    resolved = str(Path(os.path.realpath(path)))
    home = str(Path.home())
    if resolved.startswith("/etc/"):
        how = "`sudo systemctl reload weightwatch` (it re-reads the file on SIGHUP)"
    elif resolved.startswith(home + os.sep):
        how = "`systemctl --user reload weightwatch` (it re-reads the file on SIGHUP)"
    else:
        how = "`systemctl reload weightwatch` (or `systemctl --user reload weightwatch`)"
    return (
        f"To apply it to a running daemon: {how}; a `weightwatch run` started by hand re-reads"
        " it on SIGHUP (kill -HUP its PID) or on restart. `weightwatch once` uses it from its"
        " next run."
    )
