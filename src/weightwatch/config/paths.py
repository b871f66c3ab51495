"""Where the config file and the database live when neither the command line nor the config
says: one rule shared by the units and the operator commands.

**The config file** (``default_config_path``): ``$WEIGHTWATCH_CONFIG``; else
``$CONFIGURATION_DIRECTORY/config.toml`` (systemd's ``ConfigurationDirectory=``, i.e. under
the unit); else the system install's ``/etc/weightwatch/config.toml`` when ``--system`` is
given, or when it exists and the command runs as root or as the ``weightwatch`` user (so
``sudo weightwatch status`` finds the system service); else
``$XDG_CONFIG_HOME/weightwatch/config.toml``, else ``~/.config/weightwatch/config.toml``.

**The database** (``default_database_path``, when ``settings.database`` is not set):
``$STATE_DIRECTORY/weightwatch.db`` (systemd's ``StateDirectory=``); else, for the system
install's config (a config file in ``/etc/weightwatch/``), ``/var/lib/weightwatch/weightwatch.db``,
which is the ``$STATE_DIRECTORY`` the system unit gives the daemon (under ``DynamicUser=`` a
link to ``/var/lib/private/weightwatch/``); else ``$XDG_STATE_HOME/weightwatch/weightwatch.db``,
else ``~/.local/state/weightwatch/weightwatch.db``. A relative ``settings.database`` is
relative to that same state directory for the system config, as it is under the unit.

**The environment file** (``env_file_for``): ``env`` beside the config file, the file both
units name in ``EnvironmentFile=`` (``/etc/weightwatch/env``, ``~/.config/weightwatch/env``).

``$WEIGHTWATCH_SYSTEM_ROOT`` (default ``/``) is put in front of ``/etc`` and ``/var/lib``:
for tests and packagers, never needed on a real install. Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CONFIG_FILE_NAME = "config.toml"
DATABASE_FILE_NAME = "weightwatch.db"
ENV_FILE_NAME = "env"
#: The system unit's ``User=``/``DynamicUser=`` name, ``ConfigurationDirectory=`` and
#: ``StateDirectory=``.
SERVICE_USER = "weightwatch"
SYSTEM_CONFIG_DIR = "etc/weightwatch"
SYSTEM_STATE_DIR = "var/lib/weightwatch"


def system_root(env: Mapping[str, str] | None = None) -> Path:
    environ: Mapping[str, str] = os.environ if env is None else env
    return Path(environ.get("WEIGHTWATCH_SYSTEM_ROOT", "") or "/")


def system_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``/etc/weightwatch/config.toml``: the system unit's config."""
    return system_root(env) / SYSTEM_CONFIG_DIR / CONFIG_FILE_NAME


def system_state_dir(env: Mapping[str, str] | None = None) -> Path:
    """``/var/lib/weightwatch``: the system unit's ``$STATE_DIRECTORY``."""
    return system_root(env) / SYSTEM_STATE_DIR


def is_system_config(config_path: Path | None, env: Mapping[str, str] | None = None) -> bool:
    """Whether ``config_path`` lies in the system install's config folder (``/etc/weightwatch``)."""
    if config_path is None:
        return False
    folder = system_config_path(env).parent
    try:
        return Path(config_path).absolute().parent.resolve() == folder.resolve()
    except (OSError, RuntimeError):
        return Path(config_path).absolute().parent == folder


def runs_as_operator(uid: int | None = None, user: str | None = None) -> bool:
    """Whether this process may mean the system service: root or the ``weightwatch`` user."""
    uid = os.geteuid() if uid is None else uid
    if uid == 0:
        return True
    if user is None:
        try:
            import pwd

            user = pwd.getpwuid(uid).pw_name
        except (KeyError, ImportError):
            return False
    return user == SERVICE_USER


def default_config_path(
    env: Mapping[str, str] | None = None, *, system: bool | None = None
) -> Path:
    """Where the config is looked for when none is given (see the module docstring).

    ``system``: True for ``--system``; None (the default) decides by the process's user and
    whether ``/etc/weightwatch/config.toml`` exists; False never picks the system config.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    explicit = environ.get("WEIGHTWATCH_CONFIG", "")
    if explicit and not system:
        return _expand_user(explicit, environ)
    systemd = _first_dir(environ.get("CONFIGURATION_DIRECTORY", ""))
    if systemd is not None and not system:
        return systemd / CONFIG_FILE_NAME
    site = system_config_path(environ)
    if system or (system is None and runs_as_operator() and site.is_file()):
        return site
    return user_config_path(environ)


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/weightwatch/config.toml``, else ``~/.config/weightwatch/config.toml``."""
    environ: Mapping[str, str] = os.environ if env is None else env
    xdg = _absolute_dir(environ.get("XDG_CONFIG_HOME", ""))
    if xdg is not None:
        return xdg / "weightwatch" / CONFIG_FILE_NAME
    return _home(environ) / ".config" / "weightwatch" / CONFIG_FILE_NAME


def env_file_for(config_path: Path) -> Path:
    """The units' ``EnvironmentFile=`` for this config: ``env`` in the config's folder."""
    return Path(config_path).absolute().parent / ENV_FILE_NAME


def default_database_path(
    env: Mapping[str, str] | None = None, *, config_path: Path | None = None
) -> Path:
    """Where the database goes when ``settings.database`` is not set (see the module docstring)."""
    return _state_dir(os.environ if env is None else env, config_path) / DATABASE_FILE_NAME


def database_origin(
    env: Mapping[str, str] | None = None, *, config_path: Path | None = None
) -> str:
    """Why the default database is where it is, as a phrase for messages."""
    environ: Mapping[str, str] = os.environ if env is None else env
    if _first_dir(environ.get("STATE_DIRECTORY", "")) is not None:
        return "the default in $STATE_DIRECTORY (set by systemd's StateDirectory=)"
    if is_system_config(config_path, environ):
        return (
            f"the system service's database, since the config is {config_path}"
            " (StateDirectory=weightwatch in weightwatch.service)"
        )
    if _absolute_dir(environ.get("XDG_STATE_HOME", "")) is not None:
        return "the default in $XDG_STATE_HOME"
    return "the default for this user (~/.local/state/weightwatch)"


def resolve_database(
    value: str, *, config_path: Path | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """The database path for a ``settings.database`` value: ``~`` expanded; a relative path
    is relative to ``$STATE_DIRECTORY`` when set (or, for the system config, to the system
    unit's state directory), else to the config file's folder (else the current directory)."""
    environ: Mapping[str, str] = os.environ if env is None else env
    path = _expand_user(value, environ)
    if path.is_absolute():
        return path
    state = _first_dir(environ.get("STATE_DIRECTORY", ""))
    if state is not None:
        return state / path
    if is_system_config(config_path, environ):
        return system_state_dir(environ) / path
    if config_path is not None:
        return Path(config_path).absolute().parent / path
    return Path.cwd() / path


def _state_dir(env: Mapping[str, str], config_path: Path | None) -> Path:
    state = _first_dir(env.get("STATE_DIRECTORY", ""))
    if state is not None:
        return state
    if is_system_config(config_path, env):
        return system_state_dir(env)
    xdg = _absolute_dir(env.get("XDG_STATE_HOME", ""))
    if xdg is not None:
        return xdg / "weightwatch"
    return _home(env) / ".local" / "state" / "weightwatch"


def _home(env: Mapping[str, str]) -> Path:
    home = env.get("HOME", "")
    if home:
        return Path(home)
    try:
        return Path.home()
    except RuntimeError:  # no HOME and no passwd entry
        return Path("/nonexistent")


def _expand_user(value: str, env: Mapping[str, str]) -> Path:
    if value == "~" or value.startswith("~/"):
        return _home(env) / value[2:]
    return Path(os.path.expanduser(value))


def _first_dir(value: str) -> Path | None:
    """systemd passes ``StateDirectory=a b`` as ``/var/lib/a:/var/lib/b``; use the first."""
    first = value.split(":", 1)[0].strip()
    return Path(first) if first else None


def _absolute_dir(value: str) -> Path | None:
    """The XDG spec says relative paths in XDG_* variables are to be ignored."""
    path = Path(value) if value else None
    return path if path is not None and path.is_absolute() else None
