"""Replay real feed timelines through polling policies: publish→detection latency vs requests.

Usage (from the repo root):

    .venv/bin/python bench/latency.py \\
        --items ../shared/corpus/timelines/items-2023-02-08_2023-09-30.tsv.gz \\
        --sources ../shared/corpus/timelines/sources.tsv --budget fixed:15m \\
        [--png docs/latency.png] [--seed 1] [--no-half] [--versus] [--jobs N] [--only a,b]
        [--power P]

A discrete-event simulation over the items' publication times (``source_id <TAB>
published_unix``, sorted or not; ``.gz`` is read as gzip). Every source of ``--sources``
is polled from the first item's time to the last one's plus an hour. At each poll a policy
sees what the feed would show then: the items published up to that moment, cut to the
latest 20; the new ones among them are detected at that moment (older new ones that fell
out of the 20 are missed), and the policy learns from what it saw and returns the next
poll time. It never sees the future.

Policies:

* ``fixed``: every source every 15 minutes (the budget interval), computed in closed form;
* ``miniflux``: Miniflux's ``entry_frequency`` scheduler: 7 days ÷ (entries published in
  the last week × factor 1), clamped to [5 min, 24 h] (no entries: 24 h);
* ``commafeed``: half the average gap between the items the feed shows, clamped to
  [5 min, 1 h];
* ``oracle``: polls the instant an item appears (one request per distinct publish time);
* ``weightwatch``: ``weightwatch.sources.schedule.plan`` itself (the daemon's function, not
  a copy): the budget shared in proportion to a power of each source's rate (chosen by
  ``schedule.scale_for``), shaped by hour of day and day of week, within [min_interval,
  max_interval] = [2 min, 60 min], learned online;
* ``weightwatch_half``: the same at half the budget (``--no-half`` leaves it out);
* with ``--versus``, ``weightwatch@miniflux`` / ``weightwatch@commafeed``: the same held to
  exactly the number of requests that rival made, within the rival's bounds ([5 min, 24 h] /
  [5 min, 1 h]); it is reported over the budget if it spends more than the rival.

Policies run in parallel processes (``--jobs``, default: one per CPU). Within one run the
sources are replayed one after another between two rescales of weightwatch's global scale
(every 3 h): the only state they share; the others share nothing and run source by source.

``--budget fixed:15m`` is the number of requests fixed 15-minute polling makes; no policy
may spend more (one that spends less keeps the difference). For each policy it prints
requests per source per day, the share of polls that found something new, item-weighted
latency p50 / p95 / p99, the longest gap between two polls of one source, the total
requests and the items missed, as a Markdown table; ``--png FILE`` plots latency against
requests per source-day (needs matplotlib: ``pip install -e '.[bench]'``; without it the
plot is skipped with a message). The LAST line of the output is one JSON object keyed by
policy name with ``requests_per_source_day``, ``found_new_share``, ``latency_p50_s``,
``latency_p95_s``, ``latency_p99_s``, ``max_gap_s`` and ``requests``.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import itertools
import json
import math
import multiprocessing
import os
import random
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weightwatch.sources import schedule

VISIBLE = 20  # a feed shows its latest 20 items
TAIL = 3600.0  # polling goes on this long after the last item
RESCALE_EVERY = 3 * 3600.0  # weightwatch: the global scale is recomputed this often
MIN = 60.0
# --versus: weightwatch within the rival's own bounds, at the rival's number of requests
RIVAL_BOUNDS = {"miniflux": (5 * MIN, 24 * 3600.0), "commafeed": (5 * MIN, 3600.0)}


def parse_budget(text: str) -> float:
    m = re.fullmatch(r"fixed:(\d+(?:\.\d+)?)([smh])", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a budget: {text!r} (e.g. fixed:15m)")
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]


def load(items: Path, sources: Path) -> tuple[list[str], list[list[float]]]:
    """Source ids (from the sources file) and each one's sorted publish times."""
    ids: list[str] = []
    with sources.open(encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] and parts[0] != "source_id":
                ids.append(parts[0])
    index = {sid: i for i, sid in enumerate(ids)}
    times: list[list[float]] = [[] for _ in ids]
    opener = gzip.open if items.suffix == ".gz" else open
    with opener(items, "rt", encoding="utf-8") as f:
        for line in f:
            sid, _, pub = line.rstrip("\n").partition("\t")
            if sid in index:
                times[index[sid]].append(float(pub))
            elif sid != "source_id":
                index[sid] = len(ids)
                ids.append(sid)
                times.append([float(pub)])
    for t in times:
        t.sort()
    return ids, times


@dataclass
class Result:
    requests: int = 0
    found: int = 0  # polls that found at least one new item
    latencies: list[float] = field(default_factory=list)
    missed: int = 0  # items that fell out of the latest 20 before a poll saw them
    max_gap: float = 0.0


def pct(sorted_values: Sequence[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, math.ceil(p / 100 * len(sorted_values)) - 1))
    return float(sorted_values[k])


def figures(r: Result, n_sources: int, days: float) -> dict[str, float]:
    lat = sorted(r.latencies)
    return {
        "requests_per_source_day": round(r.requests / n_sources / days, 3),
        "found_new_share": round(r.found / r.requests, 4) if r.requests else 0.0,
        "latency_p50_s": round(pct(lat, 50), 1),
        "latency_p95_s": round(pct(lat, 95), 1),
        "latency_p99_s": round(pct(lat, 99), 1),
        "max_gap_s": round(r.max_gap, 1),
        "requests": r.requests,
    }


# --- closed forms ----------------------------------------------------------------------------


def run_fixed(
    times: list[list[float]], start: float, stop: float, every: float, seed: int
) -> Result:
    """Every source every ``every`` seconds from a random offset in the first interval."""
    rng = random.Random(seed)
    r = Result(max_gap=every)
    for ts in times:
        first = start + rng.random() * every
        r.requests += int((stop - first) // every) + 1
        buckets: dict[int, list[float]] = {}
        for p in ts:
            k = max(0, math.ceil((p - first) / every))
            buckets.setdefault(k, []).append(p)
        for k, ps in buckets.items():
            at = first + k * every
            if at > stop:
                r.missed += len(ps)
                continue
            r.found += 1
            r.missed += max(0, len(ps) - VISIBLE)
            r.latencies.extend(at - p for p in ps[-VISIBLE:])
    return r


def run_oracle(times: list[list[float]], start: float, stop: float) -> Result:
    r = Result()
    for ts in times:
        instants = sorted(set(ts))
        r.requests += len(instants)
        r.found += len(instants)
        r.latencies.extend(0.0 for _ in ts)
        marks = [start, *instants, stop]
        r.max_gap = max(r.max_gap, max(b - a for a, b in itertools.pairwise(marks)))
    return r


# --- the event-driven replay -----------------------------------------------------------------

# A policy: first(i, t) -> first poll time; poll(i, t, visible, new) -> next poll time.
First = Callable[[int, float], float]
Poll = Callable[[int, float, list[float], list[float]], float]


def replay(
    times: list[list[float]],
    start: float,
    stop: float,
    first: First,
    poll: Poll,
    tick: Callable[[float], None] | None = None,
    tick_every: float = RESCALE_EVERY,
) -> Result:
    """Poll every source from ``first`` on, as ``poll`` says, until ``stop``. Sources only
    share state through ``tick`` (called at ``start`` and every ``tick_every``): between two
    ticks each source's polls are run to the next tick in turn, which is what a global event
    queue would do, without one."""
    r = Result()
    n = len(times)
    due = [first(i, start) for i in range(n)]
    seen = [0] * n  # items of each source already detected or missed
    last = [start] * n
    right = bisect.bisect_right
    latencies = r.latencies
    requests = found = missed = 0
    max_gap = 0.0
    edge = start
    while True:
        if tick is None:
            edge = math.inf
        else:
            tick(edge)
            edge += tick_every
        final = edge >= stop
        end = stop if final else edge
        for i in range(n):
            t = due[i]
            if t > end or (t == end and not final):
                continue
            ts = times[i]
            s = seen[i]
            before = last[i]
            while t < end or (final and t == end):
                requests += 1
                if t - before > max_gap:
                    max_gap = t - before
                before = t
                upto = right(ts, t, s)
                if upto > s:
                    lo = upto - VISIBLE if upto > VISIBLE else 0
                    if s < lo:
                        missed += lo - s
                        s = lo
                    new = ts[s:upto]
                    s = upto
                    found += 1
                    latencies.extend([t - p for p in new])
                    t = poll(i, t, ts[lo:upto], new)
                else:
                    t = poll(i, t, [], [])
            due[i], seen[i], last[i] = t, s, before
        if final:
            break
    for i in range(n):  # items never seen by the end
        missed += len(times[i]) - seen[i]
        max_gap = max(max_gap, stop - last[i])
    r.requests, r.found, r.missed, r.max_gap = requests, found, missed, max_gap
    return r


def run_miniflux(times: list[list[float]], start: float, stop: float, seed: int) -> Result:
    """Miniflux ``entry_frequency``: interval = round(7 days in minutes ÷ (weekly count ×
    factor)) minutes, clamped to [5 min, 24 h]; no entry in the last week: 24 h."""
    rng = random.Random(seed)
    week, factor, lo, hi = 7 * 86400.0, 1.0, 5 * MIN, 24 * 3600.0
    stored: list[deque[float]] = [deque() for _ in times]

    def first(i: int, t: float) -> float:
        return t + rng.random() * 15 * MIN

    def poll(i: int, t: float, visible: list[float], new: list[float]) -> float:
        kept = stored[i]
        kept.extend(new)
        while kept and kept[0] < t - week:
            kept.popleft()
        count = len(kept)  # every stored item was published by now
        if count == 0:
            return t + hi
        minutes = round(week / MIN / (count * factor))
        return t + min(max(minutes * MIN, lo), hi)

    return replay(times, start, stop, first, poll)


def run_commafeed(times: list[list[float]], start: float, stop: float, seed: int) -> Result:
    """CommaFeed: half the average gap between the items shown, clamped to [5 min, 1 h]."""
    rng = random.Random(seed)
    lo, hi = 5 * MIN, 3600.0
    shown: list[list[float]] = [[] for _ in times]

    def first(i: int, t: float) -> float:
        return t + rng.random() * 15 * MIN

    def poll(i: int, t: float, visible: list[float], new: list[float]) -> float:
        if visible:
            shown[i] = visible
        v = shown[i]
        if len(v) < 2:
            return t + hi
        average = (v[-1] - v[0]) / (len(v) - 1)
        return t + min(max(average / 2, lo), hi)

    return replay(times, start, stop, first, poll)


def run_weightwatch(
    times: list[list[float]],
    start: float,
    stop: float,
    budget: float,
    seed: int,
    lo: float = schedule.MIN_INTERVAL,
    hi: float = schedule.MAX_INTERVAL,
) -> Result:
    """The daemon's own ``schedule.plan``, learned online, with the global scale refreshed
    every ``RESCALE_EVERY`` from every source's current rate (as the daemon does)."""
    rng = random.Random(seed)
    bounds = schedule.bounds(budget, lo, hi)
    models = [schedule.EMPTY] * len(times)
    scale = [schedule.scale_for([schedule.rate(m, start) for m in models], bounds)]
    plan = schedule.plan

    def tick(t: float) -> None:
        scale[0] = schedule.scale_for([schedule.rate(m, t) for m in models], bounds)

    def first(i: int, t: float) -> float:
        return t + rng.random() * min(budget, bounds.max_interval)

    def poll(i: int, t: float, visible: list[float], new: list[float]) -> float:
        if new:
            models[i] = schedule.learn(models[i], visible, t)
        return t + plan(models[i], t, scale=scale[0], bounds=bounds, rand=rng.random()).delay

    return replay(times, start, stop, first, poll, tick)


# --- running the policies, in parallel processes ----------------------------------------------

_DATA: dict[str, Any] = {}  # the timelines, set before the worker processes fork


@dataclass(frozen=True)
class Job:
    name: str
    kind: str  # fixed, miniflux, commafeed, oracle or weightwatch
    budget: float = 0.0  # an interval (fixed, weightwatch)
    lo: float = schedule.MIN_INTERVAL  # weightwatch's bounds
    hi: float = schedule.MAX_INTERVAL


def execute(job: Job) -> tuple[Job, Result, float]:
    times, start, stop, seed = (_DATA[k] for k in ("times", "start", "stop", "seed"))
    t0 = time.perf_counter()
    if job.kind == "fixed":
        r = run_fixed(times, start, stop, job.budget, seed)
    elif job.kind == "miniflux":
        r = run_miniflux(times, start, stop, seed)
    elif job.kind == "commafeed":
        r = run_commafeed(times, start, stop, seed)
    elif job.kind == "oracle":
        r = run_oracle(times, start, stop)
    else:
        r = run_weightwatch(times, start, stop, job.budget, seed, job.lo, job.hi)
    return job, r, time.perf_counter() - t0


def run_jobs(
    jobs: list[Job], then: Callable[[str, int], Job | None], workers: int
) -> Iterator[tuple[Job, Result, float]]:
    """Each job's result as it finishes; ``then(name, requests)`` may add a job after one
    (weightwatch at a rival's number of requests). Up to ``workers`` processes (forked: they
    share the timelines), the slowest jobs first."""
    cost = {"weightwatch": 0, "commafeed": 1, "miniflux": 2, "fixed": 3, "oracle": 4}
    queue = sorted(jobs, key=lambda j: (cost[j.kind], j.budget))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        while queue:
            job, r, seconds = execute(queue.pop(0))
            yield job, r, seconds
            after = then(job.name, r.requests)
            if after is not None:
                queue.append(after)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending = {pool.submit(execute, j) for j in queue}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                job, r, seconds = future.result()
                yield job, r, seconds
                after = then(job.name, r.requests)
                if after is not None:
                    pending.add(pool.submit(execute, after))


# --- report ----------------------------------------------------------------------------------


def table(rows: dict[str, dict[str, float]], missed: dict[str, int], budget: int) -> str:
    lines = [
        "| policy | requests / source-day | found new | p50 | p95 | p99 | max gap |"
        f" requests (budget {budget:,}) | missed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, f in rows.items():
        lines.append(
            f"| {name} | {f['requests_per_source_day']:.1f} | {f['found_new_share']:.1%} |"
            f" {f['latency_p50_s'] / MIN:.1f} min | {f['latency_p95_s'] / MIN:.1f} min |"
            f" {f['latency_p99_s'] / MIN:.1f} min | {f['max_gap_s'] / MIN:.0f} min |"
            f" {int(f['requests']):,} | {missed[name]:,} |"
        )
    return "\n".join(lines)


def plot(rows: dict[str, dict[str, float]], path: Path) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "No plot: matplotlib is not installed (pip install -e '.[bench]')."
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, f in rows.items():
        if name == "oracle":
            continue
        x = f["requests_per_source_day"]
        ys = [f["latency_p50_s"] / MIN, f["latency_p95_s"] / MIN]
        (line,) = ax.plot([x, x], ys, "-", alpha=0.5)
        ax.plot([x], [ys[0]], "o", color=line.get_color(), label=f"{name} (p50 ●, p95 ▲)")
        ax.plot([x], [ys[1]], "^", color=line.get_color())
    ax.set_xlabel("requests per source per day")
    ax.set_ylabel("publish → detection latency (min)")
    ax.set_title("Replay of 479 real feeds, Feb–Sep 2023")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return f"Plot written to {path}."


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=Path, required=True, help="source_id<TAB>published_unix")
    ap.add_argument("--sources", type=Path, required=True, help="source_id<TAB>feed_url")
    ap.add_argument("--budget", type=parse_budget, default=parse_budget("fixed:15m"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--png", type=Path, default=None, help="write the plot here")
    ap.add_argument("--no-half", action="store_true", help="skip weightwatch at half budget")
    ap.add_argument("--only", default="", help="comma-separated policies to run (default: all)")
    ap.add_argument(
        "--power",
        type=float,
        default=None,
        help="hold weightwatch's rate exponent at this power (default: the planner chooses)",
    )
    ap.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="policies run in parallel"
    )
    ap.add_argument(
        "--versus",
        action="store_true",
        help="also weightwatch at the requests Miniflux and CommaFeed made (weightwatch@NAME)",
    )
    args = ap.parse_args(argv)

    ids, times = load(args.items, args.sources)
    first_item = min(ts[0] for ts in times if ts)
    last_item = max(ts[-1] for ts in times if ts)
    start, stop = first_item, last_item + TAIL
    days = (stop - start) / 86400
    n = len(ids)
    budget_requests = int(n * (stop - start) / args.budget) + n  # fixed: one at each start
    print(
        f"{n} sources, {sum(map(len, times)):,} items, {days:.1f} days; budget: fixed every"
        f" {args.budget / MIN:g} min = {budget_requests:,} requests",
        flush=True,
    )
    _DATA.update(times=times, start=start, stop=stop, seed=args.seed)
    if args.power is not None:  # before the workers fork: they inherit it
        schedule.POWERS = (args.power,)
    jobs = [
        Job("fixed", "fixed", args.budget),
        Job("miniflux", "miniflux"),
        Job("commafeed", "commafeed"),
        Job("oracle", "oracle"),
        Job("weightwatch", "weightwatch", args.budget),
    ]
    if not args.no_half:
        jobs.append(Job("weightwatch_half", "weightwatch", 2 * args.budget))
    if args.only:
        jobs = [j for j in jobs if j.name in args.only.split(",")]
    rows: dict[str, dict[str, float]] = {}
    missed: dict[str, int] = {}
    over: list[str] = []

    def versus(rival: str, requests: int) -> Job | None:
        """weightwatch held to the requests ``rival`` made, within RIVAL_BOUNDS[rival]."""
        if not args.versus or rival not in RIVAL_BOUNDS:
            return None
        lo, hi = RIVAL_BOUNDS[rival]
        return Job(f"weightwatch@{rival}", "weightwatch", n * (stop - start) / requests, lo, hi)

    results: dict[str, Result] = {}
    for job, r, seconds in run_jobs(jobs, versus, args.jobs):
        results[job.name] = r
        rows[job.name] = figures(r, n, days)
        missed[job.name] = r.missed
        if job.kind != "oracle" and r.requests > budget_requests:
            over.append(job.name)
        rival = job.name.partition("@")[2]
        if rival and r.requests > results[rival].requests:
            over.append(job.name)
        print(f"  {job.name}: {seconds:.1f} s {json.dumps(rows[job.name])}", file=sys.stderr)
    order = [j.name for j in jobs]
    order += sorted(k for k in rows if k not in order)
    rows = {k: rows[k] for k in order}
    print(table(rows, missed, budget_requests))
    if over:
        print(f"Over the budget: {', '.join(over)}.")
    if args.png is not None:
        print(plot(rows, args.png))
    print(json.dumps(rows, sort_keys=False))
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
