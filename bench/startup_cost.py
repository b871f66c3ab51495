"""Where a short ``weightwatch`` command's start-up CPU goes, and side-by-side timing.

Usage (from the repo root):

    # self CPU (thread time) of every module imported while a command runs, largest first
    .venv/bin/python bench/startup_cost.py imports --top 30 -- once --config F

    # N interleaved runs of each command (A B C A B C ...): median and min CPU and wall
    .venv/bin/python bench/startup_cost.py runs 11 \\
        "env PYTHONPATH=/tmp/main/src .venv/bin/python -m weightwatch once --config F" \\
        ".venv/bin/python -m weightwatch once --config F"

``imports`` runs the command in this process (``weightwatch.cli.main``) with a meta path
finder in front that times each module's ``exec_module`` with ``time.thread_time`` and
subtracts the modules imported inside it, so each line is that module's own CPU (its
bytecode loading, class and dataclass creation, regex compiling ...). Unlike ``python -X
importtime`` (wall time) it does not count waiting for a CPU on a loaded machine.
Which ``weightwatch`` is imported follows ``PYTHONPATH`` (an exported commit's ``src``).

``phases`` runs ``once`` in this process and times its phases: start-up (imports, config,
database) up to the first fetch, the poll phase (fetching in the worker threads while the
main thread stores), and the rest (delivery, pruning, closing); CPU of the whole process
and of the main thread alone, whose work during the poll phase (storing each poll) takes
the GIL from the fetchers:

    .venv/bin/python bench/startup_cost.py phases -- once --config F

``runs`` measures each child's CPU (user+sys from ``os.wait4``) and wall time; commands are
split with ``shlex``, proxies are removed from the environment (as bench/cycle.py does).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib.abc
import importlib.machinery
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any


class _Timing(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader the other finders return with a timer."""

    def __init__(self) -> None:
        self.own: collections.defaultdict[str, float] = collections.defaultdict(float)
        self.stack: list[list[float]] = []  # per module being imported: [CPU of children]

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec: importlib.machinery.ModuleSpec | None = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            loader = spec.loader
            if loader is not None and hasattr(loader, "exec_module"):
                self._wrap(loader, fullname)
            return spec
        return None

    def _wrap(self, loader: importlib.abc.Loader, name: str) -> None:
        original = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            start = time.thread_time()
            self.stack.append([0.0])
            try:
                original(module)
            finally:
                children = self.stack.pop()[0]
                spent = time.thread_time() - start
                self.own[name] += spent - children
                if self.stack:
                    self.stack[-1][0] += spent

        # A loader that refuses: its module is counted in its importer.
        with contextlib.suppress(AttributeError, TypeError):
            loader.exec_module = exec_module  # type: ignore[method-assign]


def imports(argv: list[str], top: int) -> int:
    timing = _Timing()
    sys.meta_path.insert(0, timing)
    start = time.thread_time()
    import weightwatch.cli

    try:
        code = weightwatch.cli.main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    total = time.thread_time() - start
    own = sum(timing.own.values())
    ours = sum(v for k, v in timing.own.items() if k.split(".")[0] == "weightwatch")
    print(
        f"main thread {total * 1000:.0f} ms CPU; imports {own * 1000:.1f} ms, of which"
        f" weightwatch's own modules {ours * 1000:.1f} ms ({len(timing.own)} modules,"
        f" weightwatch from {os.path.dirname(os.path.dirname(weightwatch.cli.__file__ or ''))})",
        file=sys.stderr,
    )
    for name, cpu in sorted(timing.own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{cpu * 1000:7.1f} ms  {name}", file=sys.stderr)
    return code


def phases(argv: list[str]) -> int:
    start = (time.perf_counter(), time.process_time(), time.thread_time())
    marks: list[tuple[str, float, float, float]] = []

    def mark(name: str) -> None:
        wall, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
        marks.append((name, wall - start[0], cpu - start[1], main - start[2]))

    import weightwatch.cli
    import weightwatch.service.once as once

    polling = once.poll_sources

    def poll_sources(*args: Any, **kwargs: Any) -> Any:
        mark("poll_sources starts")
        try:
            return polling(*args, **kwargs)
        finally:
            mark("poll_sources returns")

    once.poll_sources = poll_sources
    try:
        code = weightwatch.cli.main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        once.poll_sources = polling
    mark("end")
    last = ("start", 0.0, 0.0, 0.0)
    for name, wall, cpu, main in marks:
        print(
            f"{last[0]} -> {name}: wall {(wall - last[1]) * 1000:.0f} ms, CPU"
            f" {(cpu - last[2]) * 1000:.0f} ms (main thread {(main - last[3]) * 1000:.0f} ms)",
            file=sys.stderr,
        )
        last = (name, wall, cpu, main)
    return code


def runs(count: int, commands: list[str]) -> int:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.0/8,localhost"
    argvs = [shlex.split(c) for c in commands]
    got: dict[int, list[tuple[float, float]]] = {i: [] for i in range(len(argvs))}
    failed = 0
    for _ in range(count):
        for i, argv in enumerate(argvs):
            start = time.perf_counter()
            proc = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            if os.waitstatus_to_exitcode(status) != 0:
                failed += 1
                print(f"exit {os.waitstatus_to_exitcode(status)}: {commands[i]}", file=sys.stderr)
            got[i].append((usage.ru_utime + usage.ru_stime, wall))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{count} interleaved runs each; load average at the end {load}\n")
    print("| command | CPU ms median (min) | wall ms median (min) |\n|---|---:|---:|")
    for i, command in enumerate(commands):
        cpus = [c for c, _ in got[i]]
        walls = [w for _, w in got[i]]
        print(
            f"| `{command}` | {statistics.median(cpus) * 1000:.0f} ({min(cpus) * 1000:.0f}) |"
            f" {statistics.median(walls) * 1000:.0f} ({min(walls) * 1000:.0f}) |"
        )
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = ap.add_subparsers(dest="what", required=True)
    imp = sub.add_parser("imports", help="own CPU of each module a command imports")
    imp.add_argument("--top", type=int, default=30)
    imp.add_argument("command", nargs=argparse.REMAINDER, help="weightwatch's arguments")
    pha = sub.add_parser("phases", help="wall and CPU of once's phases, in this process")
    pha.add_argument("command", nargs=argparse.REMAINDER, help="weightwatch's arguments")
    run = sub.add_parser("runs", help="interleaved runs of whole commands")
    run.add_argument("count", type=int)
    run.add_argument("commands", nargs="+")
    args = ap.parse_args(argv)
    if args.what in ("imports", "phases"):
        command = (
            [a for a in args.command if a != "--"] if args.command[:1] == ["--"] else args.command
        )
        return imports(command, args.top) if args.what == "imports" else phases(command)
    return runs(args.count, args.commands)


if __name__ == "__main__":
    sys.exit(main())
