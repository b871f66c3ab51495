"""The config file: TOML in, validated immutable values out (``load`` / ``parse``).

Every problem in the file is collected and raised at once as ``ConfigError.problems``,
each with its key path (``rule[2].query: unbalanced parenthesis at column 14``). Key paths
use the table names as the user writes them: ``settings.interval``, ``channels.team[1]``,
``source[3].url``, ``rule[2].notify[0]`` (indexes are 0-based, in file order).

``${VAR}`` (and ``${VAR:-default}``, ``$$`` for a literal dollar) is expanded in channel URLs
and ``settings.user_agent`` only. Every value taken from the environment is recorded in
``Config.secrets`` and never appears in a ``ConfigError`` or in ``summary()``.

The package: ``model`` (the values), ``schema`` (every key: type, default, bounds, help),
``reference`` (docs/config.md from the schema), ``reading`` (file and TOML), ``check`` and
``rules`` (the checker), ``units`` (durations, sizes), ``paths`` (default locations), ``env``
(``${VAR}``), ``summary`` (``weightwatch check``). Importing this package or ``model`` loads
no library wrapper (apprise, jinja2, selectolax, ...): ``load`` and ``parse`` import the
checker when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from weightwatch.config.model import (
    DEFAULT_DEDUP_WINDOW,
    DEFAULT_HEALTH_AFTER,
    DEFAULT_HEALTH_FAILURES,
    DEFAULT_INTERVAL,
    DEFAULT_MAX_BODY,
    DEFAULT_RETENTION,
    DEFAULT_TIMEOUT,
    DEFAULT_TITLE_SIMILARITY,
    DEFAULT_WORKERS,
    MAX_MAX_BODY,
    MAX_TIMEOUT,
    MAX_WORKERS,
    MIN_INTERVAL,
    MIN_MAX_BODY,
    MIN_TIMEOUT,
    MIN_WORKERS,
    ON_UPDATE,
    Channel,
    Config,
    Rule,
    Settings,
    Source,
)
from weightwatch.config.paths import (
    CONFIG_FILE_NAME,
    DATABASE_FILE_NAME,
    default_config_path,
    default_database_path,
    resolve_database,
)
from weightwatch.config.summary import summary
from weightwatch.config.units import format_duration, format_size, parse_duration, parse_size
from weightwatch.errors import ConfigError, Problem

__all__ = [
    "CONFIG_FILE_NAME",
    "DATABASE_FILE_NAME",
    "DEFAULT_DEDUP_WINDOW",
    "DEFAULT_HEALTH_AFTER",
    "DEFAULT_HEALTH_FAILURES",
    "DEFAULT_INTERVAL",
    "DEFAULT_MAX_BODY",
    "DEFAULT_RETENTION",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TITLE_SIMILARITY",
    "DEFAULT_WORKERS",
    "MAX_MAX_BODY",
    "MAX_TIMEOUT",
    "MAX_WORKERS",
    "MIN_INTERVAL",
    "MIN_MAX_BODY",
    "MIN_TIMEOUT",
    "MIN_WORKERS",
    "ON_UPDATE",
    "Channel",
    "Config",
    "ConfigError",
    "Problem",
    "Rule",
    "Settings",
    "Source",
    "default_config_path",
    "default_database_path",
    "format_duration",
    "format_size",
    "load",
    "parse",
    "parse_duration",
    "parse_size",
    "resolve_database",
    "summary",
]


def load(path: Path, env: Mapping[str, str] | None = None, *, need_secrets: bool = True) -> Config:
    """Read and validate the config file at ``path``; ConfigError lists every problem.

    ``need_secrets=False`` (commands that send nothing): an unset ``${VAR}`` is kept as
    written and listed in ``Config.unexpanded`` instead of being a problem.
    """
    from weightwatch.config import reading

    return reading.load(path, env, need_secrets=need_secrets)


def parse(
    text: str,
    *,
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    need_secrets: bool = True,
) -> Config:
    """Validate config ``text``; ``path`` (where it came from) anchors relative paths.

    ``env`` defaults to ``os.environ``. Raises ConfigError with every problem found.
    ``need_secrets=False``: as for ``load``.
    """
    from weightwatch.config import reading

    return reading.parse(text, path=path, env=env, need_secrets=need_secrets)
