"""Hostile and careless config files: every one is a config problem (exit 78) naming its
key, found quickly, never a traceback (issue 10, items 2, 4, 6, 11 and 12)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from weightwatch.cli import main

BASE = """[channels]
t = "console://"

[[source]]
name = "s"
url = "http://127.0.0.1:1/feed"
"""
RULE = '[[rule]]\nname = "r"\nnotify = ["t"]\n'


def rule(query: str, extra: str = "") -> str:
    return BASE + RULE + f"query = '{query}'\n" + extra


HOSTILE = {
    "200 nested parentheses": (rule("(" * 200 + "a" + ")" * 200), "rule[0].query", "deep"),
    "a long NOT chain": (rule("a " + "NOT " * 3000 + "b"), "rule[0].query", "deep"),
    "a long NEAR chain": (rule(" NEAR/1 ".join(["a"] * 3000)), "rule[0].query", "deep"),
    "nested title: groups": (rule("title:(" * 500 + "a" + ")" * 500), "rule[0].query", "deep"),
    "NOT alone": (rule("NOT weights"), "rule[0]", "only exclude"),
    "an array nested 10,000 deep": (BASE + "x = " + "[" * 10000 + "]" * 10000 + "\n", "", "deep"),
    "inline tables nested 10,000 deep": (
        BASE + "x = " + "{a=" * 10000 + "1" + "}" * 10000 + "\n",
        "",
        "deep",
    ),
    "a 400-digit duration": (
        '[settings]\ninterval = "' + "9" * 400 + 's"\n' + rule("a"),
        "settings.interval",
        "",
    ),
    "a 400-digit integer duration": (
        "[settings]\nretention = " + "9" * 18 + "\n" + rule("a"),
        "settings.retention",
        "too long",
    ),
    "a template dividing by zero": (rule("a", "title = '{{ 1/0 }}'\n"), "rule[0].title", "zero"),
    "a template adding a number to text": (
        rule("a", "title = '{{ 1 + \"a\" }}'\n"),
        "rule[0].title",
        "",
    ),
    "a template recursing for ever": (
        rule("a", "title = '{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}'\n"),
        "rule[0].title",
        "",
    ),
    "a template making a gigabyte": (
        rule("a", "title = \"{{ 'x' * 10**9 }}\"\n"),
        "rule[0].title",
        "",
    ),
    "a template padding to a gigabyte": (
        rule("a", "title = \"{{ 'x'|center(10**9) }}\"\n"),
        "rule[0].title",
        "",
    ),
    "a template looping 10^10 times": (
        rule(
            "a",
            "body = '{% for a in range(100000) %}{% for b in range(100000) %}"
            "{% endfor %}{% endfor %}'\n",
        ),
        "rule[0].body",
        "",
    ),
    "a template looping over long strings": (
        rule(
            "a",
            "body = \"{% for a in 'x' * 50000 %}{% for b in 'y' * 50000 %}"
            '{% endfor %}{% endfor %}"\n',
        ),
        "rule[0].body",
        "",
    ),
    "a dedup window of 999999 days": (
        '[settings]\ndedup_window = "999999d"\n' + rule("a"),
        "settings.dedup_window",
        "at most",
    ),
    "an interval of 10^12 seconds": (
        "[settings]\ninterval = 1000000000000\n" + rule("a"),
        "settings.interval",
        "at most",
    ),
    "a source interval of 10^12 seconds": (
        BASE + "interval = 1000000000000\n" + RULE + "query = 'a'\n",
        "source[0].interval",
        "at most",
    ),
    "a huge retention": (
        '[settings]\nretention = "9999999d"\n' + rule("a"),
        "settings.retention",
        "at most",
    ),
    "a huge digest period": (
        BASE.replace('t = "console://"', 't = {urls="console://", digest="9999999d"}')
        + RULE
        + "query = 'a'\n",
        "channels.t.digest",
        "at most",
    ),
    "a huge rule digest period": (rule("a", 'digest = "9999999d"\n'), "rule[0].digest", ""),
    "a port beyond 65535": (
        BASE.replace("console://", "json://127.0.0.1:99999/x") + RULE + "query = 'a'\n",
        "channels.t",
        "port",
    ),
    "ntfy without a topic": (
        BASE.replace("console://", "ntfy://") + RULE + "query = 'a'\n",
        "channels.t",
        "",
    ),
    "a catastrophic query regex": (rule("/(a|aa)+$/"), "rule[0].query", "catastroph"),
    "a catastrophic page ignore pattern": (
        BASE + "kind = \"page\"\nignore = ['/(a|aa)+$/']\n" + RULE + "query = 'a'\n",
        "source[0].ignore[0]",
        "catastroph",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_config_is_a_config_problem_naming_its_key(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, key, words = HOSTILE[case]
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    started = time.process_time()  # CPU time: wall time counts a busy machine too
    code = main(["check", "-c", str(path)])
    took = time.process_time() - started
    err = capsys.readouterr().err
    assert code == 78, err
    assert "Traceback" not in err
    assert f"{key}:" in err, err
    assert words.lower() in err.lower(), err
    assert took < 10, took


def test_config_file_larger_than_the_cap_is_refused_without_reading_it_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # /dev/zero never ends; a bounded read stops at the cap.
    started = time.process_time()  # CPU time: wall time counts a busy machine too
    code = main(["check", "-c", "/dev/zero"])
    err = capsys.readouterr().err
    assert code == 78, err
    assert "larger than 1MB" in err, err
    assert time.process_time() - started < 5
    big = tmp_path / "big.toml"
    big.write_text(rule("a") + "#" * (1024 * 1024) + "\n", encoding="utf-8")
    assert main(["check", "-c", str(big)]) == 78
    assert "larger than 1MB" in capsys.readouterr().err


def test_every_duration_and_size_key_has_an_upper_bound_with_a_reason() -> None:
    from weightwatch.config.schema import TABLES

    for table in TABLES:
        for key in table.keys:
            if key.type in ("duration", "size", "digest"):
                assert key.max is not None, f"{table.name}.{key.name}"


@pytest.mark.parametrize(
    "url",
    ["ntfy://ntfy.sh/topic", "json://127.0.0.1:8080/x", "slack://T1/B1/C1", "tgram://1:abc/2"],
)
def test_complete_channel_urls_still_pass(url: str, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(BASE.replace("console://", url) + RULE + "query = 'a'\n", encoding="utf-8")
    assert main(["check", "-c", str(path)]) == 0


def test_source_url_credentials_from_the_environment_are_masked_in_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEED_PASS", "hunter2secret")
    monkeypatch.setenv("FEED_TOKEN", "tok3nvalue99")
    path = tmp_path / "c.toml"
    path.write_text(
        BASE.replace(
            "http://127.0.0.1:1/feed",
            "https://alice:${FEED_PASS}@feeds.example/x?token=${FEED_TOKEN}&page=2",
        )
        + RULE
        + "query = 'a'\n",
        encoding="utf-8",
    )
    assert main(["check", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    assert "hunter2secret" not in out and "tok3nvalue99" not in out
    assert "feeds.example" in out


def test_literal_source_url_credentials_are_masked_too() -> None:
    from weightwatch.config import parse

    cfg = parse(
        BASE.replace("http://127.0.0.1:1/feed", "https://bob:pa55word@h.example/f?api_key=k3y99")
        + RULE
        + "query = 'a'\n",
        env={},
    )
    assert cfg.sources[0].url == "https://bob:pa55word@h.example/f?api_key=k3y99"
    assert "pa55word" in cfg.secrets and "k3y99" in cfg.secrets
    from weightwatch.config.env import mask_source_url

    shown = mask_source_url(cfg.sources[0].url, cfg.secrets)
    assert "pa55word" not in shown and "k3y99" not in shown
    assert shown.startswith("https://bob:****@h.example/f?api_key=****")
