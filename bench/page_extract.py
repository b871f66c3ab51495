"""What watching a web page costs per poll: text extraction and block diff, against parsing.

Usage (from the repo root):

    .venv/bin/python bench/page_extract.py                  # 100 KB and 1 MB, 3 page shapes
    .venv/bin/python bench/page_extract.py --sizes 100000 1000000 5000000 --runs 30

Pages are built from the realistic fixtures in tests/data/pages (a Hugging Face-like model
list, a WordPress blog index, a GitHub releases page): the repeated part of each (model
cards, posts, release sections) is repeated with every text changed, so that every block
is distinct, until the page reaches the size asked for.

For each page it times, in this process, on one core:

- **parse**: ``LexborHTMLParser(body, encoding=True)``, selectolax parsing alone (the floor);
- **extract**: ``_page.extract`` (parse, drop hidden parts and boilerplate, walk, normalise,
  fingerprint), for the page's next version: one new section on top, a counter changed;
- **diff**: ``pagediff.diff`` of that version against the fingerprints of the first one;
- **ratio**: (extract + diff) / parse.

Each figure is the fastest of ``--runs`` runs after two warm-up runs, as ``timeit`` reports
(on a shared machine the minimum is the steady figure; the ratio of the medians is printed
too). It prints a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from weightwatch.sources import page as _page
from weightwatch.sources import pagediff
from weightwatch.sources.pagediff import MARKER

PAGES = Path(__file__).resolve().parent.parent / "tests" / "data" / "pages"

# (fixture, where the repeated part starts, the end tag of its last unit)
SHAPES = {
    "model list": ("hf-models.html", "<article", "</article>"),
    "blog index": ("blog-index.html", "\n<article", "<!-- #post-384 -->"),
    "releases": ("github-releases.html", "<section aria-labelledby", "</section>\n"),
}
_TEXT_RE = re.compile(r">([^<>]*[A-Za-z][^<>]*)<")


def build(shape: str, size: int) -> tuple[bytes, bytes]:
    """(page, its next version): ``size`` bytes or a little more."""
    name, start_marker, end_marker = SHAPES[shape]
    html = (PAGES / name).read_text(encoding="utf-8")
    start = html.index(start_marker)
    end = html.rindex(end_marker) + len(end_marker)
    unit = html[start:end]

    def variant(k: int) -> str:
        return _TEXT_RE.sub(lambda m: f">{m.group(1)} r{k}<", unit)

    parts: list[str] = []
    total = len(html) - len(unit)
    k = 0
    while total < size:
        parts.append(variant(k))
        total += len(parts[-1])
        k += 1
    page = html[:start] + "".join(parts) + html[end:]
    # The next version: a new unit on top, and one number somewhere changed.
    following = html[:start] + variant(10**6) + "".join(parts) + html[end:]
    following = re.sub(r"\d{2}", "99", following, count=1)
    return page.encode(), following.encode()


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, min) seconds of ``fn`` over ``runs`` runs, after two warm-up runs."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def measure(shape: str, size: int, runs: int) -> dict[str, float | int | str]:
    first, second = build(shape, size)
    url = "https://example.org/page"
    headers = {"content-type": "text/html; charset=utf-8"}
    seen = {b.fingerprint for b in _page.extract(first, url=url, headers=headers).blocks}
    seen.add(MARKER)
    page = _page.extract(second, url=url, headers=headers)
    result = pagediff.diff(page, seen, source="bench", url=url)
    parse = timed(lambda: LexborHTMLParser(second, encoding=True), runs)
    extract = timed(lambda: _page.extract(second, url=url, headers=headers), runs)
    diff = timed(lambda: pagediff.diff(page, seen, source="bench", url=url), runs)
    return {
        "shape": shape,
        "bytes": len(second),
        "blocks": len(page.blocks),
        "new items": len(result.items),
        "parse": parse[1],
        "extract": extract[1],
        "diff": diff[1],
        "ratio": (extract[1] + diff[1]) / parse[1],
        "ratio median": (extract[0] + diff[0]) / parse[0],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per figure")
    args = parser.parse_args(argv)
    print(
        "| page | size | blocks | new items | parse ms | extract ms | diff ms "
        "| extract + diff ms | ratio to parse | (ratio of medians) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        for shape in SHAPES:
            runs = args.runs if size <= 1_000_000 else max(3, args.runs // 4)
            r = measure(shape, size, runs)
            print(
                f"| {r['shape']} | {int(r['bytes']) / 1000:.0f} KB | {r['blocks']} "
                f"| {r['new items']} | {float(r['parse']) * 1000:.1f} "
                f"| {float(r['extract']) * 1000:.1f} | {float(r['diff']) * 1000:.2f} "
                f"| {(float(r['extract']) + float(r['diff'])) * 1000:.1f} "
                f"| {float(r['ratio']):.1f}× | ({float(r['ratio median']):.1f}×) |",
                flush=True,
            )
            print(f"  done: {r['shape']} {size}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
