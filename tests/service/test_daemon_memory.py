"""The daemon tunes glibc's malloc before its threads start, unless the administrator did."""

from __future__ import annotations

import platform

import pytest

from weightwatch.service.daemon import tune_malloc

pytestmark = pytest.mark.unit


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_malloc_is_tuned_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert tune_malloc() is True


@pytest.mark.parametrize("name", ["GLIBC_TUNABLES", "MALLOC_ARENA_MAX"])
def test_the_administrators_malloc_settings_win(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "glibc.malloc.arena_max=4" if name == "GLIBC_TUNABLES" else "4")
    assert tune_malloc() is False
