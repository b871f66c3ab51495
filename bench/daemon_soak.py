"""Soak ``weightwatch run`` over N loopback feeds: CPU share, peak RSS, schedule accuracy.

Usage (from the repo root):

    .venv/bin/python bench/daemon_soak.py --quick            # smoke: 100 sources, 15 s, 60 s
    .venv/bin/python bench/daemon_soak.py                    # 1000 sources, 30 s, 180 s
    .venv/bin/python bench/daemon_soak.py --sources 1000 --interval 30s --duration 300
    .venv/bin/python bench/daemon_soak.py --rev HEAD         # the committed code, not the tree
    .venv/bin/python bench/daemon_soak.py --py-spy /tmp/pyspy/bin/py-spy --py-spy-after 35
    .venv/bin/python bench/daemon_soak.py --gc-log           # are GC pauses the lateness?
    .venv/bin/python bench/daemon_soak.py --tracemalloc 50   # what does the heap hold/grow?
    .venv/bin/python bench/daemon_soak.py --slow-hosts 5 --failing-hosts 5   # a realistic mix
    .venv/bin/python bench/daemon_soak.py --schedule adaptive \
        --rates-from ../shared/corpus/timelines/items-2023-02-08_2023-09-30.tsv.gz
                                          # real rates; requests vs budget, time to phone

What it does:

* starts bench/soakserver.py in a SEPARATE process: bench/feedserver.py's generated feeds
  (20–50 items, 20–120 KB, RSS and Atom, ETag → 304) on ``--hosts`` loopback addresses
  (default: 4 sources per host, 127.0.0.2 …), where every ``--change-every`` seconds a
  ``--change-share`` of the feeds gets 1–3 new items (some matching the rule), so some polls
  are 200s with new items and a few alert; no Cache-Control / ``<ttl>`` hints unless
  ``--hints`` (weightwatch would rightly poll less often than the interval);
* ``--rates-from TIMELINE``: feeds publish at rates drawn from a real timeline's per-feed
  item counts (some busy, most quiet; see bench/soakserver.py) instead of all alike;
* a webhook receiver on 127.0.0.1 (a thread here) counts the alerts delivered through the
  ``json://`` channel (``--console`` uses ``console://`` instead) and notes when each
  arrived and which item it is about;
* writes the config (N sources, ``settings.interval``, ``workers``, one rule), starts
  ``python -m weightwatch -v run --config F`` with stderr to a file (DEBUG log), and every
  second samples its CPU time (/proc/PID/stat utime+stime), RSS (/proc/PID/status VmRSS,
  VmHWM) and threads, plus the feed server's CPU and the whole machine's busy time (the
  machine is shared: "other processes" shows how noisy each slice of the run was);
* ``--duration`` seconds after the daemon logs "weightwatch running" it sends SIGTERM and
  times the stop, then reads the log: polls per source against the expected number (from
  ``schedule.spread`` of the first poll and interval × 1.025 mean jitter), lateness (the
  DEBUG "poll started X s after it was due") p50/p90/p99/max, "missed its run" and
  "maximum number of running instances" warnings, failed polls, gaps between one source's
  consecutive polls longer than its schedule allows, alerts queued vs delivered; and from
  the server's request log, how many requests waited at the daemon's per-host gate (they
  arrive 1.00–1.10 s after the previous request to that host; that wait is not in "late")
  and whether any two came less than 1 s apart;
* requests per source-hour against the budget (every source every interval), the share of
  polls that found something new, publish → seen per item (seen: the first request for
  its feed after it appeared, from the server's request log) and time to phone: seen →
  Apprise accepted (the webhook's receipt) and publish → accepted, p50 / p95 / max
  (``latency``; OUT/latency.json);
* prints a Markdown table (also written to OUT/report.md with a per-interval breakdown);
  OUT (default bench/out/soak-N-INTERVAL-DURATION/, git-ignored) keeps daemon.err,
  samples.csv, requests.txt (+ .hits: the matching items published), alerts.txt (titles
  the webhook got), config.toml and server.err. The database lives in a temporary
  directory. ``--rev REV`` runs the daemon from ``git archive REV src`` (other engineers'
  half-done edits in the working tree once crashed a poll mid-run); ``--py-spy EXE`` samples
  the GIL-holding stacks and adds a where-the-CPU-goes table; ``--gc-log`` logs every
  garbage collection through a sitecustomize.py (diagnostics: take numbers from plain runs).

Only 127.0.0.0/8 is used. Every child is bounded: the feed server by ``--lifetime`` and its
stdin, the daemon by SIGTERM (SIGKILL after 30 s) and by PR_SET_PDEATHSIG if this script dies.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import ctypes
import http.client
import itertools
import json
import math
import os
import platform
import re
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from soakserver import MAX_HOSTS, feed_url  # noqa: E402

VENV_PY = ROOT / ".venv" / "bin" / "python"
RSS_LIMIT_MB = 150.0
HINTS_NOTE = "; --hints: the server asks for longer waits, so fewer polls are right"
RULE_QUERY = 'weights AND (release OR "open-weight")'
JITTER = 0.05  # schedule.JITTER: up to 5 % of the interval is added to each wait
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def child_env(src: Path | None = None, extra_path: Path | None = None) -> dict[str, str]:
    """The environment without proxies (requests honours them, also for 127.0.0.x)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    if src is not None:  # import weightwatch from there, ahead of the editable install
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (extra_path, src) if p)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.0/8,localhost"
    env.pop("JOURNAL_STREAM", None)  # timestamps in the log, not journald's <N> prefixes
    env.pop("NOTIFY_SOCKET", None)
    return env


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30, 30s, 2m)")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


# --- children -----------------------------------------------------------------------------


@dataclass
class FeedServer:
    proc: subprocess.Popen[bytes]
    ready: dict

    def stats(self) -> dict:
        ip, port = self.ready["hosts"][0]
        conn = http.client.HTTPConnection(ip, port, timeout=10)
        try:
            conn.request("GET", "/__stats")
            return json.loads(conn.getresponse().read())
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


def start_feed_server(args: argparse.Namespace, log: Path) -> FeedServer:
    cmd = [
        str(args.python),
        str(BENCH / "soakserver.py"),
        f"--feeds={args.sources}",
        f"--hosts={args.hosts}",
        f"--seed={args.seed}",
        f"--change-every={args.change_every}",
        f"--change-share={args.change_share}",
        f"--hit-share={args.hit_share}",
        f"--lifetime={args.duration + 600}",
        f"--slow-hosts={args.slow_hosts}",
        f"--slow-delay={args.slow_delay}",
        f"--failing-hosts={args.failing_hosts}",
        f"--max-new={args.max_new}",
        f"--fresh-names={args.fresh_names}",
        *([f"--rates-from={args.rates_from}"] if args.rates_from else []),
        "--watch-stdin",
        f"--log-requests={log.parent / 'requests.txt'}",
    ]
    if args.gzip:
        cmd.append("--gzip")
    if args.hints:
        cmd.append("--hints")
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
            raise SystemExit("daemon_soak.py: the feed server did not start within 300 s")
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            raise SystemExit(f"daemon_soak.py: the feed server exited: {log.read_text()[-2000:]}")
        line += chunk
    sel.close()
    return FeedServer(proc, json.loads(line))


SOAK_LINK = re.compile(r"/soak-(\d+)\b")  # soakserver's new items: .../soak-SERIAL


class HookReceiver:
    """Counts the JSON alerts Apprise POSTs to http://127.0.0.1:PORT/hook and notes when each
    arrived (``time.time()`` on receipt, before answering: the moment Apprise's POST is
    accepted) with the soakserver serial of the item it is about (its first link)."""

    def __init__(self) -> None:
        self.count = 0
        self.titles: list[str] = []
        self.received: list[tuple[float, int | None]] = []  # (time, item serial)
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                at = time.time()
                with outer.lock:
                    outer.count += 1
                    serial = None
                    with contextlib.suppress(ValueError, AttributeError):
                        alert = json.loads(body)
                        outer.titles.append(str(alert.get("title", "")))
                        m = SOAK_LINK.search(str(alert.get("message", "")))
                        serial = int(m.group(1)) if m else None
                    outer.received.append((at, serial))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # binds now
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()


def write_config(path: Path, args: argparse.Namespace, hosts: list, db: Path, hook: int) -> None:
    channel = "console://" if args.console else f"json://127.0.0.1:{hook}/hook"
    lines = [
        "[settings]",
        f'database = "{db}"',
        f'interval = "{args.interval:g}s"',
        'timeout = "10s"',
        f"workers = {args.workers}",
        *schedule_settings(args),
        "",
        "[channels]",
        f'hook = "{channel}"',
        "",
    ]
    for i in range(1, args.sources + 1):
        if i <= args.crowded:  # all on the first host
            url = feed_url(hosts[:1], i)
        elif args.crowded and len(hosts) > 1:  # the rest round-robin over the others
            ip, port = hosts[1 + (i - args.crowded - 1) % (len(hosts) - 1)]
            url = feed_url([(ip, port)], i)
        else:
            url = feed_url(hosts, i)
        lines += ["[[source]]", f'name = "feed-{i:04d}"', f'url = "{url}"', ""]
    lines += [
        "[[rule]]",
        'name = "weights"',
        f"query = '{RULE_QUERY}'",
        'notify = ["hook"]',
        "",
    ]
    for k, query in enumerate(args.rule, 1):
        lines += ["[[rule]]", f'name = "extra-{k}"', f"query = '{query}'", 'notify = ["hook"]', ""]
    path.write_text("\n".join(lines))


def schedule_settings(args: argparse.Namespace) -> list[str]:
    """settings.schedule (issue 15): "fixed" by default, which this soak's accounting
    (polls per source, gaps against interval × 1.05) assumes; ``--schedule adaptive`` runs
    the adaptive default with min_interval 5 s and max_interval 4 × the interval, where only
    the total number of polls (the budget: sources × duration / interval) is comparable."""
    lines = [f'schedule = "{args.schedule}"']
    if args.schedule == "adaptive":
        lines += ['min_interval = "5s"', f'max_interval = "{4 * args.interval:g}s"']
    return lines


GC_HOOK = """\
# Written by bench/daemon_soak.py --gc-log: log the daemon's garbage collections.
import gc, os, threading, time
_out = open(os.environ["WW_SOAK_GC_LOG"], "a", buffering=1)
_t = [0.0]
def _cb(phase, info):
    if phase == "start":
        _t[0] = time.perf_counter()
    else:
        dt = time.perf_counter() - _t[0]
        _out.write(f"{time.time():.3f} {info['generation']} {dt * 1000:.2f}"
                   f" {info['collected']} {threading.current_thread().name}\\n")
gc.callbacks.append(_cb)
"""


TRACEMALLOC_HOOK = """\
# Written by bench/daemon_soak.py --tracemalloc: snapshots of the daemon's Python heap.
# Tracing starts after the warm-up, so a snapshot holds only what was allocated since and
# is still alive: what grows (and the transients of the polls in flight).
import gc, os, threading, time, tracemalloc
def _snap():
    folder, every = os.environ["WW_SOAK_TM_DIR"], float(os.environ["WW_SOAK_TM_EVERY"])
    time.sleep(float(os.environ["WW_SOAK_TM_AFTER"]))
    tracemalloc.start(int(os.environ.get("WW_SOAK_TM_FRAMES", "8")))
    n = 0
    while True:
        gc.collect()
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)])
        snap.dump(os.path.join(folder, f"{n:03d}-{time.time():.0f}.snap"))
        n += 1
        time.sleep(every)
threading.Thread(target=_snap, name="soak-tracemalloc", daemon=True).start()
"""


def hook_dir(work: Path, gc_log: Path | None, tm_dir: Path | None, tm_every: float) -> Path | None:
    """A directory with a sitecustomize.py for the daemon: ``gc_log`` logs every
    collection there; ``tm_dir`` gets a tracemalloc snapshot every ``tm_every`` seconds
    (diagnostics of this bench only: nothing in weightwatch reads these variables)."""
    if gc_log is None and tm_dir is None:
        return None
    d = work / "soak-hook"
    d.mkdir()
    code = ""
    if gc_log is not None:
        code += GC_HOOK
        os.environ["WW_SOAK_GC_LOG"] = str(gc_log)  # inherited by child_env()
        gc_log.unlink(missing_ok=True)
    if tm_dir is not None:
        code += TRACEMALLOC_HOOK
        shutil.rmtree(tm_dir, ignore_errors=True)
        tm_dir.mkdir(parents=True)
        os.environ["WW_SOAK_TM_DIR"] = str(tm_dir)
        os.environ["WW_SOAK_TM_EVERY"] = str(tm_every)
        os.environ.setdefault("WW_SOAK_TM_AFTER", "120")
    (d / "sitecustomize.py").write_text(code)
    return d


def tracemalloc_summary(folder: Path, top: int = 15) -> str:
    """What the Python heap holds at the last snapshot and what grew between the second
    snapshot (after the first interval: warm-up) and the last, by line and by traceback."""
    import tracemalloc

    snaps = sorted(folder.glob("*.snap"))
    if len(snaps) < 3:
        return "tracemalloc: fewer than three snapshots.\n"
    first = tracemalloc.Snapshot.load(str(snaps[1]))
    last = tracemalloc.Snapshot.load(str(snaps[-1]))
    t0, t1 = (int(p.stem.split("-")[1]) for p in (snaps[1], snaps[-1]))
    totals = []
    for p in snaps:
        s = tracemalloc.Snapshot.load(str(p))
        totals.append(
            f"{int(p.stem.split('-')[1]) - t0:+d} s: "
            f"{sum(st.size for st in s.statistics('filename')) / 2**20:.1f} MiB"
        )
    out = ["Python heap (tracemalloc, after gc.collect) per snapshot: " + ", ".join(totals), ""]
    out += [f"Largest at the last snapshot (by line, top {top}):", ""]
    out += [f"    {st}" for st in last.statistics("lineno")[:top]]
    out += ["", f"Growth over {t1 - t0} s after warm-up (by line, top {top}):", ""]
    out += [f"    {st}" for st in last.compare_to(first, "lineno")[:top]]
    out += ["", "Growth by traceback (top 5):", ""]
    for st in last.compare_to(first, "traceback")[:5]:
        out.append(f"    {st.size_diff / 1024:+.1f} KiB in {st.count_diff:+d} blocks:")
        out += [f"        {line}" for line in st.traceback.format()[-12:]]
    return "\n".join(out) + "\n"


_LIBC = ctypes.CDLL(None)  # loaded here, not in the forked child


def code_under_test(rev: str | None, work: Path) -> tuple[Path, str]:
    """(the src/ directory the daemon imports weightwatch from, a description of it)."""

    def git(*a: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *a], capture_output=True, text=True, check=True
        ).stdout.strip()

    if rev is None:
        head = git("rev-parse", "--short", "HEAD")
        dirty = [ln for ln in git("status", "--porcelain", "--", "src").splitlines() if ln]
        what = f"{len(dirty)} changed files under src/" if dirty else "clean"
        return ROOT / "src", f"the working tree (HEAD {head}, {what})"
    sha = git("rev-parse", "--short", rev)
    dest = work / "code"
    dest.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", sha, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src", f"git {rev} ({sha})"


def _die_with_parent() -> None:  # runs in the child between fork and exec: keep it tiny
    _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: SIGTERM when this script dies


# --- sampling -----------------------------------------------------------------------------


def proc_cpu(pid: int) -> tuple[float, int, float]:
    """(user+system CPU seconds, threads, system CPU seconds), from /proc/PID/stat."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    rest = raw[raw.rindex(")") + 2 :].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK, int(rest[17]), int(rest[12]) / CLK_TCK


def proc_mem(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB from /proc/PID/status."""
    rss = hwm = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    return rss, hwm


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies summed over all CPUs, from /proc/stat."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(f[:8])  # guest time is already in user
    return total - f[3] - f[4], total


@dataclass
class Sample:
    t: float  # seconds since the daemon was started
    cpu: float
    rss: float
    hwm: float
    threads: int
    server_cpu: float
    busy: float
    total: float
    sys: float = 0.0  # the daemon's system (kernel) CPU seconds


@dataclass
class Soak:
    t_start: float = 0.0  # time.time() when the daemon was started
    t_running: float = 0.0  # ... when "weightwatch running" was seen in the log
    t_term: float = 0.0  # ... when SIGTERM was sent
    stop_s: float = 0.0  # SIGTERM to exit
    rc: int | None = None
    killed: bool = False
    exit_cpu: float = 0.0  # rusage at exit: the whole run including the stop
    exit_maxrss: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    server_before: dict = field(default_factory=dict)
    server_after: dict = field(default_factory=dict)


def start_py_spy(
    args: argparse.Namespace, pid: int, out: Path, left: float
) -> subprocess.Popen[bytes]:
    """Sample the daemon's GIL-holding stacks (all threads) until it exits: OUT/py-spy.txt.

    ``--gil``: without it py-spy counts threads blocked in C (queue.get, lock waits) as
    running; with it, C code that releases the GIL (SQLite steps, socket reads) is missed.
    """
    cmd = [
        str(args.py_spy),
        "record",
        "--pid",
        str(pid),
        "--rate",
        "100",
        "--nonblocking",
        "--gil",
        "--threads",
        "--function",
        "--format",
        "raw",
        "--output",
        str(out / "py-spy.txt"),
        "--duration",
        str(int(left + 10)),
    ]
    with (out / "py-spy.err").open("wb") as err:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err)


# Which thread a stack belongs to, from a frame that only that thread runs.
ROLES = [
    ("Writer._run", "writer (SQLite)"),
    ("Daemon.poll_job", "poll jobs (pool)"),
    ("Daemon.deliver_job", "delivery job (pool)"),
    ("BaseScheduler._main_loop", "APScheduler thread"),
    ("BlockingScheduler._main_loop", "APScheduler thread"),
    ("Daemon._main_loop", "main thread"),
]


def py_spy_summary(path: Path, top: int = 30) -> str:
    """Where the on-CPU samples went: per thread role, and the heaviest functions."""
    roles: dict[str, int] = defaultdict(int)
    inclusive: dict[str, int] = defaultdict(int)
    leaf: dict[str, int] = defaultdict(int)
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith(("thread (", "process "))]
        total += n
        role = next((r for key, r in ROLES if any(key in f for f in frames)), "other")
        roles[role] += n
        for f in set(frames):
            inclusive[f] += n
        if frames:
            leaf[frames[-1]] += n
    if not total:
        return "py-spy: no samples\n"
    out = [f"py-spy: {total} samples holding the GIL (100/s)", "", "| Thread | Share |"]
    out.append("|---|---|")
    for r, n in sorted(roles.items(), key=lambda x: -x[1]):
        out.append(f"| {r} | {n / total * 100:.1f} % |")
    out += ["", "| Function (inclusive) | Share |", "|---|---|"]
    for f, n in sorted(inclusive.items(), key=lambda x: -x[1])[:top]:
        out.append(f"| `{f}` | {n / total * 100:.1f} % |")
    out += ["", "| Function (self) | Share |", "|---|---|"]
    for f, n in sorted(leaf.items(), key=lambda x: -x[1])[: top // 2]:
        out.append(f"| `{f}` | {n / total * 100:.1f} % |")
    return "\n".join(out) + "\n"


def run_daemon(args: argparse.Namespace, config: Path, out: Path, server: FeedServer) -> Soak:
    soak = Soak()
    err_path, out_path = out / "daemon.err", out / "daemon.out"
    cmd = [str(args.python), "-m", "weightwatch", "-v", "run", "--config", str(config)]
    spid = server.proc.pid
    busy0, total0 = machine_busy()
    scpu0 = proc_cpu(spid)[0]
    soak.server_before = server.stats()
    with err_path.open("wb") as err, out_path.open("wb") as stdout:
        soak.t_start = time.time()
        m0 = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=err,
            env=child_env(args.src_dir, args.gc_dir),
            preexec_fn=_die_with_parent,
        )
    pid = proc.pid
    spy: subprocess.Popen[bytes] | None = None
    hard_stop = m0 + 120 + args.duration  # start-up may take at most 120 s
    seen = 0
    running_at: float | None = None
    next_report = m0 + 30
    tick = m0
    try:
        with err_path.open("rb") as log:
            while True:
                tick += 1.0
                time.sleep(max(0.0, tick - time.monotonic()))
                now = time.monotonic()
                if proc.poll() is not None:
                    tail = err_path.read_text(errors="replace")[-3000:]
                    raise SystemExit(
                        f"daemon_soak.py: the daemon exited ({proc.returncode}):\n{tail}"
                    )
                try:
                    cpu, threads, sys_cpu = proc_cpu(pid)
                    rss, hwm = proc_mem(pid)
                    scpu = proc_cpu(spid)[0] - scpu0
                except (OSError, ValueError, IndexError):
                    continue
                busy, total = machine_busy()
                busy, total = busy - busy0, total - total0
                soak.samples.append(
                    Sample(now - m0, cpu, rss, hwm, threads, scpu, busy, total, sys_cpu)
                )
                chunk = log.read()
                if running_at is None and b"weightwatch running" in chunk:
                    running_at = now
                    soak.t_running = time.time()
                    hard_stop = now + args.duration
                spy_at = None if running_at is None else running_at + args.py_spy_after
                if args.py_spy and spy is None and spy_at is not None and now >= spy_at:
                    spy = start_py_spy(args, pid, out, hard_stop - now)
                seen += chunk.count(b"poll started")
                if now >= next_report:
                    next_report += 30
                    print(
                        f"  t={now - m0:5.0f} s  cpu {cpu:6.1f} s  rss {rss:5.1f} MB"
                        f"  hwm {hwm:5.1f} MB  threads {threads:3d}  polls started {seen}",
                        file=sys.stderr,
                        flush=True,
                    )
                if now >= hard_stop:
                    if running_at is None:
                        raise SystemExit("daemon_soak.py: no 'weightwatch running' in 120 s")
                    break
        soak.server_after = server.stats()
        soak.t_term = time.time()
        t0 = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        deadline = t0 + 30
        while True:
            wpid, status, ru = os.wait4(pid, os.WNOHANG)
            if wpid:
                break
            if time.monotonic() > deadline and not soak.killed:
                soak.killed = True
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)
        soak.stop_s = time.monotonic() - t0
        proc.returncode = soak.rc = os.waitstatus_to_exitcode(status)
        soak.exit_cpu = ru.ru_utime + ru.ru_stime
        soak.exit_maxrss = ru.ru_maxrss / 1024
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if spy is not None:
            try:
                spy.wait(30)  # it stops when the daemon exits, and after -d seconds anyway
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()
    with (out / "samples.csv").open("w") as f:
        f.write("t_s,cpu_s,sys_s,rss_mb,hwm_mb,threads,server_cpu_s,machine_busy_jiffies,total\n")
        for s in soak.samples:
            f.write(
                f"{s.t:.2f},{s.cpu:.2f},{s.sys:.2f},{s.rss:.1f},{s.hwm:.1f},{s.threads},"
                f"{s.server_cpu:.2f},{s.busy:.0f},{s.total:.0f}\n"
            )
    return soak


# --- the log ------------------------------------------------------------------------------

LINE_RE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\w+)\s+(.*)$")
STARTED_RE = re.compile(r"^(\S+): poll started (-?[\d.]+) s after it was due\.$")
OK_RE = re.compile(
    r"^(\S+): ok, (\d+) items, (\d+) new, (\d+) hits, (\d+) alerts queued"
    r"(, first poll recorded silently)? \(([\d.]+) s\)$"
)
NM_RE = re.compile(r"^(\S+): not modified \(([\d.]+) s\)$")
FAILED_RE = re.compile(r"^(\S+): failed after ([\d.]+) s: (.*)$")
CRASHED_RE = re.compile(r"^(\S+): (unexpected error|could not record the poll)")


@dataclass
class Poll:
    name: str
    start: float  # epoch seconds, whole-second resolution (the log's timestamps)
    late: float
    end: float | None = None
    result: str = ""  # ok / primed / not modified / failed
    duration: float = 0.0
    new: int = 0
    hits: int = 0
    alerts: int = 0


@dataclass
class LogFacts:
    polls: list[Poll] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    max_instances: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # ERROR/CRITICAL and other WARNING lines
    failed: list[str] = field(default_factory=list)
    not_delivered: int = 0
    orphans: int = 0  # result lines with no open poll
    stopping: bool = False
    stopped: bool = False


def parse_log(path: Path) -> LogFacts:
    facts = LogFacts()
    open_poll: dict[str, Poll] = {}
    p: Poll | None
    for raw in path.read_text(errors="replace").splitlines():
        m = LINE_RE.match(raw)
        if not m:
            continue  # traceback continuation lines: their first line was counted
        ts = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))
        level, msg = m.group(2), m.group(3)
        if s := STARTED_RE.match(msg):
            p = Poll(s.group(1), ts, float(s.group(2)))
            facts.polls.append(p)
            open_poll[p.name] = p
            continue
        if "missed its run" in msg or "was missed by" in msg:
            facts.missed.append(raw)
        elif "maximum number of running instances" in msg:
            facts.max_instances.append(raw)
        elif msg == "Stopping.":
            facts.stopping = True
        elif msg == "Stopped.":
            facts.stopped = True
        elif "not delivered" in msg:
            facts.not_delivered += 1
        r = OK_RE.match(msg) or NM_RE.match(msg) or FAILED_RE.match(msg) or CRASHED_RE.match(msg)
        if r:
            p = open_poll.pop(r.group(1), None)
            if p is None:
                facts.orphans += 1
                continue
            p.end = ts
            if r.re is OK_RE:
                p.result = "primed" if r.group(6) else "ok"
                p.new, p.hits, p.alerts = int(r.group(3)), int(r.group(4)), int(r.group(5))
                p.duration = float(r.group(7))
            elif r.re is NM_RE:
                p.result, p.duration = "not modified", float(r.group(2))
            elif r.re is FAILED_RE:
                p.result, p.duration = "failed", float(r.group(2))
                facts.failed.append(raw)
            else:
                p.result = "crashed"
                facts.errors.append(raw)
            continue
        if level in ("ERROR", "CRITICAL") or (
            level == "WARNING" and raw not in facts.missed and raw not in facts.max_instances
        ):
            facts.errors.append(raw)
    return facts


def host_gaps(path: Path) -> dict:
    """From the server's request log: time between consecutive requests to one host."""
    by_host: dict[str, list[float]] = defaultdict(list)
    if path.is_file():
        for line in path.read_text().splitlines():
            t, ip, p = line.split(" ", 2)
            if p.startswith("/feed-"):
                by_host[ip].append(float(t))
    gaps = [b - a for ts in by_host.values() for a, b in itertools.pairwise(sorted(ts))]
    return {
        "requests": sum(len(ts) for ts in by_host.values()),
        "gaps": len(gaps),
        "under_1s": sum(1 for g in gaps if g < 0.995),  # politeness broken (clock slack 5 ms)
        "gated": sum(1 for g in gaps if 0.995 <= g < 1.1),
        "min": min(gaps, default=math.nan),
    }


def latency(args: argparse.Namespace, soak: Soak, facts: LogFacts, hook: HookReceiver) -> dict:
    """Requests against the budget, found-new share, publish → seen per item and time to
    phone, from the server's logs (requests.txt: every request's arrival; .items: every new
    item's publish time and link) and the webhook's receipt times.

    - "seen": the arrival of the first request for the item's feed at or after its publish
      time (that poll fetched the version with it: no cache hints, a new ETag);
    - items counted for publish → seen: those published from one interval × 1.05 after
      'running' (every source had its first, silent poll) to 4.2 intervals + 5 s before
      SIGTERM (the adaptive max_interval here: a later item might not be polled yet), the
      same window for both schedules;
    - time to phone: each alert's receipt minus its item's seen (and publish) time."""
    out = args.out_dir
    reqs: dict[str, list[float]] = defaultdict(list)
    n_req = 0
    path = out / "requests.txt"
    if path.is_file():
        for line in path.read_text().splitlines():
            t, _ip, p = line.split(" ", 2)
            if p.startswith("/feed-"):
                reqs[p].append(float(t))
                n_req += soak.t_running <= float(t) < soak.t_term
    for ts in reqs.values():
        ts.sort()

    def seen(path: str, at: float) -> float | None:
        ts = reqs.get(path, [])
        k = bisect.bisect_left(ts, at)
        return ts[k] if k < len(ts) else None

    items: dict[int, tuple[float, str, bool]] = {}
    ipath = out / "requests.txt.items"
    if ipath.is_file():
        for line in ipath.read_text().splitlines():
            t, p, hit, link = line.split("\t")
            m = SOAK_LINK.search(link)
            if m:
                items[int(m.group(1))] = (float(t), p, hit == "1")
    lo = soak.t_running + args.interval * (1 + JITTER)
    hi = soak.t_term - 4 * args.interval * (1 + JITTER) - 5
    detect, unseen = [], 0
    for t, p, _hit in items.values():
        if lo <= t <= hi:
            s = seen(p, t)
            if s is None or s > soak.t_term:
                unseen += 1
            else:
                detect.append(s - t)
    to_phone, pub_phone, unmatched = [], [], 0
    for at, serial in hook.received:
        item = items.get(serial) if serial is not None else None
        if item is None:
            unmatched += 1
            continue
        t, p, _hit = item
        s = seen(p, t)
        if t < soak.t_running or s is None:
            unmatched += 1
            continue
        to_phone.append(at - s)
        pub_phone.append(at - t)
    later = [
        p for p in facts.polls if p.result in ("ok", "not modified", "failed")
    ]  # not the first (silent) polls
    window_h = (soak.t_term - soak.t_running) / 3600
    hits_after = sum(1 for t, _p, hit in items.values() if hit and t >= soak.t_running)

    def stats(xs: list[float]) -> dict:
        return {
            "n": len(xs),
            "p50": pct(xs, 50),
            "p95": pct(xs, 95),
            "max": max(xs, default=math.nan),
            "mean": statistics.fmean(xs) if xs else math.nan,
        }

    return {
        "schedule": args.schedule,
        "interval_s": args.interval,
        "sources": args.sources,
        "requests": n_req,
        "requests_per_source_hour": n_req / args.sources / window_h if window_h else math.nan,
        "budget_per_source_hour": 3600 / args.interval,
        "found_new_share": (
            sum(1 for p in later if p.result == "ok" and p.new > 0) / len(later)
            if later
            else math.nan
        ),
        "polls_after_first": len(later),
        "items_published": len(items),
        "detect_window_s": [lo - soak.t_running, hi - soak.t_running],
        "publish_to_seen_s": stats(detect),
        "unseen_at_stop": unseen,
        "hits_published_after_running": hits_after,
        "alerts": len(hook.received),
        "alerts_unmatched": unmatched,
        "seen_to_accepted_s": stats(to_phone),
        "publish_to_accepted_s": stats(pub_phone),
    }


def latency_table(lat: dict) -> str:
    def row(name: str, d: dict) -> str:
        return (
            f"| {name} | {d['n']} | {d['p50']:.1f} s | {d['p95']:.1f} s | {d['max']:.1f} s"
            f" | {d['mean']:.1f} s |"
        )

    phone = lat["seen_to_accepted_s"]["p95"]
    ok = "–" if math.isnan(phone) else ("OK" if phone < 30 else "**OVER**")
    return "\n".join(
        [
            f"Requests: {lat['requests']} = {lat['requests_per_source_hour']:.1f} per source-hour"
            f" (budget {lat['budget_per_source_hour']:.1f}: every source every interval);"
            f" polls after the first that found something new:"
            f" {lat['found_new_share'] * 100:.1f} % of {lat['polls_after_first']};"
            f" {lat['alerts']} alerts ({lat['hits_published_after_running']} items matching"
            f" the weights rule published while running, plus --rule matches; a story alerts"
            f" once; {lat['alerts_unmatched']} alerts not matched to an item);"
            f" time to phone p95 < 30 s: {ok}",
            "",
            "| Latency | items | p50 | p95 | max | mean |",
            "|---|---|---|---|---|---|",
            row(
                f"publish → seen (items published {lat['detect_window_s'][0]:.0f}–"
                f"{lat['detect_window_s'][1]:.0f} s after 'running'; {lat['unseen_at_stop']}"
                " not seen by the stop)",
                lat["publish_to_seen_s"],
            ),
            row("**seen → Apprise accepted** (time to phone)", lat["seen_to_accepted_s"]),
            row("publish → Apprise accepted", lat["publish_to_accepted_s"]),
        ]
    )


# --- analysis -----------------------------------------------------------------------------


def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); nan for no values."""
    if not values:
        return math.nan
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def cpu_between(samples: list[Sample], t0: float, t1: float) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of the daemon between the samples nearest t0 and t1."""
    a = min(samples, key=lambda s: abs(s.t - t0))
    b = min(samples, key=lambda s: abs(s.t - t1))
    return b.cpu - a.cpu, max(b.t - a.t, 1e-9)


def analyse(args: argparse.Namespace, soak: Soak, facts: LogFacts, hook: HookReceiver) -> dict:
    sys.path.insert(0, str(args.src_dir))
    from weightwatch.sources.schedule import spread  # the daemon's own first-poll offset

    interval = args.interval
    names = [f"feed-{i:04d}" for i in range(1, args.sources + 1)]
    by_source: dict[str, list[Poll]] = defaultdict(list)
    for p in facts.polls:
        by_source[p.name].append(p)
    # When the daemon computed the first due times: the log's second + ~0.5 s - late - spread
    firsts = [ps[0] for ps in by_source.values() if ps]
    t_sched = (
        statistics.median(p.start + 0.5 - p.late - spread(p.name, interval) for p in firsts)
        if firsts
        else soak.t_running
    )
    window = soak.t_term - t_sched  # poll window: scheduling to SIGTERM
    period = interval * (1 + JITTER / 2)
    done = [p for p in facts.polls if p.end is not None]
    mean_busy = statistics.fmean(p.duration for p in done) if done else 0.0
    expected_by = {}
    for n in names:
        s = spread(n, interval)
        expected_by[n] = 0 if s > window else 1 + int((window - s) // (period + mean_busy))
    counts = {n: len(by_source.get(n, [])) for n in names}
    short = [n for n in names if counts[n] < expected_by[n] - 1]
    extra = [n for n in names if counts[n] > expected_by[n] + 1]
    # Gaps: a source's next poll is due interval×(1..1.05) after its previous one ENDED, plus
    # up to 1 s of host spacing; log timestamps have 1 s resolution, so allow 2 s more.
    slack = 2.0 + 1.0
    longest = interval if args.schedule == "fixed" else 4 * interval  # adaptive: max_interval
    excess: list[tuple[float, str]] = []
    for n, ps in by_source.items():
        for a, b in itertools.pairwise(ps):
            allowed = longest * (1 + JITTER) + a.duration + b.late + slack
            excess.append((b.start - a.start - allowed, n))
        final = ps[-1]
        allowed = longest * (1 + JITTER) + final.duration + slack + 1.0
        if final.end is not None:
            excess.append((soak.t_term - final.start - allowed, n + " (at stop)"))
    never = [n for n in names if counts[n] == 0 and spread(n, interval) < window - slack]
    gaps_over = sorted((e, n) for e, n in excess if e > 0)
    lates = [p.late for p in facts.polls]
    crowd = {f"feed-{i:04d}" for i in range(1, args.crowded + 1)}
    lates_other = [p.late for p in facts.polls if p.name not in crowd]
    crowd_counts = [len(by_source.get(n, [])) for n in sorted(crowd)]
    later = [ps[k].late for ps in by_source.values() for k in range(1, len(ps))]
    by_result: dict[str, int] = defaultdict(int)
    for p in facts.polls:
        by_result[p.result or "in flight at stop"] += 1

    samples = soak.samples
    t_run = soak.t_running - soak.t_start
    wall_all = soak.t_term - soak.t_start
    last = samples[-1]
    steady_from = t_run + interval + 5
    cpu_steady, wall_steady = cpu_between(samples, steady_from, last.t)
    cpu_prime, wall_prime = cpu_between(samples, t_run, min(steady_from, last.t))
    cpu_start = min(samples, key=lambda s: abs(s.t - t_run)).cpu  # from 0 at the exec
    steady_polls = [p for p in facts.polls if p.start - soak.t_start >= steady_from]
    per_sec = [(b.cpu - a.cpu) / max(b.t - a.t, 1e-9) * 100 for a, b in itertools.pairwise(samples)]
    rss_after_prime = min(samples, key=lambda s: abs(s.t - steady_from)).rss
    sa, sb = soak.server_before, soak.server_after
    return {
        "window": window,
        "t_run": t_run,
        "wall_all": wall_all,
        "cpu_all": last.cpu,
        "sys_all": last.sys,
        "connections": sb.get("connections", 0) - sa.get("connections", 0) - 1,
        "cpu_start": cpu_start,
        "cpu_prime": (cpu_prime, wall_prime),
        "cpu_steady": (cpu_steady, wall_steady),
        "steady_polls": len(steady_polls),
        "steady_200": sum(1 for p in steady_polls if p.result in ("ok", "primed")),
        "per_sec": per_sec,
        "hwm": last.hwm,
        "rss_end": last.rss,
        "rss_after_prime": rss_after_prime,
        "threads": max(s.threads for s in samples),
        "server_cpu": last.server_cpu,
        "others": (last.busy / CLK_TCK - last.cpu - last.server_cpu) / last.t * 100,
        "polls": len(facts.polls),
        "by_result": dict(by_result),
        "expected": sum(expected_by.values()),
        "counts": counts,
        "short": short,
        "extra": extra,
        "never": never,
        "gaps_over": gaps_over,
        "max_excess": max((e for e, _ in excess), default=math.nan),
        "lates": lates,
        "lates_other": lates_other,
        "crowd_counts": crowd_counts,
        "later": later,
        "new": sum(p.new for p in facts.polls if p.result == "ok"),
        "hits": sum(p.hits for p in facts.polls),
        "alerts": sum(p.alerts for p in facts.polls),
        "delivered": hook.count,
        "server_status": {  # minus the 200 of our own first /__stats request
            k: sb.get("status", {}).get(k, 0) - sa.get("status", {}).get(k, 0) - (k == "200")
            for k in sorted(set(sb.get("status", {})) | set(sa.get("status", {})))
        },
        "server_changes": sb.get("changes", 0) - sa.get("changes", 0),
        "hosts": host_gaps(args.out_dir / "requests.txt"),
    }


# --- reporting ----------------------------------------------------------------------------


def machine_line() -> str:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"nproc={os.cpu_count()}{f' ({cpu})' if cpu else ''}, Python"
        f" {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def _ms(x: float) -> str:
    return "–" if math.isnan(x) else f"{x * 1000:.0f} ms"


def table(args: argparse.Namespace, soak: Soak, facts: LogFacts, a: dict) -> str:
    n = args.sources
    cpu_p, wall_p = a["cpu_prime"]
    cpu_s, wall_s = a["cpu_steady"]
    counts = sorted(a["counts"].values())
    br = a["by_result"]
    lates, later = a["lates"], a["later"]
    hwm_ok = "OK" if a["hwm"] < RSS_LIMIT_MB else "**OVER**"
    missed = len(facts.missed) + len(facts.max_instances)
    rows = [
        ("Sources / hosts / interval", f"{n} / {args.hosts} / {args.interval:g} s", ""),
        (
            "Wall time (start → SIGTERM)",
            f"{a['wall_all']:.0f} s (start-up {a['t_run']:.1f} s, poll window {a['window']:.0f} s)",
            "",
        ),
        (
            "**Daemon CPU share, whole run**",
            f"**{a['cpu_all'] / a['wall_all'] * 100:.1f} %** of one core"
            f" ({a['cpu_all']:.1f} CPU s / {a['wall_all']:.0f} s; {a['sys_all']:.1f} s of it"
            " in the kernel)",
            "",
        ),
        ("… start-up (to 'running')", f"{a['cpu_start']:.1f} CPU s", ""),
        (
            "… first interval (first polls, 200s)",
            f"{cpu_p / wall_p * 100:.1f} % ({cpu_p:.1f} s / {wall_p:.0f} s)",
            "",
        ),
        (
            "… steady state (after first interval + 5 s)",
            f"{cpu_s / wall_s * 100:.1f} % ({cpu_s:.1f} s / {wall_s:.0f} s;"
            f" {a['steady_polls']} polls, {a['steady_200']} of them 200;"
            f" {cpu_s / max(a['steady_polls'], 1) * 1000:.1f} ms CPU per poll)",
            "",
        ),
        (
            "… per-second CPU, p50 / p95 / max",
            f"{pct(a['per_sec'], 50):.0f} / {pct(a['per_sec'], 95):.0f}"
            f" / {max(a['per_sec'], default=0):.0f} %",
            "",
        ),
        ("**Peak RSS (VmHWM)**", f"**{a['hwm']:.1f} MB**", f"< {RSS_LIMIT_MB:.0f} MB: {hwm_ok}"),
        (
            "RSS after first interval → at SIGTERM",
            f"{a['rss_after_prime']:.1f} → {a['rss_end']:.1f} MB",
            "",
        ),
        ("Threads (max)", str(a["threads"]), ""),
        (
            "Polls started",
            f"{a['polls']} (expected ≈ {a['expected']}: spread first poll, then every"
            f" interval × 1.025 + poll time{HINTS_NOTE if args.hints else ''})",
            "",
        ),
        (
            "… results",
            f"{br.get('primed', 0)} first (silent), {br.get('ok', 0)} 200 with items,"
            f" {br.get('not modified', 0)} 304, {br.get('failed', 0)} failed,"
            f" {br.get('crashed', 0)} crashed (ERROR),"
            f" {br.get('in flight at stop', 0)} in flight at SIGTERM",
            "",
        ),
        (
            "Polls per source: min / median / max",
            f"{counts[0]} / {statistics.median(counts):g} / {counts[-1]}"
            f" ({len(a['short'])} sources > 1 below their expected count,"
            f" {len(a['never'])} never polled)",
            "",
        ),
        (
            "**Lateness (start − due), p50 / p90 / p99 / max**",
            f"**{_ms(pct(lates, 50))} / {_ms(pct(lates, 90))} / {_ms(pct(lates, 99))}"
            f" / {_ms(max(lates, default=math.nan))}**",
            "",
        ),
        (
            "… polls after the first, p50 / p99 / max",
            f"{_ms(pct(later, 50))} / {_ms(pct(later, 99))} / {_ms(max(later, default=math.nan))}",
            "",
        ),
        *(
            [
                (
                    f"… sources NOT on the crowded host ({n - args.crowded}), p50 / p99 / max",
                    f"{_ms(pct(a['lates_other'], 50))} / {_ms(pct(a['lates_other'], 99))}"
                    f" / {_ms(max(a['lates_other'], default=math.nan))}",
                    "",
                ),
                (
                    f"… polls per source on the crowded host ({args.crowded})",
                    f"min {min(a['crowd_counts'])}, median"
                    f" {statistics.median(a['crowd_counts']):g}, max {max(a['crowd_counts'])}",
                    "",
                ),
            ]
            if args.crowded
            else []
        ),
        (
            "**Missed runs**",
            f"**{len(facts.missed)}** 'missed its run', {len(facts.max_instances)}"
            " 'max instances' skips",
            f"0: {'OK' if missed == 0 else '**NOT OK**'}",
        ),
        (
            "Host gate (1 s between requests to one host)",
            f"{a['hosts']['gated']} of {a['hosts']['requests']} requests"
            f" ({a['hosts']['gated'] / max(a['hosts']['requests'], 1) * 100:.1f} %) came"
            " 1.00–1.10 s after the previous one to their host: they waited at the gate"
            " (up to 1 s, not in 'late'); closest two:"
            f" {a['hosts']['min']:.3f} s, {a['hosts']['under_1s']} under 1 s",
            "0 under 1 s",
        ),
        (
            "Gaps longer than the schedule allows",
            f"{len(a['gaps_over'])} (largest excess {a['max_excess']:+.1f} s; 3 s slack for"
            " 1 s log timestamps and host spacing)",
            "0",
        ),
        ("Failed polls / other warnings+errors", f"{len(facts.failed)} / {len(facts.errors)}", ""),
        (
            "Feed changes → new items / hits / alerts",
            f"{a['server_changes']} feed versions → {a['new']} new items, {a['hits']} hits,"
            f" {a['alerts']} alerts queued, {a['delivered']} delivered to the webhook",
            "",
        ),
        (
            "Stop after SIGTERM",
            f"{soak.stop_s:.2f} s, exit {soak.rc}{' (SIGKILLed)' if soak.killed else ''}"
            f"{', logged Stopped.' if facts.stopped else ''}",
            "",
        ),
        (
            "Feed server CPU / all other processes",
            f"{a['server_cpu'] / a['wall_all'] * 100:.1f} % / {a['others']:.0f} % of one core"
            f" ({os.cpu_count()} cores in all); server answers {a['server_status']}"
            f" on {a['connections']} new TCP connections",
            "",
        ),
    ]
    out = ["| Measure | Value | Target |", "|---|---|---|"]
    out += [f"| {m} | {v} | {t} |" for m, v, t in rows]
    return "\n".join(out)


def per_interval(args: argparse.Namespace, soak: Soak, facts: LogFacts) -> str:
    """One row per interval-long slice of the run: polls, 200s, CPU, lateness."""
    width = args.interval
    t_run = soak.t_running - soak.t_start
    rows = [
        "| Slice (s after 'running') | Polls | 200s | daemon CPU % | other processes CPU %"
        " | late p50 | p99 | max | RSS at end (MB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    k = 0
    while t_run + (k + 0.5) * width < soak.t_term - soak.t_start:
        lo, hi = t_run + k * width, t_run + (k + 1) * width
        ps = [p for p in facts.polls if lo <= p.start - soak.t_start < hi]
        cpu, wall = cpu_between(soak.samples, lo, min(hi, soak.samples[-1].t))
        a = min(soak.samples, key=lambda s: abs(s.t - lo))
        b = min(soak.samples, key=lambda s: abs(s.t - min(hi, soak.samples[-1].t)))
        others = (b.busy - a.busy) / CLK_TCK - cpu - (b.server_cpu - a.server_cpu)
        lates = [p.late for p in ps]
        n200 = sum(1 for p in ps if p.result in ("ok", "primed"))
        rows.append(
            f"| {k * width:.0f}–{(k + 1) * width:.0f} | {len(ps)} | {n200} |"
            f" {cpu / wall * 100:.0f} | {others / wall * 100:.0f} | {_ms(pct(lates, 50))} |"
            f" {_ms(pct(lates, 99))} |"
            f" {_ms(max(lates, default=math.nan))} | {b.rss:.1f} |"
        )
        k += 1
    return "\n".join(rows)


def gc_summary(path: Path, facts: LogFacts) -> str:
    """Collections per generation, their total and longest pause, and the late polls."""
    rows = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            t, gen, ms, _collected, *_ = line.split()
            rows.append((float(t), int(gen), float(ms)))
    out = ["| GC generation | Collections | Total pause | p99 | Longest |", "|---|---|---|---|---|"]
    for g in (0, 1, 2):
        pauses = [r[2] for r in rows if r[1] == g]
        if pauses:
            out.append(
                f"| {g} | {len(pauses)} | {sum(pauses) / 1000:.2f} s | {pct(pauses, 99):.1f} ms"
                f" | {max(pauses):.1f} ms |"
            )
    long = sorted((r for r in rows if r[2] >= 50), key=lambda r: -r[2])[:8]
    if long:
        out += ["", "Longest collections (local time, generation, pause):", ""]
        out += [
            f"    {time.strftime('%H:%M:%S', time.localtime(t))}.{int(t % 1 * 1000):03d}"
            f"  gen {g}  {ms:.0f} ms"
            for t, g, ms in long
        ]
    return "\n".join(out) + "\n"


# --- main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 100 sources, 15 s, 60 s")
    ap.add_argument("--sources", type=int, default=None, help="default 1000 (quick: 100)")
    ap.add_argument("--interval", type=parse_duration, default=None, help="default 30s (15s)")
    ap.add_argument("--duration", type=parse_duration, default=None, help="default 180 (60)")
    ap.add_argument("--hosts", type=int, default=None, help="default: sources / 4 (≤ 500)")
    ap.add_argument("--workers", type=int, default=8, help="settings.workers")
    ap.add_argument(
        "--crowded",
        type=int,
        default=0,
        metavar="K",
        help="put sources 1..K on ONE host (the rest on the others): more than interval/1 s"
        " sources on a host cannot all be polled on time; does that delay other hosts?",
    )
    ap.add_argument(
        "--schedule",
        choices=("fixed", "adaptive"),
        default="fixed",
        help="settings.schedule (default fixed: the per-source accounting assumes it)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--change-every", type=float, default=10.0, help="seconds between changes")
    ap.add_argument("--change-share", type=float, default=0.02, help="feeds changed each time")
    ap.add_argument("--hit-share", type=float, default=0.05, help="new items matching the rule")
    ap.add_argument("--max-new", type=int, default=3, help="new items per change: 1..this")
    ap.add_argument(
        "--fresh-names",
        type=int,
        default=0,
        help="made-up names added to each headline (bench/soakserver.py): an open vocabulary"
        " that fills the daemon's bounded per-word caches (memory ceiling)",
    )
    ap.add_argument(
        "--rates-from",
        metavar="TIMELINE",
        default=None,
        help="feeds publish at rates drawn from a real timeline's per-feed item counts"
        " (bench/soakserver.py --rates-from; e.g."
        " ../shared/corpus/timelines/items-2023-02-08_2023-09-30.tsv.gz): some busy, most quiet",
    )
    ap.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="QUERY",
        help="another rule alerting the webhook (repeatable), e.g. 'Google OR Apple OR China':"
        " about 7 %% of the real headlines, so many distinct stories alert (time to phone)",
    )
    ap.add_argument("--slow-hosts", type=int, default=0, help="hosts that answer late")
    ap.add_argument("--slow-delay", type=float, default=8.0, help="seconds (--slow-hosts)")
    ap.add_argument("--failing-hosts", type=int, default=0, help="hosts that answer 503")
    ap.add_argument("--gzip", action="store_true", help="serve gzip-compressed bodies")
    ap.add_argument("--hints", action="store_true", help="serve max-age=60 and RSS <ttl>30</ttl>")
    ap.add_argument("--console", action="store_true", help="console:// instead of the webhook")
    ap.add_argument("--python", type=Path, default=VENV_PY)
    ap.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        metavar="EXE",
        help="also sample the daemon with this py-spy (e.g. /tmp/pyspy/bin/py-spy); it adds"
        " some CPU, so take the numbers from a run without it",
    )
    ap.add_argument(
        "--gc-log",
        action="store_true",
        help="log every garbage collection of the daemon (OUT/gc.log, via sitecustomize) and"
        " summarise the long ones (diagnostic: it costs a little CPU)",
    )
    ap.add_argument(
        "--tracemalloc",
        type=float,
        default=None,
        metavar="S",
        help="trace the daemon's Python allocations from WW_SOAK_TM_AFTER (default 120) seconds"
        " after its start (via sitecustomize) and snapshot them every S seconds into"
        " OUT/tracemalloc; the report compares them (diagnostic: it costs CPU and memory, so"
        " take RSS numbers from a run without it)",
    )
    ap.add_argument(
        "--py-spy-after",
        type=float,
        default=0.0,
        metavar="S",
        help="start py-spy S seconds after 'running' (e.g. interval + 5: steady state only)",
    )
    ap.add_argument(
        "--rev",
        default=None,
        help="run the daemon from `git archive REV src` (e.g. HEAD) instead of the working"
        " tree: other people's half-done edits in src/ then do not end up in the numbers",
    )
    ap.add_argument("--out", type=Path, default=None, help="default bench/out/soak-N-I-D")
    args = ap.parse_args(argv)
    quick = args.quick
    args.sources = args.sources or (100 if quick else 1000)
    args.interval = args.interval or (15.0 if quick else 30.0)
    args.duration = args.duration or (60.0 if quick else 180.0)
    args.hosts = args.hosts or min(MAX_HOSTS, max(1, math.ceil(args.sources / 4)))
    if args.interval < 5:
        ap.error("weightwatch's minimum interval is 5s")
    if not 1 <= args.hosts <= MAX_HOSTS:
        ap.error(f"--hosts must be 1..{MAX_HOSTS}")
    out = args.out or BENCH / "out" / (f"soak-{args.sources}-{args.interval:g}s-{args.duration:g}s")
    out.mkdir(parents=True, exist_ok=True)
    args.out_dir = out
    for name in ("requests.txt", "requests.txt.hits", "requests.txt.items"):
        (out / name).unlink(missing_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ww-soak-"))  # the database, the code snapshot
    try:
        return soak_once(args, argv, out, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def soak_once(args: argparse.Namespace, argv: Sequence[str] | None, out: Path, work: Path) -> int:
    args.src_dir, args.code = code_under_test(args.rev, work)
    tm_dir = out / "tracemalloc" if args.tracemalloc else None
    args.gc_dir = hook_dir(
        work, out / "gc.log" if args.gc_log else None, tm_dir, args.tracemalloc or 0.0
    )
    where = subprocess.run(
        [str(args.python), "-c", "import weightwatch; print(weightwatch.__file__)"],
        env=child_env(args.src_dir),
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    if not where.startswith(str(args.src_dir)):
        raise SystemExit(f"daemon_soak.py: weightwatch imports from {where!r}, not {args.src_dir}")
    print(
        f"daemon_soak.py: {machine_line()}; code: {args.code}; output in {out}",
        file=sys.stderr,
        flush=True,
    )
    hook = HookReceiver()
    server = start_feed_server(args, out / "server.err")
    try:
        r = server.ready
        print(
            f"  feed server: {r['feeds']} feeds ({r['bytes'] / 1e6:.1f} MB, {r['items']} items,"
            f" {r['atom']} Atom) on {len(r['hosts'])} hosts; titles: {r['titles']}",
            file=sys.stderr,
            flush=True,
        )
        config = out / "config.toml"
        write_config(config, args, r["hosts"], work / "ww.db", hook.port)
        hook.start()
        soak = run_daemon(args, config, out, server)
    finally:
        server.stop()
        time.sleep(0.2)  # the daemon's last delivery has returned; let the handler count it
        hook.stop()
    facts = parse_log(out / "daemon.err")
    a = analyse(args, soak, facts, hook)
    lat = latency(args, soak, facts, hook)
    (out / "latency.json").write_text(json.dumps(lat, indent=1) + "\n")
    cmd = "python bench/daemon_soak.py " + " ".join(sys.argv[1:] if argv is None else list(argv))
    text = "\n".join(
        [
            f"`{cmd.strip()}` — {machine_line()}; weightwatch from {args.code}",
            "",
            table(args, soak, facts, a),
            "",
            latency_table(lat),
            "",
            per_interval(args, soak, facts),
            "",
        ]
    )
    if facts.missed or facts.max_instances or facts.errors or a["gaps_over"]:
        text += "\nWorth a look:\n\n" + "\n".join(
            f"    {line}"
            for line in (facts.missed + facts.max_instances + facts.errors)[:10]
            + [f"gap excess {e:+.1f} s: {n}" for e, n in a["gaps_over"][-10:]]
        )
        text += "\n"
    if args.gc_log and (out / "gc.log").is_file():
        text += "\n" + gc_summary(out / "gc.log", facts)
    if args.py_spy and (out / "py-spy.txt").is_file():
        text += "\n" + py_spy_summary(out / "py-spy.txt")
    if tm_dir is not None:
        text += "\n" + tracemalloc_summary(tm_dir)
    (out / "report.md").write_text(text)
    (out / "alerts.txt").write_text("".join(t + "\n" for t in hook.titles))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
