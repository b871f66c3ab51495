"""``Storage.record_bookkeeping``: many sources' poll bookkeeping (a 304, an unchanged body)
in one transaction, leaving every row exactly as ``record_poll`` one poll at a time does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from weightwatch.errors import StorageError
from weightwatch.storage import Storage
from weightwatch.types import SourceUpdate, Validators

pytestmark = pytest.mark.integration  # real SQLite files

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# Polls alike and unlike: the same columns set share one statement, the others their own.
POLLS: list[tuple[str, SourceUpdate]] = [
    ("a", SourceUpdate(last_poll=NOW, last_status="not modified", last_http_status=304)),
    ("b", SourceUpdate(last_poll=NOW, last_status="not modified", last_http_status=304)),
    (
        "c",
        SourceUpdate(
            last_poll=NOW,
            last_status="unchanged",
            last_http_status=200,
            health="ok",
            last_ok=NOW,
            validators=Validators("e2", "lm2", "rss20", "h1"),
            unchanged=True,
        ),
    ),
    (
        "d",
        SourceUpdate(
            last_poll=NOW,
            last_status="not modified",
            last_http_status=304,
            not_before=NOW + timedelta(hours=1),
            health="stale",
            last_ok=NOW - timedelta(days=2),
        ),
    ),
]


def stored(storage: Storage) -> list[dict[str, Any]]:
    return storage._rows("SELECT * FROM sources ORDER BY name")


def fresh(path: Path) -> Storage:
    storage = Storage(path)
    storage.ensure_sources([(name, f"https://{name}.example/f") for name, _ in POLLS])
    # A source that had failed before: a poll that works sets its failures back.
    storage.conn.execute("UPDATE sources SET consecutive_failures = 2, last_error = 'x'")
    return storage


def test_bookkeeping_in_one_transaction_stores_what_record_poll_stores(tmp_path: Path) -> None:
    each, together = fresh(tmp_path / "each.db"), fresh(tmp_path / "together.db")
    try:
        for name, update in POLLS:
            each.record_poll(name, now=NOW, items=[], hits=[], state=update)
        commits: list[str] = []
        together.conn.set_trace_callback(
            lambda sql: commits.append(sql) if sql.startswith("COMMIT") else None
        )
        together.record_bookkeeping(POLLS)
        together.conn.set_trace_callback(None)
        assert len(commits) == 1
        assert stored(together) == stored(each)
        assert together.source_states() == each.source_states()
    finally:
        each.close()
        together.close()


def test_no_bookkeeping_writes_nothing(tmp_path: Path) -> None:
    storage = fresh(tmp_path / "ww.db")
    try:
        statements: list[str] = []
        storage.conn.set_trace_callback(statements.append)
        storage.record_bookkeeping([])
        assert statements == []
    finally:
        storage.close()


def test_a_failed_bookkeeping_write_leaves_every_row_as_it_was(tmp_path: Path) -> None:
    storage = fresh(tmp_path / "ww.db")
    try:
        before = stored(storage)
        # A trigger makes the last source's update fail: none of the others may stay.
        storage.conn.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE ON sources WHEN NEW.name = 'd'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        with pytest.raises(StorageError, match="refused"):
            storage.record_bookkeeping(POLLS)
        assert stored(storage) == before
    finally:
        storage.close()
