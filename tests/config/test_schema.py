"""The key tables: one source for parsing, messages, the model's defaults, the summary and
docs/config.md; and a model that loads no library wrapper."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from weightwatch.config import load, model, parse, reference, schema, summary
from weightwatch.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "config.md"
EXAMPLE = ROOT / "config.example.toml"

HEAVY = (
    "apprise",
    "requests",
    "urllib3",
    "jinja2",
    "selectolax",
    "feedparser",
    "sqlite3",
    "sqlite_utils",
    "apscheduler",
)


def loaded_after(code: str) -> list[str]:
    """The HEAVY libraries a fresh interpreter has loaded after running ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    # Without coverage's subprocess hook: coverage itself imports sqlite3.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    return done.stdout.split()


def only_problem(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text, env={})
    problems = [str(p) for p in caught.value.problems]
    assert len(problems) == 1, problems
    return problems[0]


# --------------------------------------------------------------------- import weight


@pytest.mark.parametrize(
    "module", ["weightwatch.config", "weightwatch.config.model", "weightwatch.config.schema"]
)
@pytest.mark.system
def test_importing_the_config_package_or_its_model_loads_no_library_wrapper(module: str) -> None:
    assert loaded_after(f"import {module}") == []


@pytest.mark.system
def test_parsing_a_config_without_channels_pages_or_templates_loads_no_library_wrapper() -> None:
    code = (
        "from weightwatch.config import parse\n"
        'parse(\'[settings]\\nworkers = 2\\n[[source]]\\nname = "hn"\\n'
        'url = "https://news.ycombinator.com/rss"\', env={})'
    )
    assert loaded_after(code) == []


# --------------------------------------------------------------------- docs/config.md


def test_docs_config_md_is_the_reference_generated_from_the_schema() -> None:
    assert DOCS.read_text(encoding="utf-8") == reference.reference_markdown(), (
        "docs/config.md is out of date: run `make docs` and commit it"
    )


def test_every_key_of_every_table_appears_in_docs_config_md() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for table in schema.TABLES:
        section = text.split(f"## `{table.header}`", 1)[1].split("\n## ", 1)[0]
        for key in table.keys:
            assert f"| `{key.name}` |" in section, (table.header, key.name)


def test_the_example_config_validates_and_uses_only_keys_of_the_schema() -> None:
    cfg = load(EXAMPLE, env={})
    assert cfg.sources and cfg.rules and cfg.channels


# --------------------------------------------------------------------- the tables


def test_every_key_has_a_known_type_a_help_line_and_an_example() -> None:
    for table in schema.TABLES:
        assert len(set(table.names)) == len(table.names), table.header
        for key in table.keys:
            assert key.type in schema.TYPES, key
            assert key.help and "\n" not in key.help, key
            assert key.example, key
            if key.type == "choice":
                assert key.default in key.values, key
            if key.type in ("integer", "number", "size"):
                assert key.min is not None and key.max is not None, key


def fields_with_defaults(cls: type) -> dict[str, object]:
    return {
        f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING
    }


@pytest.mark.parametrize(
    ("cls", "table", "not_keys"),
    [
        (model.Settings, schema.SETTINGS, set()),
        (model.Source, schema.SOURCE, {"schedule"}),
        (model.Channel, schema.CHANNEL, {"name", "masked_urls"}),
        (model.Rule, schema.RULE, {"query_text"}),
    ],
)
def test_each_model_field_is_a_key_of_its_table_with_the_same_default(
    cls: type, table: schema.Table, not_keys: set[str]
) -> None:
    fields = {f.name for f in dataclasses.fields(cls)} - not_keys
    attrs = {key.attr for key in table.keys}
    assert fields <= attrs, fields - attrs
    # Keys without a field of their own are folded into another (any/all/none into query).
    assert attrs - fields <= {"any", "all", "none", "proximity"}
    for name, default in fields_with_defaults(cls).items():
        if name in not_keys:
            continue  # derived, not read from the file (Source.schedule: from its interval)
        assert default == next(k for k in table.keys if k.attr == name).default, name


def test_schema_defaults_and_bounds_agree_with_the_modules_that_use_them() -> None:
    from weightwatch.delivery.policy import MIN_DIGEST_PERIOD
    from weightwatch.delivery.templates import PLACEHOLDERS
    from weightwatch.matching import dedup, query, story

    assert schema.SETTINGS["dedup_window"].default == story.TUNING.window
    assert schema.SETTINGS["title_similarity"].default == dedup.DEFAULT_THRESHOLD
    assert schema.RULE["proximity"].max == query.MAX_DISTANCE
    assert schema.RULE["digest"].min == schema.CHANNEL["digest"].min == MIN_DIGEST_PERIOD
    for placeholder in PLACEHOLDERS:
        assert placeholder in schema.TYPES["template"][1]


@pytest.mark.parametrize(
    "key", [k for k in schema.SETTINGS.keys if k.default not in (None, "")], ids=lambda k: k.name
)
def test_a_setting_written_as_its_default_reads_back_as_the_default(key: schema.Key) -> None:
    cfg = parse(f"[settings]\n{key.name} = {key.toml(key.default)}", env={})
    assert getattr(cfg.settings, key.attr) == key.default


@pytest.mark.parametrize(
    "key", [k for t in schema.TABLES for k in t.keys if k.type != "urls"], ids=str
)
def test_every_example_in_the_schema_is_valid_where_the_docs_show_it(key: schema.Key) -> None:
    table = next(t for t in schema.TABLES if key in t.keys)
    rule = '[[rule]]\nname = "r"\nquery = "x"\nnotify = ["terminal"]\n'
    head = '[channels]\nterminal = "console://"\n'
    if table is schema.SETTINGS:
        text = f"[settings]\n{key.name} = {key.example}\n{head}"
    elif table is schema.CHANNEL:
        text = f'[channels.terminal]\nurls = "console://"\n{key.name} = {key.example}\n'
    elif table is schema.SOURCE:
        source = {"name": '"hn"', "url": '"https://hn.example/rss"', key.name: key.example}
        if key.name in schema.PAGE_KEYS:
            source["kind"] = '"page"'
        text = head + "[[source]]\n" + "".join(f"{k} = {v}\n" for k, v in source.items())
        text += '[[source]]\nname = "labs"\nurl = "https://labs.example/rss"\ntags = ["labs"]\n'
    else:
        fields = {"name": '"r"', "query": '"x"', "notify": '["terminal"]', key.name: key.example}
        text = head + '[channels.phone]\nurls = "console://"\n[channels.team]\nurls = "json://h"\n'
        text += '[[source]]\nname = "hn"\nurl = "https://hn.example/rss"\ntags = ["labs"]\n'
        text += "[[rule]]\n" + "".join(f"{k} = {v}\n" for k, v in fields.items())
        rule = ""
    parse(text + rule, env={})


# --------------------------------------------------------------------- hints from the tables


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[channels.team]\nurls = "console://"\ninterval = "10m"',
            'channels.team.interval: unknown key; "interval" belongs in a [[source]]: '
            "is a [[source]] header missing above it?",
        ),
        (
            '[channels.team]\nurls = "console://"\nworkers = 2',
            'channels.team.workers: unknown key; "workers" is a [settings] key: '
            "put it below the [settings] header",
        ),
        (
            '[channels.team]\nurls = "console://"\nurl = "console://"',
            'channels.team.url: unknown key; did you mean "urls"?',
        ),
        (
            '[channels.team]\nurls = "console://"\nname = "team"',
            'channels.team.name: unknown key; "name" is not needed: '
            "the header [channels.NAME] names the channel",
        ),
        (
            "[settings]\nmax_per_hour = 5",
            'settings.max_per_hour: unknown key; "max_per_hour" belongs in a channel written as '
            'a table, [channels.NAME] with urls = "..."',
        ),
        (
            'quiet = "22:00-07:00"',
            'quiet: unknown top-level key; "quiet" belongs in a channel written as a table, '
            '[channels.NAME] with urls = "..."',
        ),
        (
            '[settings]\nbody = "x"',
            'settings.body: unknown key; "body" belongs in a [[rule]]: '
            "is a [[rule]] header missing above it?",
        ),
    ],
)
def test_a_key_of_another_table_says_where_it_belongs(text: str, problem: str) -> None:
    assert only_problem(text) == problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[channels.team]\nurls = "console://"\nformat = "rich"',
            'channels.team.format: expected "auto", "text", "markdown" or "html", found "rich"',
        ),
        (
            '[channels.team]\nurls = "console://"\nformat = "HTML"',
            'channels.team.format: expected "auto", "text", "markdown" or "html", found "HTML"; '
            'did you mean "html"?',
        ),
        (
            '[channels]\nt = "console://"\n[[rule]]\nname = "r"\nquery = "x"\nnotify = ["t"]\n'
            'on_update = "alerts"',
            'rule[0].on_update: expected "silent", "digest" or "alert", found "alerts"; '
            'did you mean "alert"?',
        ),
        ("[settings]\nhealth_failures = 0", "settings.health_failures: must be between 1 and 1000"),
        (
            "[settings]\nhealth_failures = 2.5",
            "settings.health_failures: expected a whole number from 1 to 1000 such as 5, found 2.5",
        ),
        (
            '[channels.team]\nurls = "console://"\nmax_per_hour = 0',
            "channels.team.max_per_hour: must be between 1 and 3600, found 0",
        ),
        (
            '[[source]]\nname = "p"\nurl = "https://p.example/"\nignore = 3',
            "source[0].ignore: expected a list such as [\".counter\", '/\\d+ views/'], found 3",
        ),
    ],
)
def test_plain_types_are_worded_from_their_key(text: str, problem: str) -> None:
    assert only_problem(text).startswith(problem)


# --------------------------------------------------------------------- the summary


def test_the_summary_lists_the_settings_changed_from_their_default_as_toml() -> None:
    text = (
        '[settings]\ntimezone = "Europe/Berlin"\nhealth_failures = 3\nhealth_after = "2h"\n'
        'retention = "30d"\nops = "terminal"\n[channels]\nterminal = "console://"'
    )
    shown = summary(parse(text, env={}))
    line = next(line for line in shown.splitlines() if line.startswith("Settings:"))
    assert line == (
        'Settings:     timezone = "Europe/Berlin", ops = "terminal", health_failures = 3, '
        'health_after = "2h"'
    )


def test_the_summary_has_no_settings_line_when_every_other_setting_is_default() -> None:
    shown = summary(load(EXAMPLE, env={}))
    assert "Settings:" not in shown


def test_a_key_written_back_as_toml_is_what_the_file_would_hold() -> None:
    assert schema.SETTINGS["interval"].toml(5400.0) == '"1h30m"'
    assert schema.SETTINGS["max_body"].toml(10 * 1024**2) == '"10MB"'
    assert schema.SETTINGS["title_similarity"].toml(90.5) == "90.5"
    assert schema.SETTINGS["title_similarity"].toml(90.0) == "90"
    assert schema.SOURCE["tags"].toml(("a", "b")) == '["a", "b"]'
    assert schema.SOURCE["backfill"].toml(True) == "true"


def test_every_type_in_the_tables_has_a_checker_or_its_own_code() -> None:
    from weightwatch.config.check import Checker

    handled = set(Checker({}, None).handlers)
    assert set(schema.PLAIN_TYPES) <= handled
    own_code = {"name", "url", "urls", "query", "channels", "scope"}  # check.py / rules.py
    for table in schema.TABLES:
        for key in table.keys:
            assert key.type in handled | own_code, key
