"""A year of operation in minutes: database size, per-poll and per-decision cost, start-up.

Usage (from the repo root):

    .venv/bin/python bench/year.py                       # 1000 sources, 365 days, pruning
    .venv/bin/python bench/year.py --no-prune            # the same without storage.prune
    .venv/bin/python bench/year.py --sources 100 --days 12 --every 6   # smoke
    .venv/bin/python bench/year.py --compare A/ww.db B/ww.db   # side by side, interleaved

It writes through the real storage layer (``Storage.known_item_ids``, ``record_poll``,
``story_context``, ``prune_text``, ``prune``) with a simulated clock, in batches of
``--step`` days (default 3, so a year takes minutes on a busy machine):

* ``--sources`` feeds; 95 % are news feeds that get ``--per-day`` new items a day (one 200
  per batch with all of them; the document is the newest ``--window`` items), 5 % never
  change (a 304 per batch: their items stay in their latest document, so they must never be
  forgotten); ``--hit-share`` of the new items match one of ten rules (real story features
  of UCI headlines with made-up names, as in bench/story_cost.py), each with one alert that
  is delivered (marked sent) at the end of the batch;
* after each batch, what the daemon's hourly prune job does (``prune_text`` then ``prune``;
  ``--no-prune``: only ``prune_text``, what the code did before migration 0010).

Every ``--every`` days it prints (and writes to OUT/year.csv) the database size (after a
WAL checkpoint; its free pages), the rows per table, and it times on that day's database:
what one poll of the daemon costs in storage at a 15-minute interval, a 200 with one new
item in a 30-item document (``known_item_ids`` for the document's ids + ``record_poll`` with
the document; median of 200 feeds) and a 304 (``record_poll`` without items; median of 50);
a story decision (``story.features`` + ``story_context`` + ``best_match``, as in
bench/story_cost.py; median and p99 of 200); the last prune; and start-up: what
``weightwatch run`` reads from storage before "running" (open + migration check +
``ensure_sources`` + ``source_states`` + ``counts`` + ``hits_since``), in a fresh process
(median of 3). At the end: what a VACUUM returns and how long it takes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from story_cost import base_titles, headline, names  # noqa: E402
from weightwatch.matching import story  # noqa: E402
from weightwatch.storage.store import Storage  # noqa: E402
from weightwatch.types import NewAlert, NewHit, SourceUpdate, StoryLookup  # noqa: E402

START = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
RULES = [f"rule{n}" for n in range(10)]
RETENTION = timedelta(days=30)  # settings.retention's default
WINDOW = timedelta(seconds=story.TUNING.window)  # settings.dedup_window's default

STARTUP = """
import json, sys, time
from datetime import UTC, datetime
t = time.perf_counter()
from weightwatch.storage.store import Storage
imported = time.perf_counter()
st = Storage(sys.argv[1])
st.ensure_sources([(f"s{n:04d}", f"https://h{n % 250}.example/{n}.xml")
                   for n in range(int(sys.argv[2]))])
st.source_states()
st.counts()
st.hits_since(datetime.now(UTC))
done = time.perf_counter()
st.close()
print(json.dumps({"startup_ms": (done - imported) * 1000}))
"""


@dataclass
class Feed:
    name: str
    static: bool
    ids: list[str]  # the current document, newest first
    serial: int = 0


Row = tuple[str, str, str, str, datetime | None]  # an item as record_poll takes it


def item(feed: Feed, rng: random.Random) -> Row:
    feed.serial += 1
    iid = f"https://{feed.name}.example/posts/{feed.serial:06d}-{rng.getrandbits(32):08x}"
    start = rng.randrange(len(TEXT) - 300)
    return iid, iid, f"Post {feed.serial} of {feed.name}", TEXT[start : start + 280], None


TEXT = " ".join(
    random.Random(0).choice(
        ["the", "a", "model", "weights", "release", "open", "lab", "paper", "data", "GPU"]
    )
    for _ in range(2000)
)


def poll(
    storage: Storage,
    feed: Feed,
    now: datetime,
    fresh: list[Row],
    hits: Callable[[Feed, list[Row]], list[NewHit]],
    window: int = 30,
) -> None:
    """A 200: the feed's document gets ``fresh`` on top; its storage work as the pipeline
    does it (``read_seen``'s ``known_item_ids``, then ``write_poll``'s ``record_poll``)."""
    feed.ids = ([i[0] for i in reversed(fresh)] + feed.ids)[:window]
    new_hits = hits(feed, fresh)
    known = storage.known_item_ids(feed.name, feed.ids)
    storage.record_poll(
        feed.name,
        now=now,
        items=[i for i in fresh if i[0] not in known],
        hits=new_hits,
        state=SourceUpdate(last_poll=now, last_status="ok", primed=True),
        present=feed.ids,
    )


def not_modified(storage: Storage, feed: Feed, now: datetime) -> None:
    storage.record_poll(
        feed.name,
        now=now,
        items=[],
        hits=[],
        state=SourceUpdate(last_poll=now, last_status="not modified", primed=True),
    )


def make_hit(rule: str, source: str, it: Row, title: str) -> NewHit:
    f = story.features(title)
    alert = NewAlert("hook", "k1", "json://x/", title, "body")
    return NewHit(
        rule=rule,
        source=source,
        item_id=it[0],
        link=it[1],
        title=title,
        title_key=f.key,
        published=None,
        terms=("weights",),
        snippet="",
        alerts=(alert,),
        story_features=f.to_json(),
        story_words=tuple(f.index_words()),
    )


def db_size(storage: Storage) -> tuple[float, int, int]:
    storage.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = storage.conn.execute("PRAGMA page_size").fetchone()[0]
    pages = storage.conn.execute("PRAGMA page_count").fetchone()[0]
    free = storage.conn.execute("PRAGMA freelist_count").fetchone()[0]
    return storage.path.stat().st_size / 2**20, int(pages), int(free) * int(page)


def rows(storage: Storage) -> dict[str, int]:
    out = {}
    for table in ("items", "hits", "alerts", "story_words", "story_features"):
        out[table] = int(storage.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    return out


def decisions(
    storage: Storage, now: datetime, rng: random.Random, bases: list[str], pool: list[str]
) -> tuple[float, float]:
    tune = story.TUNING
    times = []
    for n in range(200):
        title = headline(rng, bases, pool)
        rule = RULES[n % len(RULES)]
        t = time.perf_counter()
        f = story.features(title)
        words = tuple((w, story.weight(w) or 0.5) for w in f.lookup_words())
        context = storage.story_context(
            StoryLookup(
                links=frozenset({(rule, f"https://new.example/{n}")}),
                words=((rule, words),),
                since=now - WINDOW,
                per_word=tune.per_word,
                limit=tune.max_candidates,
            )
        )
        found = [
            (context.hits[h].first_id, story.Features.from_json(context.hits[h].features))
            for h in context.candidates(rule, words, tune.max_candidates)
            if h in context.hits
        ]
        story.best_match(f, found)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.99 * len(times))]


def startup(path: Path, sources: int) -> float:
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", STARTUP, str(path), str(sources)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(BENCH.parent / "src")},
        )
        runs.append(float(json.loads(out.stdout)["startup_ms"]))
    return statistics.median(runs)


def compare(paths: list[Path], sources: int, rounds: int = 3) -> int:
    """Per database: medians over ``rounds`` interleaved rounds of the checkpoint timings."""
    rng = random.Random(7)
    bases = base_titles()
    pool = names(rng, 50_000)
    results: dict[Path, dict[str, list[float]]] = {p: {} for p in paths}
    for _ in range(rounds):
        for path in paths:
            storage = Storage(path)
            names_ = [r[0] for r in storage.conn.execute("SELECT name FROM sources")]
            (last,) = storage.conn.execute("SELECT MAX(last_poll) FROM sources").fetchone()
            now = datetime.fromisoformat(last) + timedelta(minutes=15)
            polls = []
            for n, name in enumerate(names_[:200]):
                rows_ = storage.conn.execute(
                    "SELECT item_id FROM items WHERE source = ? ORDER BY rowid DESC LIMIT 29",
                    [name],
                ).fetchall()
                feed = Feed(name, False, [r[0] for r in rows_], serial=10**6 + rng.randrange(10**6))
                t = time.perf_counter()
                poll(storage, feed, now + timedelta(seconds=n), [item(feed, rng)], lambda f, i: [])
                polls.append((time.perf_counter() - t) * 1000)
            med, p99 = decisions(storage, now, rng, bases, pool)
            size = path.stat().st_size / 2**20
            storage.close()
            r = results[path]
            r.setdefault("poll200_ms", []).append(statistics.median(polls))
            r.setdefault("decide_ms", []).append(med)
            r.setdefault("decide_p99_ms", []).append(p99)
            r.setdefault("startup_ms", []).append(startup(path, sources))
            r["db_mib"] = [size]
    print(
        "| database | DB (MiB) | 200 poll (ms) | decision median (ms) | p99 (ms) | start-up (ms) |"
    )
    print("|---|---|---|---|---|---|")
    for path, r in results.items():
        m = {k: statistics.median(v) for k, v in r.items()}
        print(
            f"| {path} | {m['db_mib']:.0f} | {m['poll200_ms']:.2f} | {m['decide_ms']:.2f} |"
            f" {m['decide_p99_ms']:.1f} | {m['startup_ms']:.0f} |"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--every", type=int, default=30, help="days between checkpoints")
    ap.add_argument("--step", type=int, default=3, help="days per batch (one 200 per feed)")
    ap.add_argument("--per-day", type=int, default=20, help="new items a day per news feed")
    ap.add_argument("--window", type=int, default=30, help="items in a feed's document")
    ap.add_argument("--hit-share", type=float, default=0.05)
    ap.add_argument("--no-prune", action="store_true", help="only prune_text (before 0010)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--compare",
        nargs="+",
        type=Path,
        metavar="DB",
        help="instead: time polls, decisions and start-up on these year.py databases,"
        " interleaved in rounds so that each sees the same load (side by side)",
    )
    args = ap.parse_args(argv)
    if args.compare:
        return compare(args.compare, args.sources)
    tag = "noprune" if args.no_prune else "prune"
    out = args.out or BENCH / "out" / f"year-{args.sources}-{args.days}d-{tag}"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "ww.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    rng = random.Random(args.seed)
    bases = base_titles()
    pool = names(rng, 50_000)
    storage = Storage(path)
    feeds = [Feed(f"s{n:04d}", n % 20 == 19, []) for n in range(args.sources)]
    storage.ensure_sources(
        [(f.name, f"https://h{n % 250}.example/{n}.xml") for n, f in enumerate(feeds)]
    )
    header = (
        "day,db_mib,free_mib,items,hits,alerts,story_words,story_features,"
        "poll200_ms,poll304_ms,decide_ms,decide_p99_ms,prune_ms,startup_ms"
    )
    lines = [header]
    print(f"year.py: {args.sources} sources, {args.days} days, {tag}; output in {out}", flush=True)
    print(header, flush=True)
    t_all = time.monotonic()

    def hits_for(day: int) -> Callable[[Feed, list[Row]], list[NewHit]]:
        def pick(feed: Feed, fresh: list[Row]) -> list[NewHit]:
            if day == 0:
                return []  # the first poll is recorded silently
            return [
                make_hit(rng.choice(RULES), feed.name, it, headline(rng, bases, pool))
                for it in fresh
                if rng.random() < args.hit_share
            ]

        return pick

    for day in range(0, args.days + 1, args.step):
        base = START + timedelta(days=day)
        for n, feed in enumerate(feeds):
            now = base + timedelta(seconds=n * 86.0)  # spread over the day
            if feed.static and day > 0:
                not_modified(storage, feed, now)
                continue
            count = args.window if day == 0 else args.per_day * args.step
            poll(storage, feed, now, [item(feed, rng) for _ in range(count)], hits_for(day))
        polls200: list[float] = []
        polls304: list[float] = []
        if day % args.every == 0 or day + args.step > args.days:
            # What one poll of the daemon does at a 15-minute interval: a 200 with one new
            # item in a 30-item document, or a 304. Timed on 200 news and 50 static feeds.
            later = base + timedelta(days=args.step) - timedelta(hours=2)
            for n, feed in enumerate([f for f in feeds if not f.static][:200]):
                now = later + timedelta(seconds=n)
                t = time.perf_counter()
                poll(storage, feed, now, [item(feed, rng)], hits_for(day))
                polls200.append((time.perf_counter() - t) * 1000)
            for n, feed in enumerate([f for f in feeds if f.static][:50]):
                t = time.perf_counter()
                not_modified(storage, feed, later + timedelta(seconds=n))
                polls304.append((time.perf_counter() - t) * 1000)
        end = base + timedelta(days=args.step) - timedelta(minutes=1)
        with storage.transaction() as conn:  # delivery: every alert of the day went out
            conn.execute(
                "UPDATE alerts SET status = 'sent', sent = ?, updated = ? WHERE status = 'pending'",
                [end.isoformat(timespec="seconds")] * 2,
            )
        t = time.perf_counter()
        storage.prune_text(end - RETENTION)
        if not args.no_prune:
            storage.prune(end, retention=RETENTION, dedup_window=WINDOW)
        prune_ms = (time.perf_counter() - t) * 1000
        if polls200:
            mib, _, free = db_size(storage)
            counts = rows(storage)
            med, p99 = decisions(storage, end, rng, bases, pool)
            start_ms = startup(path, args.sources)
            line = (
                f"{day},{mib:.1f},{free / 2**20:.1f},"
                + ",".join(str(counts[k]) for k in counts)
                + f",{statistics.median(polls200):.2f},"
                f"{statistics.median(polls304) if polls304 else 0:.2f},"
                f"{med:.2f},{p99:.2f},{prune_ms:.0f},{start_ms:.0f}"
            )
            lines.append(line)
            print(line, f"  ({time.monotonic() - t_all:.0f} s)", flush=True)
            (out / "year.csv").write_text("\n".join(lines) + "\n")
    mib, _, free = db_size(storage)
    t = time.perf_counter()
    storage.conn.execute("VACUUM")
    vac_s = time.perf_counter() - t
    after, _, _ = db_size(storage)
    storage.close()
    note = (
        f"end: {mib:.1f} MiB with {free / 2**20:.1f} MiB free pages; VACUUM took {vac_s:.1f} s"
        f" and left {after:.1f} MiB"
    )
    print(note, flush=True)
    (out / "year.csv").write_text("\n".join(lines) + "\n# " + note + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
