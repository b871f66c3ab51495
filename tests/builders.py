"""Builders shared by the test modules: configs written as a user would write them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
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


def config_toml(
    tmp_path: Path,
    sources: Mapping[str, str] | Sequence[Mapping[str, Any]],
    channels: Mapping[str, str | list[str]] | str,
    rules: Sequence[Mapping[str, Any] | str],
    settings: str = "",
    *,
    timeout: str = "3s",
    host_spacing: str | None = "0s",
) -> str:
    """A config file's text, as a user would write it; the database is tmp_path/ww.db.

    ``sources``: name -> URL, or one mapping of keys per source. ``channels``: name -> URL(s),
    or raw TOML (with its own ``[channels]`` or ``[channels.NAME]`` headers). ``rules``: one
    mapping of keys per rule, or a rule's raw TOML lines. ``settings``: raw TOML lines.
    Tests put every source on one loopback host: no politeness pause between them
    (``host_spacing``) unless the test is about it or passes None for the default.
    """
    lines = [
        "[settings]",
        f'database = "{(tmp_path / "ww.db").as_posix()}"',
        f'timeout = "{timeout}"',
        *(
            []
            if host_spacing is None or "host_spacing" in settings
            else [f'host_spacing = "{host_spacing}"']
        ),
        settings,
    ]
    if isinstance(channels, str):
        lines.append(channels)
    else:
        lines.append("[channels]")
        lines += [f"{name} = {json.dumps(urls)}" for name, urls in channels.items()]
    if isinstance(sources, Mapping):
        sources = [{"name": name, "url": url} for name, url in sources.items()]
    for source in sources:
        lines.append("[[source]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in source.items()]
    for rule in rules:
        lines.append("[[rule]]")
        if isinstance(rule, str):
            lines.append(rule)
        else:
            lines += [f"{key} = {json.dumps(value)}" for key, value in rule.items()]
    return "\n".join(lines) + "\n"


def config_file(
    tmp_path: Path,
    sources: Mapping[str, str] | Sequence[Mapping[str, Any]],
    channels: Mapping[str, str | list[str]] | str,
    rules: Sequence[Mapping[str, Any] | str],
    settings: str = "",
    *,
    timeout: str = "3s",
    host_spacing: str | None = "0s",
    name: str = "config.toml",
) -> Path:
    """``config_toml`` written to tmp_path/name (rewritten in place on a second call)."""
    path = tmp_path / name
    text = config_toml(
        tmp_path, sources, channels, rules, settings, timeout=timeout, host_spacing=host_spacing
    )
    path.write_text(text, encoding="utf-8")
    return path


def write_config(
    tmp_path: Path,
    sources: Mapping[str, str] | Sequence[Mapping[str, Any]],
    channels: Mapping[str, str | list[str]] | str,
    rules: Sequence[Mapping[str, Any] | str],
    settings: str = "",
    *,
    timeout: str = "3s",
    env: dict[str, str] | None = None,
) -> config_mod.Config:
    """``config_file``, loaded as the daemon would (``env`` stands in for the environment)."""
    path = config_file(tmp_path, sources, channels, rules, settings, timeout=timeout)
    return config_mod.load(path, env=env or {})


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
