"""The related-story hint end to end: two feeds on a loopback server, `weightwatch once`,
real SQLite and real Apprise deliveries to a webhook receiver. A second outlet's report
that comes close to the first story without joining it alerts with the hint, and
`weightwatch hits` shows it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from builders import db_rows, write_config
from feedgen import Entry, rss
from servers import HTTPTestServer, WebhookReceiver
from weightwatch import cli
from weightwatch.config.model import Config
from weightwatch.service.once import run_once

pytestmark = pytest.mark.integration

FIRST = Entry(
    "OpenAI launches two open AI reasoning models",
    "https://news.example/openai-open-models",
    guid="n1",
)
SECOND = Entry(
    "OpenAI releases its first open-weight reasoning models since GPT-2",
    "https://tech.example/openai-first-open-weight",
    guid="t1",
)


def _two_reports(tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver) -> Config:
    """FIRST reported by "news", then SECOND by "tech", each in its own `once` run (the
    first story is read back from the database), both alerting one rule to the webhook."""
    http_server.set("/news.xml", rss([]))
    http_server.set("/tech.xml", rss([]))
    cfg = write_config(
        tmp_path,
        {"news": http_server.url("/news.xml"), "tech": http_server.url("/tech.xml")},
        {"hook": [webhook.apprise_url]},
        [{"name": "oa", "query": "reasoning", "notify": ["hook"]}],
    )
    run_once(cfg)  # first polls: recorded silently
    http_server.set("/news.xml", rss([FIRST]))
    run_once(cfg)
    http_server.set("/tech.xml", rss([SECOND]))
    run_once(cfg)  # a new run: the first story is read back from the database
    return cfg


def test_a_report_close_to_an_earlier_story_alerts_with_the_hint_and_hits_shows_it(
    tmp_path: Path,
    http_server: HTTPTestServer,
    webhook: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = _two_reports(tmp_path, http_server, webhook)

    first, second = webhook.received
    assert "Possibly the same story as" not in first["message"]
    hint = re.search(
        r"Possibly the same story as: (.*), alerted (\d{4}-\d\d-\d\d \d\d:\d\d UTC) from (\w+)",
        second["message"],
    )
    assert hint is not None, second["message"]
    assert (hint[1], hint[3]) == (FIRST.title, "news")
    assert second["message"].splitlines()[:3] == [SECOND.title, SECOND.link, hint[0]]
    # Two stories (no join), the second keeps its hint.
    assert db_rows(
        tmp_path, "SELECT source, duplicate_of, related_title, related_source FROM hits ORDER BY id"
    ) == [("news", None, None, None), ("tech", None, FIRST.title, "news")]

    assert cli.main(["hits", "--config", str(cfg.path)]) == 0
    out = capsys.readouterr().out
    assert f"    ~ possibly the same story as: {FIRST.title}\n" in out
    assert "      alerted 20" in out and " from news\n" in out
    assert cli.main(["hits", "--config", str(cfg.path), "--json"]) == 0
    stories = json.loads(capsys.readouterr().out)
    tech = next(s for s in stories if s["source"] == "tech")
    assert tech["related"]["title"] == FIRST.title
    assert tech["related"]["link"] == FIRST.link
    assert next(s for s in stories if s["source"] == "news")["related"] is None


def test_explain_shows_the_hint_its_alert_carried(
    tmp_path: Path,
    http_server: HTTPTestServer,
    webhook: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = _two_reports(tmp_path, http_server, webhook)
    alerted = re.search(r"Possibly the same story as: .*", webhook.received[1]["message"])
    assert alerted is not None

    assert cli.main(["explain", "--config", str(cfg.path), "-r", "oa", "--item", SECOND.link]) == 0
    out = capsys.readouterr().out
    assert "the first report of its story (it alerted)" in out
    assert f"\n  {alerted[0]}\n" in out  # the very line of the alert
    # The first story came close to nothing: no hint.
    assert cli.main(["explain", "--config", str(cfg.path), "-r", "oa", "--item", FIRST.link]) == 0
    assert "Possibly the same story" not in capsys.readouterr().out
