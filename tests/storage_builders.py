"""Builders for the storage tests: a database with a little of everything in it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from weightwatch.matching import story
from weightwatch.storage import Storage
from weightwatch.types import NewAlert, NewHit, RelatedStory, SourceUpdate

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


def story_hit(
    title: str,
    item_id: str,
    source: str = "a",
    *,
    duplicate_of: int | None = None,
    related: RelatedStory | None = None,
) -> NewHit:
    """A hit of rule "r" with its story features and index words, as the decider makes it."""
    feats = story.features(title)
    return NewHit(
        rule="r",
        source=source,
        item_id=item_id,
        link=f"https://{source}.example/{item_id}",
        title=title,
        title_key=feats.key,
        published=None,
        terms=(),
        snippet="",
        story_features=feats.to_json(),
        story_words=tuple(feats.index_words()),
        duplicate_of=duplicate_of,
        related=related,
    )


def record_hits(storage: Storage, hits: list[NewHit], source: str = "a") -> list[int]:
    """``hits`` stored as one poll of ``source`` at NOW; their ids."""
    return storage.record_poll(
        source,
        now=NOW,
        items=[],
        hits=hits,
        state=SourceUpdate(last_poll=NOW, last_status="ok"),
    )
