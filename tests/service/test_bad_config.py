"""A hostile config file on SIGHUP never stops the daemon: it keeps the old config and keeps
alerting (issue 10, item 4); feed credentials never reach status, the log or the database
(item 11)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from daemon_harness import OLD, DaemonProcess, daemon_config, news, polled, start, wait_for
from feedgen import rss
from servers import HTTPTestServer, WebhookReceiver
from weightwatch.cli import main

BAD: dict[str, Callable[[str], str]] = {
    "nested parentheses": lambda good: good.replace(
        'query = "', 'query = "' + "(" * 200, 1
    ).replace('"\nnotify', ")" * 200 + '"\nnotify', 1),
    "a NOT chain": lambda good: good.replace('query = "', 'query = "a ' + "NOT " * 3000, 1),
    "deep TOML": lambda good: good + "x = " + "[" * 10000 + "]" * 10000 + "\n",
    "a failing template": lambda good: good + "title = '{{ 1/0 }}'\n",
    "a huge duration": lambda good: good.replace(
        'interval = "5s"', 'interval = "' + "9" * 400 + 's"'
    ),
    "a file over 1MB": lambda good: good + "#" * (2 * 1024 * 1024) + "\n",
}


def test_sighup_with_hostile_files_keeps_the_daemon_alerting_on_the_old_config(
    tmp_path: Path,
    http_server: HTTPTestServer,
    webhook: WebhookReceiver,
    daemons: list[Any],
) -> None:
    http_server.set("/lab.xml", rss([OLD]))
    path = daemon_config(tmp_path, {"lab": http_server.url("/lab.xml")}, webhook.apprise_url)
    d = start(daemons, path, tmp_path)
    d.wait_ready()
    good = path.read_text(encoding="utf-8")
    for count, (what, make) in enumerate(BAD.items(), start=1):
        bad = make(good)
        assert bad != good, what  # the recipe applies to this config
        path.write_text(bad, encoding="utf-8")
        d.signal(signal.SIGHUP)

        def refused(n: int = count) -> bool:
            return d.log.count("Reload refused") >= n

        wait_for(refused, 10, f"refusal of {what}")
        assert d.proc.poll() is None, what
    assert "Traceback" not in d.log
    wait_for(lambda: polled(http_server, "/lab.xml"), 10, "the first poll")
    http_server.set("/lab.xml", rss([news(1), OLD]))
    wait_for(lambda: webhook.received, 20, "an alert under the old config")
    assert d.stop() == 0


def test_feed_credentials_from_the_environment_appear_nowhere(
    tmp_path: Path,
    http_server: HTTPTestServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FEED_PASS", "hunter2secret")
    monkeypatch.setenv("FEED_TOKEN", "tok3nvalue99")
    http_server.set("/lab.xml", rss([OLD]))
    url = http_server.url("/lab.xml").replace("http://", "http://alice:${FEED_PASS}@")
    path = daemon_config(tmp_path, {"lab": url + "?token=${FEED_TOKEN}"}, "console://")
    assert main(["-v", "once", "-c", str(path)]) == 0
    assert main(["status", "-c", str(path)]) == 0
    assert main(["status", "--json", "-c", str(path)]) == 0
    assert main(["check", "-c", str(path)]) == 0
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert "1 ok" in shown and "127.0.0.1" in shown
    files = [p for p in tmp_path.iterdir() if p.name.startswith("ww.db")]
    stored = b"".join(p.read_bytes() for p in files)
    for secret in ("hunter2secret", "tok3nvalue99"):
        assert secret not in shown
        assert secret.encode() not in stored


@pytest.mark.system
def test_a_daemon_refusing_its_config_says_why_at_journal_error_priority(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[settings]\nintervall = "5m"\n', encoding="utf-8")
    d = DaemonProcess(path, tmp_path, journal=True)
    try:
        assert d.proc.wait(timeout=30) == 78
    finally:
        d.close()
    lines = [line for line in d.log.splitlines() if line.strip()]
    assert any("intervall" in line for line in lines)
    # Every line of the reason is at error priority, so `journalctl -p warning` shows it.
    assert [line for line in lines if not line.startswith("<3>")] == []
