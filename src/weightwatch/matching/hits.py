"""The hit decider: which new items are hits, which story each hit starts or joins, and
what alerts it queues. Pure: values in (new items, rules, channels, a ``StoryContext`` read
from storage in one call, ``now``), values out (``NewHit`` with its ``NewAlert``s).

Two steps, so storage is read once and only for what the batch needs:

1. ``match(fresh, rules)``: each new item against each rule that applies to the source,
   with the story features of each hit. ``Matches.lookup(...)`` says what to read.
2. ``decide(matches, context, ...)``: per rule, a hit joins the story of an earlier hit
   with the same canonical link (at any age), else the best ``story.best_story`` among the
   stored candidates inside ``dedup_window`` and this batch's earlier hits (a member, or
   the combined evidence of one story's candidates), else starts a story. The batch's
   earlier hits are found the way stored ones are (``BatchIndex``:
   per rule and word the newest ``per_word``, at most ``max_candidates`` per new hit), so
   a poll of thousands of new hits costs linear time, not quadratic. A story's first hit
   alerts, one message per channel URL naming every rule that sends the item there
   (``delivery.routing``); a later member does what its rule's ``on_update`` says:
   nothing ("silent"), held for a digest ("digest"), or an update naming how many
   sources the story has ("alert"), never twice to one URL per item. A hit that starts a
   story but came close to one (``story.closest``: its best candidate story scores at
   least ``TUNING.related`` and no guard refused it) carries that story's first hit as
   ``related``, and its alerts say "Possibly the same story as: ...".
3. With ``max_alerts`` (``settings.max_alerts_per_poll``), ``cap_alerts``: at most that
   many alerts of the poll go one by one to each channel URL; the rest fold into one
   message per URL (``routing.overflow_alert``). Every hit is still stored as a hit.

The pipeline (``service.poll``) does the reading and the writing; see docs/dedup.md.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from operator import itemgetter
from typing import TYPE_CHECKING

from weightwatch.delivery import render, routing
from weightwatch.delivery.render import RuleMatch
from weightwatch.matching import dedup, query, story
from weightwatch.types import Item, NewAlert, NewHit, RelatedStory, StoryContext, StoryLookup

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


class BatchIndex:
    """This batch's earlier hits, indexed by their story words exactly as ``Storage``
    indexes stored hits: per (rule, word) the newest ``per_word``, and per new hit the
    ``limit`` sharing the most weight (ties: newest first), ``StoryContext.candidates``'s
    ranking. Positions are those of ``add``; the same link is found at any position."""

    def __init__(self, per_word: int) -> None:
        self._per_word = per_word
        self._recent: dict[tuple[str, str], deque[int]] = {}
        self._links: dict[tuple[str, str], int] = {}

    def add(self, rule: str, position: int, words: Iterable[str], link: str = "") -> None:
        for word in dict.fromkeys(words):
            found = self._recent.get((rule, word))
            if found is None:
                found = self._recent[(rule, word)] = deque(maxlen=self._per_word)
            found.append(position)
        if link:
            self._links.setdefault((rule, link), position)

    def linked(self, rule: str, link: str) -> int | None:
        """The first earlier hit of ``rule`` with this link."""
        return self._links.get((rule, link)) if link else None

    def candidates(self, rule: str, words: Iterable[tuple[str, float]], limit: int) -> list[int]:
        """The positions of the earlier hits of ``rule`` a new hit is compared with, best
        first (``StoryContext.candidates`` on this batch)."""
        shared: dict[int, float] = {}
        for word, weight in words:
            for position in self._recent.get((rule, word), ()):
                shared[position] = shared.get(position, 0.0) + weight
        return [p for p, _ in heapq.nlargest(limit, shared.items(), key=itemgetter(1, 0))]


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
    url_salt: bytes,
    dedup_window: float,
    title_similarity: float,
    max_alerts: int | None = None,
) -> list[NewHit]:
    """The new hits of a batch, in order, each with the alerts it queues.

    ``context`` is ``Storage.story_context(matches.lookup(now, dedup_window))``;
    ``templates`` compiles a template text (``delivery.templates.cached``); ``url_salt``
    keys the alerts' channel URLs (``Storage.url_salt``, see ``routing.url_key``).
    """
    hits: list[NewHit] = []
    batch: list[_Member] = []  # this batch's hits so far, for stories that start in it
    found_by = BatchIndex(story.TUNING.per_word)
    heads: dict[int, RelatedStory] = {}  # position of a story started in this batch -> it
    parsed: dict[int, story.Features] = {}
    for entry in matches.items:
        item = entry.item
        originals: list[tuple[Rule, RuleMatch]] = []
        updates: list[tuple[int, RuleHit, int]] = []  # (index in item_hits, hit, sources)
        item_hits: list[NewHit] = []
        for rh in entry.hits:
            name, feats = rh.rule.name, rh.features
            found = _find_story(
                name,
                item,
                feats,
                (batch, found_by, heads),
                context,
                parsed,
                dedup_window,
                title_similarity,
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
            found_by.add(name, len(batch), hit.story_words, item.link)
            if found is None or isinstance(found, RelatedStory):
                related = found
                hit = replace(hit, related=related)
                originals.append((rh.rule, replace(rh.match, related=related)))
                batch.append(_Member(name, item.link, feats, None, position))
                heads[position] = RelatedStory(_headline(item), source, None, item.link)
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
            alerts = routing.alerts_for(item, originals, channels, templates, url_salt)
            first = next(i for i, h in enumerate(item_hits) if h.rule == originals[0][0].name)
            item_hits[first] = replace(item_hits[first], alerts=alerts)
        told = {a.url_key for h in item_hits for a in h.alerts}
        for index, rh, count in updates:
            made: list[NewAlert] = [
                a
                for a in routing.alerts_for(
                    item, [(rh.rule, rh.match)], channels, templates, url_salt
                )
                if a.url_key not in told
            ]
            told.update(a.url_key for a in made)
            item_hits[index] = replace(
                item_hits[index], alerts=tuple(routing.as_update(a, rh.rule, count) for a in made)
            )
        hits.extend(item_hits)
    return hits if max_alerts is None else cap_alerts(hits, source=source, limit=max_alerts)


def cap_alerts(made: Sequence[NewHit], *, source: str, limit: int) -> list[NewHit]:
    """``made`` with at most ``limit`` alerts sent one by one to each channel URL; the
    later ones fold into one ``routing.overflow_alert`` per URL, queued with the first hit
    whose own alert it replaces. Alerts held for a rule's digest are neither counted nor
    folded (they already make one message)."""
    sent: dict[str, int] = {}
    over: dict[str, tuple[int, list[NewAlert]]] = {}  # url_key -> (first hit, its alerts)
    out = list(made)
    for n, hit in enumerate(made):
        kept = []
        for a in hit.alerts:
            if a.kind == "hit" and a.rule_digest is None:
                if sent.get(a.url_key, 0) >= limit:
                    over.setdefault(a.url_key, (n, []))[1].append(a)
                    continue
                sent[a.url_key] = sent.get(a.url_key, 0) + 1
            kept.append(a)
        if len(kept) != len(hit.alerts):
            out[n] = replace(hit, alerts=tuple(kept))
    for n, folded in over.values():
        message = routing.overflow_alert(folded, source=source)
        out[n] = replace(out[n], alerts=(*out[n].alerts, message))
    return out


def _find_story(
    rule: str,
    item: Item,
    feats: story.Features,
    batch: tuple[list[_Member], BatchIndex, Mapping[int, RelatedStory]],
    context: StoryContext,
    parsed: dict[int, story.Features],
    dedup_window: float,
    title_similarity: float,
) -> _Found | RelatedStory | None:
    """The story a new hit of ``rule`` joins; else the story it comes close to (a new story
    with a hint: ``_related``), or None for a new story.

    Same canonical link first (at any age), then ``story.best_story`` among the stored
    candidates (``context``) and this batch's earlier hits of the rule that the batch
    index names (given in batch order, so ties go to the earliest as before).
    """
    same = context.linked.get((rule, item.link)) if item.link else None
    if same is not None:
        return _Found(same, None, "same link", context.sources.get(same, frozenset()))
    members, index, heads = batch
    linked = index.linked(rule, item.link)
    if linked is not None:
        return _joined(context, members[linked], "same link")
    if dedup_window <= 0:
        return None
    words = _weighted(feats)
    limit = story.TUNING.max_candidates
    ids = [h for h in context.candidates(rule, words, limit) if h in context.hits]
    mates = [members[p] for p in sorted(index.candidates(rule, words, limit))]
    for h in ids:
        if h not in parsed:
            parsed[h] = story.stored(context.hits[h].features)
    # Each candidate with its story (stored first hit, or first position in this batch),
    # so that a hit matching no single member can still join the story's combined
    # evidence (``story.best_story``), and the hint (``story.closest``) for a hit that joins
    # none.
    candidates: list[tuple[tuple[int, int], tuple[str, int], story.Features]] = [
        ((0, n), ("s", context.hits[h].first_id), parsed[h]) for n, h in enumerate(ids)
    ]
    candidates += [((1, n), _story_of(b), b.features) for n, b in enumerate(mates)]
    # One comparison of each candidate serves the join and, for a hit that joins
    # nothing, the related-story hint (``story.choose``).
    best, near = story.choose(feats, candidates, title_similarity)
    if best is None:
        return _related(near, context, heads)
    (where, n), signal, score = best
    reason = story.describe(signal, score)
    if where == 0:
        first = context.hits[ids[n]].first_id
        return _Found(first, None, reason, context.sources.get(first, frozenset()))
    return _joined(context, mates[n], reason)


def _story_of(mate: _Member) -> tuple[str, int]:
    if mate.first_id is not None:
        return ("s", mate.first_id)
    return ("b", mate.first_pos if mate.first_pos is not None else -1)


def _related(
    near: tuple[tuple[str, int], float] | None,
    context: StoryContext,
    heads: Mapping[int, RelatedStory],
) -> RelatedStory | None:
    """The first hit of the story a new hit comes close to without joining (the story
    ``story.choose`` hints at: stored, or started earlier in this batch), or None."""
    if near is None:
        return None
    (where, n), _ = near
    return context.heads.get(n) if where == "s" else heads.get(n)


def _headline(item: Item) -> str:
    return item.title or item.text[: render.TITLE_MAX] or item.link or "(untitled item)"


def _joined(context: StoryContext, mate: _Member, reason: str) -> _Found:
    if mate.first_id is not None:
        sources = context.sources.get(mate.first_id, frozenset())
        return _Found(mate.first_id, None, reason, sources)
    return _Found(None, mate.first_pos, reason, frozenset())  # a story of this batch
