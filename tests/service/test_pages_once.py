"""Watching web pages end to end: real loopback pages, real SQLite, real Apprise webhooks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import builders
from builders import CLI, db_rows
from feedgen import Entry, rss
from servers import HTTPTestServer, WebhookReceiver
from weightwatch import config as config_mod
from weightwatch.errors import ConfigError
from weightwatch.service.once import run_once
from weightwatch.storage.store import Storage

PAGES = Path(__file__).resolve().parents[1] / "data" / "pages"
ROOT = Path(__file__).resolve().parents[2]
HTML = "text/html; charset=utf-8"
WEIGHTS_RULE = {"name": "weights", "query": '"open weights" OR "open-weight"', "notify": ["hook"]}


def write_config(
    tmp_path: Path,
    sources: list[dict[str, Any]],
    webhook: WebhookReceiver,
    rules: list[dict[str, Any]] | None = None,
    settings: str = "",
) -> config_mod.Config:
    """``sources`` alerting the webhook ("hook") by ``rules`` (the open-weights rule)."""
    return builders.write_config(
        tmp_path,
        sources,
        {"hook": webhook.apprise_url},
        rules if rules is not None else [WEIGHTS_RULE],
        settings,
    )


def fixture(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def blog_with(*posts: str, change: Callable[[str], str] = lambda s: s) -> str:
    """The blog fixture with new posts on top (newest first), then ``change`` applied."""
    html = fixture("blog-index.html")
    html = html.replace('<div class="posts">', '<div class="posts">' + "".join(posts), 1)
    return change(html)


def post(number: int, title: str, text: str) -> str:
    return (
        f'<article id="post-{number}"><header class="entry-header"><h2 class="entry-title">'
        f'<a href="https://lab.example/p{number}/">{title}</a></h2></header>'
        f'<div class="entry-summary"><p>{text}</p></div></article>'
    )


AURORA_13B = post(
    420, "Aurora-13B is here", "We are publishing the open weights of Aurora-13B today."
)


def test_a_new_paragraph_with_a_keyword_alerts_once(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    url = http_server.set("/blog/", blog_with(), content_type=HTML)
    cfg = write_config(tmp_path, [{"name": "lab", "url": url}], webhook)
    first = run_once(cfg)
    assert first.sources[0].primed  # the first poll records the page without alerting
    assert webhook.received == []  # though the page already says "open-weight"
    http_server.set("/blog/", blog_with(AURORA_13B), content_type=HTML)
    summary = run_once(cfg)
    assert summary.sources[0].new_items == 1
    assert summary.delivery.sent == 1
    for _ in range(3):
        run_once(cfg)
    assert len(webhook.received) == 1
    alert = webhook.received[0]
    assert alert["title"] == "[weights] Aurora-13B is here"
    assert "We are publishing the open weights of Aurora-13B today." in alert["message"]
    assert f"{url}#post-420:~:text=Aurora%2D13B%20is%20here" in alert["message"]
    assert db_rows(tmp_path, "SELECT kind FROM sources") == [("page",)]


def test_an_old_keyword_does_not_alert_again_when_another_part_changes(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    url = http_server.set("/blog/", blog_with(AURORA_13B), content_type=HTML)
    cfg = write_config(tmp_path, [{"name": "lab", "url": url}], webhook)
    run_once(cfg)
    # An unrelated post arrives, the archive blurb is edited, a post drops off the end.
    edited = blog_with(
        post(421, "Office hours in Lisbon", "Come and say hello on Friday."),
        AURORA_13B,
        change=lambda s: s.replace("release announcements", "release notes").replace(
            'id="post-384"', 'id="post-384" hidden'
        ),
    )
    http_server.set("/blog/", edited, content_type=HTML)
    summary = run_once(cfg)
    assert summary.sources[0].new_items == 2  # the new post and the edited blurb
    assert webhook.received == []


def test_reordering_alerts_nothing(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    models = fixture("hf-models.html")
    start = models.index("<article")
    end = models.rindex("</article>") + len("</article>")
    cards = [c + "</article>" for c in models[start:end].split("</article>")[:-1]]
    url = http_server.set("/models", models, content_type=HTML)
    rules = [{"name": "llama", "query": "llama OR qwen OR deepseek", "notify": ["hook"]}]
    cfg = write_config(tmp_path, [{"name": "hf", "url": url}], webhook, rules)
    run_once(cfg)
    shuffled = models[:start] + "\n".join(reversed(cards)) + models[end:]
    http_server.set("/models", shuffled, content_type=HTML)
    summary = run_once(cfg)
    assert summary.sources[0].status == "ok"
    assert summary.sources[0].new_items == 0
    assert webhook.received == []
    # A genuinely new model in the shuffled list does alert, once.
    card = cards[0].replace("meta-llama/Llama-3.3-70B-Instruct", "meta-llama/Llama-4-Scout")
    http_server.set("/models", shuffled.replace(cards[-1], card + cards[-1]), content_type=HTML)
    run_once(cfg)
    assert [r["title"] for r in webhook.received] == ["[llama] meta-llama/Llama-4-Scout"]


def test_a_selector_limits_the_watch(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    releases = fixture("github-releases.html")
    url = http_server.set("/releases", releases, content_type=HTML)
    source = {"name": "gpt-oss", "url": url, "kind": "page", "selector": ".markdown-body"}
    rules = [{"name": "weights", "query": "weights OR checkpoint", "notify": ["hook"]}]
    cfg = write_config(tmp_path, [source], webhook, rules)
    run_once(cfg)
    # Outside the selected part: the repository description gains the word "checkpoint".
    outside = releases.replace(
        '<span class="Label Label--secondary v-align-middle mr-1">Public</span>',
        "<p>Weights and checkpoint downloads: see the model card.</p>",
    )
    http_server.set("/releases", outside, content_type=HTML)
    assert run_once(cfg).sources[0].new_items == 0
    # Inside it: a new line in the latest release notes.
    inside = outside.replace(
        "<li>Fix tokenizer round-trip",
        "<li>Publish the MXFP4 checkpoint for gpt-oss-20b by @scott-oai in #170</li>"
        "<li>Fix tokenizer round-trip",
    )
    http_server.set("/releases", inside, content_type=HTML)
    run_once(cfg)
    assert [r["title"] for r in webhook.received] == [
        "[weights] Publish the MXFP4 checkpoint for gpt-oss-20b by @scott-oai in #170"
    ]


def test_an_ignore_selector_stops_a_ticking_counter_from_making_items(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    models = fixture("hf-models.html")
    url = http_server.set("/models", models, content_type=HTML)
    ticking = {"name": "ticking", "url": url}
    calm = {"name": "calm", "url": url + "?calm", "ignore": ["#models-count", ".downloads"]}
    rules = [{"name": "any", "query": "models OR generation", "notify": ["hook"]}]
    cfg = write_config(tmp_path, [ticking, calm], webhook, rules)
    run_once(cfg)
    for count in range(3):
        page = models.replace("1,229,486", f"1,229,{500 + count}").replace(
            "95.3k", f"95.{4 + count}k"
        )
        http_server.set("/models", page, content_type=HTML)
        summary = run_once(cfg)
        outcome = {o.source: o for o in summary.sources}
        assert outcome["calm"].new_items == 0
        assert outcome["ticking"].new_items == 2  # the count and the download figure
    assert webhook.received == []  # the counters match no rule


def test_a_block_that_comes_back_within_the_window_is_not_new(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    teaser = "<p>Teaser: open weights office hours every Friday.</p>"
    base = fixture("blog-index.html")
    with_teaser = base.replace('<div class="posts">', teaser + '<div class="posts">', 1)
    url = http_server.set("/blog/", with_teaser, content_type=HTML)
    cfg = write_config(tmp_path, [{"name": "lab", "url": url}], webhook)
    day = datetime(2025, 6, 1, tzinfo=UTC)
    run_once(cfg, now=lambda: day)
    http_server.set("/blog/", base, content_type=HTML)
    run_once(cfg, now=lambda: day + timedelta(days=3))
    http_server.set("/blog/", with_teaser, content_type=HTML)
    assert run_once(cfg, now=lambda: day + timedelta(days=6)).sources[0].new_items == 0
    assert webhook.received == []
    # Gone for longer than the window (30 days), its fingerprint is forgotten.
    http_server.set("/blog/", base, content_type=HTML)
    run_once(cfg, now=lambda: day + timedelta(days=7))
    run_once(cfg, now=lambda: day + timedelta(days=40))
    fingerprints = db_rows(tmp_path, "SELECT COUNT(*) FROM page_blocks")[0][0]
    http_server.set("/blog/", with_teaser, content_type=HTML)
    summary = run_once(cfg, now=lambda: day + timedelta(days=41))
    assert summary.sources[0].new_items == 1
    assert len(webhook.received) == 1
    assert fingerprints == db_rows(tmp_path, "SELECT COUNT(*) FROM page_blocks")[0][0] - 1


def test_huge_and_malformed_pages_are_handled_within_the_caps(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    huge = "<html><body>" + "<p>filler text for a huge page</p>" * 40_000 + "</body></html>"
    assert len(huge) > 1024 * 1024
    http_server.set("/huge", huge, content_type=HTML)
    broken = "<html><body><div><p>one<p>two open weights</table></span><li>three" * 50
    http_server.set("/broken", broken, content_type=HTML)
    deep = "<p>top</p>" + "<div>" * 50_000 + "<p>deep</p>"
    http_server.set("/deep", deep, content_type=HTML)
    sources = [
        {"name": "huge", "url": http_server.url("/huge")},
        {"name": "broken", "url": http_server.url("/broken")},
        {"name": "deep", "url": http_server.url("/deep")},
    ]
    cfg = write_config(tmp_path, sources, webhook, settings='max_body = "1MB"')
    summary = run_once(cfg)
    outcome = {o.source: o for o in summary.sources}
    assert outcome["huge"].status == "error"
    assert "passed the 1 MB cap" in outcome["huge"].error
    assert outcome["broken"].status == "ok"
    assert outcome["deep"].status == "ok"
    assert summary.duration < 20
    warning = db_rows(tmp_path, "SELECT last_error FROM sources WHERE name = 'deep'")[0][0]
    assert "more than 1000 deep" in warning


def test_a_javascript_shell_fails_with_a_clear_message(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    shell = (
        '<!doctype html><html><head><script type="module" src="/assets/index-4f2a.js"></script>'
        '</head><body><div id="root"></div></body></html>'
    )
    url = http_server.set("/app", shell, content_type=HTML)
    cfg = write_config(tmp_path, [{"name": "spa", "url": url}], webhook)
    summary = run_once(cfg)
    assert summary.sources[0].status == "error"
    assert "rendered in the browser by JavaScript" in summary.sources[0].error
    assert "weightwatch discover" in summary.render()


def test_auto_reads_feeds_as_feeds_and_check_shows_what_each_source_is(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver, cli: CLI
) -> None:
    feed = http_server.set("/feed.xml", rss([Entry("Hello", "https://x.example/1")]))
    page = http_server.set("/blog/", blog_with(), content_type=HTML)
    sources = [
        {"name": "feed", "url": feed},
        {"name": "page", "url": page},
        {"name": "strict", "url": page + "?strict", "kind": "feed"},
    ]
    cfg = write_config(tmp_path, sources, webhook)
    before = config_mod.summary(cfg, Storage.detected_kinds(cfg.settings.database))
    assert "feed    every 15m  auto  " in before
    summary = run_once(cfg)
    outcome = {o.source: o for o in summary.sources}
    assert outcome["strict"].status == "error"  # kind = "feed" refuses an HTML page
    assert "HTML page" in outcome["strict"].error
    result = cli("check", "--config", str(cfg.path))
    assert result.returncode == 0, result.stderr
    assert "feed    every 15m  auto (rss)  " in result.stdout
    assert "page    every 15m  auto (page)  " in result.stdout
    assert "strict  every 15m  feed         " in result.stdout


def test_prefer_feed_switches_a_page_to_the_feed_it_advertises(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    feed_url = http_server.url("/feed/")
    page = blog_with().replace("https://lab.example/feed/", feed_url)
    url = http_server.set("/blog/", page, content_type=HTML)
    old = Entry("Introducing Aurora-7B: our first open-weight model", "https://lab.example/a7")
    http_server.set("/feed/", rss([old]))
    http_server.set("/comments/feed/", rss([]))
    source = {"name": "lab", "url": url, "prefer_feed": True}
    cfg = write_config(tmp_path, [source], webhook)
    first = run_once(cfg)
    assert first.sources[0].primed
    assert db_rows(tmp_path, "SELECT kind, permanent_url FROM sources") == [("rss", feed_url)]
    new = Entry("Aurora-13B: open weights", "https://lab.example/a13", guid="a13")
    http_server.set("/feed/", rss([new, old]))
    run_once(cfg)
    assert [r["title"] for r in webhook.received] == ["[weights] Aurora-13B: open weights"]
    assert len(http_server.hits("/blog/")) == 1  # later polls go straight to the feed


def test_a_page_source_switched_to_its_feed_later_does_not_flood(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    feed_url = http_server.url("/feed/")
    page = blog_with().replace("https://lab.example/feed/", feed_url)
    url = http_server.set("/blog/", page, content_type=HTML)
    entries = [Entry(f"Open weights, part {n}", f"https://lab.example/{n}") for n in range(5)]
    http_server.set("/feed/", rss(entries))
    cfg = write_config(tmp_path, [{"name": "lab", "url": url}], webhook)
    run_once(cfg)  # watched as a page
    cfg = write_config(tmp_path, [{"name": "lab", "url": url, "prefer_feed": True}], webhook)
    summary = run_once(cfg)
    assert summary.sources[0].primed
    assert webhook.received == []


def test_backfill_alerts_on_what_the_page_already_says(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    url = http_server.set("/blog/", blog_with(), content_type=HTML)
    cfg = write_config(tmp_path, [{"name": "lab", "url": url, "backfill": True}], webhook)
    run_once(cfg)
    run_once(cfg)
    assert [r["title"] for r in webhook.received] == [
        "[weights] Introducing Aurora-7B: our first open-weight model"
    ]


def test_a_redesign_is_recorded_without_a_flood(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    rows = "".join(f"<p>Entry {n}: open weights, take {n}</p>" for n in range(40))
    url = http_server.set("/p", f"<main>{rows}</main>", content_type=HTML)
    cfg = write_config(tmp_path, [{"name": "p", "url": url}], webhook)
    run_once(cfg)
    redesigned = "".join(f"<div>Item {n} — open weights, version {n}</div>" for n in range(40))
    http_server.set("/p", f"<main>{redesigned}</main>", content_type=HTML)
    run_once(cfg)
    assert webhook.received == []
    warning = db_rows(tmp_path, "SELECT last_error FROM sources")[0][0]
    assert "40 of the page's 40 blocks were new at once" in warning


def test_discover_finds_and_checks_the_feeds_of_a_page(
    http_server: HTTPTestServer, cli: CLI
) -> None:
    feed_url = http_server.url("/feed/")
    page = blog_with().replace("https://lab.example/feed/", feed_url)
    page = page.replace("https://lab.example/comments/feed/", http_server.url("/comments/"))
    url = http_server.set("/blog/", page, content_type=HTML)
    http_server.set("/feed/", rss([Entry("Hello", "https://x.example/1")], title="Aurora Lab"))
    result = cli("discover", url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "1 feed (each fetched and read):" in out
    block = '# RSS, advertised by the page: Aurora Lab (1 item)\n[[source]]\nname = "aurora-lab"'
    assert f'{block}\nurl = "{feed_url}"' in out
    assert f"{http_server.url('/comments/')} (advertised): the server answered 404" in out
    assert 'kind = "page"' in out and "# prefer_feed = true" in out
    # What it prints is a valid config.
    skip = ("http", "1 feed", "Candidates", "  ")
    config_mod.parse("\n".join(x for x in out.splitlines() if not x.startswith(skip)), env={})


def test_discover_reports_a_fetch_failure(http_server: HTTPTestServer, cli: CLI) -> None:
    result = cli("discover", http_server.url("/missing"))
    assert result.returncode == 1
    assert "404" in result.stdout


# --- config ---------------------------------------------------------------------------------


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_mod.parse(text, env={})
    return [str(p) for p in info.value.problems]


def test_page_options_are_validated_with_key_paths() -> None:
    found = problems(
        """
[[source]]
name = "a"
url = "https://a.example/"
kind = "pages"
[[source]]
name = "b"
url = "https://b.example/"
selector = "div["
ignore = [".ok", "/(unclosed/", "bad[", 3]
prefer_feed = "yes"
[[source]]
name = "c"
url = "https://c.example/"
kind = "feed"
selector = "main"
"""
    )
    assert (
        found[0]
        == 'source[0].kind: expected "auto", "feed" or "page", found "pages"; did you mean "page"?'
    )
    assert found[1].startswith('source[1].selector: "div[" is not a valid CSS selector')
    assert found[2] == "source[1].ignore[3]: expected a string, found 3"
    assert found[3].startswith(
        'source[1].ignore[1]: "/(unclosed/" is not a valid regular expression'
    )
    assert found[4].startswith('source[1].ignore[2]: "bad[" is not a valid CSS selector')
    assert found[5] == 'source[1].prefer_feed: expected true or false, found "yes"'
    assert found[6].startswith('source[2].selector: applies to web pages only, but kind = "feed"')
    assert len(found) == 7


def test_page_options_reach_the_source_and_the_summary() -> None:
    cfg = config_mod.parse(
        """
[[source]]
name = "hf"
url = "https://huggingface.co/models"
kind = "page"
selector = "#model-cards"
ignore = [".downloads", '/\\d+ likes/']
""",
        env={},
    )
    source = cfg.sources[0]
    assert (source.kind, source.selector, source.ignore) == (
        "page",
        "#model-cards",
        (".downloads", "/\\d+ likes/"),
    )
    text = config_mod.summary(cfg, {"hf": "page"})
    assert "hf  every 15m  page  https://huggingface.co/models  (selector: #model-cards;" in text


def test_the_example_config_has_a_commented_page_source_that_works() -> None:
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    start = example.index('# [[source]]\n# name = "hf-trending"')
    lines = []
    for line in example[start:].splitlines():
        if not line.startswith("# "):
            break
        lines.append(line.removeprefix("# "))
    cfg = config_mod.parse("\n".join(lines), env={})
    assert cfg.sources[0].kind == "page"
    assert cfg.sources[0].selector == "main"
