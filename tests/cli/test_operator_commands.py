"""The operator commands find the daemon's config and database, on a system install as on a
user's, and the commands that only read never need secrets nor create a database (issue 11).

The system install lives under a fake root (``$WEIGHTWATCH_SYSTEM_ROOT``): these tests never
touch the real ``/etc`` or ``/var/lib``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon_harness import DaemonProcess, daemon_config
from servers import WebhookReceiver
from weightwatch.cli import main
from weightwatch.config import paths

READERS = [
    ["status"],
    ["status", "--json"],
    ["hits"],
    ["alerts"],
    ["alerts", "--failed"],
    ["explain", "--rule", "r", "--item", "nothing-like-this"],
    ["backtest", "--rule", "r"],
]

UNSET = [
    *("WEIGHTWATCH_CONFIG", "CONFIGURATION_DIRECTORY", "STATE_DIRECTORY"),
    *("XDG_CONFIG_HOME", "XDG_STATE_HOME", "HOOK_TOKEN", "ALERT_URL", "FEED_KEY"),
    "INVOCATION_ID",  # set under a systemd service, where the unit's env file is applied
]

SYSTEM_CONFIG = """\
[settings]
timeout = "3s"

[channels]
hook = "json://127.0.0.1:{port}/hook?+X-Token=${{HOOK_TOKEN}}"
whole = "${{ALERT_URL}}"

[[source]]
name = "lab-feed"
url = "http://127.0.0.1:{dead}/feed.xml?key=${{FEED_KEY:-none}}"

[[rule]]
name = "r"
any = ["open weights"]
notify = ["hook", "whole"]
"""


@pytest.fixture(autouse=True)
def restore_environ() -> Iterator[None]:
    """The commands that send set the env file's variables in os.environ, as for the
    process they normally are; undo that between tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def system_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fake root with /etc/weightwatch/config.toml; HOME is "/" as for the unit's user
    under ``sudo -u`` (nothing may be written there); no secret in the environment."""
    root = tmp_path / "root"
    (root / "etc/weightwatch").mkdir(parents=True)
    monkeypatch.setenv("WEIGHTWATCH_SYSTEM_ROOT", str(root))
    monkeypatch.setenv("HOME", "/")
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    yield root


def write_system_config(root: Path, port: int = 9, dead: int = 9) -> Path:
    path = root / "etc/weightwatch/config.toml"
    path.write_text(SYSTEM_CONFIG.format(port=port, dead=dead), encoding="utf-8")
    return path


def write_env_file(root: Path, text: str) -> Path:
    path = root / "etc/weightwatch/env"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def system_db(root: Path) -> Path:
    return root / "var/lib/weightwatch/weightwatch.db"


@pytest.mark.integration
def test_the_system_database_is_found_and_read_without_the_secrets_it_was_written_with(
    system_root: Path, webhook: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    write_system_config(system_root, webhook.port)
    env = write_env_file(system_root, "HOOK_TOKEN=t0ken-from-env-file\nALERT_URL=console://\n")
    # once, as the service would: the secrets come from the units' EnvironmentFile=.
    assert main(["once", "--system"]) == 0
    assert system_db(system_root).is_file()
    assert not Path("/.local/state/weightwatch").exists()
    env.unlink()  # now no secret anywhere: the commands that only read do not need one
    capsys.readouterr()
    for argv in READERS:
        expected = 1 if "--item" in argv else 0  # the database was read: no such item
        assert main([*argv, "--system"]) == expected, argv
    captured = capsys.readouterr()
    assert "lab-feed" in captured.out and "never polled" not in captured.out
    assert "no stored item has the id or link" in captured.err
    assert "environment variable" not in captured.err
    assert "t0ken" not in captured.out


@pytest.mark.integration
def test_root_without_config_option_uses_the_system_install_when_it_exists(
    system_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(paths, "runs_as_operator", lambda: True)  # root or the weightwatch user
    config = write_system_config(system_root)
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert f"Config file:  {config}" in out
    assert f"Database:     {system_db(system_root)}" in out


def test_another_user_without_config_option_uses_their_own_config(
    system_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(paths, "runs_as_operator", lambda: False)
    write_system_config(system_root)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.default_config_path() == tmp_path / "home/.config/weightwatch/config.toml"
    assert paths.default_config_path(system=True) == system_root / "etc/weightwatch/config.toml"


@pytest.mark.parametrize("argv", READERS, ids=" ".join)
def test_a_reading_command_on_the_system_install_names_the_missing_database_and_why(
    system_root: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    write_system_config(system_root)
    assert main([*argv, "--system"]) == 1
    err = capsys.readouterr().err
    assert f"There is no database at {system_db(system_root)} yet" in err
    assert "That path is the system service's database, since the config is" in err
    assert "environment variable" not in err  # the unset secrets are no problem here
    assert not (system_root / "var").exists()  # nothing created, not even the folder


def test_a_missing_user_database_names_the_default_it_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_STATE_HOME", "STATE_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "c.toml"
    config.write_text('[[source]]\nname = "a"\nurl = "http://127.0.0.1:9/a.xml"\n', "utf-8")
    assert main(["status", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"no database at {tmp_path}/.local/state/weightwatch/weightwatch.db yet" in err
    assert "the default for this user (~/.local/state/weightwatch)" in err
    assert not (tmp_path / ".local").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_database_this_user_cannot_reach_is_exit_77_with_the_reason(
    system_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_system_config(system_root)
    private = system_root / "var/lib/private"
    (private / "weightwatch").mkdir(parents=True)
    (system_root / "var/lib/weightwatch").symlink_to("private/weightwatch")
    private.chmod(0o700 & ~stat.S_IRWXU)  # as under DynamicUser=, to someone not root
    try:
        assert main(["status", "--system"]) == 77
    finally:
        private.chmod(0o700)
    err = capsys.readouterr().err
    assert f"The database {system_db(system_root)} cannot be read by the user" in err
    assert "Run the command with sudo." in err


def test_check_reads_the_units_environment_file_and_masks_what_it_read(
    system_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_system_config(system_root)
    env = write_env_file(
        system_root,
        '# secrets\nHOOK_TOKEN="hook-s3cret-1"\n\nALERT_URL=json://127.0.0.1:9/whole\n',
    )
    assert main(["check", "--system"]) == 0
    captured = capsys.readouterr()
    assert f"Environment:  {env} (2 variables)" in captured.out
    assert f"Database:     {system_db(system_root)}" in captured.out
    assert captured.err == ""  # every variable seen: no warning
    assert "hook-s3cret-1" not in captured.out


def test_check_warns_about_variables_it_cannot_see_and_still_passes(
    system_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_system_config(system_root)
    write_env_file(system_root, "HOOK_TOKEN=hook-s3cret-1\n")
    assert main(["check", "--system"]) == 0
    captured = capsys.readouterr()
    env = system_root / "etc/weightwatch/env"
    assert captured.err.splitlines() == [
        f"Warning: channels.whole: environment variable ALERT_URL is not set here, nor in {env};"
        " this value was not checked. The service must get it from its environment"
        " (EnvironmentFile=)."
    ]
    assert "whole: ${ALERT_URL}" in captured.out


def test_check_says_when_the_environment_file_is_absent(
    system_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_system_config(system_root)
    assert main(["check", "--system"]) == 0
    captured = capsys.readouterr()
    assert "environment variable HOOK_TOKEN is not set here, and there is no" in captured.err
    assert "environment variable ALERT_URL is not set here" in captured.err
    assert "Environment:  no " in captured.out


@pytest.mark.integration
def test_test_notify_sends_with_the_secret_from_the_environment_file(
    system_root: Path, webhook: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    write_system_config(system_root, webhook.port)
    write_env_file(system_root, "HOOK_TOKEN=hook-s3cret-2\nALERT_URL=console://\n")
    assert main(["test-notify", "--system", "hook"]) == 0
    [posted] = [r for r in webhook.requests if r.path.startswith("/hook")]
    assert posted.headers["x-token"] == "hook-s3cret-2"
    assert "hook-s3cret-2" not in capsys.readouterr().out


def test_a_command_that_sends_still_needs_every_variable(
    system_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_system_config(system_root)
    assert main(["test-notify", "--system"]) == 78
    err = capsys.readouterr().err
    assert "channels.hook: environment variable HOOK_TOKEN is not set" in err
    assert "channels.whole: environment variable ALERT_URL is not set" in err


@pytest.mark.integration
def test_once_creates_the_database_0600_under_umask_022(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    config = tmp_path / "c.toml"
    config.write_text('[[source]]\nname = "a"\nurl = "http://127.0.0.1:9/a.xml"\n', "utf-8")
    old = os.umask(0o022)
    try:
        assert main(["once", "--config", str(config)]) == 0
    finally:
        os.umask(old)
    db = tmp_path / "state/weightwatch/weightwatch.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def journal_run(args: list[str], tmp_path: Path, env: dict[str, str]) -> list[str]:
    """``weightwatch ARGS`` with stderr announced as the journal stream, as systemd does."""
    log = tmp_path / f"stderr-{len(list(tmp_path.iterdir()))}.log"
    with log.open("wb") as err:
        st = os.fstat(err.fileno())
        full = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("WEIGHTWATCH_", "JOURNAL_", "INVOCATION_ID"))
        }
        full.update(env, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        subprocess.run(
            [sys.executable, "-m", "weightwatch", *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=full,
            timeout=60,
            check=False,
        )
    return [line for line in log.read_text("utf-8").splitlines() if line.strip()]


@pytest.mark.system
def test_under_the_journal_config_problems_are_errors_and_unseen_variables_warnings(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    (root / "etc/weightwatch").mkdir(parents=True)
    write_system_config(root)
    env = {"WEIGHTWATCH_SYSTEM_ROOT": str(root), "HOME": "/"}
    refused = journal_run(["once", "--system"], tmp_path, env)  # secrets missing: exit 78
    assert any("HOOK_TOKEN is not set" in line for line in refused)
    assert [line for line in refused if not line.startswith("<3>")] == []
    warned = journal_run(["check", "--system"], tmp_path, env)
    assert len(warned) == 2 and all(line.startswith("<4>Warning: ") for line in warned)
    missing = journal_run(["status", "--system"], tmp_path, env)
    assert len(missing) == 1 and missing[0].startswith("<3>weightwatch: There is no database")


@pytest.mark.system
def test_run_by_hand_takes_its_secrets_from_the_env_file_beside_the_config(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    hook = f"json://127.0.0.1:{webhook.port}/hook?+X-Token=${{HOOK_TOKEN}}"
    config = daemon_config(tmp_path, {"a": "http://127.0.0.1:9/a.xml"}, hook)
    (tmp_path / "env").write_text("HOOK_TOKEN=from-env-file\n", encoding="utf-8")
    daemon = DaemonProcess(config, tmp_path, env={"INVOCATION_ID": ""})  # not a service
    try:
        daemon.wait_ready(timeout=60)  # exit 78 ("HOOK_TOKEN is not set") would fail here
        assert daemon.stop() == 0
    finally:
        daemon.close()
    assert "from-env-file" not in daemon.log


def test_under_a_systemd_service_the_env_file_is_left_to_the_manager(
    system_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_system_config(system_root)
    write_env_file(system_root, "HOOK_TOKEN=hook-s3cret-3\nALERT_URL=console://\n")
    monkeypatch.setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef")
    assert main(["test-notify", "--system"]) == 78  # the unit did not set them: a problem
    assert "HOOK_TOKEN is not set" in capsys.readouterr().err
