"""A feed with hundreds of new matching items at once (issue 10, item 3): each channel URL
gets at most ``max_alerts_per_poll`` alerts one by one plus one message folding the rest;
every match is still stored and listed; another source in the same run is unaffected.
Real loopback feeds and webhook, real SQLite, the real CLI for ``hits``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builders import db_rows, write_config
from feedgen import Entry, rss
from servers import HTTPTestServer, WebhookReceiver
from weightwatch.cli import main
from weightwatch.service.once import run_once

OLD = Entry("Quarterly update on robot arms", "https://old.example/robots", guid="old")


def flood(count: int) -> list[Entry]:
    # distinct lab names: every item is its own story and would alert
    return [
        Entry(f"Lab{n}x publishes model weights", f"https://flood.example/{n}", guid=f"f{n}")
        for n in range(count)
    ]


def test_a_flood_of_200_matches_sends_at_most_cap_plus_one_messages_and_keeps_every_hit(
    tmp_path: Path,
    http_server: HTTPTestServer,
    webhook: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    http_server.set("/flood.xml", rss([OLD]))
    http_server.set("/calm.xml", rss([OLD]))
    cfg = write_config(
        tmp_path,
        {"flood": http_server.url("/flood.xml"), "calm": http_server.url("/calm.xml")},
        {"hook": [webhook.apprise_url]},
        [{"name": "w", "query": "weights", "notify": ["hook"]}],
        settings="max_alerts_per_poll = 20",
    )
    run_once(cfg)  # first poll: recorded silently
    http_server.set("/flood.xml", rss([OLD, *flood(200)]))
    calm = Entry("Small lab quietly posts weights", "https://calm.example/1", guid="c1")
    http_server.set("/calm.xml", rss([OLD, calm]))

    summary = run_once(cfg)

    assert [s.status for s in summary.sources] == ["ok", "ok"]
    titles = [str(m.get("title", "")) for m in webhook.received]
    assert len(titles) <= 20 + 1 + 1  # the flood's cap + its overflow message + calm's alert
    assert sum("Small lab quietly posts weights" in t for t in titles) == 1
    (over,) = [m for m in webhook.received if "more matches from flood" in m.get("title", "")]
    assert over["title"] == "[weightwatch] and 180 more matches from flood"
    assert "Lab20x publishes model weights" in over["message"]
    assert sum("publishes model weights" in t for t in titles) == 20
    assert db_rows(tmp_path, "SELECT COUNT(*) FROM hits WHERE source = 'flood'") == [(200,)]

    assert main(["hits", "--config", str(tmp_path / "config.toml"), "--limit", "1000",
                 "--json"]) == 0  # fmt: skip
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 201
