"""Config writes keep the user's file: comments, order, formatting, ${VAR}s, mode, one backup."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from weightwatch import config as config_mod
from weightwatch.config import edit, reading
from weightwatch.errors import ConfigError
from weightwatch.types import NewSource

ENV = {"NTFY_TOPIC": "s3cret-topic"}

USER_FILE = """\
# My weightwatch config  -- hand written, keep my notes!
[settings]
interval   = "15m"      # aligned, as I like it
timeout = "20s"

[channels]
phone = "ntfy://ntfy.sh/${NTFY_TOPIC}"   # the secret stays in the environment

# --- blogs ---
[[source]]
name = "openai"
url = "https://openai.com/news/rss.xml"   # official
tags = [ "ai",   "labs" ]

# --- rules ---
[[rule]]
name = "weights"
query = '"open weights"'
notify = ["phone"]
"""

NEW = [
    NewSource("hf", "https://huggingface.co/blog/feed.xml", ("ai",)),
    NewSource("lwn", "https://lwn.net/headlines/rss", (), "1h"),
]

INSERTED = """
[[source]]
name = "hf"
url = "https://huggingface.co/blog/feed.xml"
tags = ["ai"]

[[source]]
name = "lwn"
url = "https://lwn.net/headlines/rss"
interval = "1h"
"""


def write(tmp_path: Path, text: str, mode: int = 0o640) -> Path:
    path = tmp_path / "config.toml"
    path.write_bytes(text.encode())
    path.chmod(mode)
    return path


def test_adding_sources_keeps_the_users_file_byte_for_byte_around_the_new_tables(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, USER_FILE)
    done = edit.add_sources(path, NEW, env=ENV)
    text = path.read_text()
    anchor = 'tags = [ "ai",   "labs" ]\n'
    assert text == USER_FILE.replace(anchor, anchor + INSERTED)
    assert done.backup == tmp_path / "config.toml.bak"
    assert done.backup.read_text() == USER_FILE
    cfg = config_mod.load(path, env=ENV)
    assert [s.name for s in cfg.sources] == ["openai", "hf", "lwn"]
    assert cfg.sources[2].interval == 3600
    assert "${NTFY_TOPIC}" in text and "s3cret-topic" not in text


def test_a_source_written_after_the_rules_is_where_new_ones_follow(tmp_path: Path) -> None:
    late = '\n[[source]]\nname = "late"\nurl = "https://late.example/feed"\n# the end\n'
    path = write(tmp_path, USER_FILE + late)
    edit.add_sources(path, NEW[:1], env=ENV)
    text = path.read_text()
    block = INSERTED.split("\n\n")[0] + "\n"
    anchor = 'url = "https://late.example/feed"\n'
    assert text == USER_FILE + late.replace(anchor, anchor + block)


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        pytest.param(
            '[settings]\ntimeout = "20s"\n',
            '[settings]\ntimeout = "20s"\n\n[[source]]\nname = "a"\nurl = "https://a.example/"\n',
            id="no-source-yet",
        ),
        pytest.param(
            '[settings]\ntimeout = "20s"',
            '[settings]\ntimeout = "20s"\n\n[[source]]\nname = "a"\nurl = "https://a.example/"\n',
            id="no-final-newline",
        ),
        pytest.param(
            '[[source]]\r\nname = "b"\r\nurl = "https://b.example/"\r\n',
            '[[source]]\r\nname = "b"\r\nurl = "https://b.example/"\r\n\r\n'
            '[[source]]\r\nname = "a"\r\nurl = "https://a.example/"\r\n',
            id="windows-line-ends",
        ),
        pytest.param(
            "",
            '[[source]]\nname = "a"\nurl = "https://a.example/"\n',
            id="empty-file",
        ),
    ],
)
def test_the_new_table_fits_the_files_shape(tmp_path: Path, original: str, expected: str) -> None:
    path = write(tmp_path, original)
    edit.add_sources(path, [NewSource("a", "https://a.example/")], env={})
    assert path.read_bytes() == expected.encode()


def test_a_dollar_in_a_new_url_stays_a_dollar_and_is_never_read_as_a_variable(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "")
    url = "https://x.example/feed?sig=${HOME}$1"
    edit.add_sources(path, [NewSource("x", url)], env={"HOME": "/root"})
    assert 'url = "https://x.example/feed?sig=$${HOME}$$1"' in path.read_text()
    assert config_mod.load(path, env={"HOME": "/root"}).sources[0].url == url
    assert edit.configured_sources(path.read_text()) == [("x", url)]


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        pytest.param(
            NewSource("openai", "https://other.example/"),
            'source[1].name: "openai" is already used by source[0]',
            id="name-taken",
        ),
        pytest.param(
            NewSource("x", "https://x.example/", (), "soon"),
            "source[1].interval:",
            id="bad-interval",
        ),
        pytest.param(
            NewSource("x", "https://openai.com/news/rss.xml"),
            "source[1].url: is the same URL as source[0]",
            id="same-url",
        ),
    ],
)
def test_a_change_that_would_break_the_config_writes_nothing(
    tmp_path: Path, source: NewSource, problem: str
) -> None:
    path = write(tmp_path, USER_FILE)
    before = os.stat(path)
    with pytest.raises(ConfigError) as info:
        edit.add_sources(path, [source], env=ENV)
    assert any(str(p).startswith(problem) for p in info.value.problems), info.value
    assert path.read_text() == USER_FILE
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # no .bak, no temp


def test_an_unset_variable_needs_no_value_to_edit_and_stays_as_written(
    tmp_path: Path,
) -> None:
    # Editing sends nothing: like the reading commands, it needs no channel secret.
    path = write(tmp_path, USER_FILE)
    edit.add_sources(path, NEW, env={})
    text = path.read_text()
    assert 'phone = "ntfy://ntfy.sh/${NTFY_TOPIC}"' in text
    assert all(f'name = "{s.name}"' in text for s in NEW)


def test_the_files_mode_is_kept_and_one_backup_replaces_the_last(tmp_path: Path) -> None:
    path = write(tmp_path, USER_FILE, mode=0o640)
    edit.add_sources(path, NEW[:1], env=ENV)
    second = path.read_text()
    edit.add_sources(path, NEW[1:], env=ENV)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    backup = tmp_path / "config.toml.bak"
    assert backup.read_text() == second
    assert stat.S_IMODE(backup.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "config.toml.bak"]


def test_a_symlinked_config_is_written_through_the_link(tmp_path: Path) -> None:
    real = write(tmp_path, USER_FILE)
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    done = edit.add_sources(link, NEW, env=ENV)
    assert link.is_symlink() and done.path == real
    assert "lwn" in real.read_text()


def test_a_missing_config_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    done = edit.add_sources(path, NEW, env={})
    assert done.created and done.backup is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [s.name for s in config_mod.load(path, env={}).sources] == ["hf", "lwn"]


def test_without_write_the_new_text_is_returned_and_the_file_untouched(tmp_path: Path) -> None:
    path = write(tmp_path, USER_FILE)
    done = edit.add_sources(path, NEW, env=ENV, write=False)
    assert "lwn" in done.text and path.read_text() == USER_FILE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


@pytest.mark.parametrize(
    ("where", "says"),
    [
        pytest.param("/etc/weightwatch/config.toml", "sudo systemctl reload weightwatch", id="etc"),
        pytest.param("~/.config/weightwatch/config.toml", "systemctl --user reload", id="home"),
        pytest.param("/srv/ww/config.toml", "restart", id="elsewhere"),
    ],
)
def test_the_user_is_told_how_to_apply_the_change(where: str, says: str) -> None:
    assert says in edit.how_to_apply(Path(where).expanduser())


def test_an_edit_made_to_the_file_meanwhile_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, USER_FILE)

    def edited_meanwhile(text: str, **kw: Any) -> config_mod.Config:
        path.write_text(USER_FILE + "# added by hand just now\n")
        return reading.parse(text, **kw)

    # The hand edit lands while the new file is being checked, before it is written.
    monkeypatch.setattr("weightwatch.config.edit.parse", edited_meanwhile)
    with pytest.raises(ConfigError) as info:
        edit.add_sources(path, NEW, env=ENV)
    assert "changed while weightwatch was editing it" in str(info.value)
    assert path.read_text().endswith("# added by hand just now\n")
    assert not list(tmp_path.glob(".config.toml.*"))
