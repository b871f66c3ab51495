"""Time to phone in the running daemon: an alert goes out within seconds of the poll that
first saw its item, not at the source's next poll or the next interval (issue 15)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from builders import CLI, config_file
from daemon_harness import OLD, RULE, news, start, wait_for
from feedgen import rss
from servers import HTTPTestServer, WebhookReceiver
from weightwatch.sources import schedule

INTERVAL = 600.0  # settings.interval: the next poll of the source is 10 minutes away
BOUND = 30.0  # seen → Apprise accepted: delivery runs every 5 s; generous for a loaded machine
FIRST = 1.0  # the source's name is chosen so that its first poll comes this soon


def early_name(interval: float) -> str:
    """A source name whose first poll after a start (``schedule.spread``) is < FIRST s."""
    return next(
        name
        for name in (f"lab-{k}" for k in range(100_000))
        if schedule.spread(name, interval) < FIRST
    )


@pytest.mark.system
@pytest.mark.parametrize("policy", ["adaptive", "fixed"])
def test_an_alert_arrives_within_30_s_of_the_poll_that_saw_its_item(
    policy: str,
    tmp_path: Path,
    http_server: HTTPTestServer,
    webhook: WebhookReceiver,
    daemons: list[Any],
    cli: CLI,
) -> None:
    http_server.set("/lab.xml", rss([OLD]))
    name = early_name(INTERVAL)
    path = config_file(
        tmp_path,
        [{"name": name, "url": http_server.url("/lab.xml")}],
        {"hook": webhook.apprise_url},
        [{"name": "oa", "query": RULE, "notify": ["hook"]}],
        f'interval = "{INTERVAL:g}s"\nschedule = "{policy}"',
        host_spacing=None,
        name="c.toml",
    )
    primed = cli("once", "--config", str(path), timeout=60)  # the first poll: silent
    assert primed.returncode == 0, primed.stderr
    assert not webhook.received
    http_server.set("/lab.xml", rss([news(1), OLD]))
    before = len(http_server.hits("/lab.xml"))

    d = start(daemons, path, tmp_path)
    d.wait_ready(timeout=30)
    wait_for(lambda: len(http_server.hits("/lab.xml")) > before, FIRST + 30, "the daemon's poll")
    seen = http_server.hits("/lab.xml")[before].at
    wait_for(lambda: webhook.hits("/hook"), BOUND + 30, "the alert")
    accepted = webhook.hits("/hook")[0].at

    assert accepted - seen < BOUND, f"{accepted - seen:.1f} s from the poll to the alert"
    assert len(http_server.hits("/lab.xml")) == before + 1  # no later poll brought it
    assert "model number 1" in webhook.received[0]["title"]
    assert d.stop() == 0
