"""The ``weightwatch`` command line.

Exit codes: 0 done (some sources failing is not a crash), 1 an error weightwatch could not
recover from (internal, or a database problem not listed here), 2 wrong usage,
78 (EX_CONFIG) the config has problems. The database (``StorageError.kind``): 65
(EX_DATAERR) the file is not a database this weightwatch can use (damaged, empty, newer
schema), 77 (EX_NOPERM) it cannot be written or read (read-only file, directory or filesystem;
cannot be created; a folder this user cannot enter), 75 (EX_TEMPFAIL) may pass by itself
(disk full, locked, owned by another ``run`` or ``once``: ``storage.owner``). The units
restart on 75, not on 65, 77 or 78 (``RestartPreventExitStatus=``): an operator must act.

Which config and database a command uses, and which commands need ``${VAR}`` secrets:
``cli.locate``.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from weightwatch import __version__
from weightwatch.errors import ConfigError, StorageError, WeightwatchError

if TYPE_CHECKING:
    from weightwatch.config import Config, Rule
    from weightwatch.storage import Storage
    from weightwatch.types import Item

EX_CONFIG = 78
EX_DATAERR = 65
EX_TEMPFAIL = 75
EX_NOPERM = 77

# StorageError.kind -> exit code; kinds not listed exit 1.
STORAGE_EXIT = {
    "damaged": EX_DATAERR,
    "empty": EX_DATAERR,
    "newer": EX_DATAERR,
    "no-access": EX_NOPERM,
    "full": EX_TEMPFAIL,
    "busy": EX_TEMPFAIL,
    "owned": EX_TEMPFAIL,  # another run or once owns the database (storage.owner)
}

log = logging.getLogger("weightwatch")


def _config_arg(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--config",
        "-c",
        type=Path,
        default=None,
        metavar="FILE",
        help="the TOML config file (default: $WEIGHTWATCH_CONFIG, else"
        " $CONFIGURATION_DIRECTORY/config.toml, else /etc/weightwatch/config.toml when it"
        " exists and this runs as root or the weightwatch user, else"
        " ~/.config/weightwatch/config.toml)",
    )
    which.add_argument(
        "--system",
        action="store_true",
        help="use the system service's config (/etc/weightwatch/config.toml) and its"
        " database (/var/lib/weightwatch/weightwatch.db)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="weightwatch",
        description="Watch feeds for what you care about; get one alert per new story.",
    )
    parser.add_argument("--version", action="version", version=f"weightwatch {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log each poll and delivery to stderr"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    once = sub.add_parser(
        "once",
        help="poll every source once, deliver alerts, print a summary, exit",
        description="Poll every source once, store new items, alert on new matching items,"
        " deliver pending alerts (including ones left by an earlier failure), and exit.",
    )
    _config_arg(once)
    once.add_argument(
        "--backfill",
        action="store_true",
        help="on a source's first poll, alert on the items already in it"
        " (default: record them silently)",
    )

    check = sub.add_parser(
        "check",
        help="validate the config and print a summary (exit 78 on problems)",
        description="Validate the whole config file and list every problem with its key path"
        " (exit code 78), or print a summary of sources, rules and channels with secrets"
        " masked.",
    )
    _config_arg(check)

    run = sub.add_parser(
        "run",
        help="run as a daemon: poll each source on its schedule until stopped",
        description="Poll each source on its own schedule and deliver alerts until SIGTERM or"
        " SIGINT. SIGHUP reloads the config (an invalid file is refused and the old one kept)."
        " Speaks systemd's notify protocol (READY, STATUS, RELOADING, STOPPING, WATCHDOG) when"
        " run under systemd.",
    )
    _config_arg(run)

    status = sub.add_parser(
        "status",
        help="show each source's last poll, result, next due time and alert counts",
        description="Read the database (also while the daemon runs) and list each source:"
        " last poll, result, next due, consecutive failures, pending and failed alerts.",
    )
    _config_arg(status)
    status.add_argument("--json", action="store_true", help="print JSON for scripts")

    alerts = sub.add_parser(
        "alerts",
        help="list queued, sent and failed alerts; requeue failed ones",
        description="List alerts (newest first) with their status, attempts and last error,"
        " or requeue failed ones: `weightwatch alerts retry ID [ID ...]` or"
        " `weightwatch alerts retry --all-failed`. The next `once` or the running daemon"
        " delivers them.",
    )
    _config_arg(alerts)
    alerts.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    alerts.add_argument("ids", nargs="*", type=int, metavar="ID", help="alert ids to requeue")
    which = alerts.add_mutually_exclusive_group()
    which.add_argument("--pending", action="store_true", help="only alerts still to deliver")
    which.add_argument("--failed", action="store_true", help="only alerts that failed for good")
    alerts.add_argument(
        "--all-failed", action="store_true", help="with retry: requeue every failed alert"
    )
    alerts.add_argument("--limit", type=int, default=50, help="how many to list (default 50)")
    alerts.add_argument("--json", action="store_true", help="print JSON for scripts")

    hits = sub.add_parser(
        "hits",
        help="list stories: each first hit with the later reports attached to it",
        description="List the newest stories (newest first): the hit that alerted, then the"
        " later hits of the same rule that joined it (same link, similar title or shared"
        " distinctive words, within dedup_window), each with its source and the reason.",
    )
    _config_arg(hits)
    hits.add_argument("--rule", metavar="R", help="only stories of this rule")
    hits.add_argument("--limit", type=int, default=20, help="how many stories (default 20)")
    hits.add_argument("--json", action="store_true", help="print JSON for scripts")

    explain = sub.add_parser(
        "explain",
        help="show whether a rule matches a text or a stored item, term by term",
        description="Run one rule from the config (edited or new) against a text or a stored"
        " item and show, term by term, what matched where and how (exact, inflection,"
        " hyphen, typo, regex, NEAR distance), with the matches highlighted; for a stored"
        " item that was a hit, which story it joined and why.",
    )
    _config_arg(explain)
    explain.add_argument("--rule", "-r", required=True, help="the rule's name")
    what = explain.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help="the text to try (matched as an item's text)")
    what.add_argument("--item", metavar="ID_OR_URL", help="a stored item's id or link")
    explain.add_argument("--title", default="", help="with --text: a title to try as well")

    backtest = sub.add_parser(
        "backtest",
        help="what a rule would have alerted on over stored items, sending nothing",
        description="Replay the stored items of the last --since (default 30d, at most"
        " settings.retention) through one rule from the config and list the stories it would"
        " have alerted on, each with the sources that carried it. Nothing is sent or stored.",
    )
    _config_arg(backtest)
    backtest.add_argument("--rule", "-r", required=True, help="the rule's name")
    backtest.add_argument("--since", default="30d", help='how far back, e.g. "7d" (default 30d)')

    test_notify = sub.add_parser(
        "test-notify",
        help="send a test message to each URL of a channel and report each result",
        description="Send a short test message to every URL of CHANNEL (default: every"
        " channel) right now, bypassing the queue, and report each URL's result with secrets"
        " masked. Exit 1 if any URL failed.",
    )
    _config_arg(test_notify)
    test_notify.add_argument("channel", nargs="?", help="a channel name from [channels]")

    discover = sub.add_parser(
        "discover",
        help="list the feeds a web page offers, as [[source]] tables to paste",
        description="Fetch a web page and list the feeds it advertises (<link rel=alternate>),"
        " the feed paths of the platform it is on (WordPress, Substack, Medium, Ghost,"
        " Blogger, GitHub, YouTube, Reddit) and feed links in its text. Each one is fetched to"
        " check that it is a feed, and printed as a ready-to-paste [[source]] table, followed"
        ' by a kind = "page" table for watching the page\'s text itself (docs/pages.md).',
    )
    discover.add_argument("url", metavar="URL", help="the page, e.g. a blog or a project page")
    discover.add_argument(
        "--no-check", action="store_true", help="list the candidates without fetching them"
    )
    discover.add_argument(
        "--timeout", type=float, default=20.0, metavar="SECONDS", help="per fetch (default 20)"
    )

    from weightwatch.cli import add as add_cli
    from weightwatch.cli import opml as opml_cli

    opml_cli.add_arguments(sub)
    add_cli.add_arguments(sub)
    for name in ("import", "export", "add"):
        _config_arg(sub.choices[name])

    sub.add_parser(
        "demo",
        help="see weightwatch work on bundled sample feeds (no internet needed)",
        description="Serve bundled sample feeds on 127.0.0.1, run the real pipeline over them"
        " twice, and print the alerts it sends to console://.",
    )
    return parser


def entry() -> NoReturn:
    """The ``weightwatch`` command (console script and ``python -m weightwatch``): ``main``,
    then leave without tearing the interpreter down.

    By then everything that must last is done: the database is committed and closed, and the
    summary printed. Python's own exit would still free every module and object one by one,
    ~60-90 ms for the ~230 modules of a ``once`` (more than the rest of a warm cycle's own
    work; docs/performance.md), for nothing the operating system does not do at once. So the
    output is flushed and the ``atexit`` callbacks run (logging's shutdown; a coverage tool
    saving its data: coverage.py's ``patch = ["_exit"]`` saves it in ``os._exit`` too), and
    the process ends with ``os._exit``."""
    code = main()
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # a closed pipe, or a callback failing: exit as Python would
        sys.exit(code)
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and hasattr(signal, "SIGPIPE"):
        # Run as the command (not called in-process by a test or a host program):
        # `weightwatch status | head` ends quietly.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    parser = build_parser()
    args = parser.parse_args(argv)
    from weightwatch.service.systemd import setup_logging

    # Commands that print their own summary log only errors unless -v; the daemon logs INFO.
    setup_logging(args.verbose, quiet=args.command != "run")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "once":
            return _once(args)
        if args.command == "run":
            from weightwatch.cli.locate import apply_env_file, config_path
            from weightwatch.service.daemon import run as run_daemon

            path = config_path(args)
            apply_env_file(path)  # what the units' EnvironmentFile= gives (already set there)
            return run_daemon(path)
        if args.command == "status":
            return _status(args)
        if args.command == "alerts":
            return _alerts(args)
        if args.command == "test-notify":
            return _test_notify(args)
        if args.command == "explain":
            return _explain(args)
        if args.command == "backtest":
            return _backtest(args)
        if args.command == "hits":
            return _hits(args)
        if args.command == "discover":
            from weightwatch.service.discover import run as run_discover

            return run_discover(args.url, sys.stdout, check=not args.no_check, timeout=args.timeout)
        if args.command in ("import", "export", "add"):
            from weightwatch.cli import add as add_cli
            from weightwatch.cli import opml as opml_cli
            from weightwatch.cli.locate import config_path

            path = config_path(args)
            if args.command == "add":
                return add_cli.run_add(args, path)
            run = opml_cli.run_import if args.command == "import" else opml_cli.run_export
            return run(args, path)
        if args.command == "demo":
            from weightwatch.service.demo import run_demo

            run_demo(sys.stdout)
            return 0
    except ConfigError as exc:
        _error(str(exc))  # under systemd: why it exited 78 shows with -p warning
        return EX_CONFIG
    except StorageError as exc:
        _error(f"weightwatch: {exc}")
        return STORAGE_EXIT.get(exc.kind, 1)
    except WeightwatchError as exc:
        _error(f"weightwatch: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


def _error(text: str, priority: int = 3) -> None:
    """Print an error to stderr; at error priority (``<3>``) when stderr is the journal."""
    from weightwatch.service.systemd import stderr_is_journal

    if stderr_is_journal():
        text = "\n".join(f"<{priority}>{line}" for line in text.splitlines())
    print(text, file=sys.stderr)


def _load(args: argparse.Namespace, *, send: bool = False) -> Config:
    """The config; ``send``: every ``${VAR}`` expanded (else unset ones are left as written)."""
    from weightwatch.cli import locate
    from weightwatch.service.systemd import register_secrets

    cfg = locate.load_for_sending(args) if send else locate.load_for_reading(args)
    register_secrets(cfg.secrets)  # no log line, whichever library writes it, shows them
    return cfg


def _read_only(cfg: Config) -> Storage:
    from weightwatch.cli.locate import open_read_only

    return open_read_only(cfg)


def _check(args: argparse.Namespace) -> int:
    from weightwatch import config as config_mod
    from weightwatch.cli import locate
    from weightwatch.service.systemd import register_secrets
    from weightwatch.storage import Storage

    checked = locate.load_for_check(args)
    cfg = checked.config
    register_secrets(cfg.secrets)
    print(config_mod.summary(cfg, Storage.detected_kinds(cfg.settings.database)))
    print(locate.env_file_line(checked.env_file))
    for warning in locate.check_warnings(checked):
        _error(warning, priority=4)
    return 0


def _once(args: argparse.Namespace) -> int:
    from weightwatch.service.once import run_once

    cfg = _load(args, send=True)
    summary = run_once(cfg, backfill=args.backfill)
    print(summary.render())
    return 0


def _status(args: argparse.Namespace) -> int:
    import json

    from weightwatch.cli.status import render_status, source_rows
    from weightwatch.sources.clean import printable

    cfg = _load(args)
    storage = _read_only(cfg)
    try:
        rows = source_rows(cfg, storage.source_report(), storage.counts())
    finally:
        storage.close()
    from weightwatch.config.env import mask_source_url

    for row in rows["sources"]:
        row["url"] = mask_source_url(row["url"], cfg.secrets)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(printable(render_status(rows), keep_lines=True))
    return 0


def _alerts(args: argparse.Namespace) -> int:
    import json
    from datetime import UTC, datetime

    from weightwatch.sources.clean import printable

    cfg = _load(args)
    if args.action == "retry":
        if args.all_failed == bool(args.ids):
            print("weightwatch alerts retry: give alert ids or --all-failed", file=sys.stderr)
            return 2
        from weightwatch.cli.locate import open_existing

        writer = open_existing(cfg)  # never creates one: there is nothing to requeue
        try:
            count = writer.requeue(None if args.all_failed else args.ids, now=datetime.now(UTC))
        finally:
            writer.close()
        print(f"Requeued {count} failed alert(s); they go out at the next delivery.")
        return 0
    storage = _read_only(cfg)  # listing never creates one
    try:
        status = "failed" if args.failed else None
        rows = storage.alerts(status, limit=args.limit)
        if args.pending:
            rows = [r for r in storage.open_alerts()][-args.limit :][::-1]
    finally:
        storage.close()
    if args.json:
        out = [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "hold": r.hold,
                "channel": r.channel,
                "url": r.masked_url,
                "title": r.title,
                "attempts": r.attempts,
                "created": r.created.isoformat() if r.created else None,
                "sent": r.sent.isoformat() if r.sent else None,
                "next_attempt": r.next_attempt.isoformat() if r.next_attempt else None,
                "last_error": r.last_error,
            }
            for r in rows
        ]
        print(json.dumps(out, indent=2))
        return 0
    if not rows:
        print("No alerts.")
        return 0
    for r in rows:
        state = r.status + (f" ({r.hold})" if r.status == "held" and r.hold else "")
        print(printable(f"#{r.id} {state}, {r.attempts} attempt(s), {r.channel} {r.masked_url}"))
        print(f"    {printable(r.title)}")
        if r.last_error and r.status != "sent":
            print(f"    last error: {printable(r.last_error)}")
    return 0


def _test_notify(args: argparse.Namespace) -> int:
    from weightwatch.delivery import notify as _notify

    cfg = _load(args, send=True)
    if args.channel and args.channel not in cfg.channels:
        known = ", ".join(sorted(cfg.channels)) or "none"
        print(
            f"weightwatch: no channel named {args.channel!r} (channels: {known})", file=sys.stderr
        )
        return 2
    names = [args.channel] if args.channel else sorted(cfg.channels)
    failed = 0
    for name in names:
        channel = cfg.channels[name]
        for url, masked in zip(channel.urls, channel.masked_urls, strict=True):
            result = _notify.send(
                url,
                "[weightwatch] test message",
                f"This is a test from weightwatch for the channel {name}. If you read it,"
                " alerts will reach you here.",
                timeout=cfg.settings.timeout,
            )
            if result.ok:
                print(f"ok      {name} {masked}")
            else:
                failed += 1
                print(f"FAILED  {name} {masked}: {_notify.scrub(result.error, cfg.secrets)}")
    return 1 if failed else 0


def _hits(args: argparse.Namespace) -> int:
    import json

    from weightwatch.sources.clean import printable

    cfg = _load(args)
    storage = _read_only(cfg)
    try:
        stories = storage.stories(args.rule, limit=max(args.limit, 1))
    finally:
        storage.close()

    def row(hit: dict[str, object]) -> dict[str, object]:
        return {
            "id": hit["id"],
            "rule": hit["rule"],
            "source": hit["source"],
            "title": hit["title"],
            "link": hit["link"],
            "created": hit["created"],
            "reason": hit["duplicate_reason"],
        }

    if args.json:
        out = []
        for first in stories:
            members = first["members"]
            entry = row(first)
            entry.pop("reason")
            entry["related"] = _related(first)
            entry["sources"] = sorted({first["source"], *(m["source"] for m in members)})
            entry["members"] = [row(m) for m in members]
            out.append(entry)
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    if not stories:
        print("No hits.")
        return 0
    for first in stories:
        members = first["members"]
        sources = {first["source"], *(m["source"] for m in members)}
        noun = "source" if len(sources) == 1 else "sources"
        print(printable(f"#{first['id']} [{first['rule']}] {first['title']}"))
        print(
            printable(f"    {first['created']}  {first['source']}  (story: {len(sources)} {noun})")
        )
        related = _related(first)
        if related is not None:
            print(printable(f"    ~ possibly the same story as: {related['title']}"))
            print(printable(f"      alerted {related['alerted']} from {related['source']}"))
        for m in members:
            print(printable(f"    + #{m['id']} {m['source']}: {m['title']}"))
            print(printable(f"      {m['duplicate_reason']}, {m['created']}"))
    return 0


def _related(hit: dict[str, Any]) -> dict[str, Any] | None:
    """The story a first hit came close to without joining (migration 0008), or None."""
    if not hit.get("related_title") and not hit.get("related_link"):
        return None
    return {
        "title": hit["related_title"] or hit["related_link"],
        "source": hit["related_source"],
        "link": hit["related_link"],
        "alerted": hit["related_at"],
    }


def _rule(cfg: Config, name: str) -> Rule | None:
    rule = next((r for r in cfg.rules if r.name == name), None)
    if rule is None:
        known = ", ".join(r.name for r in cfg.rules) or "none"
        print(
            f"weightwatch: no rule named {name!r} in the config (rules: {known})", file=sys.stderr
        )
    return rule


def _explain(args: argparse.Namespace) -> int:
    from weightwatch.matching.explain import explain_rule, highlight, match_spans, related_hint
    from weightwatch.sources.clean import printable

    cfg = _load(args)
    rule = _rule(cfg, args.rule)
    if rule is None:
        return 2
    print(f"Rule {rule.name}: {rule.query}")
    hits: dict[tuple[str, str], dict[str, Any] | None] = {}
    cases: list[tuple[Item | None, str, str]]
    if args.text is not None:
        cases = [(None, args.title, args.text)]
    else:
        storage = _read_only(cfg)
        try:
            found = storage.find_items(args.item)
            hits = {
                (item.source, item.id): storage.hit_of(rule.name, item.source, item.id)
                for item, _ in found
            }
        finally:
            storage.close()
        if not found:
            print(f"weightwatch: no stored item has the id or link {args.item!r}", file=sys.stderr)
            return 1
        cases = [(item, item.title, item.text) for item, _ in found]
    for item, title, text in cases:
        if item is not None:
            print(f"\nItem {item.id} from {item.source}: {item.title}")
            if item.link:
                print(f"  {item.link}")
            if not item.text and not item.title:
                print("  (its text is past settings.retention and was pruned)")
        matched, lines = explain_rule(rule, title, text)
        print("MATCHES" if matched else "does not match")
        for line in lines:
            print(f"  {line}")
        spans = match_spans(rule, title, text)
        if spans["title"]:
            print(f"  title: {highlight(title, spans['title'])}")
        if spans["text"]:
            print(f"  text:  {highlight(text, spans['text'])}")
        if item is not None:
            hit = hits.get((item.source, item.id))
            if hit is None:
                print("  Not a hit of this rule (it arrived before the rule, or did not match).")
            elif hit["duplicate_of"] is None:
                print(f"  Hit #{hit['id']}: the first report of its story (it alerted).")
                hint = related_hint(hit)
                if hint is not None:  # the line its alerts carried
                    print(printable(f"  {hint}"))
            else:
                print(
                    f"  Hit #{hit['id']} joined the story of hit #{hit['duplicate_of']}"
                    f" ({hit['first_source']}: {hit['first_title']}) because:"
                    f" {hit['duplicate_reason']}."
                )
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from weightwatch import config as config_mod
    from weightwatch.matching.explain import backtest, render_backtest

    cfg = _load(args)
    rule = _rule(cfg, args.rule)
    if rule is None:
        return 2
    try:
        window = config_mod.parse_duration(args.since)
    except ValueError as exc:
        print(f"weightwatch backtest: --since: {exc}", file=sys.stderr)
        return 2
    storage = _read_only(cfg)
    try:
        items = storage.items_since(datetime.now(UTC) - timedelta(seconds=window))
    finally:
        storage.close()
    stories = backtest(
        rule,
        {s.name: s for s in cfg.sources},
        items,
        title_threshold=cfg.settings.title_similarity,
    )
    print(render_backtest(rule, stories, len(items), args.since))
    return 0
