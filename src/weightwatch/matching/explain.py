"""``explain`` and ``backtest``: try a rule against one text or against stored history.

Pure functions over values; the CLI reads the config and the database and prints.
Nothing here sends anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from weightwatch.config.model import Rule, Source
from weightwatch.delivery.render import format_time, related_context, related_line
from weightwatch.matching import query, story
from weightwatch.types import Item, RelatedStory


def explain_rule(rule: Rule, title: str, text: str) -> tuple[bool, list[str]]:
    """Whether ``rule`` matches, and one line per query term saying where and how."""
    doc = query.prepare(title, text)
    matched = rule.query.match(doc) is not None
    lines = [str(report) for report in query.explain(rule.query, doc)]
    return matched, lines


def related_hint(hit: Mapping[str, Any]) -> str | None:
    """The related-story hint of a stored first hit, worded as its alerts worded it
    ("Possibly the same story as: <title>, alerted <time> from <source>"), or None when it
    came close to no story (columns ``related_*``, migration 0008)."""
    if not hit.get("related_title") and not hit.get("related_link"):
        return None
    at = hit.get("related_at")
    related = RelatedStory(
        title=hit.get("related_title") or "",
        source=hit.get("related_source") or "",
        alerted_at=datetime.fromisoformat(at) if at else None,
        link=hit.get("related_link") or "",
    )
    context = related_context(related)
    return related_line(context) if context is not None else None


def highlight(text: str, spans: Iterable[tuple[int, int]], width: int = 240) -> str:
    """``text`` with each span wrapped in [brackets], cut around the first one."""
    spans = sorted(set(spans))
    if not spans:
        return text[:width] + ("…" if len(text) > width else "")
    out, last = [], 0
    for start, end in spans:
        if start < last:
            continue
        out.append(text[last:start])
        out.append("[" + text[start:end] + "]")
        last = end
    out.append(text[last:])
    marked = "".join(out)
    first = marked.index("[")
    lo = max(0, first - width // 3)
    hi = min(len(marked), lo + width)
    return ("…" if lo else "") + marked[lo:hi] + ("…" if hi < len(marked) else "")


def match_spans(rule: Rule, title: str, text: str) -> dict[str, list[tuple[int, int]]]:
    doc = query.prepare(title, text)
    m = rule.query.match(doc)
    out: dict[str, list[tuple[int, int]]] = {"title": [], "text": []}
    if m is not None:
        for span in m.spans:
            out[span.field].append((span.start, span.end))
    return out


@dataclass
class Story:
    """A group of stored items a rule would have alerted on once."""

    first: Item
    first_seen: datetime
    terms: tuple[str, ...]
    members: list[tuple[Item, str]] = field(default_factory=list)  # (item, reason)
    features: list[story.Features] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys([self.first.source, *(i.source for i, _ in self.members)]))


def backtest(
    rule: Rule,
    sources: dict[str, Source],
    items: Iterable[tuple[Item, datetime]],
    *,
    title_threshold: float,
) -> list[Story]:
    """The stories ``rule`` would have alerted on among ``items`` (oldest first).

    Grouping follows the live pipeline's decider: the same canonical link, else
    ``story.best_story`` (a member with a similar title or shared distinctive words, else the
    story whose members together cover the hit; guards pairwise). Unlike the daemon, every
    earlier story of the period is a candidate, not only those of the dedup window.
    """
    stories: list[Story] = []
    by_link: dict[str, int] = {}
    for item, seen in items:
        source = sources.get(item.source)
        if source is not None and not rule.applies_to(source):
            continue
        m = rule.query.match(query.prepare(item.title, item.text))
        if m is None:
            continue
        feats = story.features(item.title, item.text, m.terms)
        if item.link and item.link in by_link:
            joined = stories[by_link[item.link]]
            joined.members.append((item, "same link"))
            joined.features.append(feats)  # as the daemon indexes every hit of a story
            continue
        candidates = [(n, n, f) for n, s in enumerate(stories) for f in s.features]
        best = story.best_story(feats, candidates, title_threshold)
        if best is not None:
            n, signal, score = best
            stories[n].members.append((item, story.describe(signal, score)))
            stories[n].features.append(feats)
        else:
            stories.append(Story(item, seen, m.terms, features=[feats]))
            n = len(stories) - 1
        if item.link:
            by_link.setdefault(item.link, n)
    return stories


def render_backtest(rule: Rule, stories: list[Story], scanned: int, since: str) -> str:
    lines = [
        f"Rule {rule.name}: {rule.query}",
        f"Scanned {scanned} stored items from the last {since}: {len(stories)} alert(s)"
        f" would have been sent, for {sum(1 + len(s.members) for s in stories)} matching item(s).",
    ]
    for n, s in enumerate(stories, 1):
        lines.append("")
        lines.append(f"{n}. {s.first.title or s.first.link}")
        lines.append(
            f"   {s.first.source}, seen {format_time(s.first_seen)}; matched: {', '.join(s.terms)}"
        )
        if s.first.link:
            lines.append(f"   {s.first.link}")
        for item, reason in s.members:
            lines.append(f"   + {item.source}: {item.title or item.link}  [{reason}]")
    return "\n".join(lines)
