"""A small filesystem of a test's own, to fill up or turn read-only (root only)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_tmpfs(where: Path, size: str, options: str = "") -> Iterator[Path]:
    """A tmpfs of ``size`` (e.g. "1m") mounted at ``where``; the test is skipped, with the
    reason, when not root or when the mount fails. Unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("a filesystem to fill needs a tmpfs of our own, and mounting one needs root")
    where.mkdir()
    opts = f"size={size}" + (f",{options}" if options else "")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"could not mount a tmpfs: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def remount(mount: Path, options: str) -> None:
    """Change a mounted tmpfs's options (e.g. "ro", "rw", "size=16m")."""
    subprocess.run(["mount", "-o", f"remount,{options}", str(mount)], check=True)
