"""Opening a database that cannot be used: refused with its kind, never silently replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from storage_builders import NOW, alert, filled
from weightwatch.errors import StorageError
from weightwatch.storage import Storage

EMPTY_ADVICE = (
    "is empty (0 bytes): it is not a weightwatch database. If you meant to start over,"
    " delete it; if it should hold your history, restore it from a backup."
)


@pytest.mark.integration
@pytest.mark.parametrize("opener", [Storage, Storage.open_read_only], ids=["write", "read"])
def test_an_empty_file_is_refused_and_left_as_it_is(
    tmp_path: Path, opener: Callable[[Path], Storage]
) -> None:
    path = tmp_path / "ww.db"
    path.write_bytes(b"")
    with pytest.raises(StorageError) as caught:
        opener(path)
    assert str(caught.value) == f"{path} {EMPTY_ADVICE}"
    assert caught.value.kind == "empty"
    assert path.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ww.db"]


@pytest.mark.integration
def test_a_new_database_leaves_no_temporary_file_behind(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "ww.db")
    storage.queue_alerts([alert("x")], now=NOW)
    storage.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ww.db"]
    assert Storage(tmp_path / "ww.db").counts()["pending"] == 1


CREATE = """
import sys
from weightwatch.storage import Storage
Storage(sys.argv[1]).close()
"""


@pytest.mark.system
def test_a_crash_while_creating_the_database_never_leaves_a_file_that_is_refused(
    tmp_path: Path,
) -> None:
    # kill -9 at the moment the new database exists only under its temporary name, and at
    # other moments around it: the path holds either nothing or a complete database.
    path = tmp_path / "ww.db"
    kills = 0
    for delay in (0.0, 0.002, 0.005, 0.01, 0.02, 0.04):
        for leftover in tmp_path.iterdir():
            leftover.unlink()
        proc = subprocess.Popen([sys.executable, "-c", CREATE, str(path)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            if any(p.name.endswith(".creating") for p in tmp_path.iterdir()):
                time.sleep(delay)
                break
            time.sleep(0.0005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        assert not path.exists() or path.stat().st_size > 0
        storage = Storage(path)  # never "empty (0 bytes)", never damaged
        assert storage.counts()["pending"] == 0
        storage.close()
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == ["ww.db"], names  # the killed run's temporary file was removed
    assert kills >= 1


def _applied(path: Path, name: str) -> None:
    storage = Storage(path)
    storage.conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
        " VALUES ('weightwatch', ?, '2030-01-01')",
        [name],
    )
    storage.close()


@pytest.mark.integration
def test_the_writer_refuses_a_database_of_a_newer_schema_without_touching_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ww.db"
    filled(path).close()
    _applied(path, "0099_from_the_future")
    before = path.read_bytes()
    with pytest.raises(StorageError) as caught:
        Storage(path)
    message = str(caught.value)
    assert f"The database {path} was written by a newer weightwatch" in message
    assert "0099_from_the_future" in message and "upgrade weightwatch" in message
    assert caught.value.kind == "newer"
    assert path.read_bytes() == before


@pytest.mark.integration
def test_a_corrupt_file_is_of_kind_damaged(tmp_path: Path) -> None:
    path = tmp_path / "ww.db"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(StorageError) as caught:
        Storage(path)
    assert caught.value.kind == "damaged"
    assert str(path) in str(caught.value)


@pytest.mark.integration
def test_a_database_in_a_directory_that_cannot_be_created_names_it(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory should be\n", encoding="utf-8")
    path = blocker / "ww.db"
    with pytest.raises(StorageError) as caught:
        Storage(path)
    message = str(caught.value)
    assert caught.value.kind == "no-access"
    assert str(path) in message and "Traceback" not in message
