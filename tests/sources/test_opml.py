"""OPML as the feed readers write it, hostile OPML, the import plan, and the OPML we write."""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest

from weightwatch.sources import opml
from weightwatch.sources.opml import Exported, Feed, OpmlError

DATA = Path(__file__).resolve().parent.parent / "data" / "opml"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def case(*values: object, id: str) -> object:
    return pytest.param(*values, id=id)


def read(name: str) -> opml.Opml:
    return opml.parse((DATA / name).read_bytes())


# --- the readers' exports -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        case(
            "miniflux.opml",
            [
                ("https://openai.com/news/rss.xml", "OpenAI News", ("AI Labs",)),
                ("https://huggingface.co/blog/feed.xml", "Hugging Face - Blog", ("AI Labs",)),
                ("https://simonwillison.net/atom/everything/", "Simon Willison's Weblog", ("All",)),
            ],
            id="miniflux",
        ),
        case(
            "netnewswire.opml",
            [
                ("https://daringfireball.net/feeds/main", "Daring Fireball", ()),
                ("https://deepmind.google/blog/rss.xml", "Google DeepMind", ("Machine Learning",)),
                ("https://thegradient.pub/rss/", "The Gradient", ("Machine Learning",)),
            ],
            id="netnewswire",
        ),
        case(
            "feedly.opml",
            [
                ("https://feeds.arstechnica.com/arstechnica/index", "Ars Technica", ("Tech",)),
                ("https://www.theverge.com/rss/index.xml", "The Verge", ("Tech",)),
                ("https://rss.arxiv.org/rss/cs.CL", "arXiv cs.CL", ("Research",)),
            ],
            id="feedly",
        ),
        case(
            "inoreader.opml",
            [
                (
                    "https://feeds.bbci.co.uk/news/technology/rss.xml",
                    "BBC News - Technology",
                    ("News",),
                ),
                ("https://lwn.net/headlines/rss", "LWN.net", ("Open Source",)),
                ("https://hnrss.org/frontpage", "Hacker News: Front Page", ("Open Source",)),
            ],
            id="inoreader",
        ),
        case(
            "freshrss.opml",
            [
                ("https://mistral.ai/news/rss.xml", "Mistral AI News", ("Uncategorized",)),
                ("https://github.blog/feed/", "GitHub Blog", ("Dev & Ops",)),
                ("#", "Some page", ("Dev & Ops",)),
            ],
            id="freshrss",
        ),
        case(
            "thunderbird.opml",
            [
                (
                    "https://medium.com/feed/better-programming",
                    "Better Programming - Medium",
                    ("Blogs & News Feeds", "Programming"),
                ),
                (
                    "https://pythoninsider.blogspot.com/feeds/posts/default",
                    "Python Insider",
                    ("Blogs & News Feeds",),
                ),
            ],
            id="thunderbird",
        ),
        case(
            "utf16.opml",
            [("https://www3.nhk.or.jp/rss/news/cat0.xml", "NHK ニュース", ("ニュース",))],
            id="utf-16",
        ),
    ],
)
def test_each_readers_export_gives_its_feeds_with_their_folders(
    file: str, expected: list[tuple[str, str, tuple[str, ...]]]
) -> None:
    got = read(file)
    assert [(f.url, f.title, f.tags) for f in got.feeds] == expected
    assert got.skipped == ()


def test_an_odd_export_in_windows_1252_with_duplicates_and_non_feeds_is_read_as_meant() -> None:
    got = read("odd-windows-1252.opml")
    assert got.title == "Café “reader” export"
    assert [(f.url, f.title, f.tags) for f in got.feeds] == [
        ("https://www.lemonde.fr/pixels/rss_full.xml", "Le Monde – Tech", ("Café – Crème",)),
        ("https://no-title.example/feed.xml", "", ("Café – Crème",)),
        (
            "https://www.lemonde.fr/pixels/rss_full.xml?utm_source=opml",
            "Le Monde – Tech (again)",
            ("Café – Crème",),
        ),
        ("gopher://old.example/feed", "Gopher", ()),
        ("https://tagged.example/rss", "Tagged", ("Science", "Physics", "weekly")),
        ("https://lemonde-copy.example/rss", "Le Monde – Tech", ()),
    ]
    assert got.skipped == (
        ("A note to self, not a feed", "not a feed (it has no xmlUrl)"),
        ("A bookmark", "a link to a web page, not a feed (try `weightwatch add` with it)"),
        ("Other list", "an inclusion of another OPML file; import that file itself"),
    )


def test_the_plan_names_tags_and_skips_as_a_user_would_expect() -> None:
    feeds = read("odd-windows-1252.opml").feeds
    plan = opml.plan(feeds, configured=[("tagged", "https://TAGGED.example/rss/")], tags=["new"])
    assert [(s.name, s.url, s.tags) for s in plan.added] == [
        ("le-monde-tech", "https://www.lemonde.fr/pixels/rss_full.xml", ("new", "cafe-creme")),
        ("no-title-feed-xml", "https://no-title.example/feed.xml", ("new", "cafe-creme")),
        ("le-monde-tech-2", "https://lemonde-copy.example/rss", ("new",)),
    ]
    assert plan.skipped == (
        ("Le Monde – Tech (again)", "listed twice in the file (added once, as le-monde-tech)"),
        ("Gopher", "its URL 'gopher://old.example/feed' is not an http:// or https:// address"),
        ("Tagged", "already in the config as tagged"),
    )


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        case("Tech News", "tech-news", id="spaces"),
        case("Dev & Ops", "dev-ops", id="symbols"),
        case("Café – Crème", "cafe-creme", id="accents"),
        case("ニュース", "", id="no-latin-letters"),
        case("..hidden..", "hidden", id="leading-dots"),
        case("x" * 60, "x" * 40, id="long"),
    ],
)
def test_a_folder_name_becomes_a_valid_tag_name(text: str, tag: str) -> None:
    assert opml.tag_name(text) == tag


# --- hostile files --------------------------------------------------------------------------

LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "lol">'
    + b"".join(
        b'<!ENTITY %s "%s">' % (bytes([98 + i]), bytes([97 + i]).join([b"&", b";"]) * 10)
        for i in range(9)
    )
    + b']><opml version="2.0"><body><outline text="&j;" xmlUrl="https://x.example/"/></body></opml>'
)
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY big "'
    + b"x" * 100_000
    + b'">]><opml><body><outline text="'
    + b"&big;" * 20_000
    + b'" xmlUrl="https://x.example/"/></body></opml>'
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY ext SYSTEM "file:///etc/passwd">]>'
    b'<opml><body><outline text="&ext;" xmlUrl="https://x.example/"/></body></opml>'
)
PARAMETER = (
    b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>'
    b'<opml><body><outline text="a" xmlUrl="https://x.example/"/></body></opml>'
)
MANY = (
    b"<opml><body>"
    + b'<outline text="a" xmlUrl="https://x.example/"/>' * 80_000
    + b"</body></opml>"
)
ELEMENTS = b"<opml><body>" + b"<x/>" * 1_000_000 + b"</body></opml>"
DEEP = b"<opml><body>" + b'<outline text="f">' * 100_000 + b"</body></opml>"
LONG_VALUE = b'<opml><body><outline text="' + b"a&amp;" * 690_000 + b'" xmlUrl="https://x/"/>'


@pytest.mark.parametrize(
    ("data", "says"),
    [
        case(LAUGHS, "declares an entity (a)", id="billion-laughs"),
        case(QUADRATIC, "declares an entity (big)", id="quadratic-blowup"),
        case(EXTERNAL, "declares an entity (ext)", id="external-entity"),
        case(PARAMETER, "declares an entity (p)", id="external-parameter-entity"),
        case(b"x" * (opml.MAX_BYTES + 1), "is larger than 4 MB", id="huge"),
        case(MANY, "has more than 20,000 outlines", id="too-many-outlines"),
        case(ELEMENTS, "has more than 100,000 XML elements", id="too-many-elements"),
        case(DEEP, "nests outlines more than 32 deep", id="deep-nesting"),
        case(LONG_VALUE, "the XML is broken", id="unclosed-huge-attribute"),
        case(b"", "is empty", id="empty"),
        case(b"Name,URL\nA,https://a.example/feed\n", "the XML is broken at line 1", id="csv"),
        case(bytes(range(256)) * 64, "the XML is broken", id="binary"),
        case(b"<rss version='2.0'><channel/></rss>", "root element is <rss>", id="a-feed"),
        case(b"<html><body>hi</body></html>", "root element is <html>", id="a-web-page"),
        case(b'<?xml version="1.0"?><opml><body><outline', "the XML is broken", id="truncated"),
    ],
)
def test_a_hostile_or_wrong_file_is_refused_quickly_in_little_memory(
    data: bytes, says: str
) -> None:
    # CPU time: eight engineers share two cores here, and wall time measures them too.
    started = time.process_time()
    with pytest.raises(OpmlError) as info:
        opml.parse(data)
    elapsed = time.process_time() - started
    assert says in str(info.value)
    # 20,000 outlines take ~0.4 s; under make test's coverage tracer on a busy machine, 1.01 s.
    assert elapsed < 2.0, f"took {elapsed:.2f} s"
    tracemalloc.start()
    try:
        with pytest.raises(OpmlError):
            opml.parse(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"


def test_a_valid_opml_file_with_an_empty_body_has_no_feeds() -> None:
    got = opml.parse(b'<opml version="2.0"><head><title>t</title></head><body/></opml>')
    assert got.feeds == () and got.skipped == ()


# --- writing --------------------------------------------------------------------------------


def test_the_export_is_opml_2_with_folders_by_first_tag_and_every_tag_as_a_category() -> None:
    sources = [
        Exported("openai", "https://openai.com/news/rss.xml", ("ai", "labs")),
        Exported("lwn", "https://lwn.net/headlines/rss?a=1&b=2", ()),
        Exported("hf", "https://huggingface.co/blog/feed.xml", ("ai",)),
    ]
    text = opml.serialise(sources, title="weightwatch <sources>", now=NOW)
    root = ElementTree.fromstring(text)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "weightwatch <sources>"
    assert root.findtext("head/dateCreated") == "Tue, 01 Dec 2026 09:00:00 +0000"
    body = root.find("body")
    assert body is not None
    folder, loose = list(body)
    assert (folder.get("text"), folder.get("title"), folder.get("xmlUrl")) == ("ai", "ai", None)
    assert [(o.get("text"), o.get("xmlUrl"), o.get("category"), o.get("type")) for o in folder] == [
        ("openai", "https://openai.com/news/rss.xml", "ai,labs", "rss"),
        ("hf", "https://huggingface.co/blog/feed.xml", "ai", "rss"),
    ]
    assert loose.get("xmlUrl") == "https://lwn.net/headlines/rss?a=1&b=2"
    assert loose.get("category") is None


def test_what_is_exported_reads_back_as_the_same_feeds_and_tags() -> None:
    sources = [
        Exported("a", 'https://a.example/feed?q="x"&y=<1>', ("one", "two")),
        Exported("b", "https://b.example/rss", ()),
        Exported("c", "https://c.example/atom", ("two",)),
    ]
    back = opml.parse(opml.serialise(sources, title="t", now=NOW))
    plan = opml.plan(back.feeds, configured=[])
    # Grouped by folder: the order may change, the sources and their tags do not.
    got = sorted((s.name, s.url, s.tags) for s in plan.added)
    assert got == sorted((s.name, s.url, s.tags) for s in sources)


def test_feed_titles_never_leave_the_name_rules() -> None:
    feeds = [Feed(f"https://x.example/{n}", title) for n, title in enumerate(["", "A", "!!!"] * 3)]
    plan = opml.plan(feeds, configured=[("x-0", "https://other.example/")])
    names = [s.name for s in plan.added]
    assert len(set(names)) == len(names) == 9
    assert "x-0" not in names
    assert all(n[0].isalnum() and n == n.lower() for n in names)


@pytest.mark.parametrize(
    "path", sorted((DATA / "hostile").glob("*.opml")), ids=lambda p: Path(p).stem
)
def test_every_hostile_file_in_the_test_data_is_refused(path: Path) -> None:
    with pytest.raises(OpmlError):
        opml.parse(path.read_bytes())
