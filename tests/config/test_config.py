"""The config file: every problem at once with its key path, and nothing secret shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from weightwatch import config
from weightwatch.config import (
    Config,
    default_config_path,
    format_duration,
    format_size,
    load,
    parse,
    parse_duration,
    parse_size,
    schema,
    summary,
)
from weightwatch.errors import ConfigError, QueryError
from weightwatch.matching import query

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"
CONFIGS = Path(__file__).resolve().parents[1] / "data" / "configs"

MINIMAL = """
[channels]
terminal = "console://"

[[source]]
name = "hn"
url = "https://news.ycombinator.com/rss"

[[rule]]
name = "r"
query = "weights"
notify = ["terminal"]
"""


def problems_of(text: str, env: dict[str, str] | None = None) -> list[str]:
    """The problems ``parse`` reports, as "path: message" lines."""
    with pytest.raises(ConfigError) as caught:
        parse(text, env={} if env is None else env)
    return [str(p) for p in caught.value.problems]


def only_problem(text: str, env: dict[str, str] | None = None) -> str:
    problems = problems_of(text, env)
    assert len(problems) == 1, problems
    return problems[0]


def expectations(path: Path) -> list[tuple[str, str]]:
    """The "# expect: key path | part of the message" lines of a bad-config fixture."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect: "):
            key, _, message = line.removeprefix("# expect: ").partition(" | ")
            found.append((key, message))
    return found


# --------------------------------------------------------------------- the example file


def test_example_config_validates_with_an_empty_environment() -> None:
    cfg = load(EXAMPLE, env={})
    assert len(cfg.sources) >= 10
    assert all(s.url.startswith("https://") for s in cfg.sources)
    assert len(cfg.rules) >= 2
    # It sends nothing to anybody: the only channel prints.
    assert {n: c.urls for n, c in cfg.channels.items()} == {"terminal": ("console://",)}
    assert cfg.secrets == ()
    assert "Note:" not in summary(cfg)
    assert cfg.settings.database == Path.home() / ".local/state/weightwatch/weightwatch.db"


def test_example_config_scopes_a_rule_to_github_releases_by_tag() -> None:
    cfg = load(EXAMPLE, env={})
    releases = next(r for r in cfg.rules if r.sources == ("tag:releases",))
    github = [s for s in cfg.sources if s.url.startswith("https://github.com/")]
    assert github
    assert all(releases.applies_to(s) for s in github)
    assert not any(releases.applies_to(s) for s in cfg.sources if s not in github)


def test_example_channels_that_are_commented_out_validate_once_their_variables_are_set() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    enabled, count = re.subn(r"(?m)^# ((?:phone|email|team) = .*)$", r"\1", text)
    assert count == 3
    env = {
        "NTFY_TOPIC": "ww-topic-7f3a9c",
        "SMTP_USER": "alice",
        "SMTP_PASSWORD": "pw-Zq81xx",
        "SLACK_TOKEN": "T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
    }
    cfg = parse(enabled, env=env)
    assert set(cfg.channels) == {"terminal", "phone", "email", "team"}
    assert len(cfg.channels["team"].urls) == 2
    shown = summary(cfg)
    for secret in env.values():
        assert secret not in shown
    # And unset, each one is named.
    problems = problems_of(enabled)
    assert problems == [
        "channels.phone: environment variable NTFY_TOPIC is not set",
        "channels.email: environment variable SMTP_USER is not set",
        "channels.email: environment variable SMTP_PASSWORD is not set",
        "channels.team[0]: environment variable SLACK_TOKEN is not set",
    ]


# --------------------------------------------------------------------- every problem at once


def bad_fixtures() -> list[Path]:
    return sorted(p for p in CONFIGS.glob("*.toml") if expectations(p))


@pytest.mark.parametrize("fixture", bad_fixtures(), ids=lambda p: p.stem)
def test_a_bad_config_reports_every_problem_with_its_key_path(fixture: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(fixture, env={})
    problems = caught.value.problems
    expected = expectations(fixture)
    assert sorted(p.path for p in problems) == sorted(path for path, _ in expected), problems
    for path, part in expected:
        messages = [p.message for p in problems if p.path == path]
        assert any(part in m for m in messages), (path, part, messages)
    assert caught.value.file == str(fixture)
    assert str(caught.value).startswith(f"{fixture}: {len(problems)} problems in the config.")


def test_the_many_mistakes_fixture_covers_eight_kinds_of_mistake() -> None:
    paths = [path for path, _ in expectations(CONFIGS / "many-mistakes.toml")]
    assert len(paths) >= 8


def test_a_query_error_is_reported_with_its_column_as_the_query_module_gives_it() -> None:
    text = """
[channels]
terminal = "console://"
[[rule]]
name = "ok"
query = "weights"
notify = ["terminal"]
[[rule]]
name = "also-ok"
any = ["weights"]
notify = ["terminal"]
[[rule]]
name = "broken"
query = 'OpenAI AND (weights OR "open-weight"'
notify = ["terminal"]
"""
    with pytest.raises(QueryError) as expected:
        query.parse('OpenAI AND (weights OR "open-weight"')
    assert only_problem(text) == (
        f"rule[2].query: {expected.value.message} at column {expected.value.column}"
    )


def test_a_good_fixture_validates() -> None:
    cfg = load(CONFIGS / "good-minimal.toml", env={})
    assert [s.name for s in cfg.sources] == ["hn"]
    assert cfg.sources[0].interval == config.DEFAULT_INTERVAL
    assert cfg.settings.workers == config.DEFAULT_WORKERS


# --------------------------------------------------------------------- did you mean


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[settings]\nintervall = "10m"',
            'settings.intervall: unknown key; did you mean "interval"?',
        ),
        ("[settings]\nworker = 4", 'settings.worker: unknown key; did you mean "workers"?'),
        (
            '[[source]]\nname = "hn"\nurl = "https://example.org/rss"\ntag = ["x"]',
            'source[0].tag: unknown key; did you mean "tags"?',
        ),
        (
            '[[source]]\nname = "hn"\nurl = "https://example.org/rss"\nbackfil = true',
            'source[0].backfil: unknown key; did you mean "backfill"?',
        ),
        (
            '[[source]]\nname = "hn"\nurl = "https://example.org/rss"\ncolour = "red"',
            "source[0].colour: unknown key; the keys here are name, url, interval, tags, backfill"
            + "".join(f", {k}" for k in schema.SOURCE.names[5:]),
        ),
        (
            '[channels]\nt = "console://"\n[[rule]]\nname = "r"\nquery = "x"\nnotfy = ["t"]',
            'rule[0].notfy: unknown key; did you mean "notify"?',
        ),
        (
            '[channels]\nt = "console://"\n[[rule]]\nname = "r"\nquerry = "x"\nnotify = ["t"]',
            'rule[0].querry: unknown key; did you mean "query"?',
        ),
        (
            '[channels]\nt = "console://"\n[[rule]]\nname = "r"\nquery = "x"\nnotify = ["t"]\n'
            'source = ["hn"]',
            'rule[0].source: unknown key; did you mean "sources"?',
        ),
        ("[rules]\nx = 1", "rules: unknown table [rules]; did you mean [[rule]]?"),
        ('[[sources]]\nname = "x"', "sources: unknown table [[sources]]; did you mean [[source]]?"),
        ("[setting]\nworkers = 2", "setting: unknown table [setting]; did you mean [settings]?"),
        (
            '[channels]\nteam = "console://"\n[[rule]]\nname = "r"\nquery = "x"\nnotify = ["tem"]',
            'rule[0].notify[0]: no channel named "tem"; did you mean "team"?',
        ),
        (
            '[channels]\nteam = "console://"\n[[rule]]\nname = "r"\nquery = "x"\n'
            'notify = ["pager"]',
            'rule[0].notify[0]: no channel named "pager"; [channels] defines team',
        ),
    ],
)
def test_unknown_names_suggest_the_closest_known_one(text: str, problem: str) -> None:
    assert only_problem(text) == problem


def test_a_typo_in_a_required_key_is_reported_once_not_also_as_missing() -> None:
    text = '[channels]\nt = "console://"\n[[rule]]\nnam = "r"\nquery = "x"\nnotify = ["t"]'
    assert problems_of(text) == ['rule[0].nam: unknown key; did you mean "name"?']


# --------------------------------------------------------------------- durations and sizes


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("10m", 600),
        ("2h", 7200),
        ("1d", 86400),
        ("1h30m", 5400),
        ("1d2h3m4s", 93784),
        ("1h 30m", 5400),
        (" 15m ", 900),
        ("1.5h", 5400),
        ("90", 90),
        (600, 600),
        (0, 0),
        ("10M", 600),
    ],
)
def test_durations_that_parse(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "m", "15 minutes", "1w", "-5m", "5m-", "1h30", "ten", "15.5", "0x10"]
)
def test_durations_that_do_not_parse_say_what_was_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r'^expected a duration such as "15m", found "'):
        parse_duration(text)


@pytest.mark.parametrize("value", [15.5, True, None, [1], -1])
def test_non_string_durations_other_than_whole_seconds_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)  # type: ignore[arg-type]


def test_a_float_interval_is_reported_as_the_brief_shows() -> None:
    problem = only_problem("[settings]\ninterval = 15.5")
    assert problem.startswith('settings.interval: expected a duration such as "15m", found 15.5')


@pytest.mark.parametrize(
    ("toml_value", "problem"),
    [
        (
            '"4s"',
            "settings.interval: must be at least 5s so that sites are not polled too often, "
            'found "4s"',
        ),
        (
            "2",
            "settings.interval: must be at least 5s so that sites are not polled too often, "
            "found 2",
        ),
    ],
)
def test_an_interval_below_5s_is_refused_saying_the_minimum(toml_value: str, problem: str) -> None:
    assert only_problem(f"[settings]\ninterval = {toml_value}") == problem
    source = f'[[source]]\nname = "a"\nurl = "https://a.example/rss"\ninterval = {toml_value}'
    assert only_problem(source) == problem.replace("settings.interval", "source[0].interval")


@pytest.mark.parametrize("seconds", [0, 1, 30, 59, 60, 90, 3600, 5400, 86400, 93784, 1.5])
def test_format_duration_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("500KB", 500 * 1024),
        ("10MB", 10 * 1024**2),
        ("1GB", 1024**3),
        ("10 MB", 10 * 1024**2),
        ("10mb", 10 * 1024**2),
        ("10MiB", 10 * 1024**2),
        ("1.5MB", 1536 * 1024),
        ("2048", 2048),
        ("2048B", 2048),
        (4096, 4096),
    ],
)
def test_sizes_that_parse(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("value", ["", "MB", "10 megabytes", "10TB", "-1MB", "1e6", 1.5, True])
def test_sizes_that_do_not_parse_say_what_was_expected(value: object) -> None:
    with pytest.raises(ValueError, match=r'^expected a size such as "10MB", found '):
        parse_size(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [1, 1023, 1024, 500 * 1024, 10 * 1024**2, 1024**3])
def test_format_size_round_trips(size: int) -> None:
    assert parse_size(format_size(size)) == size


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ("workers = 0", "settings.workers: must be between 1 and 64, found 0"),
        (
            "workers = 65",
            "settings.workers: must be between 1 and 64 "
            "(each worker is a thread and a connection), found 65",
        ),
        (
            "workers = 2.5",
            "settings.workers: expected a whole number from 1 to 64 such as 8, found 2.5",
        ),
        ('timeout = "0s"', 'settings.timeout: must be at least 1s, found "0s"'),
        (
            'timeout = "1h"',
            "settings.timeout: must be at most 10m "
            '(a longer fetch would hold a worker and the sources behind it), found "1h"',
        ),
        ('max_body = "100"', 'settings.max_body: must be between 1KB and 1GB, found "100"'),
        (
            "title_similarity = -1",
            "settings.title_similarity: must be between 0 and 100 (a percentage), found -1",
        ),
        (
            'title_similarity = "high"',
            'settings.title_similarity: expected a number from 0 to 100 such as 90, found "high"',
        ),
        ('dedup_window = "-1h"', "settings.dedup_window: expected a duration"),
        ("user_agent = 7", "settings.user_agent: expected a string, found 7"),
        ('database = ""', "settings.database: is empty; remove the key"),
        # A refused bound is one problem, not also a clash with the other bound's default.
        ('min_interval = "2s"', "settings.min_interval: must be at least 5s"),
        (
            'min_interval = "30m"\nmax_interval = "10m"',
            'settings.min_interval: is "30m" but settings.max_interval is "10m"; the shortest',
        ),
    ],
)
def test_settings_out_of_range_or_of_the_wrong_type(settings: str, problem: str) -> None:
    assert only_problem(f"[settings]\n{settings}").startswith(problem)


def test_settings_take_their_values() -> None:
    cfg = parse(
        '[settings]\ninterval = "1h30m"\ntimeout = 45\nmax_body = "500KB"\nworkers = 2\n'
        'dedup_window = "0s"\ntitle_similarity = 90.5\nuser_agent = "ww (me@example.org)"',
        env={},
    )
    s = cfg.settings
    assert (s.interval, s.timeout, s.max_body, s.workers) == (5400, 45, 500 * 1024, 2)
    assert (s.dedup_window, s.title_similarity, s.user_agent) == (0, 90.5, "ww (me@example.org)")


# --------------------------------------------------------------------- ${ENV} and secrets

SECRET_TOPIC = "s3cret-topic-XYZ"
SECRET_TOKEN = "T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
SECRET_PASSWORD = "Hunter2-Pa55word"


def secret_env() -> dict[str, str]:
    return {
        "NTFY_TOPIC": SECRET_TOPIC,
        "SLACK_TOKEN": SECRET_TOKEN,
        "SMTP_PASSWORD": SECRET_PASSWORD,
        "CONTACT": "contact-secret@example.org",
    }


SECRET_CONFIG = """
[settings]
user_agent = "weightwatch (${CONTACT})"

[channels]
phone = "ntfy://ntfy.sh/${NTFY_TOPIC}"
team = ["slack://${SLACK_TOKEN}", "mailtos://alice:${SMTP_PASSWORD}@example.org?to=me@example.org"]

[[source]]
name = "hn"
url = "https://news.ycombinator.com/rss"

[[rule]]
name = "r"
query = "weights"
notify = ["phone", "team"]
"""


def test_env_values_are_expanded_recorded_as_secrets_and_masked() -> None:
    cfg = parse(SECRET_CONFIG, env=secret_env())
    assert cfg.channels["phone"].urls == (f"ntfy://ntfy.sh/{SECRET_TOPIC}",)
    assert cfg.channels["team"].urls[0] == f"slack://{SECRET_TOKEN}"
    assert set(cfg.secrets) == set(secret_env().values())
    assert cfg.settings.user_agent == "weightwatch (contact-secret@example.org)"
    masked = [u for c in cfg.channels.values() for u in c.masked_urls]
    assert masked[0] == "ntfy://ntfy.sh/****"
    for url in masked:
        for secret in cfg.secrets:
            assert secret not in url


def test_no_secret_appears_in_the_summary() -> None:
    cfg = parse(SECRET_CONFIG, env=secret_env())
    shown = summary(cfg)
    assert "ntfy://ntfy.sh/****" in shown
    for secret in secret_env().values():
        assert secret not in shown
        assert secret.replace("@", "%40") not in shown


def test_no_secret_appears_in_a_config_error() -> None:
    env = secret_env() | {"BAD_URL": "nosuchscheme-secret://" + SECRET_TOPIC}
    text = SECRET_CONFIG.replace("[[source]]", '[[source]]\ncolour = "${NTFY_TOPIC}"', 1)
    text = text.replace("[channels]", '[channels]\nbad = "${BAD_URL}"\nbad2 = "xx${NTFY_TOPIC}"')
    with pytest.raises(ConfigError) as caught:
        parse(text, env=env)
    message = str(caught.value)
    assert "channels.bad: Apprise does not recognise this URL" in message
    assert "channels.bad2:" in message
    assert "nosuchscheme" not in message
    for secret in env.values():
        assert secret not in message


@pytest.mark.parametrize(
    ("written", "env", "expanded"),
    [
        ("ntfy://ntfy.sh/${T}", {"T": "abc"}, "ntfy://ntfy.sh/abc"),
        ("ntfy://ntfy.sh/${T:-fallback}", {}, "ntfy://ntfy.sh/fallback"),
        ("ntfy://ntfy.sh/${T:-fallback}", {"T": ""}, "ntfy://ntfy.sh/fallback"),
        ("ntfy://ntfy.sh/${T:-fallback}", {"T": "set"}, "ntfy://ntfy.sh/set"),
        ("ntfy://ntfy.sh/a$$b", {}, "ntfy://ntfy.sh/a$b"),
        ("ntfy://ntfy.sh/${A}${B}", {"A": "one", "B": "two"}, "ntfy://ntfy.sh/onetwo"),
    ],
)
def test_env_expansion_forms(written: str, env: dict[str, str], expanded: str) -> None:
    cfg = parse(f'[channels]\nc = "{written}"', env=env)
    assert cfg.channels["c"].urls == (expanded,)


def test_only_values_from_the_environment_are_secrets() -> None:
    cfg = parse('[channels]\nc = "ntfy://ntfy.sh/${T:-public-topic}"', env={})
    assert cfg.secrets == ()
    assert cfg.channels["c"].masked_urls == ("ntfy://ntfy.sh/public-topic",)


@pytest.mark.parametrize(
    ("written", "env", "problem"),
    [
        ("ntfy://ntfy.sh/${NTFY_TOPIC}", {}, "environment variable NTFY_TOPIC is not set"),
        (
            "ntfy://ntfy.sh/${NTFY_TOPIC}",
            {"NTFY_TOPIC": ""},
            "environment variable NTFY_TOPIC is set but empty",
        ),
        (
            "ntfy://ntfy.sh/$NTFY_TOPIC",
            {"NTFY_TOPIC": "x"},
            'write ${NTFY_TOPIC} to use an environment variable, or $$ for a literal "$"',
        ),
        ("ntfy://ntfy.sh/a$", {}, 'has a "$" on its own; write $$ for a literal "$"'),
        ("ntfy://ntfy.sh/${NTFY_TOPIC", {}, 'has "${" without a closing "}"'),
        ("ntfy://ntfy.sh/${1X}", {}, '"${1X}" is not an environment variable reference'),
        ("mailto", {}, "is not a notification URL"),
        ("nosuchscheme://x", {}, "Apprise does not recognise this URL"),
        ("", {}, "is empty"),
    ],
)
def test_channel_url_problems(written: str, env: dict[str, str], problem: str) -> None:
    found = only_problem(f'[channels]\nphone = "{written}"', env)
    assert found.startswith(f"channels.phone: {problem}"), found


def test_every_unset_variable_and_bad_url_in_a_channel_list_is_reported() -> None:
    text = '[channels]\nteam = ["console://", "slack://${SLACK_TOKEN}", "ftp://x", "${A}/${B}"]'
    assert problems_of(text) == [
        "channels.team[1]: environment variable SLACK_TOKEN is not set",
        "channels.team[2]: Apprise does not recognise this URL (scheme 'ftp' or its form is wrong)",
        "channels.team[3]: environment variable A is not set",
        "channels.team[3]: environment variable B is not set",
    ]


def test_env_is_expanded_in_source_urls_and_recorded_as_a_secret() -> None:
    cfg = parse(
        MINIMAL.replace("news.ycombinator.com/rss", "example.org/rss?k=${KEY}"),
        env={"KEY": "value"},
    )
    assert cfg.sources[0].url == "https://example.org/rss?k=value"
    assert cfg.secrets == ("value",)


def test_env_is_not_expanded_in_other_source_keys() -> None:
    with pytest.raises(ConfigError):
        parse(MINIMAL.replace('name = "hn"', 'name = "${KEY}"'), env={"KEY": "hn"})


def test_the_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WW_TEST_TOPIC", "from-os-environ")
    cfg = parse('[channels]\nc = "ntfy://ntfy.sh/${WW_TEST_TOPIC}"')
    assert cfg.channels["c"].urls == ("ntfy://ntfy.sh/from-os-environ",)


# --------------------------------------------------------------------- paths


@pytest.mark.parametrize(
    ("database", "env", "config_file", "expected"),
    [
        (
            None,
            {"STATE_DIRECTORY": "/var/lib/weightwatch"},
            None,
            "/var/lib/weightwatch/weightwatch.db",
        ),
        (None, {"STATE_DIRECTORY": "/var/lib/a:/var/lib/b"}, None, "/var/lib/a/weightwatch.db"),
        (
            None,
            {"XDG_STATE_HOME": "/x/state", "HOME": "/home/u"},
            None,
            "/x/state/weightwatch/weightwatch.db",
        ),
        (
            None,
            {"XDG_STATE_HOME": "relative", "HOME": "/home/u"},
            None,
            "/home/u/.local/state/weightwatch/weightwatch.db",
        ),
        (None, {"HOME": "/home/u"}, None, "/home/u/.local/state/weightwatch/weightwatch.db"),
        (
            "ww.db",
            {"STATE_DIRECTORY": "/var/lib/weightwatch"},
            "/etc/ww/config.toml",
            "/var/lib/weightwatch/ww.db",
        ),
        ("ww.db", {}, "/etc/ww/config.toml", "/etc/ww/ww.db"),
        ("data/ww.db", {}, "/etc/ww/config.toml", "/etc/ww/data/ww.db"),
        (
            "/srv/ww.db",
            {"STATE_DIRECTORY": "/var/lib/weightwatch"},
            "/etc/ww/config.toml",
            "/srv/ww.db",
        ),
        ("~/ww.db", {"HOME": "/home/u", "STATE_DIRECTORY": "/var/lib/w"}, None, "/home/u/ww.db"),
        ("~", {"HOME": "/home/u"}, None, "/home/u"),
    ],
)
def test_database_path_resolution(
    database: str | None, env: dict[str, str], config_file: str | None, expected: str
) -> None:
    text = "" if database is None else f'[settings]\ndatabase = "{database}"'
    path = Path(config_file) if config_file else None
    cfg = parse(text, env=env, path=path)
    assert cfg.settings.database == Path(expected)
    assert cfg.path == path


def test_a_relative_database_without_a_config_file_is_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = parse('[settings]\ndatabase = "ww.db"', env={})
    assert cfg.settings.database == tmp_path / "ww.db"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"WEIGHTWATCH_CONFIG": "/opt/ww.toml", "CONFIGURATION_DIRECTORY": "/etc/w"},
            "/opt/ww.toml",
        ),
        ({"WEIGHTWATCH_CONFIG": "~/ww.toml", "HOME": "/home/u"}, "/home/u/ww.toml"),
        (
            {"CONFIGURATION_DIRECTORY": "/etc/weightwatch", "XDG_CONFIG_HOME": "/x"},
            "/etc/weightwatch/config.toml",
        ),
        ({"XDG_CONFIG_HOME": "/x/config", "HOME": "/home/u"}, "/x/config/weightwatch/config.toml"),
        ({"XDG_CONFIG_HOME": "", "HOME": "/home/u"}, "/home/u/.config/weightwatch/config.toml"),
        ({"HOME": "/home/u"}, "/home/u/.config/weightwatch/config.toml"),
    ],
)
def test_default_config_path(env: dict[str, str], expected: str) -> None:
    assert default_config_path(env) == Path(expected)


# --------------------------------------------------------------------- reading the file


def test_a_toml_syntax_error_gives_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[settings]\nworkers = 4\ninterval = 15m\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(path, env={})
    [problem] = caught.value.problems
    assert problem.message.startswith("TOML syntax error at line 3, column 14: ")
    assert "missing its quotes" in problem.message
    assert str(caught.value).startswith(f"{path}: 1 problem in the config.")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[[source]]\nname = hn\n", "at line 2, column 8"),
        ("[settings]\nworkers = 1\nworkers = 2\n", "at line 3, column 12"),
        ('[settings]\nuser_agent = "x', "at the end of the file (line 2)"),
        ("[settings]\n[settings]\n", "at line 2, column 10"),
        ("[settings\n", "at line 1, column 10"),
    ],
)
def test_toml_syntax_errors_are_one_problem_with_a_place(text: str, where: str) -> None:
    [problem] = problems_of(text)
    assert problem.startswith(f"TOML syntax error {where}: "), problem


def test_a_table_declared_twice_is_named_as_the_user_wrote_it() -> None:
    [problem] = problems_of("[settings]\nworkers = 1\n\n[settings]\ntimeout = 5\n")
    assert problem.startswith(
        "TOML syntax error at line 4, column 10: cannot declare [settings] twice"
    )


def test_a_missing_file_is_one_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load(path, env={})
    assert [str(p) for p in caught.value.problems] == [
        "the config file does not exist (see config.example.toml to start one)"
    ]
    assert caught.value.file == str(path)


def test_a_directory_is_one_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, env={})
    assert [p.message for p in caught.value.problems] == [
        "is a directory; give the path of the config file itself"
    ]


def test_a_file_that_is_not_utf8_is_one_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[settings]\nuser_agent = "caf\xe9"\n')
    with pytest.raises(ConfigError) as caught:
        load(path, env={})
    assert [p.message for p in caught.value.problems] == [
        "is not UTF-8 text (first bad byte on line 2)"
    ]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load(path, env={}).rules[0].name == "r"


# --------------------------------------------------------------------- rules


def test_rule_scope_by_tag_and_by_name() -> None:
    text = """
[channels]
t = "console://"
[[source]]
name = "openai"
url = "https://openai.com/news/rss.xml"
tags = ["labs"]
[[source]]
name = "deepmind"
url = "https://deepmind.google/blog/rss.xml"
tags = ["labs", "google"]
[[source]]
name = "hn"
url = "https://news.ycombinator.com/rss"
[[rule]]
name = "labs-only"
query = "weights"
notify = ["t"]
sources = ["tag:labs"]
[[rule]]
name = "google-or-hn"
query = "weights"
notify = ["t"]
sources = ["tag:google", "hn"]
[[rule]]
name = "everywhere"
query = "weights"
notify = ["t"]
"""
    cfg = parse(text, env={})
    by_name = {s.name: s for s in cfg.sources}
    scopes = {r.name: sorted(n for n, s in by_name.items() if r.applies_to(s)) for r in cfg.rules}
    assert scopes == {
        "labs-only": ["deepmind", "openai"],
        "google-or-hn": ["deepmind", "hn"],
        "everywhere": ["deepmind", "hn", "openai"],
    }


def test_a_scope_entry_that_is_a_tag_written_without_its_prefix_says_so() -> None:
    text = MINIMAL.replace(
        'url = "https://news.ycombinator.com/rss"', 'url = "https://a.b/r"\ntags = ["labs"]'
    )
    text += 'sources = ["labs"]\n'
    assert only_problem(text) == (
        'rule[0].sources[0]: no source named "labs"; did you mean "tag:labs"? '
        "(tags are written tag:NAME)"
    )


def test_query_and_lists_are_combined_by_and() -> None:
    text = MINIMAL.replace(
        'query = "weights"', 'query = "OpenAI"\nany = ["open weights"]\nnone = ["Weight Watchers"]'
    )
    [rule] = parse(text, env={}).rules
    listed = query.from_lists(any=["open weights"], none=["Weight Watchers"])
    assert listed is not None
    assert str(rule.query) == str(query.all_of(query.parse("OpenAI"), listed))
    assert rule.query_text == str(rule.query)


def test_a_rule_with_only_a_query_keeps_the_text_as_written() -> None:
    text = MINIMAL.replace('query = "weights"', "query = 'OpenAI  AND  weights'")
    [rule] = parse(text, env={}).rules
    assert rule.query_text == "OpenAI  AND  weights"
    assert str(rule.query) == str(query.parse("OpenAI  AND  weights"))


def test_a_rule_with_only_lists_is_valid() -> None:
    text = MINIMAL.replace('query = "weights"', 'all = ["open", "weights"]')
    [rule] = parse(text, env={}).rules
    listed = query.from_lists(all=["open", "weights"])
    assert str(rule.query) == str(listed)


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ('query = ""', "rule[0].query: is empty; write a query or remove the key"),
        ("query = 3", "rule[0].query: expected a query string"),
        ('any = ["weights", ""]', "rule[0].any[1]: is empty"),
        ("all = [1]", "rule[0].all[0]: expected a string, found 1"),
        ("", "rule[0]: needs a query or at least one of any = [...], all = [...]"),
        ("any = []", "rule[0]: needs a query or at least one of any = [...], all = [...]"),
    ],
)
def test_rule_query_problems(lines: str, problem: str) -> None:
    text = f'[channels]\nt = "console://"\n[[rule]]\nname = "r"\nnotify = ["t"]\n{lines}\n'
    assert only_problem(text).startswith(problem)


def test_a_rule_needs_a_name_and_notify() -> None:
    assert problems_of('[[rule]]\nquery = "x"') == [
        'rule[0].name: is required: every rule needs a name such as "openai-open-weights"',
        'rule[0].notify: is required: the channels to alert, such as notify = ["terminal"]; '
        "[channels] defines none yet",
    ]


# --------------------------------------------------------------------- summary


def test_an_empty_config_is_valid_and_the_summary_says_so() -> None:
    cfg = parse("", env={})
    assert cfg.sources == () and cfg.rules == () and cfg.channels == {}
    assert cfg.settings.interval == config.DEFAULT_INTERVAL
    shown = summary(cfg)
    assert "no sources and no rules" in shown


def test_the_summary_shows_what_check_needs_on_one_screen() -> None:
    cfg = load(EXAMPLE, env={"STATE_DIRECTORY": "/var/lib/weightwatch"})
    shown = summary(cfg)
    assert "Database:     /var/lib/weightwatch/weightwatch.db" in shown
    assert "every 15m" in shown and "20s timeout" in shown
    for source in cfg.sources:
        assert source.name in shown and source.url in shown
    for rule in cfg.rules:
        assert rule.name in shown
        assert str(rule.query) in shown
    assert "sources: tag:releases" in shown
    assert "sources: all sources" in shown
    assert "terminal: console://" in shown
    assert len(shown.splitlines()) <= 50


def test_the_summary_notes_what_would_do_nothing() -> None:
    text = MINIMAL + '\n[[source]]\nname = "idle"\nurl = "https://idle.example/rss"\n'
    text = text.replace('notify = ["terminal"]', 'notify = ["terminal"]\nsources = ["hn"]')
    text = text.replace('terminal = "console://"', 'terminal = "console://"\nspare = "console://"')
    shown = summary(parse(text, env={}))
    assert "no rule looks at idle." in shown
    assert re.search(r"(?m)^  spare: +console://  \(no rule uses it\)$", shown)


def test_load_returns_a_config_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    cfg = load(path, env={})
    assert isinstance(cfg, Config)
    assert cfg.path == path
    assert cfg.settings.database.is_absolute()


def test_the_summary_hides_a_password_written_in_a_feed_url() -> None:
    cfg = parse(
        '[[source]]\nname = "private"\nurl = "https://bob:hunter22@feeds.example/rss"', env={}
    )
    shown = summary(cfg)
    assert "https://bob:****@feeds.example/rss" in shown
    assert "hunter22" not in shown


@pytest.mark.parametrize(
    ("rule", "title", "text", "matches"),
    [
        ("openai-open-weights", "OpenAI releases gpt-oss, its first open-weight models", "", True),
        ("openai-open-weights", "OpenAI launches a new API tier", "Pricing changes.", False),
        ("open-weights-any-lab", "Mistral ships an open-weights model", "Apache 2.0.", True),
        ("open-weights-any-lab", "Weight Watchers bets on open weights", "", False),
        ("model-repo-releases", "v1.1", "Model weights are on Hugging Face.", True),
        ("model-repo-releases", "v0.2.1", "Bug fixes in the tokenizer.", False),
    ],
)
def test_the_example_rules_catch_what_they_say(
    rule: str, title: str, text: str, matches: bool
) -> None:
    cfg = load(EXAMPLE, env={})
    [found] = [r for r in cfg.rules if r.name == rule]
    assert (found.query.match(query.prepare(title, text)) is not None) == matches


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://example.org/a b", "source[0].url: contains spaces; write them as %20"),
        ("https://example.org/a\\tb", "source[0].url: contains spaces; write them as %20"),
        ("https://example.org/a\\u2003b", "source[0].url: contains spaces; write them as %20"),
        ("https://example.org/a\\u00a0b", "source[0].url: contains spaces; write them as %20"),
        ("https://example.org:99999/f", 'source[0].url: is not a valid URL, found "https'),
        ("https:///f", 'source[0].url: has no host name, found "https:///f"'),
    ],
)
def test_a_bad_source_url_is_named_by_its_key_path(url: str, problem: str) -> None:
    """The per-source URL checks (cut to a regex and fast paths for start-up time) still
    catch every space str.isspace() knows and name the key."""
    text = MINIMAL.replace("https://news.ycombinator.com/rss", url)
    assert only_problem(text).startswith(problem)


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("https://example.org/feed", []),
        ("https://example.org/feed#x", []),
        ("https://bob:pw1@example.org/feed", ["pw1"]),
        ("https://example.org/feed?token=t0k&page=2", ["t0k"]),
        ("https://example.org/feed?Api-Key=a%2Fb", ["a/b", "a%2Fb"]),
        ("https://[::1/feed?key=x", []),
    ],
)
def test_the_credentials_of_a_feed_url(url: str, found: list[str]) -> None:
    assert config.env.url_credentials(url) == found


@pytest.mark.parametrize("text", ["plain", "", "https://example.org/feed?x=1", "{braces}"])
def test_text_without_a_dollar_expands_to_itself_with_nothing_recorded(text: str) -> None:
    result = config.env.expand(text, {"plain": "never used"})
    assert (result.value, result.problems, result.secrets, result.unset) == (text, [], [], [])
