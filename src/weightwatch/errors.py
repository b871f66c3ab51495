"""Every error weightwatch raises on purpose.

The hierarchy, drawn once::

    WeightwatchError                 base; never raised itself
    ├── ConfigError                  the config file has problems (exit code 78, EX_CONFIG)
    │                                .problems: list[Problem], every one found, not the first
    ├── QueryError                   a rule query does not parse; .column (1-based)
    ├── SourceError                  one source failed; .source and .url say which
    │   ├── FetchError               the HTTP exchange failed (DNS, connect, TLS, deadline)
    │   │   ├── HTTPStatusError      a non-2xx/304 status; .status, .retry_after (seconds)
    │   │   └── ResponseTooLarge     the decoded body passed the size cap
    │   └── ParseError               the body is not a feed we can read
    │       └── TooMuchMarkup        (sources.feeds) nesting or element caps hit before
    │                                feedparser; the body was not parsed
    ├── StorageError                 the SQLite database could not be opened, read or
    │                                written, or (read-only) is missing or of another schema;
    │                                .kind says which ("full", "damaged", ...: the exit code)
    └── NotifyError                  a channel URL could not be used (bad URL, unknown scheme)

Third-party exceptions (requests, feedparser, sqlite3, apprise) are converted to these
where the library is wrapped (sqlite3: ``weightwatch.storage.guard``, for every ``Storage``
method), so callers only ever catch ``WeightwatchError`` subclasses.
Messages are whole sentences that a user can act on.
"""

from __future__ import annotations

from dataclasses import dataclass


class WeightwatchError(Exception):
    """Base of every error weightwatch raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem in a config file: where (a key path such as ``rule[2].query``) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(WeightwatchError):
    """The config file has one or more problems; all of them are in ``problems``."""

    def __init__(self, problems: list[Problem], file: str | None = None) -> None:
        self.problems = list(problems)
        self.file = file
        where = f"{file}: " if file else ""
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{where}{count} {noun} in the config."]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class QueryError(WeightwatchError):
    """A rule query does not parse; ``column`` is 1-based, counted in characters."""

    def __init__(self, message: str, column: int) -> None:
        self.message = message
        self.column = column
        super().__init__(f"{message} at column {column}")


class SourceError(WeightwatchError):
    """One source failed; the run goes on with the others."""

    def __init__(self, message: str, *, url: str = "", source: str = "") -> None:
        self.message = message
        self.url = url
        self.source = source
        super().__init__(message)


class FetchError(SourceError):
    """The HTTP exchange failed: name resolution, connection, TLS, or the total deadline."""


class HTTPStatusError(FetchError):
    """The server answered with a status we cannot use (4xx, 5xx, an unfollowed 3xx)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        retry_after: float | None = None,
        url: str = "",
        source: str = "",
    ) -> None:
        super().__init__(message, url=url, source=source)
        self.status = status
        self.retry_after = retry_after


class ResponseTooLarge(FetchError):
    """The decoded body passed the configured size cap and was cut off."""


class ParseError(SourceError):
    """The body is not a feed we can read (HTML page, unknown format, broken beyond repair)."""


class StorageError(WeightwatchError):
    """The SQLite database could not be opened, migrated or written.

    ``kind`` says what is wrong, for the exit code and for logging once per kind:
    "damaged" (corrupt, not a database), "empty" (a 0-byte file), "newer" (a newer
    weightwatch's schema), "no-access" (read-only, permission, cannot open or create),
    "full" (disk full), "busy" (locked by another process), "owned" (another weightwatch
    ``run`` or ``once`` owns it: ``storage.owner``), "missing" / "older" (for read-only
    opening: no database yet, migrations pending), "other".
    """

    def __init__(self, message: str, *, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


class NotifyError(WeightwatchError):
    """A channel URL cannot be used: Apprise does not recognise it or it is malformed."""
