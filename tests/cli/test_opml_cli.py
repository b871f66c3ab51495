"""``weightwatch import``, ``export`` and ``add``: feeds in and out without editing TOML."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from feedgen import Entry, rss
from servers import HTTPTestServer
from weightwatch import config as config_mod
from weightwatch.cli import main
from weightwatch.cli.locate import reload_advice
from weightwatch.sources import opml
from weightwatch.storage.owner import Owner

DATA = Path(__file__).resolve().parent.parent / "data" / "opml"
HTML = "text/html; charset=utf-8"

USER_FILE = """\
# weightwatch: what I watch, and where alerts go.
# (hand written; every comment here must survive an import)

[settings]
interval = "30m"   # polite

# Alerts go to my phone; the topic is a secret in the environment.
[channels]
phone = "ntfy://ntfy.sh/${NTFY_TOPIC}"

# ---- feeds --------------------------------------------------------------
[[source]]
name = "openai"                          # the lab itself
url = "https://openai.com/news/rss.xml"
tags = ["ai"]

# ---- rules --------------------------------------------------------------
[[rule]]
name = "open-weights"
query = '"open weights" OR "open-weight"'
notify = ["phone"]   # straight to the phone
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NTFY_TOPIC", "my-secret-topic")
    # USER_FILE names no database: the default one (and its owner lock) is under here.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)


STATE_DB = Path("state") / "weightwatch" / "weightwatch.db"  # under tmp_path, see env


def big_export(folders: int = 12, per_folder: int = 25) -> bytes:
    """A Feedly-style export: 300 feeds in folders, one folder nested, one feed repeated."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="1.0"><head><title>Alice subscriptions in feedly Cloud</title></head>',
        "<body>",
    ]
    for f in range(folders):
        lines.append(f'<outline text="Folder {f} &amp; Co" title="Folder {f} &amp; Co">')
        if f == 3:
            lines.append('<outline text="Inner" title="Inner">')
        for n in range(per_folder):
            title = f"Blog №{n} of folder {f}: “quotes” &lt;b&gt;"
            lines.append(
                f'<outline type="rss" text="{title}" title="{title}"'
                f' xmlUrl="https://f{f}.example/blog/{n}/feed.xml"'
                f' htmlUrl="https://f{f}.example/blog/{n}/"/>'
            )
        if f == 3:
            lines.append("</outline>")
        lines.append("</outline>")
    lines.append('<outline type="rss" text="OpenAI" xmlUrl="https://openai.com/news/rss.xml/"/>')
    lines += ["</body></opml>"]
    return "\n".join(lines).encode()


def test_a_300_feed_export_in_folders_imports_in_one_command_keeping_every_comment(
    tmp_path: Path, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(USER_FILE)
    export = tmp_path / "feedly.opml"
    export.write_bytes(big_export())
    assert main(["import", str(export), "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "Added 300 source(s) (1 skipped)" in out
    assert "skipped OpenAI: already in the config as openai" in out
    db = tmp_path / STATE_DB
    assert f"No weightwatch daemon is running on its database ({db}) now: the next" in out
    text = config.read_text()
    # The user's file, byte for byte, around the new tables; every comment line survives.
    assert text.startswith(USER_FILE.split("# ---- rules")[0].rstrip("\n"))
    assert text.endswith(USER_FILE[USER_FILE.index("\n# ---- rules") :])
    for line in USER_FILE.splitlines():
        assert line in text.splitlines()
    assert (tmp_path / "config.toml.bak").read_text() == USER_FILE
    assert "my-secret-topic" not in text
    assert main(["check", "-c", str(config)]) == 0
    cfg = config_mod.load(config)
    assert len(cfg.sources) == 301
    inner = next(s for s in cfg.sources if s.url == "https://f3.example/blog/0/feed.xml")
    assert inner.tags == ("folder-3-co", "inner")
    assert inner.name == "blog-no0-of-folder-3-quotes-b"
    assert len({s.name for s in cfg.sources}) == 301


def test_export_then_import_into_an_empty_config_gives_the_same_sources_and_tags(
    tmp_path: Path, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(USER_FILE)
    main(["import", str(tmp_path / "x.opml"), "-c", str(config)])  # a missing file: refused
    assert "cannot be read" in capsys.readouterr().err
    for name in ("feedly.opml", "inoreader.opml", "thunderbird.opml"):
        assert main(["import", str(DATA / name), "-c", str(config)]) == 0
    capsys.readouterr()
    assert main(["export", "-c", str(config)]) == 0
    exported = tmp_path / "feeds.opml"
    exported.write_text(capsys.readouterr().out)
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert main(["import", str(exported), "-c", str(empty)]) == 0

    def sources(path: Path) -> set[tuple[str, str, tuple[str, ...]]]:
        return {(s.name, s.url, s.tags) for s in config_mod.load(path).sources}

    assert sources(empty) == sources(config)
    assert len(sources(empty)) == 9


def test_export_can_take_one_tag_and_leaves_pages_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEED_TOKEN", "tok-value-123")
    config = tmp_path / "config.toml"
    config.write_text(
        '[[source]]\nname = "a"\nurl = "https://a.example/feed"\ntags = ["ai", "x"]\n'
        '[[source]]\nname = "b"\nurl = "https://b.example/feed"\n'
        '[[source]]\nname = "p"\nurl = "https://p.example/"\nkind = "page"\ntags = ["ai"]\n'
        '[[source]]\nname = "s"\nurl = "https://s.example/feed?token=${FEED_TOKEN}"\n'
        'tags = ["ai"]\n'
    )
    code = main(["export", "--tag", "ai", "-c", str(config)])
    captured = capsys.readouterr()
    assert code == 0
    feeds = opml.parse(captured.out.encode()).feeds
    assert [(f.title, f.url) for f in feeds] == [
        ("a", "https://a.example/feed"),
        ("s", "https://s.example/feed?token=${FEED_TOKEN}"),  # never the secret's value
    ]
    assert "tok-value-123" not in captured.out
    assert 'left out 1 web page source(s) (kind = "page"): p.' in captured.err
    assert "carry a ${VAR}, a password or a token" in captured.err


HOSTILE = [
    pytest.param(b'<!DOCTYPE o [<!ENTITY a "aaaa">]><opml/>', "declares an entity", id="entity"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * 5000, "the XML is broken", id="not-xml"),
    pytest.param(
        b"<feed xmlns='http://www.w3.org/2005/Atom'/>", "root element is <feed>", id="atom"
    ),
    pytest.param(b" " * (opml.MAX_BYTES + 10), "is larger than 4 MB", id="huge"),
]


@pytest.mark.parametrize(("data", "says"), HOSTILE)
def test_a_hostile_opml_file_is_a_clear_error_and_nothing_is_written(
    tmp_path: Path, env: None, capsys: pytest.CaptureFixture[str], data: bytes, says: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(USER_FILE)
    bad = tmp_path / "bad.opml"
    bad.write_bytes(data)
    assert main(["import", str(bad), "-c", str(config)]) == 65
    err = capsys.readouterr().err
    assert says in err and "Nothing was written." in err
    assert config.read_text() == USER_FILE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.opml", "config.toml"]


def test_a_dry_run_lists_what_would_be_added_and_writes_nothing(
    tmp_path: Path, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(USER_FILE)
    args = ["import", str(DATA / "odd-windows-1252.opml"), "-c", str(config), "--dry-run"]
    assert main([*args, "--tags", "fr", "--tags", "imported"]) == 0
    out = capsys.readouterr().out
    assert "  + le-monde-tech  https://www.lemonde.fr/pixels/rss_full.xml  [fr, imported" in out
    assert "skipped A bookmark: a link to a web page" in out
    assert "Would add 4 source(s) (2 skipped)" in out and "nothing was written" in out
    assert config.read_text() == USER_FILE


def test_a_bad_tag_on_the_command_line_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    code = main(["import", str(DATA / "feedly.opml"), "-c", str(config), "--tags", "My Feeds"])
    assert code == 2
    assert '"My Feeds" is not a valid tag name' in capsys.readouterr().err
    assert config.read_text() == ""


def test_an_import_that_would_break_the_config_says_why_and_writes_nothing(
    tmp_path: Path, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    broken = USER_FILE.replace('interval = "30m"', 'intervall = "30m"')
    config.write_text(broken)
    assert main(["import", str(DATA / "feedly.opml"), "-c", str(config)]) == 78
    err = capsys.readouterr().err
    assert "settings.intervall" in err and "interval" in err
    assert "Nothing was written." in err
    assert config.read_text() == broken
    assert not (tmp_path / "config.toml.bak").exists()


def test_import_and_export_need_no_channel_secret_and_leave_it_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As root on a system install, the daemon's secrets live in its EnvironmentFile only.
    monkeypatch.delenv("NTFY_TOPIC", raising=False)
    config = tmp_path / "config.toml"
    config.write_text(USER_FILE)
    assert main(["import", str(DATA / "feedly.opml"), "-c", str(config)]) == 0
    text = config.read_text()
    assert 'phone = "ntfy://ntfy.sh/${NTFY_TOPIC}"' in text
    capsys.readouterr()
    assert main(["export", "-c", str(config)]) == 0
    assert "openai.com/news/rss.xml" in capsys.readouterr().out


# --- weightwatch add ------------------------------------------------------------------------


def page_with(*feeds: tuple[str, str]) -> str:
    links = "".join(
        f'<link rel="alternate" type="application/rss+xml" title="{t}" href="{u}">'
        for t, u in feeds
    )
    return f"<html><head><title>Lab</title>{links}</head><body><main>Hi</main></body></html>"


@pytest.mark.integration
def test_add_finds_the_one_feed_of_a_page_and_adds_it(
    tmp_path: Path, env: None, http_server: HTTPTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = http_server.set("/feed.xml", rss([Entry("Hello", "https://x.example/1")], "Aurora Lab"))
    page = http_server.set("/", page_with(("Aurora Lab", feed)), content_type=HTML)
    config = tmp_path / "config.toml"
    config.write_text(USER_FILE)
    args = ["add", page, "-c", str(config), "--tags", "labs", "--interval", "2h"]
    with Owner(tmp_path / STATE_DB, "run"):  # a daemon on this config's database: this process
        assert main(args) == 0
    out = capsys.readouterr().out
    assert "Added source aurora-lab" in out
    pid = os.getpid()
    assert f"The weightwatch daemon (pid {pid}) is running on its database: apply the change" in out
    assert f"`kill -HUP {pid}`" in out
    added = config_mod.load(config).sources[-1]
    assert (added.name, added.url, added.tags, added.interval) == (
        "aurora-lab",
        feed,
        ("labs",),
        7200,
    )
    assert config.read_text().startswith(USER_FILE.split("# ---- rules")[0].rstrip("\n"))
    # Adding it again changes nothing.
    assert main(["add", feed, "-c", str(config)]) == 0
    assert "already in the config as aurora-lab" in capsys.readouterr().out


@pytest.mark.integration
def test_add_with_several_feeds_lists_them_and_takes_the_one_picked(
    tmp_path: Path, env: None, http_server: HTTPTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = http_server.set("/posts.xml", rss([Entry("Post", "https://x.example/p")], "Posts"))
    notes = http_server.set("/notes.xml", rss([Entry("Note", "https://x.example/n")], "Notes"))
    http_server.set("/gone.xml", b"", status=404)
    gone = http_server.url("/gone.xml")
    page = http_server.set(
        "/", page_with(("Posts", posts), ("Gone", gone), ("Notes", notes)), content_type=HTML
    )
    config = tmp_path / "config.toml"
    config.write_text(USER_FILE)
    # Not on a terminal and no --pick: the list, and a usage error.
    assert main(["add", page, "-c", str(config)]) == 2
    captured = capsys.readouterr()
    assert f"  1. Posts: {posts}  (RSS, advertised by the page, 1 item)" in captured.out
    assert f"  2. Notes: {notes}" in captured.out and "gone" not in captured.out
    assert "choose one with --pick N" in captured.err
    assert config.read_text() == USER_FILE
    assert main(["add", page, "-c", str(config), "--pick", "2", "--name", "lab-notes"]) == 0
    added = config_mod.load(config).sources[-1]
    assert (added.name, added.url) == ("lab-notes", notes)
    assert main(["add", page, "-c", str(config), "--pick", "7"]) == 2


@pytest.mark.integration
def test_add_asks_on_a_terminal_when_a_page_has_several_feeds(
    tmp_path: Path, env: None, http_server: HTTPTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from weightwatch.cli.add import run_add

    posts = http_server.set("/posts.xml", rss([Entry("Post", "https://x.example/p")], "Posts"))
    notes = http_server.set("/notes.xml", rss([Entry("Note", "https://x.example/n")], "Notes"))
    page = http_server.set("/", page_with(("Posts", posts), ("Notes", notes)), content_type=HTML)
    config = tmp_path / "config.toml"
    config.write_text(USER_FILE)
    answers = iter(["9", "1"])
    args = argparse.Namespace(
        url=page, name=None, tags=None, interval=None, pick=None, timeout=5.0, dry_run=False
    )
    assert run_add(args, config, ask=lambda _: next(answers), interactive=True) == 0
    assert "Type a number from 1 to 2" in capsys.readouterr().out
    assert config_mod.load(config).sources[-1].url == posts


@pytest.mark.integration
def test_add_says_so_when_a_page_has_no_feed_or_cannot_be_fetched(
    tmp_path: Path, http_server: HTTPTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    page = http_server.set("/", page_with(), content_type=HTML)
    assert main(["add", page, "-c", str(config)]) == 1
    assert "no feed found" in capsys.readouterr().err
    assert main(["add", http_server.url("/missing"), "-c", str(config)]) == 1
    assert "could not fetch" in capsys.readouterr().err
    assert config.read_text() == ""


def test_feeds_the_checker_refuses_are_skipped_with_its_reason_and_the_rest_added(
    tmp_path: Path, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(USER_FILE)
    export = tmp_path / "odd.opml"
    export.write_text(
        '<opml version="2.0"><body>'
        '<outline text="Spaced" xmlUrl="https://s.example/my feed.xml"/>'
        '<outline text="Fine" xmlUrl="https://fine.example/feed"/>'
        "</body></opml>"
    )
    assert main(["import", str(export), "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "skipped spaced: url: contains spaces; write them as %20" in out
    assert "Added 1 source(s) (1 skipped)" in out
    assert [s.name for s in config_mod.load(config).sources] == ["openai", "fine"]


# --- after a change: how the running daemon picks it up ------------------------------------


@pytest.mark.parametrize(
    ("command", "says"),
    [
        pytest.param(None, "No weightwatch daemon is running on its database", id="none"),
        pytest.param(
            "run", "The weightwatch daemon (pid {pid}) is running on its database", id="run"
        ),
        pytest.param(
            "once", "`weightwatch once` (pid {pid}) is running now: its next run", id="once"
        ),
    ],
)
def test_an_import_says_how_the_daemon_on_its_database_picks_the_change_up(
    tmp_path: Path, env: None, command: str | None, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(USER_FILE)
    owner = Owner(tmp_path / STATE_DB, command or "run")
    if command:
        owner.acquire()
    try:
        assert main(["import", str(DATA / "feedly.opml"), "-c", str(config)]) == 0
    finally:
        owner.release()
    last = capsys.readouterr().out.splitlines()[-1]
    assert says.format(pid=os.getpid()) in last
    assert last.endswith(".") and last.count(". ") == 0  # one sentence


@pytest.mark.parametrize(
    ("cgroup", "how"),
    [
        pytest.param(
            "0::/system.slice/weightwatch.service\n",
            "`sudo systemctl reload weightwatch`",
            id="system-unit",
        ),
        pytest.param(
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/weightwatch.service\n",
            "`systemctl --user reload weightwatch`",
            id="user-unit",
        ),
        pytest.param(
            "1:name=systemd:/system.slice/weightwatch-lab.service\n0::/\n",
            "`sudo systemctl reload weightwatch-lab`",
            id="cgroup-v1-other-name",
        ),
        pytest.param("0::/system.slice/cron.service\n", "`kill -HUP 4242`", id="started-by-cron"),
        pytest.param(
            "0::/user.slice/user-1000.slice/session-3.scope\n", "`kill -HUP 4242`", id="a-terminal"
        ),
        pytest.param("", "`kill -HUP 4242`", id="no-cgroup"),
    ],
)
def test_the_reload_command_is_the_one_of_the_unit_the_daemon_runs_in(
    cgroup: str, how: str
) -> None:
    advice = reload_advice(4242, cgroup)
    assert advice.startswith("The weightwatch daemon (pid 4242) ")
    assert f"apply the change with {how} (it re-reads the file on SIGHUP)." in advice
