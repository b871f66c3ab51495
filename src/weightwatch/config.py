"""The config file: TOML in, validated immutable values out (``load`` / ``parse``).

Every problem in the file is collected and raised at once as ``ConfigError.problems``,
each with its key path (``rule[2].query: unbalanced parenthesis at column 14``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .query import Query

DEFAULT_INTERVAL = 15 * 60.0
DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_BODY = 10 * 1024 * 1024
DEFAULT_WORKERS = 8
DEFAULT_DEDUP_WINDOW = 48 * 3600.0
DEFAULT_TITLE_SIMILARITY = 88.0


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


@dataclass(frozen=True)
class Source:
    name: str
    url: str
    interval: float  # seconds; the source's own or settings.interval
    tags: tuple[str, ...] = ()
    backfill: bool = False  # alert on what is already there at the first poll


@dataclass(frozen=True)
class Channel:
    name: str
    urls: tuple[str, ...]  # expanded: may hold secrets, never print; use masked_urls
    masked_urls: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    name: str
    query: Query  # query, any, all, none combined by AND
    query_text: str  # what the user wrote, for display
    notify: tuple[str, ...]  # channel names
    sources: tuple[str, ...] = ()  # scope: source names or "tag:NAME"; empty means all

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
