"""A 200 whose body is byte-identical to the source's last one is not parsed again.

Real parts: a loopback HTTP server that sends no validators (or a new ETag for the same
bytes), real SQLite, ``run_once`` and ``weightwatch status`` in-process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builders import OPENAI_RULE, db_rows, write_config
from feedgen import Entry, rss
from servers import HTTPTestServer, WebhookReceiver
from weightwatch.cli import main
from weightwatch.service.once import run_once

pytestmark = pytest.mark.integration

OLD = Entry("Quarterly update on robot arms", "https://lab.example/robots", guid="r1")
NEWS = Entry(
    "OpenAI releases weights for gpt-oss-120b",
    "https://lab.example/gpt-oss",
    guid="g1",
    text="OpenAI released weights under Apache 2.0 today.",
)


def status_of(config_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["status", "--json", "-c", str(config_path)]) == 0
    [row] = json.loads(capsys.readouterr().out)["sources"]
    assert isinstance(row, dict)
    return row


def test_the_same_bytes_without_validators_are_unchanged_and_a_changed_body_is_parsed(
    tmp_path: Path,
    http_server: HTTPTestServer,
    webhook: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = http_server.set("/lab.xml", rss([OLD]), etag=False)  # no ETag, no Last-Modified
    cfg = write_config(
        tmp_path,
        {"lab": url},
        {"hook": [webhook.apprise_url]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
    )
    assert cfg.path is not None
    first = run_once(cfg)
    assert [o.status for o in first.sources] == ["ok"] and first.unchanged == 0

    second = run_once(cfg)
    assert [o.status for o in second.sources] == ["unchanged"]
    assert second.unchanged == 1
    assert "1 sources: 1 ok (0 not modified, 1 unchanged), 0 failed." in second.render()
    assert len(http_server.hits("/lab.xml")) == 2  # fetched both times, with a 200
    row = status_of(cfg.path, capsys)
    assert (row["result"], row["unchanged_polls"]) == ("unchanged", 1)
    assert row["last_unchanged"] is not None
    assert main(["status", "-c", str(cfg.path)]) == 0
    assert "Unchanged 200s (the same body again, not parsed): 1 poll(s) of 1 source(s)" in (
        capsys.readouterr().out
    )

    http_server.set("/lab.xml", rss([NEWS, OLD]), etag=False)
    third = run_once(cfg)
    assert [(o.status, o.new_items, o.hits) for o in third.sources] == [("ok", 1, 1)]
    assert [m["title"] for m in webhook.received] == [f"[oa] {NEWS.title}"]
    row = status_of(cfg.path, capsys)
    assert (row["result"], row["unchanged_polls"]) == ("ok", 1)

    fourth = run_once(cfg)  # the new body, again
    assert [o.status for o in fourth.sources] == ["unchanged"]
    assert db_rows(tmp_path, "SELECT unchanged_polls, items_total FROM sources") == [(2, 2)]


def test_a_new_etag_on_the_same_bytes_is_kept_and_the_body_not_parsed(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    body = rss([OLD])
    url = http_server.set("/lab.xml", body, etag=False, headers={"ETag": '"v1"'})
    cfg = write_config(
        tmp_path,
        {"lab": url},
        {"hook": [webhook.apprise_url]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
    )
    run_once(cfg)
    http_server.set("/lab.xml", body, etag=False, headers={"ETag": '"v2"'})
    again = run_once(cfg)
    assert [o.status for o in again.sources] == ["unchanged"]
    assert db_rows(tmp_path, "SELECT etag, last_status FROM sources") == [('"v2"', "unchanged")]
    run_once(cfg)
    assert http_server.hits("/lab.xml")[-1].headers.get("if-none-match") == '"v2"'
