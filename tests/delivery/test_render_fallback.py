"""A template that passed ``check`` but fails on one item falls back to the default message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from weightwatch.delivery.render import RuleMatch, render_formatted
from weightwatch.delivery.templates import compile_template
from weightwatch.types import Item

NO_LINK = Item(
    source="lab",
    id="n1",
    title="OpenAI releases open-weight models",
    link="",
    text="OpenAI released open-weight models today.",
    published=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
)
MATCH = [RuleMatch("oa", ("OpenAI", "open-weight"), "OpenAI released open-weight models")]


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
@pytest.mark.parametrize(
    "text",
    [
        "{{ link.split('/')[2] }}",  # IndexError on an item without a link
        "{{ link[8] }}",  # jinja2 makes this undefined: UndefinedError
        "{{ 10 // (link | length) }}",  # ZeroDivisionError
        "{{ link.split('/')[2] ~ terms[0] }}",
    ],
)
def test_a_template_failing_on_one_item_falls_back_to_the_default_message(
    text: str, fmt: str
) -> None:
    template = compile_template(text, html=fmt == "html")  # passes check: SAMPLE has a link
    default = render_formatted(NO_LINK, MATCH, fmt=fmt, channel="hook")
    assert render_formatted(NO_LINK, MATCH, fmt=fmt, channel="hook", title_template=template) == (
        default[0],
        default[1],
    )
    assert render_formatted(NO_LINK, MATCH, fmt=fmt, channel="hook", body_template=template) == (
        default
    )


def test_only_the_failing_template_falls_back() -> None:
    bad = compile_template("{{ link.split('/')[2] }}")
    good = compile_template("{{ source }}: {{ title }}")
    title, body = render_formatted(
        NO_LINK, MATCH, channel="hook", title_template=good, body_template=bad
    )
    assert title == "lab: OpenAI releases open-weight models"
    assert body == render_formatted(NO_LINK, MATCH, channel="hook")[1]
