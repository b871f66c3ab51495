"""The related-story hint in rendered alerts: every format says "Possibly the same story
as: <title>, alerted <time> from <source>", with feed text made inert for the format."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from weightwatch.delivery.render import RuleMatch, alert_data, render_digest, render_formatted
from weightwatch.delivery.templates import TemplateProblem, compile_template
from weightwatch.types import Item, RelatedStory

ITEM = Item("hn", "1", "https://a.example/2", "OpenAI releases open-weight models", "", None)
WHEN = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)
CALM = RelatedStory("OpenAI launches two open models", "wire", WHEN, "https://w.example/1")
HOSTILE = RelatedStory(
    '<script>alert(1)</script> **Big** [win](javascript:x) & "more"',
    "w<i>re",
    WHEN,
    'https://w.example/a?b=1&c="><img src=x>',
)
SAME_POLL = RelatedStory("OpenAI launches two open models", "hn", None, "")


def rendered(related: RelatedStory | None, fmt: str, **templates: object) -> str:
    match = RuleMatch("r", ("OpenAI",), "", related)
    return render_formatted(ITEM, [match], fmt=fmt, channel="c", **templates)[1]  # type: ignore[arg-type]


def case(related: RelatedStory, fmt: str, expected: str, id: str) -> object:
    return pytest.param(related, fmt, expected, id=id)


@pytest.mark.parametrize(
    ("related", "fmt", "expected"),
    [
        case(
            CALM,
            "text",
            "Possibly the same story as: OpenAI launches two open models, alerted"
            " 2026-12-01 14:05 UTC from wire\n\nSource: hn",
            "text",
        ),
        case(
            CALM,
            "markdown",
            "Possibly the same story as: [OpenAI launches two open models]"
            "(https://w.example/1), alerted 2026-12-01 14:05 UTC from wire",
            "markdown",
        ),
        case(
            CALM,
            "html",
            '<p>Possibly the same story as: <a href="https://w.example/1">OpenAI launches two'
            " open models</a>, alerted 2026-12-01 14:05 UTC from wire</p>",
            "html",
        ),
        case(
            SAME_POLL,
            "text",
            "Possibly the same story as: OpenAI launches two open models, alerted just now from hn",
            "same-poll-text",
        ),
        case(
            HOSTILE,
            "markdown",
            r"Possibly the same story as: [\<script\>alert\(1\)\</script\> \*\*Big\*\*"
            r" \[win\]\(javascript:x\) & "
            '"more"](https://w.example/a?b=1&c=%22%3E%3Cimg%20src=x%3E),'
            r" alerted 2026-12-01 14:05 UTC from w\<i\>re",
            "hostile-markdown",
        ),
        case(
            HOSTILE,
            "html",
            '<p>Possibly the same story as: <a href="https://w.example/a?b=1&amp;c=&quot;&gt;'
            '&lt;img src=x&gt;">&lt;script&gt;alert(1)&lt;/script&gt; **Big**'
            " [win](javascript:x) &amp; &quot;more&quot;</a>, alerted 2026-12-01 14:05 UTC"
            " from w&lt;i&gt;re</p>",
            "hostile-html",
        ),
    ],
)
def test_every_format_says_which_story_it_may_be_when_and_from_where(
    related: RelatedStory, fmt: str, expected: str
) -> None:
    assert expected in rendered(related, fmt)


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_no_hint_without_a_related_story(fmt: str) -> None:
    assert "Possibly" not in rendered(None, fmt)


def test_a_hostile_title_leaves_no_tag_in_the_html_alert() -> None:
    body = rendered(HOSTILE, "html")
    assert "<script>" not in body and "<img" not in body and "<i>" not in body


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("text", 'maybe: <script>alert(1)</script> **Big** [win](javascript:x) & "more" (w<i>re)'),
        (
            "markdown",
            r"maybe: \<script\>alert\(1\)\</script\> \*\*Big\*\* \[win\]\(javascript:x\) &"
            r' "more" (w\<i\>re)',
        ),
        (
            "html",
            "maybe: &lt;script&gt;alert(1)&lt;/script&gt; **Big** [win](javascript:x) &amp;"
            " &#34;more&#34; (w&lt;i&gt;re)",
        ),
    ],
)
def test_a_template_gets_related_escaped_for_its_format(fmt: str, expected: str) -> None:
    template = compile_template(
        "{% if related %}maybe: {{ related.title }} ({{ related.source }}){% endif %}",
        html=fmt == "html",
    )
    assert rendered(HOSTILE, fmt, body_template=template) == expected
    assert rendered(None, fmt, body_template=template) == ""


def test_a_template_that_reads_related_without_testing_it_fails_the_check() -> None:
    with pytest.raises(TemplateProblem, match=r"\{% if related %\}"):
        compile_template("{{ related.title }}")


def test_a_misspelt_field_of_related_fails_the_check_naming_the_fields() -> None:
    with pytest.raises(TemplateProblem, match="related has title, source, link and alerted"):
        compile_template("{% if related %}{{ related.titel }}{% endif %}")


def test_the_alert_data_keeps_the_hint_and_a_digest_lists_it() -> None:
    data = json.loads(alert_data(ITEM, [RuleMatch("r", ("OpenAI",), "", CALM)]))
    assert data["related"] == {
        "title": "OpenAI launches two open models",
        "source": "wire",
        "link": "https://w.example/1",
        "alerted": "2026-12-01 14:05 UTC",
    }
    _, body = render_digest([data], reason="digest")
    assert (
        "   Possibly the same story as: OpenAI launches two open models, alerted"
        " 2026-12-01 14:05 UTC from wire"
    ) in body.splitlines()
