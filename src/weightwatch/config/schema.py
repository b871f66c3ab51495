"""The config file's keys, declared once: one table per TOML table.

In the manner of Apprise's per-plugin ``template_tokens`` / ``template_args`` (a dict per
argument with its type, default, min/max and allowed values, read both by the plugin and by
the tools that describe it), each ``Key`` says its type, default, bounds, an example and a
one-line help. These tables drive:

* parsing and the type and bound messages of the plain types (``check.Checker``);
* unknown-key hints: did-you-mean within a table, and "``interval`` belongs in [[source]]"
  for a key written in the wrong table (``misplaced``);
* the settings the ``check`` summary lists (``summary.summary``);
* the generated reference ``docs/config.md`` (``reference.reference_markdown``; regenerate
  it with ``make docs``).

The model's dataclass defaults come from here too (``model``), and a test checks that every
dataclass field and every key agree. Queries, templates, URLs, selectors and ``${ENV}`` keep
their own checking code in ``check``; their keys are still listed here.

Standard library only (plus ``units`` and the pure ``delivery.policy`` constant), so the model
can import it without loading any library wrapper.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from weightwatch.config.units import format_duration, format_size
from weightwatch.delivery.policy import MIN_DIGEST_PERIOD

#: The longest digest period: 30 days.
MAX_DIGEST_PERIOD = 30 * 86400.0

#: Types whose parsing and messages are generic (``check.Checker._plain``); the others are
#: checked by their own code in ``check``.
PLAIN_TYPES = ("duration", "size", "integer", "number", "boolean", "choice", "string", "strings")

#: Each type's short name (the docs' Type column) and what a value of it looks like.
TYPES = {
    "duration": ("duration", '"30s", "15m", "2h", "1d", "1h30m"; a bare integer is seconds'),
    "size": ("size", '"500KB", "10MB", "1GB" (KB, MB, GB count in 1024s); a bare integer is bytes'),
    "integer": ("whole number", "5, without quotes"),
    "number": ("number", "90 or 90.5, without quotes"),
    "boolean": ("true/false", "true or false, lowercase, without quotes"),
    "choice": ("choice", "one of the strings listed under Allowed"),
    "string": ("string", "one line of text in quotes"),
    "strings": ("list of strings", '["open weights", "open-weight"]'),
    "tags": ("list of names", '["ai", "labs"]; each a name (see name)'),
    "path": ("path", 'a file path in quotes; "~" is your home folder'),
    "timezone": ("time zone", 'an IANA name such as "Europe/Berlin" or "America/New_York"'),
    "channel": ("channel name", "the name of a channel in [channels]"),
    "channels": ("list of channel names", '["phone", "team"]: names of channels in [channels]'),
    "name": (
        "name",
        'lowercase letters, digits, ".", "_" and "-", starting with a letter or digit',
    ),
    "url": ("URL", "an http:// or https:// address"),
    "urls": (
        "notification URLs",
        'one Apprise URL ("ntfy://ntfy.sh/topic") or a list of them; ${VAR} is expanded',
    ),
    "selector": ("CSS selector", '"main", "article .post", "#releases li"'),
    "ignore": ("ignore list", "CSS selectors and /regular expressions/ of text to leave out"),
    "query": (
        "query",
        'words and "quoted phrases" with AND, OR, NOT (uppercase) and parentheses; -word, '
        "NEAR/n, title:word and /regular expressions/ too",
    ),
    "template": (
        "template",
        "a Jinja2 template (sandboxed), checked by weightwatch check; placeholders: rule, rules, "
        "title, link, source, published, terms, snippet, other_sources, count, channel, related",
    ),
    "digest": ("digest", '"1h" (at most one message per period) or "daily HH:MM" (local time)'),
    "quiet": ("quiet hours", '"22:00-07:00" (local time); the range may wrap past midnight'),
    "scope": ("source scope", '["hn", "tag:labs"]: source names, or "tag:NAME" for a tag'),
}


@dataclass(frozen=True)
class Key:
    """One key of one table: what it takes, its default, its bounds and a one-line help."""

    name: str
    type: str  # a key of TYPES
    help: str
    example: str = ""  # TOML as a user writes it: '"15m"', '["ai", "labs"]'
    default: Any = None  # the value when the key is absent; None: no value
    default_text: str = ""  # how the docs show a default the value cannot say
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()  # type "choice"
    why: str = ""  # said after a bound: " so that sites are not polled too often"
    why_max: str = ""  # why the upper bound: "a source polled less than monthly is unwatched"
    noun: str = ""  # what a value of the wrong type should have been: "a time zone name"
    required: bool = False
    env: bool = False  # ${VAR} is expanded in this value
    field: str = ""  # the model attribute, when it is not the key's name

    @property
    def attr(self) -> str:
        return self.field or self.name

    def toml(self, value: Any) -> str:
        """``value`` (as the model holds it) written back as TOML: 5400.0 -> ``"1h30m"``."""
        if self.type == "duration":
            return json.dumps(format_duration(value))
        if self.type == "size":
            return json.dumps(format_size(value))
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value == int(value):
            return str(int(value))
        if isinstance(value, tuple | list):
            return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
        return str(value)

    def bound(self, value: float) -> str:
        """A bound as the file would write it: ``5s``, ``1KB``, ``64``."""
        if self.type in ("duration", "digest"):
            return format_duration(value)
        if self.type == "size":
            return format_size(int(value))
        return f"{value:g}"

    def bounds_text(self) -> str:
        """The allowed range or values, for the docs: ``1 to 64``, ``at least 5s``."""
        if self.values:
            return ", ".join(json.dumps(v) for v in self.values)
        if self.max is None:
            return f"at least {self.bound(self.min)}" if self.min else ""
        if self.min is None:
            return f"at most {self.bound(self.max)}"
        return f"{self.bound(self.min)} to {self.bound(self.max)}"


@dataclass(frozen=True)
class Table:
    """One TOML table: its keys in the order messages and docs list them."""

    name: str  # as in key paths: "settings", "source", "channels", "rule"
    header: str  # as written: "[settings]", "[[source]]"
    help: str
    misplaced: str  # said of one of its keys written in another table
    keys: tuple[Key, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys)

    def __getitem__(self, name: str) -> Key:
        for key in self.keys:
            if key.name == name:
                return key
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(key.name == name for key in self.keys)


_DB_DEFAULT = (
    "$STATE_DIRECTORY/weightwatch.db, else $XDG_STATE_HOME/weightwatch/weightwatch.db, "
    "else ~/.local/state/weightwatch/weightwatch.db"
)

SETTINGS = Table(
    "settings",
    "[settings]",
    "How weightwatch polls, fetches and groups stories. Every key is optional.",
    "is a [settings] key: put it below the [settings] header",
    (
        Key(
            "database",
            "path",
            "The SQLite file of seen items and sent alerts; a relative path is relative to "
            "$STATE_DIRECTORY when set, else to the config file's folder; ~ is your home.",
            '"~/weightwatch.db"',
            default_text=_DB_DEFAULT,
        ),
        Key(
            "interval",
            "duration",
            "The request budget of the sources without their own interval: together they "
            "make no more requests than polling each this often. With schedule = "
            '"adaptive" the requests go where items arrive; with "fixed" each such source '
            "is polled exactly this often.",
            '"15m"',
            default=15 * 60.0,
            min=5.0,
            max=30 * 86400.0,
            why_max="a source polled less often than monthly is not being watched",
            why=" so that sites are not polled too often",
        ),
        Key(
            "schedule",
            "choice",
            'How sources without their own interval are polled: "adaptive" spends the '
            "budget of settings.interval where items arrive (often for busy feeds, at the "
            "hours they publish; rarely for quiet ones), each source between min_interval "
            'and max_interval; "fixed" polls each every settings.interval. A source\'s own '
            "interval is always kept as a promise (polled at least that often).",
            '"fixed"',
            default="adaptive",
            values=("adaptive", "fixed"),
        ),
        Key(
            "min_interval",
            "duration",
            'With schedule = "adaptive": the shortest wait between two polls of a source.',
            '"5m"',
            default=120.0,
            min=5.0,
            max=86400.0,
            why_max="a shorter max_interval would be needed anyway",
            why=" so that sites are not polled too often",
        ),
        Key(
            "max_interval",
            "duration",
            'With schedule = "adaptive": the longest wait between two polls of a source '
            "(unless its server asks for longer with Retry-After, Cache-Control or ttl).",
            '"2h"',
            default=3600.0,
            min=5.0,
            max=30 * 86400.0,
            why_max="a source polled less often than monthly is not being watched",
            why=" so that sites are not polled too often",
        ),
        Key(
            "timeout",
            "duration",
            "The total time one fetch may take (connect, redirects, download).",
            '"20s"',
            default=20.0,
            min=1.0,
            max=600.0,
            why_max="a longer fetch would hold a worker and the sources behind it",
        ),
        Key(
            "max_body",
            "size",
            "The largest response body accepted, after decompression.",
            '"10MB"',
            default=10 * 1024 * 1024,
            min=1024,
            max=1024**3,
            why_max="a body is held in memory while it is parsed",
        ),
        Key(
            "workers",
            "integer",
            "How many sources are fetched at the same time (never two from one host at once).",
            "8",
            default=8,
            min=1,
            max=64,
            why_max="each worker is a thread and a connection",
        ),
        Key(
            "host_spacing",
            "duration",
            "The pause between the end of one request to a host and the start of the next "
            "(requests to one host never overlap); the daemon and `once` both keep it.",
            '"1s"',
            default=1.0,
            min=0.0,
            max=60.0,
            why_max="longer would starve the other sources on a host",
        ),
        Key(
            "user_agent",
            "string",
            "The User-Agent header of every request; ${VAR} is expanded here.",
            '"weightwatch (you@example.org)"',
            default="",
            default_text="weightwatch's own, naming the program",
            noun="a string",
            env=True,
        ),
        Key(
            "private_addresses",
            "choice",
            "Whether a fetch or a redirect may reach loopback, private (RFC 1918, fc00::/7), "
            'link-local, unspecified or multicast addresses: "refuse" allows them only to the '
            'host and port a source\'s own url names, "allow" allows them all, "auto" '
            "refuses under systemd (a server) and allows otherwise.",
            '"refuse"',
            default="auto",
            values=("auto", "refuse", "allow"),
        ),
        Key(
            "dedup_window",
            "duration",
            "How far back a hit may join an earlier story by a similar title or shared "
            'distinctive words; "0s" keeps only the same-link check (docs/dedup.md).',
            '"3d"',
            default=3 * 24 * 3600.0,  # matching.story.TUNING.window (a test keeps them equal)
            min=0.0,
            max=365 * 86400.0,
            why_max="a story a year old is news again; a longer window only slows matching",
        ),
        Key(
            "title_similarity",
            "number",
            "How alike two titles must be (a percentage) to be one story.",
            "90",
            default=90.0,  # matching.dedup.DEFAULT_THRESHOLD (a test keeps them equal)
            min=0.0,
            max=100.0,
            why=" (a percentage)",
        ),
        Key(
            "max_alerts_per_poll",
            "integer",
            "How many alerts one poll of a source sends one by one to each channel URL; "
            "the rest of that poll fold into one message naming how many more matched and "
            "listing the first titles (every match is still stored: `weightwatch hits`).",
            "20",
            default=20,  # a normal poll sends fewer; chat services allow ~20-30 a minute
            min=1,
            max=1000,
        ),
        Key(
            "timezone",
            "timezone",
            'The time zone of digests ("daily 08:00") and quiet hours.',
            '"Europe/Berlin"',
            default="",
            default_text="this machine's local zone",
            noun="a time zone name",
        ),
        Key(
            "ops",
            "channel",
            "The channel told when a source breaks or recovers, goes stale, a "
            "notification URL is failing or works again, or alerts expire undelivered.",
            '"terminal"',
            default="",
            default_text="none: such messages are only logged",
            noun="a channel name",
        ),
        Key(
            "health_failures",
            "integer",
            "Failed polls in a row after which a source counts as broken.",
            "5",
            default=5,
            min=1,
            max=1000,
            why_max="a source failing that often is broken by any measure",
        ),
        Key(
            "health_after",
            "duration",
            "A failing source counts as broken this long after its last success.",
            '"24h"',
            default=24 * 3600.0,
            min=5.0,
            max=365 * 86400.0,
            why_max="a source without a good poll for a year is broken by any measure",
        ),
        Key(
            "ops_failing_after",
            "integer",
            "Failed sends in a row after which the ops channel hears that a notification URL"
            ' is failing (once, then "working again" at its next success).',
            "10",
            default=10,
            min=2,
            max=1000,
            why=" so that a flaky channel is not an outage: one failing 30 % of sends at random"
            " has 10 in a row about once in 250,000 sends",
            why_max="a URL failing that often is failing by any measure",
        ),
        Key(
            "ops_failing_for",
            "duration",
            "A notification URL whose sends have all failed for this long (5 or more of"
            " them: one alert retried with backoff) counts as failing.",
            '"10m"',
            default=600.0,
            min=60.0,
            max=24 * 3600.0,
            why=" so that one retry (30 s after the first attempt) cannot make a URL failing",
            why_max="an alert is given up on after 24 h",
        ),
        Key(
            "retention",
            "duration",
            "How long each item's text is kept for explain and backtest. Item ids are kept "
            "while the feed serves the item and at least 90 days (or this long) after: an item "
            "a feed serves again after longer is new again (docs/capacity.md).",
            '"30d"',
            default=30 * 86400.0,
            min=86400.0,
            max=3650 * 86400.0,
            why_max="ten years of items; a longer time only grows the database",
        ),
    ),
)

#: The source keys that apply to web pages only (docs/pages.md).
PAGE_KEYS = ("selector", "ignore", "prefer_feed")

SOURCE = Table(
    "source",
    "[[source]]",
    "One table per feed or web page to poll.",
    "belongs in a [[source]]: is a [[source]] header missing above it?",
    (
        Key(
            "name",
            "name",
            "The source's unique name, used by rules' sources and in alerts.",
            '"openai-news"',
            required=True,
        ),
        Key(
            "url",
            "url",
            "The address of the feed or page; ${VAR} is expanded here, and what comes from the "
            "environment, a user:password@ and token-like ?token= values are masked wherever "
            "the URL is shown or stored.",
            '"https://openai.com/news/rss.xml"',
            required=True,
            env=True,
        ),
        Key(
            "interval",
            "duration",
            "This source's own poll interval.",
            '"1h"',
            default_text="settings.interval",
            min=5.0,
            max=30 * 86400.0,
            why_max="a source polled less often than monthly is not being watched",
            why=" so that sites are not polled too often",
        ),
        Key(
            "tags",
            "tags",
            'Labels that rules can scope to with "tag:NAME".',
            '["ai", "labs"]',
            default=(),
        ),
        Key(
            "backfill",
            "boolean",
            "true alerts on what is already there at the first poll; false only remembers it.",
            "true",
            default=False,
        ),
        Key(
            "stale_after",
            "duration",
            "With settings.ops: one message when the source has produced no new item for "
            "this long, and one when it has again.",
            '"14d"',
            default_text="never",
            min=3600.0,
            max=365 * 86400.0,
            why_max="a year without a new item is stale by any measure",
        ),
        Key(
            "kind",
            "choice",
            '"auto" reads a feed as a feed and an HTML page as a page; "feed" or "page" '
            "insists (docs/pages.md).",
            '"page"',
            default="auto",
            values=("auto", "feed", "page"),
        ),
        Key(
            "selector",
            "selector",
            "Pages only: the CSS selector of the part of the page to watch.",
            '"main .releases"',
            default_text="the whole page",
            noun='a CSS selector such as "main .releases"',
        ),
        Key(
            "ignore",
            "ignore",
            "Pages only: CSS selectors and /regular expressions/ of text left out "
            "(counters, timestamps).",
            """[".counter", '/\\d+ views/']""",
            default=(),
        ),
        Key(
            "prefer_feed",
            "boolean",
            "Pages only: true switches to the feed the page advertises, if any.",
            "true",
            default=False,
        ),
    ),
)

CHANNEL = Table(
    "channels",
    "[channels]",
    'Where alerts go: name = "URL", name = ["URL", ...], or a table [channels.NAME] with '
    "the keys below (docs/reliability.md). URLs are Apprise URLs; ${VAR} is expanded in them "
    "and what comes from the environment is masked wherever a URL is shown.",
    'belongs in a channel written as a table, [channels.NAME] with urls = "..."',
    (
        Key(
            "urls",
            "urls",
            "One notification URL or a list of them (required in the table form).",
            '"ntfy://ntfy.sh/${NTFY_TOPIC}"',
            required=True,
            env=True,
        ),
        Key(
            "format",
            "choice",
            '"auto" is Markdown for Slack, Discord, Telegram and Matrix, text elsewhere; '
            '"html" escapes everything that comes from feeds.',
            '"text"',
            default="auto",
            values=("auto", "text", "markdown", "html"),
        ),
        Key(
            "digest",
            "digest",
            "Batch this channel's alerts into one message per period, or once a day.",
            '"1h"',
            default_text="none: each alert is sent as it comes",
            min=MIN_DIGEST_PERIOD,
            max=MAX_DIGEST_PERIOD,
            why_max="a digest held longer is old news, and the alerts it holds pile up",
        ),
        Key(
            "max_per_hour",
            "integer",
            "At most this many messages an hour; the rest roll into one digest.",
            "10",
            default_text="no limit",
            min=1,
            max=3600,
            why_max="one a second; more is no limit",
        ),
        Key(
            "quiet",
            "quiet",
            "Quiet hours: nothing is sent then; what arrives comes as one digest after.",
            '"22:00-07:00"',
            default_text="none",
        ),
        Key(
            "title",
            "template",
            "The title of this channel's alerts (placeholders: delivery/templates.py).",
            '"{{ rule }}: {{ title }}"',
            default_text="the story's title",
            field="title_template",
        ),
        Key(
            "body",
            "template",
            "The body of this channel's alerts.",
            '"{{ source }} · {{ published }}\\n{{ link }}"',
            default_text="source, link and snippet",
            field="body_template",
        ),
    ),
)

RULE = Table(
    "rule",
    "[[rule]]",
    "One table per thing you want to hear about: an item that matches alerts the rule's "
    "channels. A rule needs query, any or all; given together they are combined with AND.",
    "belongs in a [[rule]]: is a [[rule]] header missing above it?",
    (
        Key(
            "name",
            "name",
            "The rule's unique name, shown in alerts.",
            '"openai-open-weights"',
            required=True,
        ),
        Key(
            "query",
            "query",
            "A search over each item's title and text.",
            """'OpenAI AND "open weights"'""",
        ),
        Key(
            "any",
            "strings",
            "At least one of these words or phrases must appear.",
            '["open weights", "open-weight"]',
            default=(),
        ),
        Key(
            "all",
            "strings",
            "Every one of these must appear.",
            '["open weights", "open-weight"]',
            default=(),
        ),
        Key(
            "none",
            "strings",
            "None of these may appear.",
            '["open weights", "open-weight"]',
            default=(),
        ),
        Key(
            "notify",
            "channels",
            "The channels to alert.",
            '["phone", "team"]',
            required=True,
        ),
        Key(
            "sources",
            "scope",
            "The sources the rule looks at.",
            '["tag:labs", "hn"]',
            default=(),
            default_text="all sources",
        ),
        Key(
            "digest",
            "digest",
            "Batch this rule's alerts into one message on every channel.",
            '"daily 08:00"',
            default_text="none",
            min=MIN_DIGEST_PERIOD,
            max=MAX_DIGEST_PERIOD,
            why_max="a digest held longer is old news, and the alerts it holds pile up",
        ),
        Key(
            "title",
            "template",
            "The title of this rule's alerts, over the channel's.",
            '"{{ rule }}: {{ title }}"',
            default_text="the channel's",
            field="title_template",
        ),
        Key(
            "body",
            "template",
            "The body of this rule's alerts, over the channel's.",
            '"{{ link }}"',
            default_text="the channel's",
            field="body_template",
        ),
        Key(
            "on_update",
            "choice",
            'What a later report of an alerted story does: "silent" attaches it, "digest" '
            'holds it for a digest, "alert" sends "Update: ...".',
            '"digest"',
            default="silent",
            values=("silent", "digest", "alert"),
        ),
        Key(
            "proximity",
            "integer",
            "A quoted phrase also matches with up to this many other words between its words.",
            "3",
            default=0,
            min=0,
            max=50,  # matching.query.MAX_DISTANCE (a test keeps them equal)
            noun="a number of words",
        ),
    ),
)

_BARE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+\Z")
TABLES = (SETTINGS, CHANNEL, SOURCE, RULE)  # in the order of config.example.toml
#: Where a key written in the wrong table is sent, first match first.
_HOMES = (SOURCE, RULE, SETTINGS, CHANNEL)


def close_match(word: str, candidates: Sequence[str], cutoff: float = 0.6) -> str | None:
    """The candidate ``word`` is most probably a typo of, if any (difflib ratio >= cutoff)."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: str, candidates: Sequence[str], shown: dict[str, str] | None = None) -> str:
    """``; did you mean "workers"?`` when ``word`` is close to a candidate (or the same but
    for case: "HTML" -> "html"), else ``""``."""
    same = [c for c in candidates if c.lower() == word.lower()]
    close = same or difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not close:
        return ""
    written = shown[close[0]] if shown else json.dumps(close[0], ensure_ascii=False)
    return f"; did you mean {written}?"


def key_path(parent: str, key: str) -> str:
    """``parent.key``, the key quoted as TOML would when it is not a bare key."""
    shown = key if _BARE_KEY_RE.fullmatch(key) else json.dumps(key, ensure_ascii=False)
    return f"{parent}.{shown}" if parent else shown


def misplaced(table: Table, key: str) -> str | None:
    """``"interval" belongs in ...`` for a key of another table written in ``table``, else None.

    A key nearly equal to one of ``table``'s own (difflib ratio >= 0.85: "url" in a channel
    table, next to "urls") is left to did-you-mean.
    """
    if key in table or close_match(key, table.names, cutoff=0.85):
        return None
    if table is CHANNEL and key == "name":
        return '"name" is not needed: the header [channels.NAME] names the channel'
    for home in _HOMES:
        if home is not table and key in home:
            return f'"{key}" {home.misplaced}'
    return None


def misplaced_top_level(key: str) -> str:
    """The message for ``key = ...`` written above every table header."""
    if key in SETTINGS:
        return (
            f'unknown top-level key; "{key}" belongs in [settings]: '
            "move it below the [settings] header"
        )
    if key in SOURCE or key in RULE:
        return (
            f'unknown top-level key; "{key}" belongs in a [[source]] or [[rule]]: '
            "is the header missing above it?"
        )
    if key in CHANNEL:
        return f'unknown top-level key; "{key}" {CHANNEL.misplaced}'
    close = close_match(key, SETTINGS.names)
    if close:
        return f'unknown top-level key; did you mean "{close}" (in [settings])?'
    return "unknown top-level key; keys go in [settings], [channels], [[source]] or [[rule]]"
