"""The related-story hint of the hit decider (pure): a hit that starts a story but came
close to one carries that story's first hit as ``related``, never when a guard refused it.

No sockets, no SQLite: the stored stories are a ``StoryContext`` value built the way
``Storage.story_context`` builds it (``heads`` included), and the clock is a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from weightwatch.config import DEFAULT_TITLE_SIMILARITY, Channel, Rule
from weightwatch.delivery import templates
from weightwatch.matching import hits, query, story
from weightwatch.matching.query import parse
from weightwatch.types import Item, NewHit, RelatedStory, StoredHit, StoryContext

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ALERTED = T0 - timedelta(hours=2)
WINDOW = 3 * 24 * 3600.0
PHONE = Channel("phone", ("json://127.0.0.1:9/phone",), ("json://127.0.0.1:9/phone",))
SALT = b"a fixed salt of 32 bytes, tests!"
QUERY = "weights OR models OR model OR shares OR parliament"
RULE = Rule("r", parse(QUERY), QUERY, ("phone",))

# Titles whose story score falls between TUNING.related and a join, or that a guard splits.
OPENAI_A = "OpenAI launches two open AI reasoning models"
OPENAI_B = "OpenAI releases its first open-weight reasoning models since GPT-2"


def item(title: str, n: int = 0, link: str = "") -> Item:
    return Item("s", f"i{n}", link, title, "", T0)


def head(title: str) -> RelatedStory:
    return RelatedStory(title, "wire", ALERTED, f"https://wire.example/{len(title)}")


def stored(*titles: str, first: int = 5) -> StoryContext:
    """A stored story (first hit ``first``) whose hits have these titles, indexed the way
    ``Storage`` indexes them."""
    recent: dict[tuple[str, str], tuple[int, ...]] = {}
    found: dict[int, StoredHit] = {}
    for n, title in enumerate(titles):
        hit_id = first + n
        m = RULE.query.match(query.prepare(title, ""))
        feats = story.features(title, "", m.terms if m else ())
        for w in feats.index_words():
            recent[("r", w)] = (*recent.get(("r", w), ()), hit_id)
        found[hit_id] = StoredHit(first, feats.to_json())
    return StoryContext(
        recent=recent,
        hits=found,
        sources={first: frozenset({"wire"})},
        heads={first: head(titles[0])},
    )


def decide(
    items: Sequence[Item], context: StoryContext | None = None, window: float = WINDOW
) -> list[NewHit]:
    return hits.decide(
        hits.match(items, [RULE]),
        context or StoryContext(),
        source="s",
        channels={"phone": PHONE},
        templates=templates.cached,
        url_salt=SALT,
        dedup_window=window,
        title_similarity=DEFAULT_TITLE_SIMILARITY,
    )


def case(earlier: Sequence[str], title: str, hinted: bool, id: str) -> object:
    """One row: the stored story's hit titles, the new hit's title, whether it is hinted."""
    return pytest.param(tuple(earlier), title, hinted, id=id)


@pytest.mark.parametrize(
    ("earlier", "title", "hinted"),
    [
        case([OPENAI_A], OPENAI_B, True, "close-but-not-joined"),
        case([OPENAI_A, "Stocks slide as bond yields climb on models"], OPENAI_B, True, "via-any"),
        case(
            ["Meta releases Llama 4 weights"],
            "UPDATE 1-Meta releases Llama 4 weights",
            False,
            "joins",
        ),
        case(["Meta releases Llama 3 weights"], "Meta releases Llama 4 weights", False, "versions"),
        case(
            ["Anthropic sues OpenAI over model weights"],
            "OpenAI sues Anthropic over model weights",
            False,
            "roles-swapped",
        ),
        case(
            ["OpenAI releases open-weight model"],
            "OpenAI delays open-weight model",
            False,
            "reversal",
        ),
        case(
            ["Nvidia shares jump after TSMC earnings"],
            "AMD shares jump after TSMC earnings",
            False,
            "names-swapped",
        ),
        case(
            [OPENAI_A, "OpenAI GPT-3 open-weight reasoning models released"],
            OPENAI_B,
            False,
            "a-guard-on-any-hit-of-the-story",
        ),
        case([OPENAI_A], "Protesters storm Iraqi parliament in Baghdad", False, "far-apart"),
    ],
)
def test_a_new_story_close_to_a_stored_one_carries_it_unless_a_guard_refused(
    earlier: tuple[str, ...], title: str, hinted: bool
) -> None:
    (hit,) = decide([item(title)], stored(*earlier))
    assert hit.related == (head(earlier[0]) if hinted else None)
    body = hit.alerts[0].body if hit.alerts else ""
    assert ("Possibly the same story as:" in body) == hinted


def test_the_hint_names_the_stories_first_hit_when_a_later_hit_came_close() -> None:
    (hit,) = decide([item(OPENAI_B)], stored("Wire: AI lab news today in models", OPENAI_A))
    assert hit.related == head("Wire: AI lab news today in models")


def test_the_hinted_alert_says_which_story_when_and_from_where() -> None:
    (hit,) = decide([item(OPENAI_B)], stored(OPENAI_A))
    (alert,) = hit.alerts
    assert (
        f"Possibly the same story as: {OPENAI_A}, alerted 2026-12-01 10:00 UTC from wire"
        in alert.body
    )
    assert '"related": {"title": "OpenAI launches' in (alert.data or "")


def test_a_story_of_the_same_poll_is_hinted_as_alerted_just_now() -> None:
    first, second = decide([item(OPENAI_A, 1, "https://a.example/1"), item(OPENAI_B, 2)])
    assert (first.related, second.duplicate_of_batch) == (None, None)
    assert second.related == RelatedStory(OPENAI_A, "s", None, "https://a.example/1")
    assert f"{OPENAI_A}, alerted just now from s" in second.alerts[0].body


def test_a_member_of_a_story_carries_no_hint() -> None:
    _, second = decide([item(OPENAI_A, 1), item(OPENAI_A + " - Reuters", 2)])
    assert second.duplicate_of_batch == 0
    assert second.related is None


def test_without_a_dedup_window_there_is_no_hint() -> None:
    (hit,) = decide([item(OPENAI_B)], stored(OPENAI_A), window=0)
    assert hit.related is None


@pytest.mark.parametrize(
    ("floor", "expected"),
    [(0.0, (1, 0.36)), (0.36, (1, 0.36)), (0.37, None)],
    ids=["below", "at", "above"],
)
def test_closest_keeps_a_story_only_at_or_above_the_floor(
    floor: float, expected: tuple[int, float] | None
) -> None:
    a, b = story.features(OPENAI_B), story.features(OPENAI_A)
    assert story.closest(a, [(1, b)], floor=floor) == expected


def test_the_related_floor_is_below_the_join_score() -> None:
    assert 0 < story.TUNING.related < story.TUNING.min_score
