"""The ``weightwatch`` command line.

Exit codes: 0 done (some sources failing is not a crash), 1 an error weightwatch could not
recover from (database, internal), 2 wrong usage, 78 (EX_CONFIG) the config has problems.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import ConfigError, StorageError, WeightwatchError

EX_CONFIG = 78

log = logging.getLogger("weightwatch")


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        "-c",
        type=Path,
        default=None,
        metavar="FILE",
        help="the TOML config file (default: $WEIGHTWATCH_CONFIG, else"
        " $CONFIGURATION_DIRECTORY/config.toml, else ~/.config/weightwatch/config.toml)",
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

    sub.add_parser(
        "demo",
        help="see weightwatch work on bundled sample feeds (no internet needed)",
        description="Serve bundled sample feeds on 127.0.0.1, run the real pipeline over them"
        " twice, and print the alerts it sends to console://.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ._systemd import setup_logging

    # `once` prints its own summary of failures; its log is for -v.
    setup_logging(args.verbose, quiet=args.command in ("once", "demo", "check"))
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "once":
            return _once(args)
        if args.command == "demo":
            from .demo import run_demo

            run_demo(sys.stdout)
            return 0
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EX_CONFIG
    except StorageError as exc:
        print(f"weightwatch: {exc}", file=sys.stderr)
        return 1
    except WeightwatchError as exc:
        print(f"weightwatch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


def _load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from . import config as config_mod

    path = args.config or config_mod.default_config_path()
    return config_mod.load(path)


def _check(args: argparse.Namespace) -> int:
    from . import config as config_mod

    cfg = _load(args)
    print(config_mod.summary(cfg))
    return 0


def _once(args: argparse.Namespace) -> int:
    from ._update import run_once

    cfg = _load(args)
    summary = run_once(cfg, backfill=args.backfill)
    print(summary.render())
    return 0
