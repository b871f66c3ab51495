"""Row mapping: stored text and rows to weightwatch values, and back (pure, no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from weightwatch.types import AlertRow, SourceState


def iso(moment: datetime | None) -> str | None:
    """UTC ISO-8601 text for storage; sorts correctly as text."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def source_state(row: dict[str, Any]) -> SourceState:
    return SourceState(
        name=row["name"],
        url=row["url"],
        permanent_url=row["permanent_url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        primed=bool(row["primed"]),
        last_poll=from_iso(row["last_poll"]),
        last_ok=from_iso(row["last_ok"]),
        last_status=row["last_status"],
        last_http_status=row["last_http_status"],
        last_error=row["last_error"],
        consecutive_failures=int(row["consecutive_failures"]),
        not_before=from_iso(row["not_before"]),
        kind=row["kind"],
        items_total=int(row["items_total"]),
        next_due=from_iso(row.get("next_due")),
        health=row.get("health") or "ok",
        last_new_item=from_iso(row.get("last_new_item")),
        body_hash=row.get("body_hash"),
        unchanged_polls=int(row.get("unchanged_polls") or 0),
        last_unchanged=from_iso(row.get("last_unchanged")),
        item_times=tuple(float(t) for t in json.loads(row.get("item_times") or "[]")),
        interval=row.get("interval"),
        interval_reason=row.get("interval_reason"),
    )


def alert_row(row: dict[str, Any]) -> AlertRow:
    return AlertRow(
        id=row["id"],
        hit_id=row["hit_id"],
        channel=row["channel"],
        url_key=row["url_key"],
        masked_url=row["masked_url"],
        title=row["title"],
        body=row["body"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        created=from_iso(row["created"]),
        updated=from_iso(row["updated"]),
        kind=row["kind"],
        format=row["format"],
        data=row["data"],
        rule_digest=row["rule_digest"],
        hold=row["hold"],
        next_attempt=from_iso(row["next_attempt"]),
        sent=from_iso(row["sent"]),
        digest_id=row["digest_id"],
    )
