"""``story.choose`` compares each candidate once and shares the verdicts between the join
(``best_match``, ``best_story``) and the related-story hint (``closest``); the faster
pair scoring derives each hit's word weights once. Neither may change a decision.

The oracle below is the decision code as it was before (main at 53aafb2, every function
scoring the candidates on its own, weights summed word by word), kept verbatim apart from
names. Every labelled pair and a replay of all their items (each compared with its 40
predecessors, grouped into two-member stories) must be decided the same by both, signal
and score included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from rapidfuzz import fuzz

from weightwatch.matching import dedup, paraphrase, story
from weightwatch.matching.story import TUNING, Features

T = TypeVar("T")
DATA = Path(__file__).resolve().parents[1] / "data"
SETS = ("story_pairs.tsv", "story_pairs_ledes.tsv", "story_hard_pairs.tsv")


# --- the oracle: the decision before the shared scoring -----------------------------------


def _weight_of(words: Iterable[str]) -> float:
    return sum(story.weight(w) or 0.5 for w in words)


def _by_name(f: Features) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, version in f.subject:
        out.setdefault(name, set()).add(version)
    titled = set(out)
    for name, version in f.versions:
        if name not in titled:
            out.setdefault(name, set()).add(version)
    return out


def _version_conflict(a: Features, b: Features) -> bool:
    mine, theirs = _by_name(a), _by_name(b)
    return any(mine[n].isdisjoint(theirs[n]) for n in mine.keys() & theirs.keys())


def _replaced_word(a: Features, b: Features) -> bool:
    if not a.key or not b.key:
        return False
    if dedup.similarity(a.key, b.key) < TUNING.swap_similarity:
        return False
    a_tokens, b_tokens = Counter(a.key.split()), Counter(b.key.split())
    lost, gained = list((a_tokens - b_tokens).elements()), list((b_tokens - a_tokens).elements())
    if len(lost) != 1 or len(gained) != 1:
        return False
    stem = story._stem
    return paraphrase.canonical(stem(lost[0])) != paraphrase.canonical(stem(gained[0]))


def _entity_swap(a: Features, b: Features) -> bool:
    if not a.key or not b.key:
        return False
    if dedup.similarity(a.key, b.key) < TUNING.swap_similarity:
        return False
    lost, gained = dedup.replaced_words(a.key, b.key)
    stem = story._stem
    lost_names = [w for w in lost if stem(w) in a.names and stem(w) not in b.words]
    gained_names = [w for w in gained if stem(w) in b.names and stem(w) not in a.words]
    return bool(lost_names) and bool(gained_names)


def _reversal_differs(a_key: str, b_key: str) -> bool:
    a_counts, b_counts = Counter(a_key.split()), Counter(b_key.split())
    return any(a_counts[w] != b_counts[w] for w in dedup._REVERSALS)


def _reversal(a: Features, b: Features) -> bool:
    if not a.key or not b.key:
        return False
    if not _reversal_differs(a.key, b.key):
        return False
    if set(a.subject) & set(b.subject):
        return True
    return dedup.similarity(a.key, b.key) >= TUNING.reversal_similarity


def guard(a: Features, b: Features) -> str | None:
    if _version_conflict(a, b):
        return "versions differ"
    if story._role_swap(a, b):
        return "roles swapped"
    if _entity_swap(a, b):
        return "names swapped"
    if _reversal(a, b):
        return "reversal"
    if _replaced_word(a, b):
        return "word replaced"
    return None


def shared_score(a: Features, b: Features) -> tuple[float, frozenset[str]]:
    a_words, b_words = a.words, b.words
    ab = frozenset(w for w in a.title if w in b_words)
    ba = frozenset(w for w in b.title if w in a_words)
    a_total, b_total = _weight_of(a.title), _weight_of(b.title)
    if not a_total or not b_total:
        return 0.0, frozenset()
    score = (_weight_of(ab) / a_total + _weight_of(ba) / b_total) / 2
    return score, ab | ba


def same_story(a: Features, b: Features, title_threshold: float | None = None) -> Any:
    threshold = TUNING.title_threshold if title_threshold is None else title_threshold
    if (
        a.key
        and b.key
        and (a.key == b.key or fuzz.ratio(a.key, b.key, score_cutoff=threshold))
        and dedup.is_near_duplicate(a.key, b.key, threshold)
    ):
        why = guard(a, b)
        if why is not None:
            return False, why, 0.0
        return True, "similar title", dedup.similarity(a.key, b.key)
    score, shared = shared_score(a, b)
    names = a.names | b.names
    signal = "shared words"
    if (
        score < TUNING.min_score
        or len(shared) < TUNING.min_shared
        or len(shared & names) < TUNING.min_shared_names
        or _weight_of(shared) < TUNING.min_shared_weight
    ):
        lede = frozenset(w for w in a.words & b.words if w in names and w not in shared)
        if (
            score < TUNING.lede_min_score
            or _weight_of(lede) < TUNING.lede_weight
            or len(shared | lede) < TUNING.min_shared
        ):
            return False, "no match", round(score, 3)
        signal = "shared names"
    why = guard(a, b)
    if why is not None:
        return False, why, round(score, 3)
    return True, signal, round(score, 3)


RANK = {"similar title": 2, "shared words": 1, "shared names": 0}


def best_match(hit: Features, candidates: Iterable[tuple[T, Features]]) -> Any:
    best = None
    rank: tuple[int, float] = (-1, 0.0)
    for ident, other in candidates:
        ok, signal, score = same_story(hit, other)
        if not ok:
            continue
        mine = (RANK.get(signal, 0), score)
        if mine > rank:
            best, rank = (ident, signal, score), mine
    return best


def story_score(hit: Features, members: Sequence[Features]) -> tuple[float, frozenset[str]]:
    union: dict[str, float] = {}
    for m in members:
        for w in m.words:
            union.setdefault(w, story.weight(w) or 0.5)
    kept = sorted(union, key=lambda w: (-union[w], w))[: TUNING.story_union_words]
    words = frozenset(kept)
    total = _weight_of(hit.title)
    if not total:
        return 0.0, frozenset()
    shared = frozenset(w for w in hit.title if w in words)
    return _weight_of(shared) / total, shared


def best_story(hit: Features, candidates: Iterable[tuple[T, Hashable, Features]]) -> Any:
    given = list(candidates)
    best = best_match(hit, [(ident, f) for ident, _, f in given])
    if best is not None:
        return best
    stories: dict[Hashable, list[tuple[T, Features]]] = {}
    for ident, key, f in given:
        stories.setdefault(key, []).append((ident, f))
    found = None
    top = 0.0
    for members in stories.values():
        if len(members) < TUNING.story_min_members:
            continue
        feats = [f for _, f in members]
        score, shared = story_score(hit, feats)
        if (
            score < TUNING.story_min_score
            or score <= top
            or len(shared) < TUNING.story_min_shared
            or _weight_of(shared) < TUNING.min_shared_weight
        ):
            continue
        if any(guard(hit, f) is not None for f in feats):
            continue
        found, top = (members[0][0], "story words", round(score, 3)), score
    return found


def closest(hit: Features, candidates: Iterable[tuple[T, Features]]) -> Any:
    scores: dict[T, float] = {}
    refused: set[T] = set()
    for ident, other in candidates:
        ok, signal, score = same_story(hit, other)
        if ok or signal != "no match":
            refused.add(ident)
        elif score >= TUNING.related:
            if guard(hit, other) is not None:
                refused.add(ident)
            elif score > scores.get(ident, -1.0):
                scores[ident] = score
    best = None
    for ident, score in scores.items():
        if ident not in refused and (best is None or score > best[1]):
            best = (ident, score)
    return best


# --- the sets -----------------------------------------------------------------------------


def pairs(name: str) -> list[tuple[Features, Features]]:
    rows = [
        line.split("\t")
        for line in (DATA / name).read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ][1:]
    if name == "story_hard_pairs.tsv":  # label, title_a, text_a, title_b, text_b, id
        return [(story.features(r[1], r[2]), story.features(r[3], r[4])) for r in rows]
    # label, headline_a, headline_b, ..., text_a (9), text_b (10), reason
    texts = [(r[9], r[10]) if len(r) > 10 else ("", "") for r in rows]
    return [
        (story.features(r[1], a), story.features(r[2], b))
        for r, (a, b) in zip(rows, texts, strict=True)
    ]


def test_the_oracle_is_the_decision_of_main() -> None:
    """The oracle's guard of dedup's reversal words is the module's (what the faster
    ``dedup.reversal_counts`` replaced), on every title pair of the sets."""
    for name in SETS:
        for a, b in pairs(name):
            assert dedup._reversal_differs(a.key, b.key) == _reversal_differs(a.key, b.key)


@pytest.mark.parametrize("name", SETS)
def test_every_labelled_pair_is_decided_as_before(name: str) -> None:
    for a, b in pairs(name):
        assert story.same_story(a, b) == same_story(a, b)
        assert story.guard(a, b) == guard(a, b)
        assert story.shared_score(a, b) == shared_score(a, b)
        assert story.best_story(a, [(0, 0, b)]) == best_story(a, [(0, 0, b)])
        assert story.closest(a, [(0, b)]) == closest(a, [(0, b)])
        one = best_story(a, [(0, 0, b)])
        assert story.choose(a, [(0, 0, b)]) == (one, None if one else closest(a, [(0, b)]))


def test_a_replay_of_every_labelled_item_is_decided_as_before() -> None:
    """Each item against its 40 predecessors, the two items of a pair one story: the
    member join, the story comparison (two-member stories) and the hint all occur."""
    items: list[tuple[Features, int]] = []
    for name in SETS:
        for a, b in pairs(name):
            items += [(a, len(items) // 2), (b, len(items) // 2)]
    kinds: Counter[str] = Counter()
    for n, (hit, _) in enumerate(items):
        given = [(m, key, f) for m, (f, key) in enumerate(items[max(0, n - 40) : n])]
        want = best_story(hit, given)
        near = None if want else closest(hit, [(key, f) for _, key, f in given])
        assert story.choose(hit, given) == (want, near), n
        assert story.best_match(hit, [(m, f) for m, _, f in given]) == best_match(
            hit, [(m, f) for m, _, f in given]
        )
        kinds[want[1] if want else ("hint" if near else "new")] += 1
    assert min(kinds[k] for k in ("shared words", "story words", "hint", "new")) > 0, kinds
