"""Cost of the story decision per new hit as stored history grows (10k, 100k, 1M hits).

Usage (from the repo root):

    .venv/bin/python bench/story_cost.py [--sizes 10000,100000,1000000] [--queries 2000]
                                         [--per-day 2000] [--dir bench/out/story_cost] [--reuse]

For each size it builds a database with that many stored hits of **one rule** (the worst
case: the story index of a rule holds all of them), spread evenly at ``--per-day`` hits a
day, so the 3-day window always holds the same ~6k hits while the history behind it grows.
Headlines are the UCI aggregator headlines (../shared/corpus; synthetic ones without it)
with one or two random names put in, so that no two hits are alike and the index has a
realistic mix of common and rare words.

Then, in a fresh process (so memory is that of a daemon, not of the build), it times
``--queries`` decisions at the end of the history: what ``matching.hits.decide`` does for
a new hit: ``story.features``, the same-link lookup, the candidate lookup in the story
index (``Storage.story_context``) and ``story.choose`` (the join and, for a hit that
joins nothing, the related-story hint). With ``PYTHONPATH`` pointing at the source of an
older release it times what that release's decider did, to compare side by side:
``best_story`` then ``closest`` (issue 12 as first merged), ``best_story``, or
``best_match`` (before issue 12).
It prints the median, p90, p99 and max per decision, and the process's peak RSS, to show
that memory does not grow with history (SQLite's page cache is bounded, and nothing is
loaded per window).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feedserver import SYLLABLES
from weightwatch.matching import story
from weightwatch.storage.store import Storage
from weightwatch.types import StoryLookup

ROOT = Path(__file__).resolve().parents[1]
UCI_CSV = (
    ROOT.parent
    / "shared"
    / "corpus"
    / "headlines"
    / "uci-news-aggregator"
    / "uci_news_aggregator_first_6366.csv"
)
START = datetime(2024, 1, 1, tzinfo=UTC)
RULE = "news"


def base_titles() -> list[str]:
    if UCI_CSV.is_file():
        with UCI_CSV.open(encoding="utf-8", newline="") as f:
            return [row["TITLE"] for row in csv.DictReader(f)]
    words = [
        "market",
        "deal",
        "court",
        "talks",
        "vote",
        "storm",
        "shares",
        "rally",
        "strike",
        "minister",
        "report",
    ]
    rng = random.Random(1)
    return [" ".join(rng.choice(words) for _ in range(8)).capitalize() for _ in range(5000)]


def names(rng: random.Random, count: int) -> list[str]:
    out: set[str] = set()
    while len(out) < count:
        out.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize())
    return sorted(out)


def headline(rng: random.Random, bases: list[str], pool: list[str]) -> str:
    words = rng.choice(bases).split()
    for _ in range(rng.randint(1, 2)):
        # Zipf-like: a few names are in many hits, most in few.
        name = pool[min(int(rng.paretovariate(1.1)) - 1, len(pool) - 1)]
        words.insert(rng.randint(0, len(words)), name)
    return " ".join(words)


def build(path: Path, size: int, per_day: int, seed: int) -> None:
    rng = random.Random(seed)
    bases = base_titles()
    pool = names(rng, 50_000)
    rng.shuffle(pool)
    storage = Storage(path)
    storage.ensure_sources([("feed", "https://example.org/feed")])
    conn = storage.conn
    step = 86400.0 / per_day
    batch = 20_000
    t0 = time.monotonic()
    for start in range(0, size, batch):
        hits: list[tuple[object, ...]] = []
        feats: list[tuple[int, str]] = []
        words: list[tuple[str, str, int, int]] = []
        for n in range(start, min(start + batch, size)):
            title = headline(rng, bases, pool)
            f = story.features(title)
            when = START + timedelta(seconds=n * step)
            hits.append(
                (n + 1, RULE, "feed", str(n), f"https://example.org/{n}", title, f.key,
                 when.isoformat(timespec="seconds"))
            )  # fmt: skip
            feats.append((n + 1, f.to_json()))
            stamp = int(when.timestamp())
            words.extend((RULE, w, stamp, n + 1) for w in dict.fromkeys(f.index_words()))
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO hits (id, rule, source, item_id, link, title, title_key, created,"
            " terms, snippet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '[]', '')",
            hits,
        )
        conn.executemany("INSERT INTO story_features (hit_id, features) VALUES (?, ?)", feats)
        conn.executemany(
            "INSERT OR IGNORE INTO story_words (rule, word, created, hit_id) VALUES (?, ?, ?, ?)",
            words,
        )
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rows = conn.execute("SELECT COUNT(*) FROM story_words").fetchone()[0]
    storage.close()
    print(
        f"  built {size:,} hits ({rows:,} index rows) in {time.monotonic() - t0:.0f} s,"
        f" {path.stat().st_size / 2**20:.0f} MiB",
        file=sys.stderr,
    )


def peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: on Linux ru_maxrss keeps
    the parent's peak across fork and exec, so it would report the build's memory."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(
    path: Path,
    size: int,
    per_day: int,
    queries: int,
    seed: int,
    cold: bool = False,
    hint: bool = True,
    cpu: bool = False,
) -> dict[str, float]:
    """Run in a fresh process: time ``queries`` story decisions at the end of history."""
    rng = random.Random(seed + 1)
    bases = base_titles()
    pool = names(random.Random(seed), 50_000)
    random.Random(seed).shuffle(pool)
    storage = Storage(path)
    tune = story.TUNING
    now = START + timedelta(seconds=size * 86400.0 / per_day)
    since = now - timedelta(seconds=tune.window)
    titles = [headline(rng, bases, pool) for _ in range(queries)]
    # What matching.hits reads stored features with: story.stored keeps them for the next
    # decisions (a cache); --cold clears it before each decision; older code parses anew.
    parse = getattr(story, "stored", story.Features.from_json)
    times: list[float] = []
    joined = 0
    hinted = 0
    candidates = 0
    clock = time.process_time if cpu else time.perf_counter
    for n, title in enumerate(titles):
        if cold and hasattr(story, "stored"):
            story.stored.cache_clear()  # every stored candidate parsed anew, as in a new process
        t = clock()
        f = story.features(title)
        words = tuple((w, story.weight(w) or 0.5) for w in f.lookup_words())
        context = storage.story_context(  # what the pipeline reads: same link, then words
            StoryLookup(
                links=frozenset({(RULE, f"https://example.net/new/{n}")}),
                words=((RULE, words),),
                since=since,
                per_word=tune.per_word,
                limit=tune.max_candidates,
            )
        )
        rows = [
            (h, context.hits[h].first_id, context.hits[h].features)
            for h in context.candidates(RULE, words, tune.max_candidates)
            if h in context.hits
        ]
        given = [(r[1], r[1], parse(r[2])) for r in rows]
        near = None
        if hasattr(story, "choose"):  # each candidate compared once (docs/dedup.md, "Cost")
            best, near = story.choose(f, given, hint=hint)
        elif hasattr(story, "closest"):  # issue 12 as first merged: three separate passes
            best = story.best_story(f, given)
            if best is None and hint:  # what matching.hits did for a hit that joins nothing
                near = story.closest(f, [(g[1], g[2]) for g in given])
        elif hasattr(story, "best_story"):  # issue 12 before the related-story hint
            best = story.best_story(f, given)
        else:  # the code before issue 12 (PYTHONPATH=<older checkout>/src): members only
            best = story.best_match(f, [(g[0], g[2]) for g in given])
        times.append((clock() - t) * 1000)
        joined += best is not None
        hinted += near is not None
        candidates += len(rows)
    peak = peak_rss_mib()  # before close's PRAGMA optimize
    storage.close()
    times.sort()
    return {
        "size": size,
        "median_ms": statistics.median(times),
        "p90_ms": times[int(0.9 * len(times))],
        "p99_ms": times[int(0.99 * len(times))],
        "max_ms": times[-1],
        "candidates": candidates / len(titles),
        "joined": joined / len(titles),
        "hinted": hinted / len(titles),
        "peak_rss_mib": peak,
        "db_mib": path.stat().st_size / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--per-day", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=ROOT / "bench" / "out" / "story_cost")
    parser.add_argument(
        "--reuse", action="store_true", help="measure databases built by an earlier run"
    )
    parser.add_argument(
        "--cold", action="store_true", help="clear story.stored's cache before each decision"
    )
    parser.add_argument(
        "--no-hint",
        action="store_true",
        help="time the join only, not the related-story hint (what this bench timed before)",
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="CPU time per decision instead of wall time (a loaded machine: less waiting)",
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        found = measure(
            args.measure,
            args.size,
            args.per_day,
            args.queries,
            args.seed,
            cold=args.cold,
            hint=not args.no_hint,
            cpu=args.cpu,
        )
        print(json.dumps(found))
        return 0
    args.dir.mkdir(parents=True, exist_ok=True)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        path = args.dir / f"story-{size}.db"
        if not (args.reuse and path.is_file()):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            build(path, size, args.per_day, args.seed)
        child = subprocess.run(
            [sys.executable, __file__, "--measure", str(path), "--size", str(size),
             "--per-day", str(args.per_day), "--queries", str(args.queries),
             "--seed", str(args.seed), *(["--cold"] if args.cold else []),
             *(["--no-hint"] if args.no_hint else []), *(["--cpu"] if args.cpu else [])],
            check=True, capture_output=True, text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )  # fmt: skip
        results.append(json.loads(child.stdout))
        print(json.dumps(results[-1]), file=sys.stderr)
    print(
        f"\nOne rule, {args.per_day:,} hits a day (window {story.TUNING.window / 86400:g} days"
        f" = ~{args.per_day * story.TUNING.window / 86400:,.0f} hits), {args.queries} decisions"
        " each:\n"
    )
    print(
        "| stored hits | median | p90 | p99 | max | candidates scored | joined | hinted"
        " | peak RSS | db |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['size']:,} | {r['median_ms']:.2f} ms | {r['p90_ms']:.2f} ms"
            f" | {r['p99_ms']:.2f} ms | {r['max_ms']:.1f} ms | {r['candidates']:.1f}"
            f" | {r['joined']:.0%} | {r.get('hinted', 0):.0%} | {r['peak_rss_mib']:.0f} MiB"
            f" | {r['db_mib']:,.0f} MiB |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
