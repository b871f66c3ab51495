"""Alert messages as plain text: pure functions over values."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .models import Item

TITLE_MAX = 200


@dataclass(frozen=True)
class RuleMatch:
    """One rule that matched an item: its name, the matched terms and a context snippet."""

    rule: str
    terms: tuple[str, ...]
    snippet: str


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def format_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown"


def render_alert(item: Item, matches: list[RuleMatch]) -> tuple[str, str]:
    """The (title, body) of the alert for an item that matched one or more rules.

    Plain text only: feed HTML was stripped by the parser and nothing here adds markup.
    """
    rules = ", ".join(m.rule for m in matches)
    headline = _short(item.title or item.text or item.link or "(untitled item)", TITLE_MAX)
    title = f"[{rules}] {headline}"
    lines = [headline]
    if item.link:
        lines.append(item.link)
    lines.append("")
    lines.append(f"Source: {item.source}")
    lines.append(f"Published: {format_time(item.published)}")
    for m in matches:
        terms = ", ".join(m.terms) if m.terms else "(no positive terms)"
        lines.append(f"Rule: {m.rule} (matched: {terms})")
    snippet = next((m.snippet for m in matches if m.snippet), "")
    if snippet:
        lines.append("")
        lines.append(snippet)
    return title, "\n".join(lines)


def alert_data(item: Item, matches: list[RuleMatch]) -> str:
    """The JSON stored with an alert: what digests and templates render from later."""
    return json.dumps(
        {
            "rules": [m.rule for m in matches],
            "title": item.title,
            "link": item.link,
            "source": item.source,
            "published": item.published.isoformat() if item.published else None,
            "terms": sorted({t for m in matches for t in m.terms}),
            "snippet": next((m.snippet for m in matches if m.snippet), ""),
        },
        ensure_ascii=False,
    )


def render_digest(entries: list[dict[str, Any]], *, reason: str) -> tuple[str, str]:
    """One message for alerts held back (digest, rate limit, quiet hours).

    ``entries`` are the stored ``alert_data`` of each folded alert, oldest first.
    """
    count = len(entries)
    noun = "alert" if count == 1 else "alerts"
    why = {
        "digest": "digest",
        "rate": "rate limit reached; folded into one message",
        "quiet": "held during quiet hours",
    }.get(reason, reason)
    title = f"[weightwatch] {count} {noun} ({why})"
    lines = [f"{count} {noun} folded into this message ({why}):", ""]
    for n, e in enumerate(entries, 1):
        rules = ", ".join(e.get("rules") or [])
        headline = _short(e.get("title") or e.get("link") or "(untitled item)", TITLE_MAX)
        lines.append(f"{n}. [{rules}] {headline}")
        detail = e.get("source") or ""
        if e.get("published"):
            detail += f", {e['published'][:16].replace('T', ' ')} UTC"
        if detail:
            lines.append(f"   {detail}")
        if e.get("link"):
            lines.append(f"   {e['link']}")
    return title, "\n".join(lines)


def render_health(
    event: str,
    *,
    source: str,
    url: str,
    error: str,
    failures: int,
    since: datetime | None,
    stale_after: float | None,
) -> tuple[str, str]:
    """The ops-channel message for a change in a source's health."""
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    last_ok = format_time(since) if since else "never"
    if event == "broken":
        return (
            f"[weightwatch] source broken: {source}",
            f"The source {source} ({host}) has failed {failures} times in a row;"
            f" its last successful poll was {last_ok}.\nLast error: {error}\n\n"
            "weightwatch keeps polling it, less often while it fails, and sends one message"
            " when it works again.",
        )
    if event == "recovered":
        return (
            f"[weightwatch] source recovered: {source}",
            f"The source {source} ({host}) works again after {failures} failed polls.",
        )
    hours = (stale_after or 0) / 3600
    if event == "stale":
        return (
            f"[weightwatch] source quiet: {source}",
            f"The source {source} ({host}) has produced no new item for {hours:g} h"
            " (stale_after); polls succeed, so the feed itself may have stopped updating"
            " or moved.",
        )
    return (
        f"[weightwatch] source active again: {source}",
        f"The source {source} ({host}) has new items again.",
    )


def render_url_trouble(channel: str, masked_url: str, failures: int, error: str) -> tuple[str, str]:
    """The ops-channel message for a notification URL whose alerts keep failing."""
    return (
        f"[weightwatch] alerts to {channel} keep failing",
        f"{failures} attempts in a row to deliver alerts to {masked_url} (channel {channel})"
        f" failed.\nLast error: {error}\n\nweightwatch keeps retrying them with backoff for"
        " up to 24 h each. This message is sent once until that URL works again.",
    )
