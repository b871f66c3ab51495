"""Plain values passed between the layers: the pure core (sources policy, matching,
delivery policy and routing) and the shell (service, storage).

Every value that crosses a layer lives here, so a layer depends on this module rather
than on another layer's internals. Nothing here imports anything of weightwatch.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of a feed, reduced to what matching, dedup and alerts need.

    ``id`` is the feed's guid, else the link, else a hash of title and text.
    ``link`` is the canonical link (see ``urls.canonical_url``), ``""`` when the entry has none.
    ``title`` and ``text`` are plain text: tags stripped, entities decoded, whitespace collapsed.
    ``published`` is timezone-aware UTC, or None when the feed gives no usable date.
    """

    source: str
    id: str
    link: str
    title: str
    text: str
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What one successful parse of a body produced."""

    kind: str  # "rss", "atom", "rdf", "json"
    title: str
    items: list[Item] = field(default_factory=list)
    warning: str = ""  # set when the feed was malformed but salvageable
    ttl: float | None = None  # seconds; RSS <ttl> (given in minutes), a hint to poll less often


@dataclass(frozen=True, slots=True)
class Block:
    """One block of visible text on a page: a heading, paragraph, list item or table row.

    ``fingerprint`` identifies the text (a hash of its normalised form: case, whitespace,
    Unicode variants and relative times such as "3 hours ago" do not change it).
    ``heading`` is the text of the nearest heading above it (its own text for a heading),
    ``anchor`` the nearest ``id`` at or before it, so ``page#anchor`` scrolls close to it.
    """

    fingerprint: str
    text: str
    kind: str  # "heading", "paragraph", "item", "row", "text"
    heading: str = ""
    anchor: str = ""


@dataclass(frozen=True, slots=True)
class PageResult:
    """What one successful extraction of an HTML page produced (see ``_page.extract``)."""

    title: str
    blocks: tuple[Block, ...] = ()
    warning: str = ""


# -- sources: stored state and what a poll changes -----------------------------------


@dataclass(frozen=True)
class SourceState:
    name: str
    url: str
    permanent_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    primed: bool = False
    last_poll: datetime | None = None
    last_ok: datetime | None = None
    last_status: str | None = None
    last_http_status: int | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    not_before: datetime | None = None
    kind: str | None = None
    items_total: int = 0
    next_due: datetime | None = None
    health: str = "ok"
    last_new_item: datetime | None = None
    body_hash: str | None = None  # of the last 200's decoded body (``poll.body_hash``)
    unchanged_polls: int = 0  # 200s whose body was that one again: not parsed
    last_unchanged: datetime | None = None
    item_times: tuple[float, ...] = ()  # recent item publish times, unix s (schedule.Model)
    interval: float | None = None  # the wait the scheduler chose last (seconds)
    interval_reason: str | None = None  # and why, for ``status``


@dataclass(frozen=True)
class Validators:
    """What a 200 response replaces: its HTTP validators and the kind of body it was."""

    etag: str | None
    last_modified: str | None
    kind: str | None
    body_hash: str | None = None  # the body's hash (``service.poll.body_hash``)


@dataclass(frozen=True)
class SourceUpdate:
    """What one poll changes in a source's stored state (``sources.health`` decides it,
    ``Storage.record_poll`` / ``record_failure`` write it, one column per field).

    The first fields are written every time (``None`` stores NULL). The last ones are
    optional: ``None`` (``False`` for ``primed``) leaves the stored value as it was.
    """

    last_poll: datetime
    last_status: str  # "ok", "not modified", "unchanged", "error"
    last_http_status: int | None = None
    last_error: str | None = None  # a failure's message, or a salvaged feed's warning
    consecutive_failures: int = 0
    not_before: datetime | None = None  # Retry-After: not polled again before then
    # -- None: unchanged
    health: str | None = None  # "ok", "broken", "stale"
    last_ok: datetime | None = None
    primed: bool = False  # True: the first poll is recorded (never set back)
    validators: Validators | None = None  # a 200: etag, last_modified and kind replaced
    permanent_url: str | None = None
    last_new_item: datetime | None = None
    unchanged: bool = False  # a 200 with the last body again: counted, not parsed


@dataclass(frozen=True)
class PageBlocks:
    """A watched page's poll: every fingerprint on it now (None: unchanged, a 304, so those
    of the last poll); fingerprints last seen before ``forget_before`` are forgotten."""

    fingerprints: list[str] | None
    forget_before: datetime


# -- hits and alerts -------------------------------------------------------------------


@dataclass(frozen=True)
class RelatedStory:
    """The story a new hit came close to without joining (``matching.hits``): its first
    hit's title, source, link and when it alerted (None: earlier in the same poll). Its
    alert says "Possibly the same story as: ..."; stored with the hit (migration 0008)."""

    title: str
    source: str
    alerted_at: datetime | None = None
    link: str = ""


@dataclass(frozen=True)
class NewAlert:
    """One message to queue for one channel URL (rendered; ``data`` is its JSON payload)."""

    channel: str
    url_key: str
    masked_url: str
    title: str
    body: str
    format: str = "text"
    data: str | None = None
    rule_digest: str | None = None
    kind: str = "hit"
    event_key: str | None = None  # health alerts: one row per (event, URL)


@dataclass(frozen=True)
class NewHit:
    """A hit to insert with the alerts it queues."""

    rule: str
    source: str
    item_id: str
    link: str
    title: str
    title_key: str
    published: datetime | None
    terms: tuple[str, ...]
    snippet: str
    duplicate_of: int | None = None
    duplicate_reason: str | None = None
    alerts: tuple[NewAlert, ...] = ()
    # Story clustering (weightwatch.matching.story): the features JSON and the words to index. A hit
    # whose story starts earlier in the same ``record_poll`` names that hit by its position
    # in the list instead of ``duplicate_of`` (it has no id yet).
    story_features: str = ""
    story_words: tuple[str, ...] = ()
    duplicate_of_batch: int | None = None
    # A story it came close to without joining (its alerts say so); None for a member.
    related: RelatedStory | None = None


@dataclass(frozen=True)
class AlertRow:
    id: int
    hit_id: int | None
    channel: str
    url_key: str
    masked_url: str
    title: str
    body: str
    status: str
    attempts: int
    last_error: str | None
    created: datetime | None = None
    updated: datetime | None = None
    kind: str = "hit"
    format: str = "text"
    data: str | None = None
    rule_digest: str | None = None
    hold: str | None = None
    next_attempt: datetime | None = None
    sent: datetime | None = None
    digest_id: int | None = None


@dataclass(frozen=True)
class UrlStreak:
    """A channel URL's current run of failed sends, as ``url_health`` keeps it: how many
    in a row, since when (the first of them), and whether the ops channel was told the
    URL is failing (then it hears "working again" at the next success)."""

    failures: int = 0
    since: datetime | None = None
    reported: bool = False


@dataclass(frozen=True)
class AlertTarget:
    """One channel URL a rule notifies (``url_key`` names it without the secret URL)."""

    channel: str
    url: str
    url_key: str
    masked_url: str


# -- stories: what the decider needs from storage ------------------------------------


@dataclass(frozen=True)
class StoryLookup:
    """What a batch of new hits needs to know about stored stories (``Storage.story_context``).

    ``links``: the (rule, canonical link) pairs of its hits. ``words``: per hit that looks
    for a similar story, its rule and its lookup words with their weights. Each word brings
    its rule's ``per_word`` newest hits created at or after ``since``; per hit, the
    ``limit`` sharing the most weight are its candidates (``StoryContext.candidates``).
    """

    links: frozenset[tuple[str, str]] = frozenset()
    words: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()
    since: datetime | None = None
    per_word: int = 0
    limit: int = 0


@dataclass(frozen=True)
class StoredHit:
    """A stored hit that a new hit may join: its story's first hit, its features JSON."""

    first_id: int
    features: str


@dataclass(frozen=True)
class StoryContext:
    """Stored stories as one read for a batch of new hits (``Storage.story_context``).

    ``linked``: (rule, link) -> the story (first hit) of the oldest stored hit of that rule
    with that link, at any age. ``recent``: (rule, word) -> the ids of that rule's newest
    hits indexed under the word inside the window, newest first (at most ``per_word``).
    ``hits``: the features of every hit that is a candidate of some hit of the batch.
    ``sources``: each story named above (first hit id) -> the sources of its hits.
    ``heads``: each story named above (first hit id) -> its first hit as a ``RelatedStory``.
    ``ranked``: the ``candidates`` answers that the read already computed, by (rule,
    words, limit), so the decider does not rank them again.
    """

    linked: Mapping[tuple[str, str], int] = field(default_factory=dict)
    recent: Mapping[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)
    hits: Mapping[int, StoredHit] = field(default_factory=dict)
    sources: Mapping[int, frozenset[str]] = field(default_factory=dict)
    heads: Mapping[int, RelatedStory] = field(default_factory=dict)
    ranked: Mapping[tuple[str, tuple[tuple[str, float], ...], int], tuple[int, ...]] = field(
        default_factory=dict
    )

    def candidates(self, rule: str, words: Iterable[tuple[str, float]], limit: int) -> list[int]:
        """The earlier hits of ``rule`` a new hit with these (word, weight)s is compared
        with: each word's recent hits, the ``limit`` sharing the most weight (ties: newest
        first), best first. The blocking of ``Storage.story_candidates``, on this read."""
        words = tuple(words)
        known = self.ranked.get((rule, words, limit))
        if known is not None:
            return list(known)
        shared: dict[int, float] = {}
        for word, weight in words:
            for hit_id in self.recent.get((rule, word), ()):
                shared[hit_id] = shared.get(hit_id, 0.0) + weight
        # The ``limit`` largest (weight, id): sorted by weight, then newest, descending.
        return [h for h, _ in heapq.nlargest(limit, shared.items(), key=itemgetter(1, 0))]


# -- the outcome of a poll cycle -------------------------------------------------------


@dataclass
class SourceOutcome:
    source: str
    status: str  # "ok", "not modified", "unchanged", "error", "waiting"
    new_items: int = 0
    hits: int = 0
    alerts: int = 0
    error: str = ""
    duration: float = 0.0
    primed: bool = False  # first poll: recorded without alerting


@dataclass
class DeliveryOutcome:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class CycleSummary:
    sources: list[SourceOutcome] = field(default_factory=list)
    delivery: DeliveryOutcome = field(default_factory=DeliveryOutcome)
    pending: int = 0
    duration: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.sources if o.status == status)

    @property
    def unchanged(self) -> int:
        """Sources whose 200 body was byte-identical to their last one: not parsed."""
        return self.count("unchanged")

    def render(self) -> str:
        ok = self.count("ok") + self.count("not modified") + self.unchanged
        failed = self.count("error")
        waiting = self.count("waiting")
        new = sum(o.new_items for o in self.sources)
        hits = sum(o.hits for o in self.sources)
        same = f", {self.unchanged} unchanged" if self.unchanged else ""
        not_modified = self.count("not modified")
        lines = [
            f"{len(self.sources)} sources: {ok} ok ({not_modified} not modified{same}),"
            f" {failed} failed" + (f", {waiting} waiting for Retry-After" if waiting else "") + ".",
            f"{new} new items, {hits} hits; alerts: {self.delivery.sent} sent,"
            f" {self.pending} pending, {self.delivery.failed} failed. ({self.duration:.1f} s)",
        ]
        primed = [o.source for o in self.sources if o.primed]
        if primed:
            lines.append(
                f"First poll of {len(primed)} source(s): their current items were recorded"
                " without alerting (use --backfill to alert on them)."
            )
        for o in self.sources:
            if o.status == "error":
                lines.append(f"  failed: {o.source}: {o.error}")
        for error in self.delivery.errors:
            lines.append(f"  alert not delivered: {error}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class NewSource:
    """A ``[[source]]`` table to add to the config file (``config.edit.add_sources``).

    Literal values, as a user would type them: ``url`` is written so that it stays this
    exact text (a ``$`` in it is not the start of a ``${VAR}``); ``interval`` is a duration
    as written (``"1h"``), ``""`` to leave the source on ``settings.interval``.
    """

    name: str
    url: str
    tags: tuple[str, ...] = ()
    interval: str = ""
