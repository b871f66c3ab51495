"""Adaptive polling in the running daemon (``sources.schedule.plan`` via ``scheduler.Adaptive``):
a busy feed is polled more often than a quiet one within the bounds, a source's own interval
is a promise, and ``status`` says each source's interval and why."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from builders import CLI, config_file, db_rows
from daemon_harness import RULE, start, wait_for
from feedgen import Entry, rss
from servers import HTTPTestServer, WebhookReceiver

BUDGET, LOW, HIGH, OWN = 9.0, 5.0, 20.0, 5.0
WATCH = 30.0  # seconds of polling compared  # settings.interval / min / max, own interval
SLACK = 2.0  # a poll's own time and the 1 s host gate (all sources share one host)


def feed(count: int, every: timedelta, name: str) -> bytes:
    """``count`` items ``every`` apart, the newest published now."""
    now = datetime.now(UTC)
    return rss(
        [
            Entry(f"{name} item {k}", f"https://{name}.example/{k}", published=now - every * k)
            for k in range(count)
        ]
    )


def gaps(server: HTTPTestServer, path: str) -> list[float]:
    at = [r.at for r in server.hits(path)]
    return [b - a for a, b in itertools.pairwise(at)]


@pytest.mark.system
def test_a_busy_feed_is_polled_more_often_than_a_quiet_one_and_an_own_interval_is_kept(
    tmp_path: Path,
    http_server: HTTPTestServer,
    webhook: WebhookReceiver,
    daemons: list[Any],
    cli: CLI,
) -> None:
    http_server.set("/busy.xml", feed(20, timedelta(minutes=1), "busy"))
    weekly = timedelta(days=7, hours=5, minutes=17)  # at no one hour of the day
    http_server.set("/quiet.xml", feed(20, weekly, "quiet"))
    http_server.set("/own.xml", feed(20, weekly, "own"))
    path = config_file(
        tmp_path,
        [
            {"name": "busy", "url": http_server.url("/busy.xml")},
            {"name": "quiet", "url": http_server.url("/quiet.xml")},
            {"name": "own", "url": http_server.url("/own.xml"), "interval": f"{OWN:g}s"},
        ],
        {"hook": webhook.apprise_url},
        [{"name": "oa", "query": RULE, "notify": ["hook"]}],
        f'interval = "{BUDGET:g}s"\nmin_interval = "{LOW:g}s"\nmax_interval = "{HIGH:g}s"',
        host_spacing=None,
        name="c.toml",
    )
    d = start(daemons, path, tmp_path)
    d.wait_ready()
    wait_for(lambda: http_server.hits("/busy.xml"), BUDGET + 10, "the first poll of busy")
    since = http_server.hits("/busy.xml")[0].at
    wait_for(lambda: time.monotonic() > since + WATCH, WATCH + 5, "the watch")
    busy = len([r for r in http_server.hits("/busy.xml") if r.at > since])
    quiet = len([r for r in http_server.hits("/quiet.xml") if r.at > since])
    assert busy >= 2 * max(quiet, 1), (busy, quiet)
    assert all(LOW - 1 <= g <= HIGH + 2 + SLACK for g in gaps(http_server, "/busy.xml"))
    assert all(LOW - 1 <= g <= HIGH + 2 + SLACK for g in gaps(http_server, "/quiet.xml"))
    own = gaps(http_server, "/own.xml")
    assert len(own) >= 3 and max(own) <= OWN + SLACK, own
    # Fewer requests than the budget: two adaptive sources, each BUDGET apart on average.
    assert busy + quiet <= 2 * (WATCH / BUDGET) + 2

    rows = dict(db_rows(tmp_path, "SELECT name, interval_reason FROM sources"))
    assert "adaptive" in rows["busy"] and "max_interval" in rows["quiet"]
    assert rows["own"] == "its own interval"
    times = dict(db_rows(tmp_path, "SELECT name, item_times FROM sources"))
    assert len(json.loads(times["busy"])) == 20  # survives a restart
    out = cli("status", "--config", str(path), timeout=30)
    assert out.returncode == 0, out.stderr
    assert "its own interval" in out.stdout and "max_interval" in out.stdout
    assert d.stop() == 0
