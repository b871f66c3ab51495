"""Alert messages as plain text: pure functions over values.

One side effect: a user template that fails on an item (``{{ link.split('/')[2] }}`` on
an item without a link passes ``check``, whose sample has one) is replaced by the default
message, and a warning is logged once per template and process (``_template_failed``).
"""

from __future__ import annotations

import html
import json
import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from weightwatch.types import Item, RelatedStory

if TYPE_CHECKING:
    from weightwatch.delivery.templates import Template

TITLE_MAX = 200

log = logging.getLogger("weightwatch")
_warned: set[tuple[str, bool]] = set()
_warned_lock = threading.Lock()


@dataclass(frozen=True)
class RuleMatch:
    """One rule that matched an item: its name, the matched terms, a context snippet and
    the story the hit came close to without joining (``matching.hits``), if any."""

    rule: str
    terms: tuple[str, ...]
    snippet: str
    related: RelatedStory | None = None


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def format_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown"


def _related(matches: list[RuleMatch]) -> RelatedStory | None:
    return next((m.related for m in matches if m.related is not None), None)


def related_context(related: RelatedStory | None) -> dict[str, str] | None:
    """The ``related`` placeholder: the story's title, source, link and ``alerted`` (a time
    as ``format_time`` writes it, or "just now" for a story of the same poll)."""
    if related is None:
        return None
    return {
        "title": related.title or related.link or "(untitled item)",
        "source": related.source,
        "link": related.link,
        "alerted": format_time(related.alerted_at) if related.alerted_at else "just now",
    }


HINT = "Possibly the same story as:"


def related_line(related: dict[str, str]) -> str:
    """The hint in plain text: "Possibly the same story as: <title>, alerted <time> from
    <source>"."""
    title = _short(related["title"], TITLE_MAX)
    return f"{HINT} {title}, alerted {related['alerted']} from {related['source']}"


def alert_context(item: Item, matches: list[RuleMatch], channel: str) -> dict[str, Any]:
    """The placeholders of ``templates.PLACEHOLDERS`` for one alert."""
    return {
        "rule": matches[0].rule if matches else "",
        "rules": [m.rule for m in matches],
        "title": item.title or item.text[:TITLE_MAX] or item.link or "(untitled item)",
        "link": item.link,
        "source": item.source,
        "published": format_time(item.published),
        "terms": list(dict.fromkeys(t for m in matches for t in m.terms)),
        "snippet": next((m.snippet for m in matches if m.snippet), ""),
        "other_sources": [],
        "count": 1,
        "channel": channel,
        "related": related_context(_related(matches)),
    }


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")


def md_escape(text: str) -> str:
    """Feed text made inert in Markdown (no links, emphasis or headings smuggled in)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_inert(key: str, value: Any) -> Any:
    """A placeholder's value Markdown-escaped (links, and the related story's, stay as
    they are)."""
    if isinstance(value, str) and key != "link":
        return md_escape(value)
    if isinstance(value, dict):
        return {k: _md_inert(k, v) for k, v in value.items()}
    return value


def render_formatted(
    item: Item,
    matches: list[RuleMatch],
    *,
    fmt: str = "text",
    channel: str = "",
    title_template: Template | None = None,
    body_template: Template | None = None,
) -> tuple[str, str]:
    """(title, body) in ``fmt`` ("text", "markdown", "html"), from templates if given.

    Everything that comes from a feed is escaped for the format: HTML-escaped in html
    (templates autoescape), Markdown-escaped in markdown.
    """
    ctx = alert_context(item, matches, channel)
    default_title, default_body = render_alert(item, matches)
    if fmt == "markdown":
        default_body = _markdown_body(ctx)
    elif fmt == "html":
        default_body = _html_body(ctx)
    if fmt == "markdown" and (title_template or body_template):
        ctx = {k: _md_inert(k, v) for k, v in ctx.items()}
    title = _render_or(title_template, ctx, default_title, "title", item, channel)
    body = _render_or(body_template, ctx, default_body, "body", item, channel)
    return " ".join(title.split())[: TITLE_MAX * 2], body


def _render_or(
    template: Template | None,
    ctx: dict[str, Any],
    default: str,
    part: str,
    item: Item,
    channel: str,
) -> str:
    """``template`` rendered, or ``default`` when there is none or it fails on this item."""
    if template is None:
        return default
    try:
        return template.render(ctx)
    except Exception as exc:  # any failure of a user template, by design
        _template_failed(template, exc, part, item, channel)
        return default


def _template_failed(
    template: Template, exc: Exception, part: str, item: Item, channel: str
) -> None:
    """Warn once per template (text and format) and process: the default message went."""
    key = (template.text, template.html)
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(
        "The %s template %r of channel %s failed on item %s of %s (%s: %s); the default"
        " message was sent instead. Fix the template; this is logged once per template.",
        part,
        template.text,
        channel,
        item.id,
        item.source,
        type(exc).__name__,
        exc,
    )


def _markdown_body(ctx: dict[str, Any]) -> str:
    title = md_escape(ctx["title"])
    lines = [f"**[{title}]({ctx['link']})**" if ctx["link"] else f"**{title}**", ""]
    related = ctx["related"]
    if related:  # next to the headline: a duplicate that slipped through costs one glance
        named = md_escape(_short(related["title"], TITLE_MAX))
        if related["link"]:
            named = f"[{named}]({_md_link(related['link'])})"
        source = md_escape(related["source"])
        lines += [f"{HINT} {named}, alerted {related['alerted']} from {source}", ""]
    lines.append(f"Source: {md_escape(ctx['source'])} · Published: {ctx['published']}")
    rules, terms = md_escape(", ".join(ctx["rules"])), md_escape(", ".join(ctx["terms"]))
    lines.append(f"Rules: {rules} (matched: {terms})")
    if ctx["snippet"]:
        lines += ["", "> " + md_escape(ctx["snippet"])]
    return "\n".join(lines)


def _md_link(url: str) -> str:
    """A link target that cannot close the Markdown link early."""
    for char, code in (("(", "%28"), (")", "%29"), (" ", "%20"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(char, code)
    return url.replace('"', "%22")


def _html_body(ctx: dict[str, Any]) -> str:
    e = html.escape
    title = e(ctx["title"])
    head = f'<a href="{e(ctx["link"], quote=True)}">{title}</a>' if ctx["link"] else title
    parts = [f"<p><b>{head}</b></p>"]
    related = ctx["related"]
    if related:  # next to the headline: a duplicate that slipped through costs one glance
        named = e(_short(related["title"], TITLE_MAX))
        if related["link"]:
            named = f'<a href="{e(related["link"], quote=True)}">{named}</a>'
        parts.append(
            f"<p>{HINT} {named}, alerted {e(related['alerted'])} from {e(related['source'])}</p>"
        )
    parts += [
        f"<p>Source: {e(ctx['source'])}<br>Published: {e(ctx['published'])}<br>"
        f"Rules: {e(', '.join(ctx['rules']))} (matched: {e(', '.join(ctx['terms']))})</p>",
    ]
    if ctx["snippet"]:
        parts.append(f"<blockquote>{e(ctx['snippet'])}</blockquote>")
    return "\n".join(parts)


def render_alert(item: Item, matches: list[RuleMatch]) -> tuple[str, str]:
    """The plain-text (title, body) of the alert for an item that matched one or more rules.

    Feed HTML was stripped by the parser and nothing here adds markup.
    """
    rules = ", ".join(m.rule for m in matches)
    headline = _short(item.title or item.text or item.link or "(untitled item)", TITLE_MAX)
    title = f"[{rules}] {headline}"
    lines = [headline]
    if item.link:
        lines.append(item.link)
    related = related_context(_related(matches))
    if related:  # next to the headline: a duplicate that slipped through costs one glance
        lines.append(related_line(related))
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
            "related": related_context(_related(matches)),
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
        if e.get("related"):
            lines.append(f"   {related_line(e['related'])}")
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


def render_url_trouble(
    channel: str, masked_url: str, failures: int, error: str, since: datetime | None = None
) -> tuple[str, str]:
    """The ops-channel message for a notification URL whose alerts keep failing."""
    began = f" since {format_time(since)}" if since else ""
    return (
        f"[weightwatch] alerts to {channel} keep failing",
        f"{failures} attempts in a row to deliver alerts to {masked_url} (channel {channel})"
        f" failed{began}.\nLast error: {error}\n\nweightwatch keeps retrying them with backoff"
        " for up to 24 h each. You will hear once when that URL works again; until then"
        " this is not repeated.",
    )


def render_url_working(
    channel: str, masked_url: str, failures: int, since: datetime | None
) -> tuple[str, str]:
    """The ops-channel message when a URL reported failing delivers again."""
    return (
        f"[weightwatch] alerts to {channel} work again",
        f"{masked_url} (channel {channel}) accepted an alert again after {failures} failed"
        f" attempts in a row since {format_time(since)}. Alerts still pending for it go out"
        " as their retries come due.",
    )


def render_expired(groups: list[tuple[str, str, list[str]]]) -> tuple[str, str]:
    """The ops-channel message for the alerts one delivery pass gave up on (24 h without
    success): ``groups`` is (channel, masked URL, the alerts' titles) per URL."""
    total = sum(len(titles) for _, _, titles in groups)
    noun = "alert" if total == 1 else "alerts"
    if len(groups) == 1:
        channel, masked, _ = groups[0]
        title = f"[weightwatch] {total} {noun} to {channel} expired undelivered"
    else:
        title = f"[weightwatch] {total} {noun} to {len(groups)} URLs expired undelivered"
    lines = [
        f"weightwatch gave up on {total} {noun} after 24 h of failed attempts:",
    ]
    for channel, masked, titles in groups:
        lines += ["", f"{len(titles)} to {masked} (channel {channel}):"]
        lines += [f"- {t}" for t in titles[:EXPIRED_LISTED]]
        if len(titles) > EXPIRED_LISTED:
            lines.append(f"- ... and {len(titles) - EXPIRED_LISTED} more")
    lines += [
        "",
        "`weightwatch alerts --failed` lists them; `weightwatch alerts retry --all-failed`"
        " queues them again once the channel works.",
    ]
    return title, "\n".join(lines)


EXPIRED_LISTED = 10  # titles listed per URL in the expired-alerts message


def render_storage_trouble(error: str, unrecorded: int, channels: list[str]) -> tuple[str, str]:
    """The ops-channel message, sent directly, while the database cannot record sends."""
    where = ", ".join(sorted(set(channels))) or "none"
    return (
        "[weightwatch] cannot record alerts: database write failed",
        f"weightwatch sent {unrecorded} alert(s) but could not record that they were sent."
        f"\nError: {error}\n\nTo avoid sending them twice, delivery to those URLs (channels:"
        f" {where}) is paused until the database accepts writes again; polling goes on."
        " A restart before then would send those alerts again.",
    )


def render_storage_recovered(recorded: int, since: datetime | None) -> tuple[str, str]:
    """The ops-channel message once the database records the sends it could not."""
    return (
        "[weightwatch] database writes work again",
        f"The database accepts writes again (failing since {format_time(since)}).\n"
        f"{recorded} alert(s) sent meanwhile are now recorded as sent; delivery goes on.",
    )
