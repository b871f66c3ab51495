"""`weightwatch run` as systemd runs it: a real subprocess, real signals, a real notify socket.

Sources poll every 5 s here (the minimum), so each test takes seconds, not minutes.
"""

from __future__ import annotations

import itertools
import json
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

from builders import CLI, db_rows
from daemon_harness import OLD, RULE, daemon_config, news, polled, start, wait_for
from feedgen import Entry, rss
from servers import HTTPTestServer, WebhookReceiver, silent


def last_polls(tmp_path: Path) -> dict[str, str | None]:
    """Each source's last recorded poll: written with the alerts that poll queued, if any."""
    return {name: at for name, at in db_rows(tmp_path, "SELECT name, last_poll FROM sources")}


def open_alerts(tmp_path: Path) -> int:
    """Alerts the daemon may still send (pending or held)."""
    rows = db_rows(tmp_path, "SELECT count(*) FROM alerts WHERE status IN ('pending', 'held')")
    return int(rows[0][0])


def settled(tmp_path: Path, since: dict[str, str | None]) -> bool:
    """Every source has recorded a poll after ``since`` and no alert is left to send."""
    now = last_polls(tmp_path)
    return all(now[name] != at for name, at in since.items()) and open_alerts(tmp_path) == 0


def test_daemon_is_ready_and_alerts_a_new_item_once(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver, daemons: list[Any]
) -> None:
    http_server.set("/lab.xml", rss([OLD]))
    cfg = daemon_config(
        tmp_path,
        {"lab": http_server.url("/lab.xml")},
        webhook.apprise_url,
    )
    d = start(daemons, cfg, tmp_path)
    d.wait_ready()
    wait_for(lambda: polled(http_server, "/lab.xml"), 10, "the first poll")
    published = time.monotonic()
    http_server.set("/lab.xml", rss([news(1), OLD]))
    wait_for(lambda: webhook.received, 5 + 1 + 5 + 3, "the alert")
    latency = time.monotonic() - published
    assert latency < 5 + 1 + 5 + 3  # interval + host spacing + delivery period + slack
    # Several more polls (all 304) and deliveries: nothing is repeated.
    polls = len(http_server.hits("/lab.xml"))
    wait_for(lambda: polled(http_server, "/lab.xml", polls + 2), 15, "two more polls")
    assert len(webhook.received) == 1
    status = d.notify.fields("STATUS")
    assert status and "1 sources" in status[-1][1]
    assert d.stop() == 0
    assert [v for _, v in d.notify.fields("STOPPING")] == ["1"]


def test_sighup_picks_up_an_added_rule_and_source_without_realerting(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver, daemons: list[Any]
) -> None:
    http_server.set("/lab.xml", rss([OLD]))
    http_server.set("/new.xml", rss([Entry("Robots: arms race", "https://new.example/arms")]))
    path = daemon_config(tmp_path, {"lab": http_server.url("/lab.xml")}, webhook.apprise_url)
    d = start(daemons, path, tmp_path)
    d.wait_ready()
    wait_for(lambda: polled(http_server, "/lab.xml"), 10, "the first poll")
    http_server.set("/lab.xml", rss([news(1), OLD]))
    wait_for(lambda: webhook.received, 15, "the first alert")

    daemon_config(
        tmp_path,
        {"lab": http_server.url("/lab.xml"), "new": http_server.url("/new.xml")},
        webhook.apprise_url,
        rules=[("oa", RULE), ("robots", "robot OR robots OR arms")],
    )
    d.signal(signal.SIGHUP)
    wait_for(lambda: d.notify.fields("RELOADING"), 5, "RELOADING=1")
    assert any(
        line.startswith("MONOTONIC_USEC=") for _, m in d.notify.messages for line in m.split("\n")
    )
    wait_for(lambda: len(d.notify.fields("READY")) >= 2, 5, "READY=1 after the reload")
    wait_for(lambda: polled(http_server, "/new.xml"), 10, "the added source's first poll")
    # The added source's backlog is recorded silently; the robot item already on "lab" is old.
    http_server.set(
        "/new.xml",
        rss([Entry("Robot arms learn to fold laundry", "https://new.example/fold")]),
    )
    wait_for(lambda: len(webhook.received) >= 2, 15, "an alert from the added rule")
    # A repeat would be queued by a later poll: wait for one of each source, and for every
    # queued alert to be sent, before asserting there is none.
    before = last_polls(tmp_path)
    wait_for(lambda: settled(tmp_path, before), 20, "a poll of each source, all alerts sent")
    assert db_rows(tmp_path, "SELECT count(*) FROM alerts") == [(2,)]
    assert len(webhook.received) == 2
    assert "robots" in webhook.received[1]["title"]
    assert d.stop() == 0


def test_sighup_with_a_broken_config_keeps_the_old_one_and_logs_why(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver, daemons: list[Any]
) -> None:
    http_server.set("/lab.xml", rss([OLD]))
    path = daemon_config(
        tmp_path,
        {"lab": http_server.url("/lab.xml")},
        webhook.apprise_url,
    )
    d = start(daemons, path, tmp_path)
    d.wait_ready()
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("query = ", "qurey = "), encoding="utf-8")
    d.signal(signal.SIGHUP)
    wait_for(lambda: "rule[0].qurey" in d.log, 5, "the problem in the log")
    assert 'did you mean "query"' in d.log
    assert d.proc.poll() is None
    wait_for(lambda: polled(http_server, "/lab.xml"), 10, "the first poll")
    http_server.set("/lab.xml", rss([news(2), OLD]))
    wait_for(lambda: webhook.received, 15, "an alert under the old config")
    assert d.stop() == 0


def test_failing_source_backs_off_and_recovers(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver, daemons: list[Any]
) -> None:
    http_server.set("/flaky.xml", b"down", status=500, content_type="text/plain")
    path = daemon_config(
        tmp_path,
        {"flaky": http_server.url("/flaky.xml")},
        webhook.apprise_url,
    )
    d = start(daemons, path, tmp_path)
    d.wait_ready()
    wait_for(lambda: polled(http_server, "/flaky.xml", 2), 20, "two failing polls")
    http_server.set("/flaky.xml", rss([OLD]))  # the third poll (after a longer wait) succeeds
    wait_for(lambda: polled(http_server, "/flaky.xml", 4), 30, "recovery and one more poll")
    times = [r.at for r in http_server.hits("/flaky.xml")]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[1] > gaps[0] * 1.6, gaps  # 5 s after the 1st failure, 10 s after the 2nd
    assert gaps[2] < 5 * 1.1 + 1, gaps  # recovered: back to its interval
    row = (
        sqlite3.connect(tmp_path / "ww.db")
        .execute("SELECT consecutive_failures, last_status FROM sources")
        .fetchone()
    )
    assert row[0] == 0 and row[1] in ("ok", "not modified")
    assert d.stop() == 0


def test_hanging_source_does_not_delay_others_and_sigterm_stops_within_10s(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver, daemons: list[Any]
) -> None:
    hang = HTTPTestServer(host="127.0.0.2")
    try:
        hang.set("/hang.xml", handler=silent(limit=60))
        http_server.set("/lab.xml", rss([OLD]))
        path = daemon_config(
            tmp_path,
            {"hang": hang.url("/hang.xml"), "lab": http_server.url("/lab.xml")},
            webhook.apprise_url,
            timeout="60s",  # the hang is cut by SIGTERM, not by the fetch deadline
        )
        d = start(daemons, path, tmp_path)
        d.wait_ready()
        wait_for(lambda: polled(http_server, "/lab.xml", 3), 20, "three polls of the good source")
        assert polled(hang, "/hang.xml")  # in flight, hanging
        started = time.monotonic()
        assert d.stop(timeout=12) == 0
        assert time.monotonic() - started < 10
    finally:
        hang.close()


def test_kill_9_then_restart_loses_no_alert_and_repeats_at_most_one(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver, daemons: list[Any]
) -> None:
    servers = [HTTPTestServer(host=f"127.0.0.{n}") for n in range(2, 8)]
    try:
        urls = {f"s{n}": s.set("/f.xml", rss([OLD])) for n, s in enumerate(servers)}
        path = daemon_config(tmp_path, urls, webhook.apprise_url)
        d = start(daemons, path, tmp_path)
        d.wait_ready()
        wait_for(lambda: all(polled(s, "/f.xml") for s in servers), 10, "first polls")
        for n, s in enumerate(servers):
            s.set("/f.xml", rss([news(k, f"s{n}") for k in range(3)] + [OLD]))
        webhook.delay = 0.4  # deliveries take a while: the kill lands in the middle
        wait_for(lambda: len(webhook.received) >= 3, 30, "some alerts")
        d.proc.kill()
        d.proc.wait()
        webhook.delay = 0.0
        d2 = start(daemons, path, tmp_path)
        d2.wait_ready()
        wait_for(lambda: len({r["title"] for r in webhook.received}) >= 18, 40, "all 18 alerts")
        # A repeat can only come from an alert still open: wait until none is.
        wait_for(lambda: open_alerts(tmp_path) == 0, 20, "every alert sent")
        assert d2.stop() == 0
    finally:
        for s in servers:
            s.close()
    titles = [r["title"] for r in webhook.received]
    assert len(set(titles)) == 18  # nothing lost
    assert len(titles) - len(set(titles)) <= 1  # at most the one in flight at the kill


def test_watchdog_pings_arrive_at_about_half_of_watchdog_usec(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver, daemons: list[Any]
) -> None:
    http_server.set("/lab.xml", rss([OLD]))
    path = daemon_config(
        tmp_path,
        {"lab": http_server.url("/lab.xml")},
        webhook.apprise_url,
    )
    d = start(daemons, path, tmp_path, watchdog_usec=2_000_000)
    d.wait_ready()
    wait_for(lambda: len(d.notify.fields("WATCHDOG")) >= 6, 10, "six watchdog pings")
    times = [t for t, _ in d.notify.fields("WATCHDOG")]
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    median = gaps[len(gaps) // 2]
    assert 0.7 < median < 1.3, gaps
    assert d.stop() == 0


def test_config_error_at_start_exits_78_listing_the_problems(tmp_path: Path, cli: CLI) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[settings]\ninterval = "often"\n[[rule]]\nname = "r"\n', encoding="utf-8")
    result = cli("run", "--config", str(bad), timeout=30)
    assert result.returncode == 78
    assert "settings.interval" in result.stderr
    assert "rule[0]" in result.stderr


def test_status_shows_each_source_while_the_daemon_runs(
    tmp_path: Path,
    http_server: HTTPTestServer,
    webhook: WebhookReceiver,
    daemons: list[Any],
    cli: CLI,
) -> None:
    http_server.set("/lab.xml", rss([OLD]))
    http_server.set("/down.xml", b"no", status=503, content_type="text/plain")
    path = daemon_config(
        tmp_path,
        {"lab": http_server.url("/lab.xml"), "down": http_server.url("/down.xml")},
        webhook.apprise_url,
    )
    d = start(daemons, path, tmp_path)
    d.wait_ready()
    wait_for(
        lambda: polled(http_server, "/down.xml") and polled(http_server, "/lab.xml"), 15, "polls"
    )
    wait_for(lambda: all(last_polls(tmp_path).values()), 10, "both polls recorded")
    out = cli("status", "--config", str(path), "--json", timeout=30)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    rows = {s["name"]: s for s in data["sources"]}
    # A slow machine may have polled it again by now: 304 and a same-bytes 200 are healthy too.
    assert rows["lab"]["result"] in ("ok", "not modified", "unchanged") and rows["lab"]["next_due"]
    assert rows["down"]["result"] == "error" and rows["down"]["consecutive_failures"] >= 1
    human = cli("status", "--config", str(path), timeout=30)
    assert "error 503" in human.stdout
    assert d.stop() == 0


def test_logs_use_journald_priorities_when_stderr_is_the_journal(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver, daemons: list[Any]
) -> None:
    http_server.set("/down.xml", b"no", status=500, content_type="text/plain")
    path = daemon_config(
        tmp_path,
        {"down": http_server.url("/down.xml")},
        webhook.apprise_url,
    )
    d = start(daemons, path, tmp_path, journal=True)
    d.wait_ready()
    wait_for(lambda: "<4>down: failed" in d.log, 10, "a warning line with priority 4")
    assert d.stop() == 0
    lines = [line for line in d.log.splitlines() if line]
    assert lines and all(line.startswith("<") for line in lines), lines
    assert "<6>weightwatch running" in d.log
