"""A poll that fetched fine must not vanish (issue 10, item 5): a template that fails on an
item falls back to the default message, and a poll that cannot be stored is recorded as a
failure of its source where ``status`` shows it."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from builders import OPENAI_RULE
from feedgen import Entry, rss
from servers import HTTPTestServer, WebhookReceiver
from weightwatch import config as config_mod
from weightwatch.matching import hits as hits_module
from weightwatch.service.once import run_once
from weightwatch.storage import Storage

OLD = Entry("Quarterly update on robot arms", "https://lab.example/robots", guid="r1")
NO_LINK_1 = Entry("OpenAI releases open-weight model one", "", guid="n1", text="OpenAI open-weight")
NO_LINK_2 = Entry(
    "OpenAI ships another open-weight model", "", guid="n2", text="OpenAI open-weight"
)


def config(tmp_path: Path, feed: str, hook: str, channel_extra: str = "") -> config_mod.Config:
    path = tmp_path / "config.toml"
    path.write_text(
        "\n".join(
            [
                "[settings]",
                f'database = "{(tmp_path / "ww.db").as_posix()}"',
                'timeout = "3s"',
                'dedup_window = "0s"',
                "[channels.hook]",
                f"urls = [{json.dumps(hook)}]",
                channel_extra,
                "[[source]]",
                'name = "lab"',
                f'url = "{feed}"',
                "[[rule]]",
                'name = "oa"',
                f"query = {json.dumps(OPENAI_RULE)}",
                'notify = ["hook"]',
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return config_mod.load(path, env={})


def status_json(tmp_path: Path) -> dict[str, object]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "weightwatch",
            "status",
            "--json",
            "--config",
            str(tmp_path / "config.toml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    source: dict[str, object] = json.loads(done.stdout)["sources"][0]
    return source


@pytest.mark.system
def test_a_template_failing_on_a_linkless_item_sends_the_default_message_and_warns_once(
    tmp_path: Path,
    http_server: HTTPTestServer,
    webhook: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = http_server.set("/lab.xml", rss([OLD]))
    # Passes check (its sample item has a link); fails on an item without one.
    cfg = config(tmp_path, url, webhook.apprise_url, "body = \"{{ link.split('/')[2] }} !\"")
    with caplog.at_level(logging.WARNING, logger="weightwatch"):
        run_once(cfg)
        http_server.set("/lab.xml", rss([NO_LINK_1, OLD]))
        first = run_once(cfg)
        http_server.set("/lab.xml", rss([NO_LINK_2, NO_LINK_1, OLD]))
        second = run_once(cfg)
    assert [s.status for s in first.sources + second.sources] == ["ok", "ok"]
    assert [r["title"] for r in webhook.received] == [
        "[oa] OpenAI releases open-weight model one",
        "[oa] OpenAI ships another open-weight model",
    ]
    assert "Source: lab" in webhook.received[0]["message"]  # the default body
    warnings = [r.getMessage() for r in caplog.records if "template" in r.getMessage()]
    assert len(warnings) == 1
    assert "item n1 of lab" in warnings[0] and "default message was sent" in warnings[0]
    row = status_json(tmp_path)
    assert (row["result"], row["consecutive_failures"]) == ("ok", 0)


@pytest.mark.system
def test_a_poll_that_fails_after_fetching_shows_as_a_failure_of_its_source_in_status(
    tmp_path: Path,
    http_server: HTTPTestServer,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug while deciding (injected: the decider raises) is the source's failure: it is
    recorded, shows in ``status`` and the next poll, once the bug is gone, stores the items
    again. (A database failure is not the source's: tests/service/test_db_faults.py.)"""
    entries = [Entry(f"Item {n}", f"https://lab.example/{n}", guid=f"g{n}") for n in range(20)]
    url = http_server.set("/lab.xml", rss(entries))
    cfg = config(tmp_path, url, webhook.apprise_url)
    storage = Storage(cfg.settings.database)
    try:
        storage.ensure_sources([("lab", url)])

        def broken(*args: object, **kwargs: object) -> object:
            raise RuntimeError("a bug in deciding")

        run_once(cfg, storage=storage)  # the first poll primes the source (nothing decided)
        entries.append(Entry("OpenAI releases open-weight model", "https://lab.example/new"))
        http_server.set("/lab.xml", rss(entries))
        monkeypatch.setattr(hits_module, "decide", broken)
        summary = run_once(cfg, storage=storage)
        assert summary.sources[0].status == "error"
        assert "RuntimeError: a bug in deciding" in summary.sources[0].error
        row = status_json(tmp_path)
        assert row["result"] == "error"
        assert row["consecutive_failures"] == 1
        assert row["last_poll"] is not None

        monkeypatch.undo()
        again = run_once(cfg, storage=storage)
        assert again.sources[0].status == "ok"
        assert storage.counts()["items"] == 21  # fetched again: the failed poll kept no ETag
    finally:
        storage.close()
    row = status_json(tmp_path)
    assert (row["result"], row["consecutive_failures"]) == ("ok", 0)
