"""The fetcher against real loopback servers: politeness, deadlines, caps, redirects, errors."""

from __future__ import annotations

import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler

import pytest

from servers import (
    HTTPTestServer,
    Route,
    SilentListener,
    blob,
    closed_port,
    endless,
    gzip_zeros,
    silent,
    trickle,
    trickle_headers,
)
from weightwatch.errors import FetchError, HTTPStatusError, ResponseTooLarge
from weightwatch.sources.http import (
    DEFAULT_USER_AGENT,
    Conditional,
    Fetcher,
    parse_retry_after,
)

DEADLINE = 2.0
QUICK_DEADLINE = 1.0  # for the tests that wait the whole deadline out: 3 trickles of 0.3 s
BOMB_SIZE = 256 * 1024 * 1024
RSS = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
LAST_MODIFIED = "Tue, 01 Apr 2025 10:00:00 GMT"


@pytest.fixture(scope="module")
def _shared_server() -> Iterator[HTTPTestServer]:
    server = HTTPTestServer()
    yield server
    server.close()


@pytest.fixture
def http_server(_shared_server: HTTPTestServer) -> HTTPTestServer:
    """conftest's server, shared by this module: each ``close()`` waits 0.5 s for the
    ``serve_forever`` poll, which would otherwise double the module's run time."""
    _shared_server.routes.clear()
    with _shared_server.lock:
        _shared_server.requests.clear()
    return _shared_server


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    f = Fetcher(timeout=DEADLINE)
    yield f
    f.close()


@pytest.fixture
def quick_fetcher() -> Iterator[Fetcher]:
    f = Fetcher(timeout=QUICK_DEADLINE)
    yield f
    f.close()


@pytest.fixture(scope="session")
def gzip_bomb() -> bytes:
    """256 MiB of zeros, about 260 KB gzipped."""
    return gzip_zeros(BOMB_SIZE)


# --- the ordinary exchange ---------------------------------------------------------------


def test_200_returns_body_and_validators(http_server: HTTPTestServer, fetcher: Fetcher) -> None:
    url = http_server.set("/feed", RSS, headers={"Last-Modified": LAST_MODIFIED})
    r = fetcher.fetch(url, source="blog")
    assert r.status == 200
    assert r.body == RSS
    assert r.url == url
    assert r.etag is not None and r.etag.startswith('"')
    assert r.last_modified == LAST_MODIFIED
    assert r.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert all(k == k.lower() for k in r.headers)
    assert r.permanent_url is None
    assert 0 <= r.elapsed < DEADLINE


def test_second_fetch_with_the_validators_gets_304_and_empty_body(
    http_server: HTTPTestServer, fetcher: Fetcher
) -> None:
    url = http_server.set("/feed", RSS, headers={"Last-Modified": LAST_MODIFIED})
    first = fetcher.fetch(url)
    second = fetcher.fetch(url, Conditional(first.etag, first.last_modified))
    assert second.status == 304
    assert second.body == b""
    assert second.etag == first.etag
    assert second.last_modified == LAST_MODIFIED
    sent = http_server.hits("/feed")[-1].headers
    assert sent["if-none-match"] == first.etag
    assert sent["if-modified-since"] == LAST_MODIFIED


def test_sends_descriptive_user_agent_feed_accept_and_gzip(
    http_server: HTTPTestServer, fetcher: Fetcher
) -> None:
    url = http_server.set("/feed", RSS)
    fetcher.fetch(url)
    sent = http_server.hits("/feed")[0].headers
    assert sent["user-agent"] == DEFAULT_USER_AGENT
    assert DEFAULT_USER_AGENT.startswith("weightwatch/") and "+http" in DEFAULT_USER_AGENT
    assert sent["accept"].startswith("application/atom+xml, application/rss+xml")
    assert "*/*;q=0.1" in sent["accept"]
    assert sent["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in sent


def test_configured_user_agent_replaces_the_default(http_server: HTTPTestServer) -> None:
    url = http_server.set("/feed", RSS)
    f = Fetcher(timeout=DEADLINE, user_agent="my-watcher/2 (me@example.org)")
    try:
        f.fetch(url)
    finally:
        f.close()
    assert http_server.hits("/feed")[0].headers["user-agent"] == "my-watcher/2 (me@example.org)"


def test_keep_alive_connection_is_reused_across_200_304_and_404(
    http_server: HTTPTestServer, fetcher: Fetcher
) -> None:
    clients: set[tuple[str, int]] = set()
    counter = http_server.routes

    def answer(h: BaseHTTPRequestHandler) -> None:
        clients.add(h.client_address)
        status = 304 if h.headers.get("If-None-Match") == '"v1"' else 200
        h.send_response(status)
        h.send_header("ETag", '"v1"')
        if status == 200:
            h.send_header("Content-Length", str(len(RSS)))
        h.end_headers()
        if status == 200:
            h.wfile.write(RSS)

    counter["/feed"] = Route(handler=answer)
    url = http_server.url("/feed")
    first = fetcher.fetch(url)
    assert fetcher.fetch(url, Conditional(first.etag)).status == 304
    with pytest.raises(HTTPStatusError):
        fetcher.fetch(http_server.url("/missing"))
    assert fetcher.fetch(url).body == RSS
    assert len(clients) == 1


@pytest.mark.parametrize("raw", [False, True], ids=["zlib", "raw-deflate"])
def test_deflate_body_is_decoded(http_server: HTTPTestServer, fetcher: Fetcher, raw: bool) -> None:
    comp = zlib.compressobj(6, zlib.DEFLATED, -15 if raw else 15)
    packed = comp.compress(RSS * 50) + comp.flush()
    url = http_server.set("/feed", packed, headers={"Content-Encoding": "deflate"})
    assert fetcher.fetch(url).body == RSS * 50


def test_gzip_body_is_decoded(http_server: HTTPTestServer, fetcher: Fetcher) -> None:
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    packed = comp.compress(RSS * 50) + comp.flush()
    url = http_server.set("/feed", packed, headers={"Content-Encoding": "gzip"})
    assert fetcher.fetch(url).body == RSS * 50


def test_two_threads_fetching_at_once_both_succeed(
    http_server: HTTPTestServer, fetcher: Fetcher
) -> None:
    http_server.routes["/slow"] = Route(handler=blob(RSS, delay=0.5))
    url = http_server.url("/slow")
    bodies: list[bytes] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            bodies.append(fetcher.fetch(url).body)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    took = time.monotonic() - start
    assert errors == []
    assert bodies == [RSS, RSS]
    assert took < 0.95  # concurrent, not one after the other


# --- the total deadline and the size cap -------------------------------------------------


def test_trickling_body_is_cut_at_the_total_deadline(
    http_server: HTTPTestServer, quick_fetcher: Fetcher
) -> None:
    http_server.routes["/trickle"] = Route(handler=trickle(interval=0.3, size=200))
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"did not finish answering within 1 s") as info:
        quick_fetcher.fetch(http_server.url("/trickle"), source="slow")
    took = time.monotonic() - start
    assert QUICK_DEADLINE - 0.1 <= took < QUICK_DEADLINE + 1
    assert type(info.value) is FetchError
    assert info.value.source == "slow"


def test_trickling_headers_are_cut_at_the_total_deadline(
    http_server: HTTPTestServer, quick_fetcher: Fetcher
) -> None:
    http_server.routes["/slow-headers"] = Route(handler=trickle_headers(interval=0.3))
    start = time.monotonic()
    with pytest.raises(FetchError, match="within 1 s"):
        quick_fetcher.fetch(http_server.url("/slow-headers"))
    assert time.monotonic() - start < QUICK_DEADLINE + 1


def test_server_that_reads_the_request_and_never_answers_is_cut_at_the_deadline(
    http_server: HTTPTestServer, quick_fetcher: Fetcher
) -> None:
    http_server.routes["/silent"] = Route(handler=silent())
    start = time.monotonic()
    with pytest.raises(FetchError, match="did not answer within 1 s"):
        quick_fetcher.fetch(http_server.url("/silent"))
    assert time.monotonic() - start < QUICK_DEADLINE + 1


@pytest.mark.integration
def test_port_that_accepts_the_connection_and_never_answers_is_cut_at_the_deadline(
    quick_fetcher: Fetcher,
) -> None:
    listener = SilentListener()
    try:
        start = time.monotonic()
        with pytest.raises(FetchError, match="did not answer within 1 s"):
            quick_fetcher.fetch(listener.url("/feed"))
        assert time.monotonic() - start < QUICK_DEADLINE + 1
    finally:
        listener.close()


def test_endless_response_ends_in_response_too_large_quickly(
    http_server: HTTPTestServer,
) -> None:
    http_server.routes["/endless"] = Route(handler=endless())
    f = Fetcher(timeout=DEADLINE, max_body=1024 * 1024)
    try:
        start = time.monotonic()
        with pytest.raises(ResponseTooLarge, match="passed the 1 MB cap"):
            f.fetch(http_server.url("/endless"))
        assert time.monotonic() - start < 1
    finally:
        f.close()


def test_declared_length_over_the_cap_fails_before_the_body_is_read(
    http_server: HTTPTestServer,
) -> None:
    url = http_server.set("/big", b"x" * 20_000)
    f = Fetcher(timeout=DEADLINE, max_body=10_000)
    try:
        with pytest.raises(ResponseTooLarge, match="passed the 10000 bytes cap"):
            f.fetch(url)
    finally:
        f.close()


def test_gzip_bomb_ends_in_response_too_large_with_memory_far_below_its_size(
    http_server: HTTPTestServer, fetcher: Fetcher, gzip_bomb: bytes
) -> None:
    http_server.routes["/bomb"] = Route(
        handler=blob(gzip_bomb, headers={"Content-Encoding": "gzip"})
    )
    tracemalloc.start()
    try:
        start = time.monotonic()
        with pytest.raises(ResponseTooLarge, match="passed the 10 MB cap"):
            fetcher.fetch(http_server.url("/bomb"))  # default cap: 10 MiB
        took = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024  # the cap plus slack, against 256 MiB decompressed
    assert took < DEADLINE


# --- statuses and redirects --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "text"),
    [(404, "404 Not Found"), (500, "500 Internal Server Error"), (410, "410 Gone")],
)
def test_error_status_raises_http_status_error(
    http_server: HTTPTestServer, fetcher: Fetcher, status: int, text: str
) -> None:
    url = http_server.set("/feed", b"nope", status=status)
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(url, source="blog")
    assert info.value.status == status
    assert info.value.retry_after is None
    assert str(info.value) == f"the server answered {text}"
    assert info.value.url == url and info.value.source == "blog"


def test_429_with_retry_after_seconds_sets_retry_after(
    http_server: HTTPTestServer, fetcher: Fetcher
) -> None:
    url = http_server.set("/feed", status=429, headers={"Retry-After": "120"})
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(url)
    assert info.value.status == 429
    assert info.value.retry_after == 120.0


def test_503_with_retry_after_http_date_sets_retry_after(
    http_server: HTTPTestServer, fetcher: Fetcher
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=300), usegmt=True)
    url = http_server.set("/feed", status=503, headers={"Retry-After": when})
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(url)
    assert info.value.status == 503
    assert info.value.retry_after is not None
    assert 295 <= info.value.retry_after <= 300


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("-5", None),
        ("1.5", None),
        ("9" * 400, None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past: now
        ("Wed, 21 Oct 2015 07:28:10 -0000", 10.0),  # naive date taken as UTC
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after(value, now) == expected


def test_chain_of_301_and_308_reports_permanent_url(
    http_server: HTTPTestServer, fetcher: Fetcher
) -> None:
    final = http_server.set("/new", RSS)
    http_server.set("/old", status=301, headers={"Location": "/mid"})
    http_server.set("/mid", status=308, headers={"Location": final})
    r = fetcher.fetch(http_server.url("/old"))
    assert r.status == 200 and r.body == RSS
    assert r.url == final
    assert r.permanent_url == final


@pytest.mark.parametrize("temporary", [302, 307])
def test_a_temporary_redirect_in_the_chain_reports_no_permanent_url(
    http_server: HTTPTestServer, fetcher: Fetcher, temporary: int
) -> None:
    final = http_server.set("/new", RSS)
    http_server.set("/old", status=301, headers={"Location": "/mid"})
    http_server.set("/mid", status=temporary, headers={"Location": "/new"})
    r = fetcher.fetch(http_server.url("/old"))
    assert r.url == final
    assert r.permanent_url is None


def test_redirect_loop_raises_fetch_error(http_server: HTTPTestServer, fetcher: Fetcher) -> None:
    http_server.set("/a", status=302, headers={"Location": "/b"})
    http_server.set("/b", status=301, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirect loop"):
        fetcher.fetch(http_server.url("/a"))


def test_more_than_ten_redirects_raises_fetch_error(
    http_server: HTTPTestServer, fetcher: Fetcher
) -> None:
    for i in range(12):
        http_server.set(f"/r{i}", status=301, headers={"Location": f"/r{i + 1}"})
    http_server.set("/r12", RSS)
    with pytest.raises(FetchError, match="more than 10 redirects"):
        fetcher.fetch(http_server.url("/r0"))
    assert len(http_server.requests) == 11


def test_redirect_to_a_non_http_url_raises_fetch_error(
    http_server: HTTPTestServer, fetcher: Fetcher
) -> None:
    http_server.set("/a", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchError, match="not an http or https URL"):
        fetcher.fetch(http_server.url("/a"))


# --- connection failures and bad URLs ----------------------------------------------------


@pytest.mark.integration
def test_connection_refused_raises_fetch_error_without_credentials(fetcher: Fetcher) -> None:
    port = closed_port()
    with pytest.raises(FetchError) as info:
        fetcher.fetch(f"http://alice:s3cret@127.0.0.1:{port}/feed", source="private")
    assert type(info.value) is FetchError
    assert str(info.value) == f"could not connect to 127.0.0.1:{port}: connection refused"
    assert "s3cret" not in info.value.url
    assert info.value.source == "private"


def test_status_error_url_carries_no_credentials(
    http_server: HTTPTestServer, fetcher: Fetcher
) -> None:
    url = http_server.set("/feed", status=401).replace("http://", "http://alice:s3cret@")
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(url)
    assert "s3cret" not in str(info.value) + info.value.url
    assert http_server.hits("/feed")[0].headers["authorization"].startswith("Basic ")


def test_tls_to_a_plain_http_server_raises_fetch_error(
    http_server: HTTPTestServer, fetcher: Fetcher
) -> None:
    url = http_server.set("/feed", RSS).replace("http://", "https://")
    with pytest.raises(FetchError, match="TLS handshake failed"):
        fetcher.fetch(url)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/feed", "file:///etc/passwd", "example.org/feed", "http:///nohost"],
)
def test_non_http_or_malformed_url_raises_fetch_error(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError):
        fetcher.fetch(url)


def test_fetch_after_close_raises_fetch_error(http_server: HTTPTestServer) -> None:
    url = http_server.set("/feed", RSS)
    f = Fetcher(timeout=DEADLINE)
    f.fetch(url)
    f.close()
    with pytest.raises(FetchError, match="closed"):
        f.fetch(url)
