"""The ``weightwatch`` command's exit (``cli.entry``): it skips the interpreter's teardown,
but never what a user or a tool would notice: printed output, the exit code, exit hooks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from builders import ROOT, config_file

pytestmark = pytest.mark.system  # the real command in a subprocess

CLI = Callable[..., subprocess.CompletedProcess[str]]


def plain(*argv: str) -> subprocess.CompletedProcess[str]:
    """``argv`` in a subprocess with Python's default buffering: output to a pipe is held in
    a block buffer until flushed (the test environment may set PYTHONUNBUFFERED)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env = {k: v for k, v in env.items() if not k.startswith("WEIGHTWATCH_")}
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env
    )


def many_sources(tmp_path: Path, count: int) -> Path:
    sources = {f"feed{n:04d}": f"https://feeds{n % 7}.example.org/{n}.xml" for n in range(count)}
    return config_file(
        tmp_path,
        sources,
        {"hook": "json://127.0.0.1:9/"},
        [{"name": "oa", "query": "openai", "notify": ["hook"]}],
    )


def test_every_line_a_command_prints_reaches_the_pipe_and_it_exits_0(tmp_path: Path) -> None:
    done = plain("-m", "weightwatch", "check", "--config", str(many_sources(tmp_path, 300)))
    assert done.returncode == 0, done.stderr
    assert "Sources (300):" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("Environment:")  # the last line


def test_a_broken_config_still_exits_78_with_its_message(tmp_path: Path, cli: CLI) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[settings]\ninterval = 'soon'\n", encoding="utf-8")
    done = cli("check", "--config", str(bad))
    assert done.returncode == 78
    assert "settings.interval" in done.stderr


def test_exit_hooks_registered_by_the_host_still_run(tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    config = many_sources(tmp_path, 3)
    script = (
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n"
        f"sys.argv = ['weightwatch', 'check', '--config', {str(config)!r}]\n"
        "from weightwatch.cli import entry\n"
        "entry()\n"
    )
    done = plain("-c", script)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "ran"
