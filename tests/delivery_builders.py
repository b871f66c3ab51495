"""The delivery tests' shared setup: a controlled clock, one source "lab" with one rule
"weights" ('open weights'), and a feed that publishes numbered stories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from builders import write_config
from feedgen import Entry, rss
from servers import HTTPTestServer
from weightwatch import config as config_mod
from weightwatch.service.once import run_once

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
OLD = Entry("Quarterly update on robot arms", "https://lab.example/robots", guid="r1")


def story(n: int) -> Entry:
    return Entry(
        f"Lab {n} releases open weights for model {n}", f"https://lab.example/{n}", guid=f"g{n}"
    )


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def setup(
    tmp_path: Path,
    feed_url: str,
    channels: str,
    *,
    settings: str = "",
    rule_extra: str = "",
    notify: str = '["hook"]',
) -> config_mod.Config:
    """Source "lab", rule "weights" ('open weights') with ``rule_extra``; UTC clock."""
    rule = f"name = \"weights\"\nquery = 'open weights'\nnotify = {notify}\n{rule_extra}"
    return write_config(
        tmp_path,
        {"lab": feed_url},
        f"[channels]\n{channels}",
        [rule],
        f'timezone = "UTC"\n{settings}',
    )


def prime(http: HTTPTestServer, cfg: config_mod.Config, clock: Clock) -> None:
    http.set("/f.xml", rss([OLD]))
    run_once(cfg, now=clock)


def publish(http: HTTPTestServer, n: int) -> None:
    http.set("/f.xml", rss([story(k) for k in range(1, n + 1)] + [OLD]))
