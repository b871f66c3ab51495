"""Internal addresses (issue 10, item 10): with ``private_addresses = "refuse"`` a fetch
reaches loopback, private and link-local addresses only on the host and port the source's
own url names; redirects elsewhere inside are refused at connect time, by the address the
host resolves to, and such a 301 is never remembered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from builders import write_config
from servers import HTTPTestServer, WebhookReceiver
from weightwatch.config.schema import SETTINGS
from weightwatch.errors import FetchError
from weightwatch.service.once import run_once
from weightwatch.service.poll import fetch_source
from weightwatch.sources.fetch_policy import PRIVATE_ADDRESSES, address_kind, refuses_private
from weightwatch.sources.http import Fetcher
from weightwatch.storage import Storage
from weightwatch.types import SourceState

FEED = (
    b"<rss version='2.0'><channel><title>t</title><item><title>OpenAI release weights"
    b" of GPT open-weight</title><link>http://example.org/1</link></item></channel></rss>"
)
SECRET = (
    b"<rss version='2.0'><channel><title>internal</title><item><title>OpenAI release weights"
    b" internal-only page</title><link>http://example.org/secret</link></item></channel></rss>"
)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4 mapped into IPv6: judged as IPv4
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("[::1]", "loopback"),
        ("93.184.216.34", None),
        ("172.32.0.1", None),
        ("2606:4700::1", None),
        ("::ffff:8.8.8.8", None),
        ("example.org", None),  # a name is not an address: checked once resolved
    ],
)
def test_address_kind_names_every_internal_range(address: str, kind: str | None) -> None:
    assert address_kind(address) == kind


@pytest.mark.parametrize(
    ("setting", "env", "refuses"),
    [
        ("refuse", {}, True),
        ("allow", {"INVOCATION_ID": "abc"}, False),
        ("auto", {}, False),
        ("auto", {"INVOCATION_ID": "abc"}, True),
        ("auto", {"NOTIFY_SOCKET": "/run/systemd/notify"}, True),
        ("auto", {"JOURNAL_STREAM": "8:1234"}, True),
        ("auto", {"INVOCATION_ID": ""}, False),
    ],
)
def test_auto_refuses_internal_addresses_only_under_systemd(
    setting: str, env: dict[str, str], refuses: bool
) -> None:
    assert refuses_private(setting, env) is refuses


def test_the_setting_offers_the_fetchers_values_and_defaults_to_auto() -> None:
    key = SETTINGS["private_addresses"]
    assert key.values == PRIVATE_ADDRESSES and key.default == "auto"


@pytest.fixture
def server() -> Iterator[HTTPTestServer]:
    s = HTTPTestServer()
    yield s
    s.close()


@pytest.fixture
def inside() -> Iterator[HTTPTestServer]:
    """An "internal-only" server on another loopback address (all of 127/8 is loopback)."""
    s = HTTPTestServer(host="127.0.0.2")
    yield s
    s.close()


@pytest.fixture
def other_port() -> Iterator[HTTPTestServer]:
    s = HTTPTestServer()
    yield s
    s.close()


@pytest.fixture
def refusing() -> Iterator[Fetcher]:
    f = Fetcher(timeout=3, private_addresses="refuse")
    yield f
    f.close()


@pytest.mark.integration
def test_a_source_whose_own_url_names_a_loopback_address_is_fetched(
    server: HTTPTestServer, refusing: Fetcher
) -> None:
    r = refusing.fetch(server.set("/feed", FEED), source="s")
    assert r.status == 200 and r.body == FEED


@pytest.mark.integration
def test_a_source_whose_own_url_names_localhost_is_fetched(
    server: HTTPTestServer, refusing: Fetcher
) -> None:
    server.set("/feed", FEED)
    r = refusing.fetch(f"http://localhost:{server.port}/feed", source="s")
    assert r.body == FEED


@pytest.mark.integration
def test_a_redirect_to_another_loopback_address_is_refused_naming_it(
    server: HTTPTestServer, inside: HTTPTestServer, refusing: Fetcher
) -> None:
    target = inside.set("/secret", SECRET)
    start = server.set("/feed", status=301, headers={"Location": target})
    with pytest.raises(FetchError) as caught:
        refusing.fetch(start, source="s")
    message = str(caught.value)
    assert "127.0.0.2, a loopback address" in message
    assert f"redirects to {target}" in message and "private_addresses" in message
    assert inside.hits("/secret") == []  # never connected: refused before the connect


@pytest.mark.integration
def test_a_redirect_to_another_port_of_the_same_host_is_refused(
    server: HTTPTestServer, other_port: HTTPTestServer, refusing: Fetcher
) -> None:
    target = other_port.set("/admin", SECRET)
    start = server.set("/feed", status=302, headers={"Location": target})
    with pytest.raises(FetchError, match=r"127\.0\.0\.1, a loopback address"):
        refusing.fetch(start, source="s")
    assert other_port.hits("/admin") == []


@pytest.mark.integration
def test_a_redirect_to_a_name_is_judged_by_the_address_it_resolves_to(
    server: HTTPTestServer, other_port: HTTPTestServer, refusing: Fetcher
) -> None:
    # "localhost" is not an address in the URL's text: only the connect-time check, on the
    # resolved address, can refuse it (as it must refuse a DNS name rebound to 127.0.0.1).
    other_port.set("/admin", SECRET)
    start = server.set(
        "/feed", status=301, headers={"Location": f"http://localhost:{other_port.port}/admin"}
    )
    with pytest.raises(FetchError) as caught:
        refusing.fetch(start, source="s")
    assert "localhost (" in str(caught.value) and "loopback)" in str(caught.value)
    assert other_port.hits("/admin") == []


@pytest.mark.integration
def test_a_pooled_connection_to_an_internal_host_is_not_reused_by_another_source(
    server: HTTPTestServer, inside: HTTPTestServer, refusing: Fetcher
) -> None:
    # Source a (on 127.0.0.2, its own url) leaves a kept-alive connection in this thread's
    # pool; source b, elsewhere, then redirects there: no new connect happens, so the check
    # must look at the pooled connection's peer.
    secret = inside.set("/secret", SECRET)
    assert refusing.fetch(secret, source="a").body == SECRET
    start = server.set("/feed", status=302, headers={"Location": secret})
    with pytest.raises(FetchError, match=r"127\.0\.0\.2, a loopback address"):
        refusing.fetch(start, source="b")
    assert len(inside.hits("/secret")) == 1


@pytest.mark.integration
def test_with_allow_the_redirect_is_followed_as_before(
    server: HTTPTestServer, inside: HTTPTestServer
) -> None:
    target = inside.set("/secret", SECRET)
    start = server.set("/feed", status=301, headers={"Location": target})
    fetcher = Fetcher(timeout=3, private_addresses="allow")
    try:
        r = fetcher.fetch(start, source="s")
    finally:
        fetcher.close()
    assert r.body == SECRET and r.permanent_url == target  # loopback to loopback


@pytest.mark.integration
def test_fetch_source_allows_only_the_host_of_the_configured_url(
    tmp_path: Path, server: HTTPTestServer, inside: HTTPTestServer, refusing: Fetcher
) -> None:
    # A permanent URL remembered earlier (before this check existed) on an internal host
    # that the source's url does not name is refused too.
    config = write_config(tmp_path, {"a": server.set("/feed", FEED)}, {}, [])
    source = config.sources[0]
    state = SourceState(source.name, source.url, permanent_url=inside.set("/secret", SECRET))
    fetched = fetch_source(refusing, source, state)
    assert isinstance(fetched.error, FetchError)
    assert "127.0.0.2, a loopback address" in str(fetched.error)
    ok = fetch_source(refusing, source, SourceState(source.name, source.url))
    assert ok.error is None and ok.feed is not None and len(ok.feed.items) == 1


@pytest.mark.integration
def test_once_refuses_a_301_to_an_internal_page_stores_nothing_and_remembers_nothing(
    tmp_path: Path, server: HTTPTestServer, inside: HTTPTestServer
) -> None:
    target = inside.set("/secret", SECRET)
    webhook = WebhookReceiver()
    config = write_config(
        tmp_path,
        {"a": server.set("/feed", status=301, headers={"Location": target})},
        {"hook": [webhook.apprise_url]},
        [{"name": "oa", "query": "OpenAI", "notify": ["hook"]}],
        settings='private_addresses = "refuse"',
    )
    assert config.settings.private_addresses == "refuse"
    storage = Storage(config.settings.database)
    try:
        summary = run_once(config, storage=storage, backfill=True)
        state = storage.source_state("a")
        counts = storage.counts()
    finally:
        storage.close()
        webhook.close()
    assert inside.hits("/secret") == [] and webhook.requests == []
    assert summary.count("error") == 1
    assert state is not None and "127.0.0.2, a loopback address" in (state.last_error or "")
    assert state.permanent_url is None
    assert counts["items"] == 0 and counts["hits"] == 0 and counts["pending"] == 0
