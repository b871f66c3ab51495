"""Does a clean stop (SIGTERM) of ``weightwatch run`` repeat alerts? A reproduction.

Usage (from the repo root; about 1 minute per trial):

    .venv/bin/python bench/delivery_sigterm.py [--items 20] [--delay 0.3] [--trials 3]

Each trial: one loopback feed with ``--items`` matching items (``backfill = true``), one
``json://`` channel to a webhook receiver that answers each POST ``--delay`` seconds after
reading it (a slow but working webhook: 0.3 s is ordinary for a real service). The daemon
starts, its delivery job begins sending the backlog one alert at a time; as soon as the
receiver has seen 2 POSTs, the daemon gets SIGTERM. It is then started again, left to
deliver the rest, and stopped with SIGTERM while idle. Nothing was killed, so every alert
should arrive exactly once. Reported per trial: POSTs received during the first stop,
copies of an alert already received (during the stop, and after the restart), lost.

The receiver and feed are threads of this process (bench/delivery_soak.py's); the daemon
imports a copy of src/ taken at start and dies with this process (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from delivery_soak import (
    BENCH,
    VENV_PY,
    Daemon,
    Feeds,
    Receiver,
    child_env,
    count_view,
    db_view,
    snapshot_code,
)


def trial(n: int, args: argparse.Namespace, out: Path, env: dict[str, str]) -> dict[str, int]:
    work = out / f"trial-{n}"
    work.mkdir()
    t0 = time.monotonic()
    feeds = Feeds(1, args.items, 1, seed=n)
    for _ in range(args.items):
        feeds.publish()
    hook = Receiver("hook", t0, delay=args.delay)
    config = work / "config.toml"
    config.write_text(
        "\n".join(
            [
                "[settings]",
                f'database = "{(work / "ww.db").as_posix()}"',
                'interval = "5s"',
                'timeout = "10s"',
                'dedup_window = "0s"',
                "[channels]",
                f'hook = "{hook.url}"',
                "[[source]]",
                'name = "s001"',
                f'url = "{feeds.urls["s001"]}"',
                "backfill = true",
                "[[rule]]",
                'name = "soak"',
                "query = 'soakmark'",
                'notify = ["hook"]',
            ]
        )
        + "\n"
    )
    daemon = Daemon(args.python, config, env, work / "daemon.log", t0)
    try:
        daemon.start()
        deadline = time.monotonic() + 60
        while len(hook.posts) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        at_term = len(hook.posts)
        rc, took = daemon.term()
        during = list(hook.posts)
        db_after_stop = count_view(db_view(args.python, env, config)).get("hook", Counter())
        daemon.start()
        deadline = time.monotonic() + 120
        while len(hook.delivered()) < args.items and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(8)
        daemon.term()
        posts = list(hook.posts)
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
        hook.close()
        feeds.close()
    copies = Counter(p.item for p in posts)
    copies_during = Counter(p.item for p in during)
    return {
        "posts_at_sigterm": at_term,
        "posts_during_stop": len(during) - at_term,
        "stop_exit": -1 if rc is None else rc,
        "stop_ms": int(took * 1000),
        "dup_during_stop": sum(v - 1 for v in copies_during.values()),
        "dup_total": sum(v - 1 for v in copies.values()),
        "delivered": len(hook.delivered()),
        "lost": args.items - len(hook.delivered()),
        "db_sent_after_stop": db_after_stop.get("sent", 0),
        "db_pending_after_stop": db_after_stop.get("pending", 0),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=20)
    p.add_argument("--delay", type=float, default=0.3)
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--python", type=Path, default=VENV_PY)
    p.add_argument("--out", type=Path, default=BENCH / "out" / "delivery-sigterm")
    args = p.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    print(f"code under test: {snapshot_code(args.out / 'code')}")
    env = child_env(args.out / "code")
    bad = 0
    for n in range(1, args.trials + 1):
        r = trial(n, args, args.out, env)
        bad += r["dup_total"] > 0 or r["lost"] > 0
        print(f"trial {n}: " + ", ".join(f"{k}={v}" for k, v in r.items()), flush=True)
    print(f"{bad} of {args.trials} trials repeated or lost an alert without any crash")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
