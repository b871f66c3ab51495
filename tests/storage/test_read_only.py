"""Commands that only read never create or migrate a database, and read while a writer writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from builders import OPENAI_RULE, write_config
from storage_builders import filled
from weightwatch.cli import main
from weightwatch.errors import StorageError
from weightwatch.storage import Storage
from weightwatch.storage.migrations import migrations

READERS = [
    ["status"],
    ["status", "--json"],
    ["hits"],
    ["alerts"],
    ["alerts", "--pending"],
    ["explain", "--rule", "oa", "--item", "i1"],
    ["backtest", "--rule", "oa", "--since", "3650d"],
]


def _config(tmp_path: Path) -> Path:
    write_config(
        tmp_path,
        {"a": "http://example.org/a.xml"},
        {"hook": ["json://127.0.0.1:9/x"]},
        [{"name": "oa", "query": OPENAI_RULE, "notify": ["hook"]}],
    )
    return tmp_path / "config.toml"


@pytest.mark.parametrize("argv", READERS, ids=" ".join)
def test_a_reading_command_without_a_database_says_so_and_creates_none(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    code = main([*argv, "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"There is no database at {tmp_path / 'ww.db'} yet: has weightwatch polled?" in err
    assert "weightwatch once" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


@pytest.mark.integration
@pytest.mark.parametrize("argv", READERS, ids=" ".join)
def test_a_reading_command_works_while_a_writer_holds_the_database(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    writer = filled(tmp_path / "ww.db")
    writer.conn.execute("BEGIN IMMEDIATE")  # the writer's lock, held for the whole command
    writer.conn.execute("UPDATE alerts SET title = 'uncommitted'")
    try:
        code = main([*argv, "--config", str(config)])
    finally:
        writer.conn.execute("ROLLBACK")
        writer.close()
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "uncommitted" not in out
    if argv[0] in ("hits", "alerts", "explain"):
        assert "OpenAI releases weights" in out


@pytest.mark.parametrize("which", [["--all-failed"], ["7"]], ids=" ".join)
def test_alerts_retry_without_a_database_says_so_and_creates_none(
    tmp_path: Path, which: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    code = main(["alerts", "retry", *which, "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"There is no database at {tmp_path / 'ww.db'} yet: has weightwatch polled?" in err
    assert f"That path is settings.database in {config}." in err
    assert "weightwatch once" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


@pytest.mark.integration
def test_alerts_retry_requeues_a_failed_alert_in_the_existing_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    writer = filled(tmp_path / "ww.db")
    writer.conn.execute("UPDATE alerts SET status = 'failed'")
    writer.close()
    assert main(["alerts", "retry", "--all-failed", "--config", str(config)]) == 0
    assert "Requeued 1 failed alert(s)" in capsys.readouterr().out
    assert _statuses(tmp_path / "ww.db") == ["pending"]


@pytest.mark.integration
def test_read_only_opening_refuses_an_older_schema_and_leaves_it_alone(tmp_path: Path) -> None:
    path = tmp_path / "ww.db"
    conn = sqlite3.connect(path)
    migrations.apply(sqlite_utils.Database(conn), stop_before="0005_story_index")
    conn.close()
    with pytest.raises(StorageError) as caught:
        Storage.open_read_only(path)
    message = str(caught.value)
    assert f"The database {path} has an older schema" in message
    assert "0005_story_index" in message and "weightwatch once" in message
    tables = _tables(path)
    assert "story_words" not in tables and "alerts" in tables  # not migrated


@pytest.mark.integration
def test_read_only_opening_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "ww.db"
    filled(path).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
        " VALUES ('weightwatch', '9999_from_the_future', '2030-01-01')"
    )
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match=r"newer weightwatch .*9999_from_the_future"):
        Storage.open_read_only(path)


@pytest.mark.integration
def test_read_only_storage_reads_and_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "ww.db"
    filled(path).close()
    reader = Storage.open_read_only(path)
    try:
        assert reader.counts()["hits"] == 1
        with pytest.raises(StorageError, match="read-only"):
            reader.set_next_due("a", None)
    finally:
        reader.close()


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def _statuses(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT status FROM alerts ORDER BY id")]
    finally:
        conn.close()
