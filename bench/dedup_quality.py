"""Measure story clustering (``weightwatch.matching.story``) on headlines we did not write.

Usage (from the repo root):

    .venv/bin/python bench/dedup_quality.py [--uci-limit N] [--examples 10] [--order rank|file]

Each dataset is replayed as hits of one rule through the real decision path: the story
features of each headline, the candidate lookup in a real (in-memory) ``Storage`` with the
story index of migration 0005, ``story.best_match``, and ``record_poll`` storing the hit
with its story. Then, against the dataset's own story labels:

* **alerts per story**: hits that started a story (would alert) / labelled stories; 1.0 is
  ideal (one alert per story);
* **false merges**: hits attached to a story whose first hit has another label (each one
  is an alert a user would not get);
* pairwise **precision / recall / F1** of "same story": every pair of hits in one
  predicted story is a "same" decision, every pair with one label a true "same".

Datasets (../shared/corpus/headlines, see its README):

* google-news-top-stories: 168 headlines, 36 Google News groups (one day). Replayed with
  the groups interleaved by rank (every group's first headline, then every second one, ...),
  or in file order with ``--order file``.
* uci-news-aggregator: 6,366 headlines, 87 aggregator stories, in timestamp order.

And the hand-labelled cross-outlet pairs in ``tests/data/story_pairs.tsv`` (world-news
feeds of 17-18 February 2026, with their summaries): each pair is decided directly by
``story.same_story``; precision and recall of "same".

This is a measurement, not a test; it exits 2 when the corpus is absent (the labelled
pairs are then still measured).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from weightwatch.matching import story
from weightwatch.storage.store import Storage
from weightwatch.types import NewHit, SourceUpdate

ROOT = Path(__file__).resolve().parents[1]
HEADLINES = ROOT.parent / "shared" / "corpus" / "headlines"
GOOGLE_TSV = HEADLINES / "google-news-top-stories" / "google_news_story_groups_2022-07-28.tsv"
UCI_CSV = HEADLINES / "uci-news-aggregator" / "uci_news_aggregator_first_6366.csv"
PAIRS_TSV = ROOT / "tests" / "data" / "story_pairs.tsv"


@dataclass(frozen=True)
class Headline:
    label: str
    title: str
    source: str
    when: datetime


def load_google(order: str) -> list[Headline]:
    with GOOGLE_TSV.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if order == "rank":
        rows.sort(key=lambda r: (int(r["rank_in_group"]), int(r["group_id"])))
    start = datetime(2022, 7, 28, tzinfo=UTC)
    return [
        Headline(r["group_id"], r["headline"], r["publisher"], start + timedelta(minutes=n))
        for n, r in enumerate(rows)
    ]


def load_uci(limit: int | None) -> list[Headline]:
    with UCI_CSV.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: (int(r["TIMESTAMP"]), int(r["ID"])))
    out = [
        Headline(
            r["STORY"],
            r["TITLE"],
            r["PUBLISHER"] or r["HOSTNAME"],
            datetime.fromtimestamp(int(r["TIMESTAMP"]) / 1000, UTC),
        )
        for r in rows
    ]
    return out[:limit] if limit else out


def replay(items: Sequence[Headline]) -> tuple[list[int], list[str], list[int]]:
    """Each hit's story (index of its first hit), the reason it joined ("" if first) and
    the hit it matched (itself if first)."""
    storage = Storage(":memory:")
    storage.ensure_sources([("bench", "https://example.org/feed")])
    tune = story.TUNING
    ids: dict[int, int] = {}  # hit id -> position
    first: list[int] = []
    reasons: list[str] = []
    direct: list[int] = []
    for n, h in enumerate(items):
        feats = story.features(h.title)
        rows = storage.story_candidates(
            "r",
            [(w, story.weight(w) or 0.5) for w in feats.lookup_words()],
            h.when - timedelta(seconds=tune.window),
            per_word=tune.per_word,
            limit=tune.max_candidates,
        )
        best = story.best_match(
            feats, [((row[1], row[0]), story.Features.from_json(row[2])) for row in rows]
        )
        hit = NewHit(
            rule="r",
            source=h.source,
            item_id=str(n),
            link="",
            title=h.title,
            title_key=feats.key,
            published=h.when,
            terms=(),
            snippet="",
            duplicate_of=best[0][0] if best else None,
            duplicate_reason=story.describe(best[1], best[2]) if best else None,
            story_features=feats.to_json(),
            story_words=tuple(feats.index_words()),
        )
        (hit_id,) = storage.record_poll(
            "bench",
            now=h.when,
            items=[],
            hits=[hit],
            state=SourceUpdate(last_poll=h.when, last_status="ok"),
        )
        ids[hit_id] = n
        first.append(ids[best[0][0]] if best else n)
        direct.append(ids[best[0][1]] if best else n)
        reasons.append(hit.duplicate_reason or "")
    storage.close()
    return first, reasons, direct


def report(
    name: str,
    items: Sequence[Headline],
    first: list[int],
    reasons: list[str],
    direct: list[int],
    n: int,
) -> None:
    stories = Counter(h.label for h in items)
    alerts = sum(1 for i, f in enumerate(first) if f == i)
    false = [i for i, f in enumerate(first) if items[f].label != items[i].label]
    # The matched hit itself has another label (the rest were carried in by a story that
    # had already mixed labels).
    edges = [i for i in false if items[direct[i]].label != items[i].label]
    clusters: dict[int, list[int]] = defaultdict(list)
    for i, f in enumerate(first):
        clusters[f].append(i)
    tp = fp = 0
    for members in clusters.values():
        for a, b in itertools.combinations(members, 2):
            if items[a].label == items[b].label:
                tp += 1
            else:
                fp += 1
    positives = sum(k * (k - 1) // 2 for k in stories.values())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"\n## {name}\n")
    print(f"{len(items)} hits in {len(stories)} labelled stories")
    print(
        f"alerts {alerts} = {alerts / len(stories):.2f} per story; false merges {len(false)}"
        f" ({len(edges)} matched a hit of another label);"
        f" pairwise precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}"
        f" ({tp} of {positives} same-story pairs, {fp} wrong)"
    )
    by_signal = Counter(r.split(" (")[0] for r in reasons if r)
    print("joined by: " + ", ".join(f"{k} {v}" for k, v in by_signal.most_common()))
    if false and n:
        print(f"\nfalse merges (first {min(n, len(false))}):")
        for i in false[:n]:
            f, d = first[i], direct[i]
            print(f"  [{items[i].label[:8]}] {items[i].title!r}  {reasons[i]}")
            print(f"      matched [{items[d].label[:8]}] {items[d].title!r}")
            if f != d:
                print(f"      story [{items[f].label[:8]}] {items[f].title!r}")
    if n:
        split = sorted(
            ((len({first[i] for i in idx}), label) for label, idx in _by_label(items).items()),
            reverse=True,
        )
        worst = ", ".join(f"{label} {k}" for k, label in split[:n])
        print(f"\nmost split stories (label, alerts; first {n}): {worst}")


def _by_label(items: Sequence[Headline]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for i, h in enumerate(items):
        out[h.label].append(i)
    return out


def labelled_pairs(n: int) -> float:
    lines = [
        line.rstrip("\n").split("\t")
        for line in PAIRS_TSV.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ][1:]
    tp = fp = fn = tn = 0
    wrong: list[str] = []
    for row in lines:
        same = row[0] == "same"
        a = story.features(row[1], row[9])
        b = story.features(row[2], row[10])
        ok, signal, score = story.same_story(a, b)
        if ok and same:
            tp += 1
        elif ok:
            fp += 1
            wrong.append(f"  FALSE MERGE {signal} {score}: {row[1]!r} / {row[2]!r} ({row[11]})")
        elif same:
            fn += 1
            wrong.append(f"  missed ({signal} {score}): {row[1]!r} / {row[2]!r}")
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"\n## hand-labelled pairs ({PAIRS_TSV.relative_to(ROOT)})\n")
    print(f"{len(lines)} pairs: {tp + fn} same, {fp + tn} different")
    print(
        f"precision {precision:.3f} ({tp} of {tp + fp} merges right), recall {recall:.3f};"
        f" false merges {fp}, missed {fn}"
    )
    if n:
        print("\n".join(sorted(wrong, reverse=True)))
    return precision


def related_scores() -> None:
    """The related-story hint (``story.closest``, ``TUNING.related``): the scores of the
    labelled pairs that do not join, same-story pairs against different-story pairs (pairs
    a guard refuses get no hint and are counted apart), and what each floor would hint."""
    lines = [
        line.rstrip("\n").split("\t")
        for line in PAIRS_TSV.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ][1:]
    missed: list[float] = []
    different: list[float] = []
    guarded = 0
    for row in lines:
        a = story.features(row[1], row[9])
        b = story.features(row[2], row[10])
        ok, _, _ = story.same_story(a, b)
        if ok:
            continue
        near = story.closest(a, [(0, b)], floor=0.0)
        if near is None:
            guarded += 1
            continue
        (missed if row[0] == "same" else different).append(near[1])
    print("\n## related-story hint (labelled pairs that do not join)\n")
    print(
        f"{len(missed)} same-story pairs, {len(different)} different-story pairs"
        f" ({guarded} refused by a guard: never hinted)"
    )
    for name, scores in (("same", missed), ("different", different)):
        ranked = sorted(scores)
        print(f"{name:>9}: " + " ".join(f"{s:.2f}" for s in ranked))
    print("\n| floor | same pairs hinted | different pairs hinted |\n|---|---|---|")
    for floor in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45):
        hit = sum(s >= floor for s in missed)
        wrong = sum(s >= floor for s in different)
        mark = " (TUNING.related)" if floor == story.TUNING.related else ""
        print(f"| {floor:.2f}{mark} | {hit} of {len(missed)} | {wrong} of {len(different)} |")


def related_replay(items: Sequence[Headline], floors: Sequence[float]) -> None:
    """The hint on a stream: replay (``replay``), then each hit that starts a story is
    compared with every earlier hit (no blocking: an upper bound on hints), each under its
    story; a hint is right when that story's first hit has the hit's label."""
    first, _, _ = replay(items)
    feats = [story.features(h.title) for h in items]
    near: list[tuple[int, float]] = []  # (hit, score) with the hinted story's first hit
    right: list[bool] = []
    wrong: list[str] = []
    for n in range(len(items)):
        if first[n] != n:
            continue
        found = story.closest(feats[n], [(first[m], feats[m]) for m in range(n)], floor=0.0)
        if found is not None:
            near.append((n, found[1]))
            right.append(items[found[0]].label == items[n].label)
            if not right[-1] and found[1] >= story.TUNING.related:
                wrong.append(f"  {found[1]:.2f} {items[n].title!r} ~ {items[found[0]].title!r}")
    starts = sum(1 for n, f in enumerate(first) if f == n)
    missed = sum(
        1
        for n, f in enumerate(first)
        if f == n and any(items[m].label == items[n].label for m in range(n))
    )
    print(f"\n{starts} hits start a story, {missed} of them a story of their label already had")
    print("\n| floor | hints | right (same label) | wrong |\n|---|---|---|---|")
    for floor in floors:
        got = [ok for (_, score), ok in zip(near, right, strict=True) if score >= floor]
        mark = " (TUNING.related)" if floor == story.TUNING.related else ""
        print(f"| {floor:.2f}{mark} | {len(got)} | {sum(got)} | {len(got) - sum(got)} |")
    print("\nwrong hints at TUNING.related:\n" + "\n".join(wrong))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uci-limit", type=int, default=None, help="replay the first N only")
    parser.add_argument("--examples", type=int, default=10, help="errors to list per dataset")
    parser.add_argument("--order", choices=["rank", "file"], default="rank")
    parser.add_argument(
        "--related", action="store_true", help="only the related-story hint's measurement"
    )
    args = parser.parse_args(argv)
    if args.related:
        related_scores()
        if GOOGLE_TSV.is_file():
            print(f"\n## related-story hint, google-news-top-stories ({args.order} order)")
            related_replay(load_google(args.order), (0.25, 0.3, 0.35, 0.4, 0.45))
        return 0
    t = story.TUNING
    print(
        f"story.TUNING: min_score {t.min_score}, min_shared {t.min_shared}, names"
        f" {t.min_shared_names}, weight {t.min_shared_weight}, title {t.title_threshold},"
        f" window {t.window / 86400:g} d"
    )
    labelled_pairs(args.examples)
    if not GOOGLE_TSV.is_file() or not UCI_CSV.is_file():
        print(f"\ncorpus not found under {HEADLINES}; only the labelled pairs were measured.")
        return 2
    items = load_google(args.order)
    report(f"google-news-top-stories ({args.order} order)", items, *replay(items), args.examples)
    items = load_uci(args.uci_limit)
    report("uci-news-aggregator (timestamp order)", items, *replay(items), args.examples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
