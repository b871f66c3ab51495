"""Feed discovery (``discover``): pure functions over the markup of the common platforms."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from weightwatch import config as config_mod
from weightwatch.sources.discover import Candidate, decode, find_feeds, source_block, source_name

PAGES = Path(__file__).resolve().parents[1] / "data" / "pages"


def feeds(name: str, url: str) -> list[Candidate]:
    return find_feeds((PAGES / name).read_text(encoding="utf-8"), url)


def urls(found: list[Candidate]) -> list[str]:
    return [c.url for c in found]


def test_wordpress_blog() -> None:
    found = feeds("blog-index.html", "https://lab.example/blog/")
    assert found[0] == Candidate(
        "https://lab.example/feed/", "rss", "Aurora Lab » Feed", "advertised"
    )
    assert found[1].url == "https://lab.example/comments/feed/"
    # The REST API alternate (application/json) is not a feed; the platform's /feed/ and the
    # footer's RSS link are the advertised feed again, so they are not repeated.
    assert urls(found) == ["https://lab.example/feed/", "https://lab.example/comments/feed/"]


def test_wordpress_category_page_without_advertised_feeds() -> None:
    page = '<html><head><meta name="generator" content="WordPress 6.5"></head><body></body>'
    found = find_feeds(page, "https://blog.example/category/releases/")
    assert urls(found) == [
        "https://blog.example/feed/",
        "https://blog.example/category/releases/feed/",
    ]
    assert {c.origin for c in found} == {"WordPress"}


def test_github_repository_page() -> None:
    found = feeds("github-releases.html", "https://github.com/openai/gpt-oss/releases")
    assert [(c.url, c.origin) for c in found] == [
        ("https://github.com/openai/gpt-oss/releases.atom", "advertised"),
        ("https://github.com/openai/gpt-oss/tags.atom", "GitHub"),
        ("https://github.com/openai/gpt-oss/commits.atom", "GitHub"),
    ]
    assert found[0].title == "openai/gpt-oss Release Notes"


def test_github_branch_and_user_pages() -> None:
    branch = find_feeds("", "https://github.com/org/repo/tree/dev/src")
    assert "https://github.com/org/repo/commits/dev.atom" in urls(branch)
    assert urls(find_feeds("", "https://github.com/someone")) == ["https://github.com/someone.atom"]
    assert find_feeds("", "https://github.com/topics/llm") == []


def test_substack() -> None:
    found = feeds("substack.html", "https://www.interconnects.ai/")
    assert urls(found) == ["https://www.interconnects.ai/feed"]
    # A custom domain that advertises nothing is recognised by its asset host.
    found = feeds("substack-no-link.html", "https://importai.example/archive")
    assert [(c.url, c.origin) for c in found] == [("https://importai.example/feed", "Substack")]


def test_medium() -> None:
    found = feeds("medium.html", "https://medium.com/@huggingface")
    assert [(c.url, c.origin) for c in found] == [
        ("https://medium.com/feed/@huggingface", "Medium")
    ]
    assert urls(find_feeds("", "https://medium.com/tag/llm")) == ["https://medium.com/feed/tag/llm"]
    assert urls(find_feeds("", "https://pytorch.medium.com/")) == [
        "https://pytorch.medium.com/feed"
    ]


def test_ghost() -> None:
    found = feeds("ghost.html", "https://notes.example/")
    assert urls(found) == ["https://notes.example/rss/"]
    bare = '<html><head><meta name="generator" content="Ghost 5.82"></head></html>'
    assert [(c.url, c.origin) for c in find_feeds(bare, "https://notes.example/tag/x/")] == [
        ("https://notes.example/rss/", "Ghost")
    ]


def test_youtube_channel() -> None:
    feed = "https://www.youtube.com/feeds/videos.xml?channel_id=UCXUPKJO5MZQN11PqgIvyuvQ"
    assert urls(feeds("youtube-channel.html", "https://www.youtube.com/@AndrejKarpathy")) == [feed]
    found = feeds("youtube-no-link.html", "https://www.youtube.com/@YannicKilcher")
    assert [(c.url, c.origin) for c in found] == [
        (
            "https://www.youtube.com/feeds/videos.xml?channel_id=UCZHmQk67mSJgfCCTn7xBfew",
            "YouTube",
        )
    ]
    playlist = find_feeds(
        "", "https://www.youtube.com/watch?v=abc&list=PLAqhIrjkxbuWI23v9cThsA9GvCAUhRvKZ"
    )
    assert urls(playlist) == [
        "https://www.youtube.com/feeds/videos.xml?playlist_id=PLAqhIrjkxbuWI23v9cThsA9GvCAUhRvKZ"
    ]


def test_reddit() -> None:
    found = feeds("reddit.html", "https://www.reddit.com/r/LocalLLaMA/")
    assert urls(found) == [
        "https://www.reddit.com/r/LocalLLaMA/.rss",
        "https://www.reddit.com/r/LocalLLaMA/new/.rss",
    ]
    thread = find_feeds("", "https://old.reddit.com/r/LocalLLaMA/comments/1h8x2yz/new_model/")
    assert urls(thread)[0] == (
        "https://www.reddit.com/r/LocalLLaMA/comments/1h8x2yz/new_model/.rss"
    )
    assert urls(find_feeds("", "https://www.reddit.com/user/spez/")) == [
        "https://www.reddit.com/user/spez/.rss"
    ]


def test_links_that_look_like_feeds_come_last() -> None:
    page = """<html><head><link rel="alternate" type="application/atom+xml" href="/atom.xml">
    </head><body><a href="/blog/index.xml">RSS</a> <a href="/about">About</a>
    <a href='feed://news.example/rss'>subscribe</a> <a href="/posts.json">JSON</a></body></html>"""
    found = find_feeds(page, "https://news.example/blog/")
    assert [(c.url, c.origin) for c in found] == [
        ("https://news.example/atom.xml", "advertised"),
        ("https://news.example/blog/index.xml", "linked"),
        ("https://news.example/rss", "linked"),
    ]


def test_commented_out_and_scripted_links_are_not_feeds() -> None:
    page = """<!-- <link rel="alternate" type="application/rss+xml" href="/old.rss"> -->
    <script>document.write('<link rel="alternate" type="application/rss+xml" href="/js.rss">')
    </script><link rel="alternate stylesheet" type="text/css" href="/dark.css">
    <link type="application/rss+xml" rel="alternate" href="/real.rss" title='It&#39;s real'>"""
    found = find_feeds(page, "https://x.example/")
    assert [(c.url, c.title) for c in found] == [("https://x.example/real.rss", "It's real")]


def test_a_page_without_feeds() -> None:
    assert find_feeds((PAGES / "hf-models.html").read_text(), "https://huggingface.co/models") == []


def test_decode() -> None:
    assert (
        decode("Café".encode("cp1252"), {"Content-Type": "text/html; charset=windows-1252"})
        == "Café"
    )
    meta = '<meta charset="iso-8859-1">Café'.encode("latin-1")
    assert decode(meta, {}).endswith("Café")
    assert (
        decode(b"\xef\xbb\xbfCaf\xc3\xa9", {"content-type": "text/html; charset=latin-1"}) == "Café"
    )
    assert decode(b"Caf\xe9", {"content-type": "text/html; charset=nonsense"}) == "Caf\ufffd"


@pytest.mark.parametrize(
    ("title", "url", "expected"),
    [
        ("Aurora Lab » Feed", "https://lab.example/feed/", "aurora-lab-feed"),
        ("Über KI: Neuigkeiten", "https://x.example/", "uber-ki-neuigkeiten"),
        ("", "https://www.lab.example/blog/releases/", "lab-blog-releases"),
        ("»«", "https://github.com/openai/gpt-oss/releases.atom", "github-openai-gpt-oss"),
    ],
)
def test_source_names(title: str, url: str, expected: str) -> None:
    assert source_name(title, url) == expected


def test_source_names_are_unique() -> None:
    assert source_name("Feed", "https://a.example/", ["feed", "feed-2"]) == "feed-3"


def test_printed_tables_are_valid_config() -> None:
    block = source_block(
        "lab-blog",
        'https://lab.example/blog/?q="x"',
        comment="RSS, advertised by the page",
        extra=['kind = "page"', '# selector = "main"'],
    )
    assert block.startswith("# RSS, advertised by the page\n[[source]]\n")
    data = tomllib.loads(block)
    assert data["source"][0] == {
        "name": "lab-blog",
        "url": 'https://lab.example/blog/?q="x"',
        "kind": "page",
    }
    config_mod.parse(block + '\n[settings]\ndatabase = "/tmp/x.db"\n', env={})
