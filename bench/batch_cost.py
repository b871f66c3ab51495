"""Cost of one poll with thousands of new matching items: story decisions inside the batch,
before (every new hit compared with every earlier hit of the batch) and after (the batch
index, ``matching.hits.BatchIndex``), side by side in one run.

Usage (from the repo root):

    .venv/bin/python bench/batch_cost.py [--sizes 2000,3000,10000] [--before-rev 6f98b0a]
                                         [--before-max 10000] [--seed 7]

For each size it makes that many new items of one source, every one matching the rule
(the headlines of bench/story_cost.py: UCI aggregator headlines with one or two random
names put in, so the batch has a realistic mix of common and rare words and real joins),
then times what storing that poll does, on a fresh SQLite file:

* ``match``: ``hits.match`` (features of each hit; outside the daemon's writer);
* ``decide``: ``hits.decide`` on the context read from storage (``Storage.story_context``),
  with the ``hits`` module of ``--before-rev`` (git) and with the working tree's;
* ``store``: ``Storage.record_poll`` of the decided hits (the writer's transaction).

and compares their stories: how many hits joined a story (so did not alert) before and
after, and at how many positions the story differs. They differ only where a word is in
more than ``per_word`` earlier hits or a hit has more than ``max_candidates`` candidates:
there the batch is now decided as stored hits always were (the blocking
bench/story_cost.py and bench/dedup_quality.py measure). Sizes above ``--before-max``
skip the quadratic "before".
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from story_cost import base_titles, headline, names
from weightwatch.config import DEFAULT_TITLE_SIMILARITY, Channel, Rule
from weightwatch.delivery import routing, templates
from weightwatch.matching import hits
from weightwatch.matching.query import parse
from weightwatch.storage.store import Storage
from weightwatch.types import Item, NewHit, SourceUpdate

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WINDOW = 3 * 24 * 3600.0
RULE = Rule("news", parse("weights"), "weights", ("hook",))
CHANNELS = {"hook": Channel("hook", ("json://127.0.0.1:9/x",), ("json://127.0.0.1:9/x",))}


def before_module(rev: str) -> ModuleType:
    """``matching/hits.py`` as it was at ``rev``, loaded beside the current one."""
    text = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:src/weightwatch/matching/hits.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "hits_before.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("hits_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["hits_before"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def items(size: int, seed: int) -> list[Item]:
    rng = random.Random(seed)
    bases = base_titles()
    pool = names(rng, 50_000)
    rng.shuffle(pool)
    return [
        Item("flood", f"i{n}", f"https://flood.example/{n}", headline(rng, bases, pool),
             "weights", NOW)
        for n in range(size)
    ]  # fmt: skip


def decide(module: Any, storage: Storage, matches: hits.Matches) -> tuple[list[NewHit], float]:
    salt = storage.url_salt
    if "url_salt" in inspect.signature(module.decide).parameters:
        salted: dict[str, Any] = {"url_salt": salt}
    else:  # a revision from before the salt: its routing calls get it bound
        module.routing = _Salted(salt)
        salted = {}
    t = time.perf_counter()
    context = storage.story_context(matches.lookup(NOW, WINDOW))
    made: list[NewHit] = module.decide(
        matches,
        context,
        source="flood",
        channels=CHANNELS,
        templates=templates.cached,
        dedup_window=WINDOW,
        title_similarity=DEFAULT_TITLE_SIMILARITY,
        **salted,
    )
    return made, time.perf_counter() - t


class _Salted:
    """``delivery.routing`` for a ``hits.py`` from before ``url_key`` took a salt."""

    def __init__(self, salt: bytes) -> None:
        self.salt = salt

    def __getattr__(self, name: str) -> Any:
        return getattr(routing, name)

    def alerts_for(
        self, item: Item, matches: Any, channels: Any, compile_template: Any
    ) -> tuple[Any, ...]:
        return routing.alerts_for(item, matches, channels, compile_template, self.salt)


def store(storage: Storage, fresh: list[Item], made: list[NewHit]) -> float:
    t = time.perf_counter()
    storage.record_poll(
        "flood",
        now=NOW,
        items=[(i.id, i.link, i.title, i.text, i.published) for i in fresh],
        hits=made,
        state=SourceUpdate(last_poll=NOW, last_status="ok"),
    )
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,3000,10000")
    parser.add_argument("--before-rev", default="6f98b0a", help="git revision of 'before'")
    parser.add_argument("--before-max", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    old = before_module(args.before_rev)
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        fresh = items(size, args.seed)
        t = time.perf_counter()
        matches = hits.match(fresh, [RULE])
        match_s = time.perf_counter() - t
        with tempfile.TemporaryDirectory() as tmp:
            storage = Storage(Path(tmp) / "db.sqlite")
            storage.ensure_sources([("flood", "https://flood.example/feed")])
            after, after_s = decide(hits, storage, matches)
            before, before_s = (
                decide(old, storage, matches) if size <= args.before_max else (None, None)
            )
            store_s = store(storage, fresh, after)
            storage.close()

        def roots(made: list[NewHit]) -> list[int | None]:
            return [h.duplicate_of_batch for h in made]

        joined = sum(h.duplicate_of_batch is not None for h in after)
        joined_before = (
            sum(h.duplicate_of_batch is not None for h in before) if before is not None else None
        )
        differ = (
            sum(a != b for a, b in zip(roots(after), roots(before), strict=True))
            if before is not None
            else None
        )
        row = (size, match_s, before_s, after_s, store_s, joined_before, joined, differ)
        rows.append(row)
        print(row, file=sys.stderr, flush=True)
    print(f"\nOne poll of N new items, all matching one rule; before = {args.before_rev}.\n")
    print(
        "| new hits | match | decide before | decide after | ratio | store"
        " | joined before | joined after | story differs |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, match_s, before_s, after_s, store_s, joined_before, joined, differ in rows:
        b = f"{before_s:.1f} s" if before_s is not None else "(skipped)"
        ratio = f"{before_s / after_s:.0f}x" if before_s is not None else ""
        d = "" if differ is None else f"{differ}"
        print(
            f"| {size:,} | {match_s:.1f} s | {b} | {after_s:.2f} s | {ratio} | {store_s:.2f} s"
            f" | {'' if joined_before is None else f'{joined_before:,}'} | {joined:,} | {d} |"
        )


if __name__ == "__main__":
    main()
