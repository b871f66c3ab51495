"""The hit decider: which new items are hits, which story each hit starts or joins, and
what alerts it queues. Pure: values in (new items, rules, channels, a ``StoryContext`` read
from storage in one call, ``now``), values out (``NewHit`` with its ``NewAlert``s).

Two steps, so storage is read once and only for what the batch needs:

1. ``match(fresh, rules)``: each new item against each rule that applies to the source,
   with the story features of each hit. ``Matches.lookup(...)`` says what to read.
2. ``decide(matches, context, ...)``: per rule, a hit joins the story of an earlier hit
   with the same canonical link (at any age), else the best ``story.best_match`` among the
   stored candidates inside ``dedup_window`` and this batch's earlier hits, else starts a
   story. A story's first hit alerts, one message per channel URL naming every rule that
   sends the item there (``delivery.routing``); a later member does what its rule's
   ``on_update`` says: nothing ("silent"), held for a digest ("digest"), or an update
   naming how many sources the story has ("alert"), never twice to one URL per item.

The pipeline (``service.poll``) does the reading and the writing; see docs/dedup.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from weightwatch.delivery import routing
from weightwatch.delivery.render import RuleMatch
from weightwatch.matching import dedup, query, story
from weightwatch.types import Item, NewAlert, NewHit, StoryContext, StoryLookup

if TYPE_CHECKING:
    from weightwatch.config import Channel, Rule
    from weightwatch.delivery.templates import Template


@dataclass(frozen=True)
class RuleHit:
    """One rule that matched an item: the rule, what matched, the hit's story features."""

    rule: Rule
    match: RuleMatch
    features: story.Features


@dataclass(frozen=True)
class ItemHits:
    """A new item and the rules it matched, in rule order."""

    item: Item
    title_key: str
    hits: tuple[RuleHit, ...]


@dataclass(frozen=True)
class Matches:
    """The hits of one batch of new items, before their stories are decided."""

    items: tuple[ItemHits, ...] = ()

    def lookup(self, now: datetime, dedup_window: float) -> StoryLookup:
        """What ``decide`` needs from storage: every hit's (rule, link) and, when similar
        titles are looked for (``dedup_window`` > 0), its lookup words in the window."""
        tune = story.TUNING
        links = frozenset(
            (h.rule.name, entry.item.link)
            for entry in self.items
            for h in entry.hits
            if entry.item.link
        )
        if dedup_window <= 0:
            return StoryLookup(links=links)
        words = tuple(
            (h.rule.name, _weighted(h.features)) for entry in self.items for h in entry.hits
        )
        return StoryLookup(
            links=links,
            words=words,
            since=now - timedelta(seconds=dedup_window),
            per_word=tune.per_word,
            limit=tune.max_candidates,
        )


def _weighted(feats: story.Features) -> tuple[tuple[str, float], ...]:
    return tuple((w, story.weight(w) or 0.5) for w in feats.lookup_words())


def match(fresh: Sequence[Item], rules: Sequence[Rule]) -> Matches:
    """Each new item against each rule (the rules that apply to its source), in order."""
    out = []
    for item in fresh if rules else ():
        doc = query.prepare(item.title, item.text)
        found = []
        for rule in rules:
            m = rule.query.match(doc)
            if m is None:
                continue
            snip = query.snippet(doc, m)
            feats = story.features(item.title, item.text, m.terms)
            found.append(RuleHit(rule, RuleMatch(rule.name, m.terms, snip), feats))
        if found:
            out.append(ItemHits(item, dedup.title_key(item.title), tuple(found)))
    return Matches(tuple(out))


@dataclass(frozen=True)
class _Member:
    """A hit decided earlier in the same batch (not stored yet)."""

    rule: str
    link: str
    features: story.Features
    first_id: int | None  # its story's first hit, when that is stored
    first_pos: int | None  # else the position of that first hit in this batch's list


@dataclass(frozen=True)
class _Found:
    """The story a hit joins: its stored first hit, or that hit's position in the batch."""

    first_id: int | None
    first_pos: int | None
    reason: str
    sources: frozenset[str]  # the story's stored sources


def decide(
    matches: Matches,
    context: StoryContext,
    *,
    source: str,
    channels: Mapping[str, Channel],
    templates: Callable[[str, bool], Template],
    dedup_window: float,
    title_similarity: float,
) -> list[NewHit]:
    """The new hits of a batch, in order, each with the alerts it queues.

    ``context`` is ``Storage.story_context(matches.lookup(now, dedup_window))``;
    ``templates`` compiles a template text (``delivery.templates.cached``).
    """
    hits: list[NewHit] = []
    batch: list[_Member] = []  # this batch's hits so far, for stories that start in it
    parsed: dict[int, story.Features] = {}
    for entry in matches.items:
        item = entry.item
        originals: list[tuple[Rule, RuleMatch]] = []
        updates: list[tuple[int, RuleHit, int]] = []  # (index in item_hits, hit, sources)
        item_hits: list[NewHit] = []
        for rh in entry.hits:
            name, feats = rh.rule.name, rh.features
            found = _find_story(
                name, item, feats, batch, context, parsed, dedup_window, title_similarity
            )
            position = len(hits) + len(item_hits)
            hit = NewHit(
                rule=name,
                source=source,
                item_id=item.id,
                link=item.link,
                title=item.title,
                title_key=entry.title_key,
                published=item.published,
                terms=rh.match.terms,
                snippet=rh.match.snippet,
                story_features=feats.to_json(),
                story_words=tuple(feats.index_words()),
            )
            if found is None:
                originals.append((rh.rule, rh.match))
                batch.append(_Member(name, item.link, feats, None, position))
            else:
                hit = replace(
                    hit,
                    duplicate_of=found.first_id,
                    duplicate_of_batch=found.first_pos,
                    duplicate_reason=found.reason,
                )
                batch.append(_Member(name, item.link, feats, found.first_id, found.first_pos))
                if rh.rule.on_update != "silent":
                    updates.append((len(item_hits), rh, len(found.sources | {source})))
            item_hits.append(hit)
        if originals:
            alerts = routing.alerts_for(item, originals, channels, templates)
            first = next(i for i, h in enumerate(item_hits) if h.rule == originals[0][0].name)
            item_hits[first] = replace(item_hits[first], alerts=alerts)
        told = {a.url_key for h in item_hits for a in h.alerts}
        for index, rh, count in updates:
            made: list[NewAlert] = [
                a
                for a in routing.alerts_for(item, [(rh.rule, rh.match)], channels, templates)
                if a.url_key not in told
            ]
            told.update(a.url_key for a in made)
            item_hits[index] = replace(
                item_hits[index], alerts=tuple(routing.as_update(a, rh.rule, count) for a in made)
            )
        hits.extend(item_hits)
    return hits


def _find_story(
    rule: str,
    item: Item,
    feats: story.Features,
    batch: list[_Member],
    context: StoryContext,
    parsed: dict[int, story.Features],
    dedup_window: float,
    title_similarity: float,
) -> _Found | None:
    """The story a new hit of ``rule`` joins, or None for a new story.

    Same canonical link first (at any age), then ``story.best_match`` among the stored
    candidates (``context``) and this batch's earlier hits of the rule.
    """
    same = context.linked.get((rule, item.link)) if item.link else None
    if same is not None:
        return _Found(same, None, "same link", context.sources.get(same, frozenset()))
    mates = [b for b in batch if b.rule == rule]
    for b in mates:
        if item.link and b.link == item.link:
            return _joined(context, b, "same link")
    if dedup_window <= 0:
        return None
    ids = [
        h
        for h in context.candidates(rule, _weighted(feats), story.TUNING.max_candidates)
        if h in context.hits
    ]
    for h in ids:
        if h not in parsed:
            parsed[h] = story.Features.from_json(context.hits[h].features)
    candidates: list[tuple[tuple[int, int], story.Features]] = [
        ((0, n), parsed[h]) for n, h in enumerate(ids)
    ]
    candidates += [((1, n), b.features) for n, b in enumerate(mates)]
    best = story.best_match(feats, candidates, title_similarity)
    if best is None:
        return None
    (where, n), signal, score = best
    reason = story.describe(signal, score)
    if where == 0:
        first = context.hits[ids[n]].first_id
        return _Found(first, None, reason, context.sources.get(first, frozenset()))
    return _joined(context, mates[n], reason)


def _joined(context: StoryContext, mate: _Member, reason: str) -> _Found:
    if mate.first_id is not None:
        sources = context.sources.get(mate.first_id, frozenset())
        return _Found(mate.first_id, None, reason, sources)
    return _Found(None, mate.first_pos, reason, frozenset())  # a story of this batch
