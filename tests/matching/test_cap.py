"""The per-poll alert cap (``settings.max_alerts_per_poll``), pure: a source's poll sends at
most that many alerts one by one to each channel URL; the rest fold into one message per
URL naming how many more and listing the first titles. Every hit is still a hit."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from weightwatch.config import DEFAULT_TITLE_SIMILARITY, Channel, Rule
from weightwatch.delivery import routing, templates
from weightwatch.delivery.policy import Digest
from weightwatch.matching import hits
from weightwatch.matching.query import parse
from weightwatch.types import Item, NewHit, StoryContext

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PHONE = Channel("phone", ("json://127.0.0.1:9/a", "json://127.0.0.1:9/b"), ("a", "b"))
MAIL = Channel("mail", ("json://127.0.0.1:9/mail",), ("mail",))
CHANNELS = {c.name: c for c in (PHONE, MAIL)}
SALT = b"a fixed salt of 32 bytes, tests!"  # Storage.url_salt
A, B, M = (routing.url_key(u, SALT) for u in (*PHONE.urls, *MAIL.urls))


def rule(name: str, notify: Sequence[str], **kw: object) -> Rule:
    return Rule(name, parse("weights"), "weights", tuple(notify), **kw)  # type: ignore[arg-type]


def flood(count: int) -> list[Item]:
    # distinct names, so every item starts its own story and alerts
    return [
        Item("flood", f"i{n}", f"https://f.example/{n}", f"Lab{n}x publishes weights", "", T0)
        for n in range(count)
    ]


def decide(items: Sequence[Item], rules: Sequence[Rule], cap: int | None) -> list[NewHit]:
    return hits.decide(
        hits.match(items, rules),
        StoryContext(),
        source="flood",
        channels=CHANNELS,
        templates=templates.cached,
        url_salt=SALT,
        dedup_window=0,
        title_similarity=DEFAULT_TITLE_SIMILARITY,
        max_alerts=cap,
    )


def per_url(made: list[NewHit]) -> Counter[str]:
    return Counter(a.url_key for h in made for a in h.alerts)


@pytest.mark.parametrize(
    ("items", "cap", "messages", "overflow"),
    [
        pytest.param(5, 20, 5, 0, id="under-the-cap-nothing-changes"),
        pytest.param(20, 20, 20, 0, id="at-the-cap-nothing-changes"),
        pytest.param(21, 20, 21, 1, id="one-over-folds-one"),
        pytest.param(500, 20, 21, 480, id="a-flood-is-cap-plus-one-message"),
        pytest.param(3, 1, 2, 2, id="cap-of-one"),
    ],
)
def test_a_poll_sends_at_most_the_cap_one_by_one_per_url_and_folds_the_rest(
    items: int, cap: int, messages: int, overflow: int
) -> None:
    made = decide(flood(items), [rule("r", ["phone", "mail"])], cap)
    assert len(made) == items  # every hit is still a hit
    assert per_url(made) == {A: messages, B: messages, M: messages}
    folded = [a for h in made for a in h.alerts if a.title.startswith("[weightwatch]")]
    assert len(folded) == (3 if overflow else 0)
    for a in folded:
        assert f"{overflow:,} more match" in a.title and "from flood" in a.title
        assert json.loads(a.data or "{}")["overflow"] == overflow


def test_no_cap_keeps_every_alert() -> None:
    assert per_url(decide(flood(50), [rule("r", ["mail"])], None)) == {M: 50}


def test_the_overflow_message_lists_the_first_titles_and_says_where_the_rest_are() -> None:
    made = decide(flood(100), [rule("r", ["mail"])], 10)
    (over,) = [a for h in made for a in h.alerts if "more matches" in a.title]
    assert over.title == "[weightwatch] and 90 more matches from flood"
    lines = over.body.splitlines()
    assert "Lab10x publishes weights" in lines[2]  # the first one not sent on its own
    assert sum("publishes weights" in ln for ln in lines) == routing.OVERFLOW_LISTED
    assert "https://f.example/10" in over.body
    assert "weightwatch hits" in over.body
    assert "Lab99x" not in over.body
    # it rides on the first hit whose own alert it replaces, and renders like a hit alert
    assert made[10].alerts == (over,)
    assert json.loads(over.data or "{}")["source"] == "flood"


def test_alerts_held_for_a_digest_are_not_counted_and_not_folded() -> None:
    held = rule("held", ["mail"], digest=Digest(every=3600.0))
    made = decide(flood(30), [held], 5)
    assert per_url(made) == {M: 30}
    assert all(a.rule_digest for h in made for a in h.alerts)


def test_the_cap_counts_per_url_not_per_rule() -> None:
    made = decide(flood(8), [rule("one", ["mail"]), rule("two", ["phone"])], 3)
    assert per_url(made) == {M: 4, A: 4, B: 4}
