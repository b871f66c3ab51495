"""What counts as new text on a page (``pagediff``): pure, over blocks of real fixtures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from weightwatch.sources.page import extract, fingerprint
from weightwatch.sources.pagediff import (
    MARKER,
    REDESIGN_MIN_BLOCKS,
    block_link,
    diff,
    first_words,
    starts_over,
)
from weightwatch.types import Block, PageResult

PAGES = Path(__file__).resolve().parents[1] / "data" / "pages"
URL = "https://lab.example/blog/"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def blog(html: str | None = None) -> PageResult:
    body = html if html is not None else (PAGES / "blog-index.html").read_text()
    return extract(body.encode(), url=URL, headers={"content-type": "text/html"})


def seen_on(page: PageResult) -> set[str]:
    return {b.fingerprint for b in page.blocks} | {MARKER}


def block(text: str, kind: str = "paragraph", heading: str = "", anchor: str = "") -> Block:
    return Block(fingerprint(text), text, kind, heading, anchor)


NEW_POST = """<article id="post-420"><header class="entry-header"><h2 class="entry-title">
<a href="https://lab.example/aurora-13b/">Aurora-13B: open weights, bigger context</a></h2>
<div class="entry-meta">Posted on June 1, 2025 by Dana Whitfield</div></header>
<div class="entry-summary"><p>We are publishing the weights of Aurora-13B under Apache 2.0.</p>
</div></article>
"""


def test_first_poll_is_all_items_and_marked_first() -> None:
    page = blog()
    result = diff(page, set(), source="lab", url=URL, now=NOW)
    assert result.first and not result.redesign
    assert len(result.items) == 6  # the page header and one item per post
    assert all(i.published is None for i in result.items)  # not known when they appeared
    assert set(result.fingerprints) == {b.fingerprint for b in page.blocks} | {MARKER}


def test_a_new_post_is_one_item_titled_by_its_heading() -> None:
    before = blog()
    html = (PAGES / "blog-index.html").read_text()
    after = blog(html.replace('<article id="post-412"', NEW_POST + '<article id="post-412"', 1))
    result = diff(after, seen_on(before), source="lab", url=URL, now=NOW)
    assert not result.first
    assert result.new_blocks == 3
    [item] = result.items
    assert item.title == "Aurora-13B: open weights, bigger context"
    assert item.text == (
        "Posted on June 1, 2025 by Dana Whitfield\n"
        "We are publishing the weights of Aurora-13B under Apache 2.0."
    )
    assert item.id == "block:" + fingerprint(item.title)
    assert item.link.startswith(URL + "#post-420:~:text=")
    assert unquote(item.link.split("text=")[1]) == "Aurora-13B: open weights, bigger context"
    assert item.published == NOW
    assert item.source == "lab"


def test_new_text_under_an_old_heading_is_titled_by_its_own_first_words() -> None:
    before = blog()
    html = (PAGES / "blog-index.html").read_text()
    end = "</div><!-- .entry-summary -->"
    added = "<p>Update: the 4-bit weights are out too. Download them today.</p>" + end
    after = blog(html.replace(end, added, 1))
    [item] = diff(after, seen_on(before), source="lab", url=URL, now=NOW).items
    assert item.title == "Update: the 4-bit weights are out too."
    assert item.text == "Update: the 4-bit weights are out too. Download them today."
    assert item.link.startswith(URL + "#post-412:~:text=")


def test_reordering_is_not_new_text() -> None:
    blocks = [block(f"Model number {n} released") for n in range(10)]
    before = PageResult("t", tuple(blocks))
    after = PageResult("t", tuple(reversed(blocks)))
    result = diff(after, seen_on(before), source="s", url=URL)
    assert result.items == [] and result.new_blocks == 0


def test_a_block_seen_within_the_window_is_not_new_when_it_comes_back() -> None:
    teaser = block("Rotating teaser: try our new API")
    base = [block("Steady text")]
    first = PageResult("t", (*base, teaser))
    seen = seen_on(first)  # storage keeps it for WINDOW after it was last on the page
    again = PageResult("t", (*base, teaser))
    assert diff(again, seen, source="s", url=URL).items == []


def test_runs_of_new_blocks_and_headings_make_separate_items() -> None:
    old = [block("Intro", "heading"), block("Old paragraph one"), block("Old paragraph two")]
    new = [
        block("First new line", heading="Intro"),
        block("Second new line", heading="Intro"),
        old[1],
        block("Third new line", heading="Intro"),
        block("A new section", "heading", heading="A new section"),
        block("Its text", heading="A new section"),
    ]
    page = PageResult("t", (old[0], new[0], new[1], old[1], new[3], old[2], new[4], new[5]))
    items = diff(page, seen_on(PageResult("t", tuple(old))), source="s", url=URL).items
    assert [(i.title, i.text) for i in items] == [
        ("First new line", "First new line\nSecond new line"),
        ("Third new line", "Third new line"),
        ("A new section", "Its text"),
    ]


def test_a_repeated_new_block_is_one_item() -> None:
    old = PageResult("t", (block("Old"),))
    repeated = block("Subscribe to the newsletter")
    page = PageResult("t", (repeated, block("Old"), repeated))
    assert len(diff(page, seen_on(old), source="s", url=URL).items) == 1


def test_nearly_all_of_a_large_page_new_at_once_is_a_redesign() -> None:
    old = PageResult("t", tuple(block(f"old {n}") for n in range(50)))
    redesigned = PageResult("t", tuple(block(f"new {n}") for n in range(50)))
    result = diff(redesigned, seen_on(old), source="s", url=URL)
    assert result.redesign
    assert "recorded without alerting" in result.warning
    # A burst of new text on a page that is mostly unchanged is not.
    burst = PageResult("t", old.blocks + tuple(block(f"new {n}") for n in range(40)))
    assert not diff(burst, seen_on(old), source="s", url=URL).redesign
    # Nor is a small page that changes completely.
    small_old = PageResult("t", tuple(block(f"a {n}") for n in range(REDESIGN_MIN_BLOCKS - 1)))
    small_new = PageResult("t", tuple(block(f"b {n}") for n in range(REDESIGN_MIN_BLOCKS - 1)))
    assert not diff(small_new, seen_on(small_old), source="s", url=URL).redesign


def test_an_empty_watched_part_still_leaves_a_baseline() -> None:
    empty = PageResult("t", ())
    assert diff(empty, set(), source="s", url=URL).fingerprints == [MARKER]
    later = PageResult("t", (block("Now there is an announcement"),))
    result = diff(later, {MARKER}, source="s", url=URL)
    assert not result.first
    assert [i.title for i in result.items] == ["Now there is an announcement"]


def test_block_links_are_the_page_url_with_anchor_and_text_fragment() -> None:
    assert block_link("https://x.example/p?a=1", "", "Short text") == (
        "https://x.example/p?a=1#:~:text=Short%20text"
    )
    long = "one two three four five six seven eight nine ten"
    assert block_link("https://x.example/p", "sec-2", long) == (
        "https://x.example/p#sec-2:~:text=one%20two%20three%20four,seven%20eight%20nine%20ten"
    )
    # Characters with a meaning in a text directive are escaped; a row keeps its first cell.
    assert block_link("https://x.example/", "", "Llama-4, 7B | 109B") == (
        "https://x.example/#:~:text=Llama%2D4%2C%207B"
    )
    assert block_link("https://x.example/", "", "") == "https://x.example/"


def test_first_words() -> None:
    assert first_words("Short title") == "Short title"
    assert first_words("Weights are out. More soon, we promise.") == "Weights are out."
    words = " ".join(f"w{n}" for n in range(30))
    assert first_words(words) == " ".join(f"w{n}" for n in range(12)) + "…"


def test_starts_over() -> None:
    page = diff(PageResult("t", (block("x"),)), set(), source="s", url=URL)
    assert starts_over("page", "page", page)
    assert starts_over("page", "atom", None)  # prefer_feed switched the source to its feed
    assert not starts_over("atom", "atom", None)
    assert not starts_over(None, "rss", None)
