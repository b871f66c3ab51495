"""A page ``ignore`` pattern can never freeze the process (issue 10, item 2).

``/(a+)+$/`` over 30 "a"s and a "!" froze the daemon for minutes with stdlib ``re`` (no
timeout, the GIL held, SIGTERM ignored). Patterns now run under the ``regex`` module with a
time limit: a pattern that runs away fails that source's poll with a message naming it, and
the other sources poll as usual.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from pathlib import Path

import pytest

from feedgen import Entry, rss
from servers import HTTPTestServer
from weightwatch import config as config_mod
from weightwatch.errors import ParseError
from weightwatch.service.once import run_once
from weightwatch.sources import page
from weightwatch.types import PageResult

HTML = "text/html; charset=utf-8"
EVIL_TEXT = "a" * 30 + "!"


def page_with(text: str) -> str:
    return f"<html><body><main><p>Model list</p><p>{text}</p></main></body></html>"


def test_the_pattern_that_froze_stdlib_re_now_finishes_at_once() -> None:
    # Run in a thread: with stdlib re this would hold the GIL for minutes.
    result: list[object] = []
    worker = threading.Thread(
        target=lambda: result.append(
            page.extract(
                page_with(EVIL_TEXT).encode(), url="http://x/", ignore=["/(a+)+$/"], source="p"
            )
        ),
        daemon=True,
    )
    started = time.monotonic()
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "the ignore pattern froze the extraction"
    assert time.monotonic() - started < 5
    assert result and isinstance(result[0], PageResult)


@pytest.mark.system  # waits out real time limits (seconds)
def test_a_runaway_ignore_pattern_is_a_clear_error_naming_it_within_seconds() -> None:
    started = time.monotonic()
    with pytest.raises(ParseError) as caught:
        page.extract(
            page_with("a" * 40 + "!").encode(),
            url="http://x/",
            ignore=[".ads", "/(a|aa)+$/"],
            source="p",
        )
    assert time.monotonic() - started < page.IGNORE_TIME_LIMIT + 10  # minutes before
    message = str(caught.value)
    assert '"/(a|aa)+$/"' in message
    assert "ignore pattern" in message and "took longer than" in message


@pytest.mark.system  # waits out real time limits (seconds)
def test_a_runaway_pattern_fails_only_its_own_source_and_the_others_still_poll(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    bad = http_server.set("/bad", page_with("a" * 40 + "!"), content_type=HTML)
    good = http_server.set(
        "/feed.xml", rss([Entry(title="Acme open weights", link="https://a.example/1")])
    )
    lines = [
        "[settings]",
        f'database = "{(tmp_path / "ww.db").as_posix()}"',
        'timeout = "3s"',
        "[channels]",
        'term = "console://"',
        "[[source]]",
        'name = "bad"',
        f'url = "{bad}"',
        f"ignore = {json.dumps(['/b+$/'])}",
        "[[source]]",
        'name = "good"',
        f'url = "{good}"',
        "[[rule]]",
        'name = "w"',
        'query = "open weights"',
        'notify = ["term"]',
    ]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = config_mod.load(path, env={})
    # `check` now refuses /(a|aa)+$/ (it probes patterns); the run-time budget is the defence
    # for any pattern that slips past the probe, so put it in after loading.
    bad_source = dataclasses.replace(loaded.sources[0], ignore=("/(a|aa)+$/",))
    cfg = dataclasses.replace(loaded, sources=(bad_source, *loaded.sources[1:]))
    started = time.monotonic()
    summary = run_once(cfg)
    assert time.monotonic() - started < page.IGNORE_TIME_LIMIT + 10
    outcomes = {s.source: s for s in summary.sources}
    assert outcomes["good"].status == "ok", outcomes["good"]
    assert outcomes["bad"].status == "error"
    assert "/(a|aa)+$/" in outcomes["bad"].error
