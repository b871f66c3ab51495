"""`weightwatch explain` and `weightwatch backtest` on a real database, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from builders import CLI, config_file
from feedgen import Entry, rss
from servers import HTTPTestServer
from weightwatch import config as config_mod
from weightwatch.service.once import run_once

RULE = 'weights AND (release OR "open-weight") AND NOT "Weight Watchers"'


def setup(tmp_path: Path, http: HTTPTestServer, query: str = RULE) -> Path:
    http.set(
        "/a.xml",
        rss(
            [
                Entry("Meta releases Llama 5 weights", "https://a.example/llama5", guid="a1"),
                Entry("Gym opens free weights area", "https://a.example/gym", guid="a2"),
            ]
        ),
    )
    http.set(
        "/b.xml",
        rss(
            [
                Entry(
                    "Meta releases Llama 5 weights - Reuters",
                    "https://b.example/x?utm_source=rss",
                    guid="b1",
                ),
                Entry(
                    "Weight Watchers release new weights plan", "https://b.example/ww", guid="b2"
                ),
            ]
        ),
    )
    path = config_file(
        tmp_path,
        {"a": http.url("/a.xml"), "b": http.url("/b.xml")},
        {"t": "console://"},
        [{"name": "w", "query": query, "notify": ["t"]}],
        timeout="20s",  # the default, as before
        name="c.toml",
    )
    run_once(config_mod.load(path, env={}))  # first polls: items stored, nothing alerted
    return path


def test_backtest_lists_what_a_rule_would_have_alerted_as_stories(
    tmp_path: Path, http_server: HTTPTestServer, cli: CLI
) -> None:
    path = setup(tmp_path, http_server)
    out = cli("backtest", "--config", str(path), "--rule", "w", "--since", "1d")
    assert out.returncode == 0, out.stderr
    assert "Scanned 4 stored items" in out.stdout
    assert "1 alert(s) would have been sent, for 2 matching item(s)" in out.stdout
    assert "+ b: Meta releases Llama 5 weights - Reuters  [similar title" in out.stdout
    assert "Gym" not in out.stdout and "new weights plan" not in out.stdout


def test_backtest_uses_the_rule_as_edited_in_the_config(
    tmp_path: Path, http_server: HTTPTestServer, cli: CLI
) -> None:
    path = setup(tmp_path, http_server)
    edited = path.read_text(encoding="utf-8").replace(json.dumps(RULE), json.dumps("weights"))
    path.write_text(edited, encoding="utf-8")
    out = cli("backtest", "--config", str(path), "--rule", "w")
    assert "3 alert(s) would have been sent" in out.stdout  # Llama story, gym, Weight Watchers


def test_explain_text_reports_each_term_and_highlights_matches(
    tmp_path: Path, http_server: HTTPTestServer, cli: CLI
) -> None:
    path = setup(tmp_path, http_server)
    out = cli("explain", "--config", str(path), "--rule", "w", "--text", "Lab released the weights")
    assert out.returncode == 0, out.stderr
    assert "MATCHES" in out.stdout
    assert "weights: matched 'weights'" in out.stdout
    assert "release: matched 'released' (text 4-12, stem)" in out.stdout
    assert 'NOT "Weight Watchers": not matched' in out.stdout
    assert "text:  Lab [released] the [weights]" in out.stdout
    no = cli(
        "explain", "--config", str(path), "--rule", "w", "--text", "Weight Watchers release weights"
    )
    assert "does not match" in no.stdout


def test_explain_item_says_which_story_a_hit_joined_and_why(
    tmp_path: Path, http_server: HTTPTestServer, cli: CLI
) -> None:
    path = setup(tmp_path, http_server)
    cfg = config_mod.load(path, env={})
    http_server.set(
        "/a.xml",
        rss([Entry("DeepSeek releases V4 weights", "https://a.example/v4", guid="a3")]),
    )
    http_server.set(
        "/b.xml",
        rss([Entry("DeepSeek releases V4 weights - Reuters", "https://b.example/v4", guid="b3")]),
    )
    run_once(cfg)
    out = cli("explain", "--config", str(path), "--rule", "w", "--item", "https://b.example/v4")
    assert out.returncode == 0, out.stderr
    assert "MATCHES" in out.stdout
    first = cli("explain", "--config", str(path), "--rule", "w", "--item", "https://a.example/v4")
    both = out.stdout + first.stdout
    assert "the first report of its story (it alerted)" in both
    assert "joined the story of hit #" in both
    missing = cli("explain", "--config", str(path), "--rule", "w", "--item", "nope")
    assert missing.returncode == 1 and "no stored item" in missing.stderr


def test_explain_names_the_rules_when_the_rule_is_unknown(
    tmp_path: Path, http_server: HTTPTestServer, cli: CLI
) -> None:
    path = setup(tmp_path, http_server)
    out = cli("explain", "--config", str(path), "--rule", "nope", "--text", "x")
    assert out.returncode == 2 and "rules: w" in out.stderr
