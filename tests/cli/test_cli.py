"""The command line as a user meets it: a real subprocess, real exit codes, real output."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import CLI
from weightwatch.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def commands() -> list[str]:
    parser = build_parser()
    for action in parser._actions:
        if action.dest == "command":
            return sorted(action.choices)  # type: ignore[arg-type]
    raise AssertionError("no subcommands")


@pytest.mark.parametrize("command", commands())
def test_every_command_has_help(command: str, cli: CLI) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0
    assert "usage: weightwatch" in result.stdout
    assert len(result.stdout.strip().splitlines()) >= 3


@pytest.mark.parametrize("command", commands())
def test_every_command_is_documented_in_the_readme(command: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"weightwatch {command}" in readme


def test_check_accepts_the_example_config_and_prints_a_summary(cli: CLI) -> None:
    result = cli("check", "--config", "config.example.toml")
    assert result.returncode == 0, result.stderr
    assert "openai" in result.stdout.lower()


def test_check_lists_every_problem_with_its_key_path_and_exits_78(tmp_path: Path, cli: CLI) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        """
[settings]
interval = "soon"
[channels]
phone = "ntfy://ntfy.sh/${NTFY TOPIC}"
[[source]]
name = "a"
url = "ftp://example.org/feed"
[[rule]]
name = "r"
query = '(OpenAI AND weights'
notfy = ["phone"]
""",
        encoding="utf-8",
    )
    result = cli("check", "--config", str(bad))
    assert result.returncode == 78
    err = result.stderr
    for path in (
        "settings.interval",
        "channels.phone",
        "source[0].url",
        "rule[0].query",
        "rule[0].notfy",
    ):
        assert path in err, (path, err)
    assert "column 1" in err
    assert "did you mean" in err


def test_missing_config_file_is_a_config_error(tmp_path: Path, cli: CLI) -> None:
    result = cli("check", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 78
    assert "nope.toml" in result.stderr


def test_demo_runs_the_real_pipeline_offline_and_alerts_each_story_once(cli: CLI) -> None:
    result = cli("demo", timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("Source:") == 2  # two alert bodies printed by console://
    assert "gpt-oss-120b" in out
    assert "Llama 5" in out
    assert "Weight Watchers says" not in out  # excluded by NOT "Weight Watchers"
    assert "Done: 2 alerts" in out
