"""The one-screen summary ``weightwatch check`` prints; never shows a secret.

The settings without a line of their own are listed from ``schema.SETTINGS`` when they differ
from their default, written as TOML (``health_after = "2h"``).
"""

from __future__ import annotations

from collections.abc import Mapping

from weightwatch.config.env import mask_source_url, scrub
from weightwatch.config.model import Config, Settings, Source
from weightwatch.config.schema import SETTINGS
from weightwatch.config.units import format_duration, format_size

#: Settings that have their own summary line; the others are listed when changed.
_OWN_LINE = (
    "database",
    "interval",
    "timeout",
    "workers",
    "max_body",
    "dedup_window",
    "title_similarity",
    "user_agent",
)


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
    changed = changed_settings(s)
    if changed:
        lines.append(f"Settings:     {', '.join(changed)}")
    lines.append("")
    lines += _sources(config, detected or {})
    lines.append("")
    lines += _rules(config)
    lines.append("")
    lines += _channels(config)
    notes = _notes(config)
    if notes:
        lines.append("")
        lines += [f"Note: {note}" for note in notes]
    return scrub("\n".join(lines), config.secrets)


def changed_settings(settings: Settings) -> list[str]:
    """``key = value`` for each setting without its own summary line that is not default."""
    out = []
    for key in SETTINGS.keys:
        if key.name in _OWN_LINE:
            continue
        value = getattr(settings, key.attr)
        if value != key.default:
            out.append(f"{key.name} = {key.toml(value)}")
    return out


def _sources(config: Config, detected: Mapping[str, str]) -> list[str]:
    lines = [f"Sources ({len(config.sources)}):"]
    width = max((len(src.name) for src in config.sources), default=0)
    kinds = {src.name: _kind_text(src, detected.get(src.name)) for src in config.sources}
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
        shown = mask_source_url(src.url, config.secrets)
        lines.append(f"  {src.name:<{width}}  {every:<10} {kind}  {shown}{tail}")
    if not config.sources:
        lines.append("  (none)")
    return lines


def _rules(config: Config) -> list[str]:
    lines = [f"Rules ({len(config.rules)}):"]
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
    return lines


def _channels(config: Config) -> list[str]:
    used = {name for rule in config.rules for name in rule.notify}
    lines = [f"Channels ({len(config.channels)}):"]
    width = max((len(name) for name in config.channels), default=0)
    for name, channel in config.channels.items():
        unused = "" if name in used else "  (no rule uses it)"
        first, *others = channel.masked_urls or ("(no URL)",)
        lines.append(f"  {name + ':':<{width + 1}} {first}{unused}")
        lines += [f"  {'':<{width + 1}} {url}" for url in others]
    if not config.channels:
        lines.append("  (none)")
    return lines


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
