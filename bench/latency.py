"""Replay real feed timelines through polling policies: publish→detection latency vs requests.

Usage (from the repo root):

    .venv/bin/python bench/latency.py \\
        --items ../shared/corpus/timelines/items-2023-02-08_2023-09-30.tsv.gz \\
        --sources ../shared/corpus/timelines/sources.tsv --budget fixed:15m \\
        [--png docs/latency.png] [--seed 1] [--no-half]

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
  a copy): square-root-of-rate allocation of the budget, shaped by hour of day and day of
  week, within [min_interval, max_interval] = [2 min, 60 min], learned online;
* ``weightwatch_half``: the same at half the budget (``--no-half`` leaves it out).

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
import heapq
import itertools
import json
import math
import random
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
    r = Result()
    n = len(times)
    heap = [(first(i, start), i) for i in range(n)]
    heapq.heapify(heap)
    seen = [0] * n  # items of each source already detected or missed
    last = [start] * n
    next_tick = start
    pop, push, right = heapq.heappop, heapq.heappush, bisect.bisect_right
    latencies = r.latencies
    while heap:
        t, i = pop(heap)
        if t > stop:
            break
        while tick is not None and t >= next_tick:
            tick(next_tick)
            next_tick += tick_every
        r.requests += 1
        gap = t - last[i]
        if gap > r.max_gap:
            r.max_gap = gap
        last[i] = t
        ts = times[i]
        upto = right(ts, t)
        lo = upto - VISIBLE if upto > VISIBLE else 0
        new: list[float] = []
        if upto > seen[i]:
            if seen[i] < lo:
                r.missed += lo - seen[i]
                seen[i] = lo
            new = ts[seen[i] : upto]
            seen[i] = upto
            r.found += 1
            latencies.extend(t - p for p in new)
        push(heap, (poll(i, t, ts[lo:upto] if new else [], new), i))
    for i in range(n):  # items never seen by the end
        r.missed += len(times[i]) - seen[i]
        r.max_gap = max(r.max_gap, stop - last[i])
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
    runs: dict[str, Callable[[], Result]] = {
        "fixed": lambda: run_fixed(times, start, stop, args.budget, args.seed),
        "miniflux": lambda: run_miniflux(times, start, stop, args.seed),
        "commafeed": lambda: run_commafeed(times, start, stop, args.seed),
        "oracle": lambda: run_oracle(times, start, stop),
        "weightwatch": lambda: run_weightwatch(times, start, stop, args.budget, args.seed),
    }
    if not args.no_half:
        runs["weightwatch_half"] = lambda: run_weightwatch(
            times, start, stop, 2 * args.budget, args.seed
        )
    if args.only:
        runs = {k: v for k, v in runs.items() if k in args.only.split(",")}
    rows: dict[str, dict[str, float]] = {}
    missed: dict[str, int] = {}
    over: list[str] = []
    if args.versus:
        for rival in [r for r in ("miniflux", "commafeed") if r in runs]:
            runs[f"weightwatch@{rival}"] = lambda rival=rival: run_weightwatch(  # type: ignore[misc]
                times,
                start,
                stop,
                n * (stop - start) / rows[rival]["requests"],
                args.seed,
                *RIVAL_BOUNDS[rival],
            )
    for name, run in runs.items():
        t0 = time.perf_counter()
        r = run()
        rows[name] = figures(r, n, days)
        missed[name] = r.missed
        if name != "oracle" and r.requests > budget_requests:
            over.append(name)
        print(
            f"  {name}: {time.perf_counter() - t0:.1f} s {json.dumps(rows[name])}",
            file=sys.stderr,
            flush=True,
        )
    print(table(rows, missed, budget_requests))
    if over:
        print(f"Over the budget: {', '.join(over)}.")
    if args.png is not None:
        print(plot(rows, args.png))
    print(json.dumps(rows, sort_keys=False))
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
