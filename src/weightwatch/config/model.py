"""The validated config as immutable values: ``Config`` of ``Settings``, ``Source``,
``Channel`` and ``Rule``.

Defaults come from the key tables in ``schema`` (a test checks that every field and key
agree). Pure: imports nothing but the standard library, ``schema`` and ``delivery.policy``;
``Query`` is named for the type checker only, so importing the model loads no query engine and
no library wrapper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from weightwatch.config.env import mask_source_url
from weightwatch.config.schema import CHANNEL, RULE, SETTINGS, SOURCE
from weightwatch.delivery.policy import Digest, Policy

if TYPE_CHECKING:
    from weightwatch.errors import Problem
    from weightwatch.matching.query import Query

DEFAULT_INTERVAL: float = SETTINGS["interval"].default
DEFAULT_TIMEOUT: float = SETTINGS["timeout"].default
DEFAULT_MAX_BODY: int = SETTINGS["max_body"].default
DEFAULT_WORKERS: int = SETTINGS["workers"].default
DEFAULT_DEDUP_WINDOW: float = SETTINGS["dedup_window"].default  # story.TUNING.window
DEFAULT_TITLE_SIMILARITY: float = SETTINGS["title_similarity"].default  # dedup's threshold
DEFAULT_HEALTH_FAILURES: int = SETTINGS["health_failures"].default
DEFAULT_HEALTH_AFTER: float = SETTINGS["health_after"].default
DEFAULT_RETENTION: float = SETTINGS["retention"].default

MIN_INTERVAL = float(SETTINGS["interval"].min or 0)
MIN_TIMEOUT = float(SETTINGS["timeout"].min or 0)
MAX_TIMEOUT = float(SETTINGS["timeout"].max or 0)
MIN_MAX_BODY = int(SETTINGS["max_body"].min or 0)
MAX_MAX_BODY = int(SETTINGS["max_body"].max or 0)
MIN_WORKERS = int(SETTINGS["workers"].min or 0)
MAX_WORKERS = int(SETTINGS["workers"].max or 0)

ON_UPDATE = RULE["on_update"].values


@dataclass(frozen=True)
class Settings:
    database: Path
    interval: float = DEFAULT_INTERVAL  # seconds; the budget of adaptive sources
    schedule: str = SETTINGS["schedule"].default  # "adaptive" | "fixed" (sources.schedule)
    min_interval: float = SETTINGS["min_interval"].default  # adaptive: bounds of one wait
    max_interval: float = SETTINGS["max_interval"].default
    timeout: float = DEFAULT_TIMEOUT  # seconds, total for one fetch
    max_body: int = DEFAULT_MAX_BODY  # bytes after decompression
    workers: int = DEFAULT_WORKERS  # concurrent fetches (never two to one host)
    host_spacing: float = SETTINGS["host_spacing"].default  # seconds between requests to a host
    user_agent: str = SETTINGS["user_agent"].default  # "": weightwatch's own User-Agent
    private_addresses: str = SETTINGS["private_addresses"].default  # "auto"|"refuse"|"allow"
    dedup_window: float = DEFAULT_DEDUP_WINDOW  # seconds, for near-identical titles
    title_similarity: float = DEFAULT_TITLE_SIMILARITY  # 0-100, see dedup.py
    max_alerts_per_poll: int = SETTINGS["max_alerts_per_poll"].default  # per source and URL
    timezone: str = SETTINGS["timezone"].default  # IANA name; "" = the machine's local zone
    ops: str = SETTINGS["ops"].default  # channel for "source broken/recovered" and health
    health_failures: int = DEFAULT_HEALTH_FAILURES  # consecutive failures before "broken"
    health_after: float = DEFAULT_HEALTH_AFTER  # or this long without a successful poll
    retention: float = DEFAULT_RETENTION  # keep items' text this long, for explain/backtest
    ops_failing_after: int = SETTINGS["ops_failing_after"].default  # failed sends in a row
    ops_failing_for: float = SETTINGS["ops_failing_for"].default  # or failing this long

    @property
    def tz(self) -> tzinfo:
        if self.timezone:
            from zoneinfo import ZoneInfo  # only with a timezone set: it costs start-up time

            return ZoneInfo(self.timezone)
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC


@dataclass(frozen=True)
class Source:
    name: str
    url: str
    interval: float  # seconds; the source's own or settings.interval
    tags: tuple[str, ...] = SOURCE["tags"].default
    backfill: bool = SOURCE["backfill"].default  # alert on what is there at the first poll
    stale_after: float | None = SOURCE["stale_after"].default  # alert when nothing new so long
    kind: str = SOURCE["kind"].default  # "auto" (decided by the response), "feed" or "page"
    selector: str | None = SOURCE["selector"].default  # page: the CSS selector watched
    ignore: tuple[str, ...] = SOURCE["ignore"].default  # page: selectors, /patterns/ left out
    prefer_feed: bool = SOURCE["prefer_feed"].default  # page: switch to the advertised feed
    # "own": its own interval, a promise (polled at least that often); "adaptive" or "fixed":
    # none of its own, so settings.schedule decides (``sources.schedule.plan``)
    schedule: str = "fixed"


@dataclass(frozen=True)
class Channel:
    name: str
    urls: tuple[str, ...]  # expanded: may hold secrets, never print; use masked_urls
    masked_urls: tuple[str, ...]
    format: str = CHANNEL["format"].default  # "auto" | "text" | "markdown" | "html"
    digest: Digest | None = CHANNEL["digest"].default  # batch this channel's alerts
    max_per_hour: int | None = CHANNEL["max_per_hour"].default  # beyond it, into a digest
    quiet: tuple[time, time] | None = CHANNEL["quiet"].default  # held, then one digest
    title_template: str | None = CHANNEL["title"].default  # Jinja2 (sandboxed)
    body_template: str | None = CHANNEL["body"].default

    @property
    def policy(self) -> Policy:
        return Policy(digest=self.digest, max_per_hour=self.max_per_hour, quiet=self.quiet)


@dataclass(frozen=True)
class Rule:
    name: str
    query: Query  # query, any, all, none combined by AND
    query_text: str  # what the user wrote, for display
    notify: tuple[str, ...]  # channel names
    sources: tuple[str, ...] = RULE["sources"].default  # source names or "tag:NAME"; () = all
    digest: Digest | None = RULE["digest"].default  # batch this rule's alerts on every channel
    title_template: str | None = RULE["title"].default  # overrides the channel's template
    body_template: str | None = RULE["body"].default
    on_update: str = RULE["on_update"].default  # a later report: "silent", "digest", "alert"

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
    #: Loaded for a command that sends nothing: ``${VAR}`` references left as written
    #: because VAR is not set (key path, "environment variable VAR is not set").
    unexpanded: tuple[Problem, ...] = ()

    def masked_sources(self) -> list[tuple[str, str]]:
        """(name, URL) of each source with its credentials masked: what may be stored."""
        return [(s.name, mask_source_url(s.url, self.secrets)) for s in self.sources]
