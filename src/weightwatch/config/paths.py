"""Where the config file and the database live when the config does not say.

Follows systemd's ``ConfigurationDirectory=`` / ``StateDirectory=`` first, then the XDG base
directory variables, then the home folder. Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CONFIG_FILE_NAME = "config.toml"
DATABASE_FILE_NAME = "weightwatch.db"


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the config is looked for when none is given.

    ``$WEIGHTWATCH_CONFIG``, else ``$CONFIGURATION_DIRECTORY/config.toml`` (systemd's
    ``ConfigurationDirectory=``), else ``$XDG_CONFIG_HOME/weightwatch/config.toml``, else
    ``~/.config/weightwatch/config.toml``.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    explicit = environ.get("WEIGHTWATCH_CONFIG", "")
    if explicit:
        return _expand_user(explicit, environ)
    systemd = _first_dir(environ.get("CONFIGURATION_DIRECTORY", ""))
    if systemd is not None:
        return systemd / CONFIG_FILE_NAME
    xdg = _absolute_dir(environ.get("XDG_CONFIG_HOME", ""))
    if xdg is not None:
        return xdg / "weightwatch" / CONFIG_FILE_NAME
    return _home(environ) / ".config" / "weightwatch" / CONFIG_FILE_NAME


def default_database_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the database goes when ``settings.database`` is not set.

    ``$STATE_DIRECTORY/weightwatch.db`` (systemd's ``StateDirectory=``), else
    ``$XDG_STATE_HOME/weightwatch/weightwatch.db``, else
    ``~/.local/state/weightwatch/weightwatch.db``.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    state = _first_dir(environ.get("STATE_DIRECTORY", ""))
    if state is not None:
        return state / DATABASE_FILE_NAME
    xdg = _absolute_dir(environ.get("XDG_STATE_HOME", ""))
    if xdg is not None:
        return xdg / "weightwatch" / DATABASE_FILE_NAME
    return _home(environ) / ".local" / "state" / "weightwatch" / DATABASE_FILE_NAME


def resolve_database(
    value: str, *, config_path: Path | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """The database path for a ``settings.database`` value: ``~`` expanded; a relative path
    is relative to ``$STATE_DIRECTORY`` when set, else to the config file's folder (else the
    current directory)."""
    environ: Mapping[str, str] = os.environ if env is None else env
    path = _expand_user(value, environ)
    if path.is_absolute():
        return path
    state = _first_dir(environ.get("STATE_DIRECTORY", ""))
    if state is not None:
        return state / path
    if config_path is not None:
        return Path(config_path).absolute().parent / path
    return Path.cwd() / path


def _home(env: Mapping[str, str]) -> Path:
    home = env.get("HOME", "")
    return Path(home) if home else Path.home()


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
