"""The unit files in systemd/ are valid, hardened, and say what docs/systemd.md promises."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "systemd"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
WEIGHTWATCH = str(Path(sys.executable).with_name("weightwatch"))


def unit_with_real_binary(tmp_path: Path, name: str) -> Path:
    """A copy of the unit whose ExecStart points at this venv's weightwatch (verify checks it)."""
    text = (UNITS / name).read_text(encoding="utf-8")
    text = re.sub(r"(ExecStart=)\S+/weightwatch(?=\s)", rf"\g<1>{WEIGHTWATCH}", text)
    out = tmp_path / name
    out.write_text(text, encoding="utf-8")
    return out


def keys(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name, encoding="utf-8")
    return parser


@pytest.mark.parametrize("name", ["weightwatch.service", "weightwatch-user.service"])
def test_units_declare_notify_reload_and_no_restart_loop_on_config_errors(name: str) -> None:
    service = keys(name)["Service"]
    assert service["Type"] == "notify"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"].split()[0] == "78"  # more: test_db_faults
    assert "WatchdogSec" in service
    assert re.search(r"weightwatch run\b", service["ExecStart"])


def test_system_unit_keeps_state_and_config_in_systemd_directories() -> None:
    service = keys("weightwatch.service")["Service"]
    assert service["StateDirectory"] == "weightwatch"
    assert service["ConfigurationDirectory"] == "weightwatch"
    assert service["DynamicUser"] == "yes"


def test_system_unit_does_not_write_bytecode_into_its_read_only_code() -> None:
    # Under ProtectSystem=strict each first import would fail an openat() with EROFS.
    service = keys("weightwatch.service")["Service"]
    assert service["ProtectSystem"] == "strict"
    assert service["Environment"] == "PYTHONDONTWRITEBYTECODE=1"


@pytest.mark.system
@needs_analyze
@pytest.mark.parametrize("name", ["weightwatch.service", "weightwatch-user.service"])
def test_systemd_analyze_verify_prints_nothing(tmp_path: Path, name: str) -> None:
    unit = unit_with_real_binary(tmp_path, name)
    result = subprocess.run(
        [str(ANALYZE), "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    # verify exits 0 even on warnings: any output at all is a problem.
    assert result.returncode == 0
    assert result.stdout.strip() == "" and result.stderr.strip() == ""


@pytest.mark.system
@needs_analyze
def test_system_unit_is_rated_ok_by_systemd_analyze_security(tmp_path: Path) -> None:
    unit = unit_with_real_binary(tmp_path, "weightwatch.service")
    result = subprocess.run(
        [str(ANALYZE), "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0
    assert match.group(2) == "OK"


@pytest.mark.parametrize("name", ["weightwatch.service", "weightwatch-user.service"])
def test_units_dump_no_core_cap_memory_and_stop_a_crash_loop(name: str) -> None:
    unit = keys(name)
    service = unit["Service"]
    assert service["LimitCORE"] == "0"  # a watchdog SIGABRT must not dump tokens to disk
    assert service["MemoryMax"] == "512M"
    assert int(unit["Unit"]["StartLimitIntervalSec"]) >= 60
    assert int(unit["Unit"]["StartLimitBurst"]) >= 1


def test_system_unit_hides_home_and_blocks_link_local_and_multicast_only() -> None:
    service = keys("weightwatch.service")["Service"]
    assert service["ProtectHome"] == "yes"
    # "link-local" and "multicast" are systemd's names for 169.254/16 + fe80::/64 and
    # 224/4 + ff00::/8: loopback and ordinary outbound addresses are not in them.
    assert service["IPAddressDeny"] == "link-local multicast"
    assert "IPAddressAllow" not in service


def test_units_say_loadcredential_is_not_read_yet() -> None:
    for name in ("weightwatch.service", "weightwatch-user.service"):
        text = (UNITS / name).read_text(encoding="utf-8")
        assert not re.search(r"^LoadCredential=", text, re.MULTILINE)
        assert "LoadCredential= is not read yet" in text or "NOT read by weightwatch" in text
    assert "LoadCredential" in (ROOT / "docs" / "systemd.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["weightwatch.service", "weightwatch-user.service"])
def test_units_make_private_tmp_real_and_files_private(name: str) -> None:
    service = keys(name)["Service"]
    assert service["UMask"] == "0077"
    # A user manager (systemd 252) applies PrivateTmp= only inside a user namespace.
    assert service["PrivateTmp"] == "yes" and service["PrivateUsers"] == "yes"


def test_systemd_doc_gives_the_install_a_fresh_machine_needs() -> None:
    doc = (ROOT / "docs" / "systemd.md").read_text(encoding="utf-8")
    for needed in ("git", "make", "python3-venv", "Python 3.11", "PyPI", "enable-linger"):
        assert needed in doc, needed
    assert doc.index("mkdir -p ~/.config/systemd/user") < doc.index(
        "cp systemd/weightwatch-user.service ~/.config/systemd/user/"
    )
    assert "could not be checked" not in doc
    assert "make test-systemd" in doc
