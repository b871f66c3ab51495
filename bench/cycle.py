"""Time one ``weightwatch once`` poll cycle over N generated feeds, next to a floor.

Usage (from the repo root):

    .venv/bin/python bench/cycle.py                                   # quick: 200 feeds, 1 round
    .venv/bin/python bench/cycle.py --feeds 1000 --rounds 3 --workers 8
    .venv/bin/python bench/cycle.py --feeds 1000 --check-server       # is the server fast enough?
    .venv/bin/python bench/cycle.py --feeds 1000 --profile            # where does the time go?

What it does:

* starts bench/feedserver.py in a SEPARATE process (its CPU is charged to neither side): N
  feeds of 20–50 items and 20–120 KB (RSS 2.0 and some Atom, real headlines from
  ../shared/corpus/headlines when present), generated once from a fixed seed and served from
  memory with ETag, Content-Length and keep-alive, spread over 50 loopback addresses
  (127.0.0.2 …) because weightwatch never sends two requests at once to one host;
* per round: a COLD run (fresh database / no ETags: every answer a 200) and a WARM run (the
  same database / ETags again: every answer a 304) of both
  - the FLOOR, bench/floor.py: requests in a thread pool of the same size + feedparser's
    defaults, nothing stored; and
  - ``python -m weightwatch once --config F`` (same ``workers``);
  alternating which side goes first, since the machine is shared and noisy;
* for each run: CPU seconds (user+sys of the process and its children, from ``os.wait4``),
  wall seconds (process start to exit, so interpreter start-up and imports count), peak RSS
  (``ru_maxrss``), and the server's CPU in that window;
* prints a Markdown table: medians over the rounds with (min–max), and the weightwatch/floor
  ratios (median of the per-round ratios), against the targets (cold ≤ 1.2×, warm ≤ 1.5×,
  peak RSS < 150 MB).

``--profile`` instead runs one cold weightwatch cycle (with ``--profile-phase warm``: one
cold cycle unprofiled, then the warm one, every answer a 304) as
``python -m cProfile -o OUT.prof -m weightwatch once --config F`` (main thread only) and once
more under bench/profile_threads.py (every thread, per-thread CPU time), and prints the top 25
functions by cumulative and by total time of each. Files go to bench/out/ (git-ignored).

Nothing here talks to anything but 127.0.0.0/8; every child is bounded in time.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import pstats
import re
import resource
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from feedserver import feed_urls  # noqa: E402

VENV_PY = ROOT / ".venv" / "bin" / "python"
TARGETS = {"cold": 1.2, "warm": 1.2, "same": None}  # warm 1.2×: issue 13, at N=200
RSS_LIMIT_MB = 150.0
RULE_QUERY = 'weights AND (release OR "open-weight")'
SUMMARY_RE = re.compile(
    r"(\d+) sources: (\d+) ok \((\d+) not modified(?:, (\d+) unchanged)?\), (\d+) failed"
)


# --- the server ---------------------------------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    ready: dict
    urls: list[str]

    @property
    def stats_addr(self) -> tuple[str, int]:
        host, port = self.ready["hosts"][0]
        return host, port

    def stats(self) -> dict:
        conn = http.client.HTTPConnection(*self.stats_addr, timeout=10)
        try:
            conn.request("GET", "/__stats")
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def validators(self, on: bool) -> None:
        """Make the server send ETag/Last-Modified (and 304s), or no validators at all."""
        conn = http.client.HTTPConnection(*self.stats_addr, timeout=10)
        try:
            conn.request("GET", f"/__validators/{'on' if on else 'off'}")
            conn.getresponse().read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # type: ignore[union-attr]  # EOF: it stops itself
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(args: argparse.Namespace, log: Path) -> Server:
    cmd = [
        str(args.python),
        str(BENCH / "feedserver.py"),
        "--feeds",
        str(args.feeds),
        "--hosts",
        str(args.hosts),
        "--seed",
        str(args.seed),
        "--lifetime",
        str(args.server_lifetime),
        "--watch-stdin",
    ]
    if args.gzip:
        cmd.append("--gzip")
    with log.open("wb") as err:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=child_env()
        )
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line = b""
    deadline = time.monotonic() + 300
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(left):
            proc.kill()
            raise SystemExit("cycle.py: the feed server did not start within 300 s")
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            raise SystemExit(f"cycle.py: the feed server exited: {log.read_text()[-2000:]}")
        line += chunk
    sel.close()
    ready = json.loads(line)
    hosts = [(h, p) for h, p in ready["hosts"]]
    return Server(proc, ready, feed_urls(hosts, ready["feeds"]))


SNAPSHOT: Path | None = None  # set by --commit: weightwatch is imported from here
BYTECODE = "none for weightwatch's own src/ (--no-bytecode): every run compiles it"


def child_env() -> dict[str, str]:
    """The environment without proxies (requests honours them, also for 127.0.0.x)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.0/8,localhost"
    if SNAPSHOT is not None:  # ahead of the editable install's .pth entry
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SNAPSHOT), env.get("PYTHONPATH")]))
    return env


def export_commit(rev: str, work: Path) -> Path:
    """src/ of a commit, exported with git archive (the repository is not touched)."""
    dest = work / "snapshot"
    dest.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev, "src"],
        capture_output=True,
        timeout=60,
    )
    if archive.returncode != 0:
        raise SystemExit(f"cycle.py: git archive {rev} failed: {archive.stderr.decode()}")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True, timeout=60)
    return dest / "src"


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Run:
    side: str  # "floor" or "weightwatch"
    phase: str  # "cold" or "warm"
    round: int
    cpu: float
    wall: float
    rss_mb: float
    rc: int
    out: str
    err: str
    server_cpu: float = 0.0
    server_requests: int = 0
    ok: bool = True
    note: str = ""


def measure(
    cmd: Sequence[str], cwd: Path, timeout: float
) -> tuple[float, float, float, int, str, str]:
    """(CPU s, wall s, peak RSS MB, exit code, stdout, stderr) of one child process."""
    out_path, err_path = cwd / "stdout.txt", cwd / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd), cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=child_env()
        )
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = ru.ru_utime + ru.ru_stime
    return (
        cpu,
        wall,
        ru.ru_maxrss / 1024.0,  # KiB on Linux
        proc.returncode,
        out_path.read_text(errors="replace"),
        err_path.read_text(errors="replace"),
    )


def _knows_setting(name: str) -> bool:
    """Whether the weightwatch being measured has this [settings] key."""
    src = SNAPSHOT if SNAPSHOT is not None else ROOT / "src"
    schema = src / "weightwatch" / "config" / "schema.py"
    return schema.exists() and f'"{name}"' in schema.read_text(encoding="utf-8")


def write_config(path: Path, urls: Sequence[str], database: Path, workers: int) -> None:
    # The floor has no pause between requests to one host: measure weightwatch without
    # its politeness pause too (host_spacing, since the one host gate), so both sides do
    # the same work; the pause is waiting, not cost.
    spacing = ['host_spacing = "0s"'] if _knows_setting("host_spacing") else []
    lines = [
        "[settings]",
        f'database = "{database}"',
        'timeout = "20s"',
        f"workers = {workers}",
        *spacing,
        "",
        "[channels]",
        'terminal = "console://"',
        "",
    ]
    for i, url in enumerate(urls, 1):
        lines += ["[[source]]", f'name = "feed-{i:04d}"', f'url = "{url}"', ""]
    lines += [
        "[[rule]]",
        'name = "weights"',
        f"query = '{RULE_QUERY}'",
        'notify = ["terminal"]',
        "",
    ]
    path.write_text("\n".join(lines))


class Bench:
    def __init__(self, args: argparse.Namespace, server: Server, work: Path) -> None:
        self.args = args
        self.server = server
        self.work = work
        self.urls_file = work / "urls.txt"
        self.urls_file.write_text("\n".join(server.urls) + "\n")

    def _timed(self, side: str, phase: str, rnd: int, cmd: list[str], cwd: Path) -> Run:
        before = self.server.stats()
        cpu, wall, rss, rc, out, err = measure(cmd, cwd, self.args.run_timeout)
        after = self.server.stats()
        return Run(
            side,
            phase,
            rnd,
            cpu,
            wall,
            rss,
            rc,
            out,
            err,
            server_cpu=after["cpu"] - before["cpu"],
            server_requests=after["requests"] - before["requests"] - 1,  # our own /__stats
        )

    def floor(self, phase: str, rnd: int, workers: int | None = None) -> Run:
        d = self.work / f"floor-{rnd}"
        d.mkdir(exist_ok=True)
        etags = d / "etags.json"
        if phase == "cold":
            etags.unlink(missing_ok=True)
        cmd = [
            str(self.args.python),
            str(BENCH / "floor.py"),
            "--urls",
            str(self.urls_file),
            "--workers",
            str(workers or self.args.workers),
            "--etags",
            str(etags),
        ]
        run = self._timed("floor", phase, rnd, cmd, d)
        n = len(self.server.urls)
        want = "304" if phase == "warm" else "200"
        try:
            result = json.loads(run.out.strip().splitlines()[-1])
            run.ok = run.rc == 0 and result["status"] == {want: n}
            run.note = f"{result['status']}, {result['entries']} entries"
        except (ValueError, IndexError, KeyError):
            run.ok = False
            run.note = f"exit {run.rc}: {run.err.strip()[-300:]}"
        return run

    def weightwatch(self, phase: str, rnd: int, urls: Sequence[str] | None = None) -> Run:
        d = self.work / f"ww-{rnd}"
        if phase == "cold":
            shutil.rmtree(d, ignore_errors=True)
        d.mkdir(exist_ok=True)
        config = d / "config.toml"
        urls = list(urls if urls is not None else self.server.urls)
        if phase == "cold":
            write_config(config, urls, d / "ww.db", self.args.workers)
        cmd = [str(self.args.python), "-m", "weightwatch", "once", "--config", str(config)]
        if phase == "cold" and self.args.backfill:
            cmd.append("--backfill")
        run = self._timed("weightwatch", phase, rnd, cmd, d)
        m = SUMMARY_RE.search(run.out)
        if run.rc != 0 or m is None:
            run.ok = False
            tail = (run.err.strip() or run.out.strip())[-600:]
            run.note = f"exit {run.rc}: {tail}"
            return run
        total, ok, not_modified, unchanged, failed = (int(g or 0) for g in m.groups())
        n = len(urls)
        if phase == "cold":
            run.ok = total == n and ok == n and not_modified == 0 and failed == 0
        elif phase == "same":
            run.ok = total == n and unchanged == n and failed == 0
        else:
            run.ok = total == n and not_modified == n and failed == 0
        run.note = m.group(0)
        return run


# --- reporting ----------------------------------------------------------------------------


def _fmt(values: Sequence[float], digits: int = 2, unit: str = "") -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.{digits}f}{unit}"
    return f"{med:.{digits}f}{unit} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def _machine() -> str:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"nproc={os.cpu_count()}{f' ({cpu})' if cpu else ''}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def source_fingerprint() -> str:
    """A hash of weightwatch's source, to notice it changing under a long run."""
    import hashlib

    h = hashlib.sha256()
    base = SNAPSHOT if SNAPSHOT is not None else ROOT / "src"
    for path in sorted((base / "weightwatch").rglob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def git_state(rev: str | None = None) -> str:
    if rev is not None:
        full = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", rev],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return f"{full} (src/ exported with git archive and put first on PYTHONPATH)"
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head or '?'}{' + uncommitted changes in src/' if dirty else ''}"


def describe(args: argparse.Namespace, server: Server) -> str:
    r = server.ready
    hosts = r["hosts"]
    ports = sorted({p for _, p in hosts})
    port = str(ports[0]) if len(ports) == 1 else f"{len(ports)} ports"
    return (
        f"- Feeds: {r['feeds']} ({r['bytes'] / 1e6:.1f} MB, {r['items']:,} items, "
        f"{r['atom']} Atom 1.0 / {r['feeds'] - r['atom']} RSS 2.0, "
        f"{r['min_bytes'] / 1024:.0f}–{r['max_bytes'] / 1024:.0f} KB each, seed {args.seed}; "
        f"titles: {r['titles']}{'; gzip' if r['gzip'] else ''}).\n"
        f"- Served from memory by bench/feedserver.py (a separate process, its CPU charged to "
        f"neither side) on {len(hosts)} loopback addresses {hosts[0][0]}–{hosts[-1][0]} "
        f"(port {port}): weightwatch never sends two requests at once to one host, so one "
        f"address would measure politeness, not speed.\n"
        f"- Cold: a fresh database / no ETags, every answer a 200; for weightwatch it is each "
        f"source's first poll, which records the items"
        f"{' and, with --backfill, matches and alerts on them' if args.backfill else ''}. "
        f"Warm: the same database / ETags again, every answer a 304.\n"
        + (
            "- Same (`--unchanged`): the server sends no ETag or Last-Modified, so every answer"
            " is a 200 with the bytes of the cold run: the floor parses every body again;"
            " weightwatch finds each body's hash unchanged and parses none.\n"
            if args.unchanged
            else ""
        )
        + f"- Bytecode: {BYTECODE}.\n"
        f"- workers={args.workers} on both sides; {args.rounds} round(s), each: cold floor and "
        f"weightwatch, then warm floor and weightwatch, the side going first alternating.\n"
        f"- Machine: {_machine()}.\n"
        f"- weightwatch: git {git_state(args.commit)}, source hash {source_fingerprint()}.\n"
        f"- CPU = user+sys of the process and its children (os.wait4), wall = process start "
        f"to exit (start-up and imports included), RSS = ru_maxrss."
    )


def table(runs: list[Run]) -> str:
    rows = [
        "| | floor | weightwatch | weightwatch / floor | target | |",
        "|---|---:|---:|---:|---|---|",
    ]
    for phase in ("cold", "warm", "same"):
        f = [r for r in runs if r.side == "floor" and r.phase == phase and r.ok]
        if not f and not [r for r in runs if r.phase == phase]:
            continue
        w = [r for r in runs if r.side == "weightwatch" and r.phase == phase and r.ok]
        pairs = [
            (a, b)
            for a in f
            for b in w
            if a.round == b.round  # a round's two runs were next to each other in time
        ]
        for label, attr, unit in (("CPU", "cpu", "s"), ("wall", "wall", "s")):
            fv = _fmt([getattr(r, attr) for r in f]) if f else "–"
            wv = _fmt([getattr(r, attr) for r in w]) if w else "not run"
            ratios = [getattr(b, attr) / getattr(a, attr) for a, b in pairs]
            rv = _fmt(ratios, unit="×") if ratios else "–"
            target = TARGETS[phase]
            verdict = ""
            if ratios and target is not None:
                verdict = "ok" if statistics.median(ratios) <= target else "**over**"
            shown = "–" if target is None else f"≤ {target}×"
            rows.append(f"| {phase} {label} ({unit}) | {fv} | {wv} | {rv} | {shown} | {verdict} |")
        fv = _fmt([r.rss_mb for r in f], 0) if f else "–"
        wv = _fmt([r.rss_mb for r in w], 0) if w else "not run"
        ratios = [b.rss_mb / a.rss_mb for a, b in pairs]
        rv = _fmt(ratios, unit="×") if ratios else "–"
        verdict = ""
        if w:
            verdict = "ok" if max(r.rss_mb for r in w) < RSS_LIMIT_MB else "**over**"
        rows.append(
            f"| {phase} peak RSS (MB) | {fv} | {wv} | {rv} | < {RSS_LIMIT_MB:.0f} MB | {verdict} |"
        )
    return "\n".join(rows)


def run_table(runs: list[Run]) -> str:
    rows = [
        "| round | run | CPU s | wall s | RSS MB | server CPU s | requests | result |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in runs:
        note = r.note.replace("|", "\\|").replace("\n", " ")
        flag = "" if r.ok else " **INVALID**"
        rows.append(
            f"| {r.round} | {r.phase} {r.side} | {r.cpu:.2f} | {r.wall:.2f} | {r.rss_mb:.0f} "
            f"| {r.server_cpu:.2f} | {r.server_requests} | {note}{flag} |"
        )
    return "\n".join(rows)


# --- server checks ------------------------------------------------------------------------


def raw_get_loop(server: Server, threads: int) -> str:
    """GET every feed once over keep-alive http.client connections, no parsing."""
    urls = server.urls
    chunks = [urls[k::threads] for k in range(threads)]
    got = [0] * threads

    def worker(k: int) -> None:
        conns: dict[tuple[str, int], http.client.HTTPConnection] = {}
        for url in chunks[k]:
            hostport, path = url[len("http://") :].split("/", 1)
            host, port = hostport.split(":")
            conn = conns.get((host, int(port)))
            if conn is None:
                conn = conns[(host, int(port))] = http.client.HTTPConnection(
                    host, int(port), timeout=20
                )
            conn.request("GET", "/" + path)
            got[k] += len(conn.getresponse().read())
        for conn in conns.values():
            conn.close()

    before = server.stats()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    after = server.stats()
    client_cpu = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
    mb = sum(got) / 1e6
    return (
        f"Raw GET loop ({threads} threads, http.client keep-alive, no parsing): "
        f"{len(urls)} feeds, {mb:.1f} MB in {wall:.2f} s wall = {len(urls) / wall:.0f} req/s, "
        f"{mb / wall:.0f} MB/s; client CPU {client_cpu:.2f} s, "
        f"server CPU {after['cpu'] - before['cpu']:.2f} s."
    )


def startup(args: argparse.Namespace, work: Path, with_ww: bool) -> str:
    """CPU of importing each side's modules and nothing else (median of 3)."""
    sides = [("floor", "import feedparser, requests")]
    if with_ww:
        sides.append(("weightwatch", "import weightwatch.cli, weightwatch.service.once"))
    parts = []
    for side, code in sides:
        got = [measure([str(args.python), "-c", code], work, 120) for _ in range(3)]
        cpu = statistics.median(g[0] for g in got)
        rss = statistics.median(g[2] for g in got)
        parts.append(f"{side} {cpu:.2f} s CPU, {rss:.0f} MB (`{code}`)")
    return "Start-up alone (interpreter + imports, median of 3): " + "; ".join(parts) + "."


# --- profile ------------------------------------------------------------------------------


def print_profile(path: Path, title: str) -> None:
    for key, what in (("cumulative", "cumulative time"), ("tottime", "total (own) time")):
        print(f"\n#### {title}: top 25 by {what}\n\n```")
        sys.stdout.flush()
        stats = pstats.Stats(str(path), stream=sys.stdout)
        stats.strip_dirs().sort_stats(key).print_stats(25)
        sys.stdout.flush()
        print("```")


def profile(args: argparse.Namespace, bench: Bench) -> int:
    out_dir = args.profile_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"{bench.server.ready['feeds']} feeds, workers={args.workers}, weightwatch git "
        f"{git_state(args.commit)}; machine: {_machine()}."
    )
    results = []
    phase = args.profile_phase
    for label, name, wrap in (
        (f"{phase}, main thread only (python -m cProfile)", f"cycle-{phase}.prof", "cprofile"),
        (
            f"{phase}, every thread, per-thread CPU (bench/profile_threads.py)",
            f"cycle-{phase}-threads.prof",
            "threads",
        ),
    ):
        d = bench.work / f"profile-{wrap}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        config = d / "config.toml"
        write_config(config, bench.server.urls, d / "ww.db", args.workers)
        prof = out_dir / name
        if phase == "warm":  # the same database again: every answer a 304
            prime = [str(args.python), "-m", "weightwatch", "once", "--config", str(config)]
            if measure(prime, d, args.run_timeout)[3] != 0:
                print(f"the unprofiled cold cycle before the warm one failed: {prime}")
                results.append(1)
                continue
        if wrap == "cprofile":
            cmd = [str(args.python), "-m", "cProfile", "-o", str(prof), "-m", "weightwatch"]
        else:
            cmd = [str(args.python), str(BENCH / "profile_threads.py"), str(prof)]
        cmd += ["once", "--config", str(config)]
        cpu, wall, rss, rc, out, err = measure(cmd, d, args.run_timeout)
        m = SUMMARY_RE.search(out)
        print(f"\n### Profile, {label}\n")
        print(f"`{' '.join(cmd)}`\n")
        print(
            f"exit {rc}; {cpu:.2f} s CPU, {wall:.2f} s wall, {rss:.0f} MB peak RSS (profiling "
            f"overhead included); {m.group(0) if m else 'no summary: ' + err.strip()[-600:]}"
        )
        if rc != 0 or not prof.exists():
            results.append(1)
            continue
        print_profile(prof, label)
        results.append(0)
    print(f"\nProfiles kept in {out_dir}/ (open with python -m pstats FILE).")
    return max(results)


# --- main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Time `weightwatch once` over N generated loopback feeds next to a floor.",
        epilog="See the module docstring (and docs/performance.md) for what is measured.",
    )
    ap.add_argument("--feeds", type=int, default=200, help="number of feeds (default 200)")
    ap.add_argument("--rounds", type=int, default=1, help="cold+warm rounds (default 1)")
    ap.add_argument("--workers", type=int, default=8, help="worker threads, both sides")
    ap.add_argument("--hosts", type=int, default=50, help="loopback addresses to spread over")
    ap.add_argument("--seed", type=int, default=1, help="feed generator seed")
    ap.add_argument("--gzip", action="store_true", help="serve gzip-compressed bodies")
    ap.add_argument("--floor-only", action="store_true", help="do not run weightwatch")
    ap.add_argument(
        "--unchanged",
        action="store_true",
        help="a third run per round: no validators, every body the same as the cold run's",
    )
    ap.add_argument(
        "--no-bytecode",
        action="store_true",
        help="do not compile the measured src/ to .pyc first (as an installed package has)",
    )
    ap.add_argument(
        "--backfill",
        action="store_true",
        help="run weightwatch's cold cycles with --backfill, so every item is matched against"
        " the rule (a first poll without it records items and matches nothing)",
    )
    ap.add_argument(
        "--check-server",
        action="store_true",
        help="also time the floor with 2x workers, to show the server is not the bottleneck",
    )
    ap.add_argument("--profile", action="store_true", help="profile one cold cycle instead")
    ap.add_argument("--profile-dir", type=Path, default=BENCH / "out")
    ap.add_argument(
        "--profile-phase",
        choices=("cold", "warm"),
        default="cold",
        help="with --profile: the cold cycle (default) or the warm one after it (all 304s)",
    )
    ap.add_argument(
        "--python",
        type=Path,
        default=VENV_PY if VENV_PY.exists() else Path(sys.executable),
        help="interpreter for the children (default: .venv/bin/python)",
    )
    ap.add_argument("--run-timeout", type=float, default=1200.0, help="seconds per run")
    ap.add_argument("--server-lifetime", type=float, default=7200.0, help="seconds")
    ap.add_argument(
        "--commit",
        metavar="REV",
        help="measure this commit's src/ (git archive) instead of the working tree, which"
        " others may be editing during a long run",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args(argv)
    if args.feeds < 1 or args.rounds < 1 or args.workers < 1:
        ap.error("--feeds, --rounds and --workers must be positive")

    global SNAPSHOT
    work = Path(tempfile.mkdtemp(prefix="ww-cycle-"))
    if args.commit:
        SNAPSHOT = export_commit(args.commit, work)
        where = subprocess.run(
            [str(args.python), "-c", "import weightwatch; print(weightwatch.__file__)"],
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=60,
        ).stdout.strip()
        if not where.startswith(str(SNAPSHOT)):
            raise SystemExit(f"cycle.py: weightwatch imports from {where}, not {SNAPSHOT}")
    global BYTECODE
    if not args.no_bytecode:
        src = SNAPSHOT if SNAPSHOT is not None else ROOT / "src"
        subprocess.run(
            [str(args.python), "-m", "compileall", "-q", str(src)], check=True, timeout=300
        )
        BYTECODE = (
            "weightwatch's src/ compiled to .pyc first (python -m compileall), as pip does on"
            " install; the libraries of both sides have theirs"
        )
    server = start_server(args, work / "feedserver.log")
    try:
        bench = Bench(args, server, work)
        print(f"feed server ready (pid {server.proc.pid}); work dir {work}", file=sys.stderr)
        if args.profile:
            return profile(args, bench)
        return benchmark(args, bench)
    finally:
        server.stop()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def benchmark(args: argparse.Namespace, bench: Bench) -> int:
    server = bench.server
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731

    # Warm-up (also compiles .pyc files): both sides over a few feeds. It tells whether
    # weightwatch runs at all before the long rounds start.
    few = server.urls[: min(20, len(server.urls))]
    say("warm-up ...")
    bench.floor("cold", 0)
    with_ww = not args.floor_only
    blocked = ""
    if with_ww:
        probe = bench.weightwatch("cold", 0, few)
        if not probe.ok:
            with_ww = False
            blocked = probe.note
            say(f"weightwatch is not runnable; measuring the floor alone.\n{blocked}")

    fingerprint = source_fingerprint()
    runs: list[Run] = []
    for rnd in range(1, args.rounds + 1):
        sides = ["floor", "weightwatch"] if rnd % 2 else ["weightwatch", "floor"]
        if not with_ww:
            sides = ["floor"]
        for phase in ("cold", "warm", "same") if args.unchanged else ("cold", "warm"):
            if phase == "same":
                server.validators(False)
            for side in sides:
                run = bench.floor(phase, rnd) if side == "floor" else bench.weightwatch(phase, rnd)
                runs.append(run)
                say(
                    f"round {rnd} {phase:4} {side:11}: {run.cpu:6.2f} s CPU {run.wall:6.2f} s wall"
                    f" {run.rss_mb:4.0f} MB  server {run.server_cpu:.2f} s"
                    f"{'' if run.ok else '  INVALID: ' + run.note}"
                )
            if phase == "same":
                server.validators(True)

    extra = [raw_get_loop(server, args.workers), startup(args, bench.work, with_ww)]
    if args.check_server:
        for workers in (args.workers, 2 * args.workers):
            cold = bench.floor("cold", 100 + workers, workers)
            extra.append(
                f"Floor, cold, {workers} workers: {cold.cpu:.2f} s CPU, {cold.wall:.2f} s wall, "
                f"server CPU {cold.server_cpu:.2f} s ({cold.note})."
            )

    cmd = "python bench/cycle.py " + " ".join(argv_for_display(args))
    print(f"\n### `{cmd}`\n")
    print(describe(args, server))
    if not with_ww:
        why = "--floor-only" if args.floor_only else f"it was not runnable: {blocked[-300:]}"
        print(f"- weightwatch was NOT measured ({why}).".replace("\n", " "))
    print()
    print(table(runs))
    print("\nMedians over the rounds (min–max); a ratio is the median of the per-round ratios.\n")
    print("<details><summary>Every run</summary>\n")
    print(run_table(runs))
    print("\n</details>\n")
    for line in extra:
        print(f"- {line}")
    if source_fingerprint() != fingerprint:
        print(
            "\n**weightwatch's source changed during this run** (hash "
            f"{fingerprint} at the start): its runs may not measure the same code."
        )
    invalid = [r for r in runs if not r.ok]
    if invalid:
        print(f"\n**{len(invalid)} run(s) INVALID** (left out of the table): see above.")
    return 1 if invalid else 0


def argv_for_display(args: argparse.Namespace) -> list[str]:
    out = [f"--feeds {args.feeds}", f"--rounds {args.rounds}", f"--workers {args.workers}"]
    if args.commit:
        out.append(f"--commit {args.commit}")
    if args.hosts != 50:
        out.append(f"--hosts {args.hosts}")
    if args.seed != 1:
        out.append(f"--seed {args.seed}")
    for flag in ("gzip", "floor_only", "backfill", "check_server", "unchanged", "no_bytecode"):
        if getattr(args, flag):
            out.append("--" + flag.replace("_", "-"))
    return out


if __name__ == "__main__":
    sys.exit(main())
