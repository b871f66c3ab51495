"""Checking a parsed TOML document against the key tables of ``schema``.

``Checker.run`` collects every problem in the document (``reading.parse`` raises them at once
as ``ConfigError.problems``), each with its key path
(``rule[2].query: unbalanced parenthesis at column 14``). Key paths use the table names as
the user writes them: ``settings.interval``, ``channels.team[1]``, ``source[3].url``,
``rule[2].notify[0]`` (indexes are 0-based, in file order).

The plain types of ``schema.PLAIN_TYPES`` are parsed and worded from their ``Key`` alone, by
one ``Checker`` method per type. Names, feed URLs, notification URLs, selectors, templates, queries,
digests, quiet hours and ``${ENV}`` have their own code here. The wrappers that check URLs,
selectors and templates (apprise, selectolax, jinja2) are imported inside the functions
that use them, so a config without channels, pages or templates loads none of them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from weightwatch.config.env import expand, scrub, url_credentials
from weightwatch.config.model import Channel, Config, Settings, Source
from weightwatch.config.paths import default_database_path, resolve_database
from weightwatch.config.rules import check_rules
from weightwatch.config.schema import (
    CHANNEL,
    PAGE_KEYS,
    SETTINGS,
    SOURCE,
    TABLES,
    Key,
    Table,
    close_match,
    did_you_mean,
    key_path,
    misplaced,
    misplaced_top_level,
)
from weightwatch.config.units import parse_duration, parse_size, show
from weightwatch.delivery.policy import Digest, parse_daily, parse_quiet
from weightwatch.errors import Problem

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
_SPACE_RE = re.compile(r"\s")  # what str.isspace() calls a space, every code point alike
_NAME_HELP = 'use lowercase letters, digits, ".", "_" and "-", starting with a letter or digit'

#: A value that failed its check (the problem is already recorded).
BAD: Any = object()


def _root(path: str) -> str:
    """The top-level key a key path starts with: ``rule[2].query`` -> ``rule``."""
    if path.startswith('"'):
        try:
            return str(json.JSONDecoder().raw_decode(path)[0])
        except ValueError:
            return path
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def one_of(values: Sequence[str]) -> str:
    """``"a", "b" or "c"``."""
    quoted = [json.dumps(v) for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _at_most(key: Key, found: Any) -> str:
    why = f" ({key.why_max})" if key.why_max else ""
    return f"must be at most {key.bound(key.max or 0)}{why}, found {show(found)}"


class Checker:
    """One pass over the parsed TOML, collecting every problem."""

    def __init__(
        self, env: Mapping[str, str], path: Path | None, *, need_secrets: bool = True
    ) -> None:
        self.env = env
        self.path = path
        self.need_secrets = need_secrets
        self.problems: list[Problem] = []
        self.secrets: list[str] = []
        #: With need_secrets=False: ``${VAR}`` left as written because VAR is not set.
        self.unexpanded: list[Problem] = []
        self.handlers: dict[str, Callable[[Key, Any, str, dict[str, Any]], Any]] = {
            # the plain types (schema.PLAIN_TYPES): checked and worded from the Key alone
            "duration": self._duration,
            "size": self._size,
            "integer": self._integer,
            "number": self._number,
            "boolean": self._boolean,
            "choice": self._choice,
            "string": self._string,
            "strings": self._strings,
            # types with their own checks
            "path": self._database,
            "timezone": self._timezone,
            "channel": self._channel_name,
            "tags": self._tags,
            "selector": self._selector,
            "ignore": self._ignore,
            "digest": self.digest,
            "quiet": self._quiet,
            "template": self.template,
        }

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def final_problems(self, data: Mapping[str, Any]) -> list[Problem]:
        """The problems in file order (by top-level table), with every secret masked."""
        order = {key: index for index, key in enumerate(data)}

        def place(problem: Problem) -> int:
            return order.get(_root(problem.path), -1)

        return [
            Problem(scrub(p.path, self.secrets), scrub(p.message, self.secrets))
            for p in sorted(self.problems, key=place)
        ]

    # ----------------------------------------------------------------- whole file

    def run(self, data: dict[str, Any]) -> Config | None:
        self._top_level(data)
        settings = self._settings(self._table(data, "settings"))
        channels, channel_names = self._channels(self._table(data, "channels"))
        sources, source_names, tags = self._sources(self._array(data, "source"), settings)
        rules = check_rules(self, self._array(data, "rule"), channel_names, source_names, tags)
        if settings.ops and settings.ops not in channel_names:
            self.add(
                "settings.ops",
                f"no channel named {show(settings.ops)}"
                + did_you_mean(settings.ops, sorted(channel_names)),
            )
        if self.problems:
            return None
        secrets = tuple(dict.fromkeys(self.secrets))
        if channels:
            from weightwatch.delivery.notify import mask_url

            def shown(url: str) -> str:
                masked = scrub(mask_url(url, secrets), secrets)
                if self.unexpanded and "${" in url:  # left as written: show the ${VAR}
                    if re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", url):
                        return url
                    masked = masked.replace("$%7B", "${").replace("%7D", "}")
                return masked

            channels = {
                name: replace(ch, masked_urls=tuple(shown(u) for u in ch.urls))
                for name, ch in channels.items()
            }
        return Config(
            settings=settings,
            sources=tuple(sources),
            channels=channels,
            rules=tuple(rules),
            path=self.path,
            secrets=secrets,
            unexpanded=tuple(self.unexpanded),
        )

    def _top_level(self, data: dict[str, Any]) -> None:
        known = {table.name: table.header for table in TABLES}
        for key, value in data.items():
            if key in known:
                continue
            if not isinstance(value, dict | list):
                self.add(key_path("", key), misplaced_top_level(key))
                continue
            written = f"[[{key}]]" if isinstance(value, list) else f"[{key}]"
            hint = did_you_mean(key, list(known), known)
            if not hint:
                hint = "; the tables are " + ", ".join(known.values())
            self.add(key_path("", key), f"unknown table {written}{hint}")

    def _table(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if isinstance(value, dict):
            return value
        if isinstance(value, list):
            self.add(name, f"write [{name}] once, with single brackets, not [[{name}]]")
        else:
            self.add(name, f"expected a [{name}] table, found {show(value)}")
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
            self.add(name, f"expected [[{name}]] tables, found {show(value)}")
            return []
        tables = []
        for index, entry in enumerate(value):
            path = f"{name}[{index}]"
            if isinstance(entry, dict):
                tables.append((path, entry))
            else:
                self.add(path, f"expected a table ([[{name}]]), found {show(entry)}")
        return tables

    def unknown_keys(self, raw: dict[str, Any], table: Table, path: str) -> set[str]:
        """Report keys ``table`` does not have; return its keys suggested for typos."""
        suggested: set[str] = set()
        for key in raw:
            if key in table:
                continue
            elsewhere = misplaced(table, key)
            close = close_match(key, table.names)
            if elsewhere:
                message = f"unknown key; {elsewhere}"
            elif close:
                suggested.add(close)
                message = f'unknown key; did you mean "{close}"?'
            else:
                message = f"unknown key; the keys here are {', '.join(table.names)}"
            self.add(key_path(path, key), message)
        return suggested

    def values(
        self, raw: dict[str, Any], table: Table, path: str, skip: Sequence[str] = ()
    ) -> dict[str, Any]:
        """The checked values of ``table``'s keys present in ``raw`` (by model attribute),
        in table order; the keys in ``skip`` are left to their caller."""
        values: dict[str, Any] = {}
        for key in table.keys:
            if key.name not in raw or key.name in skip:
                continue
            where = key_path(path, key.name)
            if table is SOURCE and key.name in PAGE_KEYS and values.get("kind") == "feed":
                self.add(
                    where,
                    'applies to web pages only, but kind = "feed"; '
                    'use kind = "page" (or "auto") or remove the key',
                )
                continue
            handler = self.handlers[key.type]
            try:
                value = handler(key, raw[key.name], where, values)
            except (RecursionError, MemoryError, OverflowError, ValueError, TypeError) as exc:
                # Every check words its own problems; this keeps a surprise a config problem.
                value = self._bad(where, f"cannot be used ({type(exc).__name__})")
            if value is not BAD:
                values[key.attr] = value
        return values

    # ----------------------------------------------------------------- plain types

    def _bad(self, path: str, message: str) -> Any:
        self.add(path, message)
        return BAD

    def _duration(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            return self._bad(path, str(exc))
        if key.min is not None and seconds < key.min:
            return self._bad(
                path, f"must be at least {key.bound(key.min)}{key.why}, found {show(value)}"
            )
        if key.max is not None and seconds > key.max:
            return self._bad(path, _at_most(key, value))
        return seconds

    def _size(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        try:
            size = parse_size(value)
        except ValueError as exc:
            return self._bad(path, str(exc))
        return self._in_bounds(key, size, value, path)

    def _integer(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            return self._bad(
                path,
                f"expected a whole number from {key.bounds_text()} such as {key.example}, "
                f"found {show(value)}",
            )
        return self._in_bounds(key, value, value, path)

    def _number(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return self._bad(
                path,
                f"expected a number from {key.bounds_text()} such as {key.example}, "
                f"found {show(value)}",
            )
        return self._in_bounds(key, float(value), value, path)

    def _in_bounds(self, key: Key, number: float, found: Any, path: str) -> Any:
        """``number`` when within the key's min and max, else a problem about ``found``."""
        low = -math.inf if key.min is None else key.min
        high = math.inf if key.max is None else key.max
        if low <= number <= high:
            return number
        why = f" ({key.why_max})" if key.why_max and number > high else key.why
        return self._bad(
            path,
            f"must be between {key.bound(low)} and {key.bound(high)}{why}, found {show(found)}",
        )

    def _boolean(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        if isinstance(value, bool):
            return value
        return self._bad(path, f"expected true or false, found {show(value)}")

    def _choice(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        if value in key.values:
            return value
        hint = did_you_mean(value, key.values) if isinstance(value, str) else ""
        return self._bad(path, f"expected {one_of(key.values)}, found {show(value)}{hint}")

    def _string(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        """One line of text; ``${VAR}`` expanded when the key allows it; stripped."""
        if not isinstance(value, str):
            return self._bad(path, f"expected {key.noun}, found {show(value)}")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            return self._bad(path, "must be a single line without control characters")
        expanded = self._expand(value, path) if key.env else value
        return BAD if expanded is None else expanded.strip()

    def _strings(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        return tuple(self.string_list(value, path, key.example))

    def string_list(self, value: Any, path: str, example: str, *, names: bool = False) -> list[str]:
        """A list of non-empty strings (order kept, repeats dropped); problems added."""
        if not isinstance(value, list):
            self.add(path, f"expected a list such as {example}, found {show(value)}")
            return []
        result: list[str] = []
        for index, entry in enumerate(value):
            entry_path = f"{path}[{index}]"
            if not isinstance(entry, str):
                self.add(entry_path, f"expected a string, found {show(entry)}")
            elif not entry.strip():
                self.add(entry_path, "is empty")
            elif names and not _NAME_RE.fullmatch(entry):
                self.add(entry_path, f"{show(entry)} is not a valid tag: {_NAME_HELP}")
            elif entry not in result:
                result.append(entry)
        return result

    def _expand(self, text: str, path: str) -> str | None:
        """``${VAR}``, ``${VAR:-default}`` and ``$$``; None (with problems added) on failure.

        With ``need_secrets=False`` (commands that send nothing) a variable that is not set
        is no problem: the text is kept as written and recorded in ``unexpanded``.
        """
        result = expand(text, self.env)
        self.secrets += result.secrets
        if not self.need_secrets and result.unset and len(result.unset) == len(result.problems):
            for name in result.unset:
                self.unexpanded.append(Problem(path, f"environment variable {name} is not set"))
            return text
        for message in result.problems:
            self.add(path, message)
        return result.value

    def _unexpanded_at(self, path: str) -> bool:
        return any(p.path == path for p in self.unexpanded)

    # ----------------------------------------------------------------- own checks

    def _database(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        if not isinstance(value, str):
            return self._bad(path, f"expected a file path string, found {show(value)}")
        if not value.strip():
            return self._bad(path, "is empty; remove the key to use the default state directory")
        if "\x00" in value:
            return self._bad(path, "contains a NUL character")
        return resolve_database(value, config_path=self.path, env=self.env)

    def _timezone(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        if not isinstance(value, str):
            return self._bad(path, f"expected {key.noun}, found {show(value)}")
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only with a timezone set

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            return self._bad(
                path,
                f"unknown time zone {show(value)}; use an IANA name such as"
                ' "Europe/Berlin" or "America/New_York"',
            )
        return value

    def _channel_name(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        if not isinstance(value, str):
            return self._bad(path, f"expected {key.noun}, found {show(value)}")
        return value  # checked against [channels] in run()

    def _tags(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        return tuple(self.string_list(value, path, key.example, names=True))

    def _selector(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        if not isinstance(value, str):
            return self._bad(path, f"expected {key.noun}, found {show(value)}")
        from weightwatch.sources.page import check_selector

        why = check_selector(value)
        return value.strip() if why is None else self._bad(path, why)

    def _ignore(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        entries = self.string_list(value, path, key.example)
        if entries:
            from weightwatch.config.probe import catastrophic, why_catastrophic
            from weightwatch.sources.page import _compile, _is_pattern, check_ignore

            for index, entry in enumerate(value):
                if entry in entries and (why := check_ignore(entry)) is not None:
                    self.add(f"{path}[{index}]", why)
                elif (
                    entry in entries and _is_pattern(entry) and catastrophic(_compile(entry), entry)
                ):
                    self.add(f"{path}[{index}]", why_catastrophic(entry.strip()))
        return tuple(entries)

    def digest(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        """``digest = "1h"`` (at most once per interval) or ``"daily 08:00"`` (local time)."""
        if not isinstance(value, str | int) or isinstance(value, bool):
            return self._bad(path, f'expected "1h" or "daily 08:00", found {show(value)}')
        if isinstance(value, str) and value.strip().lower().startswith("daily"):
            try:
                at = parse_daily(value)
            except ValueError as exc:
                return self._bad(path, str(exc))
            if at is None:
                return self._bad(
                    path, f'expected "daily HH:MM" such as "daily 08:00", found {show(value)}'
                )
            return Digest(daily=at)
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            return self._bad(path, f'{exc}; or "daily 08:00"')
        if key.min is not None and seconds < key.min:
            return self._bad(path, f"must be at least {key.bound(key.min)}, found {show(value)}")
        if key.max is not None and seconds > key.max:
            return self._bad(path, _at_most(key, value) + '; or "daily 08:00"')
        return Digest(every=seconds)

    def _quiet(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        if not isinstance(value, str):
            return self._bad(path, f'expected a range such as "22:00-07:00", found {show(value)}')
        try:
            return parse_quiet(value)
        except ValueError as exc:
            return self._bad(path, str(exc))

    def template(self, key: Key, value: Any, path: str, values: dict[str, Any]) -> Any:
        """A title/body template: compiled and tried on a sample alert now, not at send time."""
        if not isinstance(value, str):
            return self._bad(path, f"expected a template string, found {show(value)}")
        from weightwatch.delivery.templates import TemplateProblem, compile_template

        html = values.get("format") == "html"
        try:
            compile_template(value, html=html)
            if not html:
                compile_template(value, html=True)
        except TemplateProblem as exc:
            return self._bad(path, str(exc))
        except (RecursionError, MemoryError) as exc:
            return self._bad(path, f"the template fails: {type(exc).__name__}")
        return value

    # ----------------------------------------------------------------- [settings]

    def _settings(self, raw: dict[str, Any]) -> Settings:
        self.unknown_keys(raw, SETTINGS, "settings")
        values = self.values(raw, SETTINGS, "settings")
        values.setdefault("database", default_database_path(self.env, config_path=self.path))
        low = values.get("min_interval", SETTINGS["min_interval"].default)
        high = values.get("max_interval", SETTINGS["max_interval"].default)
        refused = {p.path for p in self.problems}
        bounds_ok = not refused & {"settings.min_interval", "settings.max_interval"}
        if bounds_ok and low > high:  # a refused bound already has its own message
            self.add(
                "settings.min_interval",
                f"is {SETTINGS['min_interval'].toml(low)} but settings.max_interval is "
                f"{SETTINGS['max_interval'].toml(high)}; the shortest wait between two polls "
                "cannot be longer than the longest",
            )
        return Settings(**values)

    # ----------------------------------------------------------------- [channels]

    def _channels(self, raw: dict[str, Any]) -> tuple[dict[str, Channel], set[str]]:
        channels: dict[str, Channel] = {}
        names: set[str] = set()
        for name, value in raw.items():
            path = key_path("channels", name)
            names.add(name)  # a channel with a bad URL still exists for rule.notify
            if not _NAME_RE.fullmatch(name):
                self.add(path, f"{show(name)} is not a valid channel name: {_NAME_HELP}")
            options: dict[str, Any] = {}
            if isinstance(value, dict):
                self.unknown_keys(value, CHANNEL, path)
                options = self.values(value, CHANNEL, path, skip=("urls",))
                if "urls" not in value:
                    self.add(path, 'needs urls = "scheme://..." or a list of URLs')
                    continue
                value, path = value["urls"], f"{path}.urls"
            urls = self._channel_urls(name, value, path)
            if urls is not None:
                channels[name] = Channel(name, tuple(urls), (), **options)
        return channels, names

    def _channel_urls(self, name: str, value: Any, path: str) -> list[str] | None:
        """The expanded URLs of one channel, or None when any of them has a problem."""
        entries: list[tuple[str, object]]
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
                f"expected a notification URL string or a list of them, found {show(value)}{hint}",
            )
            return None
        urls = []
        for entry_path, entry in entries:
            if not isinstance(entry, str):
                self.add(entry_path, f"expected a notification URL string, found {show(entry)}")
                continue
            url = self._expand(entry, entry_path)
            if url is None:
                continue
            url = url.strip()
            if self._unexpanded_at(entry_path):
                urls.append(url)  # checked by the commands that send, which expand it
                continue
            if not url:
                self.add(entry_path, "is empty; expected a notification URL such as console://")
                continue
            from weightwatch.delivery.notify import check_url

            why = check_url(url)
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
        return urls if urls and len(urls) == len(entries) else None

    # ----------------------------------------------------------------- [[source]]

    def _sources(
        self, tables: list[tuple[str, dict[str, Any]]], settings: Settings
    ) -> tuple[list[Source], dict[str, str], set[str]]:
        sources: list[Source] = []
        names: dict[str, str] = {}  # name -> path of the source that has it
        urls: dict[str, str] = {}
        tags_seen: set[str] = set()
        for path, raw in tables:
            count = len(self.problems)
            typos = self.unknown_keys(raw, SOURCE, path)
            name = self.name(raw, path, names, "source", SOURCE["name"].example, typos)
            url = self._feed_url(raw, path, urls, typos)
            values = self.values(raw, SOURCE, path, skip=("name", "url"))
            if "interval" in values:
                values["schedule"] = "own"
            else:
                values["interval"] = settings.interval
                values["schedule"] = settings.schedule
            tags_seen.update(values.get("tags", ()))
            if name is not None and url is not None and len(self.problems) == count:
                sources.append(Source(name=name, url=url, **values))
        return sources, names, tags_seen

    def name(
        self,
        raw: dict[str, Any],
        path: str,
        names: dict[str, str],
        kind: str,
        example: str,
        typos: set[str],
    ) -> str | None:
        where = key_path(path, "name")
        if "name" not in raw:
            if "name" not in typos:  # else "did you mean" already said it
                self.add(where, f"is required: every {kind} needs a name such as {example}")
            return None
        value = raw["name"]
        if not isinstance(value, str):
            self.add(where, f"expected a name such as {example}, found {show(value)}")
            return None
        if not _NAME_RE.fullmatch(value):
            self.add(where, f"{show(value)} is not a valid {kind} name: {_NAME_HELP}")
            return None
        if value in names:
            self.add(where, f"{show(value)} is already used by {names[value]}")
            return None
        names[value] = path
        return value

    def _feed_url(
        self, raw: dict[str, Any], path: str, urls: dict[str, str], typos: set[str]
    ) -> str | None:
        where = key_path(path, "url")
        if "url" not in raw:
            if "url" not in typos:
                self.add(where, "is required: the http:// or https:// address of the feed")
            return None
        value = raw["url"]
        if not isinstance(value, str):
            self.add(where, f"expected a URL string, found {show(value)}")
            return None
        expanded = self._expand(value, where)
        if expanded is None:
            return None
        url = expanded.strip()
        if self._unexpanded_at(where):
            return url  # not fetched by the commands that load the config this way
        if _SPACE_RE.search(url):
            self.add(where, "contains spaces; write them as %20")
            return None
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            self.add(where, f"is not a valid URL, found {show(value)}")
            return None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            hint = ""
            if scheme == "feed":
                hint = "; write https:// instead of feed://"
            elif not scheme:
                hint = "; add https:// in front"
            self.add(
                where, f"only http:// and https:// URLs can be fetched, found {show(value)}{hint}"
            )
            return None
        if not parts.hostname:
            self.add(where, f"has no host name, found {show(value)}")
            return None
        if url in urls:
            self.add(where, f"is the same URL as {urls[url]}; each feed needs only one source")
            return None
        urls[url] = path
        self.secrets += url_credentials(url)  # masked wherever secrets are
        return url
