"""Build ``src/weightwatch/story_words.txt``: how common each word is in general feed text.

Usage (from the repo root; needs ../shared/corpus):

    .venv/bin/python bench/story_words.py [--check]

``weightwatch.matching.story`` weighs the words that two hits share by how *rare* they are: sharing
"Benintendi" or "monkeypox" says much more about being the same story than sharing "says"
or "deal". The weight comes from a document frequency counted here once, over the real
feeds of the shared corpus (``feeds/real``), one document per *feed* (so a word repeated
by one site counts once): the share of feeds that use the word at all.

Only feeds from repositories under MIT, Apache-2.0 or BSD licences are read, and the feeds
used to *measure* story clustering are left out so the weights are not fitted to them: the
world-news feeds captured on 17-18 February 2026 (``tests/data/story_pairs.tsv`` comes from
them, and so does the stale WSJ feed) and the Google News captures (the source of
``google-news-top-stories``). The words are normalised with ``story.stems`` itself, so the
file and the code always agree. Words used by fewer than ``MIN_FEEDS`` feeds are left out
(they get the full weight anyway). ``--check`` rebuilds in memory and exits 1 if the file
differs.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from weightwatch.errors import ParseError
from weightwatch.matching.story import WORDS_FILE, stems
from weightwatch.sources import feeds as _parser

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # when the feeds were "fetched"

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
MIN_FEEDS = 3
TEXT_CHARS = 2000  # of each item's text, like a feed summary
LICENCES = {"MIT", "Apache-2.0", "BSD-3-Clause", "BSD-2-Clause"}
# Held out: the feeds the story measurements use (see the module docstring).
HELD_OUT_PREFIXES = ("feeds/real/feed-extractor__",)
_HELD_OUT_HASHES = """
    1796df62c4a287cc 0c1cef22da7ddc10 4bf53cb602417030 78f77fae2e1ffc14 7be307059415227d
    f9c17f360c71def1 5357198db71ce075 3f9eeff5039a008d 14dda539770f94e3 9f9555d69283aeda
    ce5f942d1cd40fc0 d87c1681464979cc 6040d25e925318ed 72fea1ebfd02e90a e8fa5b64a4b41322
    18138c717652f678 d2a188f20637f7a4 4179e7a13df0f120 16dc10cf98d1ee82 08f1ee71883dbcde
    4288464f77b21d15
"""
HELD_OUT = {f"feeds/real/fastfeedparser__{h}.xml" for h in _HELD_OUT_HASHES.split()}


def feed_files() -> list[Path]:
    out = []
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            name = row["file"]
            if not name.startswith("feeds/real/") or row["license"] not in LICENCES:
                continue
            if name in HELD_OUT or name.startswith(HELD_OUT_PREFIXES):
                continue
            out.append(CORPUS / name)
    return sorted(out)


def build() -> str:
    feeds = 0
    df: Counter[str] = Counter()
    for path in feed_files():
        try:
            result = _parser.parse(
                path.read_bytes(), source="corpus", url="https://example.org/", now=NOW
            )
        except ParseError:
            continue
        if not result.items:
            continue
        feeds += 1
        words: set[str] = set()
        for item in result.items:
            words.update(stems(f"{item.title}. {item.text[:TEXT_CHARS]}"))
        df.update(w for w in words if not any(ch.isdigit() for ch in w))
    lines = [
        "# weightwatch.matching.story word weights: built by bench/story_words.py, do not edit.",
        f"# feeds\t{feeds}",
    ]
    for word, count in sorted(df.items(), key=lambda kv: (-kv[1], kv[0])):
        if count >= MIN_FEEDS:
            lines.append(f"{word}\t{count}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    if not (CORPUS / "MANIFEST.tsv").is_file():
        print(f"corpus not found at {CORPUS}; nothing built.", file=sys.stderr)
        return 2
    text = build()
    if args.check:
        same = WORDS_FILE.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{WORDS_FILE} is stale: rebuild it")
        return 0 if same else 1
    WORDS_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {WORDS_FILE} ({text.count(chr(10)) - 2} words)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
