"""Markup too big to parse within a fetch's deadline (issue 10, item 12): feedparser cannot be
interrupted, so absurd nesting or element counts are refused before it runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from builders import write_config
from servers import HTTPTestServer
from weightwatch.errors import ParseError
from weightwatch.service.once import run_once
from weightwatch.sources.feeds import MAX_DEPTH, MAX_ELEMENTS, parse
from weightwatch.sources.markup import too_much_markup
from weightwatch.storage import Storage

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # when the feeds were "fetched"

HEAD = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item><title>x"
TAIL = b"</title></item></channel></rss>"
GOOD = (
    b"<rss version='2.0'><channel><title>good</title><item><title>OpenAI release weights"
    b" open-weight</title><link>http://example.org/1</link></item></channel></rss>"
)


def nested(depth: int, tag: bytes = b"ab") -> bytes:
    return HEAD + b"<%s>" % tag * depth + b"</%s>" % tag * depth + TAIL


def test_a_million_nested_elements_are_refused_in_well_under_a_second() -> None:
    body = nested(1_000_000)  # 9 MB
    started = time.process_time()  # CPU time: wall time counts a busy machine too
    with pytest.raises(ParseError, match="it was not parsed"):
        parse(body, now=NOW, source="s", url="http://example.org/feed")
    assert time.process_time() - started < 1.0


def test_nesting_past_the_limit_is_refused_and_within_it_parses() -> None:
    with pytest.raises(ParseError, match=f"nests elements more than {MAX_DEPTH} deep"):
        parse(nested(MAX_DEPTH + 1), now=NOW, source="s", url="http://example.org/feed")
    assert len(parse(nested(MAX_DEPTH - 10), now=NOW, source="s", url="http://x/").items) == 1


def test_too_many_flat_elements_are_refused_quickly() -> None:
    body = HEAD + b"<a/>" * (MAX_ELEMENTS + 1) + TAIL
    started = time.process_time()  # CPU time: wall time counts a busy machine too
    with pytest.raises(ParseError, match=f"more than {MAX_ELEMENTS:,} elements"):
        parse(body, now=NOW, source="s", url="http://example.org/feed")
    assert time.process_time() - started < 1.0


def test_markup_inside_cdata_and_comments_does_not_count() -> None:
    html = b"<div>" * 2000 + b"deep" + b"</div>" * 2000
    body = (
        b"<rss version='2.0'><channel><title>t</title><!-- " + b"<x>" * 200_000 + b" -->"
        b"<item><title>a</title><description><![CDATA[" + html + b"]]></description></item>"
        b"</channel></rss>"
    )
    result = parse(body, now=NOW, source="s", url="http://example.org/feed")
    assert [i.title for i in result.items] == ["a"] and "deep" in result.items[0].text


def real_shaped(count: int) -> bytes:
    items = b"".join(
        b"<item><title>t%d</title><link>http://x/%d</link><guid>g%d</guid>"
        b"<pubDate>Tue, 01 Apr 2025 10:00:00 GMT</pubDate><category>a</category>"
        b"<category>b</category><description>some words</description></item>" % (i, i, i)
        for i in range(count)
    )
    return b"<rss version='2.0'><channel><title>t</title>" + items + b"</channel></rss>"


def test_a_large_real_shaped_feed_is_under_the_markup_caps_and_parses() -> None:
    # 10,000 items (90,000 elements): the caps let it through; parsing it all is feedparser's
    # time, not the caps', so a tenth of it is parsed to show nothing else refuses it.
    assert too_much_markup(real_shaped(10_000)) == ""
    assert len(parse(real_shaped(1_000), now=NOW, source="s", url="http://x/").items) == 1_000


def test_a_poll_of_a_hostile_body_fails_within_the_deadline_and_others_go_on(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    config = write_config(
        tmp_path,
        {
            "deep": http_server.set("/deep.xml", nested(1_000_000)),
            "good": http_server.set("/good.xml", GOOD),
        },
        {},
        [],
        settings='max_body = "10MB"',
    )
    assert config.settings.timeout == 3.0
    storage = Storage(config.settings.database)
    started = time.monotonic()
    try:
        summary = run_once(config, storage=storage, backfill=True)
        elapsed = time.monotonic() - started
        deep = storage.source_state("deep")
        counts = storage.counts()
    finally:
        storage.close()
    assert elapsed < config.settings.timeout + 2.0
    by_name = {o.source: o for o in summary.sources}
    assert by_name["good"].status == "ok"
    assert by_name["deep"].status == "error"
    assert deep is not None and "it was not parsed" in (deep.last_error or "")
    assert counts["items"] == 1
