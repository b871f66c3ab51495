"""Reading a systemd EnvironmentFile= (config.env.read_env_file), and loading a config for a
command that sends nothing: an unset ${VAR} is left as written (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from weightwatch.config import parse
from weightwatch.config.env import read_env_file
from weightwatch.errors import ConfigError


def test_env_file_lines_are_read_as_systemd_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "env"
    path.write_text(
        '# a comment\n; another\n\nPLAIN=abc\n  SPACED = x y  \nDOUBLE="a \\"b\\" $c"\n'
        "SINGLE='it is $raw'\nexport EXPORTED=1\nLONG=one\\\ntwo\nnot an assignment\n",
        encoding="utf-8",
    )
    found = read_env_file(path)
    assert found.exists and found.error is None
    assert found.values == {
        "PLAIN": "abc",
        "SPACED": "x y",
        "DOUBLE": 'a "b" $c',
        "SINGLE": "it is $raw",
        "EXPORTED": "1",
        "LONG": "onetwo",
    }


def test_an_absent_env_file_is_no_error_and_an_unreadable_one_says_why(tmp_path: Path) -> None:
    absent = read_env_file(tmp_path / "env")
    assert not absent.exists and absent.error is None and absent.values == {}
    (tmp_path / "dir").mkdir()
    folder = read_env_file(tmp_path / "dir")
    assert folder.exists and folder.error == "it is a directory"


URLS = """\
[channels]
hook = "json://127.0.0.1:9/hook/${HOOK_TOKEN}"
whole = "${ALERT_URL}"
[[source]]
name = "a"
url = "${FEED_URL}"
[[rule]]
name = "r"
any = ["x"]
notify = ["hook", "whole"]
"""


def test_without_secrets_an_unset_variable_is_left_as_written_and_listed() -> None:
    cfg = parse(URLS, env={"HOME": "/h"}, need_secrets=False)
    assert cfg.channels["hook"].urls == ("json://127.0.0.1:9/hook/${HOOK_TOKEN}",)
    assert cfg.channels["whole"].masked_urls == ("${ALERT_URL}",)
    assert cfg.sources[0].url == "${FEED_URL}"
    assert [(p.path, p.message) for p in cfg.unexpanded] == [
        ("channels.hook", "environment variable HOOK_TOKEN is not set"),
        ("channels.whole", "environment variable ALERT_URL is not set"),
        ("source[0].url", "environment variable FEED_URL is not set"),
    ]


def test_a_set_variable_is_still_expanded_and_masked_without_secrets_needed() -> None:
    env = {"HOOK_TOKEN": "s3cret-value", "ALERT_URL": "console://", "FEED_URL": "http://e.org/f"}
    cfg = parse(URLS, env=env, need_secrets=False)
    assert cfg.unexpanded == ()
    assert "s3cret-value" in cfg.secrets
    assert "s3cret-value" not in cfg.channels["hook"].masked_urls[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[channels]\nc = "json://h/${EMPTY}"', "environment variable EMPTY is set but empty"),
        ('[channels]\nc = "json://h/$TOKEN"', "write ${TOKEN} to use an environment variable"),
    ],
)
def test_without_secrets_a_mistake_in_a_reference_is_still_a_problem(
    text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text, env={"EMPTY": ""}, need_secrets=False)
    assert any(message in p.message for p in caught.value.problems)


def test_with_secrets_needed_an_unset_variable_is_a_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        parse(URLS, env={"HOME": "/h"})
    messages = [f"{p.path}: {p.message}" for p in caught.value.problems]
    assert "channels.hook: environment variable HOOK_TOKEN is not set" in messages
