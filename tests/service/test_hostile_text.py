"""Terminal escapes and bidi overrides in a feed or a page never reach the terminal
(issue 10, item 7): stored text has none, and every command that prints stored text
escapes what is left (rows stored by an older version)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from feedgen import Entry, rss
from servers import HTTPTestServer

ROOT = Path(__file__).resolve().parents[2]
HTML = "text/html; charset=utf-8"
ATTACK = "\x1b]0;PWNED\x07\x1b[8mHIDDEN"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u2066")


def ww(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIGHTWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "weightwatch", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )


def config(tmp_path: Path, sources: dict[str, str]) -> Path:
    lines = [
        "[settings]",
        f'database = "{(tmp_path / "ww.db").as_posix()}"',
        'timeout = "3s"',
        "[channels]",
        'term = "console://"',
    ]
    for name, url in sources.items():
        lines += ["[[source]]", f'name = "{name}"', f'url = "{url}"']
    lines += ["[[rule]]", 'name = "w"', 'query = "open weights"', 'notify = ["term"]']
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stored(tmp_path: Path) -> str:
    conn = sqlite3.connect(tmp_path / "ww.db")
    try:
        rows = conn.execute("SELECT title, text, link FROM items").fetchall()
        rows += conn.execute("SELECT title, '', link FROM hits").fetchall()
        rows += conn.execute("SELECT title, body, '' FROM alerts").fetchall()
    finally:
        conn.close()
    assert rows
    return "\n".join("\n".join(map(str, r)) for r in rows)


def assert_clean(text: str) -> None:
    for char in RAW:
        assert char not in text, f"{char!r} in {text!r}"


@pytest.mark.system
def test_feed_and_page_escapes_are_stripped_before_storage_and_alerts(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    feed = rss(
        [
            Entry(
                title="Acme open weights \u202egnp.exe\u202c \u2066x\u2069 \x9b31m",
                link="https://acme.example/p/1",
                text="The open weights are \u202eout\u202c now.",
            )
        ]
    )
    feed_url = http_server.set("/feed.xml", feed)
    page_before = "<html><body><main><p>Nothing yet on this page, come back later.</p>"
    page_url = http_server.set("/page", page_before + "</main></body></html>", content_type=HTML)
    cfg = config(tmp_path, {"feed": feed_url, "page": page_url})
    first = ww("once", "--backfill", "--config", str(cfg))
    assert first.returncode == 0, first.stderr
    http_server.set(
        "/page",
        page_before
        + f"<p id='x{ATTACK}'>Beta open weights {ATTACK} \u202eevil</p></main></body></html>",
        content_type=HTML,
    )
    second = ww("once", "--config", str(cfg))
    assert second.returncode == 0, second.stderr
    console = first.stdout + second.stdout
    assert "Acme open weights" in console and "Beta open weights" in console
    assert_clean(console)
    assert_clean(stored(tmp_path))
    for command in ("hits", "alerts", "status"):
        out = ww(command, "--config", str(cfg))
        assert out.returncode == 0, out.stderr
        assert_clean(out.stdout)


@pytest.mark.system
def test_hits_alerts_and_status_escape_controls_already_in_the_database(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    feed_url = http_server.set(
        "/feed.xml", rss([Entry(title="Acme open weights", link="https://acme.example/1")])
    )
    cfg = config(tmp_path, {"feed": feed_url})
    assert ww("once", "--backfill", "--config", str(cfg)).returncode == 0
    conn = sqlite3.connect(tmp_path / "ww.db")
    with conn:  # as an older weightwatch, which kept the escapes, would have stored them
        conn.execute("UPDATE hits SET title = ?", (f"Acme {ATTACK} \u202eevil",))
        conn.execute("UPDATE alerts SET title = ?", (f"Acme {ATTACK}",))
        conn.execute("UPDATE sources SET last_error = ?, consecutive_failures = 1", (ATTACK,))
        conn.execute("UPDATE sources SET last_status = 'error'")
    conn.close()
    for command in ("hits", "alerts", "status"):
        out = ww(command, "--config", str(cfg))
        assert out.returncode == 0, out.stderr
        assert_clean(out.stdout)
        if command != "status":
            assert "\\x1b]0;PWNED\\x07" in out.stdout, out.stdout


def test_console_alerts_escape_controls_in_title_and_body(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from weightwatch.delivery import notify

    outcome = notify.send("console://", f"T {ATTACK}", f"line one {ATTACK}\nline two \u202eevil")
    assert outcome.ok
    out = capfd.readouterr().out
    assert_clean(out)
    assert "T \\x1b]0;PWNED\\x07\\x1b[8mHIDDEN" in out
    assert "line one" in out and "\nline two \\u202eevil" in out
