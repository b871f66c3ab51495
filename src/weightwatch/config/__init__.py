"""The config file: TOML in, validated immutable values out (``load`` / ``parse``).

Every problem in the file is collected and raised at once as ``ConfigError.problems``,
each with its key path (``rule[2].query: unbalanced parenthesis at column 14``). Key paths
use the table names as the user writes them: ``settings.interval``, ``channels.team[1]``,
``source[3].url``, ``rule[2].notify[0]`` (indexes are 0-based, in file order).

``${VAR}`` (and ``${VAR:-default}``, ``$$`` for a literal dollar) is expanded in channel URLs
and ``settings.user_agent`` only. Every value taken from the environment is recorded in
``Config.secrets`` and never appears in a ``ConfigError`` or in ``summary()``.
"""

from __future__ import annotations

import ast
import difflib
import json
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from weightwatch.delivery import notify as _notify
from weightwatch.delivery.policy import MIN_DIGEST_PERIOD, Digest, Policy, parse_daily, parse_quiet
from weightwatch.delivery.templates import TemplateProblem, compile_template
from weightwatch.errors import ConfigError, Problem, QueryError
from weightwatch.matching import dedup, story
from weightwatch.matching import query as _query
from weightwatch.matching.query import Query

DEFAULT_INTERVAL = 15 * 60.0
DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_BODY = 10 * 1024 * 1024
DEFAULT_WORKERS = 8
DEFAULT_DEDUP_WINDOW = story.TUNING.window  # 3 days: see story.Tuning
DEFAULT_TITLE_SIMILARITY = dedup.DEFAULT_THRESHOLD
DEFAULT_HEALTH_FAILURES = 5
DEFAULT_HEALTH_AFTER = 24 * 3600.0
DEFAULT_RETENTION = 30 * 86400.0

MIN_INTERVAL = 5.0  # seconds; below a minute only makes sense for sites you run yourself
MIN_TIMEOUT, MAX_TIMEOUT = 1.0, 600.0
MIN_MAX_BODY, MAX_MAX_BODY = 1024, 1024**3
MIN_WORKERS, MAX_WORKERS = 1, 64

CONFIG_FILE_NAME = "config.toml"
DATABASE_FILE_NAME = "weightwatch.db"


@dataclass(frozen=True)
class Settings:
    database: Path
    interval: float = DEFAULT_INTERVAL  # seconds
    timeout: float = DEFAULT_TIMEOUT  # seconds, total for one fetch
    max_body: int = DEFAULT_MAX_BODY  # bytes after decompression
    workers: int = DEFAULT_WORKERS  # concurrent fetches (never two to one host)
    user_agent: str = ""  # empty: weightwatch's own descriptive User-Agent
    dedup_window: float = DEFAULT_DEDUP_WINDOW  # seconds, for near-identical titles
    title_similarity: float = DEFAULT_TITLE_SIMILARITY  # 0-100, see dedup.py
    timezone: str = ""  # IANA name for digests and quiet hours; "" = the machine's local zone
    ops: str = ""  # channel for "source broken/recovered" and delivery-health alerts
    health_failures: int = DEFAULT_HEALTH_FAILURES  # consecutive failures before "broken"
    health_after: float = DEFAULT_HEALTH_AFTER  # or this long without a successful poll
    retention: float = DEFAULT_RETENTION  # keep items' text this long, for explain/backtest

    @property
    def tz(self) -> tzinfo:
        if self.timezone:
            return ZoneInfo(self.timezone)
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC


@dataclass(frozen=True)
class Source:
    name: str
    url: str
    interval: float  # seconds; the source's own or settings.interval
    tags: tuple[str, ...] = ()
    backfill: bool = False  # alert on what is already there at the first poll
    stale_after: float | None = None  # alert when no new item arrives for this long
    kind: str = "auto"  # "auto" (decided by the response), "feed" or "page" (docs/pages.md)
    selector: str | None = None  # page: the CSS selector of the part watched
    ignore: tuple[str, ...] = ()  # page: CSS selectors and /patterns/ of text left out
    prefer_feed: bool = False  # page: switch to the feed the page advertises


@dataclass(frozen=True)
class Channel:
    name: str
    urls: tuple[str, ...]  # expanded: may hold secrets, never print; use masked_urls
    masked_urls: tuple[str, ...]
    format: str = "auto"  # "auto" | "text" | "markdown" | "html"
    digest: Digest | None = None  # batch this channel's alerts
    max_per_hour: int | None = None  # beyond it, alerts roll into a digest
    quiet: tuple[time, time] | None = None  # local quiet hours: held, then one digest
    title_template: str | None = None  # Jinja2 (sandboxed); see templates.PLACEHOLDERS
    body_template: str | None = None

    @property
    def policy(self) -> Policy:
        return Policy(digest=self.digest, max_per_hour=self.max_per_hour, quiet=self.quiet)


@dataclass(frozen=True)
class Rule:
    name: str
    query: Query  # query, any, all, none combined by AND
    query_text: str  # what the user wrote, for display
    notify: tuple[str, ...]  # channel names
    sources: tuple[str, ...] = ()  # scope: source names or "tag:NAME"; empty means all
    digest: Digest | None = None  # batch this rule's alerts on every channel
    title_template: str | None = None  # overrides the channel's template for this rule
    body_template: str | None = None
    on_update: str = "silent"  # a later report of a story: "silent", "digest" or "alert"

    def applies_to(self, source: Source) -> bool:
        if not self.sources:
            return True
        for entry in self.sources:
            if entry.startswith("tag:"):
                if entry[4:] in source.tags:
                    return True
            elif entry == source.name:
                return True
        return False


@dataclass(frozen=True)
class Config:
    settings: Settings
    sources: tuple[Source, ...] = ()
    channels: dict[str, Channel] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    path: Path | None = None
    secrets: tuple[str, ...] = ()  # values that came from ${ENV}: mask wherever shown


# --------------------------------------------------------------------------- public API


def load(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file at ``path``; ConfigError lists every problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            [Problem("", "the config file does not exist (see config.example.toml to start one)")],
            str(path),
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            [Problem("", "is a directory; give the path of the config file itself")], str(path)
        ) from None
    except PermissionError:
        raise ConfigError(
            [Problem("", "cannot be read: permission denied for this user")], str(path)
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError([Problem("", f"cannot be read: {reason}")], str(path)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [Problem("", f"is not UTF-8 text (first bad byte on line {line})")], str(path)
        ) from None
    return parse(text, path=path, env=env)


def parse(text: str, *, path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Validate config ``text``; ``path`` (where it came from) anchors relative paths.

    ``env`` defaults to ``os.environ``. Raises ConfigError with every problem found.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    file = str(path) if path is not None else None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_toml_problem(exc, text)], file) from None
    checker = _Checker(environ, path)
    config = checker.run(data)
    if checker.problems or config is None:
        raise ConfigError(checker.final_problems(data), file)
    return config


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the config is looked for when none is given.

    ``$WEIGHTWATCH_CONFIG``, else ``$CONFIGURATION_DIRECTORY/config.toml`` (systemd's
    ``ConfigurationDirectory=``), else ``$XDG_CONFIG_HOME/weightwatch/config.toml``, else
    ``~/.config/weightwatch/config.toml``.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    explicit = environ.get("WEIGHTWATCH_CONFIG", "")
    if explicit:
        return _expand_user(explicit, environ)
    systemd = _first_dir(environ.get("CONFIGURATION_DIRECTORY", ""))
    if systemd is not None:
        return systemd / CONFIG_FILE_NAME
    xdg = _absolute_dir(environ.get("XDG_CONFIG_HOME", ""))
    if xdg is not None:
        return xdg / "weightwatch" / CONFIG_FILE_NAME
    return _home(environ) / ".config" / "weightwatch" / CONFIG_FILE_NAME


def default_database_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the database goes when ``settings.database`` is not set.

    ``$STATE_DIRECTORY/weightwatch.db`` (systemd's ``StateDirectory=``), else
    ``$XDG_STATE_HOME/weightwatch/weightwatch.db``, else
    ``~/.local/state/weightwatch/weightwatch.db``.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    state = _first_dir(environ.get("STATE_DIRECTORY", ""))
    if state is not None:
        return state / DATABASE_FILE_NAME
    xdg = _absolute_dir(environ.get("XDG_STATE_HOME", ""))
    if xdg is not None:
        return xdg / "weightwatch" / DATABASE_FILE_NAME
    return _home(environ) / ".local" / "state" / "weightwatch" / DATABASE_FILE_NAME


def resolve_database(
    value: str, *, config_path: Path | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """The database path for a ``settings.database`` value: ``~`` expanded; a relative path
    is relative to ``$STATE_DIRECTORY`` when set, else to the config file's folder (else the
    current directory)."""
    environ: Mapping[str, str] = os.environ if env is None else env
    path = _expand_user(value, environ)
    if path.is_absolute():
        return path
    state = _first_dir(environ.get("STATE_DIRECTORY", ""))
    if state is not None:
        return state / path
    if config_path is not None:
        return Path(config_path).absolute().parent / path
    return Path.cwd() / path


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_RE = re.compile(r"(?:\s*\d+(?:\.\d+)?\s*[smhd])+\s*", re.IGNORECASE)
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.IGNORECASE)
_DURATION_HELP = 'units s, m, h, d, combined as in "1h30m"; a bare integer is seconds'


def parse_duration(text: str | int) -> float:
    """Seconds in a duration: ``"30s"``, ``"10m"``, ``"2h"``, ``"1d"``, ``"1h30m"``, ``600``.

    A bare integer (or a string of digits) is seconds. Raises ValueError with a message that
    says what was expected and what was found.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"a duration cannot be negative, found {text}")
        return float(text)
    if not isinstance(text, str):
        raise ValueError(
            f'expected a duration such as "15m", found {_show(text)} ({_DURATION_HELP})'
        )
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit():
        return float(int(stripped))
    if not stripped or not _DURATION_RE.fullmatch(stripped):
        raise ValueError(
            f'expected a duration such as "15m", found {_show(text)} ({_DURATION_HELP})'
        )
    total = 0.0
    for number, unit in _DURATION_PART_RE.findall(stripped):
        total += float(number) * _DURATION_UNITS[unit.lower()]
    return total


_SIZE_UNITS = {
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
}
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)", re.IGNORECASE)
_SIZE_HELP = "units B, KB, MB, GB, each 1024 of the one before; a bare integer is bytes"


def parse_size(text: str | int) -> int:
    """Bytes in a size: ``"500KB"``, ``"10MB"``, ``"1GB"``, ``1048576``.

    KB, MB and GB are 1024-based (KiB, MiB, GiB are accepted as the same). Raises ValueError
    with a message that says what was expected and what was found.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"a size cannot be negative, found {text}")
        return text
    if isinstance(text, str):
        match = _SIZE_RE.fullmatch(text.strip())
        if match and match.group(2).lower() in _SIZE_UNITS | {"": 1}:
            factor = _SIZE_UNITS.get(match.group(2).lower(), 1)
            return int(float(match.group(1)) * factor)
    raise ValueError(f'expected a size such as "10MB", found {_show(text)} ({_SIZE_HELP})')


def format_duration(seconds: float) -> str:
    """The short form ``parse_duration`` reads: 5400 -> ``"1h30m"``, 45 -> ``"45s"``."""
    if seconds != int(seconds) or seconds < 0:
        return f"{seconds:g}s"
    rest = int(seconds)
    if rest == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_size(size: int) -> str:
    """The short form ``parse_size`` reads: 10485760 -> ``"10MB"``."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def summary(config: Config, detected: Mapping[str, str] | None = None) -> str:
    """A one-screen human summary for ``weightwatch check``; never shows a secret.

    ``detected`` maps source names to what their last poll found ("atom", "page", ...).
    """
    s = config.settings
    lines = [
        f"Config file:  {config.path if config.path is not None else '(not read from a file)'}",
        f"Database:     {s.database}",
        f"Polling:      every {format_duration(s.interval)} unless a source sets its own "
        f"interval; {format_duration(s.timeout)} timeout per fetch",
        f"Fetching:     {s.workers} at a time; bodies up to {format_size(s.max_body)}",
        "Dedup:        "
        + (
            f"one story: the same link, or within {format_duration(s.dedup_window)} a title"
            f" at least {s.title_similarity:g}% alike or shared distinctive words"
            if s.dedup_window > 0
            else "only the same link makes one story (dedup_window = 0)"
        ),
    ]
    if s.user_agent:
        lines.append(f"User-Agent:   {s.user_agent}")
    lines.append("")

    lines.append(f"Sources ({len(config.sources)}):")
    width = max((len(src.name) for src in config.sources), default=0)
    kinds = {src.name: _kind_text(src, (detected or {}).get(src.name)) for src in config.sources}
    kind_width = max((len(k) for k in kinds.values()), default=0)
    for src in config.sources:
        extras = []
        if src.tags:
            extras.append("tags: " + ", ".join(src.tags))
        if src.backfill:
            extras.append("backfill")
        if src.selector:
            extras.append(f"selector: {src.selector}")
        if src.ignore:
            extras.append("ignore: " + ", ".join(src.ignore))
        if src.prefer_feed:
            extras.append("prefer_feed")
        tail = f"  ({'; '.join(extras)})" if extras else ""
        every = f"every {format_duration(src.interval)}"
        kind = f"{kinds[src.name]:<{kind_width}}"
        lines.append(f"  {src.name:<{width}}  {every:<10} {kind}  {_hide_password(src.url)}{tail}")
    if not config.sources:
        lines.append("  (none)")
    lines.append("")

    lines.append(f"Rules ({len(config.rules)}):")
    for rule in config.rules:
        scope = ", ".join(rule.sources) if rule.sources else "all sources"
        lines += [
            f"  {rule.name}",
            f"    query:   {rule.query}",
            f"    sources: {scope}",
            f"    notify:  {', '.join(rule.notify)}",
        ]
    if not config.rules:
        lines.append("  (none)")
    lines.append("")

    used = {name for rule in config.rules for name in rule.notify}
    lines.append(f"Channels ({len(config.channels)}):")
    width = max((len(name) for name in config.channels), default=0)
    for name, channel in config.channels.items():
        unused = "" if name in used else "  (no rule uses it)"
        first, *others = channel.masked_urls or ("(no URL)",)
        lines.append(f"  {name + ':':<{width + 1}} {first}{unused}")
        lines += [f"  {'':<{width + 1}} {url}" for url in others]
    if not config.channels:
        lines.append("  (none)")

    notes = _notes(config)
    if notes:
        lines.append("")
        lines += [f"Note: {note}" for note in notes]
    return _scrub("\n".join(lines), config.secrets)


# --------------------------------------------------------------------------- validation

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
_NAME_HELP = 'use lowercase letters, digits, ".", "_" and "-", starting with a letter or digit'
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_BARE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+\Z")

_TOP_TABLES = {"settings": "[settings]", "channels": "[channels]"}
_TOP_ARRAYS = {"source": "[[source]]", "rule": "[[rule]]"}
_SETTINGS_KEYS = (
    "database",
    "interval",
    "timeout",
    "max_body",
    "workers",
    "user_agent",
    "dedup_window",
    "title_similarity",
    "timezone",
    "ops",
    "health_failures",
    "health_after",
    "retention",
)
_SOURCE_KEYS = (
    "name",
    "url",
    "interval",
    "tags",
    "backfill",
    "stale_after",
    "kind",
    "selector",
    "ignore",
    "prefer_feed",
)
_RULE_KEYS = (
    "name",
    "query",
    "any",
    "all",
    "none",
    "notify",
    "sources",
    "digest",
    "title",
    "body",
    "on_update",
    "proximity",
)
ON_UPDATE = ("silent", "digest", "alert")
_SOURCE_KINDS = ("auto", "feed", "page")
#: Keys of one kind of table only: a misplaced one hints at a missing table header.
_RULE_ONLY = tuple(k for k in _RULE_KEYS if k not in (*_SOURCE_KEYS, *_SETTINGS_KEYS))
_SOURCE_ONLY = tuple(k for k in _SOURCE_KEYS if k not in (*_RULE_KEYS, *_SETTINGS_KEYS))
_CHANNEL_KEYS = ("urls", "format", "digest", "max_per_hour", "quiet", "title", "body")
_FORMATS = ("auto", "text", "markdown", "html")


def _key(parent: str, key: str) -> str:
    shown = key if _BARE_KEY_RE.fullmatch(key) else json.dumps(key, ensure_ascii=False)
    return f"{parent}.{shown}" if parent else shown


def _root(path: str) -> str:
    """The top-level key a key path starts with: ``rule[2].query`` -> ``rule``."""
    if path.startswith('"'):
        try:
            return str(json.JSONDecoder().raw_decode(path)[0])
        except ValueError:
            return path
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _show(value: object) -> str:
    """How a found value is quoted in a message, TOML-like: "15 minutes", 15.5, true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        return shown if len(shown) <= 70 else shown[:60] + '..."'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, time):
        return "a time"
    return type(value).__name__


def _did_you_mean(word: str, candidates: Sequence[str], show: dict[str, str] | None = None) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not close:
        return ""
    shown = show[close[0]] if show else json.dumps(close[0], ensure_ascii=False)
    return f"; did you mean {shown}?"


def _toml_problem(exc: tomllib.TOMLDecodeError, text: str) -> Problem:
    message = str(exc)
    where = ""
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    if match:
        where = f" at line {match.group(1)}, column {match.group(2)}"
        message = message[: match.start()]
    elif message.endswith("(at end of document)"):
        message = message[: -len("(at end of document)")].rstrip()
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        where = f" at the end of the file (line {max(lines, 1)})"
    declared = re.fullmatch(r"Cannot declare \((.*)\) twice", message)
    if declared:
        try:
            keys = ast.literal_eval(f"({declared.group(1)})")
            message = "Cannot declare [" + ".".join(str(k) for k in keys) + "] twice"
        except (ValueError, SyntaxError):
            pass
    hint = ""
    if message.startswith("Invalid value"):
        hint = ' (text needs quotes, e.g. interval = "15m"; true/false are lowercase)'
    elif message.startswith("Expected newline or end of document"):
        hint = ' (one key = value per line; is a text value missing its quotes, e.g. "15m"?)'
    elif message.startswith("Cannot overwrite a value"):
        hint = " (a key or a [table] is written twice; [[source]] and [[rule]] take two brackets)"
    elif message.startswith("Cannot declare"):
        hint = " (a [table] is written twice, or a table header repeats a key set above it)"
    elif message.startswith("Unterminated string"):
        hint = " (a string's closing quote is missing)"
    text_message = message[:1].lower() + message[1:] if message else "invalid TOML"
    return Problem("", f"TOML syntax error{where}: {text_message}{hint}")


def _home(env: Mapping[str, str]) -> Path:
    home = env.get("HOME", "")
    return Path(home) if home else Path.home()


def _expand_user(value: str, env: Mapping[str, str]) -> Path:
    if value == "~" or value.startswith("~/"):
        return _home(env) / value[2:]
    return Path(os.path.expanduser(value))


def _first_dir(value: str) -> Path | None:
    """systemd passes ``StateDirectory=a b`` as ``/var/lib/a:/var/lib/b``; use the first."""
    first = value.split(":", 1)[0].strip()
    return Path(first) if first else None


def _absolute_dir(value: str) -> Path | None:
    """The XDG spec says relative paths in XDG_* variables are to be ignored."""
    path = Path(value) if value else None
    return path if path is not None and path.is_absolute() else None


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) < 3:
            continue
        for form in {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}:
            text = text.replace(form, "****")
    return text


def _mask(url: str, secrets: Sequence[str]) -> str:
    return _scrub(_notify.mask_url(url, tuple(secrets)), secrets)


def _hide_password(url: str) -> str:
    """A feed URL for display: a password written in it (user:password@host) masked."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":****@", 1)
    return parts._replace(netloc=netloc).geturl()


def _kind_text(source: Source, detected: str | None) -> str:
    """``auto``, ``page``, or with what the last poll found: ``auto (atom)``, ``auto (page)``."""
    if not detected or detected == source.kind:
        return source.kind
    return f"{source.kind} ({detected})"


def _notes(config: Config) -> list[str]:
    notes = []
    if not config.sources and not config.rules:
        notes.append(
            "the config has no sources and no rules: nothing will be fetched or alerted. "
            "Add [[source]] and [[rule]] tables (see config.example.toml)."
        )
    elif not config.rules:
        notes.append("there are no rules: items are fetched and stored but nothing alerts.")
    elif not config.sources:
        notes.append("there are no sources: nothing will be fetched.")
    else:
        idle = [s.name for s in config.sources if not any(r.applies_to(s) for r in config.rules)]
        if idle:
            notes.append("no rule looks at " + ", ".join(idle) + ".")
    return notes


class _Checker:
    """One pass over the parsed TOML, collecting every problem."""

    def __init__(self, env: Mapping[str, str], path: Path | None) -> None:
        self.env = env
        self.path = path
        self.problems: list[Problem] = []
        self.secrets: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def final_problems(self, data: Mapping[str, Any]) -> list[Problem]:
        """The problems in file order (by top-level table), with every secret masked."""
        order = {key: index for index, key in enumerate(data)}

        def place(problem: Problem) -> int:
            return order.get(_root(problem.path), -1)

        return [
            Problem(_scrub(p.path, self.secrets), _scrub(p.message, self.secrets))
            for p in sorted(self.problems, key=place)
        ]

    # ----------------------------------------------------------------- whole file

    def run(self, data: dict[str, Any]) -> Config | None:
        self._top_level(data)
        settings = self._settings(self._table(data, "settings"))
        channels, channel_names = self._channels(self._table(data, "channels"))
        sources, source_names, tags = self._sources(self._array(data, "source"), settings)
        rules = self._rules(self._array(data, "rule"), channel_names, source_names, tags)
        if settings.ops and settings.ops not in channel_names:
            self.add(
                "settings.ops",
                f"no channel named {_show(settings.ops)}"
                + _did_you_mean(settings.ops, sorted(channel_names)),
            )
        if self.problems:
            return None
        secrets = tuple(dict.fromkeys(self.secrets))
        channels = {
            name: replace(ch, masked_urls=tuple(_mask(u, secrets) for u in ch.urls))
            for name, ch in channels.items()
        }
        return Config(
            settings=settings,
            sources=tuple(sources),
            channels=channels,
            rules=tuple(rules),
            path=self.path,
            secrets=secrets,
        )

    def _top_level(self, data: dict[str, Any]) -> None:
        known = {**_TOP_TABLES, **_TOP_ARRAYS}
        for key, value in data.items():
            if key in known:
                continue
            if not isinstance(value, dict | list):
                self.add(_key("", key), self._misplaced_top_key(key))
                continue
            written = f"[[{key}]]" if isinstance(value, list) else f"[{key}]"
            hint = _did_you_mean(key, list(known), known)
            if not hint:
                hint = "; the tables are " + ", ".join(known.values())
            self.add(_key("", key), f"unknown table {written}{hint}")

    def _misplaced_top_key(self, key: str) -> str:
        if key in _SETTINGS_KEYS:
            return (
                f'unknown top-level key; "{key}" belongs in [settings]: '
                "move it below the [settings] header"
            )
        if key in _SOURCE_KEYS or key in _RULE_KEYS:
            return (
                f'unknown top-level key; "{key}" belongs in a [[source]] or [[rule]]: '
                "is the header missing above it?"
            )
        hint = _did_you_mean(key, _SETTINGS_KEYS)
        if hint:
            return f"unknown top-level key{hint[:-1]} (in [settings])?"
        return "unknown top-level key; keys go in [settings], [channels], [[source]] or [[rule]]"

    def _table(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if isinstance(value, dict):
            return value
        if isinstance(value, list):
            self.add(name, f"write [{name}] once, with single brackets, not [[{name}]]")
        else:
            self.add(name, f"expected a [{name}] table, found {_show(value)}")
        return {}

    def _array(self, data: dict[str, Any], name: str) -> list[tuple[str, dict[str, Any]]]:
        value = data.get(name, [])
        if isinstance(value, dict):
            self.add(
                name,
                f"write [[{name}]] with double brackets, once per {name}; "
                f"[{name}] makes a single table, not a list of them",
            )
            return []
        if not isinstance(value, list):
            self.add(name, f"expected [[{name}]] tables, found {_show(value)}")
            return []
        tables = []
        for index, entry in enumerate(value):
            path = f"{name}[{index}]"
            if isinstance(entry, dict):
                tables.append((path, entry))
            else:
                self.add(path, f"expected a table ([[{name}]]), found {_show(entry)}")
        return tables

    def _unknown_keys(
        self,
        table: dict[str, Any],
        allowed: Sequence[str],
        path: str,
        elsewhere: Mapping[str, str],
    ) -> set[str]:
        """Report keys not in ``allowed``; return the allowed keys suggested for typos."""
        suggested: set[str] = set()
        for key in table:
            if key in allowed:
                continue
            if key in elsewhere:
                message = f'unknown key; "{key}" {elsewhere[key]}'
            else:
                close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
                if close:
                    suggested.add(close[0])
                    message = f'unknown key; did you mean "{close[0]}"?'
                else:
                    message = f"unknown key; the keys here are {', '.join(allowed)}"
            self.add(_key(path, key), message)
        return suggested

    # ----------------------------------------------------------------- [settings]

    def _settings(self, raw: dict[str, Any]) -> Settings:
        elsewhere = {
            k: "belongs in a [[source]]: is a [[source]] header missing above it?"
            for k in ("name", *_SOURCE_ONLY)
        }
        elsewhere |= {
            k: "belongs in a [[rule]]: is a [[rule]] header missing above it?" for k in _RULE_ONLY
        }
        self._unknown_keys(raw, _SETTINGS_KEYS, "settings", elsewhere)
        database = self._database(raw)
        interval = self._duration(raw, "interval", "settings", DEFAULT_INTERVAL, MIN_INTERVAL)
        timeout = self._duration(
            raw, "timeout", "settings", DEFAULT_TIMEOUT, MIN_TIMEOUT, MAX_TIMEOUT
        )
        dedup_window = self._duration(raw, "dedup_window", "settings", DEFAULT_DEDUP_WINDOW, 0)
        max_body = DEFAULT_MAX_BODY
        if "max_body" in raw:
            try:
                size = parse_size(raw["max_body"])
            except ValueError as exc:
                self.add("settings.max_body", str(exc))
            else:
                if MIN_MAX_BODY <= size <= MAX_MAX_BODY:
                    max_body = size
                else:
                    self.add(
                        "settings.max_body",
                        f"must be between 1KB and 1GB, found {_show(raw['max_body'])}",
                    )
        workers = DEFAULT_WORKERS
        if "workers" in raw:
            value = raw["workers"]
            if not isinstance(value, int) or isinstance(value, bool):
                self.add(
                    "settings.workers", f"expected a whole number such as 8, found {_show(value)}"
                )
            elif not MIN_WORKERS <= value <= MAX_WORKERS:
                self.add(
                    "settings.workers",
                    f"must be between {MIN_WORKERS} and {MAX_WORKERS}, found {value}",
                )
            else:
                workers = value
        similarity = DEFAULT_TITLE_SIMILARITY
        if "title_similarity" in raw:
            value = raw["title_similarity"]
            if not isinstance(value, int | float) or isinstance(value, bool):
                self.add(
                    "settings.title_similarity",
                    f"expected a number from 0 to 100 such as 90, found {_show(value)}",
                )
            elif not 0 <= value <= 100 or math.isnan(value):
                self.add(
                    "settings.title_similarity",
                    f"must be between 0 and 100 (a percentage), found {_show(value)}",
                )
            else:
                similarity = float(value)
        user_agent = ""
        if "user_agent" in raw:
            value = raw["user_agent"]
            if not isinstance(value, str):
                self.add("settings.user_agent", f"expected a string, found {_show(value)}")
            elif any(ord(c) < 32 or ord(c) == 127 for c in value):
                self.add("settings.user_agent", "must be a single line without control characters")
            else:
                expanded = self._expand(value, "settings.user_agent")
                if expanded is not None:
                    user_agent = expanded.strip()
        timezone = ""
        if "timezone" in raw:
            value = raw["timezone"]
            if not isinstance(value, str):
                self.add("settings.timezone", f"expected a time zone name, found {_show(value)}")
            else:
                try:
                    ZoneInfo(value)
                    timezone = value
                except (ZoneInfoNotFoundError, ValueError):
                    self.add(
                        "settings.timezone",
                        f"unknown time zone {_show(value)}; use an IANA name such as"
                        ' "Europe/Berlin" or "America/New_York"',
                    )
        ops = ""
        if "ops" in raw:
            value = raw["ops"]
            if not isinstance(value, str):
                self.add("settings.ops", f"expected a channel name, found {_show(value)}")
            else:
                ops = value  # checked against [channels] in run()
        health_failures = DEFAULT_HEALTH_FAILURES
        if "health_failures" in raw:
            value = raw["health_failures"]
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
                self.add(
                    "settings.health_failures",
                    f"expected a whole number from 1 to 1000 such as 5, found {_show(value)}",
                )
            else:
                health_failures = value
        health_after = self._duration(
            raw, "health_after", "settings", DEFAULT_HEALTH_AFTER, MIN_INTERVAL
        )
        retention = self._duration(raw, "retention", "settings", DEFAULT_RETENTION, 86400.0)
        return Settings(
            database=database,
            interval=interval,
            timeout=timeout,
            max_body=max_body,
            workers=workers,
            user_agent=user_agent,
            dedup_window=dedup_window,
            title_similarity=similarity,
            timezone=timezone,
            ops=ops,
            health_failures=health_failures,
            health_after=health_after,
            retention=retention,
        )

    def _database(self, raw: dict[str, Any]) -> Path:
        if "database" not in raw:
            return default_database_path(self.env)
        value = raw["database"]
        if not isinstance(value, str):
            self.add("settings.database", f"expected a file path string, found {_show(value)}")
        elif not value.strip():
            self.add(
                "settings.database",
                "is empty; remove the key to use the default state directory",
            )
        elif "\x00" in value:
            self.add("settings.database", "contains a NUL character")
        else:
            return resolve_database(value, config_path=self.path, env=self.env)
        return default_database_path(self.env)

    def _duration(
        self,
        raw: dict[str, Any],
        key: str,
        parent: str,
        default: float,
        minimum: float,
        maximum: float | None = None,
    ) -> float:
        if key not in raw:
            return default
        path = _key(parent, key)
        value = raw[key]
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.add(path, str(exc))
            return default
        if seconds < minimum:
            why = " so that sites are not polled too often" if key == "interval" else ""
            self.add(
                path, f"must be at least {format_duration(minimum)}{why}, found {_show(value)}"
            )
            return default
        if maximum is not None and seconds > maximum:
            self.add(path, f"must be at most {format_duration(maximum)}, found {_show(value)}")
            return default
        return seconds

    # ----------------------------------------------------------------- [channels]

    def _channels(self, raw: dict[str, Any]) -> tuple[dict[str, Channel], set[str]]:
        channels: dict[str, Channel] = {}
        names: set[str] = set()
        for name, value in raw.items():
            path = _key("channels", name)
            names.add(name)  # a channel with a bad URL still exists for rule.notify
            if not _NAME_RE.fullmatch(name):
                self.add(path, f"{_show(name)} is not a valid channel name: {_NAME_HELP}")
            entries: list[tuple[str, object]]
            options: dict[str, Any] = {}
            if isinstance(value, dict):
                self._unknown_keys(value, _CHANNEL_KEYS, path, {})
                options = self._channel_options(value, path)
                if "urls" not in value:
                    self.add(path, 'needs urls = "scheme://..." or a list of URLs')
                    continue
                value, path = value["urls"], f"{path}.urls"
            if isinstance(value, str):
                entries = [(path, value)]
            elif isinstance(value, list):
                if not value:
                    self.add(path, "is an empty list; give at least one notification URL")
                entries = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
            else:
                hint = ""
                if isinstance(value, dict):
                    hint = f' (write {name} = "scheme://..." directly below [channels])'
                self.add(
                    path,
                    "expected a notification URL string or a list of them, "
                    f"found {_show(value)}{hint}",
                )
                continue
            urls = []
            for entry_path, entry in entries:
                if not isinstance(entry, str):
                    self.add(
                        entry_path, f"expected a notification URL string, found {_show(entry)}"
                    )
                    continue
                url = self._expand(entry, entry_path)
                if url is None:
                    continue
                url = url.strip()
                if not url:
                    self.add(entry_path, "is empty; expected a notification URL such as console://")
                    continue
                why = _notify.check_url(url)
                if why:
                    if "$" in entry.split("://", 1)[0]:
                        # The scheme came from the environment: do not quote any of it.
                        why = (
                            "Apprise does not recognise this URL; its scheme comes from the "
                            "environment, so check that variable's value"
                        )
                    self.add(entry_path, why)
                    continue
                urls.append(url)
            if urls and len(urls) == len(entries):
                channels[name] = Channel(name, tuple(urls), (), **options)
        return channels, names

    def _channel_options(self, raw: dict[str, Any], path: str) -> dict[str, Any]:
        """format, digest, max_per_hour and quiet of a channel written as a table."""
        out: dict[str, Any] = {}
        if "format" in raw:
            value = raw["format"]
            if value not in _FORMATS:
                self.add(
                    f"{path}.format",
                    f"expected one of {', '.join(_FORMATS)}, found {_show(value)}",
                )
            else:
                out["format"] = value
        if "digest" in raw:
            digest = self._digest(raw["digest"], f"{path}.digest")
            if digest is not None:
                out["digest"] = digest
        if "max_per_hour" in raw:
            value = raw["max_per_hour"]
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 3600:
                self.add(
                    f"{path}.max_per_hour",
                    f"expected a whole number from 1 to 3600 such as 10, found {_show(value)}",
                )
            else:
                out["max_per_hour"] = value
        html = out.get("format") == "html"
        for key in ("title", "body"):
            if key in raw:
                text = self._template(raw[key], f"{path}.{key}", html=html)
                if text is not None:
                    out[f"{key}_template"] = text
        if "quiet" in raw:
            value = raw["quiet"]
            if not isinstance(value, str):
                self.add(
                    f"{path}.quiet", f'expected a range such as "22:00-07:00", found {_show(value)}'
                )
            else:
                try:
                    out["quiet"] = parse_quiet(value)
                except ValueError as exc:
                    self.add(f"{path}.quiet", str(exc))
        return out

    def _template(self, value: object, path: str, *, html: bool) -> str | None:
        """A title/body template: compiled and tried on a sample alert now, not at send time."""
        if not isinstance(value, str):
            self.add(path, f"expected a template string, found {_show(value)}")
            return None
        try:
            compile_template(value, html=html)
            if not html:
                compile_template(value, html=True)
        except TemplateProblem as exc:
            self.add(path, str(exc))
            return None
        return value

    def _digest(self, value: object, path: str) -> Digest | None:
        """``digest = "1h"`` (at most once per interval) or ``"daily 08:00"`` (local time)."""
        if not isinstance(value, str | int) or isinstance(value, bool):
            self.add(path, f'expected "1h" or "daily 08:00", found {_show(value)}')
            return None
        if isinstance(value, str) and value.strip().lower().startswith("daily"):
            try:
                at = parse_daily(value)
            except ValueError as exc:
                self.add(path, str(exc))
                return None
            if at is None:
                self.add(
                    path, f'expected "daily HH:MM" such as "daily 08:00", found {_show(value)}'
                )
                return None
            return Digest(daily=at)
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.add(path, f'{exc}; or "daily 08:00"')
            return None
        if seconds < MIN_DIGEST_PERIOD:
            self.add(
                path, f"must be at least {format_duration(MIN_DIGEST_PERIOD)}, found {_show(value)}"
            )
            return None
        return Digest(every=seconds)

    def _expand(self, text: str, path: str) -> str | None:
        """``${VAR}``, ``${VAR:-default}`` and ``$$``; None (with problems added) on failure."""
        out: list[str] = []
        ok = True
        i = 0
        while i < len(text):
            char = text[i]
            if char != "$":
                out.append(char)
                i += 1
                continue
            following = text[i + 1 : i + 2]
            if following == "$":
                out.append("$")
                i += 2
                continue
            if following != "{":
                word = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[i + 1 :])
                if word:
                    self.add(
                        path,
                        f"write ${{{word.group()}}} to use an environment variable, "
                        f'or $$ for a literal "$"',
                    )
                else:
                    self.add(path, 'has a "$" on its own; write $$ for a literal "$"')
                ok = False
                i += 1
                continue
            end = text.find("}", i + 2)
            if end < 0:
                self.add(path, 'has "${" without a closing "}"')
                return None
            inner = text[i + 2 : end]
            name, has_default, default = inner.partition(":-")
            i = end + 1
            if not _ENV_NAME_RE.fullmatch(name):
                self.add(
                    path,
                    f"{_show('${' + inner + '}')} is not an environment variable reference: "
                    'write ${NAME} or ${NAME:-default}, NAME being letters, digits and "_"',
                )
                ok = False
                continue
            value = self.env.get(name)
            if value:
                self.secrets.append(value)
                out.append(value)
            elif has_default:
                out.append(default)
            elif value is None:
                self.add(path, f"environment variable {name} is not set")
                ok = False
            else:
                self.add(path, f"environment variable {name} is set but empty")
                ok = False
        return "".join(out) if ok else None

    # ----------------------------------------------------------------- [[source]]

    def _sources(
        self, tables: list[tuple[str, dict[str, Any]]], settings: Settings
    ) -> tuple[list[Source], dict[str, str], set[str]]:
        sources: list[Source] = []
        names: dict[str, str] = {}  # name -> path of the source that has it
        urls: dict[str, str] = {}
        tags_seen: set[str] = set()
        elsewhere = {
            k: "belongs in a [[rule]]: is a [[rule]] header missing above it?" for k in _RULE_ONLY
        }
        elsewhere |= {
            k: "is a [settings] key: put it below the [settings] header"
            for k in _SETTINGS_KEYS
            if k != "interval"
        }
        for path, raw in tables:
            count = len(self.problems)
            typos = self._unknown_keys(raw, _SOURCE_KEYS, path, elsewhere)
            name = self._name(raw, path, names, "source", '"openai-news"', typos)
            url = self._feed_url(raw, path, urls, typos)
            interval = self._duration(raw, "interval", path, settings.interval, MIN_INTERVAL)
            tags = self._string_list(raw, "tags", path, '["ai", "labs"]', names_only=True)
            tags_seen.update(tags)
            backfill = False
            if "backfill" in raw:
                value = raw["backfill"]
                if isinstance(value, bool):
                    backfill = value
                else:
                    self.add(
                        _key(path, "backfill"), f"expected true or false, found {_show(value)}"
                    )
            stale_after = None
            if "stale_after" in raw:
                stale_after = self._duration(raw, "stale_after", path, 0, 3600)
            page = self._page_options(raw, path)
            if name is not None and url is not None and len(self.problems) == count:
                sources.append(
                    Source(
                        name,
                        url,
                        interval,
                        tuple(tags),
                        backfill,
                        stale_after=stale_after or None,
                        **page,
                    )
                )
        return sources, names, tags_seen

    def _page_options(self, raw: dict[str, Any], path: str) -> dict[str, Any]:
        """``kind``, ``selector``, ``ignore`` and ``prefer_feed`` (docs/pages.md)."""
        out: dict[str, Any] = {}
        kind = raw.get("kind", "auto")
        if kind not in _SOURCE_KINDS:
            self.add(
                _key(path, "kind"),
                f'expected "auto", "feed" or "page", found {_show(kind)}'
                + (_did_you_mean(kind, _SOURCE_KINDS) if isinstance(kind, str) else ""),
            )
            kind = "auto"
        out["kind"] = kind
        page_only = [k for k in ("selector", "ignore", "prefer_feed") if k in raw]
        if kind == "feed" and page_only:
            for key in page_only:
                self.add(
                    _key(path, key),
                    'applies to web pages only, but kind = "feed"; '
                    'use kind = "page" (or "auto") or remove the key',
                )
            return out
        if page_only:
            from weightwatch.sources import page as _page

            if "selector" in raw:
                value = raw["selector"]
                if not isinstance(value, str):
                    self.add(
                        _key(path, "selector"),
                        f'expected a CSS selector such as "main .releases", found {_show(value)}',
                    )
                elif (why := _page.check_selector(value)) is not None:
                    self.add(_key(path, "selector"), why)
                else:
                    out["selector"] = value.strip()
            entries = self._string_list(raw, "ignore", path, """[".counter", '/\\d+ views/']""")
            for index, entry in enumerate(raw.get("ignore") or []):
                if entry in entries and (why := _page.check_ignore(entry)) is not None:
                    self.add(f"{_key(path, 'ignore')}[{index}]", why)
            out["ignore"] = tuple(entries)
            if "prefer_feed" in raw:
                value = raw["prefer_feed"]
                if isinstance(value, bool):
                    out["prefer_feed"] = value
                else:
                    self.add(
                        _key(path, "prefer_feed"), f"expected true or false, found {_show(value)}"
                    )
        return out

    def _name(
        self,
        raw: dict[str, Any],
        path: str,
        names: dict[str, str],
        kind: str,
        example: str,
        typos: set[str],
    ) -> str | None:
        key_path = _key(path, "name")
        if "name" not in raw:
            if "name" not in typos:  # else "did you mean" already said it
                self.add(key_path, f"is required: every {kind} needs a name such as {example}")
            return None
        value = raw["name"]
        if not isinstance(value, str):
            self.add(key_path, f"expected a name such as {example}, found {_show(value)}")
            return None
        if not _NAME_RE.fullmatch(value):
            self.add(key_path, f"{_show(value)} is not a valid {kind} name: {_NAME_HELP}")
            return None
        if value in names:
            self.add(key_path, f"{_show(value)} is already used by {names[value]}")
            return None
        names[value] = path
        return value

    def _feed_url(
        self, raw: dict[str, Any], path: str, urls: dict[str, str], typos: set[str]
    ) -> str | None:
        key_path = _key(path, "url")
        if "url" not in raw:
            if "url" not in typos:
                self.add(key_path, "is required: the http:// or https:// address of the feed")
            return None
        value = raw["url"]
        if not isinstance(value, str):
            self.add(key_path, f"expected a URL string, found {_show(value)}")
            return None
        url = value.strip()
        if any(c.isspace() for c in url):
            self.add(key_path, "contains spaces; write them as %20")
            return None
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            self.add(key_path, f"is not a valid URL, found {_show(value)}")
            return None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            hint = ""
            if scheme == "feed":
                hint = "; write https:// instead of feed://"
            elif not scheme:
                hint = "; add https:// in front"
            self.add(
                key_path,
                f"only http:// and https:// URLs can be fetched, found {_show(value)}{hint}",
            )
            return None
        if not parts.hostname:
            self.add(key_path, f"has no host name, found {_show(value)}")
            return None
        if url in urls:
            self.add(key_path, f"is the same URL as {urls[url]}; each feed needs only one source")
            return None
        urls[url] = path
        return url

    def _string_list(
        self,
        raw: dict[str, Any],
        key: str,
        path: str,
        example: str,
        *,
        names_only: bool = False,
    ) -> list[str]:
        """A list of non-empty strings (order kept, repeats dropped); problems added."""
        if key not in raw:
            return []
        key_path = _key(path, key)
        value = raw[key]
        if not isinstance(value, list):
            self.add(key_path, f"expected a list such as {example}, found {_show(value)}")
            return []
        result: list[str] = []
        for index, entry in enumerate(value):
            entry_path = f"{key_path}[{index}]"
            if not isinstance(entry, str):
                self.add(entry_path, f"expected a string, found {_show(entry)}")
            elif not entry.strip():
                self.add(entry_path, "is empty")
            elif names_only and not _NAME_RE.fullmatch(entry):
                self.add(entry_path, f"{_show(entry)} is not a valid tag: {_NAME_HELP}")
            elif entry not in result:
                result.append(entry)
        return result

    # ----------------------------------------------------------------- [[rule]]

    def _rules(
        self,
        tables: list[tuple[str, dict[str, Any]]],
        channel_names: set[str],
        source_names: dict[str, str],
        tags: set[str],
    ) -> list[Rule]:
        rules: list[Rule] = []
        names: dict[str, str] = {}
        elsewhere = {
            k: "belongs in a [[source]]: is a [[source]] header missing above it?"
            for k in ("interval", *_SOURCE_ONLY)
        }
        elsewhere |= {
            k: "is a [settings] key: put it below the [settings] header"
            for k in _SETTINGS_KEYS
            if k != "interval"
        }
        for path, raw in tables:
            count = len(self.problems)
            typos = self._unknown_keys(raw, _RULE_KEYS, path, elsewhere)
            name = self._name(raw, path, names, "rule", '"openai-open-weights"', typos)
            query, query_text = self._rule_query(raw, path, typos)
            notify = self._notify(raw, path, channel_names, typos)
            scope = self._scope(raw, path, source_names, tags)
            digest = self._digest(raw["digest"], _key(path, "digest")) if "digest" in raw else None
            templates = {
                f"{key}_template": self._template(raw[key], _key(path, key), html=False)
                for key in ("title", "body")
                if key in raw
            }
            on_update = raw.get("on_update", "silent")
            if on_update not in ON_UPDATE:
                self.add(
                    _key(path, "on_update"),
                    f'expected "silent", "digest" or "alert", found {_show(on_update)}',
                )
            if name is not None and query is not None and len(self.problems) == count:
                rules.append(
                    Rule(
                        name,
                        query,
                        query_text,
                        tuple(notify),
                        tuple(scope),
                        digest=digest,
                        on_update=on_update,
                        **templates,
                    )
                )
        return rules

    def _rule_query(
        self, raw: dict[str, Any], path: str, typos: set[str]
    ) -> tuple[Query | None, str]:
        parts: list[Query] = []
        ok = True
        text = ""
        if "query" in raw:
            key_path = _key(path, "query")
            value = raw["query"]
            if not isinstance(value, str):
                self.add(
                    key_path,
                    f"expected a query string such as 'OpenAI AND \"open weights\"', "
                    f"found {_show(value)}",
                )
                ok = False
            elif not value.strip():
                self.add(key_path, "is empty; write a query or remove the key")
                ok = False
            else:
                text = value.strip()
                try:
                    parts.append(_query.parse(value))
                except QueryError as exc:
                    self.add(key_path, f"{exc.message} at column {exc.column}")
                    ok = False
        proximity = raw.get("proximity", 0)  # words a quoted phrase's words may be apart
        if (
            isinstance(proximity, bool)
            or not isinstance(proximity, int)
            or not 0 <= proximity <= _query.MAX_DISTANCE
        ):
            self.add(
                _key(path, "proximity"),
                f"expected a number of words from 0 to {_query.MAX_DISTANCE}, such as 3, "
                f"found {_show(proximity)}",
            )
            ok = False
        lists = {}
        for key in ("any", "all", "none"):
            before = len(self.problems)
            entries = self._string_list(raw, key, path, '["open weights", "open-weight"]')
            if len(self.problems) > before:
                ok = False
            lists[key] = entries
        if not text and not lists["any"] and not lists["all"]:
            if ok and not typos & {"query", "any", "all"}:
                if lists["none"]:
                    self.add(
                        path,
                        "a rule with only none = [...] would match nearly every item; "
                        "add a query, any = [...] or all = [...]",
                    )
                else:
                    self.add(path, "needs a query or at least one of any = [...], all = [...]")
            return None, ""
        if not ok:
            return None, ""
        try:
            listed = _query.from_lists(any=lists["any"], all=lists["all"], none=lists["none"])
        except QueryError as exc:
            # Name the entries that fail on their own (e.g. "!!!" has no letters or digits).
            before = len(self.problems)
            for key, entries in lists.items():
                for index, entry in enumerate(raw.get(key) or []):
                    if entry not in entries:
                        continue
                    try:
                        _query.from_lists(**{key: [entry]})
                    except QueryError as inner:
                        self.add(f"{_key(path, key)}[{index}]", inner.message)
            if len(self.problems) == before:
                self.add(path, exc.message)
            return None, ""
        if listed is not None:
            parts.append(listed)
        combined = parts[0] if len(parts) == 1 else _query.all_of(*parts)
        if not text or listed is not None:
            text = str(combined)
        return combined.with_proximity(proximity), text

    def _notify(
        self, raw: dict[str, Any], path: str, channel_names: set[str], typos: set[str]
    ) -> list[str]:
        key_path = _key(path, "notify")
        if "notify" not in raw:
            if "notify" not in typos:
                self.add(
                    key_path,
                    'is required: the channels to alert, such as notify = ["terminal"]'
                    + self._channel_help(channel_names),
                )
            return []
        if isinstance(raw["notify"], list) and not raw["notify"]:
            self.add(
                key_path, "is empty; name at least one channel" + self._channel_help(channel_names)
            )
            return []
        names = self._string_list(raw, "notify", path, '["phone", "team"]')
        known = sorted(channel_names)
        for index, name in enumerate(raw["notify"] if names else []):
            if isinstance(name, str) and name.strip() and name not in channel_names:
                hint = _did_you_mean(name, known) or self._channel_help(channel_names)
                self.add(f"{key_path}[{index}]", f"no channel named {_show(name)}{hint}")
        return names

    @staticmethod
    def _channel_help(channel_names: set[str]) -> str:
        if not channel_names:
            return "; [channels] defines none yet"
        return "; [channels] defines " + ", ".join(sorted(channel_names))

    def _scope(
        self, raw: dict[str, Any], path: str, source_names: dict[str, str], tags: set[str]
    ) -> list[str]:
        if "sources" not in raw:
            return []
        key_path = _key(path, "sources")
        if isinstance(raw["sources"], list) and not raw["sources"]:
            self.add(key_path, "is empty; remove the key to watch all sources")
            return []
        entries = self._string_list(raw, "sources", path, '["tag:labs", "hn"]')
        candidates = list(source_names) + [f"tag:{t}" for t in sorted(tags)]
        for index, entry in enumerate(raw["sources"] if entries else []):
            if not isinstance(entry, str) or not entry.strip():
                continue
            entry_path = f"{key_path}[{index}]"
            if entry.startswith("tag:"):
                tag = entry[4:]
                if tag not in tags:
                    hint = _did_you_mean(entry, candidates)
                    if not hint and tag in source_names:
                        hint = f'; "{tag}" is a source name: write "{tag}" without tag:'
                    self.add(entry_path, f"no source has the tag {_show(tag)}{hint}")
            elif entry not in source_names:
                if entry in tags:
                    hint = f'; did you mean "tag:{entry}"? (tags are written tag:NAME)'
                else:
                    hint = _did_you_mean(entry, candidates)
                self.add(entry_path, f"no source named {_show(entry)}{hint}")
        return entries
