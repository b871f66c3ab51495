"""The one rule for where the config, its environment file and the database are: the units
and the operator commands agree on it (issue 11). A fake root stands in for / throughout."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest import param as case

from weightwatch.config import parse, paths

ROOT = "/fake"
SYSTEM = {"WEIGHTWATCH_SYSTEM_ROOT": ROOT, "HOME": "/home/u"}


@pytest.mark.parametrize(
    ("env", "config", "expected"),
    [
        case({}, "/fake/etc/weightwatch/config.toml", "/fake/var/lib/weightwatch/weightwatch.db",
             id="the system config: the system unit's state directory"),
        case({"STATE_DIRECTORY": "/var/lib/weightwatch"}, "/etc/weightwatch/config.toml",
             "/var/lib/weightwatch/weightwatch.db", id="under the unit: $STATE_DIRECTORY"),
        case({}, "/home/u/.config/weightwatch/config.toml",
             "/home/u/.local/state/weightwatch/weightwatch.db", id="a user's config"),
        case({"XDG_STATE_HOME": "/x/state"}, "/srv/any.toml",
             "/x/state/weightwatch/weightwatch.db", id="XDG_STATE_HOME"),
        case({}, "/fake/etc/weightwatch-old/config.toml",
             "/home/u/.local/state/weightwatch/weightwatch.db", id="another folder in /etc"),
    ],
)  # fmt: skip
def test_default_database_follows_the_config(
    env: dict[str, str], config: str, expected: str
) -> None:
    full = {**SYSTEM, **env}
    assert paths.default_database_path(full, config_path=Path(config)) == Path(expected)


def test_the_unit_and_the_operator_commands_resolve_the_same_system_database() -> None:
    text = '[settings]\ndatabase = "sub/ww.db"\n'
    # the daemon under the system unit, the real paths:
    unit = {
        "CONFIGURATION_DIRECTORY": "/etc/weightwatch",
        "STATE_DIRECTORY": "/var/lib/weightwatch",
    }
    under_unit = parse(text, path=Path("/etc/weightwatch/config.toml"), env=unit)
    # `sudo weightwatch status` on the same install (no systemd variables):
    by_hand = parse(text, path=Path("/etc/weightwatch/config.toml"), env={"HOME": "/root"})
    assert under_unit.settings.database == by_hand.settings.database
    assert by_hand.settings.database == Path("/var/lib/weightwatch/sub/ww.db")
    default = parse("", path=Path("/etc/weightwatch/config.toml"), env={"HOME": "/"})
    assert default.settings.database == Path("/var/lib/weightwatch/weightwatch.db")


@pytest.mark.parametrize(
    ("system", "operator", "exists", "expected"),
    [
        case(True, False, False, "/fake/etc/weightwatch/config.toml", id="--system"),
        case(None, True, True, "/fake/etc/weightwatch/config.toml", id="root, system install"),
        case(None, True, False, "/home/u/.config/weightwatch/config.toml", id="root, no install"),
        case(None, False, True, "/home/u/.config/weightwatch/config.toml", id="another user"),
        case(False, True, True, "/home/u/.config/weightwatch/config.toml", id="system=False"),
    ],
)  # fmt: skip
def test_default_config_path_picks_the_system_install_for_its_operators(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    system: bool | None,
    operator: bool,
    exists: bool,
    expected: str,
) -> None:
    root = tmp_path / "fake"
    if exists:
        (root / "etc/weightwatch").mkdir(parents=True)
        (root / "etc/weightwatch/config.toml").write_text("", encoding="utf-8")
    monkeypatch.setattr(paths, "runs_as_operator", lambda: operator)
    env = {"WEIGHTWATCH_SYSTEM_ROOT": str(root), "HOME": "/home/u"}
    found = paths.default_config_path(env, system=system)
    assert str(found) == expected.replace("/fake", str(root))


def test_the_units_own_variables_win_over_the_system_guess(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "runs_as_operator", lambda: True)
    env = {"CONFIGURATION_DIRECTORY": "/etc/weightwatch", "HOME": "/"}
    assert paths.default_config_path(env) == Path("/etc/weightwatch/config.toml")
    env = {"WEIGHTWATCH_CONFIG": "/srv/w.toml", "HOME": "/"}
    assert paths.default_config_path(env) == Path("/srv/w.toml")


@pytest.mark.parametrize(
    ("uid", "user", "expected"),
    [(0, "root", True), (998, "weightwatch", True), (1000, "alice", False)],
)
def test_root_and_the_service_user_are_the_system_installs_operators(
    uid: int, user: str, expected: bool
) -> None:
    assert paths.runs_as_operator(uid, user) is expected


def test_the_environment_file_is_the_one_the_units_name() -> None:
    assert paths.env_file_for(Path("/etc/weightwatch/config.toml")) == Path("/etc/weightwatch/env")
    user = Path("/home/u/.config/weightwatch/config.toml")
    assert paths.env_file_for(user) == Path("/home/u/.config/weightwatch/env")


def test_the_system_unit_passes_the_paths_the_rule_assumes() -> None:
    unit = (Path(__file__).resolve().parents[2] / "systemd/weightwatch.service").read_text("utf-8")
    assert "ConfigurationDirectory=weightwatch\n" in unit
    assert "StateDirectory=weightwatch\n" in unit
    assert "EnvironmentFile=-/etc/weightwatch/env\n" in unit
    user = (Path(__file__).resolve().parents[2] / "systemd/weightwatch-user.service").read_text(
        "utf-8"
    )
    assert "EnvironmentFile=-%E/weightwatch/env\n" in user
