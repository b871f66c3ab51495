"""canonical_url: one row per rule, then pairs of spellings that must agree."""

from __future__ import annotations

import pytest

from weightwatch.sources.urls import TRACKING_PARAMS, canonical_url

CASES: list[tuple[str, str | None, str]] = [
    # (url, base, expected)
    # scheme and host lowercased
    ("HTTP://Example.COM/Path", None, "http://example.com/Path"),
    # default ports dropped, other ports kept
    ("http://example.com:80/a", None, "http://example.com/a"),
    ("https://example.com:443/a", None, "https://example.com/a"),
    ("https://example.com:80/a", None, "https://example.com:80/a"),
    ("http://example.com:8080/a", None, "http://example.com:8080/a"),
    ("ftp://example.com:21/f", None, "ftp://example.com/f"),
    # fragment dropped
    ("https://example.com/a#section-2", None, "https://example.com/a"),
    ("https://example.com/#", None, "https://example.com/"),
    # userinfo dropped
    ("https://user:secret@example.com/a", None, "https://example.com/a"),
    ("https://user@example.com/a", None, "https://example.com/a"),
    # tracking parameters dropped, meaningful ones kept
    ("https://example.com/a?utm_source=rss&utm_medium=feed&x=1", None, "https://example.com/a?x=1"),
    ("https://example.com/a?UTM_Campaign=x", None, "https://example.com/a"),
    ("https://example.com/a?fbclid=abc&gclid=def&msclkid=ghi", None, "https://example.com/a"),
    ("https://example.com/a?mc_cid=1&mc_eid=2&igshid=3&yclid=4", None, "https://example.com/a"),
    ("https://example.com/a?_hsenc=1&_hsmi=2&dclid=3&ref_src=twsrc", None, "https://example.com/a"),
    ("https://example.com/a?at_medium=RSS&at_campaign=KARANGA", None, "https://example.com/a"),
    ("https://example.com/a?ref=hn", None, "https://example.com/a?ref=hn"),
    ("https://example.com/a?id=7&p=2&v=3", None, "https://example.com/a?id=7&p=2&v=3"),
    (
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        None,
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    ),
    # remaining parameters sorted by name; repeated names keep their order
    ("https://example.com/a?b=2&a=1&c=3", None, "https://example.com/a?a=1&b=2&c=3"),
    ("https://example.com/a?t=2&t=1&a=0", None, "https://example.com/a?a=0&t=2&t=1"),
    # empty parameters and an empty query dropped; a valueless flag kept
    ("https://example.com/a?", None, "https://example.com/a"),
    ("https://example.com/a?x=1&&y=2&", None, "https://example.com/a?x=1&y=2"),
    ("https://example.com/a?flag", None, "https://example.com/a?flag"),
    # trailing slash removed, but "/" stays "/"
    ("https://example.com/blog/", None, "https://example.com/blog"),
    ("https://example.com/", None, "https://example.com/"),
    ("https://example.com", None, "https://example.com/"),
    ("https://example.com/blog/?page=2", None, "https://example.com/blog?page=2"),
    # dot segments removed
    ("https://example.com/a/./b/../c", None, "https://example.com/a/c"),
    ("https://example.com/a/b/..", None, "https://example.com/a"),
    # relative URLs resolved against base
    ("/post/1", "https://example.org/blog/feed.xml", "https://example.org/post/1"),
    ("post/1", "https://example.org/blog/feed.xml", "https://example.org/blog/post/1"),
    ("../post/1", "https://example.org/blog/feed.xml", "https://example.org/post/1"),
    ("?page=2", "https://example.org/blog/", "https://example.org/blog?page=2"),
    ("//cdn.example.org/x", "https://example.org/feed", "https://cdn.example.org/x"),
    ("https://other.example/x", "https://example.org/feed", "https://other.example/x"),
    # IDN host lowercased (kept in Unicode, NFC); punycode left as it is
    ("https://BÜCHER.Example/", None, "https://bücher.example/"),
    ("https://xn--bcher-kva.EXAMPLE/", None, "https://xn--bcher-kva.example/"),
    # IPv6 literal
    ("http://[2001:DB8::1]:80/x", None, "http://[2001:db8::1]/x"),
    # percent-encoding normalised: unreserved decoded, others uppercased, unsafe encoded
    ("https://example.com/%7euser/%41%2d%5F", None, "https://example.com/~user/A-_"),
    ("https://example.com/a%2fb%3f", None, "https://example.com/a%2Fb%3F"),
    ("https://example.com/caf%c3%a9", None, "https://example.com/caf%C3%A9"),
    ("https://example.com/café", None, "https://example.com/caf%C3%A9"),
    ("https://example.com/a b", None, "https://example.com/a%20b"),
    ("https://example.com/100%", None, "https://example.com/100%25"),
    ("https://example.com/?q=a%2cb%7E", None, "https://example.com/?q=a%2Cb~"),
    ("https://example.com/?q=a+b", None, "https://example.com/?q=a+b"),
    # whitespace trimmed; tabs and newlines inside removed
    ("  https://example.com/a  ", None, "https://example.com/a"),
    ("https://example.com/a\n/b\t", None, "https://example.com/a/b"),
    # empty or invalid input gives ""
    ("", None, ""),
    ("   ", None, ""),
    ("example.com/a", None, ""),
    ("/only/a/path", None, ""),
    ("javascript:alert(1)", None, ""),
    ("javascript:alert(1)", "https://example.org/", ""),
    ("data:text/html,<b>x</b>", None, ""),
    ("mailto:someone@example.com", None, ""),
    ("http://", None, ""),
    ("http://[::1/x", None, ""),
    ("http://example.com:99999/", None, ""),
    ("http://example.com:port/", None, ""),
    ("http://exa mple.com/", None, ""),
    ("https://example.com/a", "::not a base::", "https://example.com/a"),
]


@pytest.mark.parametrize(("url", "base", "expected"), CASES)
def test_canonical_url(url: str, base: str | None, expected: str) -> None:
    assert canonical_url(url, base) == expected


SAME_LINK: list[tuple[str, str]] = [
    (
        "HTTPS://www.Example.com:443/News/Story/?utm_source=feed&b=2&a=1#comments",
        "https://www.example.com/News/Story?a=1&b=2",
    ),
    ("http://user:pw@example.com:80/%7Ejoe/", "http://example.com/~joe"),
    ("https://example.com/caf%c3%a9?x=%2f", "https://example.com/café?x=%2F"),
    ("https://example.com/a/../b/?fbclid=XYZ", "https://example.com/b"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com/?", "https://example.com/#top"),
]


@pytest.mark.parametrize(("first", "second"), SAME_LINK)
def test_two_forms_of_the_same_link_agree(first: str, second: str) -> None:
    assert canonical_url(first) == canonical_url(second) != ""


def test_relative_and_absolute_forms_agree() -> None:
    base = "https://Example.org:443/blog/feed.xml"
    assert canonical_url("posts/1/?utm_medium=rss", base) == canonical_url(
        "https://example.org/blog/posts/1"
    )


@pytest.mark.parametrize("value", [None, 42, b"https://example.com/", ["x"]])
def test_never_raises_on_wrong_types(value: object) -> None:
    assert canonical_url(value) == ""  # type: ignore[arg-type]


def test_is_idempotent() -> None:
    for url, base, expected in CASES:
        if expected:
            assert canonical_url(expected) == expected, (url, base)


def test_tracking_list_spares_meaningful_names() -> None:
    assert {"ref", "id", "p", "v", "source", "partner", "page", "q"}.isdisjoint(TRACKING_PARAMS)
