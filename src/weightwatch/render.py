"""Alert messages as plain text: pure functions over values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
