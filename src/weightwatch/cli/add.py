"""``weightwatch add URL``: find the feed of a page and add it as a source."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from weightwatch.errors import ConfigError, SourceError

if TYPE_CHECKING:
    from weightwatch.service.discover import Offer


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``add`` subcommand (its --config is added by the caller)."""
    add = sub.add_parser(
        "add",
        help="find a page's feed and add it as a source (no TOML editing)",
        description="Fetch URL, find its feed as `weightwatch discover` does (the URL itself,"
        " the feeds its page advertises, its platform's feed paths, feed links), check each"
        " one, and add the feed as a [[source]] table. With several feeds it asks on a"
        " terminal; scripts pass --pick N (the numbers it lists). The config keeps its"
        " comments and layout; the whole new file is checked first (nothing is written if it"
        " has problems) and the old one is kept as config.toml.bak.",
    )
    add.add_argument("url", metavar="URL", help="a feed, or a page that offers one")
    add.add_argument("--name", metavar="N", help="the source's name (default: from the title)")
    add.add_argument("--tags", action="append", metavar="T[,T...]", help="e.g. --tags ai,labs")
    add.add_argument(
        "--interval",
        metavar="DURATION",
        help='its own poll interval, e.g. "1h" (default: settings.interval)',
    )
    add.add_argument(
        "--pick", type=int, metavar="N", help="with several feeds: take the N-th (1 = first)"
    )
    add.add_argument(
        "--timeout", type=float, default=20.0, metavar="SECONDS", help="per fetch (default 20)"
    )
    add.add_argument("--dry-run", action="store_true", help="show the table; write nothing")


def run_add(
    args: argparse.Namespace,
    config_path: Path,
    *,
    ask: Callable[[str], str] = input,
    interactive: bool | None = None,
) -> int:
    from weightwatch.cli.locate import how_to_apply
    from weightwatch.cli.opml import refused, tag_list
    from weightwatch.config import edit
    from weightwatch.service.discover import offers
    from weightwatch.sources.discover import source_name
    from weightwatch.sources.urls import canonical_url
    from weightwatch.types import NewSource

    try:
        tags = tag_list(args.tags)
    except argparse.ArgumentTypeError as exc:
        print(f"weightwatch add: {exc}", file=sys.stderr)
        return 2
    try:
        found = offers(args.url, timeout=args.timeout)
    except SourceError as exc:
        print(f"weightwatch add: could not fetch {args.url}: {exc}", file=sys.stderr)
        return 1
    if not found:
        print(
            f"weightwatch add: no feed found at {args.url}. To watch the page's text itself,"
            ' `weightwatch discover URL` prints a kind = "page" table to paste.',
            file=sys.stderr,
        )
        return 1
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    chosen = _choose(found, args.pick, ask if interactive else None)
    if chosen is None:
        return 2
    old, _ = edit.read_text(config_path)
    configured = edit.configured_sources(old)
    key = canonical_url(chosen.url)
    for name, url in configured:
        if key and canonical_url(url) == key:
            print(f"{chosen.url} is already in the config as {name}; nothing to add.")
            return 0
    name = args.name or source_name(chosen.title, chosen.url, [n for n, _ in configured])
    new = NewSource(name, chosen.url, tuple(tags), args.interval or "")
    try:
        result = edit.add_sources(config_path, [new], write=not args.dry_run)
    except ConfigError as exc:
        refused(exc)
        return 78
    print(edit.render([new]).strip("\n"))
    if args.dry_run:
        print(f"Would add it to {result.path}; nothing was written (--dry-run).")
        return 0
    kept = f" The old file is kept as {result.backup}." if result.backup else ""
    print(f"Added source {name} to {result.path}; it passes `weightwatch check`.{kept}")
    print(how_to_apply(result.path))
    return 0


def _choose(found: list[Offer], pick: int | None, ask: Callable[[str], str] | None) -> Offer | None:
    if pick is not None:
        if 1 <= pick <= len(found):
            return found[pick - 1]
        print(f"weightwatch add: --pick {pick}: the page offers {len(found)} feed(s).")
        _list(found)
        return None
    if len(found) == 1:
        return found[0]
    print(f"{len(found)} feeds found:")
    _list(found)
    if ask is None:
        print("weightwatch add: several feeds; choose one with --pick N.", file=sys.stderr)
        return None
    while True:
        try:
            answer = ask(f"Which one? [1-{len(found)}] ").strip()
        except EOFError:
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(found):
            return found[int(answer) - 1]
        if not answer:
            print("Nothing added.")
            return None
        print(f"Type a number from 1 to {len(found)}, or press Enter to stop.")


def _list(found: list[Offer]) -> None:
    for number, offer in enumerate(found, 1):
        label = f"{offer.title}: " if offer.title else ""
        items = f"{offer.items} item" + ("" if offer.items == 1 else "s")
        print(f"  {number}. {label}{offer.url}  ({offer.kind}, {offer.origin}, {items})")
