"""Pure routing of messages to channel URLs: which URLs a hit goes to, one rendered
message per URL, what a later report of a story sends, and where a source's health event
goes. Nothing here does I/O or sends; the pipeline queues what these return.

Templates are compiled by ``delivery.templates`` (jinja2): the caller passes its lookup
(``templates.cached``) as ``templates``, so this module imports no template engine.
``delivery.render`` is imported where a message is rendered: a cycle that only keys
channel URLs (``url_key``) and finds no health event never loads it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from weightwatch.config.env import mask_source_url
from weightwatch.delivery.policy import Digest
from weightwatch.types import (
    AlertRow,
    AlertTarget,
    Item,
    NewAlert,
    SourceState,
    SourceUpdate,
    UrlStreak,
)

if TYPE_CHECKING:
    from weightwatch.config import Channel, Rule, Source
    from weightwatch.delivery.render import RuleMatch
    from weightwatch.delivery.templates import Template

#: Services that render Markdown: ``format = "auto"`` picks markdown for them.
MARKDOWN_SCHEMES = ("slack", "discord", "tgram", "matrix", "matrixs")

UPDATE_DIGEST_EVERY = 3600.0  # on_update = "digest" on a rule without a digest of its own
OVERFLOW_LISTED = 20  # titles listed in a poll's overflow message (max_alerts_per_poll)


def url_key(url: str, salt: bytes) -> str:
    """How an alert row names its channel URL without storing it (URLs may hold secrets):
    HMAC-SHA256 of the URL under the database's random salt (``Storage.url_salt``), so
    the key cannot be checked against a guessed URL without that database's salt."""
    return hmac.new(salt, url.encode("utf-8"), hashlib.sha256).hexdigest()


def legacy_url_key(url: str) -> str:
    """The key rows were stored under before the database had a salt (migration 0007):
    the bare SHA-256 of the URL. Only for re-keying those rows (``legacy_rekeys``)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def legacy_rekeys(channels: Mapping[str, Channel], salt: bytes) -> list[tuple[str, str]]:
    """(SHA-256 key, HMAC key) of every configured channel URL, for ``Storage.rekey_urls``:
    rows an older weightwatch queued for these URLs keep going to them."""
    urls = dict.fromkeys(u for channel in channels.values() for u in channel.urls)
    return [(legacy_url_key(u), url_key(u, salt)) for u in urls]


def auto_format(url: str) -> str:
    """The format ``format = "auto"`` means for this URL: markdown where the service renders it."""
    scheme = url.split("://", 1)[0].lower()
    return "markdown" if scheme in MARKDOWN_SCHEMES else "text"


def alert_targets(
    rules: Iterable[Rule], channels: Mapping[str, Channel], salt: bytes
) -> list[AlertTarget]:
    """The distinct channel URLs the given rules notify, in rule and channel order
    (``salt`` is the database's, for their keys: ``url_key``)."""
    out: list[AlertTarget] = []
    seen: set[str] = set()
    for rule in rules:
        for name in rule.notify:
            channel = channels.get(name)
            if channel is None:
                continue
            for url, masked in zip(channel.urls, channel.masked_urls, strict=True):
                key = url_key(url, salt)
                if key not in seen:
                    seen.add(key)
                    out.append(AlertTarget(name, url, key, masked))
    return out


def alerts_for(
    item: Item,
    matches: Sequence[tuple[Rule, RuleMatch]],
    channels: Mapping[str, Channel],
    templates: Callable[[str, bool], Template],
    salt: bytes,
) -> tuple[NewAlert, ...]:
    """One message per channel URL, naming every rule that sends this item to that URL.

    A rule's template wins over its channel's; a rule that wants each alert at once wins
    over a rule that wants a digest. ``salt`` keys the URLs (``url_key``).
    """
    from weightwatch.delivery.render import alert_data, render_formatted

    per_url: dict[str, tuple[AlertTarget, list[tuple[Rule, RuleMatch]]]] = {}
    for entry in matches:
        for target in alert_targets([entry[0]], channels, salt):
            per_url.setdefault(target.url_key, (target, []))[1].append(entry)
    out = []
    for target, entries in per_url.values():
        found = [m for _, m in entries]
        channel = channels[target.channel]
        fmt = channel.format if channel.format != "auto" else auto_format(target.url)
        rule_title = next((t for r, _ in entries if (t := r.title_template)), None)
        rule_body = next((t for r, _ in entries if (t := r.body_template)), None)
        title_text = rule_title or channel.title_template
        body_text = rule_body or channel.body_template
        title, body = render_formatted(
            item,
            found,
            fmt=fmt,
            channel=target.channel,
            title_template=templates(title_text, False) if title_text else None,
            body_template=templates(body_text, fmt == "html") if body_text else None,
        )
        digests = [r.digest for r, _ in entries]
        rule_digest = str(digests[0]) if all(digests) else None
        out.append(
            NewAlert(
                channel=target.channel,
                url_key=target.url_key,
                masked_url=target.masked_url,
                title=title,
                body=body,
                format=fmt,
                data=alert_data(item, found),
                rule_digest=rule_digest,
            )
        )
    return tuple(out)


def as_update(alert: NewAlert, rule: Rule, sources: int) -> NewAlert:
    """A later member's alert: held for a digest (``on_update = "digest"``) or sent as an
    update naming how many sources the story has (``"alert"``)."""
    if rule.on_update == "digest":
        held = rule.digest or Digest(every=UPDATE_DIGEST_EVERY)
        return replace(alert, rule_digest=str(held))
    note = f"Update: this story now has {sources} sources."
    return replace(
        alert,
        title=f"Update: {alert.title} ({sources} sources)",
        body=f"{note}\n\n{alert.body}",
    )


def overflow_alert(alerts: Sequence[NewAlert], *, source: str) -> NewAlert:
    """One message for the alerts of one poll beyond ``settings.max_alerts_per_poll`` to
    one URL: how many more matched and the first ``OVERFLOW_LISTED`` titles with links.
    ``alerts`` are those alerts, in poll order (their hits are stored as usual)."""
    count = len(alerts)
    noun = "match" if count == 1 else "matches"
    entries = []
    for a in alerts[:OVERFLOW_LISTED]:
        try:
            data = json.loads(a.data) if a.data else {}
        except ValueError:
            data = {}
        entries.append(data if isinstance(data, dict) else {})
    rules = sorted({r for e in entries for r in e.get("rules") or []})
    title = f"[weightwatch] and {count:,} more {noun} from {source}"
    lines = [
        f"This poll of {source} had more new matches than max_alerts_per_poll sends one by"
        f" one; {count:,} more are folded into this message:",
        "",
    ]
    for n, (e, a) in enumerate(zip(entries, alerts, strict=False), 1):
        rule_names = ", ".join(e.get("rules") or [])
        lines.append(f"{n}. [{rule_names}] {e.get('title') or a.title}")
        if e.get("link"):
            lines.append(f"   {e['link']}")
    rest = count - len(entries)
    lines.append("")
    if rest:
        lines.append(f"... and {rest:,} more.")
    lines.append("`weightwatch hits` lists every one of them (all are stored as hits).")
    first = alerts[0]
    data = {"rules": rules, "title": title, "link": "", "source": source, "overflow": count}
    return NewAlert(
        channel=first.channel,
        url_key=first.url_key,
        masked_url=first.masked_url,
        title=title,
        body="\n".join(lines),
        data=json.dumps(data, ensure_ascii=False),
    )


def health_notices(
    ops: Channel | None,
    event: str | None,
    *,
    source: Source,
    state: SourceState,
    update: SourceUpdate,
    now: datetime,
    salt: bytes,
) -> list[NewAlert]:
    """The ops channel's messages (one per URL) for a change in a source's health.

    ``state`` is the source as stored before the poll, ``update`` what the poll changes;
    ``salt`` keys the URLs (``url_key``).
    """
    if event is None or ops is None:
        return []
    from weightwatch.delivery.render import render_health

    title, body = render_health(
        event,
        source=source.name,
        url=mask_source_url(source.url),  # user:password@ and ?token= never in an alert
        error=str(update.last_error or state.last_error or ""),
        failures=state.consecutive_failures
        if event == "recovered"
        else update.consecutive_failures,
        since=state.last_ok,
        stale_after=source.stale_after,
    )
    key = f"source:{source.name}:{event}:{now.isoformat()}"
    return [
        NewAlert(ops.name, url_key(url, salt), masked, title, body, kind="health", event_key=key)
        for url, masked in zip(ops.urls, ops.masked_urls, strict=True)
    ]


def _to_ops(ops: Channel, title: str, body: str, key: str, salt: bytes) -> list[NewAlert]:
    return [
        NewAlert(ops.name, url_key(url, salt), masked, title, body, kind="health", event_key=key)
        for url, masked in zip(ops.urls, ops.masked_urls, strict=True)
    ]


def reports_on(alert: AlertRow, ops: Channel | None, salt: bytes) -> bool:
    """Whether the ops channel hears about the URL of ``alert``: not without an ops
    channel, and never about its own URLs or its own messages (they could not reach it)."""
    if ops is None or alert.kind == "health":
        return False
    return alert.url_key not in {url_key(u, salt) for u in ops.urls}


def url_notices(
    ops: Channel | None,
    event: str | None,
    alert: AlertRow,
    streak: UrlStreak,
    *,
    error: str,
    now: datetime,
    salt: bytes,
) -> list[NewAlert]:
    """The ops channel's messages (one per URL) for ``delivery.policy.url_outcome``'s
    event about the URL of ``alert``: "failing" (``streak`` is the run so far) or
    "working" (``streak`` is the run that just ended)."""
    if event is None or ops is None or not reports_on(alert, ops, salt):
        return []
    from weightwatch.delivery.render import render_url_trouble, render_url_working

    if event == "failing":
        title, body = render_url_trouble(
            alert.channel, alert.masked_url, streak.failures, error, streak.since
        )
    else:
        title, body = render_url_working(
            alert.channel, alert.masked_url, streak.failures, streak.since
        )
    key = f"url:{alert.url_key}:{event}:{now.isoformat()}"
    return _to_ops(ops, title, body, key, salt)


def expired_notices(
    ops: Channel | None, expired: Sequence[AlertRow], *, now: datetime, salt: bytes
) -> list[NewAlert]:
    """One message per ops URL for the alerts a delivery pass gave up on, grouped by
    channel URL (the ops channel's own alerts and messages left out)."""
    if ops is None:
        return []
    groups: dict[str, tuple[str, str, list[str]]] = {}
    for row in expired:
        if reports_on(row, ops, salt):
            groups.setdefault(row.url_key, (row.channel, row.masked_url, []))[2].append(row.title)
    if not groups:
        return []
    from weightwatch.delivery.render import render_expired

    title, body = render_expired(list(groups.values()))
    return _to_ops(ops, title, body, f"expired:{now.isoformat()}", salt)
