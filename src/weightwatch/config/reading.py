"""Reading the config: the file's bytes, its TOML, then the checker (``load`` / ``parse``).

Every problem with reading the file or its TOML syntax is one ``Problem`` with a hint; the
problems with the values are collected by ``check.Checker``. ``weightwatch.config`` imports
this module only when ``load`` or ``parse`` is called.
"""

from __future__ import annotations

import ast
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

from weightwatch.config.check import Checker
from weightwatch.config.model import Config
from weightwatch.errors import ConfigError, Problem

#: The largest config file read: a real one is a few KB; this stops ``-c /dev/zero``.
MAX_CONFIG_BYTES = 1024 * 1024


def load(path: Path, env: Mapping[str, str] | None = None, *, need_secrets: bool = True) -> Config:
    """Read and validate the config file at ``path``; ConfigError lists every problem.

    ``need_secrets=False``: for commands that send nothing; see ``parse``."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            [Problem("", "the config file does not exist (see config.example.toml to start one)")],
            str(path),
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            [Problem("", "is a directory; give the path of the config file itself")], str(path)
        ) from None
    except PermissionError:
        raise ConfigError(
            [Problem("", "cannot be read: permission denied for this user")], str(path)
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError([Problem("", f"cannot be read: {reason}")], str(path)) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            [Problem("", "is larger than 1MB; is this the config file? (a real one is a few KB)")],
            str(path),
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [Problem("", f"is not UTF-8 text (first bad byte on line {line})")], str(path)
        ) from None
    return parse(text, path=path, env=env, need_secrets=need_secrets)


def parse(
    text: str,
    *,
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    need_secrets: bool = True,
) -> Config:
    """Validate config ``text``; ``path`` (where it came from) anchors relative paths.

    ``need_secrets=False`` (commands that send nothing: status, hits, check, ...): a
    ``${VAR}`` whose variable is not set is kept as written and listed in
    ``Config.unexpanded`` instead of being a problem; such URLs are not checked.

    ``env`` defaults to ``os.environ``. Raises ConfigError with every problem found.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    file = str(path) if path is not None else None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([toml_problem(exc, text)], file) from None
    except (RecursionError, MemoryError):
        raise ConfigError(
            [Problem("", "TOML arrays or inline tables are nested too deep to read")], file
        ) from None
    checker = Checker(environ, path, need_secrets=need_secrets)
    try:
        config = checker.run(data)
    except Exception as exc:
        # Each check guards its own key; this is the last line: still a config problem.
        checker.add("", f"cannot be checked ({type(exc).__name__}); please report this file")
        config = None
    if checker.problems or config is None:
        raise ConfigError(checker.final_problems(data), file)
    return config


def toml_problem(exc: tomllib.TOMLDecodeError, text: str) -> Problem:
    """A TOML syntax error as one problem, with its line and column and a hint."""
    message = str(exc)
    where = ""
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    if match:
        where = f" at line {match.group(1)}, column {match.group(2)}"
        message = message[: match.start()]
    elif message.endswith("(at end of document)"):
        message = message[: -len("(at end of document)")].rstrip()
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        where = f" at the end of the file (line {max(lines, 1)})"
    declared = re.fullmatch(r"Cannot declare \((.*)\) twice", message)
    if declared:
        try:
            keys = ast.literal_eval(f"({declared.group(1)})")
            message = "Cannot declare [" + ".".join(str(k) for k in keys) + "] twice"
        except (ValueError, SyntaxError):
            pass
    hint = ""
    if message.startswith("Invalid value"):
        hint = ' (text needs quotes, e.g. interval = "15m"; true/false are lowercase)'
    elif message.startswith("Expected newline or end of document"):
        hint = ' (one key = value per line; is a text value missing its quotes, e.g. "15m"?)'
    elif message.startswith("Cannot overwrite a value"):
        hint = " (a key or a [table] is written twice; [[source]] and [[rule]] take two brackets)"
    elif message.startswith("Cannot declare"):
        hint = " (a [table] is written twice, or a table header repeats a key set above it)"
    elif message.startswith("Unterminated string"):
        hint = " (a string's closing quote is missing)"
    text_message = message[:1].lower() + message[1:] if message else "invalid TOML"
    return Problem("", f"TOML syntax error{where}: {text_message}{hint}")
