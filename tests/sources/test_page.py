"""Page text extraction (``_page``): realistic fixtures, selectors, ignore, hostile HTML."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from weightwatch.errors import ParseError
from weightwatch.sources.page import (
    MAX_BLOCKS,
    MAX_DEPTH,
    check_ignore,
    check_selector,
    extract,
    fingerprint,
    is_html,
)
from weightwatch.types import PageResult

PAGES = Path(__file__).resolve().parents[1] / "data" / "pages"
HTML = {"content-type": "text/html; charset=utf-8"}


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def texts(result: PageResult) -> list[str]:
    return [b.text for b in result.blocks]


def read(
    html: str | bytes, *, selector: str | None = None, ignore: tuple[str, ...] = ()
) -> PageResult:
    body = html.encode("utf-8") if isinstance(html, str) else html
    return extract(
        body, url="https://example.org/page", headers=HTML, selector=selector, ignore=ignore
    )


# --- realistic pages ----------------------------------------------------------------------------


def test_model_list_gives_one_heading_per_model_and_no_chrome() -> None:
    result = read(page("hf-models.html"))
    assert result.title == "Models - Hugging Face"
    headings = [b.text for b in result.blocks if b.kind == "heading"]
    assert headings[0] == "Models"
    assert "deepseek-ai/DeepSeek-V3" in headings
    assert len(headings) == 13
    all_text = " ".join(texts(result))
    for chrome in ("Log In", "Sign Up", "Datasets", "Privacy", "System theme", "Sort: Trending"):
        assert chrome not in all_text, chrome
    for code in ("moonSha", "pipeline_tag", "border-radius"):  # scripts, JSON state, styles
        assert code not in all_text, code
    meta = next(b for b in result.blocks if b.text.startswith("• 685B"))
    assert meta.heading == "deepseek-ai/DeepSeek-V3"  # the nearest heading above
    assert meta.text == "• 685B • Updated about 13 hours ago • 95.3k • 1.64k"


def test_blog_index_keeps_posts_and_drops_navigation_sidebar_and_footer() -> None:
    result = read(page("blog-index.html"))
    assert result.title == "Blog – Aurora Lab"
    all_text = " ".join(texts(result))
    assert "Introducing Aurora-7B: our first open-weight model" in texts(result)
    assert "The weights are available on Hugging Face" in all_text
    for chrome in ("Skip to content", "Careers", "Trending", "visits this month", "Proudly"):
        assert chrome not in all_text, chrome
    post = next(b for b in result.blocks if b.text.startswith("Today we are releasing"))
    assert post.anchor == "post-412"
    assert post.heading == "Introducing Aurora-7B: our first open-weight model"
    # Inline elements without spaces between them stay separate words.
    assert "Posted in Research 37 Comments on Introducing Aurora-7B" in all_text


def test_github_releases_page_gives_release_sections() -> None:
    result = read(page("github-releases.html"))
    assert result.title == "Releases · openai/gpt-oss · GitHub"
    blocks = result.blocks
    assert [b.text for b in blocks if b.kind == "heading" and b.text.startswith("v0.")] == [
        "v0.3.0",
        "v0.2.0",
        "v0.1.0",
    ]
    item = next(b for b in blocks if "Docs: how to download the weights" in b.text)
    assert item.kind == "item"
    assert item.anchor == "hd-v0.2.0"
    assert item.text == (
        "Docs: how to download the weights from Hugging Face by @ericmitchell in #101"
    )
    all_text = " ".join(texts(result))
    for chrome in ("Product", "Pricing", "Sign in", "another tab", "Terms", "Skip to content"):
        assert chrome not in all_text, chrome


# --- selector and ignore --------------------------------------------------------------------------


def test_a_selector_limits_the_blocks_to_the_part_it_matches() -> None:
    result = read(page("github-releases.html"), selector=".markdown-body")
    assert texts(result)[0] == "What's Changed"
    assert not any("people reacted" in t or "Star" in t for t in texts(result))
    assert sum(1 for t in texts(result) if t.startswith("Full Changelog")) == 3


def test_nested_matches_of_a_selector_are_read_once() -> None:
    result = read("<div><div><p>inner</p></div><p>outer</p></div>", selector="div")
    assert texts(result) == ["inner", "outer"]


def test_a_selector_that_matches_nothing_is_an_error_that_says_so() -> None:
    with pytest.raises(ParseError, match=r'selector "#releases" matches nothing'):
        read(page("blog-index.html"), selector="#releases")


def test_ignore_selectors_and_patterns_remove_the_parts_that_change_on_every_load() -> None:
    body = page("hf-models.html")
    plain = read(body)
    assert "1,229,486" in texts(plain)
    cleaned = read(body, ignore=("#models-count", ".downloads", ".likes", "/•/"))
    assert "1,229,486" not in texts(cleaned)
    meta = next(
        b
        for b in cleaned.blocks
        if b.heading == "deepseek-ai/DeepSeek-V3" and b.kind != "heading" and "685B" in b.text
    )
    assert meta.text == "685B Updated about 13 hours ago"


def test_a_pattern_that_leaves_no_words_drops_the_block() -> None:
    result = read("<p>Views: 1234</p><p>Kept</p>", ignore=("/Views: \\d+/",))
    assert texts(result) == ["Kept"]


def test_case_insensitive_patterns() -> None:
    result = read("<p>Kept UPDATED DAILY</p>", ignore=("/updated daily/i",))
    assert texts(result) == ["Kept"]


# --- text --------------------------------------------------------------------------------------


def test_blocks_are_split_at_block_elements_and_joined_within_them() -> None:
    html = """
    <h2 id="v2">Release <em>v2</em></h2>
    <p>H<sub>2</sub>O and <b>bold</b>ness</p>
    <ul><li>one</li><li>two <a href="/x">links</a></li></ul>
    <table><tr><th>Model</th><th>Size</th></tr><tr><td>Llama</td><td>7B</td></tr></table>
    line a<br>line b
    <div>before<p>inside</p>after</div>
    """
    result = read(html)
    assert [(b.kind, b.text) for b in result.blocks] == [
        ("heading", "Release v2"),
        ("paragraph", "H2O and boldness"),
        ("item", "one"),
        ("item", "two links"),
        ("row", "Model | Size"),
        ("row", "Llama | 7B"),
        ("text", "line a"),
        ("text", "line b"),
        ("text", "before"),
        ("paragraph", "inside"),
        ("text", "after"),
    ]
    assert {b.anchor for b in result.blocks} == {"v2"}
    assert {b.heading for b in result.blocks} == {"Release v2"}


def test_whitespace_and_unicode_are_normalised() -> None:
    result = read("<p>  Ｏｐｅｎ\u00a0weights\u200b are\n\n\tout\u00ad!  </p>")
    assert texts(result) == ["Open weights are out!"]


def test_hidden_elements_forms_and_symbol_only_blocks_are_skipped() -> None:
    html = """
    <p hidden>hidden</p><p style="display: none">none</p><p aria-hidden="true">aria</p>
    <form><label>Email <input value="x"></label><button>Subscribe</button>
    <select><option>English</option></select></form>
    <p>|</p><p>•</p><p>Visible</p><noscript>Enable JavaScript</noscript>
    <template><p>template</p></template><svg><text>chart</text></svg>
    """
    assert texts(read(html)) == ["Email", "Visible"]


def test_fingerprints_ignore_case_and_relative_times_but_not_numbers() -> None:
    assert fingerprint("Updated 3 hours ago") == fingerprint("updated 5 days ago")
    assert fingerprint("Posted yesterday") == fingerprint("Posted today")
    assert fingerprint("Llama 3 weights") != fingerprint("Llama 4 weights")
    assert fingerprint("Release v1.2") != fingerprint("Release v1.3")


def test_encodings_from_http_from_meta_and_from_a_bom() -> None:
    latin = "<p>Café crème</p>".encode("windows-1252")
    assert texts(
        extract(latin, url="u", headers={"Content-Type": "text/html; charset=windows-1252"})
    ) == ["Café crème"]
    meta = '<meta charset="windows-1252"><p>Café crème</p>'.encode("windows-1252")
    assert texts(extract(meta, url="u", headers={"Content-Type": "text/html"})) == ["Café crème"]
    utf8_bom = b"\xef\xbb\xbf<p>Caf\xc3\xa9</p>"
    assert texts(
        extract(utf8_bom, url="u", headers={"Content-Type": "text/html; charset=latin-1"})
    ) == ["Café"]


# --- what cannot be watched ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        '<!doctype html><html><head><script src="/static/js/main.4f2a.js"></script></head>'
        "<body><noscript>You need to enable JavaScript to run this app.</noscript>"
        '<div id="root"></div></body></html>',
        '<html><body><div id="__next"></div><script id="__NEXT_DATA__" type="application/json">'
        '{"props":{}}</script><script src="/_next/static/chunks/main.js"></script></body></html>',
        "<html><body><app-root>Loading...</app-root><script src=main.js></script></body></html>",
    ],
)
def test_an_empty_javascript_shell_gets_a_clear_message(html: str) -> None:
    with pytest.raises(ParseError, match="rendered in the browser by JavaScript"):
        read(html)


def test_a_shell_is_named_also_when_a_selector_finds_nothing() -> None:
    html = '<html><body><div id="app"></div><script src="/app.js"></script></body></html>'
    with pytest.raises(ParseError, match="JavaScript"):
        read(html, selector="main .releases")


def test_a_short_static_page_is_fine() -> None:
    html = "<html><body><p>Small page.</p><script>track()</script></body></html>"
    assert texts(read(html)) == ["Small page."]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"  \n ", "empty"),
        (b"<html><body></body></html>", "no visible text"),
        (b"%PDF-1.7\x00\x01\x02binary", "not an HTML page"),
    ],
)
def test_unusable_bodies_are_parse_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        read(body)


# --- hostile and huge HTML ----------------------------------------------------------------------


def test_malformed_html_is_repaired_not_refused() -> None:
    html = "<div><p>one<p>two</div></span><li>three<table><td>four</b><p>five"
    assert texts(read(html)) == ["one", "two", "three", "four", "five"]


def test_deep_nesting_is_cut_at_the_depth_cap_instead_of_taking_minutes() -> None:
    # Lexbor's tree builder is quadratic in the depth: 100,000 nested <div> took 48 s.
    depth = 100_000
    html = "<p>before</p>" + "<div>" * depth + "<p>deep</p>" + "</div>" * depth
    started = time.process_time()  # CPU time: wall time counts a busy machine too
    result = read(html)
    assert time.process_time() - started < 5
    assert texts(result) == ["before"]
    assert f"more than {MAX_DEPTH} deep" in result.warning


def test_nesting_below_the_cap_and_stray_end_tags_are_read_whole() -> None:
    html = "</div>" * 5000 + "<div>" * (MAX_DEPTH - 10) + "<p>deep</p>" + "</div>" * 5000
    result = read(html)
    assert texts(result) == ["deep"]
    assert result.warning == ""


def test_unclosed_comment_and_script_swallow_the_rest_like_a_browser() -> None:
    assert texts(read("<p>before</p><!-- never closed <p>after</p>")) == ["before"]
    assert texts(read("<p>before</p><script> never closed <p>after</p>")) == ["before"]


def test_a_page_with_more_blocks_than_the_cap_is_cut_with_a_warning() -> None:
    html = "".join(f"<p>paragraph {n}</p>" for n in range(MAX_BLOCKS + 500))
    result = read(html)
    assert len(result.blocks) == MAX_BLOCKS
    assert f"only the first {MAX_BLOCKS}" in result.warning


def test_a_very_long_block_is_cut() -> None:
    result = read("<p>" + "word " * 20_000 + "</p>")
    assert len(result.blocks[0].text) <= 20_000
    assert result.blocks[0].text.endswith("…")


def test_a_large_page_is_read_in_reasonable_time() -> None:
    # About 2.5 MB: the realistic model list repeated.
    body = page("hf-models.html")
    start, end = body.index(b"<article"), body.rindex(b"</article>") + len(b"</article>")
    big = body[:start] + body[start:end] * 100 + body[end:]
    assert len(big) > 2_000_000
    started = time.process_time()  # CPU time: wall time counts a busy machine too
    result = read(big)
    assert len(result.blocks) > 3000
    assert time.process_time() - started < 5


# --- checks used by the config ------------------------------------------------------------------


def test_check_selector() -> None:
    assert check_selector("main .releases > li:nth-child(2n+1)") is None
    assert check_selector("article:has(h2)") is None
    bad = check_selector("div[")
    assert bad is not None and "is not a valid CSS selector" in bad
    assert check_selector("  ") is not None


def test_check_ignore_takes_selectors_and_patterns() -> None:
    assert check_ignore(".views") is None
    assert check_ignore("/\\d+ views/") is None
    assert check_ignore("/updated/i") is None
    bad = check_ignore("/(unclosed/")
    assert bad is not None and "not a valid regular expression" in bad
    bad = check_ignore("views[")
    assert bad is not None and "between slashes" in bad


def test_is_html() -> None:
    assert is_html(b"anything", {"Content-Type": "text/html; charset=utf-8"})
    assert is_html(b"\n<!DOCTYPE html><html>", {"content-type": "text/plain"})
    assert is_html(b"<div class=x>hi</div>", {})
    assert not is_html(b'<?xml version="1.0"?><rss version="2.0"></rss>', {})
    assert not is_html(b'{"version": "https://jsonfeed.org/version/1.1"}', {})
