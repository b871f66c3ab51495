"""HTTPS on loopback with a private CA (trustme): verification stays on and is explained.

Almost every real feed is HTTPS, and the fetcher wraps urllib3's connection classes for its
deadline watchdog. These tests serve TLS from 127.0.0.1 with certificates issued by a CA
generated per session.

How a private CA is trusted: weightwatch has no setting for it. The fetcher goes through
``requests``, which honours the ``REQUESTS_CA_BUNDLE`` environment variable (a PEM file) in
place of its certifi bundle, and Apprise's channels go through ``requests`` too; so under
systemd, ``Environment=REQUESTS_CA_BUNDLE=/etc/weightwatch/ca.pem`` (or the EnvironmentFile)
trusts an internal CA for feeds and channels alike. The tests set that variable.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from feedgen import Entry, rss
from servers import (
    HTTPTestServer,
    SilentListener,
    WebhookReceiver,
    https_url,
    serve_tls,
)
from weightwatch import config as config_mod
from weightwatch.errors import FetchError
from weightwatch.service.once import run_once
from weightwatch.sources.http import Fetcher

FEED = rss([Entry(title="Acme publishes open weights", link="https://acme.example/p/1")])


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The private CA, trusted through the variable requests honours."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(path))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return path


@pytest.fixture
def untrusted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The system's CAs only (certifi): the private CA is not trusted."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def context_for(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


def tls_server(cert: trustme.LeafCert) -> HTTPTestServer:
    server = serve_tls(HTTPTestServer(), context_for(cert))
    server.set("/feed.xml", FEED)
    return server


@pytest.fixture
def https_server(ca: trustme.CA) -> Iterator[HTTPTestServer]:
    """A TLS server whose certificate names localhost and the IP 127.0.0.1."""
    server = tls_server(ca.issue_cert("localhost", "127.0.0.1"))
    yield server
    server.close()


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    f = Fetcher(timeout=3)
    yield f
    f.close()


@pytest.mark.integration
@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_a_feed_over_https_is_fetched_when_its_ca_is_trusted(
    ca_file: Path, https_server: HTTPTestServer, fetcher: Fetcher, host: str
) -> None:
    response = fetcher.fetch(https_url(https_server, "/feed.xml", host), source="s")
    assert response.status == 200
    assert response.body == FEED
    assert response.url.startswith(f"https://{host}:")


@pytest.mark.integration
def test_an_untrusted_certificate_is_refused_saying_certificate_verify_failed(
    untrusted: None, https_server: HTTPTestServer, fetcher: Fetcher
) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(https_url(https_server, "/feed.xml"), source="s")
    message = str(caught.value)
    assert "the TLS handshake failed" in message
    assert "certificate verify failed" in message
    assert "unable to get local issuer certificate" in message
    assert f"localhost:{https_server.port}" in message
    assert https_server.hits("/feed.xml") == []  # no request was sent over it


@pytest.mark.integration
def test_a_certificate_for_another_host_is_refused_as_a_hostname_mismatch(
    ca: trustme.CA, ca_file: Path, fetcher: Fetcher
) -> None:
    server = tls_server(ca.issue_cert("feeds.example.org"))
    try:
        with pytest.raises(FetchError) as caught:
            fetcher.fetch(https_url(server, "/feed.xml"), source="s")
    finally:
        server.close()
    message = str(caught.value)
    assert "certificate verify failed" in message
    assert "Hostname mismatch" in message and "'localhost'" in message


@pytest.mark.integration
def test_an_expired_certificate_is_refused_as_expired(
    ca: trustme.CA, ca_file: Path, fetcher: Fetcher
) -> None:
    now = datetime.now(UTC)
    expired = ca.issue_cert(
        "localhost",
        "127.0.0.1",
        not_before=now - timedelta(days=60),
        not_after=now - timedelta(days=1),
    )
    server = tls_server(expired)
    try:
        with pytest.raises(FetchError) as caught:
            fetcher.fetch(https_url(server, "/feed.xml"), source="s")
    finally:
        server.close()
    assert "certificate verify failed: certificate has expired" in str(caught.value)


def test_a_permanent_redirect_from_http_to_https_is_followed_and_remembered(
    ca_file: Path, https_server: HTTPTestServer, http_server: HTTPTestServer, fetcher: Fetcher
) -> None:
    target = https_url(https_server, "/feed.xml")
    start = http_server.set("/feed.xml", status=301, headers={"Location": target})
    response = fetcher.fetch(start, source="s")
    assert response.status == 200 and response.body == FEED
    assert response.url == target
    assert response.permanent_url == target


@pytest.mark.integration
def test_a_handshake_that_never_gets_an_answer_is_cut_at_the_deadline(
    untrusted: None,
) -> None:
    # The kernel completes the TCP handshake; nothing ever reads the ClientHello.
    listener = SilentListener()
    fetcher = Fetcher(timeout=1.5)
    started = time.monotonic()
    try:
        with pytest.raises(FetchError) as caught:
            fetcher.fetch(f"https://127.0.0.1:{listener.port}/feed.xml", source="s")
    finally:
        elapsed = time.monotonic() - started
        fetcher.close()
        listener.close()
    assert 1.4 <= elapsed < 4.0  # the 1.5 s deadline, not a default of minutes
    message = str(caught.value)
    assert f"127.0.0.1:{listener.port}" in message
    assert "did not answer within 1.5 s" in message


@pytest.mark.integration
def test_once_over_https_alerts_to_an_https_webhook_when_the_ca_is_trusted(
    ca: trustme.CA, ca_file: Path, https_server: HTTPTestServer, tmp_path: Path
) -> None:
    hook = serve_tls(WebhookReceiver(), context_for(ca.issue_cert("localhost", "127.0.0.1")))
    assert isinstance(hook, WebhookReceiver)
    try:
        cfg = write_config(
            tmp_path,
            https_url(https_server, "/feed.xml"),
            f"jsons://localhost:{hook.port}/hook",
        )
        summary = run_once(cfg, backfill=True)
        assert [s.status for s in summary.sources] == ["ok"], summary.render()
        assert summary.delivery.sent == 1, summary.render()
        assert [r["title"] for r in hook.received] == ["[w] Acme publishes open weights"]
    finally:
        hook.close()


# urllib3 warns about every unverified request; the suite turns warnings into errors.
@pytest.mark.integration
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_an_https_channel_with_an_untrusted_ca_fails_unless_it_says_verify_no(
    ca: trustme.CA, untrusted: None, tmp_path: Path
) -> None:
    from weightwatch.delivery import notify

    hook = serve_tls(WebhookReceiver(), context_for(ca.issue_cert("localhost", "127.0.0.1")))
    assert isinstance(hook, WebhookReceiver)
    try:
        refused = notify.send(f"jsons://localhost:{hook.port}/hook", "t", "b", timeout=5)
        assert not refused.ok
        assert hook.received == []
        allowed = notify.send(f"jsons://localhost:{hook.port}/hook?verify=no", "t", "b", timeout=5)
        assert allowed.ok, allowed.error
        assert [r["title"] for r in hook.received] == ["t"]
    finally:
        hook.close()


def write_config(tmp_path: Path, feed_url: str, channel_url: str) -> config_mod.Config:
    lines = [
        "[settings]",
        f'database = "{(tmp_path / "ww.db").as_posix()}"',
        'timeout = "3s"',
        "[channels]",
        f"hook = {json.dumps([channel_url])}",
        "[[source]]",
        'name = "tls"',
        f'url = "{feed_url}"',
        "[[rule]]",
        'name = "w"',
        'query = "open weights"',
        'notify = ["hook"]',
    ]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config_mod.load(path, env={})
