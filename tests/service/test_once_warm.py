"""A warm ``once`` (every source answers 304) does only what a 304 needs: its bookkeeping
is committed once for the whole cycle, and it loads neither the matcher, the templates,
the renderer, the feed and page parsers nor Apprise.

Real parts: a loopback HTTP server answering If-None-Match with 304, real SQLite, and for
what a cycle imports a fresh interpreter running ``weightwatch.cli.main`` (``system``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from builders import OPENAI_RULE, config_file
from feedgen import Entry, rss
from servers import HTTPTestServer
from weightwatch import config as config_mod
from weightwatch.config.model import Source
from weightwatch.service.once import run_once
from weightwatch.service.poll import Bookkeeping, Prepared
from weightwatch.storage import Storage
from weightwatch.types import NewAlert, PageBlocks, SourceState, SourceUpdate

OLD = Entry("Quarterly update on robot arms", "https://lab.example/robots", guid="r1")
NEWS = Entry(
    "OpenAI releases weights for gpt-oss-120b",
    "https://lab.example/gpt-oss",
    guid="g1",
    text="OpenAI released weights under Apache 2.0 today.",
)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sources_config(tmp_path: Path, server: HTTPTestServer, n: int) -> Path:
    """``n`` feeds on the loopback server; alerts go to ``console://`` (standard output):
    checking any other channel URL loads Apprise's core with its plugin (``notify``)."""
    tmp_path.mkdir(exist_ok=True)
    for i in range(n):
        server.set(f"/f{i}.xml", rss([OLD]))
    return config_file(
        tmp_path,
        {f"s{i}": server.url(f"/f{i}.xml") for i in range(n)},
        {"terminal": ["console://"]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["terminal"]}],
    )


def warm_commits(tmp_path: Path, server: HTTPTestServer, n: int) -> int:
    """The COMMITs of the second cycle over ``n`` sources (every answer a 304)."""
    config = config_mod.load(sources_config(tmp_path, server, n), env={})
    run_once(config)
    storage = Storage(config.settings.database)
    commits: list[str] = []
    storage.conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    try:
        summary = run_once(config, storage=storage, now=lambda: NOW)
    finally:
        storage.conn.set_trace_callback(None)
    try:
        assert [o.status for o in summary.sources] == ["not modified"] * n
        rows = storage._rows("SELECT last_poll, last_status, last_http_status FROM sources")
        assert (
            rows
            == [
                {
                    "last_poll": NOW.isoformat(),
                    "last_status": "not modified",
                    "last_http_status": 304,
                }
            ]
            * n
        )
    finally:
        storage.close()
    return len(commits)


@pytest.mark.integration
def test_a_warm_cycle_commits_the_same_number_of_times_for_3_sources_as_for_12(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    few = warm_commits(tmp_path / "few", http_server, 3)
    many = warm_commits(tmp_path / "many", http_server, 12)
    assert few == many
    assert many < 12


# -------------------------------------------------------------------- what is kept back

SOURCE = Source(name="a", url="https://a.example/f.xml", interval=900.0)
STATE = SourceState(name="a", url=SOURCE.url, primed=True)
UPDATE = SourceUpdate(last_poll=NOW, last_status="not modified", last_http_status=304)
NOTICE = NewAlert("ops", "k", "json://x/", "Source a recovered", "b", kind="health")


def prepared(status: str, **kw: object) -> Prepared:
    return Prepared(SOURCE, STATE, UPDATE, 0.1, status, b"s" * 16, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("poll", "kept"),
    [
        pytest.param(prepared("not modified"), True, id="a 304"),
        pytest.param(prepared("unchanged"), True, id="an unchanged body"),
        pytest.param(prepared("not modified", notices=[NOTICE]), False, id="a 304 with a notice"),
        pytest.param(
            prepared("not modified", page_blocks=PageBlocks(None, NOW)), False, id="a page's 304"
        ),
        pytest.param(prepared("ok"), False, id="a 200"),
        pytest.param(prepared("error", error="boom"), False, id="a failure"),
    ],
)
def test_only_polls_that_report_nothing_wait_for_the_cycles_one_commit(
    poll: Prepared, kept: bool
) -> None:
    bookkeeping = Bookkeeping()
    outcome = bookkeeping.take(poll)
    assert (outcome is not None, len(bookkeeping)) == (kept, int(kept))
    if outcome is not None:
        assert (outcome.source, outcome.status) == ("a", poll.status)


# -------------------------------------------------------------------- what is imported

# Loaded only for a 200, a page, a hit or an alert to send.
HEAVY = (
    "apprise",
    "jinja2",
    "feedparser",
    "selectolax",
    "sqlite_utils",
    "weightwatch.matching.hits",
    "weightwatch.matching.story",
    "weightwatch.delivery.templates",
    "weightwatch.delivery.render",
    "weightwatch.sources.feeds",
    "weightwatch.sources.page",
    "weightwatch.sources.pagediff",
)

DRIVER = f"""
import json, sys
from weightwatch.cli import main
code = main(["once", "--config", sys.argv[1]])
print(json.dumps({{"code": code, "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


def once_loads(config: Path) -> tuple[list[str], str]:
    """The HEAVY modules a fresh interpreter has loaded after ``weightwatch once``, and
    what it printed."""
    # Without coverage's subprocess hook: coverage itself imports sqlite3.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COVERAGE_", "WEIGHTWATCH_"))}
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stdout
    loaded: list[str] = result["loaded"]
    return loaded, done.stdout


@pytest.mark.system
def test_a_warm_once_over_304s_loads_no_parser_matcher_renderer_or_apprise(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    path = sources_config(tmp_path, http_server, 3)
    loaded, _ = once_loads(path)
    assert "feedparser" in loaded  # the first cycle: every answer a 200
    loaded, out = once_loads(path)
    assert "3 sources: 3 ok (3 not modified), 0 failed." in out
    assert loaded == []
    # The same probe sees them when there is news: a 200 with a hit, alerted and sent.
    http_server.set("/f1.xml", rss([NEWS, OLD]))
    loaded, out = once_loads(path)
    assert f"[oa] {NEWS.title}" in out
    assert set(loaded) >= {
        "apprise",
        "jinja2",
        "feedparser",
        "weightwatch.matching.hits",
        "weightwatch.delivery.render",
    }
