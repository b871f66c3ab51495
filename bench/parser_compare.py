"""Would a faster XML feed parser give weightwatch the same items as feedparser?

    .venv/bin/pip install fastfeedparser==0.6.5 feedparser-rs==0.7.1   # measurement only
    .venv/bin/python bench/parser_compare.py [--corpus ../shared/corpus/feeds] [--examples]

For every real corpus feed (``feeds/real``), ``sources.feeds.parse`` runs three times: with
feedparser (as shipped), then with fastfeedparser and with feedparser-rs standing in for
``feedparser.parse`` behind an adapter that hands ``item_from_entry`` the same fields
(title and its type, summary and content with their types, link, id, the parsed dates).
Everything else is weightwatch's own code on all sides: decoding, the entity and markup
guards, text cleaning, link canonicalisation, ids, date sanity; JSON Feeds never reach
feedparser, so they agree by construction and are counted apart.

A feed agrees when the list of its items' (title, link, id, published, text) is identical.
A parser that raises is a disagreement here (a fast path would fall back to feedparser).
The malformed files (``feeds/malformed``) are parsed too: nothing but ``ParseError`` may
come out. Speed is the CPU time of ``feeds.parse`` over all real feeds, best of ``--passes``.
"""

from __future__ import annotations

import argparse
import importlib
import io
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from weightwatch.errors import ParseError
from weightwatch.sources import feeds

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 12, 1, tzinfo=UTC)
FIELDS = ("title", "link", "id", "published", "text")


def _struct(value: object) -> time.struct_time | None:
    if isinstance(value, time.struct_time):
        return value
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).timetuple()
    return None


def _detail(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    return {"type": getattr(value, "type", None), "value": getattr(value, "value", None)}


def _fast_type(kind: object) -> object:
    # fastfeedparser says "html" / "text" / "xhtml"; feedparser says text/html, text/plain.
    return {"html": "text/html", "xhtml": "application/xhtml+xml", "text": "text/plain"}.get(
        str(kind), kind
    )


def fastfeedparser_result(data: bytes) -> dict[str, Any]:
    fastfeedparser: Any = importlib.import_module("fastfeedparser")  # measurement only
    parsed = fastfeedparser.parse(data, include_tags=False, include_media=False)
    entries = []
    for e in parsed.get("entries") or []:
        content = [
            {"type": _fast_type(c.get("type")), "value": c.get("value")}
            for c in e.get("content") or []
            if isinstance(c, dict)
        ]
        entries.append(
            {
                "title": e.get("title"),
                "title_detail": None,
                "summary": e.get("description") or e.get("summary"),
                "summary_detail": None,
                "content": content,
                "link": e.get("link"),
                "id": e.get("id"),
                "published_parsed": _struct(e.get("published")),
                "updated_parsed": _struct(e.get("updated")),
            }
        )
    feed = parsed.get("feed") or {}
    return {"entries": entries, "version": "fastfeedparser", "bozo": 0, "feed": dict(feed)}


def feedparser_rs_result(data: bytes) -> dict[str, Any]:
    feedparser_rs: Any = importlib.import_module("feedparser_rs")  # measurement only
    parsed = feedparser_rs.parse(data, sanitize_html=False, resolve_relative_uris=False)
    entries = []
    for e in parsed.entries:
        entries.append(
            {
                "title": e.title,
                "title_detail": _detail(e.title_detail),
                "summary": e.summary,
                "summary_detail": _detail(e.summary_detail),
                "content": [_detail(c) for c in (e.content or [])],
                "link": e.link,
                "id": e.id,
                "published_parsed": e.published_parsed,
                "updated_parsed": e.updated_parsed,
            }
        )
    feed = parsed.feed
    return {
        "entries": entries,
        "version": parsed.version or "",
        "bozo": parsed.bozo,
        "bozo_exception": parsed.bozo_exception,
        "feed": {"title": feed.title, "title_detail": _detail(feed.title_detail)},
    }


class _Stand:
    """Stands in for the ``feedparser`` module inside ``sources.feeds``."""

    def __init__(self, parse: Callable[[bytes], dict[str, Any]]) -> None:
        self._parse = parse

    def parse(self, stream: io.BytesIO, **_: Any) -> dict[str, Any]:
        return self._parse(stream.read())


PARSERS: dict[str, Callable[[bytes], dict[str, Any]] | None] = {
    "feedparser": None,
    "fastfeedparser": fastfeedparser_result,
    "feedparser-rs": feedparser_rs_result,
}


def run(name: str, body: bytes, url: str) -> list[tuple[object, ...]] | str:
    """The items as tuples of FIELDS, or the error's text."""
    real = getattr(feeds, "feedparser")  # noqa: B009  (not re-exported: mypy)
    adapter = PARSERS[name]
    if adapter is not None:
        setattr(feeds, "feedparser", _Stand(adapter))  # noqa: B010
    try:
        result = feeds.parse(body, source="corpus", url=url, now=NOW)
    except ParseError as exc:
        return f"ParseError: {exc}"
    finally:
        setattr(feeds, "feedparser", real)  # noqa: B010
    return [tuple(getattr(item, f) for f in FIELDS) for item in result.items]


def first_difference(
    ref: list[tuple[object, ...]] | str, got: list[tuple[object, ...]] | str
) -> str:
    if isinstance(got, str):
        return "raised" if not isinstance(ref, str) else "both raised, differently"
    if isinstance(ref, str):
        return "parsed what feedparser refused"
    if len(ref) != len(got):
        return "item count"
    for a, b in zip(ref, got, strict=True):
        for field, x, y in zip(FIELDS, a, b, strict=True):
            if x != y:
                return field
    return "?"


def example(
    ref: list[tuple[object, ...]] | str, got: list[tuple[object, ...]] | str, field: str
) -> str:
    if field in FIELDS and not isinstance(ref, str) and not isinstance(got, str):
        i = FIELDS.index(field)
        for a, b in zip(ref, got, strict=True):
            if a[i] != b[i]:
                return f"feedparser {str(a[i])[:90]!r} / other {str(b[i])[:90]!r}"
    if isinstance(got, str):
        return got[:160]
    if isinstance(ref, str):
        return ref[:160]
    return f"feedparser {len(ref)} items / other {len(got)} items"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "feeds")
    ap.add_argument("--passes", type=int, default=3, help="timed passes; the best counts")
    args = ap.parse_args(argv)
    real = sorted((args.corpus / "real").rglob("*.*"))
    malformed = sorted(p for p in (args.corpus / "malformed").rglob("*") if p.is_file())
    bodies = [(p.name, p.read_bytes()) for p in real]
    json_feeds = {n for n, b in bodies if b.lstrip()[:1] == b"{"}

    results: dict[str, dict[str, list[tuple[object, ...]] | str]] = {n: {} for n in PARSERS}
    cpu: dict[str, float] = {}
    for name in PARSERS:
        best = float("inf")
        for _ in range(max(1, args.passes)):
            started = time.process_time()
            for file, body in bodies:
                results[name][file] = run(name, body, f"https://corpus.example/{file}")
            best = min(best, time.process_time() - started)
        cpu[name] = best

    print(
        f"{len(bodies)} real feeds ({len(json_feeds)} JSON Feed: parsed by weightwatch itself"
        " on every side); items compared: " + ", ".join(FIELDS) + "\n"
    )
    print("| parser | feeds identical | of XML feeds | raised | parse CPU (s) | speed-up |")
    print("|---|---:|---:|---:|---:|---:|")
    ref = results["feedparser"]
    classes: dict[str, Counter[str]] = {}
    examples: dict[tuple[str, str], str] = {}
    for name in PARSERS:
        same = [f for f in ref if results[name][f] == ref[f]]
        xml_same = [f for f in same if f not in json_feeds]
        raised = sum(
            1 for f in ref if isinstance(results[name][f], str) and not isinstance(ref[f], str)
        )
        print(
            f"| {name} | {len(same)} ({100 * len(same) / len(ref):.1f} %) |"
            f" {len(xml_same)} of {len(ref) - len(json_feeds)} | {raised} |"
            f" {cpu[name]:.2f} | {cpu['feedparser'] / cpu[name]:.1f}× |"
        )
        counter: Counter[str] = Counter()
        for f in ref:
            if results[name][f] != ref[f]:
                kind = first_difference(ref[f], results[name][f])
                counter[kind] += 1
                examples.setdefault((name, kind), f"{f}: {example(ref[f], results[name][f], kind)}")
        classes[name] = counter
    for name in list(PARSERS)[1:]:
        print(f"\n{name}: where the first difference is (feeds):\n")
        for kind, n in classes[name].most_common():
            print(f"- {kind}: {n}, e.g. {examples[(name, kind)]}")

    print(f"\nMalformed files: {len(malformed)}")
    for name in PARSERS:
        bad = []
        for p in malformed:
            try:
                run(name, p.read_bytes(), f"https://corpus.example/{p.name}")
            except Exception as exc:  # anything but ParseError is a crash of parse()
                bad.append(f"{p.name}: {type(exc).__name__}")
        print(f"- {name}: {len(bad)} raised something other than ParseError {bad[:3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
