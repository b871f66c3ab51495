"""``matching.explain.backtest`` decides stories the way the live pipeline does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from weightwatch.config import Rule
from weightwatch.matching.explain import backtest
from weightwatch.matching.query import parse
from weightwatch.types import Item

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
QUERY = "sesame OR lawsuit"


def test_a_backtest_joins_a_hit_to_the_story_its_members_cover_together() -> None:
    # The first two reports are one story (the same link); the third matches neither alone,
    # but the two together cover it: the live decider joins it ("story words"), so the
    # backtest must too, or it would promise an alert the daemon never sends.
    link = "https://a.example/sesame"
    items = [
        Item("a", "1", link, "Maryland dad sues Sesame Place over characters' snub", ""),
        Item("b", "2", link, "Family files $25 million lawsuit alleging racist interaction", ""),
        Item(
            "c",
            "3",
            "https://c.example/3",
            "Sesame Place lawsuit: family sues over racist interaction",
            "",
        ),
    ]
    rule = Rule("r", parse(QUERY), QUERY, ("phone",))
    seen = [(it, T0 + timedelta(minutes=n)) for n, it in enumerate(items)]
    stories = backtest(rule, {}, seen, title_threshold=90)
    assert len(stories) == 1
    reasons = [reason for _, reason in stories[0].members]
    assert reasons[0] == "same link"
    assert reasons[1].startswith("story words")
