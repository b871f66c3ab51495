"""Story decisions inside one batch: earlier hits of the batch are found through an index
of their story words, bounded like the stored candidates (``StoryContext.candidates``), so
a feed with thousands of new hits costs linear time, not quadratic.

Pure: no SQLite; the stored index is a ``StoryContext`` built the way ``Storage`` builds it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from weightwatch.config import DEFAULT_TITLE_SIMILARITY, Rule
from weightwatch.delivery import templates
from weightwatch.matching import hits, story
from weightwatch.matching.query import parse
from weightwatch.types import Item, NewHit, StoryContext

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WINDOW = 3 * 24 * 3600.0
PAIRS = Path(__file__).parents[1] / "data" / "story_pairs.tsv"
RULE = Rule("r", parse("weights"), "weights", ())


def headlines() -> list[str]:
    lines = [ln for ln in PAIRS.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
    return list(dict.fromkeys(h for row in rows for h in (row["headline_a"], row["headline_b"])))


def batch(titles: Sequence[str]) -> list[Item]:
    # The rule's word is in the text: it matches every item and is left out of its features.
    return [Item("s", f"i{n}", "", t, "weights", T0) for n, t in enumerate(titles)]


def decide(items: Sequence[Item]) -> list[NewHit]:
    return hits.decide(
        hits.match(items, [RULE]),
        StoryContext(),
        source="s",
        channels={},
        templates=templates.cached,
        url_salt=b"a fixed salt of 32 bytes, tests!",
        dedup_window=WINDOW,
        title_similarity=DEFAULT_TITLE_SIMILARITY,
    )


def weighted(feats: story.Features) -> list[tuple[str, float]]:
    return [(w, story.weight(w) or 0.5) for w in feats.lookup_words()]


def test_the_batch_index_ranks_earlier_hits_exactly_like_the_stored_index() -> None:
    feats = [story.features(t) for t in headlines()]
    index = hits.BatchIndex(per_word=3)  # small, so the per-word cut is exercised
    recent: dict[tuple[str, str], tuple[int, ...]] = {}
    for n, f in enumerate(feats):
        # stored: hit id n + 1, each word's newest per_word hits, newest first
        context = StoryContext(recent=recent)
        want = [h - 1 for h in context.candidates("r", weighted(f), 5)]
        assert index.candidates("r", weighted(f), 5) == want
        index.add("r", n, f.index_words())
        for w in dict.fromkeys(f.index_words()):
            recent[("r", w)] = (n + 1, *recent.get(("r", w), ()))[:3]


def test_each_new_hit_is_compared_with_a_bounded_number_of_batch_mates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[int] = []
    real: Callable[..., Any] = story.choose

    def counting(hit: story.Features, candidates: Any, threshold: Any = None) -> Any:
        given = list(candidates)
        compared.append(len(given))
        return real(hit, given, threshold)

    monkeypatch.setattr(story, "choose", counting)
    # 200 hits sharing two rare words (every one is a candidate of every later one); the
    # names differ, so no two are one story and each is compared with its mates. 200 is
    # several times max_candidates: comparing every pair would be three times the bound.
    names = [f"{a}{b}" for a in ("Zor", "Qua", "Vel", "Mik") for b in range(50)]
    made = decide(batch([f"Quintex Zorblax sues {name}" for name in names]))
    assert len(made) == 200
    assert max(compared) <= story.TUNING.max_candidates
    assert sum(compared) <= 200 * story.TUNING.max_candidates  # every pair: 200 * 199 / 2


def roots_by_full_comparison(items: Sequence[Item]) -> list[int | None]:
    """The old decision: every earlier hit of the batch compared (each with its story),
    in batch order."""
    feats: list[story.Features] = []
    root: list[int] = []
    out: list[int | None] = []
    for n, entry in enumerate(hits.match(items, [RULE]).items):
        f = entry.hits[0].features
        given = [(i, root[i], g) for i, g in enumerate(feats)]
        best = story.best_story(f, given, DEFAULT_TITLE_SIMILARITY)
        out.append(None if best is None else root[best[0]])
        root.append(n if best is None else root[best[0]])
        feats.append(f)
    return out


def test_a_batch_of_real_headlines_makes_the_same_stories_as_comparing_every_pair() -> None:
    items = batch(headlines())
    made = decide(items)
    assert [h.duplicate_of_batch for h in made] == roots_by_full_comparison(items)
    assert sum(h.duplicate_of_batch is not None for h in made) > 20  # joins happen


RELEASE = [
    (
        "OpenAI launches two 'open' AI reasoning models",
        "OpenAI on Tuesday released two open-weight reasoning models, gpt-oss-120b and"
        " gpt-oss-20b, which anyone can download for free from Hugging Face.",
    ),
    (
        "OpenAI releases its first open-weight models since GPT-2",
        "OpenAI is releasing gpt-oss-120b and gpt-oss-20b, two open-weight language models"
        " under the Apache 2.0 license; the smaller one can run on a laptop.",
    ),
    (
        "OpenAI releases free open-weight models, its first since 2019",
        "OpenAI released gpt-oss-120b and gpt-oss-20b on Tuesday, its first open-weight"
        " release since GPT-2 in 2019, to compete with DeepSeek.",
    ),
]


@pytest.mark.parametrize("order", [(0, 1, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)])
def test_one_release_from_three_outlets_is_one_story_whichever_comes_first(
    order: tuple[int, int, int],
) -> None:
    """Issue 12: under a narrow rule a news headline anchors the story; the ledes' model
    names, the paraphrased verbs and a year that is no version still join the others."""
    rule = Rule("narrow", parse("models"), "models", ())
    items = [Item(f"s{n}", f"i{n}", "", RELEASE[n][0], RELEASE[n][1], T0) for n in order]
    made = hits.decide(
        hits.match(items, [rule]),
        StoryContext(),
        source="s",
        channels={},
        templates=templates.cached,
        url_salt=b"a fixed salt of 32 bytes, tests!",
        dedup_window=WINDOW,
        title_similarity=DEFAULT_TITLE_SIMILARITY,
    )
    assert [h.duplicate_of_batch for h in made] == [None, 0, 0], [
        (h.title, h.duplicate_reason) for h in made
    ]
