"""_parser.parse on real and broken feeds, hand-made edge cases, and sweeps of the full corpus.

tests/data/feeds holds a small licensed subset of the corpus (see tests/data/SOURCES.md). The
``corpus`` tests sweep all of ../shared/corpus and are skipped when it is absent.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import random
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import pytest

from weightwatch.errors import ParseError
from weightwatch.sources.feeds import MAX_DECOMPRESSED, TEXT_LIMIT, parse
from weightwatch.types import FeedResult, Item

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # when the feeds were "fetched"

DATA = Path(__file__).resolve().parents[1] / "data"
FEEDS = DATA / "feeds"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
URL = "https://example.org/blog/feed.xml"

#: CPU seconds one file may take (the slowest real feed takes ~0.5 s). Budgets here are CPU
#: time (``time.process_time``): a busy machine stretches wall time without anything being
#: wrong, while a parse that runs away burns CPU and is caught either way.
FILE_BUDGET = 5.0


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(FEEDS)) for p in paths]


def _expected_entries() -> dict[str, int]:
    """The ``entries`` column of the file table in tests/data/SOURCES.md, by path under feeds/."""
    counts: dict[str, int] = {}
    for line in (DATA / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 10 and cells[8].isdigit():
            counts[cells[0]] = int(cells[8])
    return counts


REAL = _files(FEEDS / "real")
MALFORMED = _files(FEEDS / "malformed")
EXPECTED = _expected_entries()


def _parse(body: bytes, url: str = URL, headers: dict[str, str] | None = None) -> FeedResult:
    return parse(body, now=NOW, source="test", url=url, headers=headers)


def _check_items(result: FeedResult) -> None:
    for item in result.items:
        assert isinstance(item, Item)
        assert item.source == "test"
        assert item.id
        assert item.published is None or item.published.tzinfo is UTC
        assert len(item.text) <= TEXT_LIMIT
        assert not item.text.startswith("<p>") and "</a>" not in item.title


# --- the licensed subset in tests/data -----------------------------------------------------------


def test_data_subset_is_complete() -> None:
    assert len(REAL) >= 20 and len(MALFORMED) >= 60
    assert {p.parent.name for p in MALFORMED} == {
        "encoding",
        "entities",
        "gzip-without-content-encoding",
        "json",
        "not-a-feed",
        "real-world",
        "test-cases",
    }
    assert set(EXPECTED) == {str(p.relative_to(FEEDS)) for p in REAL + MALFORMED}


@pytest.mark.parametrize("path", REAL, ids=_ids(REAL))
def test_real_feed_yields_items(path: Path) -> None:
    started = time.process_time()
    result = _parse(path.read_bytes())
    assert time.process_time() - started < FILE_BUDGET
    expected = EXPECTED[str(path.relative_to(FEEDS))]
    assert len(result.items) == expected
    assert result.kind in ("rss", "atom", "rdf", "json")
    assert result.warning == ""
    _check_items(result)
    if expected:
        assert any(item.id and (item.title or item.text) for item in result.items)


@pytest.mark.parametrize("path", MALFORMED, ids=_ids(MALFORMED))
def test_malformed_feed_gives_result_or_parse_error(path: Path) -> None:
    started = time.process_time()
    try:
        result = _parse(path.read_bytes())
    except ParseError as exc:
        assert str(exc).endswith(".") and exc.source == "test" and exc.url == URL
    else:
        assert isinstance(result, FeedResult)
        _check_items(result)
    assert time.process_time() - started < FILE_BUDGET


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("feedjira__RSSWithComments.xml", "rss"),
        ("feed-extractor__rdf-standard.xml", "rdf"),
        ("miniflux__rdf_UTF8.xml", "rdf"),
        ("feed-rs__atom_example_6.xml", "atom"),
        ("feed-rs__jsonfeed_elastic_1.1.json", "json"),
        ("netnewswire__ScriptingNews.json", "json"),
    ],
)
def test_kind(name: str, kind: str) -> None:
    assert _parse((FEEDS / "real" / name).read_bytes()).kind == kind


def test_hacker_news_feed() -> None:
    result = _parse((FEEDS / "real" / "feedjira__RSSWithComments.xml").read_bytes())
    assert result.title == "Hacker News"
    first = result.items[0]
    assert first.title == "AWS Lambda Function URLs: Built-In HTTPS Endpoints for Lambda"
    assert first.link.startswith("https://aws.amazon.com/blogs/aws/")
    assert first.published == datetime(2022, 4, 6, 21, 7, 47, tzinfo=UTC)


def test_github_releases_feed() -> None:
    result = _parse((FEEDS / "real" / "feed-rs__atom_example_6.xml").read_bytes())
    first = result.items[0]
    assert first.id == "tag:github.com,2008:Repository/90976281/v0.2.0"
    assert first.link == "https://github.com/feed-rs/feed-rs/releases/tag/v0.2.0"
    assert first.title == "0.2.0"
    assert first.text.startswith("A range of maintenance work")


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("miniflux__encoding_ISO-8859-1.xml", "Golem.de"),
        ("miniflux__encoding_WINDOWS-1251.xml", "iBash.Org.Ru"),
        ("netnewswire__kc0011.rss", "投资资讯网交易在线--流通纪念币最新20篇论坛主题-全文"),
    ],
)
def test_non_utf8_feeds_decode(name: str, title: str) -> None:
    result = _parse((FEEDS / "real" / name).read_bytes())
    assert result.title == title
    assert "\ufffd" not in " ".join(i.title + i.text for i in result.items)


def test_windows_1251_items_are_cyrillic() -> None:
    result = _parse((FEEDS / "real" / "miniflux__encoding_WINDOWS-1251.xml").read_bytes())
    assert result.items[0].title == "Цитата #17703"


def test_salvageable_feed_has_items_and_a_warning() -> None:
    path = FEEDS / "malformed" / "real-world" / "fastfeedparser__705749c3b1bd02d8.xml"
    result = _parse(path.read_bytes())
    assert len(result.items) == 15
    assert result.warning.startswith("The feed is not well-formed XML (line ")
    assert "15 items were read leniently" in result.warning


def test_whitespace_before_xml_declaration_is_not_an_error() -> None:
    path = FEEDS / "malformed" / "real-world" / "feedjira__TenderLovemaking.xml"
    body = path.read_bytes()
    assert body[:1].isspace()
    result = _parse(body)
    assert len(result.items) == 10 and result.warning == ""


def test_utf16_without_bom_or_declaration() -> None:
    for name in ("simplepie__feed-utf16be.xml", "simplepie__feed-utf16le.xml"):
        result = _parse((FEEDS / "malformed" / "encoding" / name).read_bytes())
        assert len(result.items) == 1 and result.items[0].title


# --- hand-made feeds -----------------------------------------------------------------------------


def rss(items: str, channel_title: str = "Channel") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{channel_title}</title><link>https://example.org/</link>{items}"
        "</channel></rss>"
    ).encode()


def atom(entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Atom feed</title><id>urn:x</id><updated>2024-01-01T00:00:00Z</updated>"
        f"{entries}</feed>"
    ).encode()


def test_title_html_is_stripped() -> None:
    result = _parse(
        rss(
            "<item><title>&lt;b&gt;Bold&lt;/b&gt; news &amp;amp; &lt;i&gt;more&lt;/i&gt;</title>"
            "<guid>1</guid></item>"
            "<item><title><![CDATA[Big <em>news</em>: a < b]]></title><guid>2</guid></item>"
            "<item><title>Use &lt;T&gt; generics</title><guid>3</guid></item>",
            channel_title="&lt;b&gt;My&lt;/b&gt; channel",
        )
    )
    assert result.title == "My channel"
    assert [i.title for i in result.items] == [
        "Bold news & more",
        "Big news: a < b",
        "Use <T> generics",
    ]


def test_atom_html_and_xhtml_titles() -> None:
    result = _parse(
        atom(
            '<entry><id>urn:1</id><title type="html">A &lt;code&gt;x&lt;/code&gt; &amp;amp; y'
            "</title><updated>2024-01-01T00:00:00Z</updated></entry>"
            '<entry><id>urn:2</id><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
            "An <b>xhtml</b> title</div></title><updated>2024-01-01T00:00:00Z</updated></entry>"
        )
    )
    assert [i.title for i in result.items] == ["A x & y", "An xhtml title"]


def test_text_is_plain_prefers_the_longer_and_is_capped() -> None:
    long_html = "<p>" + "word " * 10_000 + "</p>"
    result = _parse(
        rss(
            "<item><guid>1</guid><title>t</title>"
            "<description>short &lt;b&gt;summary&lt;/b&gt;</description>"
            '<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            "<![CDATA[<p>The <a href='/x'>full</a> text.</p><script>var x = '<p>';</script>"
            "<!-- hidden --><p>Second &amp; last&nbsp;paragraph, 3 &lt; 4.</p>]]>"
            "</content:encoded></item>"
            f"<item><guid>2</guid><title>t</title><description><![CDATA[{long_html}]]>"
            "</description></item>"
        )
    )
    first, second = result.items
    assert first.text == "The full text. Second & last paragraph, 3 < 4."
    assert len(second.text) <= TEXT_LIMIT
    assert second.text.startswith("word word") and second.text.endswith("word")


def test_ids_fall_back_to_link_then_hash() -> None:
    result = _parse(
        rss(
            "<item><guid isPermaLink='false'>  guid-1 </guid><link>/a</link><title>A</title></item>"
            "<item><link>/b/?utm_source=rss</link><title>B</title></item>"
            "<item><title>C</title><description>text of C</description></item>"
            "<item><title>D</title><description>text of D</description></item>"
        )
    )
    with_guid, with_link, hashed_c, hashed_d = result.items
    assert with_guid.id == "guid-1"
    assert with_guid.link == "https://example.org/a"
    assert with_link.id == with_link.link == "https://example.org/b"
    assert hashed_c.link == ""
    assert hashed_c.id == "sha1:" + hashlib.sha1(b"C\ntext of C").hexdigest()
    assert hashed_d.id.startswith("sha1:") and hashed_d.id != hashed_c.id


def test_relative_links_resolve_against_the_url() -> None:
    result = _parse(
        rss("<item><guid>1</guid><title>t</title><link>post/1?b=2&amp;a=1#c</link></item>"),
        url="https://Example.org/blog/feed.xml",
    )
    assert result.items[0].link == "https://example.org/blog/post/1?a=1&b=2"


def test_dates_are_utc_and_sane() -> None:
    soon = (datetime.now(UTC) + timedelta(days=10)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    result = _parse(
        rss(
            "<item><guid>1</guid><title>t</title>"
            "<pubDate>Mon, 06 Sep 2021 16:45:00 +0200</pubDate></item>"
            f"<item><guid>2</guid><title>t</title><pubDate>{soon}</pubDate></item>"
            "<item><guid>3</guid><title>t</title><pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate>"
            "</item>"
            "<item><guid>4</guid><title>t</title><pubDate>not a date</pubDate></item>"
            "<item><guid>5</guid><title>t</title></item>"
        )
    )
    dates = [i.published for i in result.items]
    assert dates[0] == datetime(2021, 9, 6, 14, 45, tzinfo=UTC)
    assert dates[0] is not None and dates[0].tzinfo is UTC
    assert dates[1:] == [None, None, None, None]


def test_atom_updated_is_used_when_published_is_missing() -> None:
    result = _parse(
        atom(
            "<entry><id>urn:1</id><title>t</title><updated>2024-03-01T12:00:00+01:00</updated>"
            "</entry>"
        )
    )
    assert result.items[0].published == datetime(2024, 3, 1, 11, 0, tzinfo=UTC)


def test_http_charset_is_respected_with_any_header_case() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Caf\xe9</title></channel></rss>'
    )
    result = _parse(body, headers={"Content-Type": "text/xml; charset=windows-1252"})
    assert result.title == "Café"
    assert result.items == []


@pytest.mark.parametrize(
    ("ttl", "seconds"),
    [
        ("<ttl>30</ttl>", 1800.0),
        ("<ttl> 5 </ttl>", 300.0),
        ("<ttl>0</ttl>", None),
        ("<ttl>-5</ttl>", None),
        ("<ttl>soon</ttl>", None),
        ("", None),
    ],
)
def test_rss_ttl_becomes_seconds(ttl: str, seconds: float | None) -> None:
    body = rss(ttl + "<item><guid>1</guid><title>t</title></item>")
    assert _parse(body).ttl == seconds


def test_feed_without_items_is_not_an_error() -> None:
    result = _parse((FEEDS / "real" / "feedreader-codehollow__Rss20DailyMail.xml").read_bytes())
    assert result.items == [] and result.warning == ""
    assert result.title == "World News Articles | Mail Online"


# --- gzip ----------------------------------------------------------------------------------------


def test_gzip_without_content_encoding_yields_items() -> None:
    folder = FEEDS / "malformed" / "gzip-without-content-encoding"
    for path in _files(folder):
        body = path.read_bytes()
        assert body[:2] == b"\x1f\x8b"
        result = _parse(body, headers={"Content-Type": "application/rss+xml"})
        assert result.items and result.warning == ""
    generated = gzip.compress(rss("<item><guid>1</guid><title>Zipped</title></item>"))
    assert [i.title for i in _parse(generated).items] == ["Zipped"]


def test_gzip_bomb_is_refused() -> None:
    body = gzip.compress(b" " * (MAX_DECOMPRESSED + 1024), compresslevel=9)
    with pytest.raises(ParseError, match="larger than 10 MB"):
        _parse(body)


def test_broken_gzip_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="gzip"):
        _parse(b"\x1f\x8b\x08\x00garbage-not-deflate-data")


# --- JSON Feed -----------------------------------------------------------------------------------


def test_json_feed_1_1_file() -> None:
    result = _parse((FEEDS / "real" / "feed-rs__jsonfeed_elastic_1.1.json").read_bytes())
    assert result.kind == "json" and result.title == "Blog – InfluxData"
    assert len(result.items) == 3
    assert [i.link for i in result.items][1:] == [
        "https://www.influxdata.com/blog/influxdb-markedly-elasticsearch-in-time-series-data-metrics-benchmark",
        "https://example.com/",
    ]
    assert all(i.id == i.link for i in result.items)  # this feed has no ids
    assert result.items[0].published == datetime(2019, 5, 31, 19, 17, 58, tzinfo=UTC)
    assert result.items[0].title == "InfluxDB vs. Graphite for Time Series Data & Metrics Benchmark"


def test_json_feed_1_0_file() -> None:
    result = _parse(
        (FEEDS / "real" / "feed-extractor__json-feed-standard-realworld.json").read_bytes(),
        headers={"content-type": "application/json"},
    )
    assert result.kind == "json" and len(result.items) == 10
    assert all(i.link.startswith("https://adactio.com/journal/") for i in result.items)
    assert all(i.published is not None and i.published.tzinfo is UTC for i in result.items)


def json_feed(version: str, items: list[object]) -> bytes:
    return json.dumps({"version": version, "title": "J &amp; F", "items": items}).encode()


@pytest.mark.parametrize(
    "version", ["https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1"]
)
def test_json_feed_items(version: str) -> None:
    body = json_feed(
        version,
        [
            {
                "id": 17,
                "url": "/posts/17?utm_campaign=x",
                "title": "Hello <b>there</b>",
                "content_html": "<p>Body &amp; <i>soul</i></p>",
                "summary": "Short",
                "date_published": "2024-05-01T10:00:00+02:00",
            },
            {
                "external_url": "https://elsewhere.example/x",
                "content_text": "Plain <T> text",
                "date_modified": "2024-05-02T10:00:00Z",
            },
            {"title": "No link", "date_published": "Fri, 31 May 2019 12:17:58 -0700"},
            "not an object",
        ],
    )
    result = _parse(body, headers={"content-type": "application/feed+json"})
    assert result.kind == "json" and result.title == "J & F"
    first, second, third = result.items
    assert (first.id, first.link, first.title, first.text) == (
        "17",
        "https://example.org/posts/17",
        "Hello there",
        "Body & soul",
    )
    assert first.published == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert (second.id, second.link, second.text) == (
        "https://elsewhere.example/x",
        "https://elsewhere.example/x",
        "Plain <T> text",
    )
    assert second.published == datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
    assert third.link == "" and third.id.startswith("sha1:")
    assert third.published == datetime(2019, 5, 31, 19, 17, 58, tzinfo=UTC)


def test_rss_in_json() -> None:
    result = _parse((FEEDS / "real" / "netnewswire__ScriptingNews.json").read_bytes())
    assert result.kind == "json" and result.title == "Scripting News" and len(result.items) == 50
    first = result.items[1]
    assert first.id == "http://scripting.com/2017/06/26.html#a030658"
    assert first.link == "http://scripting.com/2017/06/26.html"
    assert first.text == "This is the human side of Health care is socialist."
    assert first.published == datetime(2017, 6, 26, 19, 40, 58, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', "not valid JSON"),
        (b'{"error": "rate limited"}', "not RSS, Atom or JSON Feed"),
        (b'["a", "list"]', "not RSS, Atom or JSON Feed"),
        (b"[" * 100_000, "not valid JSON"),
    ],
)
def test_bad_json_is_a_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        _parse(body, headers={"content-type": "application/json"})


def test_json_with_unknown_version_is_read_with_a_warning() -> None:
    body = json_feed("https://jsonfeed.org/version/9", [{"id": "1", "title": "x"}])
    result = _parse(body)
    assert len(result.items) == 1 and "unknown version" in result.warning


# --- not feeds -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>Login</title></head><body>x</body></html>",
        b"\xef\xbb\xbf\n  <!doctype HTML>\n<HTML lang=en><body>Not found</body></HTML>",
        b'<?xml version="1.0"?>\n<!-- c --><html xmlns="http://www.w3.org/1999/xhtml"></html>',
        b"<head><title>Document Moved</title></head><body>here</body>",
    ],
)
def test_html_page_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="HTML page"):
        _parse(body, headers={"content-type": "text/html; charset=utf-8"})


def test_html_page_error_names_the_feed_it_links_to() -> None:
    path = FEEDS / "malformed" / "not-a-feed" / "rome__2.rss"
    with pytest.raises(ParseError, match=r"HTML page, not a feed \(it links to a feed at http"):
        _parse(path.read_bytes())


def test_atom_wrapped_in_xhtml_is_still_read() -> None:
    result = _parse((FEEDS / "real" / "feedjira__DuplicateContentAtomFeed.xml").read_bytes())
    assert len(result.items) == 10


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b" \r\n\t ", "empty"),
        (b"<note><to>Tove</to></note>", "not RSS, Atom or JSON Feed"),
        (b"Just some text.", "not RSS, Atom or JSON Feed"),
        (b"\x00\x01\x02\xff\xfe binary", "not RSS, Atom or JSON Feed"),
    ],
)
def test_unknown_documents_are_parse_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        _parse(body)


# --- attacks and robustness ----------------------------------------------------------------------


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that parse's broad handler does not catch it."""


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block once the process has spent ``seconds`` of CPU time in it (main
    thread only; elsewhere it just runs). SIGPROF, not SIGALRM: pytest-timeout's wall-clock
    alarm stays armed for a block that hangs without using the CPU."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ring(signum: int, frame: FrameType | None) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGPROF, ring)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-7"])
def test_entity_blowup_is_quick(encoding: str) -> None:
    # One 100 KB entity referenced 3,000 times: 300 MB of text if expanded (feedparser alone
    # takes minutes and gigabytes on such a feed). In UTF-16 or UTF-7 a byte search for
    # "<!ENTITY" would not see the declaration.
    document = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<!DOCTYPE rss [\n<!ENTITY big "{"x" * 100_000}">\n]>\n'
        '<rss version="2.0"><channel><title>t</title><item><guid>1</guid><title>boom</title>'
        f"<description>{'&big;' * 3_000}</description></item></channel></rss>"
    )
    started = time.process_time()
    with _deadline(20):
        try:
            result = _parse(document.encode(encoding))
        except ParseError:
            pass
        else:
            assert all(len(i.text) <= TEXT_LIMIT for i in result.items)
            assert "x" * 1000 not in result.items[0].text
    assert time.process_time() - started < 2.0


def test_bytes_that_look_like_a_path_are_not_opened(tmp_path: Path) -> None:
    secret = tmp_path / "feed.xml"
    secret.write_bytes(rss("<item><guid>1</guid><title>secret</title></item>"))
    with pytest.raises(ParseError):
        _parse(str(secret).encode())


def test_mutated_feeds_never_raise_anything_else() -> None:
    rng = random.Random(20240601)
    seeds = [
        (FEEDS / "real" / "feedjira__RSSWithComments.xml").read_bytes(),
        (FEEDS / "real" / "feed-rs__atom_example_6.xml").read_bytes(),
        (FEEDS / "real" / "feed-rs__jsonfeed_elastic_1.1.json").read_bytes(),
        (FEEDS / "real" / "feed-extractor__rdf-standard.xml").read_bytes(),
    ]
    for _ in range(300):
        body = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(body))
            action = rng.random()
            if action < 0.4:
                body[position] = rng.randrange(256)
            elif action < 0.7:
                del body[position : position + rng.randint(1, 200)]
            else:
                body[position:position] = rng.choice([b"<", b"&", b"]]>", b"\x00", b"<!--", b"{"])
        if rng.random() < 0.3:
            body = body[: rng.randrange(len(body))]
        try:
            result = _parse(bytes(body))
        except ParseError:
            continue
        _check_items(result)


# --- the full corpus -----------------------------------------------------------------------------


@dataclass
class _Sweep:
    files: int = 0
    items: int = 0
    cpu: float = 0.0  # what the budget limits
    seconds: float = 0.0  # wall time, for the summary only
    timings: list[tuple[float, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self, name: str) -> str:
        slowest = sorted(self.timings, reverse=True)[:3]
        slow = ", ".join(f"{path} {seconds:.2f} s" for seconds, path in slowest)
        return (
            f"corpus {name}: {self.files} files, {self.items} items, {self.cpu:.1f} s of CPU"
            f" ({self.seconds:.1f} s wall); "
            f"slowest: {slow}"
        )


def _manifest() -> dict[str, dict[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {row["file"]: row for row in rows}


def _sweep(folder: str, check: object) -> _Sweep:
    if not (CORPUS / "feeds" / folder).is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS} (CI has it beside the repository)")
    sweep = _Sweep()
    started, cpu_started = time.perf_counter(), time.process_time()
    for path in _files(CORPUS / "feeds" / folder):
        name = str(path.relative_to(CORPUS))
        body = path.read_bytes()
        began = time.process_time()
        try:
            with _deadline(FILE_BUDGET):
                outcome: FeedResult | ParseError = _parse(body)
        except ParseError as exc:
            outcome = exc
        except _Timeout:
            sweep.problems.append(f"{name}: over the {FILE_BUDGET} s CPU budget")
            continue
        except Exception as exc:  # the very thing this sweep looks for
            sweep.problems.append(f"{name}: raised {type(exc).__name__}: {exc}")
            continue
        spent = time.process_time() - began
        sweep.timings.append((spent, name))
        sweep.files += 1
        if isinstance(outcome, FeedResult):
            sweep.items += len(outcome.items)
        problem = check(name, outcome)  # type: ignore[operator]
        if problem:
            sweep.problems.append(f"{name}: {problem}")
    sweep.seconds = time.perf_counter() - started
    sweep.cpu = time.process_time() - cpu_started
    return sweep


@pytest.mark.corpus
@pytest.mark.timeout(900)  # the CPU budgets are its limits; a busy machine stretches wall time
def test_corpus_real_feeds_all_parse(capsys: pytest.CaptureFixture[str]) -> None:
    manifest = _manifest() if (CORPUS / "MANIFEST.tsv").is_file() else {}

    def check(name: str, outcome: FeedResult | ParseError) -> str:
        if isinstance(outcome, ParseError):
            return f"ParseError: {outcome}"
        expected = manifest.get(name, {}).get("entries", "")
        if expected.isdigit() and len(outcome.items) != int(expected):
            return f"{len(outcome.items)} items, the manifest says {expected}"
        if outcome.items and not any(i.id and (i.title or i.text) for i in outcome.items):
            return "no item has an id and a title or text"
        if any(not i.id for i in outcome.items):
            return "an item has no id"
        if any(i.published is not None and i.published.tzinfo is not UTC for i in outcome.items):
            return "a date is not UTC"
        if outcome.warning:
            return f"warning on a clean feed: {outcome.warning}"
        return ""

    sweep = _sweep("real", check)
    with capsys.disabled():
        print("\n" + sweep.summary("real"))
    assert sweep.files >= 400
    assert not sweep.problems, "\n".join(sweep.problems)
    assert sweep.cpu < 60, sweep.summary("real")


@pytest.mark.corpus
@pytest.mark.timeout(900)  # the CPU budgets are its limits; a busy machine stretches wall time
def test_corpus_malformed_feeds_fail_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    def check(name: str, outcome: FeedResult | ParseError) -> str:
        if isinstance(outcome, FeedResult):
            if any(not i.id for i in outcome.items):
                return "an item has no id"
            if any(len(i.text) > TEXT_LIMIT for i in outcome.items):
                return "text over the limit"
        elif not re.fullmatch(r"[A-Z].*\.", str(outcome), re.DOTALL):
            return f"message is not a sentence: {outcome}"
        return ""

    sweep = _sweep("malformed", check)
    with capsys.disabled():
        print("\n" + sweep.summary("malformed"))
    assert sweep.files >= 100
    assert not sweep.problems, "\n".join(sweep.problems)
    assert sweep.cpu < 60, sweep.summary("malformed")
