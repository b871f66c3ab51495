"""Feeds that change while they are served, for bench/daemon_soak.py.

Usage (from the repo root; normally bench/daemon_soak.py starts it for you):

    .venv/bin/python bench/soakserver.py --feeds 1000 [--hosts 250] [--change-every 10]

It reuses bench/feedserver.py: the same generated feeds (20–50 items, 20–120 KB, RSS 2.0 and
some Atom, real headlines), the same HTTP/1.1 protocol class (keep-alive, ETag /
If-None-Match → 304, Content-Length, optional gzip) and the same ``/__stats``. What it adds,
because a daemon soak needs it and feedserver.py (built for one-shot cycles) does not have it:

* feeds CHANGE: every ``--change-every`` seconds a random ``--change-share`` of the feeds
  gets 1 to ``--max-new`` new items at the top (the oldest ones drop off, so the size stays
  put), a new ETag and a new Last-Modified; a new item's title matches the example rule
  (``weights AND (release OR "open-weight")``) with probability ``--hit-share``;
* with ``--rates-from FILE`` feeds publish at a realistic spread of rates instead of all
  alike: each feed gets a weight drawn (seeded) from the per-feed item counts of a real
  timeline (``../shared/corpus/timelines/items-….tsv.gz``: 479 feeds, a few publish
  thousands of items a month, most a handful, some none), scaled to average 1, and changes
  at a tick with probability ``--change-share`` × its weight (at most 1): the same number of
  changes on average, concentrated on the busy feeds; every new item (time, feed, whether it
  matches, its link) goes to FILE.items of ``--log-requests``; the items a feed starts with
  are re-dated to its rate (one expected gap apart; 60 days for a feed that never
  publishes), so a poller can learn the rate from its first poll as from a real feed;
* no caching hints by default: feedserver.py sends ``Cache-Control: max-age=60`` and RSS
  ``<ttl>30</ttl>`` (30 minutes), which weightwatch honours by polling LESS often than a
  short interval (schedule.next_delay: hints only lengthen the wait), so a 30 s soak would
  poll most feeds once. ``--hints`` keeps them;
* slow and failing hosts (``--slow-hosts K``: the last K hosts answer ``--slow-delay``
  seconds late; ``--failing-hosts K``: the K hosts before those answer 503), for the
  realistic mix of docs/capacity.md;
* more addresses: host k is 127.0.0.(2+k) for k < 253, then 127.0.1.(2+k-253) (at most
  500 hosts, 127.0.0.2 … 127.0.1.254), feed i (1-based) on host (i-1) % hosts, all on one
  port when it is free.

It prints one JSON line on stdout when ready (``{"hosts": [[ip, port], ...], ...}``) and stops
by itself after ``--lifetime`` seconds, when its parent dies, or (``--watch-stdin``) when
stdin reaches end-of-file.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import os
import random
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from feedserver import (
    _AUTHORS,
    _CATEGORIES,
    _HIT_TITLES,
    _HTTP,
    _MODELS,
    _ORGS,
    LAST_MODIFIED,
    SYLLABLES,
    Feed,
    _answer,
    _paragraphs,
    _Route,
    _sentences,
    _Stats,
    feed_path,
    generate,
    load_headlines,
)

MAX_HOSTS = 500


def host_ip(k: int) -> str:
    """The k-th (0-based) loopback address: 127.0.0.2 … 127.0.0.254, then 127.0.1.2 …"""
    if not 0 <= k < MAX_HOSTS:
        raise ValueError(f"host index {k} out of range")
    return f"127.0.{k // 253}.{2 + k % 253}"


def feed_url(hosts: Sequence[Sequence], i: int) -> str:
    """The URL of feed ``i`` (1-based): round-robin over ``hosts`` like feedserver.feed_urls."""
    ip, port = hosts[(i - 1) % len(hosts)]
    return f"http://{ip}:{port}{feed_path(i)}"


class _SoakStats(_Stats):
    def __init__(self) -> None:
        super().__init__()
        self.changes = 0  # feed versions published after start
        self.new_items = 0
        self.hit_items = 0

    def as_json(self) -> bytes:
        d = json.loads(super().as_json())
        d.update(changes=self.changes, new_items=self.new_items, hit_items=self.hit_items)
        return json.dumps(d).encode()


_UNAVAILABLE = _answer("503 Service Unavailable", [("Content-Type", "text/plain")], 0)


class _LoggingHTTP(_HTTP):
    """feedserver's protocol, noting (arrival time, address, path) of every request; the
    addresses in ``slow`` answer ``slow_delay`` seconds late, those in ``failing`` 503."""

    def __init__(
        self,
        routes: dict,
        stats: _Stats,
        arrivals: list,
        slow: frozenset[str] = frozenset(),
        slow_delay: float = 0.0,
        failing: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(routes, stats)
        self.arrivals = arrivals
        self.ip = ""
        self.slow, self.slow_delay, self.failing = slow, slow_delay, failing

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.ip = transport.get_extra_info("sockname")[0]

    def _handle(self, head: bytes) -> bool:
        first = head.split(b"\r\n", 1)[0].split(b" ")
        path = first[1].decode("latin-1") if len(first) > 1 else "?"
        self.arrivals.append((time.time(), self.ip, path))
        if self.ip in self.failing:
            self._send([_UNAVAILABLE], 503, 0, close=True)
            return False
        if self.ip in self.slow:
            asyncio.get_running_loop().call_later(self.slow_delay, self._late, head)
            return False  # clients do not pipeline: nothing else arrives meanwhile
        return super()._handle(head)

    def _late(self, head: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if super()._handle(head):
            self.data_received(b"")  # a request that arrived meanwhile, if any


class _SoakRoute(_Route):
    """Pre-built answers for one version of one feed (the attributes feedserver._HTTP uses)."""

    def __init__(self, feed: Feed, last_modified: str, cache_control: str | None) -> None:
        common = [("ETag", feed.etag), ("Last-Modified", last_modified)]
        extra = [("Cache-Control", cache_control)] if cache_control else []
        self.etag = feed.etag
        self.body = feed.body
        self.ok = _answer(
            "200 OK", [("Content-Type", feed.content_type), *common, *extra], len(feed.body)
        )
        self.gz = feed.gzipped
        self.ok_gz = None
        if feed.gzipped is not None:
            self.ok_gz = _answer(
                "200 OK",
                [
                    ("Content-Type", feed.content_type),
                    ("Content-Encoding", "gzip"),
                    ("Vary", "Accept-Encoding"),
                    *common,
                    *extra,
                ],
                len(feed.gzipped),
            )
        self.not_modified = _answer("304 Not Modified", common, 0)


class Changer:
    """Publishes new versions of random feeds: new items on top, oldest ones dropped."""

    def __init__(
        self,
        feeds: list[Feed],
        routes: dict,
        stats: _SoakStats,
        *,
        seed: int,
        share: float,
        max_new: int,
        hit_share: float,
        cache_control: str | None,
        compress: bool,
        weights: list[float] | None = None,
        fresh_names: int = 0,
    ) -> None:
        self.fresh_names = fresh_names
        self.feeds = feeds
        self.routes = routes
        self.stats = stats
        self.rng = random.Random(f"soak-{seed}")
        self.share = share
        self.max_new = max_new
        self.hit_share = hit_share
        self.cache_control = cache_control
        self.compress = compress
        self.titles, _ = load_headlines()
        self.sentences = _sentences(random.Random(seed), self.titles, 2000)
        self.serial = 0
        self.hits: list[tuple[float, str, str]] = []  # (time, feed path, title) published
        self.weights = weights  # per feed, mean 1 (--rates-from); None: all alike
        self.items: list[tuple[float, str, bool, str]] = []  # (time, path, hit, link): all new

    def _title(self) -> tuple[str, bool]:
        if self.rng.random() < self.hit_share:
            tmpl = self.rng.choice(_HIT_TITLES)
            return tmpl.format(org=self.rng.choice(_ORGS), model=self.rng.choice(_MODELS)), True
        title = self.rng.choice(self.titles)
        for _ in range(self.fresh_names):  # a name never seen before: an open vocabulary
            title += " " + "".join(self.rng.choice(SYLLABLES) for _ in range(4)).capitalize()
        return title, False

    def _item(self, feed: Feed, i: int, when: datetime) -> tuple[str, bool, str, str]:
        self.serial += 1
        title, hit = self._title()
        html = _paragraphs(self.rng, self.sentences, self.rng.randint(600, 2400))
        if feed.kind == "rss":
            site = f"https://site{i:04d}.example.com"
            link = f"{site}/{when:%Y/%m/%d}/soak-{self.serial}"
            xml = "\n".join(
                [
                    "<item>",
                    f"<title>{escape(title)}</title>",
                    f"<link>{escape(link)}</link>",
                    f'<guid isPermaLink="false">{site}/id/{i:04d}-soak-{self.serial}</guid>',
                    f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>",
                    f"<dc:creator>{self.rng.choice(_AUTHORS)}</dc:creator>",
                    f"<category>{self.rng.choice(_CATEGORIES)}</category>",
                    f"<description><![CDATA[{html}]]></description>",
                    "</item>",
                ]
            )
        else:
            site = f"https://blog{i:04d}.example.org"
            link = f"{site}/posts/soak-{self.serial}"
            xml = "\n".join(
                [
                    "<entry>",
                    f'<title type="html">{escape(title)}</title>',
                    f'<link rel="alternate" type="text/html" href={quoteattr(link)}/>',
                    f"<id>tag:blog{i:04d}.example.org,2026:soak-{self.serial}</id>",
                    f"<published>{when.isoformat()}</published>",
                    f"<updated>{when.isoformat()}</updated>",
                    f"<author><name>{self.rng.choice(_AUTHORS)}</name></author>",
                    f'<content type="html">{escape(html)}</content>',
                    "</entry>",
                ]
            )
        return xml, hit, title, link

    def change_one(self, idx: int) -> None:
        feed = self.feeds[idx]
        i = idx + 1
        now = datetime.now(UTC)
        tag = b"<item>" if feed.kind == "rss" else b"<entry>"
        end_tag = b"</item>" if feed.kind == "rss" else b"</entry>"
        body = feed.body
        n_new = self.rng.randint(1, self.max_new)
        new = []
        for k in range(n_new):
            xml, hit, title, link = self._item(feed, i, now - timedelta(seconds=k))
            new.append(xml.encode("utf-8") + b"\n")
            self.stats.hit_items += hit
            at = time.time()
            if hit:
                self.hits.append((at, feed.path, title))
            self.items.append((at, feed.path, hit, link))
        for _ in range(n_new):  # drop the oldest items, keep at least 5
            if body.count(tag) <= 5:
                break
            start = body.rfind(tag)
            stop = body.find(end_tag, start) + len(end_tag) + 1
            body = body[:start] + body[stop:]
        first = body.find(tag)
        if first < 0:
            first = body.rfind(b"</channel>" if feed.kind == "rss" else b"</feed>")
        body = body[:first] + b"".join(new) + body[first:]
        feed.body = body
        feed.etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        feed.gzipped = gzip.compress(body, 6, mtime=0) if self.compress else None
        self.routes[feed.path] = _SoakRoute(
            feed, format_datetime(now, usegmt=True), self.cache_control
        )
        self.stats.changes += 1
        self.stats.new_items += n_new

    def tick(self) -> None:
        if self.weights is not None:
            for idx, w in enumerate(self.weights):
                if w > 0 and self.rng.random() < self.share * w:
                    self.change_one(idx)
            return
        k = max(1, round(self.share * len(self.feeds))) if self.share > 0 else 0
        for idx in self.rng.sample(range(len(self.feeds)), min(k, len(self.feeds))):
            self.change_one(idx)


def rate_weights(path: str, feeds: int, seed: int) -> list[float]:
    """``feeds`` publishing weights drawn (seeded) from the per-source item counts of a
    timeline file (``source_id`` TAB ``published_unix`` rows, .tsv or .tsv.gz; its sources
    listed in the ``sources.tsv`` beside it count too, with 0 items when they never
    published), scaled to average 1."""
    opener = gzip.open if path.endswith(".gz") else open
    counts: dict[str, int] = {}
    with opener(path, "rt") as f:
        for line in f:
            sid = line.split("\t", 1)[0]
            if sid != "source_id":
                counts[sid] = counts.get(sid, 0) + 1
    listed = os.path.join(os.path.dirname(path), "sources.tsv")
    if os.path.isfile(listed):
        with open(listed) as f:
            for line in f:
                sid = line.split("\t", 1)[0]
                if sid and sid != "source_id":
                    counts.setdefault(sid, 0)
    pool = [counts[k] for k in sorted(counts)]
    rng = random.Random(f"rates-{seed}")
    drawn = [float(rng.choice(pool)) for _ in range(feeds)]
    mean = sum(drawn) / len(drawn) if drawn else 0.0
    return [w / mean for w in drawn] if mean > 0 else [1.0] * feeds


_ITEM_DATE = re.compile(rb"<(pubDate|published|updated)>[^<]*</\1>")
QUIET_GAP = 60 * 86400.0  # the spacing of the served history of a feed that never publishes


def redate(feed: Feed, per_second: float, now: datetime, rng: random.Random) -> None:
    """Date the items ``feed`` starts with as a feed publishing ``per_second`` items would
    show them (the newest about one gap ago, then one gap apart, at most ``QUIET_GAP``), so
    a poller learns its rate from the first poll as it would from a real feed."""
    gap = min(1.0 / per_second, QUIET_GAP) if per_second > 0 else QUIET_GAP
    rss = feed.kind == "rss"
    start = feed.body.find(b"<item>" if rss else b"<entry>")
    if start < 0:
        return
    head, items = feed.body[:start], feed.body[start:]
    k = -1
    when = now

    def one(m: re.Match[bytes]) -> bytes:
        nonlocal k, when
        tag = m.group(1)
        if tag != b"updated":  # RSS pubDate, Atom published (updated: the same time)
            k += 1
            when = now - timedelta(seconds=gap * (k + rng.random()))
        text = format_datetime(when, usegmt=True) if rss else when.isoformat()
        return b"<%s>%s</%s>" % (tag, text.encode(), tag)

    feed.body = head + _ITEM_DATE.sub(one, items)


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    corpus = generate(args.feeds, args.seed, compress=args.gzip)
    cache_control = "max-age=60" if args.hints else None
    if not args.hints:  # RSS <ttl>30</ttl> asks for 30 minutes between polls
        for f in corpus.feeds:
            f.body = f.body.replace(b"<ttl>30</ttl>\n", b"", 1)
            f.etag = '"' + hashlib.sha1(f.body).hexdigest()[:20] + '"'
            if args.gzip:
                f.gzipped = gzip.compress(f.body, 6, mtime=0)
    weights = rate_weights(args.rates_from, args.feeds, args.seed) if args.rates_from else None
    if weights is not None:
        per_change = (1 + args.max_new) / 2  # new items per change, on average
        rng, now = random.Random(f"redate-{args.seed}"), datetime.now(UTC)
        for f, w in zip(corpus.feeds, weights, strict=True):
            p = min(1.0, args.change_share * w)
            per_s = p * per_change / args.change_every if args.change_every > 0 else 0.0
            redate(f, per_s, now, rng)
            f.etag = '"' + hashlib.sha1(f.body).hexdigest()[:20] + '"'
            if args.gzip:
                f.gzipped = gzip.compress(f.body, 6, mtime=0)
    routes: dict[str, _Route] = {
        f.path: _SoakRoute(f, LAST_MODIFIED, cache_control) for f in corpus.feeds
    }
    stats = _SoakStats()
    changer = Changer(
        corpus.feeds,
        routes,
        stats,
        seed=args.seed,
        share=args.change_share,
        max_new=args.max_new,
        hit_share=args.hit_share,
        cache_control=cache_control,
        compress=args.gzip,
        weights=weights,
        fresh_names=args.fresh_names,
    )
    servers: list[asyncio.Server] = []
    hosts: list[tuple[str, int]] = []
    arrivals: list[tuple[float, str, str]] = []

    slow = frozenset(host_ip(k) for k in range(args.hosts - args.slow_hosts, args.hosts))
    failing = frozenset(
        host_ip(k)
        for k in range(
            args.hosts - args.slow_hosts - args.failing_hosts, args.hosts - args.slow_hosts
        )
    )

    def proto() -> _HTTP:
        if args.log_requests or slow or failing:
            return _LoggingHTTP(routes, stats, arrivals, slow, args.slow_delay, failing)
        return _HTTP(routes, stats)

    for k in range(args.hosts):
        ip = host_ip(k)
        want = args.port or (hosts[0][1] if hosts else 0)  # one port everywhere when free
        try:
            srv = await loop.create_server(proto, ip, want, backlog=256)
        except OSError:
            if args.port:
                raise
            srv = await loop.create_server(proto, ip, 0, backlog=256)
        servers.append(srv)
        hosts.append((ip, srv.sockets[0].getsockname()[1]))

    done = loop.create_future()

    def stop(why: str) -> None:
        if not done.done():
            done.set_result(why)

    loop.call_later(args.lifetime, stop, "lifetime")
    parent = os.getppid()

    def check_parent() -> None:
        if os.getppid() != parent:
            stop("parent died")
        else:
            loop.call_later(1.0, check_parent)

    loop.call_later(1.0, check_parent)

    def change() -> None:
        changer.tick()
        loop.call_later(args.change_every, change)

    if args.change_every > 0:
        loop.call_later(args.change_start + args.change_every, change)
    if args.watch_stdin:
        fd = sys.stdin.fileno()

        def on_stdin() -> None:
            if not os.read(fd, 4096):
                loop.remove_reader(fd)
                stop("stdin closed")

        loop.add_reader(fd, on_stdin)

    ready = {
        "hosts": hosts,
        "feeds": len(corpus.feeds),
        "bytes": sum(len(f.body) for f in corpus.feeds),
        "items": corpus.total_items,
        "atom": corpus.atom,
        "min_bytes": corpus.stats["min_bytes"],
        "max_bytes": corpus.stats["max_bytes"],
        "titles": corpus.titles_from,
        "gzip": args.gzip,
        "hints": args.hints,
        "pid": os.getpid(),
    }
    print(json.dumps(ready), flush=True)
    why = await done
    for srv in servers:
        srv.close()
    if args.log_requests:
        with open(args.log_requests, "w") as log:
            log.writelines(f"{t:.4f} {ip} {path}\n" for t, ip, path in arrivals)
        with open(args.log_requests + ".hits", "w") as log:
            log.writelines(f"{t:.3f}\t{path}\t{title}\n" for t, path, title in changer.hits)
        with open(args.log_requests + ".items", "w") as log:
            log.writelines(
                f"{t:.4f}\t{path}\t{int(hit)}\t{link}\n" for t, path, hit, link in changer.items
            )
    print(f"soakserver: stopping ({why}); {stats.as_json().decode()}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--hosts", type=int, default=250, help=f"loopback addresses (≤ {MAX_HOSTS})")
    ap.add_argument("--port", type=int, default=0, help="0: any free port")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gzip", action="store_true", help="serve gzip to clients that accept it")
    ap.add_argument("--hints", action="store_true", help="send max-age=60 and RSS <ttl>30</ttl>")
    ap.add_argument("--change-every", type=float, default=10.0, help="seconds; 0: never")
    ap.add_argument(
        "--change-start", type=float, default=0.0, help="extra delay before the first change"
    )
    ap.add_argument("--change-share", type=float, default=0.02, help="feeds changed per tick")
    ap.add_argument("--max-new", type=int, default=3, help="new items per change: 1..this")
    ap.add_argument("--hit-share", type=float, default=0.05, help="new items that match")
    ap.add_argument(
        "--fresh-names",
        type=int,
        default=0,
        help="made-up names added to each headline (not a hit's): the vocabulary never ends,"
        " as in real feeds, so every bounded per-word cache of the daemon fills up",
    )
    ap.add_argument(
        "--rates-from",
        metavar="TIMELINE",
        help="feeds publish at rates drawn from this timeline's per-feed item counts"
        " (e.g. ../shared/corpus/timelines/items-2023-02-08_2023-09-30.tsv.gz)",
    )
    ap.add_argument("--lifetime", type=float, default=3600.0, help="seconds before it exits")
    ap.add_argument("--slow-hosts", type=int, default=0, help="the last K hosts answer late")
    ap.add_argument("--slow-delay", type=float, default=8.0, help="seconds (--slow-hosts)")
    ap.add_argument(
        "--failing-hosts", type=int, default=0, help="the K hosts before those answer 503"
    )
    ap.add_argument("--watch-stdin", action="store_true", help="exit when stdin hits EOF")
    ap.add_argument(
        "--log-requests",
        metavar="FILE",
        help="at exit: 'time ip path' per request, FILE.hits: the matching items published,"
        " FILE.items: every new item (time, path, matches 0/1, link)",
    )
    args = ap.parse_args(argv)
    if not 1 <= args.hosts <= MAX_HOSTS:
        ap.error(f"--hosts must be 1..{MAX_HOSTS}")
    if args.max_new < 1:
        ap.error("--max-new must be ≥ 1")
    if not 0 <= args.slow_hosts + args.failing_hosts <= args.hosts:
        ap.error("--slow-hosts + --failing-hosts must be 0..--hosts")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
