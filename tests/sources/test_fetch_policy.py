"""The pure rules and messages of a fetch: URLs shown without credentials, URL checks."""

from __future__ import annotations

import pytest

from weightwatch.errors import FetchError
from weightwatch.sources.fetch_policy import check_url, host_port, redact, size_text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://alice:s3cret@example.org/feed", "http://example.org/feed"),
        ("https://token@example.org:8443/x?y=1", "https://example.org:8443/x?y=1"),
        ("https://example.org/a@b", "https://example.org/a@b"),
        ("http://[::1", "(an unreadable URL)"),
    ],
)
def test_redact_leaves_credentials_out_of_a_url(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("https://example.org/feed", "example.org:443"),
        ("http://example.org/feed", "example.org:80"),
        ("http://u:p@127.0.0.1:8080/", "127.0.0.1:8080"),
        ("http://[::1]:9000/", "[::1]:9000"),
    ],
)
def test_host_port_names_where_a_request_went(url: str, where: str) -> None:
    assert host_port(url) == where


@pytest.mark.parametrize(
    ("n", "text"),
    [(10 * 1024 * 1024, "10 MB"), (64 * 1024, "64 KB"), (1000, "1000 bytes")],
)
def test_size_text_reads_as_a_person_writes_it(n: int, text: str) -> None:
    assert size_text(n) == text


@pytest.mark.parametrize(
    ("url", "redirected_from", "message"),
    [
        ("ftp://example.org/f", None, "only http and https URLs can be fetched, not ftp://"),
        (
            "file:///etc/passwd",
            "http://u:p@example.org/a",
            "http://example.org/a redirects to file:///etc/passwd, which is not an http",
        ),
        ("http:///feed", None, "the URL http:///feed has no host"),
        ("http://example.org:99999/", None, "the URL http://example.org:99999/ is not valid"),
    ],
)
def test_check_url_refuses_what_cannot_be_fetched(
    url: str, redirected_from: str | None, message: str
) -> None:
    with pytest.raises(FetchError, match="^" + message.replace("?", r"\?")) as caught:
        check_url(url, "src", redirected_from)
    assert caught.value.source == "src"


def test_check_url_accepts_http_and_https() -> None:
    check_url("https://example.org/feed", "src")
    check_url("HTTP://example.org:8080/feed", "src")
