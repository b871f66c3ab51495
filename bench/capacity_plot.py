"""The curves of docs/capacity.md as PNGs: a year (bench/year.py), a soak's RSS (daemon_soak).

Usage (from the repo root; needs matplotlib: ``pip install -e '.[bench]'``):

    .venv/bin/python bench/capacity_plot.py year --png docs/capacity-year.png \\
        "1,000 sources=bench/out/year-1000-365d-prune/year.csv" \\
        "250 sources=bench/out/year-250-365d-prune/year.csv"
    .venv/bin/python bench/capacity_plot.py soak --png docs/capacity-soak.png \\
        "before=bench/out/soak-real-53aafb2" "after=bench/out/soak-real-485f9cb"

Each argument is ``LABEL=PATH``: a ``year.csv`` that bench/year.py wrote, or a soak's output
folder (its ``samples.csv``: one row a second with VmRSS and VmHWM). Nothing is measured
here; the numbers are the files'.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RSS_TARGET_MB = 100.0  # issue 13: peak RSS of the daemon at 1,000 sources


def labelled(arg: str) -> tuple[str, Path]:
    label, sep, path = arg.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected LABEL=PATH, got {arg!r}")
    return label, Path(path)


def read_csv(path: Path) -> list[dict[str, float]]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(lines)]


def pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("No plot: matplotlib is not installed (pip install -e '.[bench]').")
    return plt


def plot_year(runs: list[tuple[str, Path]], png: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    panels = [
        ("database file (MiB)", [("db_mib", "size"), ("free_mib", "free pages")], False),
        (
            "rows (thousands)",
            [("items", "items"), ("hits", "hits"), ("story_words", "story_words")],
            False,
        ),
        (
            "storage cost of one poll (ms)",
            [("poll200_ms", "200, one new item"), ("poll304_ms", "304")],
            False,
        ),
        ("story decision (ms)", [("decide_ms", "median"), ("decide_p99_ms", "p99")], True),
        ("start-up reads (ms, fresh process)", [("startup_ms", "start-up")], False),
        ("prune after a 3-day batch (ms)", [("prune_ms", "prune")], False),
    ]
    styles = ["-", "--", ":"]
    for ax, (title, columns, log) in zip(axes.flat, panels, strict=True):
        for n, (label, path) in enumerate(runs):
            rows = read_csv(path)
            days = [r["day"] for r in rows]
            for m, (column, name) in enumerate(columns):
                scale = 1000.0 if title.startswith("rows") else 1.0
                ax.plot(
                    days,
                    [r[column] / scale for r in rows],
                    styles[n % len(styles)],
                    marker="o",
                    markersize=3,
                    color=f"C{m}",
                    label=f"{name} ({label})",
                )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("simulated day")
        if log:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("A year of operation (bench/year.py; times are of one shared 2-core machine)")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)
    print(f"Plot written to {png}.")


def plot_soak(runs: list[tuple[str, Path]], png: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for n, (label, folder) in enumerate(runs):
        rows = read_csv(folder / "samples.csv")
        ts = [r["t_s"] for r in rows]
        ax.plot(ts, [r["rss_mb"] for r in rows], "-", color=f"C{n}", label=f"VmRSS ({label})")
        ax.plot(ts, [r["hwm_mb"] for r in rows], ":", color=f"C{n}", label=f"VmHWM ({label})")
    ax.axhline(RSS_TARGET_MB, color="red", alpha=0.5, linewidth=1, label="target 100 MB")
    ax.set_xlabel("seconds after the daemon started")
    ax.set_ylabel("MB")
    ax.set_ylim(bottom=0)
    ax.set_title("Daemon memory at 1,000 sources (bench/daemon_soak.py)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)
    print(f"Plot written to {png}.")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["year", "soak"])
    ap.add_argument("runs", nargs="+", type=labelled, metavar="LABEL=PATH")
    ap.add_argument("--png", type=Path, required=True)
    args = ap.parse_args(argv)
    (plot_year if args.kind == "year" else plot_soak)(args.runs, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
