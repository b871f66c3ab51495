"""What ``scheduler.Adaptive``'s global rescale costs the daemon, with and without its gap.

Usage (from the repo root):

    .venv/bin/python bench/rescale_cost.py [--sources 1000] [--hours 1] [--budget 60]

A discrete-event run of the daemon's own ``Adaptive.learn`` / ``Adaptive.plan`` calls (no
I/O): ``--sources`` sources with publishing rates drawn from a log-normal spread (seeded),
each polled when its last plan said, learning the items a Poisson process published since
its previous poll. Run twice on the same seed: ``RESCALE_MIN_GAP = 0`` (the scale
recomputed at the first plan after any adaptive source learned something: the behaviour
before) and the default (5 s). Prints per variant: polls, rescales, CPU seconds spent in
learn + plan (``time.process_time``), requests per source-hour and mean item delay, then
the CPU ratio.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from weightwatch.service.scheduler import Adaptive
from weightwatch.sources import schedule

T0 = 1_700_000_000.0


def run(sources: int, hours: float, budget: float, gap: float, seed: int) -> dict[str, float]:
    rng = random.Random(seed)  # rates, histories, first polls, jitter
    rates = [math.exp(rng.gauss(0.0, 2.0)) / 86400.0 * 10 for _ in range(sources)]  # items/s
    names = [f"s{k:04d}" for k in range(sources)]
    a = Adaptive()
    a.RESCALE_MIN_GAP = gap
    bounds = schedule.bounds(budget, 5.0, 4 * budget)
    history = {
        n: tuple(T0 - (j + rng.random()) / r for j in range(20))
        for n, r in zip(names, rates, strict=True)
    }
    a.configure(names, history, T0)
    due = [(T0 + rng.random() * budget, k) for k in range(sources)]
    heapq.heapify(due)
    feeds = [random.Random(f"{seed}-{k}") for k in range(sources)]  # the same items each run
    upcoming = [T0 + feeds[k].expovariate(r) for k, r in enumerate(rates)]
    end = T0 + hours * 3600
    polls, delays, cpu = 0, [], 0.0
    while due and due[0][0] < end:
        now, k = heapq.heappop(due)
        published = []
        while upcoming[k] <= now:  # the items its feed published since the previous poll
            published.append(upcoming[k])
            upcoming[k] += feeds[k].expovariate(rates[k])
        delays += [now - p for p in published]
        c0 = time.process_time()
        a.learn(names[k], published, now)
        plan = a.plan(names[k], now, bounds, rand=rng.random())
        cpu += time.process_time() - c0
        polls += 1
        heapq.heappush(due, (now + plan.delay, k))
    return {
        "polls": polls,
        "rescales": a.rescales,
        "cpu_s": cpu,
        "per_source_hour": polls / sources / hours,
        "mean_delay_s": sum(delays) / max(len(delays), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--budget", type=float, default=60.0, help="settings.interval, seconds")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    results = {}
    for label, gap in (
        ("every learn (before)", 0.0),
        (f"gap {Adaptive.RESCALE_MIN_GAP:g} s", None),
    ):
        g = Adaptive.RESCALE_MIN_GAP if gap is None else gap
        r = run(args.sources, args.hours, args.budget, g, args.seed)
        results[label] = r
        print(
            f"{label}: {r['polls']} polls, {r['rescales']} rescales, {r['cpu_s']:.2f} CPU s in"
            f" learn+plan, {r['per_source_hour']:.1f} requests/source-hour"
            f" (budget {3600 / args.budget:.1f}), mean item delay {r['mean_delay_s']:.1f} s"
        )
    a, b = results.values()
    print(f"CPU ratio before/after: {a['cpu_s'] / max(b['cpu_s'], 1e-9):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
