"""The pure modules load no I/O library: checked in a fresh interpreter, on ``sys.modules``.

lint-imports checks the same boundary statically (pyproject.toml, [tool.importlinter]); this
checks what an import really loads, lazy imports and import-time side effects included.
A fresh interpreter is a subprocess, so these are ``system`` tests.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys

import pytest

import weightwatch.matching

pytestmark = pytest.mark.system

HEAVY = (
    "requests",
    "urllib3",
    "sqlite3",
    "sqlite_utils",
    "apprise",
    "apscheduler",
    "selectolax",
    "feedparser",
    "jinja2",
    "tomlkit",
)

PURE = [
    "weightwatch.types",
    "weightwatch.errors",
    "weightwatch.matching",
    *sorted(
        m.name
        for m in pkgutil.walk_packages(weightwatch.matching.__path__, "weightwatch.matching.")
    ),
    "weightwatch.delivery.policy",
    "weightwatch.delivery.routing",
    "weightwatch.delivery.render",
    "weightwatch.config",  # the package: its loader is imported lazily, by load() and parse()
    "weightwatch.config.model",
    "weightwatch.sources.schedule",
    "weightwatch.sources.hosts",
    "weightwatch.sources.clean",
    "weightwatch.sources.health",
    "weightwatch.sources.urls",
    "weightwatch.sources.pagediff",
    "weightwatch.sources.discover",
    "weightwatch.sources.opml",
]

# Modules that still load a library through another one's import, until that work lands.
# Strict: when the import is fixed the xfail passes, fails the run, and is deleted here.
STILL_HEAVY: dict[str, str] = {}


def loaded_by(module: str) -> list[str]:
    code = (
        f"import json, sys, {module}\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    # Without coverage's subprocess hook: coverage itself imports sqlite3.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    found: list[str] = json.loads(result.stdout)
    return found


@pytest.mark.parametrize(
    "module",
    [
        pytest.param(m, marks=pytest.mark.xfail(strict=True, reason=STILL_HEAVY[m]))
        if m in STILL_HEAVY
        else m
        for m in PURE
    ],
)
def test_a_pure_module_loads_no_io_library(module: str) -> None:
    assert loaded_by(module) == []
