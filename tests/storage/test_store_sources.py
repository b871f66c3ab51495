"""``Storage.ensure_sources``: one row per configured source; a changed URL forgets the
validators (it reads every row once and writes only what changes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from weightwatch.storage import Storage

pytestmark = pytest.mark.integration  # real SQLite files

VALIDATED = (
    "UPDATE sources SET etag = 'e', last_modified = 'lm', permanent_url = 'https://p/',"
    " body_hash = 'h' WHERE name = ?"
)


def rows(storage: Storage) -> dict[str, tuple[str, str | None, str | None, str | None]]:
    cursor = storage.conn.execute("SELECT name, url, etag, permanent_url, body_hash FROM sources")
    return {name: (url, etag, perm, body) for name, url, etag, perm, body in cursor}


def test_new_sources_are_added_and_known_ones_keep_their_validators(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "ww.db")
    try:
        storage.ensure_sources([("a", "https://a/f"), ("b", "https://b/f")])
        storage.conn.execute(VALIDATED, ["a"])
        storage.ensure_sources([("a", "https://a/f"), ("b", "https://b/f"), ("c", "https://c/f")])
        assert rows(storage) == {
            "a": ("https://a/f", "e", "https://p/", "h"),
            "b": ("https://b/f", None, None, None),
            "c": ("https://c/f", None, None, None),
        }
    finally:
        storage.close()


def test_a_changed_url_is_stored_and_forgets_the_validators(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "ww.db")
    try:
        storage.ensure_sources([("a", "https://a/f"), ("b", "https://b/f")])
        storage.conn.execute(VALIDATED, ["a"])
        storage.conn.execute(VALIDATED, ["b"])
        storage.ensure_sources([("a", "https://a/moved"), ("b", "https://b/f")])
        assert rows(storage) == {
            "a": ("https://a/moved", None, None, None),
            "b": ("https://b/f", "e", "https://p/", "h"),
        }
        last_modified = storage.conn.execute(
            "SELECT last_modified FROM sources WHERE name = 'a'"
        ).fetchone()
        assert last_modified == (None,)
    finally:
        storage.close()


def test_a_name_given_twice_ends_with_its_last_url(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "ww.db")
    try:
        storage.ensure_sources([("a", "https://a/1")])
        storage.conn.execute(VALIDATED, ["a"])
        storage.ensure_sources([("a", "https://a/2"), ("a", "https://a/1")])
        assert rows(storage) == {"a": ("https://a/1", None, None, None)}
        storage.ensure_sources([("n", "https://n/1"), ("n", "https://n/2")])
        assert rows(storage)["n"] == ("https://n/2", None, None, None)
    finally:
        storage.close()


def test_ensure_sources_writes_nothing_when_nothing_changed(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "ww.db")
    try:
        sources = [(f"s{i}", f"https://h{i}/f") for i in range(50)]
        storage.ensure_sources(sources)
        before = storage.conn.total_changes
        storage.ensure_sources(sources)
        assert storage.conn.total_changes == before
    finally:
        storage.close()
