"""docs/config.md, generated from the key tables of ``schema`` (``make docs`` writes it; a
test fails when the committed file differs)."""

from __future__ import annotations

from weightwatch.config.schema import TABLES, TYPES, Key

_INTRO = """\
# Config reference

<!-- Generated from src/weightwatch/config/schema.py by `make docs`: do not edit by hand. -->

weightwatch reads one TOML file: `--config FILE`, else `$WEIGHTWATCH_CONFIG`, else
`$CONFIGURATION_DIRECTORY/config.toml` (systemd), else `$XDG_CONFIG_HOME/weightwatch/config.toml`,
else `~/.config/weightwatch/config.toml`. `weightwatch check` validates it and prints a
summary; it reports every problem at once, each with its key path (`settings.interval`,
`channels.team[1]`, `source[3].url`, `rule[2].notify[0]`; indexes count from 0 in file order).
`config.example.toml` is a commented example.

`${VAR}` (and `${VAR:-default}`, `$$` for a literal `$`) is expanded in channel URLs and
`settings.user_agent` only; values taken from the environment are masked wherever weightwatch
shows a URL or a problem.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default_cell(key: Key) -> str:
    if key.required:
        return "required"
    if key.default_text:
        return key.default_text
    if key.default is None:
        return ""
    return f"`{key.toml(key.default)}`"


def _meaning(key: Key) -> str:
    """The help, and why the upper bound is where it is."""
    if not key.why_max or key.max is None:
        return key.help
    return f"{key.help} At most {key.bound(key.max)}: {key.why_max}."


def reference_markdown() -> str:
    """docs/config.md: every table and key, from the tables above."""
    parts = [_INTRO]
    for table in TABLES:
        parts.append(f"\n## `{table.header}`\n\n{table.help}\n")
        parts.append("| Key | Type | Default | Allowed | Example | Meaning |")
        parts.append("|---|---|---|---|---|---|")
        for key in table.keys:
            allowed = key.bounds_text()
            row = [
                f"`{key.name}`",
                TYPES[key.type][0],
                _default_cell(key),
                allowed,
                f"`{key.example}`" if key.example else "",
                _meaning(key),
            ]
            parts.append("| " + " | ".join(_cell(c) for c in row) + " |")
    parts.append("\n## Value types\n")
    parts.append("| Type | Written as |")
    parts.append("|---|---|")
    used = {key.type for table in TABLES for key in table.keys}
    for name, (label, text) in TYPES.items():
        if name in used:
            parts.append(f"| {_cell(label)} | {_cell(text)} |")
    return "\n".join(parts) + "\n"
