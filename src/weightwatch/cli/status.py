"""``weightwatch status``: the scheduler's view, rendered from database rows (pure)."""

from __future__ import annotations

from typing import Any

from weightwatch.config import Config
from weightwatch.config.units import format_duration


def source_rows(
    config: Config, report: list[dict[str, Any]], counts: dict[str, int]
) -> dict[str, Any]:
    """What ``status --json`` prints: configured sources with their stored state."""
    stored = {row["name"]: row for row in report}
    sources = []
    for source in config.sources:
        row = stored.get(source.name, {})
        sources.append(
            {
                "name": source.name,
                "url": source.url,
                "interval": source.interval,
                "schedule": source.schedule,
                "current_interval": row.get("interval"),
                "interval_reason": row.get("interval_reason") or _unplanned(source.schedule),
                "last_poll": row.get("last_poll"),
                "last_ok": row.get("last_ok"),
                "result": row.get("last_status") or "never polled",
                "http_status": row.get("last_http_status"),
                "error": row.get("last_error"),
                "next_due": row.get("next_due"),
                "waiting_until": row.get("not_before"),
                "consecutive_failures": row.get("consecutive_failures", 0),
                "items": row.get("items_total", 0),
                "alerts_pending": row.get("alerts_pending", 0),
                "alerts_failed": row.get("alerts_failed", 0),
                "unchanged_polls": row.get("unchanged_polls") or 0,
                "last_unchanged": row.get("last_unchanged"),
            }
        )
    return {"sources": sources, "alerts": counts}


def _unplanned(kind: str) -> str:
    return {"own": "its own interval", "fixed": "settings.interval"}.get(kind, "adaptive")


def _interval(s: dict[str, Any]) -> str:
    current = s["current_interval"]
    if current is None:
        current = s["interval"]
    return format_duration(round(current))


def _short_time(value: str | None) -> str:
    if not value:
        return "-"
    return value.replace("T", " ")[:19]


def render_status(data: dict[str, Any]) -> str:
    rows = [
        (
            "SOURCE",
            "LAST POLL (UTC)",
            "RESULT",
            "NEXT DUE (UTC)",
            "FAILS",
            "ALERTS P/F",
            "INTERVAL",
            "WHY",
        )
    ]
    for s in data["sources"]:
        result = s["result"]
        if s["http_status"] and result == "error":
            result = f"error {s['http_status']}"
        rows.append(
            (
                s["name"],
                _short_time(s["last_poll"]),
                result,
                _short_time(s["waiting_until"] or s["next_due"]),
                str(s["consecutive_failures"]),
                f"{s['alerts_pending']}/{s['alerts_failed']}",
                _interval(s),
                s["interval_reason"],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    for s in data["sources"]:
        if s["result"] == "error" and s["error"]:
            lines.append(f"  {s['name']}: {s['error']}")
    same = [s for s in data["sources"] if s.get("unchanged_polls")]
    if same:
        last = max(str(s["last_unchanged"] or "") for s in same)
        lines.append(
            f"Unchanged 200s (the same body again, not parsed):"
            f" {sum(s['unchanged_polls'] for s in same)} poll(s) of {len(same)} source(s),"
            f" last {_short_time(last)} UTC."
        )
    a = data["alerts"]
    lines.append(
        f"Items {a['items']}, hits {a['hits']}; alerts: {a['sent']} sent,"
        f" {a['pending']} pending, {a['failed']} failed."
    )
    return "\n".join(lines)
