"""Builders for the storage tests: a database with a little of everything in it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from weightwatch.storage import Storage
from weightwatch.types import NewAlert, NewHit, SourceUpdate

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def alert(title: str = "t", body: str = "b", key: str = "k1") -> NewAlert:
    return NewAlert(channel="hook", url_key=key, masked_url="json://x/", title=title, body=body)


def filled(path: Path) -> Storage:
    """A database with one source, one item, one hit with a pending alert."""
    storage = Storage(path)
    storage.ensure_sources([("a", "http://example.org/a.xml")])
    storage.record_poll(
        "a",
        now=NOW,
        items=[("i1", "http://example.org/1", "OpenAI releases weights", "text", NOW)],
        hits=[
            NewHit(
                rule="oa",
                source="a",
                item_id="i1",
                link="http://example.org/1",
                title="OpenAI releases weights",
                title_key="openai releases weights",
                published=NOW,
                terms=("OpenAI",),
                snippet="text",
                alerts=(alert("OpenAI releases weights"),),
            )
        ],
        state=SourceUpdate(last_poll=NOW, last_status="ok", primed=True),
    )
    return storage
