"""Every sqlite3 error leaves Storage as a StorageError that names the file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fsfaults import small_tmpfs
from storage_builders import NOW, alert, filled
from weightwatch.errors import StorageError
from weightwatch.storage import Storage
from weightwatch.types import StoryLookup


def _full_error(storage: Storage, tries: int = 10_000) -> StorageError:
    """Queue ever more 64 KB alerts until a write fails; that failure."""
    for n in range(tries):
        try:
            storage.queue_alerts([alert(f"t{n}", "x" * 65536, key=f"k{n}")], now=NOW)
        except StorageError as exc:
            return exc
    raise AssertionError("the disk never filled")


@pytest.mark.integration
def test_a_full_database_raises_a_storage_error_not_cannot_rollback(tmp_path: Path) -> None:
    # max_page_count makes SQLite answer SQLITE_FULL and roll back by itself, as a full
    # disk does: the ROLLBACK that followed used to raise "cannot rollback" instead.
    path = tmp_path / "ww.db"
    storage = filled(path)
    pages = storage.conn.execute("PRAGMA page_count").fetchone()[0]
    storage.conn.execute(f"PRAGMA max_page_count = {pages + 40}")
    exc = _full_error(storage)
    assert "full" in str(exc) and str(path) in str(exc)
    assert exc.kind == "full"
    assert "cannot rollback" not in str(exc)
    assert isinstance(exc.__cause__, sqlite3.Error)
    assert not storage.conn.in_transaction
    storage.conn.execute("PRAGMA max_page_count = 1073741823")
    storage.queue_alerts([alert("after", key="k-after")], now=NOW)  # writes work again
    assert storage.counts()["pending"] >= 2


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs (root only)."""
    with small_tmpfs(tmp_path / "tiny", "2m") as mount:
        yield mount


@pytest.mark.system
def test_a_full_disk_raises_a_storage_error_and_the_database_works_once_space_returns(
    tiny_fs: Path,
) -> None:
    path = tiny_fs / "ww.db"
    storage = filled(path)
    exc = _full_error(storage)
    assert "the disk is full" in str(exc) and str(path) in str(exc)
    assert isinstance(exc.__cause__, sqlite3.Error)
    assert storage.counts()["hits"] == 1  # reads still work on a full disk
    storage.close()
    subprocess.run(["mount", "-o", "remount,size=16m", str(tiny_fs)], check=True)  # space returns
    again = Storage(path)
    before = again.counts()["pending"]
    again.queue_alerts([alert("after", key="k-after")], now=NOW)
    assert again.counts() == {**again.counts(), "hits": 1, "pending": before + 1}
    assert [a.title for a in again.open_alerts()][-1] == "after"
    assert again.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again.close()


def _read_only(path: Path) -> Callable[[], None]:
    """Make the database file read-only for this process; returns the undo."""
    files = list(path.parent.glob(path.name + "*"))
    if os.geteuid() != 0:
        for p in files:
            p.chmod(0o444)

        def undo() -> None:
            for p in files:
                p.chmod(0o644)

        return undo
    # root ignores file modes: remount the tmpfs holding it read-only.
    subprocess.run(["mount", "-o", "remount,ro", str(path.parent)], check=True)

    def remount() -> None:
        subprocess.run(["mount", "-o", "remount,rw", str(path.parent)], check=True)

    return remount


@pytest.mark.system
def test_writing_to_a_read_only_database_raises_a_storage_error_naming_it(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    folder = request.getfixturevalue("tiny_fs") if os.geteuid() == 0 else tmp_path
    path = folder / "ww.db"
    filled(path).close()
    undo = _read_only(path)
    try:
        with pytest.raises(StorageError) as caught:
            storage = Storage(path)
            storage.queue_alerts([alert("x", key="k9")], now=NOW)
        message = str(caught.value)
        assert str(path) in message
        assert "read-only" in message or "readonly" in message or "cannot open" in message
        assert caught.value.kind == "no-access"
    finally:
        undo()


@pytest.mark.integration
@pytest.mark.parametrize("opener", [Storage, Storage.open_read_only], ids=["write", "read"])
def test_a_corrupt_file_raises_a_storage_error_that_says_so(
    tmp_path: Path, opener: Callable[[Path], Storage]
) -> None:
    path = tmp_path / "ww.db"
    path.write_bytes(b"this is not a database, just some bytes\n" * 200)
    with pytest.raises(StorageError) as caught:
        opener(path)
    message = str(caught.value)
    assert str(path) in message
    assert "damaged or is not a weightwatch database" in message
    assert message.endswith(".")


READS: list[tuple[str, Callable[[Storage], Any]]] = [
    ("counts", lambda s: s.counts()),
    ("open_alerts", lambda s: s.open_alerts()),
    ("source_states", lambda s: s.source_states()),
    ("hits_since", lambda s: s.hits_since(NOW)),
    ("url_health", lambda s: s.url_health("k1")),
    ("page_fingerprints", lambda s: s.page_fingerprints("a", NOW)),
    ("story_context", lambda s: s.story_context(StoryLookup(links=frozenset({("oa", "x")})))),
    ("items_since", lambda s: s.items_since(NOW)),
    ("stories", lambda s: s.stories()),
    ("ensure_sources", lambda s: s.ensure_sources([("b", "http://b/")])),
]


@pytest.mark.integration
@pytest.mark.parametrize(("name", "call"), READS, ids=[n for n, _ in READS])
def test_every_method_converts_sqlite_errors(
    tmp_path: Path, name: str, call: Callable[[Storage], Any]
) -> None:
    storage = filled(tmp_path / "ww.db")
    storage.conn.close()  # every call now fails inside sqlite3
    with pytest.raises(StorageError) as caught:
        call(storage)
    assert str(tmp_path / "ww.db") in str(caught.value)


@pytest.mark.integration
def test_an_error_in_a_transaction_block_rolls_back_and_keeps_its_type(tmp_path: Path) -> None:
    storage = filled(tmp_path / "ww.db")
    with pytest.raises(KeyError), storage.transaction() as conn:
        conn.execute("DELETE FROM alerts")
        raise KeyError("not a database error")
    assert storage.counts()["pending"] == 1
    with pytest.raises(StorageError) as caught, storage.transaction() as conn:
        conn.execute("INSERT INTO no_such_table VALUES (1)")
    assert "no such table" in str(caught.value)
    assert not storage.conn.in_transaction
