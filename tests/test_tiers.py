"""The tier guard of tests/conftest.py, run by a real pytest on a few small test files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.system

INI = """[pytest]
addopts = --strict-markers -p no:cacheprovider
pythonpath = .
markers =
    unit: u
    integration: i
    system: s
    corpus: c
"""

TESTS = """
import socket, sqlite3, subprocess, sys
import pytest

def test_unit_connecting_a_socket():
    socket.create_connection(("127.0.0.1", 9), timeout=1)

def test_unit_whose_code_swallows_the_refusal():
    try:
        subprocess.run([sys.executable, "-c", "0"])
    except Exception:
        pass

def test_unit_opening_sqlite(tmp_path):
    sqlite3.connect(tmp_path / "x.db")

@pytest.mark.integration
def test_integration_opening_sqlite(tmp_path):
    sqlite3.connect(tmp_path / "x.db").close()

@pytest.mark.integration
def test_integration_starting_a_process():
    subprocess.run([sys.executable, "-c", "0"])

def test_integration_by_fixture(http_server):
    socket.create_connection(("127.0.0.1", http_server.port), timeout=5).close()

@pytest.mark.system
def test_system_starting_a_process():
    subprocess.run([sys.executable, "-c", "0"], check=True)
"""


def run_pytest(tmp_path: Path, tests: str, *args: str) -> subprocess.CompletedProcess[str]:
    for name in ("conftest.py", "builders.py", "servers.py", "daemon_harness.py", "feedgen.py"):
        shutil.copy(HERE / name, tmp_path / name)
    (tmp_path / "pytest.ini").write_text(INI, encoding="utf-8")
    (tmp_path / "test_sample.py").write_text(tests, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "400"},  # whole messages in the short summary
    )


def test_a_test_that_steps_out_of_its_tier_fails_and_the_others_pass(tmp_path: Path) -> None:
    out = run_pytest(tmp_path, TESTS).stdout
    outcome = {
        line.split("::")[1].split(" ")[0]: line.split(" ")[0]
        for line in out.splitlines()
        if "test_sample.py::" in line and line.startswith(("PASSED", "FAILED", "ERROR"))
    }
    assert outcome == {
        "test_unit_connecting_a_socket": "FAILED",
        "test_unit_whose_code_swallows_the_refusal": "FAILED",
        "test_unit_opening_sqlite": "FAILED",
        "test_integration_opening_sqlite": "PASSED",
        "test_integration_starting_a_process": "FAILED",
        "test_integration_by_fixture": "PASSED",
        "test_system_starting_a_process": "PASSED",
    }, out
    assert "a unit test may not use socket" in out
    assert "an integration test may not use subprocess" in out
    assert "tiers: 3 unit, 3 integration, 1 system, 0 corpus" in out


def test_two_tiers_on_one_test_is_a_collection_error(tmp_path: Path) -> None:
    both = "import pytest\n\n@pytest.mark.unit\n@pytest.mark.system\ndef test_x():\n    pass\n"
    result = run_pytest(tmp_path, both)
    assert result.returncode != 0
    assert "one tier per test" in result.stdout + result.stderr


def test_m_selects_the_tier_given_by_fixtures(tmp_path: Path) -> None:
    out = run_pytest(tmp_path, TESTS, "-m", "unit or integration").stdout
    assert "test_system_starting_a_process" not in out
    assert "test_integration_by_fixture" in out
