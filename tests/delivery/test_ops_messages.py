"""What the ops channel hears about the channels: "keeps failing" once per outage, "work
again" once after it, and the alerts a delivery pass gave up on in one message.

Real SQLite files, real Apprise json:// posts to two webhook receivers (the channel and
the ops channel); ``run_once`` opens the database afresh each time, as a restart would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from delivery_builders import Clock, prime, publish, setup
from servers import HTTPTestServer, WebhookReceiver
from weightwatch.service.once import run_once

pytestmark = pytest.mark.integration


def ops_titles(ops: WebhookReceiver) -> list[str]:
    return [r["title"] for r in ops.received]


def test_an_outage_gives_one_failing_and_one_working_message_across_restarts(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    clock = Clock()
    hook = WebhookReceiver()
    try:
        cfg = setup(
            tmp_path,
            http_server.url("/f.xml"),
            f'hook = "{hook.apprise_url}"\nops = "{webhook.apprise_url}"',
            settings='ops = "ops"\nops_failing_after = 3',
        )
        prime(http_server, cfg, clock)
        hook.fail_next = 1  # one failure, then a success: nothing to tell
        publish(http_server, 1)
        run_once(cfg, now=clock)
        run_once(cfg, now=clock)
        assert len(hook.received) == 1 and ops_titles(webhook) == []

        hook.fail_next = 10_000  # down
        publish(http_server, 3)
        for _ in range(4):  # 2 new alerts × 4 runs: 8 failures in a row, each run a restart
            clock.advance(minutes=1)
            run_once(cfg, now=clock)
        assert ops_titles(webhook) == ["[weightwatch] alerts to hook keep failing"]
        assert "3 attempts in a row" in webhook.received[0]["message"]

        hook.fail_next = 0  # back
        for _ in range(2):
            clock.advance(minutes=1)
            run_once(cfg, now=clock)
        assert len(hook.received) == 3
        assert ops_titles(webhook) == [
            "[weightwatch] alerts to hook keep failing",
            "[weightwatch] alerts to hook work again",
        ]
        assert "after 8 failed attempts in a row" in webhook.received[1]["message"]
    finally:
        hook.close()


def test_a_run_of_failures_lasting_ops_failing_for_is_failing_from_its_5th_failure(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    clock = Clock()
    cfg = setup(
        tmp_path,
        http_server.url("/f.xml"),
        f'hook = "json://127.0.0.1:9/never?cto=1"\nops = "{webhook.apprise_url}"',
        settings='ops = "ops"\nops_failing_for = "10m"',
    )
    prime(http_server, cfg, clock)
    publish(http_server, 1)
    for _ in range(4):  # 4 failures over 3 minutes (once ignores the backoff)
        run_once(cfg, now=clock)
        clock.advance(minutes=1)
    clock.advance(minutes=5)
    assert ops_titles(webhook) == []
    run_once(cfg, now=clock)  # the 5th, 9 minutes after the first
    assert ops_titles(webhook) == []
    clock.advance(minutes=1)
    run_once(cfg, now=clock)  # the 6th, 10 minutes after the first
    assert ops_titles(webhook) == ["[weightwatch] alerts to hook keep failing"]


def test_alerts_given_up_on_in_one_pass_are_one_ops_message(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    clock = Clock()
    cfg = setup(
        tmp_path,
        http_server.url("/f.xml"),
        f'hook = "json://127.0.0.1:9/never?cto=1"\nops = "{webhook.apprise_url}"',
        settings='ops = "ops"',
    )
    prime(http_server, cfg, clock)
    publish(http_server, 3)
    run_once(cfg, now=clock)  # 3 failures at one moment: not yet failing
    clock.advance(hours=25)
    summary = run_once(cfg, now=clock)
    assert summary.delivery.failed == 3
    assert ops_titles(webhook) == ["[weightwatch] 3 alerts to hook expired undelivered"]
    body = webhook.received[0]["message"]
    assert "json://127.0.0.1:9/never" in body
    assert all(f"Lab {n} releases open weights for model {n}" in body for n in (1, 2, 3))
    run_once(cfg, now=clock)
    assert len(webhook.received) == 1
