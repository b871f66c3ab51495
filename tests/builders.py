"""Builders shared by the test modules: configs written as a user would write them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from servers import HTTPTestServer, WebhookReceiver
from weightwatch import config as config_mod

ROOT = Path(__file__).resolve().parent.parent

CLI = Callable[..., subprocess.CompletedProcess[str]]  # the `cli` fixture: run_cli below

OPENAI_RULE = (
    'OpenAI AND ("release weights" OR "open-weight" OR "open-source GPT-4")'
    ' AND NOT "Weight Watchers"'
)


def write_config(
    tmp_path: Path,
    sources: dict[str, str],
    channels: dict[str, list[str]],
    rules: list[dict[str, Any]],
    settings: str = "",
    timeout: str = "3s",
) -> config_mod.Config:
    lines = [
        "[settings]",
        f'database = "{(tmp_path / "ww.db").as_posix()}"',
        f'timeout = "{timeout}"',
        # Tests put every source on one loopback host: no politeness pause between them
        # unless the test is about it.
        *([] if "host_spacing" in settings else ['host_spacing = "0s"']),
        settings,
        "[channels]",
    ]
    for name, urls in channels.items():
        lines.append(f"{name} = {json.dumps(urls)}")
    for name, url in sources.items():
        lines += ["[[source]]", f'name = "{name}"', f'url = "{url}"']
    for rule in rules:
        lines.append("[[rule]]")
        for key, value in rule.items():
            lines.append(f"{key} = {json.dumps(value)}")
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config_mod.load(path, env={})


def one_source(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> config_mod.Config:
    """Source "a" at /a.xml, the OpenAI rule, alerts to the webhook."""
    return write_config(
        tmp_path,
        {"a": http_server.url("/a.xml")},
        {"hook": [webhook.apprise_url]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
    )


def db_rows(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(tmp_path / "ww.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def titles(received: list[dict[str, Any]]) -> list[str]:
    return [r["title"] for r in received]


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m weightwatch ARGS`` from the repository root, without WEIGHTWATCH_ variables.

    Tests reach it through the ``cli`` fixture, which makes them ``system`` tests.
    """
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WEIGHTWATCH_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "weightwatch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=ROOT,
    )
