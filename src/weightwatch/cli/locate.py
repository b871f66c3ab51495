"""How the operator commands find the config, its secrets and the daemon's database.

One rule for every command, on a system service, a user service and a plain shell
(``config.paths``): ``--config FILE``; else ``--system`` or the automatic choice (root or
the ``weightwatch`` user, when ``/etc/weightwatch/config.toml`` exists) for the system
install; else the user's config. The database is the one the daemon of that config uses:
for ``/etc/weightwatch/config.toml`` the system unit's ``/var/lib/weightwatch/weightwatch.db``.

What a command needs from the environment depends on what it does:

- ``read``: status, hits, alerts, explain, backtest send nothing, so they never need
  channel secrets: an unset ``${VAR}`` is left as written. They open an existing database
  read-only and never create or migrate one; a missing or unreadable database is one error
  naming the path, why that path, and what to do. ``alerts retry`` writes, but only to a
  database that exists: without one it fails the same way (there is nothing to requeue).
- ``check``: validates the way the service will run. It reads the units'
  ``EnvironmentFile=`` (``env`` beside the config) when it can; variables it still cannot
  see are warnings, not failures.
- ``send``: once, run, test-notify expand every ``${VAR}``; variables missing from the
  process environment are taken from that same ``env`` file when it is readable (as
  systemd does for the units), so ``sudo weightwatch test-notify`` works on the system
  install.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from weightwatch.config import paths
from weightwatch.config.env import EnvFile, read_env_file
from weightwatch.errors import ConfigError, Problem, StorageError

if TYPE_CHECKING:
    from weightwatch.config import Config
    from weightwatch.storage import Storage


def config_path(args: argparse.Namespace) -> Path:
    """The config file this command uses: ``--config``, else the rule of ``config.paths``."""
    given: Path | None = getattr(args, "config", None)
    if given is not None:
        return Path(given)
    return paths.default_config_path(system=True if getattr(args, "system", False) else None)


def apply_env_file(path: Path) -> EnvFile:
    """Set the variables of the units' ``EnvironmentFile=`` for ``path`` that the process
    environment does not already have (the environment wins); unreadable: nothing set.

    Under a systemd service (``$INVOCATION_ID``) nothing is read: the manager has applied
    the unit's own ``EnvironmentFile=`` (and the service's user often may not read it)."""
    env_file = paths.env_file_for(path)
    if os.environ.get("INVOCATION_ID"):
        return EnvFile(env_file)
    found = read_env_file(env_file)
    for name, value in found.values.items():
        os.environ.setdefault(name, value)
    return found


def load_for_sending(args: argparse.Namespace) -> Config:
    """The config with every ``${VAR}`` expanded (once, test-notify)."""
    from weightwatch import config as config_mod

    path = config_path(args)
    found = apply_env_file(path)
    try:
        return config_mod.load(path)
    except ConfigError as exc:
        unset = any("is not set" in p.message for p in exc.problems)
        if not (unset and found.error):
            raise
        note = Problem(
            "",
            f"{found.path} (the service's EnvironmentFile=) cannot be read by this user"
            f" ({found.error}), so the variables in it are not set here: run the command"
            " with sudo.",
        )
        raise ConfigError([*exc.problems, note], exc.file) from None


def load_for_reading(args: argparse.Namespace) -> Config:
    """The config without secrets: an unset ``${VAR}`` is no problem (nothing is sent)."""
    from weightwatch import config as config_mod

    return config_mod.load(config_path(args), need_secrets=False)


@dataclass
class Checked:
    config: Config
    env_file: EnvFile


def load_for_check(args: argparse.Namespace) -> Checked:
    """The config as the service will see it: the process environment, plus the variables of
    the units' ``EnvironmentFile=`` when it is readable; unset variables become warnings."""
    from weightwatch import config as config_mod

    path = config_path(args)
    found = read_env_file(paths.env_file_for(path))
    env = {**found.values, **os.environ}
    return Checked(config_mod.load(path, env, need_secrets=False), found)


def check_warnings(checked: Checked) -> list[str]:
    """One sentence per ``${VAR}`` that ``check`` could not see."""
    found = checked.env_file
    if found.error:
        where = f"and {found.path} cannot be read by this user ({found.error})"
    elif found.exists:
        where = f"nor in {found.path}"
    else:
        where = f"and there is no {found.path}"
    return [
        f"Warning: {p.path}: {p.message} here, {where}; this value was not checked. The"
        " service must get it from its environment (EnvironmentFile=)."
        for p in checked.config.unexpanded
    ]


def env_file_line(found: EnvFile) -> str:
    if found.error:
        return f"Environment:  {found.path} cannot be read by this user ({found.error})"
    if not found.exists:
        return f"Environment:  no {found.path} (only this process's environment)"
    count = len(found.values)
    return f"Environment:  {found.path} ({count} variable{'' if count == 1 else 's'})"


def database_reason(config: Config) -> str:
    """Why ``config.settings.database`` is the path it is, as a phrase."""
    database = config.settings.database
    if database == paths.default_database_path(config_path=config.path):
        return paths.database_origin(config_path=config.path)
    where = f" in {config.path}" if config.path else ""
    return f"settings.database{where}"


def open_read_only(config: Config) -> Storage:
    """The daemon's database opened read-only: never created or migrated. A missing or
    unreadable file is a ``StorageError`` naming the path, why that path, and what to do."""
    from weightwatch.storage import Storage

    return Storage.open_read_only(existing_database(config))


def open_existing(config: Config) -> Storage:
    """The daemon's database opened for a change (``alerts retry``): only one that exists,
    never created; missing or unreadable, the same ``StorageError`` as ``open_read_only``."""
    from weightwatch.storage import Storage

    return Storage(existing_database(config))


def existing_database(config: Config) -> Path:
    """``settings.database``, or a ``StorageError`` (the path, why that path, what to do)
    when it does not exist or cannot be reached by this user."""
    path = Path(config.settings.database)
    if str(path) != ":memory:":
        try:
            os.stat(path)
        except FileNotFoundError:
            raise StorageError(
                f"There is no database at {path} yet: has weightwatch polled? That path is"
                f" {database_reason(config)}. The first poll creates it: start the service"
                " or run `weightwatch once`; or check --config and settings.database.",
                kind="missing",
            ) from None
        except PermissionError:
            raise StorageError(
                f"The database {path} cannot be read by {_who()}. That path is"
                f" {database_reason(config)}; {_permission_hint(config)}",
                kind="no-access",
            ) from None
    return path


def _who() -> str:
    try:
        import pwd

        return f"the user {pwd.getpwuid(os.geteuid()).pw_name}"
    except (KeyError, ImportError):
        return f"uid {os.geteuid()}"


def _permission_hint(config: Config) -> str:
    if paths.is_system_config(config.path):
        return (
            "the service keeps it in a folder only root can enter (under DynamicUser="
            " systemd keeps /var/lib/private at mode 0700). Run the command with sudo."
        )
    return "run the command as the user the daemon runs as, or with sudo."


def how_to_apply(path: Path) -> str:
    """One sentence after ``add`` or ``import`` changed the config at ``path``: how the change
    reaches the daemon using it. The database's owner lock (``storage.owner``) tells whether
    one runs and its pid; its cgroup tells which systemd unit, if any, runs it."""
    from weightwatch import config as config_mod
    from weightwatch.config import edit
    from weightwatch.storage import owner

    try:
        database = config_mod.load(path, need_secrets=False).settings.database
        held = owner.holder(database)
    except (ConfigError, OSError):  # e.g. the system database, unreadable without sudo
        return edit.how_to_apply(path)
    if held is None:
        return (
            f"No weightwatch daemon is running on its database ({database}) now: the next"
            " `weightwatch run` or `weightwatch once` reads the change."
        )
    if held.command == "once":
        pid = f" (pid {held.pid})" if held.pid else ""
        return f"`weightwatch once`{pid} is running now: its next run reads the change."
    return reload_advice(held.pid, _cgroup(held.pid))


def reload_advice(pid: int | None, cgroup: str) -> str:
    """How to make the daemon ``pid`` re-read its config, given its ``/proc/PID/cgroup``."""
    unit, user = _unit(cgroup)
    who = f"The weightwatch daemon (pid {pid})" if pid else "A weightwatch daemon"
    if unit and user:
        how = f"`systemctl --user reload {unit}`"
    elif unit:
        how = f"`sudo systemctl reload {unit}`"
    elif pid:
        how = f"`kill -HUP {pid}`"
    else:
        how = "its service's reload, or SIGHUP"
    where = f" runs as the systemd service {unit}" if unit else " is running on its database"
    return f"{who}{where}: apply the change with {how} (it re-reads the file on SIGHUP)."


def _unit(cgroup: str) -> tuple[str, bool]:
    """(the weightwatch unit a process runs in or "", whether it is a user unit) from the
    text of ``/proc/PID/cgroup``."""
    for line in cgroup.splitlines():
        parts = line.split(":", 2)[-1].split("/")
        leaf = parts[-1]
        if leaf.startswith("weightwatch") and leaf.endswith(".service"):
            return leaf.removesuffix(".service"), any(p.startswith("user@") for p in parts)
    return "", False


def _cgroup(pid: int | None) -> str:
    if pid is None:
        return ""
    try:
        return Path(f"/proc/{pid}/cgroup").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
