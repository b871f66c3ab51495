"""No secret reaches the log, whichever library wrote the line (issue 10, item 8).

A channel endpoint that answers with broken headers makes urllib3 log
``Failed to parse headers (url=...)`` at WARNING with the full URL, path token included.
These tests run the real command as a subprocess against a real loopback endpoint and read
its stderr.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from servers import HTTPTestServer
from weightwatch.service import systemd

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-9f3c2e7a5b1d"


def broken_headers(h: BaseHTTPRequestHandler) -> None:
    """A 200 whose header block holds a line without a colon (urllib3 warns about it)."""
    h.close_connection = True
    h.wfile.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"this line is not a header\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    h.wfile.flush()


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("WEIGHTWATCH_")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "weightwatch", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full,
        cwd=ROOT,
    )


@pytest.mark.system
def test_urllib3_header_warning_for_a_channel_shows_no_env_token(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    http_server.set(f"/hook/{TOKEN}", handler=broken_headers)
    config = tmp_path / "config.toml"
    config.write_text(
        "[settings]\n"
        f'database = "{(tmp_path / "ww.db").as_posix()}"\n'
        "[channels]\n"
        f'hook = ["json://127.0.0.1:{http_server.port}/hook/${{HOOK_TOKEN}}"]\n'
        "[[source]]\n"
        'name = "a"\n'
        'url = "http://127.0.0.1:1/a.xml"\n'
        "[[rule]]\n"
        'name = "r"\n'
        'query = "x"\n'
        'notify = ["hook"]\n',
        encoding="utf-8",
    )
    result = run("test-notify", "--config", str(config), env={"HOOK_TOKEN": TOKEN})
    assert http_server.hits(f"/hook/{TOKEN}"), "the channel was never called"
    # The library did warn (otherwise this test proves nothing) ...
    assert "Failed to parse headers" in result.stderr, result.stderr
    # ... and the token is gone from everything the process wrote.
    assert TOKEN not in result.stderr
    assert TOKEN not in result.stdout
    assert "/hook/****" in result.stderr


def test_every_root_handler_scrubs_secrets_passwords_and_query_tokens() -> None:
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        systemd.setup_logging()
        systemd.register_secrets(["s3cr3t-value"])
        handler = root.handlers[0]
        record = logging.LogRecord(
            "urllib3.connectionpool",
            logging.WARNING,
            __file__,
            1,
            "GET %s failed: %s",
            (
                "https://user:hunter2@example.org/a?token=abc123&page=2",
                "s3cr3t-value rejected",
            ),
            None,
        )
        line = handler.format(record)
        assert "hunter2" not in line and "abc123" not in line and "s3cr3t-value" not in line
        assert "https://user:****@example.org/a?token=****&page=2" in line
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
