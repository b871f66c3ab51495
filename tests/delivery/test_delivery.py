"""Alerts that arrive: retries, digests, rate limits, quiet hours and health alerts, end to end.

Real parts: loopback feeds, Apprise json:// to a local webhook receiver, aiosmtpd for mail,
SQLite files. The clock is the one thing the tests control (``run_once(now=...)``).
"""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from pathlib import Path

from builders import CLI
from conftest import SMTPSink
from delivery_builders import OLD, T0, Clock, prime, publish, setup
from feedgen import rss
from servers import HTTPTestServer, WebhookReceiver
from weightwatch.service.once import run_once
from weightwatch.storage.store import Storage


def test_webhook_failing_its_first_requests_gets_every_alert_exactly_once(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    clock = Clock()
    cfg = setup(tmp_path, http_server.url("/f.xml"), f'hook = "{webhook.apprise_url}"')
    prime(http_server, cfg, clock)
    publish(http_server, 3)
    webhook.fail_next = 5
    for _ in range(6):
        run_once(cfg, now=clock)
        clock.advance(minutes=5)
    assert sorted(r["title"] for r in webhook.received) == sorted(
        f"[weights] Lab {n} releases open weights for model {n}" for n in (1, 2, 3)
    )


def test_mail_arrives_once_the_smtp_server_is_back(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"mailto://127.0.0.1:{port}?from=ww@example.org&to=me@example.org&format=text&cto=2"
    clock = Clock()
    cfg = setup(tmp_path, http_server.url("/f.xml"), f'hook = "{url}"')
    prime(http_server, cfg, clock)
    publish(http_server, 1)
    summary = run_once(cfg, now=clock)  # nothing listens: the mail stays pending
    assert summary.delivery.sent == 0 and summary.pending == 1
    sink = SMTPSink(port)
    try:
        clock.advance(minutes=1)
        summary = run_once(cfg, now=clock)
        run_once(cfg, now=clock)
    finally:
        sink.stop()
    assert summary.delivery.sent == 1
    assert len(sink.messages) == 1
    assert "Lab 1 releases open weights" in sink.messages[0][2]


def test_a_permanent_error_fails_at_once_with_the_reason(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    http_server.set("/gone", b"{}", status=404, content_type="application/json", etag=False)
    clock = Clock()
    cfg = setup(
        tmp_path, http_server.url("/f.xml"), f'hook = "json://127.0.0.1:{http_server.port}/gone"'
    )
    prime(http_server, cfg, clock)
    publish(http_server, 1)
    summary = run_once(cfg, now=clock)
    assert summary.delivery.failed == 1 and summary.pending == 0
    run_once(cfg, now=clock)
    assert len(http_server.hits("/gone")) == 1  # not retried
    storage = Storage(tmp_path / "ww.db")
    [failed] = storage.alerts("failed")
    storage.close()
    assert "404" in (failed.last_error or "")


def test_rate_limit_folds_the_excess_into_one_digest_when_the_window_allows(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    clock = Clock()
    channels = f'[channels.hook]\nurls = "{webhook.apprise_url}"\nmax_per_hour = 2'
    cfg = setup(tmp_path, http_server.url("/f.xml"), channels)
    prime(http_server, cfg, clock)
    publish(http_server, 5)
    run_once(cfg, now=clock)
    assert len(webhook.received) == 2
    clock.advance(minutes=30)
    run_once(cfg, now=clock)
    assert len(webhook.received) == 2  # still inside the hour
    clock.advance(minutes=31)
    run_once(cfg, now=clock)
    assert len(webhook.received) == 3
    digest = webhook.received[2]
    assert "3 alerts" in digest["title"]
    assert "rate limit" in digest["message"]
    for n in (3, 4, 5):
        assert f"Lab {n} releases open weights" in digest["message"]
    clock.advance(hours=2)
    run_once(cfg, now=clock)
    assert len(webhook.received) == 3  # nothing is sent twice


def test_quiet_hours_hold_alerts_and_deliver_one_digest_when_they_end(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    clock = Clock()
    clock.now = T0.replace(hour=23)
    channels = f'[channels.hook]\nurls = "{webhook.apprise_url}"\nquiet = "22:00-07:00"'
    cfg = setup(tmp_path, http_server.url("/f.xml"), channels)
    prime(http_server, cfg, clock)
    publish(http_server, 2)
    run_once(cfg, now=clock)
    clock.advance(hours=3)
    run_once(cfg, now=clock)
    assert webhook.received == []
    clock.now = T0.replace(hour=7, minute=5) + timedelta(days=1)
    run_once(cfg, now=clock)
    run_once(cfg, now=clock)
    assert len(webhook.received) == 1
    assert "2 alerts" in webhook.received[0]["title"]
    assert "quiet hours" in webhook.received[0]["title"]


def test_digest_channel_sends_one_message_listing_the_stories(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    clock = Clock()
    channels = f'[channels.hook]\nurls = "{webhook.apprise_url}"\ndigest = "1h"'
    cfg = setup(tmp_path, http_server.url("/f.xml"), channels)
    prime(http_server, cfg, clock)
    publish(http_server, 3)
    run_once(cfg, now=clock)
    clock.advance(minutes=59)
    run_once(cfg, now=clock)
    assert webhook.received == []
    clock.advance(minutes=2)
    run_once(cfg, now=clock)
    assert len(webhook.received) == 1
    body = webhook.received[0]["message"]
    assert body.count("https://lab.example/") == 3


def test_rule_digest_batches_that_rule_only(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    clock = Clock()
    cfg = setup(
        tmp_path,
        http_server.url("/f.xml"),
        f'hook = "{webhook.apprise_url}"',
        rule_extra='digest = "daily 08:00"',
    )
    prime(http_server, cfg, clock)
    publish(http_server, 2)
    run_once(cfg, now=clock)
    assert webhook.received == []
    clock.now = T0.replace(hour=8) + timedelta(days=1)
    run_once(cfg, now=clock)
    assert len(webhook.received) == 1 and "2 alerts" in webhook.received[0]["title"]


def test_broken_then_recovered_source_sends_exactly_one_message_each(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    clock = Clock()
    cfg = setup(
        tmp_path,
        http_server.url("/f.xml"),
        f'hook = "{webhook.apprise_url}"\nops = "{webhook.apprise_url}?ops=1"',
        settings='ops = "ops"\nhealth_failures = 3',
    )
    prime(http_server, cfg, clock)
    http_server.set("/f.xml", b"down", status=500, content_type="text/plain")
    for _ in range(6):
        clock.advance(minutes=10)
        run_once(cfg, now=clock)
    titles = [r["title"] for r in webhook.received]
    assert titles == ["[weightwatch] source broken: lab"]
    assert "500" in webhook.received[0]["message"]
    http_server.set("/f.xml", rss([OLD]))
    for _ in range(3):
        clock.advance(minutes=10)
        run_once(cfg, now=clock)
    titles = [r["title"] for r in webhook.received]
    assert titles == ["[weightwatch] source broken: lab", "[weightwatch] source recovered: lab"]


def test_a_url_that_keeps_failing_is_reported_once_to_the_ops_channel(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    clock = Clock()
    dead = "json://user:hunter2@127.0.0.1:9/never"
    cfg = setup(
        tmp_path,
        http_server.url("/f.xml"),
        f'dead = "{dead}?cto=1"\nops = "{webhook.apprise_url}"',
        settings='ops = "ops"',
        notify='["dead"]',
    )
    prime(http_server, cfg, clock)
    publish(http_server, 2)
    for _ in range(5):
        run_once(cfg, now=clock)
        clock.advance(minutes=10)
    assert [r["title"] for r in webhook.received] == ["[weightwatch] alerts to dead keep failing"]
    assert "hunter2" not in webhook.received[0]["message"]
    assert "json://user:****@127.0.0.1:9/never" in webhook.received[0]["message"]


def test_an_alert_that_cannot_be_delivered_for_24h_is_marked_failed(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    clock = Clock()
    cfg = setup(tmp_path, http_server.url("/f.xml"), 'hook = "json://127.0.0.1:9/never?cto=1"')
    prime(http_server, cfg, clock)
    publish(http_server, 1)
    run_once(cfg, now=clock)
    clock.advance(hours=25)
    summary = run_once(cfg, now=clock)
    assert summary.delivery.failed == 1 and summary.pending == 0


def test_alerts_command_lists_failures_and_retry_requeues_them(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver, cli: CLI
) -> None:
    clock = Clock()
    cfg = setup(tmp_path, http_server.url("/f.xml"), f'hook = "{webhook.apprise_url}"')
    prime(http_server, cfg, clock)
    publish(http_server, 1)
    webhook.fail_status = 400  # permanent: fails at once
    webhook.fail_next = 1
    run_once(cfg, now=clock)
    conf = str(tmp_path / "config.toml")
    listed = cli("alerts", "--config", conf, "--failed", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 1 and rows[0]["status"] == "failed" and "400" in rows[0]["last_error"]
    retried = cli("alerts", "retry", "--config", conf, "--all-failed")
    assert retried.returncode == 0 and "Requeued 1" in retried.stdout
    run_once(cfg, now=clock)
    assert len(webhook.received) == 1


def test_test_notify_reports_each_url_masked(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver, cli: CLI
) -> None:
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(
        f"""
[settings]
database = "{(tmp_path / "ww.db").as_posix()}"
[channels]
team = ["{webhook.apprise_url}", "json://bob:sekrit@127.0.0.1:9/x?cto=1"]
""",
        encoding="utf-8",
    )
    result = cli("test-notify", "--config", str(cfg_path), "team")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok      team json://127.0.0.1:")
    assert lines[1].startswith("FAILED  team json://bob:****@127.0.0.1:9/x")
    assert "sekrit" not in result.stdout + result.stderr
    assert webhook.received[0]["title"] == "[weightwatch] test message"


def test_one_failing_url_does_not_delay_the_other(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    clock = Clock()
    cfg = setup(
        tmp_path,
        http_server.url("/f.xml"),
        f'hook = ["{webhook.apprise_url}", "json://127.0.0.1:9/never?cto=1"]',
    )
    prime(http_server, cfg, clock)
    publish(http_server, 2)
    run_once(cfg, now=clock)
    assert len(webhook.received) == 2
    storage = Storage(tmp_path / "ww.db")
    statuses = sorted((a.masked_url.split("/")[2], a.status) for a in storage.alerts())
    storage.close()
    assert statuses[-2:] == [("127.0.0.1:9", "pending"), ("127.0.0.1:9", "pending")]
