"""Delivery soak: alerts through 3 flaky channels while ``weightwatch run`` is SIGKILLed.

Usage (from the repo root):

    .venv/bin/python bench/delivery_soak.py --quick      # smoke: 50 items, 4 kills, ~2-5 min
    .venv/bin/python bench/delivery_soak.py              # issue 5: 1000 items, 20 kills, ≤ 20 min
    .venv/bin/python bench/delivery_soak.py --aim 0.5    # the same, each kill during a delivery

What it does (every socket is on 127.0.0.0/8):

* feed servers, threads in this process: ``--sources`` RSS feeds spread over ``--hosts``
  loopback addresses (127.0.0.2 …; the daemon sends one request at a time per host, 1 s
  apart, so feeds are spread out for each to be polled about every 5 s). Every
  ``--wave-every`` seconds a wave publishes one new item at the top of every feed, until each
  feed has ``--items`` items: ``sources × items`` distinct items, each titled
  ``Soakmark item NNNN …`` with its own link;
* three webhook receivers, threads in this process, one per channel (``json://`` URLs):
  **a** answers 200 always; **b** answers 500 to ``--flaky`` (30 %) of requests at random;
  **c** answers 503 to every request from ``--outage-at`` for ``--outage-for`` seconds, 200
  otherwise. A fourth receiver, **ops**, is ``settings.ops`` (source health, failing URLs)
  and is reported apart. Each receiver records every POST when it arrives (before it
  answers) with the item number taken from the title and the status it answered;
* the config: those sources (``interval = "5s"``, ``backfill = true``), one rule
  ``query = 'soakmark'`` notifying a, b and c (so expected = items × 3), ``dedup_window =
  "0s"`` (the items are distinct stories; near-identical titles must not merge here);
* ``python -m weightwatch -v run --config F`` as a subprocess, importing a copy of ``src/``
  taken at start (others edit ``src/`` while this runs); it is killed with SIGKILL
  ``--kills`` times, at intervals drawn uniformly from ``--kill-min`` … ``--kill-max`` s,
  and restarted at once after each kill. Deliveries come in bursts (a delivery run every 5 s
  sends what is due in a fraction of a second), so most random moments find the daemon idle;
  ``--aim S`` makes each kill, when due, wait for a POST to reach a, b or c and land a
  uniform 0…S s later: the worst case for repeats;
* once every wave is out and every kill done, the daemon runs undisturbed until every
  expected alert has reached its receiver or ``--time-limit`` (counted from the first start)
  passes, then 10 s more (a late duplicate would show), then SIGTERM;
* the database's own view, ``weightwatch alerts --json``, counted by channel and status;
  if alerts are still pending (a retry of channel b scheduled after the limit: backoff is
  30 s, 60 s, 120 s … so a 6th failure in a row waits 16 min), ``weightwatch once`` is run
  (it retries pending alerts regardless of backoff) up to ``--sweeps`` times, to show they
  were not lost; what it delivers is reported apart from what the daemon delivered;
* the report: per channel expected, delivered (distinct), duplicated (extra copies of an
  alert the receiver had already answered 200 to), lost (expected − delivered); each
  duplicate is attributed to the first SIGKILL after its earlier copy, or at most
  ``IN_FLIGHT`` before it (a request the killed process had already written); a duplicate
  with no kill in between is "unexplained" and would be a bug; kills, run time, drain time.
  Printed as Markdown and written to OUT/report.md, with OUT/result.json, OUT/config.toml,
  OUT/daemon.log (every start's log, with a marker line at each kill) and OUT/posts.csv.

Bounded: the main loop ends by ``--time-limit`` (+ 10 min at most if kills or waves are still
due); the daemon gets PR_SET_PDEATHSIG and is killed on any error; each ``once``/``alerts``
child has a timeout (≤ 10 sweeps); the servers are threads of this process, shut down at
the end (and gone with it).
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import itertools
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_PY = ROOT / ".venv" / "bin" / "python"
CHANNELS = ("a", "b", "c")
ITEM_RE = re.compile(r"Soakmark item (\d+)")
SETTLE = 10.0  # seconds the daemon keeps running after the last expected alert arrived
# A POST recorded up to this long after a SIGKILL may still come from the killed process
# (its request was in the socket when it died); a restarted daemon sends nothing that soon
# (it imports for ~1 s, then its first delivery run is 5 s after it starts).
IN_FLIGHT = 0.5
HARD_EXTRA = 600.0  # the run ends at --time-limit + this even if kills or waves are still due
# fmt: off
WORDS = (
    "weights", "checkpoint", "tokenizer", "release", "model", "open", "lab", "license",
    "quantized", "distilled", "mixture", "experts", "context", "window", "benchmark", "eval",
    "vision", "audio", "agent", "reasoning", "sparse", "dense", "adapter", "finetune", "preview",
    "instruct", "base", "chat", "coder", "math", "multilingual", "safety", "card", "paper",
    "repo",
)
# fmt: on


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30, 30s, 20m)")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a connection of a daemon that was just killed
        super().handle_error(request, client_address)


def _serve(host: str, handler: type[BaseHTTPRequestHandler]) -> _Server:
    server = _Server((host, 0), handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    ).start()
    return server


# --- feeds --------------------------------------------------------------------------------


@dataclass
class Item:
    number: int
    source: str
    title: str
    link: str
    published: datetime


class Feeds:
    """``sources`` RSS feeds on ``hosts`` loopback addresses; ``publish()`` adds a wave."""

    def __init__(self, sources: int, items: int, hosts: int, seed: int) -> None:
        self.names = [f"s{i:03d}" for i in range(1, sources + 1)]
        self.items_per_source = items
        self.rng = random.Random(f"feeds-{seed}")
        self.lock = threading.Lock()
        self.published: dict[str, list[Item]] = {n: [] for n in self.names}
        self.requests = 0
        self.not_modified = 0
        self.waves = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30  # an idle keep-alive connection is dropped after 30 s

            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1].removesuffix(".xml")
                body, etag = outer.render(name)
                with outer.lock:
                    outer.requests += 1
                if body is None:
                    self._answer(404, b"not found", "text/plain", {})
                elif self.headers.get("If-None-Match") == etag:
                    with outer.lock:
                        outer.not_modified += 1
                    self._answer(304, b"", None, {"ETag": etag})
                else:
                    ctype = "application/rss+xml; charset=utf-8"
                    self._answer(200, body, ctype, {"ETag": etag})

            def _answer(
                self, status: int, body: bytes, ctype: str | None, headers: dict[str, str]
            ) -> None:
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                for k, v in headers.items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.servers = [_serve(f"127.0.0.{2 + k}", Handler) for k in range(hosts)]
        self.urls = {
            name: "http://{}:{}/feeds/{}.xml".format(
                *self.servers[i % hosts].server_address[:2], name
            )
            for i, name in enumerate(self.names)
        }

    def publish(self) -> int:
        """One wave: a new item at the top of every feed that is not full yet; returns how many."""
        now = datetime.now(UTC)
        added = 0
        with self.lock:
            wave = self.waves
            for i, name in enumerate(self.names):
                if len(self.published[name]) >= self.items_per_source:
                    continue
                number = wave * len(self.names) + i + 1
                words = " ".join(self.rng.sample(WORDS, 4))
                title = f"Soakmark item {number:04d} from {name}: {words}"
                link = f"http://soak.example/items/{number:04d}"
                self.published[name].append(Item(number, name, title, link, now))
                added += 1
            self.waves += 1
        return added

    def render(self, name: str) -> tuple[bytes | None, str]:
        with self.lock:
            items = list(self.published.get(name, [])) if name in self.published else None
        if items is None:
            return None, ""
        etag = f'"{name}-{len(items)}"'
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<rss version="2.0"><channel>',
            f"<title>Soak feed {name}</title><link>http://soak.example/{name}</link>",
            "<description>weightwatch delivery soak</description>",
        ]
        for it in reversed(items):  # newest first
            parts.append(
                f"<item><title>{escape(it.title)}</title><link>{escape(it.link)}</link>"
                f'<guid isPermaLink="false">soak-{it.number:04d}</guid>'
                f"<pubDate>{format_datetime(it.published)}</pubDate>"
                f"<description>Soakmark body of item {it.number:04d}.</description></item>"
            )
        parts.append("</channel></rss>")
        return "\n".join(parts).encode(), etag

    def all_items(self) -> list[Item]:
        with self.lock:
            return [it for name in self.names for it in self.published[name]]

    def full(self) -> bool:
        with self.lock:
            return all(len(v) >= self.items_per_source for v in self.published.values())

    def close(self) -> None:
        for s in self.servers:
            s.shutdown()
            s.server_close()


# --- webhook receivers --------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    channel: str
    t: float  # seconds since the bench's t0, when the request body had been read
    status: int  # what the receiver answered
    item: int | None  # the item number from the title, None for other messages
    title: str


class Receiver:
    """Receives Apprise ``json://`` POSTs for one channel and answers per its behaviour."""

    def __init__(
        self,
        channel: str,
        t0: float,
        *,
        fail_share: float = 0.0,
        fail_status: int = 500,
        outage: tuple[float, float] | None = None,
        seed: int = 0,
        delay: float = 0.0,
    ) -> None:
        self.channel = channel
        self.delay = delay  # seconds between reading a request (and recording it) and answering
        self.t0 = t0
        self.fail_share = fail_share
        self.fail_status = fail_status
        self.outage = outage
        self.rng = random.Random(f"{channel}-{seed}")
        self.lock = threading.Lock()
        self.posts: list[Post] = []
        self.ok_items: set[int] = set()
        self.last_post = -1.0  # t of the last POST
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = outer.record(body)
                if outer.delay:
                    time.sleep(outer.delay)
                payload = b"{}"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the daemon was killed while we answered
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = _serve("127.0.0.1", Handler)
        self.port = self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def record(self, body: bytes) -> int:
        t = time.monotonic() - self.t0
        try:
            data = json.loads(body or b"{}")
            title = str(data.get("title", ""))
            text = title + "\n" + str(data.get("message", ""))
        except (ValueError, AttributeError):
            title = text = body.decode("utf-8", "replace")[:200]
        m = ITEM_RE.search(text)
        item = int(m.group(1)) if m else None
        with self.lock:
            if self.outage and self.outage[0] <= t < self.outage[1]:
                status = 503
            elif self.fail_share and self.rng.random() < self.fail_share:
                status = self.fail_status
            else:
                status = 200
            self.posts.append(Post(self.channel, t, status, item, title))
            self.last_post = t
            if status == 200 and item is not None:
                self.ok_items.add(item)
        return status

    def delivered(self) -> set[int]:
        with self.lock:
            return set(self.ok_items)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the daemon ---------------------------------------------------------------------------

_LIBC = ctypes.CDLL(None)  # loaded here, not in the forked child


def _die_with_parent() -> None:  # runs in the child between fork and exec: keep it tiny
    _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def child_env(code: Path) -> dict[str, str]:
    """No proxies (requests honours them, also for 127.0.0.x); weightwatch from ``code``."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.0/8,localhost"
    env["PYTHONPATH"] = str(code)
    for key in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WEIGHTWATCH_CONFIG"):
        env.pop(key, None)
    return env


@dataclass
class Event:
    t: float
    what: str  # "start", "kill", "exit" (on its own), "term"
    pid: int
    note: str = ""


@dataclass
class Daemon:
    python: Path
    config: Path
    env: dict[str, str]
    log: Path
    t0: float
    proc: subprocess.Popen[bytes] | None = None
    events: list[Event] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.t0

    def mark(self, text: str) -> None:
        with self.log.open("ab") as f:
            f.write(f"=== delivery_soak t={self.now():.3f}s: {text}\n".encode())

    def start(self) -> None:
        self.mark("start")
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(self.python), "-m", "weightwatch", "-v", "run", "--config", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                preexec_fn=_die_with_parent,
            )
        self.events.append(Event(self.now(), "start", self.proc.pid))

    def kill(self) -> None:
        assert self.proc is not None
        pid = self.proc.pid
        t = self.now()
        self.proc.kill()
        self.proc.wait()
        self.events.append(Event(t, "kill", pid))
        self.mark(f"SIGKILL pid {pid}")

    def exited(self) -> int | None:
        """The exit code if the daemon stopped by itself (recorded once), else None."""
        if self.proc is None or self.proc.returncode is not None:
            return None
        rc = self.proc.poll()
        if rc is not None:
            self.events.append(Event(self.now(), "exit", self.proc.pid, f"exit code {rc}"))
            self.mark(f"pid {self.proc.pid} exited by itself with {rc}")
        return rc

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def term(self, timeout: float = 30.0) -> tuple[int | None, float]:
        """SIGTERM; (exit code, seconds to exit). SIGKILL after ``timeout`` (code None)."""
        assert self.proc is not None
        t = self.now()
        self.proc.send_signal(signal.SIGTERM)
        self.events.append(Event(t, "term", self.proc.pid))
        try:
            rc: int | None = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        took = self.now() - t
        self.mark(f"stopped by SIGTERM: exit {rc} after {took:.2f} s")
        return rc, took


def run_cli(python: Path, env: dict[str, str], *args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [str(python), "-m", "weightwatch", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    if done.returncode != 0:
        raise SystemExit(f"weightwatch {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def db_view(python: Path, env: dict[str, str], config: Path) -> list[dict[str, Any]]:
    out = run_cli(python, env, "alerts", "--config", str(config), "--json", "--limit", "1000000")
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def count_view(rows: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    by: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        by[r["channel"]][r["status"]] += 1
    return by


def snapshot_code(dest: Path) -> str:
    """Copy src/weightwatch to ``dest``; return a description of what was copied."""

    def git(*a: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *a], capture_output=True, text=True, check=False
        ).stdout.strip()

    shutil.copytree(
        ROOT / "src" / "weightwatch",
        dest / "weightwatch",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    head = git("rev-parse", "--short", "HEAD")
    dirty = [ln for ln in git("status", "--porcelain", "--", "src").splitlines() if ln]
    state = f"{len(dirty)} files under src/ differ from HEAD" if dirty else "clean"
    return f"a copy of src/ taken at start (HEAD {head}, {state})"


# --- the run ------------------------------------------------------------------------------


def write_config(path: Path, db: Path, feeds: Feeds, receivers: dict[str, Receiver]) -> None:
    lines = [
        "# written by bench/delivery_soak.py",
        "[settings]",
        f'database = "{db.as_posix()}"',
        'interval = "5s"',
        'timeout = "10s"',
        "workers = 8",
        'dedup_window = "0s"',
        'ops = "ops"',
        "",
        "[channels]",
        *(f'{name} = "{r.url}"' for name, r in receivers.items()),
        "",
    ]
    for name in feeds.names:
        lines += ["[[source]]", f'name = "{name}"', f'url = "{feeds.urls[name]}"']
        lines += ["backfill = true", ""]
    lines += ["[[rule]]", 'name = "soak"', "query = 'soakmark'", 'notify = ["a", "b", "c"]']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a small run: 50 items, 4 kills")
    p.add_argument("--sources", type=int, default=50)
    p.add_argument("--items", type=int, default=20, help="items per source (one per wave)")
    p.add_argument("--hosts", type=int, default=25, help="loopback addresses for the feeds")
    p.add_argument("--first-wave", type=parse_duration, default=10.0)
    p.add_argument("--wave-every", type=parse_duration, default=10.0)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--kill-min", type=parse_duration, default=3.0)
    p.add_argument("--kill-max", type=parse_duration, default=15.0)
    p.add_argument(
        "--aim",
        type=parse_duration,
        default=0.0,
        help="aim each kill at a delivery: when it is due, wait for a POST to a, b or c, then"
        " kill after a uniform 0…AIM s (default 0: kill at the drawn moment, busy or not)",
    )
    p.add_argument("--flaky", type=float, default=0.3, help="share of b's requests answered 500")
    p.add_argument("--outage-at", type=parse_duration, default=75.0)
    p.add_argument("--outage-for", type=parse_duration, default=60.0)
    p.add_argument(
        "--time-limit",
        type=parse_duration,
        default=1200.0,
        help="stop waiting for alerts this long after the first start (default 20m)",
    )
    p.add_argument("--sweeps", type=int, default=10, help="`weightwatch once` runs at most")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--python", type=Path, default=VENV_PY)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.quick:
        given = {a.split("=")[0] for a in (argv if argv is not None else sys.argv[1:])}
        quick = {
            "--sources": ("sources", 10),
            "--items": ("items", 5),
            "--hosts": ("hosts", 5),
            "--first-wave": ("first_wave", 8.0),
            "--wave-every": ("wave_every", 6.0),
            "--kills": ("kills", 4),
            "--kill-min": ("kill_min", 3.0),
            "--kill-max": ("kill_max", 8.0),
            "--outage-at": ("outage_at", 15.0),
            "--outage-for": ("outage_for", 20.0),
            "--time-limit": ("time_limit", 300.0),
        }
        for opt, (attr, value) in quick.items():
            if opt not in given:
                setattr(args, attr, value)
    if not 1 <= args.hosts <= 250:
        p.error("--hosts must be 1 to 250 (127.0.0.2 … 127.0.0.251)")
    if args.kill_min <= 0 or args.kill_max < args.kill_min:
        p.error("need 0 < --kill-min <= --kill-max")
    return args


@dataclass
class Timeline:
    waves_done_at: float = 0.0
    kills_done_at: float = 0.0
    all_delivered_at: float | None = None
    term_at: float = 0.0
    stop_rc: int | None = None
    stop_s: float = 0.0
    ended_by: str = ""
    unexpected_exits: int = 0
    aimed: int = 0


def aim_kill(daemon: Daemon, receivers: list[Receiver], aim: float, rng: random.Random) -> int:
    """Wait (at most 30 s) for a POST to arrive, then up to ``aim`` s; 1 if one arrived."""
    start = daemon.now()
    while daemon.now() - start < 30:
        if any(r.last_post >= daemon.now() - 0.02 for r in receivers):
            time.sleep(rng.uniform(0, aim))
            return 1
        time.sleep(0.002)
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    size = "quick" if args.quick else f"{args.sources * args.items}-k{args.kills}"
    size += f"-aim{args.aim:g}" if args.aim else ""
    out = args.out or BENCH / "out" / f"delivery-soak-{size}"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    code = out / "code"
    code_desc = snapshot_code(code)
    env = child_env(code)
    where = subprocess.run(
        [str(args.python), "-c", "import weightwatch; print(weightwatch.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout.strip()
    if not where.startswith(str(code)):
        raise SystemExit(f"the daemon would import weightwatch from {where}, not {code}")

    t0 = time.monotonic()
    feeds = Feeds(args.sources, args.items, args.hosts, args.seed)
    outage = (args.outage_at, args.outage_at + args.outage_for)
    receivers = {
        "a": Receiver("a", t0, seed=args.seed),
        "b": Receiver("b", t0, fail_share=args.flaky, fail_status=500, seed=args.seed),
        "c": Receiver("c", t0, outage=outage, seed=args.seed),
        "ops": Receiver("ops", t0, seed=args.seed),
    }
    config = out / "config.toml"
    db = out / "weightwatch.db"
    write_config(config, db, feeds, receivers)
    daemon = Daemon(args.python, config, env, out / "daemon.log", t0)

    rng = random.Random(f"kills-{args.seed}")
    kill_at: list[float] = []
    t = 0.0
    for _ in range(args.kills):
        t += rng.uniform(args.kill_min, args.kill_max)
        kill_at.append(t)
    waves = args.items
    wave_at = [args.first_wave + w * args.wave_every for w in range(waves)]
    tl = Timeline()
    print(
        f"delivery_soak: {args.sources} sources × {args.items} items on {args.hosts} hosts,"
        f" {args.kills} kills by t={kill_at[-1] if kill_at else 0:.0f} s, waves until"
        f" t={wave_at[-1]:.0f} s, c down {outage[0]:.0f}–{outage[1]:.0f} s,"
        f" limit {args.time_limit:.0f} s; out {out}",
        file=sys.stderr,
        flush=True,
    )

    try:
        daemon.start()
        next_wave = next_kill = aimed = 0
        last_progress = 0.0
        while True:
            now = daemon.now()
            while next_wave < waves and now >= wave_at[next_wave]:
                feeds.publish()
                next_wave += 1
                if next_wave == waves:
                    tl.waves_done_at = now
            if next_kill < len(kill_at) and now >= kill_at[next_kill]:
                if args.aim:
                    aimed += aim_kill(daemon, [receivers[c] for c in CHANNELS], args.aim, rng)
                daemon.kill()
                next_kill += 1
                if next_kill == len(kill_at):
                    tl.kills_done_at = daemon.now()
                daemon.start()
            rc = daemon.exited()
            if rc is not None:  # it stopped by itself: a bug to report; keep the soak going
                tl.unexpected_exits += 1
                daemon.start()
            expected = {it.number for it in feeds.all_items()}
            missing = sum(
                len(expected - r.delivered()) for name, r in receivers.items() if name in CHANNELS
            )
            settled = next_wave >= waves and next_kill >= len(kill_at)
            if settled and missing == 0 and tl.all_delivered_at is None:
                tl.all_delivered_at = now
            if tl.all_delivered_at is not None and now >= tl.all_delivered_at + SETTLE:
                tl.ended_by = "every expected alert delivered"
                break
            if now >= args.time_limit and settled:
                tl.ended_by = f"time limit ({args.time_limit:.0f} s)"
                break
            if now >= args.time_limit + HARD_EXTRA:  # kills or waves still due: give up
                tl.ended_by = f"hard limit ({args.time_limit + HARD_EXTRA:.0f} s)"
                break
            if now - last_progress >= 30:
                last_progress = now
                got = {n: len(r.delivered()) for n, r in receivers.items() if n in CHANNELS}
                print(
                    f"  t={now:6.0f} s  items {len(expected)}  delivered {got}  missing {missing}"
                    f"  kills {next_kill}",
                    file=sys.stderr,
                    flush=True,
                )
            time.sleep(0.05)

        tl.term_at = daemon.now()
        tl.aimed = aimed
        tl.stop_rc, tl.stop_s = daemon.term()
        run_time = daemon.now()
        view_at_stop = db_view(args.python, env, config)

        # Alerts still pending (a retry scheduled past the limit): `once` ignores the backoff.
        daemon_delivered = {n: r.delivered() for n, r in receivers.items()}
        sweeps = 0
        sweep_s = 0.0
        for _ in range(args.sweeps):
            pending = [
                r for r in db_view(args.python, env, config) if r["status"] in ("pending", "held")
            ]
            if not pending:
                break
            sweeps += 1
            started = time.monotonic()
            daemon.mark(f"weightwatch once (sweep {sweeps}): {len(pending)} alerts pending")
            run_cli(args.python, env, "once", "--config", str(config), timeout=300)
            sweep_s += time.monotonic() - started
        view_final = db_view(args.python, env, config) if sweeps else view_at_stop
        items = feeds.all_items()
        feed_requests, feed_304 = feeds.requests, feeds.not_modified
    finally:  # whatever happened, leave nothing running
        daemon.close()
        for r in receivers.values():
            r.close()
        feeds.close()
    result = analyse(
        args, out, items, receivers, daemon, tl, view_at_stop, view_final, daemon_delivered
    )
    result.update(
        code=code_desc,
        run_time_s=round(run_time, 1),
        sweeps=sweeps,
        sweep_s=round(sweep_s, 1),
        feed_requests=feed_requests,
        feed_not_modified=feed_304,
        db_counts=db_counts(db),
    )
    (out / "result.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    with (out / "posts.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["channel", "t", "status", "item", "title"])
        for r in receivers.values():
            for p in r.posts:
                w.writerow([p.channel, f"{p.t:.3f}", p.status, p.item or "", p.title])
    report = render(args, result)
    (out / "report.md").write_text(report)
    print(report)
    return result


def db_counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM hits),"
            " (SELECT COUNT(*) FROM hits WHERE duplicate_of IS NOT NULL)"
        ).fetchone()
    finally:
        conn.close()
    return {"items": row[0], "hits": row[1], "duplicate_hits": row[2]}


def analyse(
    args: argparse.Namespace,
    out: Path,
    items: list[Item],
    receivers: dict[str, Receiver],
    daemon: Daemon,
    tl: Timeline,
    view_at_stop: list[dict[str, Any]],
    view_final: list[dict[str, Any]],
    daemon_delivered: dict[str, set[int]],
) -> dict[str, Any]:
    expected = {it.number for it in items}
    kills = [e.t for e in daemon.events if e.what == "kill"]
    stop_counts = count_view(view_at_stop)
    final_counts = count_view(view_final)
    channels: dict[str, Any] = {}
    per_kill: dict[int, Counter[str]] = defaultdict(Counter)
    unexplained: list[dict[str, Any]] = []
    for name in CHANNELS:
        rec = receivers[name]
        ok_times: dict[int, list[float]] = defaultdict(list)
        for p in rec.posts:
            if p.status == 200 and p.item is not None:
                ok_times[p.item].append(p.t)
        delivered = set(ok_times) & expected
        duplicated = sum(len(v) - 1 for v in ok_times.values())
        for item, times in ok_times.items():
            for first, again in itertools.pairwise(times):
                k = next(
                    (i for i, kt in enumerate(kills) if first - IN_FLIGHT <= kt <= again), None
                )
                if k is None:
                    unexplained.append(
                        {"channel": name, "item": item, "first": first, "again": again}
                    )
                else:
                    per_kill[k][name] += 1
        rows = [r for r in view_final if r["channel"] == name]
        attempts = Counter(int(r["attempts"]) for r in rows if r["status"] == "sent")
        channels[name] = {
            "expected": len(expected),
            "delivered": len(delivered),
            "by_daemon": len(daemon_delivered[name] & expected),
            "duplicated": duplicated,
            "lost": len(expected - delivered),
            "lost_items": sorted(expected - delivered)[:50],
            "unknown": sorted(set(ok_times) - expected)[:50],
            "requests": len(rec.posts),
            "rejected": sum(1 for p in rec.posts if p.status != 200),
            "db_at_stop": dict(stop_counts.get(name, {})),
            "db_final": dict(final_counts.get(name, {})),
            "attempts_of_sent": dict(sorted(attempts.items())),
        }
    ops = receivers["ops"]
    ops_titles = Counter(re.sub(r"\d+", "N", p.title)[:90] for p in ops.posts if p.status == 200)
    worst = max((n for c in per_kill.values() for n in c.values()), default=0)
    return {
        "command": "bench/delivery_soak.py " + " ".join(sys.argv[1:]),
        "out": str(out),
        "items": len(expected),
        "channels": channels,
        "expected": 3 * len(expected),
        "delivered": sum(c["delivered"] for c in channels.values()),
        "duplicated": sum(c["duplicated"] for c in channels.values()),
        "lost": sum(c["lost"] for c in channels.values()),
        "kills": len(kills),
        "starts": sum(1 for e in daemon.events if e.what == "start"),
        "kill_times": [round(k, 3) for k in kills],
        "duplicates_per_kill": {str(k): dict(per_kill[k]) for k in sorted(per_kill)},
        "kills_with_duplicates": len(per_kill),
        "max_duplicates_per_kill_and_url": worst,
        "unexplained_duplicates": unexplained,
        "unexpected_exits": tl.unexpected_exits,
        "aimed_kills": tl.aimed,
        "waves_done_at": round(tl.waves_done_at, 1),
        "kills_done_at": round(tl.kills_done_at, 1),
        "all_delivered_at": None if tl.all_delivered_at is None else round(tl.all_delivered_at, 1),
        "ended_by": tl.ended_by,
        "term_at": round(tl.term_at, 1),
        "stop_rc": tl.stop_rc,
        "stop_s": round(tl.stop_s, 2),
        "ops_messages": dict(ops_titles),
        "db_at_stop": {k: dict(v) for k, v in stop_counts.items()},
        "db_final": {k: dict(v) for k, v in final_counts.items()},
        "params": {k: v for k, v in vars(args).items() if k not in ("python", "out")},
    }


BEHAVIOUR = {
    "a": "always 200",
    "b": "500 on {flaky:.0%} of requests at random",
    "c": "503 from t={outage_at:.0f} s for {outage_for:.0f} s",
}


def _fmt_counts(c: dict[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in sorted(c.items())) or "none"


def render(args: argparse.Namespace, r: dict[str, Any]) -> str:
    p = r["params"]
    lines = [
        f"## Delivery soak: {r['items']} items × 3 channels, {r['kills']} × SIGKILL",
        "",
        f"Command: `.venv/bin/python {r['command'].strip()}`  ",
        f"Code under test: {r['code']}.  ",
        f"Run time: {r['run_time_s']:.0f} s from the first start to the SIGTERM exit"
        f" ({r['ended_by']}); waves out by t={r['waves_done_at']:.0f} s, last kill at"
        f" t={r['kills_done_at']:.0f} s, every expected alert delivered at "
        + (
            f"t={r['all_delivered_at']:.0f} s."
            if r["all_delivered_at"] is not None
            else "— not within the limit."
        ),
        "",
        "| channel | behaviour | expected | delivered | duplicated | lost | requests"
        " (non-200) | DB after stop |",
        "|---|---|--:|--:|--:|--:|--:|---|",
    ]
    for name in CHANNELS:
        c = r["channels"][name]
        behaviour = BEHAVIOUR[name].format(**p)
        late = c["delivered"] - c["by_daemon"]
        shown = f"{c['delivered']} ({late} by `once`)" if late else str(c["delivered"])
        lines.append(
            f"| {name} | {behaviour} | {c['expected']} | {shown} | {c['duplicated']}"
            f" | {c['lost']} | {c['requests']} ({c['rejected']}) | {_fmt_counts(c['db_at_stop'])} |"
        )
    lines.append(
        f"| **total** | | **{r['expected']}** | **{r['delivered']}** | **{r['duplicated']}**"
        f" | **{r['lost']}** | | |"
    )
    lines += [
        "",
        f"- Kills: {r['kills']} SIGKILLs ({r['starts']} starts) at t = "
        + ", ".join(f"{k:.0f}" for k in r["kill_times"])
        + " s; the daemon exited by itself "
        + f"{r['unexpected_exits']} times."
        + (
            f" Kills aimed at deliveries (--aim {p['aim']:g}): {r['aimed_kills']} landed within"
            f" {p['aim']:g} s after a POST to a, b or c arrived."
            if p["aim"]
            else ""
        ),
        f"- Duplicates: {r['duplicated']} (target ≤ {r['kills']} kills); after"
        f" {r['kills_with_duplicates']} of the kills; at most"
        f" {r['max_duplicates_per_kill_and_url']} per kill and URL; per kill: "
        + (
            "; ".join(
                f"kill {int(k) + 1}: " + ", ".join(f"{ch} {n}" for ch, n in sorted(v.items()))
                for k, v in r["duplicates_per_kill"].items()
            )
            or "none"
        )
        + f". Duplicates with no kill between the copies: {len(r['unexplained_duplicates'])}.",
        f"- SIGTERM at t={r['term_at']:.0f} s: exit {r['stop_rc']} after {r['stop_s']:.2f} s.",
        "- Database after the stop (`weightwatch alerts --json`): "
        + "; ".join(f"{ch}: {_fmt_counts(v)}" for ch, v in sorted(r["db_at_stop"].items()))
        + ".",
    ]
    if r["sweeps"]:
        lines.append(
            f"- Still pending at the stop, so `weightwatch once` was run {r['sweeps']} times"
            f" ({r['sweep_s']:.0f} s): delivered by it "
            + ", ".join(
                f"{ch} {r['channels'][ch]['delivered'] - r['channels'][ch]['by_daemon']}"
                for ch in CHANNELS
            )
            + "; database afterwards: "
            + "; ".join(f"{ch}: {_fmt_counts(v)}" for ch, v in sorted(r["db_final"].items()))
            + "."
        )
    lines += [
        "- Attempts per sent alert (database): "
        + "; ".join(
            f"{ch}: "
            + ", ".join(f"{n}×{k}" for k, n in r["channels"][ch]["attempts_of_sent"].items())
            for ch in CHANNELS
        )
        + ".",
        f"- ops channel: {sum(r['ops_messages'].values())} messages: "
        + ("; ".join(f"{n} × “{t}”" for t, n in r["ops_messages"].items()) or "none")
        + ".",
        f"- Feeds: {r['feed_requests']} requests ({r['feed_not_modified']} answered 304);"
        f" database: {r['db_counts']['items']} items, {r['db_counts']['hits']} hits.",
    ]
    lost = [c["lost_items"] for c in r["channels"].values() if c["lost"]]
    if lost:
        lines.append(
            "- Lost items: "
            + "; ".join(
                f"{ch}: {r['channels'][ch]['lost_items']}"
                for ch in CHANNELS
                if r["channels"][ch]["lost"]
            )
        )
    if r["unexplained_duplicates"]:
        lines.append(f"- Unexplained duplicates: {r['unexplained_duplicates'][:20]}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = build_args(argv)
    result = run(args)
    ok = result["lost"] == 0 and result["duplicated"] <= result["kills"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
