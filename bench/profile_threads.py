"""Run ``python -m weightwatch ...`` with EVERY thread profiled, for bench/cycle.py --profile.

Usage (from the repo root):

    .venv/bin/python bench/profile_threads.py OUT.prof once --config FILE

``python -m cProfile`` installs its profiler in the main thread only, so it never sees the
fetch-and-parse work that weightwatch does in its worker threads. This wrapper gives each
thread (also ``threading.Timer``s) its own ``cProfile.Profile`` timed with
``time.thread_time`` (the thread's own CPU seconds, so a thread waiting for the GIL or the
network is not charged), and merges them into one pstats file. ``cumtime`` adds up over the
threads, so it can pass the wall time.
"""

from __future__ import annotations

import cProfile
import pstats
import runpy
import sys
import threading
import time

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()
_bootstrap_inner = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]


def _profiled_bootstrap_inner(self: threading.Thread) -> None:
    profile = cProfile.Profile(time.thread_time)
    with _lock:
        _profiles.append(profile)
    profile.enable()
    try:
        _bootstrap_inner(self)
    finally:
        profile.disable()


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    out = sys.argv[1]
    sys.argv = ["weightwatch", *sys.argv[2:]]
    threading.Thread._bootstrap_inner = _profiled_bootstrap_inner  # type: ignore[attr-defined]
    main_profile = cProfile.Profile(time.thread_time)
    code = 0
    main_profile.enable()
    try:
        runpy.run_module("weightwatch", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        main_profile.disable()
    with _lock:
        others = list(_profiles)
    stats = pstats.Stats(main_profile)
    for profile in others:
        profile.disable()
        stats.add(profile)
    stats.dump_stats(out)
    print(f"profile_threads: {1 + len(others)} threads profiled -> {out}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
