"""``weightwatch import FILE.opml`` and ``weightwatch export``: feeds in and out as OPML."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from weightwatch.errors import ConfigError

#: Exit code of an OPML file that cannot be read (EX_DATAERR: the input data is wrong).
EX_DATAERR = 65


def tag_list(values: list[str] | None) -> list[str]:
    """``--tags a,b --tags c`` -> [a, b, c]; each must be a valid tag name (argparse error)."""
    from weightwatch.sources.opml import tag_name

    tags: list[str] = []
    for value in values or []:
        for tag in (t.strip() for t in value.split(",")):
            if not tag:
                continue
            if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", tag):  # config.check's name rule
                suggestion = tag_name(tag)
                hint = f'; try "{suggestion}"' if suggestion else ""
                raise argparse.ArgumentTypeError(
                    f'--tags: "{tag}" is not a valid tag name: use lowercase letters, digits,'
                    f' ".", "_" and "-", starting with a letter or digit{hint}'
                )
            tags.append(tag)
    return list(dict.fromkeys(tags))


def refused(exc: ConfigError) -> None:
    """The problems of the file as it would be, and that nothing was written."""
    print(f"{exc}\nNothing was written.", file=sys.stderr)
    if any("environment variable" in p.message for p in exc.problems):
        print(
            "The config reads ${VAR}s from the environment: run this with the variables the"
            " daemon has (its EnvironmentFile), as `weightwatch check` needs them too.",
            file=sys.stderr,
        )


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``import`` and ``export`` subcommands (their --config is added by the caller)."""
    imp = sub.add_parser(
        "import",
        help="add every feed of an OPML file (a feed reader's export) as sources",
        description="Add every feed of an OPML 1.0/2.0 file (exported by Miniflux,"
        " NetNewsWire, Feedly, Inoreader, FreshRSS, Thunderbird, newsboat, ...) to the"
        " config as [[source]] tables: folder and category names become tags, the title"
        " gives the source's name. Feeds already in the config (same canonical URL) are"
        " skipped and listed. The config keeps its comments and layout; the whole new file"
        " is checked first (nothing is written if it has problems) and the old one is kept"
        " as config.toml.bak.",
    )
    imp.add_argument("file", type=Path, metavar="FILE.opml", help="the OPML file")
    imp.add_argument(
        "--tags",
        action="append",
        metavar="T[,T...]",
        help="tags to add to every imported source, e.g. --tags news,imported",
    )
    imp.add_argument(
        "--dry-run", action="store_true", help="show what would be added; write nothing"
    )
    exp = sub.add_parser(
        "export",
        help="print the configured feeds as OPML 2.0, for a feed reader",
        description="Print the configured sources as an OPML 2.0 file on stdout"
        " (weightwatch export > feeds.opml): each source in a folder named after its first"
        " tag, all its tags in the category attribute. Feed readers import it as"
        ' subscriptions with folders. Sources with kind = "page" are left out (a reader'
        " cannot follow a web page's text).",
    )
    exp.add_argument("--tag", metavar="T", help="only the sources with this tag")


def run_import(args: argparse.Namespace, config_path: Path) -> int:
    from weightwatch.cli.locate import how_to_apply
    from weightwatch.config import edit
    from weightwatch.sources import opml

    try:
        tags = tag_list(args.tags)
    except argparse.ArgumentTypeError as exc:
        print(f"weightwatch import: {exc}", file=sys.stderr)
        return 2
    name = str(args.file)
    try:
        with args.file.open("rb") as file:
            data = file.read(opml.MAX_BYTES + 1)
        document = opml.parse(data)
    except OSError as exc:
        print(f"weightwatch import: {name}: cannot be read: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except opml.OpmlError as exc:
        print(f"weightwatch import: {name} {exc}\nNothing was written.", file=sys.stderr)
        return EX_DATAERR
    old, _ = edit.read_text(config_path)
    configured = edit.configured_sources(old)
    plan = opml.plan(document.feeds, configured=configured, tags=tags)
    added = list(plan.added)
    refused_feeds: list[tuple[str, str]] = []
    try:
        result = None
        for _ in range(2):  # once more without the feeds the checker refused, if only those
            if not added:
                break
            try:
                result = edit.add_sources(config_path, added, write=not args.dry_run)
                break
            except ConfigError as exc:
                bad = _new_sources_at_fault(exc, len(configured), len(added))
                if bad is None or refused_feeds:
                    raise
                refused_feeds = [(added[i].name, why) for i, why in sorted(bad.items())]
                added = [s for i, s in enumerate(added) if i not in bad]
    except ConfigError as exc:
        refused(exc)
        return 78
    for text, why in [*document.skipped, *plan.skipped, *refused_feeds]:
        print(f"  skipped {text}: {why}")
    if result is None:
        total = len(document.feeds)
        print(f"Nothing to add: the file lists {total} feed(s), none of them new and valid.")
        return 0
    for source in added:
        tagged = f"  [{', '.join(source.tags)}]" if source.tags else ""
        print(f"  + {source.name}  {source.url}{tagged}")
    count = len(added)
    skipped = len(plan.skipped) + len(refused_feeds)
    counts = f"{count} source(s)" + (f" ({skipped} skipped)" if skipped else "")
    if args.dry_run:
        print(f"Would add {counts} to {result.path}; nothing was written (--dry-run).")
        return 0
    kept = f" The old file is kept as {result.backup}." if result.backup else ""
    made = " (a new file)" if result.created else ""
    print(f"Added {counts} to {result.path}{made}; it passes `weightwatch check`.{kept}")
    print(how_to_apply(result.path))
    return 0


def _new_sources_at_fault(exc: ConfigError, first: int, count: int) -> dict[int, str] | None:
    """{index in the new sources: why} when every problem is in one of them, else None."""
    bad: dict[int, str] = {}
    for problem in exc.problems:
        match = re.match(r"source\[(\d+)\]", problem.path)
        index = int(match.group(1)) - first if match else -1
        if not 0 <= index < count:
            return None
        bad.setdefault(index, f"{problem.path.split('.', 1)[-1]}: {problem.message}")
    return bad or None


def run_export(args: argparse.Namespace, config_path: Path) -> int:
    from weightwatch import config as config_mod
    from weightwatch.config import edit
    from weightwatch.config.env import url_credentials
    from weightwatch.sources import opml

    cfg = config_mod.load(config_path, need_secrets=False)
    text, _ = edit.read_text(config_path)
    written = dict(edit.configured_sources(text))
    exported: list[opml.Exported] = []
    pages: list[str] = []
    secret: list[str] = []
    for source in cfg.sources:
        if args.tag and args.tag not in source.tags:
            continue
        if source.kind == "page":
            pages.append(source.name)
            continue
        url = source.url
        raw = written.get(source.name, "")
        if "${" in raw:
            url = raw  # never a secret from the environment: the reader gets the ${VAR}
            secret.append(source.name)
        elif url_credentials(url):
            secret.append(source.name)
        exported.append(opml.Exported(source.name, url, source.tags))
    title = "weightwatch sources" + (f" tagged {args.tag}" if args.tag else "")
    sys.stdout.write(opml.serialise(exported, title=title, now=datetime.now(UTC)).decode())
    sys.stdout.flush()
    if pages:
        print(
            f'weightwatch export: left out {len(pages)} web page source(s) (kind = "page"):'
            f" {', '.join(pages)}.",
            file=sys.stderr,
        )
    if secret:
        print(
            "weightwatch export: these URLs carry a ${VAR}, a password or a token, written as"
            f" in the config: {', '.join(secret)}. Keep the file private.",
            file=sys.stderr,
        )
    if not exported:
        print("weightwatch export: no source to export.", file=sys.stderr)
    return 0
