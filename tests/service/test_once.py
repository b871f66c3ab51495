"""`weightwatch once` end to end: real HTTP feeds, real SQLite, real Apprise deliveries."""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from builders import OPENAI_RULE, db_rows, one_source, write_config
from feedgen import Entry, rss
from servers import (
    HTTPTestServer,
    WebhookReceiver,
    blob,
    closed_port,
    endless,
    gzip_zeros,
    trickle,
)
from weightwatch import config as config_mod
from weightwatch.service.once import run_once

OLD = Entry("Quarterly update on robot arms", "https://lab.example/robots", guid="r1")
NEWS = Entry(
    "OpenAI releases weights for gpt-oss-120b",
    "https://lab.example/gpt-oss",
    guid="g1",
    text="OpenAI released weights under Apache 2.0 today.",
)


def test_first_poll_records_items_without_alerting(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    url = http_server.set("/lab.xml", rss([NEWS, OLD]))
    cfg = write_config(
        tmp_path,
        {"lab": url},
        {"hook": [webhook.apprise_url]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
    )
    summary = run_once(cfg)
    assert webhook.received == []
    assert summary.sources[0].primed
    assert db_rows(tmp_path, "SELECT COUNT(*) FROM items") == [(2,)]


def test_new_matching_item_alerts_exactly_once_across_runs(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    http_server.set("/lab.xml", rss([OLD]))
    cfg = write_config(
        tmp_path,
        {"lab": http_server.url("/lab.xml")},
        {"hook": [webhook.apprise_url]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
    )
    run_once(cfg)
    http_server.set("/lab.xml", rss([NEWS, OLD]))
    summary = run_once(cfg)
    assert summary.delivery.sent == 1
    for _ in range(3):
        run_once(cfg)
    assert len(webhook.received) == 1
    alert = webhook.received[0]
    assert "gpt-oss-120b" in alert["title"]
    assert "https://lab.example/gpt-oss" in alert["message"]
    assert "Rule: oa" in alert["message"]
    assert "Source: lab" in alert["message"]


def test_non_matching_and_excluded_items_do_not_alert(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    http_server.set("/n.xml", rss([OLD]))
    cfg = write_config(
        tmp_path,
        {"n": http_server.url("/n.xml")},
        {"hook": [webhook.apprise_url]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
    )
    run_once(cfg)
    ww = Entry("Weight Watchers and OpenAI release weights app", "https://biz.example/ww")
    said = Entry("Chipmaker said to plan new accelerator", "https://biz.example/said")
    http_server.set("/n.xml", rss([ww, said, OLD]))
    run_once(cfg)
    assert webhook.received == []


def test_same_link_from_two_feeds_with_tracking_junk_alerts_once(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    http_server.set("/a.xml", rss([OLD]))
    http_server.set("/b.xml", rss([]))
    cfg = write_config(
        tmp_path,
        {"a": http_server.url("/a.xml"), "b": http_server.url("/b.xml")},
        {"hook": [webhook.apprise_url]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
    )
    run_once(cfg)
    http_server.set("/a.xml", rss([NEWS, OLD]))
    junk = Entry(
        "HN: OpenAI releases weights (gpt-oss)",
        "HTTPS://LAB.example:443/gpt-oss/?utm_source=hn&fbclid=xyz#top",
        guid="hn-77",
    )
    http_server.set("/b.xml", rss([junk]))
    run_once(cfg)
    # Re-served later with a fresh guid and more tracking junk: still the same story.
    again = Entry(junk.title, "https://lab.example/gpt-oss?gclid=abc", guid="hn-78")
    http_server.set("/b.xml", rss([again, junk]))
    run_once(cfg)
    assert len(webhook.received) == 1
    dups = db_rows(tmp_path, "SELECT duplicate_reason FROM hits WHERE duplicate_of IS NOT NULL")
    assert dups == [("same link",), ("same link",)]


def test_near_identical_title_from_another_source_alerts_once(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    http_server.set("/a.xml", rss([]))
    http_server.set("/b.xml", rss([]))
    cfg = write_config(
        tmp_path,
        {"a": http_server.url("/a.xml"), "b": http_server.url("/b.xml")},
        {"hook": [webhook.apprise_url]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
    )
    run_once(cfg)
    http_server.set("/a.xml", rss([NEWS]))
    run_once(cfg)
    wire = Entry(
        "UPDATE 1-OpenAI releases weights for GPT-OSS-120B - Reuters", "https://wire.example/x"
    )
    http_server.set("/b.xml", rss([wire]))
    run_once(cfg)
    assert len(webhook.received) == 1


def test_conditional_get_answered_304_records_nothing_new(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    http_server.set("/a.xml", rss([OLD]))
    cfg = one_source(tmp_path, http_server, webhook)
    run_once(cfg)
    summary = run_once(cfg)
    second = http_server.hits("/a.xml")[1]
    assert second.headers.get("if-none-match")
    assert summary.sources[0].status == "not modified"
    assert summary.sources[0].new_items == 0
    assert db_rows(tmp_path, "SELECT last_http_status FROM sources") == [(304,)]


def test_backfill_alerts_on_items_already_there(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    http_server.set("/a.xml", rss([NEWS, OLD]))
    cfg = one_source(tmp_path, http_server, webhook)
    run_once(cfg, backfill=True)
    run_once(cfg, backfill=True)
    assert len(webhook.received) == 1


def test_rule_added_later_alerts_only_on_items_that_arrive_after_it(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    http_server.set("/a.xml", rss([OLD]))
    rules: list[dict[str, Any]] = [{"name": "robots", "query": "robot arms", "notify": ["hook"]}]
    cfg = write_config(
        tmp_path, {"a": http_server.url("/a.xml")}, {"hook": [webhook.apprise_url]}, rules
    )
    run_once(cfg)
    http_server.set("/a.xml", rss([NEWS, OLD]))
    run_once(cfg)
    assert webhook.received == []
    rules.append({"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]})
    cfg = write_config(
        tmp_path, {"a": http_server.url("/a.xml")}, {"hook": [webhook.apprise_url]}, rules
    )
    run_once(cfg)
    assert webhook.received == []  # NEWS arrived before the rule existed
    later = Entry("OpenAI releases weights for a second model", "https://lab.example/two")
    http_server.set("/a.xml", rss([later, NEWS, OLD]))
    run_once(cfg)
    assert len(webhook.received) == 1


def test_failed_webhook_gets_its_alert_on_the_next_run_and_not_twice(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    http_server.set("/a.xml", rss([OLD]))
    cfg = one_source(tmp_path, http_server, webhook)
    run_once(cfg)
    http_server.set("/a.xml", rss([NEWS, OLD]))
    webhook.fail_next = 1
    summary = run_once(cfg)
    assert summary.delivery.sent == 0 and summary.pending == 1
    assert webhook.received == []
    summary = run_once(cfg)
    assert summary.delivery.sent == 1 and summary.pending == 0
    run_once(cfg)
    assert len(webhook.received) == 1
    assert db_rows(tmp_path, "SELECT status, attempts FROM alerts") == [("sent", 2)]


def test_one_url_failing_does_not_stop_email_and_only_it_is_retried(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver, smtp: Any
) -> None:
    http_server.set("/a.xml", rss([OLD]))
    cfg = write_config(
        tmp_path,
        {"a": http_server.url("/a.xml")},
        {"team": [webhook.apprise_url, smtp.apprise_url()]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["team"]}],
    )
    run_once(cfg)
    http_server.set("/a.xml", rss([NEWS, OLD]))
    webhook.fail_next = 1
    run_once(cfg)
    assert len(smtp.messages) == 1
    assert "gpt-oss-120b" in smtp.messages[0][2]
    assert webhook.received == []
    run_once(cfg)
    assert len(webhook.received) == 1
    assert len(smtp.messages) == 1


def test_two_rules_matching_one_item_send_one_message_per_url(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    http_server.set("/a.xml", rss([OLD]))
    cfg = write_config(
        tmp_path,
        {"a": http_server.url("/a.xml")},
        {"hook": [webhook.apprise_url], "also": [webhook.apprise_url]},
        [
            {"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]},
            {"name": "weights", "any": ["weights"], "notify": ["also", "hook"]},
        ],
    )
    run_once(cfg)
    http_server.set("/a.xml", rss([NEWS, OLD]))
    run_once(cfg)
    assert len(webhook.received) == 1
    assert "Rule: oa" in webhook.received[0]["message"]
    assert "Rule: weights" in webhook.received[0]["message"]


def test_broken_sources_are_recorded_and_the_others_still_alert(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    # Each broken source is its own loopback host, so all are polled alongside the good one.
    bad = [HTTPTestServer(host=f"127.0.0.{n}") for n in range(2, 8)]
    bomb = gzip_zeros(64 << 20)  # 64 MiB of zeros, ~65 KB on the wire
    try:
        sources = {
            "good": http_server.set("/good.xml", rss([OLD])),
            "e500": bad[0].set("/f", b"oops", status=500, content_type="text/plain"),
            "e404": bad[1].set("/f", b"gone", status=404, content_type="text/plain"),
            # An HTML page is watched as a page (kind = "auto"); an empty JavaScript shell
            # has no text to watch.
            "html": bad[2].set(
                "/f",
                b'<html><body><div id="root"></div><script src="/app.js"></script></body></html>',
                content_type="text/html",
            ),
            "endless": bad[3].set("/f", handler=endless()),
            "trickle": bad[4].set("/f", handler=trickle()),
            "bomb": bad[5].set("/f", handler=blob(bomb, headers={"Content-Encoding": "gzip"})),
            "refused": f"http://127.0.0.8:{closed_port()}/feed.xml",
        }
        cfg = write_config(
            tmp_path,
            sources,
            {"hook": [webhook.apprise_url]},
            [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
            settings='max_body = "1MB"',
            timeout="1s",
        )
        run_once(cfg)
        http_server.set("/good.xml", rss([NEWS, OLD]))
        started = time.monotonic()
        summary = run_once(cfg)
        elapsed = time.monotonic() - started
    finally:
        for server in bad:
            server.close()
    status = {o.source: o for o in summary.sources}
    assert status["good"].status == "ok"
    assert len(webhook.received) == 1
    for name in ("e500", "e404", "html", "endless", "trickle", "bomb", "refused"):
        assert status[name].status == "error", name
    assert "500" in status["e500"].error
    assert "404" in status["e404"].error
    assert "JavaScript" in status["html"].error
    assert elapsed < 1 + 2.5  # the fetch deadline is 1 s; all sources polled concurrently
    rows = dict(db_rows(tmp_path, "SELECT name, consecutive_failures FROM sources"))
    assert rows["trickle"] == 2 and rows["good"] == 0
    assert "2 failed" not in summary.render()
    assert "7 failed" in summary.render()


def test_retry_after_skips_the_source_until_then(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    http_server.set("/busy.xml", b"slow down", status=429, headers={"Retry-After": "3600"})
    cfg = write_config(
        tmp_path,
        {"busy": http_server.url("/busy.xml")},
        {"hook": [webhook.apprise_url]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
    )
    run_once(cfg)
    summary = run_once(cfg)
    assert summary.sources[0].status == "waiting"
    assert len(http_server.hits("/busy.xml")) == 1


def test_permanent_redirect_is_remembered(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    http_server.set("/new.xml", rss([OLD]))
    http_server.set("/old.xml", b"", status=301, headers={"Location": "/new.xml"}, etag=False)
    cfg = write_config(
        tmp_path,
        {"a": http_server.url("/old.xml")},
        {"hook": [webhook.apprise_url]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
    )
    run_once(cfg)
    run_once(cfg)
    assert len(http_server.hits("/old.xml")) == 1
    assert len(http_server.hits("/new.xml")) == 2


def test_secrets_in_channel_urls_never_reach_the_output_or_database(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    http_server.set("/a.xml", rss([OLD]))
    secret = "s3cr3t-token-value"
    cfg = write_config(
        tmp_path,
        {"a": http_server.url("/a.xml")},
        {
            "hook": f"json://127.0.0.1:{webhook.port}/hook?+X-Token=${{HOOK_TOKEN}}",
            "down": "json://user:${HOOK_TOKEN}@127.0.0.1:9/nothing-listens",
        },
        [{"name": "oa", "query": "OpenAI", "notify": ["hook", "down"]}],
        env={"HOOK_TOKEN": secret},
    )
    run_once(cfg)
    http_server.set("/a.xml", rss([NEWS, OLD]))
    summary = run_once(cfg)
    assert webhook.requests[-1].headers.get("x-token") == secret  # it was really used
    assert secret not in summary.render()
    assert secret not in config_mod.summary(cfg)
    conn = sqlite3.connect(tmp_path / "ww.db")
    dump = "\n".join(conn.iterdump())
    conn.close()
    assert secret not in dump


@pytest.mark.system  # waits out real time limits (seconds)
def test_once_keeps_host_spacing_between_requests_to_one_host(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    for path in ("/a.xml", "/b.xml", "/c.xml"):
        http_server.set(path, rss([OLD]))
    cfg = write_config(
        tmp_path,
        {name: http_server.url(f"/{name}.xml") for name in ("a", "b", "c")},
        {"hook": [webhook.apprise_url]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
        settings='host_spacing = "1s"',
    )
    run_once(cfg)
    starts = sorted(r.at for r in http_server.requests)
    assert len(starts) == 3
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.95  # the same pause as the daemon keeps, never overlapping
