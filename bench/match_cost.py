"""What matching costs per item: prepare once, then 100 realistic rules.

Usage (from the repo root):

    .venv/bin/python bench/match_cost.py [--corpus DIR] [--items N] [--runs 3]

Items are the real feeds of ``../shared/corpus/feeds/real`` (every file parsed with
``weightwatch.sources.feeds.parse``, as the daemon does) when that folder exists, else generated
text of the same shape. The 100 rules mix what people write: words and phrases with
``AND``/``OR``/``NOT``, ``NEAR/n``, sloppy phrases (``"..."~n``, as a rule's ``proximity``
gives), ``title:``/``text:`` fields, a few ``/regex/`` terms and ``any``/``none`` lists; most
have unquoted words of 6 letters or more, which are typo-tolerant.

It prints, per item and best of ``--runs`` runs: ``prepare`` (tokenise title and text
once; each item dropped at once), ``match`` (the 100 rules' ``Query.match`` on items
prepared beforehand) and their sum; then one pass doing both per item and dropping it (as
the daemon does); then the match cost of each kind of rule. Numbers to read, not a test.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from weightwatch.errors import ParseError
from weightwatch.matching.query import Document, Query, all_of, from_lists, parse, prepare
from weightwatch.sources import feeds as _parser

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # when the feeds were "fetched"

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "feeds" / "real"

SUBJECTS = [
    "OpenAI",
    "Anthropic",
    "Google",
    "DeepMind",
    "Meta",
    "Mistral",
    "DeepSeek",
    "Qwen",
    "Alibaba",
    "Microsoft",
    "Nvidia",
    "Apple",
    "Amazon",
    "xAI",
    "Cohere",
    "Perplexity",
    "HuggingFace",  # also finds "Hugging Face" and "hugging-face"
    "Stability",
    "Midjourney",
    "Databricks",
]

# (kind, template) with {s} for a subject: 4 per subject, 80 rules.
TEMPLATES = [
    (
        "phrases",
        '{s} AND ("open weights" OR "release weights" OR open-weight) AND NOT "Weight Watchers"',
    ),
    ("near", "{s} NEAR/5 (release OR launch OR announce OR unveil)"),
    ("sloppy", '"{s} model"~2 OR ({s} AND (checkpoint OR weights))'),
    ("fields", "title:{s} (benchmark OR leaderboard OR evaluation)"),
]

TOPICS = [  # 10 rules
    ("phrases", '"language model" AND (security OR vulnerability) -"fashion model"'),
    ("phrases", '("data center" OR datacenter) AND (Nvidia OR GPUs) AND NOT "data centre"'),
    ("near", "acquisition NEAR/4 (startup OR company) -rumor"),
    ("near", "lawsuit NEAR/3 (copyright OR training)"),
    ("sloppy", '"release notes"~1 AND (model OR weights)'),
    ("sloppy", '"open source model"~2 -"open source software"'),
    ("fields", 'title:"breaking" OR title:outage'),
    ("fields", "text:(benchmark NEAR/3 record) title:model"),
    ("phrases", "(robotics OR humanoid) AND (funding OR raises)"),
    ("phrases", 'Kubernetes AND (release OR "security advisory")'),
]

REGEXES = [  # 5 rules
    "/gpt ?(4o?|5|oss)( \\d+b)?/",
    "/llama ?[34](\\.\\d)?/",
    "/\\d+b (parameters?|params)/",
    "/cve \\d{4} \\d+/",
    "release AND /v\\d+(\\.\\d+)+/",
]

LISTS = [  # 5 rules: (any, none)
    (["open weights", "weights are available", "model weights"], ["Weight Watchers", "diet"]),
    (["checkpoint", "safetensors", "Hugging Face"], ["fitness"]),
    (["earnings", "quarterly results"], ["sports"]),
    (["security advisory", "vulnerability", "exploit"], ["game"]),
    (["launches", "announces", "unveils"], ["rocket"]),
]


def build_rules() -> list[tuple[str, Query]]:
    rules: list[tuple[str, Query]] = []
    for kind, template in TEMPLATES:
        rules.extend((kind, parse(template.format(s=s))) for s in SUBJECTS)
    rules.extend((kind, parse(text)) for kind, text in TOPICS)
    rules.extend(("regex", parse(text)) for text in REGEXES)
    for any_, none in LISTS:
        listed = from_lists(any=any_, none=none)
        assert listed is not None
        rules.append(("lists", all_of(listed)))
    assert len(rules) == 100, len(rules)
    return rules


def real_items(folder: Path, limit: int) -> tuple[list[tuple[str, str]], int]:
    items: list[tuple[str, str]] = []
    feeds = 0
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        try:
            result = _parser.parse(
                path.read_bytes(), source=path.stem, url="https://example.org/", now=NOW
            )
        except ParseError:
            continue
        feeds += 1
        items.extend((item.title, item.text) for item in result.items)
        if limit and len(items) >= limit:
            break
    return items[:limit] if limit else items, feeds


_WORDS_TEXT = (
    "the of and to in a is that for on with as by at from model models weights released "
    "release open source OpenAI Meta Llama Mistral GPT-4 new data training benchmark said "
    "company startup research paper users security update version 3.1 billion parameters "
    "launch today week report according people technology AI agents inference GPUs Nvidia"
)
WORDS = _WORDS_TEXT.split()


def generated_items(count: int) -> list[tuple[str, str]]:
    rng = random.Random(7)
    items = []
    for _ in range(count):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14))).capitalize()
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 25))).capitalize() + "."
            for _ in range(rng.randint(2, 15))
        ]
        items.append((title, " ".join(sentences)))
    return items


def best_of(runs: int, fn: Callable[[], float]) -> float:
    results = []
    for _ in range(runs):
        gc.collect()
        results.append(fn())
    return min(results)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--items", type=int, default=0, help="at most this many items (0: all)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)

    if args.corpus.is_dir():
        items, feeds = real_items(args.corpus, args.items)
        origin = f"{feeds} real feeds in {args.corpus}"
    else:
        items = generated_items(args.items or 5000)
        origin = f"generated text ({args.corpus} is absent)"
    if not items:
        print("no items", file=sys.stderr)
        return 1
    rules = build_rules()
    kinds: dict[str, list[Query]] = {}
    for kind, query in rules:
        kinds.setdefault(kind, []).append(query)
    queries = [query for _, query in rules]
    n = len(items)
    chars = statistics.mean(len(title) + len(text) for title, text in items)
    print(f"items: {n} from {origin}; {chars:.0f} characters each on average (title + text)")
    print("rules: 100 = " + ", ".join(f"{kind} {len(qs)}" for kind, qs in kinds.items()))

    docs: list[Document] = []

    def run_prepare() -> float:  # each item dropped at once, as the daemon does
        start = time.perf_counter()
        for title, text in items:
            prepare(title, text)
        return time.perf_counter() - start

    def run_match(subset: list[Query]) -> Callable[[], float]:
        def run() -> float:
            # Fresh items each run: an item caches what matching works out lazily.
            docs[:] = [prepare(title, text) for title, text in items]
            gc.collect()
            start = time.perf_counter()
            for doc in docs:
                for query in subset:
                    query.match(doc)
            return time.perf_counter() - start

        return run

    def run_both() -> float:
        start = time.perf_counter()
        for title, text in items:
            doc = prepare(title, text)
            for query in queries:
                query.match(doc)
        return time.perf_counter() - start

    run_prepare()  # warm the per-word caches, as a running daemon has them
    t_prepare = best_of(args.runs, run_prepare)
    t_match = best_of(args.runs, run_match(queries))
    hits = sum(query.match(doc) is not None for doc in docs for query in queries)
    by_kind = {kind: best_of(args.runs, run_match(qs)) for kind, qs in kinds.items()}
    docs.clear()
    t_both = best_of(args.runs, run_both)

    us = 1e6 / n
    print(f"best of {args.runs} runs, per item:")
    print(f"  prepare            {t_prepare * us:8.1f} µs")
    print(f"  match, 100 rules   {t_match * us:8.1f} µs  ({t_match * us / 100:.2f} µs per rule)")
    print(f"  total              {(t_prepare + t_match) * us:8.1f} µs")
    print(f"  one pass, prepare + match per item, item dropped: {t_both * us:.1f} µs")
    print("match cost by kind of rule (per item, per rule):")
    for kind, seconds in by_kind.items():
        count = len(kinds[kind])
        print(f"  {kind:<8} {count:3} rules {seconds * us:8.1f} µs  {seconds * us / count:6.2f} µs")
    print(f"matches: {hits} item-rule pairs ({hits / n:.3f} per item)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
