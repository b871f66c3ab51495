"""Generated feeds served from memory on many loopback addresses, for bench/cycle.py.

Usage (from the repo root; normally bench/cycle.py starts it for you):

    .venv/bin/python bench/feedserver.py --feeds 1000 [--hosts 50] [--seed 1] [--lifetime 3600]

It pre-generates every feed body once (deterministically from ``--seed``), binds one
listening socket on each of 127.0.0.2 … 127.0.0.(1+hosts) and prints one JSON line on stdout
when it is ready: ``{"hosts": [["127.0.0.2", port], ...], "feeds": N, "bytes": ..., ...}``.
Feed ``i`` (1-based) is ``http://<host (i-1) % hosts>:<port>/feed-NNNN.xml`` (``feed_urls``).

Why many hosts: weightwatch never sends two requests at once to one host name, so 1000
feeds on a single address would measure its politeness, not its speed. Spread over 50
addresses, 8 workers always find a host that is free.

The server is one asyncio event loop (no threads) with a hand-written HTTP/1.1 reader:
keep-alive, ``ETag``/``If-None-Match`` and ``Last-Modified``/``If-Modified-Since`` (a match
answers 304 without a body), ``Content-Length`` on every answer, optional gzip
(``--gzip``: bodies are compressed once at start-up and sent to clients that accept it).
``GET /__stats`` returns its request counts and its own CPU seconds, so a benchmark can
check that the server is not the bottleneck. ``GET /__validators/off`` makes it answer every
feed with the same 200 and no ETag or Last-Modified (never a 304), as many real servers do,
until ``GET /__validators/on``.

It stops by itself: after ``--lifetime`` seconds, when its parent process dies, and (with
``--watch-stdin``, as bench/cycle.py runs it) when its stdin reaches end-of-file.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import hashlib
import json
import os
import random
import resource
import socket
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

HEADLINES = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "headlines"
UCI_CSV = HEADLINES / "uci-news-aggregator" / "uci_news_aggregator_first_6366.csv"
GOOGLE_TSV = HEADLINES / "google-news-top-stories" / "google_news_story_groups_2022-07-28.tsv"

FIRST_HOST = 2  # 127.0.0.2: leave 127.0.0.1 to everything else on the machine
MIN_ITEMS, MAX_ITEMS = 20, 50
MIN_BYTES, MAX_BYTES = 20 * 1024, 120 * 1024
ATOM_SHARE = 0.2  # one feed in five is Atom 1.0, the rest RSS 2.0
HIT_SHARE = 0.01  # items whose title matches the example rule (weights AND release ...)
LAST_MODIFIED = "Sun, 01 Nov 2026 08:00:00 GMT"


# --- feeds --------------------------------------------------------------------------------


def feed_path(i: int) -> str:
    """The URL path of feed ``i`` (1-based)."""
    return f"/feed-{i:04d}.xml"


def feed_urls(hosts: Sequence[tuple[str, int]], n: int) -> list[str]:
    """The URL of every feed, spread round-robin over ``hosts``."""
    return [
        f"http://{hosts[(i - 1) % len(hosts)][0]}:{hosts[(i - 1) % len(hosts)][1]}{feed_path(i)}"
        for i in range(1, n + 1)
    ]


# Syllables of made-up names (bench/story_cost.py, soakserver --fresh-names): words no
# corpus headline has, so each one is new to every per-word cache.
SYLLABLES = [
    "ka",
    "ro",
    "mi",
    "zu",
    "te",
    "la",
    "vo",
    "shi",
    "an",
    "del",
    "bur",
    "qua",
    "nex",
    "tor",
    "pli",
    "gan",
    "ve",
    "sor",
    "lu",
    "xa",
]


def load_headlines() -> tuple[list[str], str]:
    """Real headlines from ../shared/corpus/headlines when present, else generated ones."""
    titles: list[str] = []
    if UCI_CSV.is_file():
        with UCI_CSV.open(encoding="utf-8", newline="") as f:
            titles += [row["TITLE"] for row in csv.DictReader(f) if row.get("TITLE")]
    if GOOGLE_TSV.is_file():
        with GOOGLE_TSV.open(encoding="utf-8", newline="") as f:
            titles += [r["headline"] for r in csv.DictReader(f, delimiter="\t") if r["headline"]]
    if titles:
        return titles, "shared/corpus/headlines (UCI News Aggregator + Google News)"
    rng = random.Random(7)
    words = _FALLBACK_WORDS.split()
    made = []
    for _ in range(5000):
        w = rng.sample(words, rng.randint(5, 11))
        made.append(" ".join(w).capitalize())
    return made, "generated (shared/corpus/headlines not found)"


_FALLBACK_WORDS = """
market shares rise fall bank central rate inflation report quarter profit loss company chief
executive says plans new deal talks government minister election vote court ruling judge case
police city council school health study finds researchers scientists climate storm weather
record season team wins game coach player league final cup film star music album tour show
award festival phone launch update software data privacy security breach network service users
price oil gas energy power plant workers union strike jobs economy growth trade tariff exports
""".strip()

_HIT_TITLES = [
    "{org} will release open-weight {model} model weights next week",
    "{org} publishes the weights of {model}, an open-weight release",
    "Open-weight {model}: {org} release puts model weights on the hub",
    "{org} to release {model} weights under a permissive licence",
]
_ORGS = ["Mistral", "Meta", "Alibaba", "DeepSeek", "Allen AI", "Google", "Cohere", "TII"]
_MODELS = ["Llama 5", "Qwen 4", "Olmo 3", "Gemma 4", "Falcon 3", "Command R2", "Mixtral 2"]
_AUTHORS = ["Ana Ruiz", "Ben Okafor", "Chen Wei", "Dana Holt", "Eli Novak", "Farah Said"]
_CATEGORIES = ["World", "Business", "Technology", "Science", "Culture", "Sport", "Health"]


@dataclass
class Feed:
    path: str
    body: bytes
    content_type: str
    etag: str
    kind: str  # "rss" or "atom"
    items: int
    gzipped: bytes | None = None


@dataclass
class Corpus:
    feeds: list[Feed]
    titles_from: str
    total_bytes: int = 0
    total_items: int = 0
    atom: int = 0
    stats: dict[str, int] = field(default_factory=dict)


def _sentences(rng: random.Random, titles: list[str], n: int) -> list[str]:
    words = [w for t in titles[:3000] for w in t.split() if w.isalpha()]
    out = []
    for _ in range(n):
        s = " ".join(rng.choice(words) for _ in range(rng.randint(8, 24)))
        out.append(s[:1].upper() + s[1:] + rng.choice([".", ".", ".", "?", ", he said."]))
    return out


def _paragraphs(rng: random.Random, sentences: list[str], target: int) -> str:
    """HTML: <p> paragraphs of sentences with some links and emphasis, about target chars."""
    parts: list[str] = []
    size = 0
    while size < target:
        ss = rng.sample(sentences, rng.randint(2, 6))
        r = rng.random()
        if r < 0.15:
            words = ss[0].split()
            k = rng.randrange(max(1, len(words) - 3))
            anchor = " ".join(words[k : k + 3])
            href = f"https://news.example.com/{rng.randrange(10**6)}?ref=feed&amp;src=rss"
            ss[0] = ss[0].replace(anchor, f'<a href="{href}">{anchor}</a>', 1)
        elif r < 0.25:
            ss[-1] = f"<em>{ss[-1]}</em>"
        elif r < 0.3:
            ss[0] = f"<strong>{ss[0]}</strong>"
        p = "<p>" + " ".join(ss) + "</p>"
        parts.append(p)
        size += len(p)
    if rng.random() < 0.3:
        img = f"https://img.example.com/{rng.randrange(10**6)}.jpg"
        parts.insert(0, f'<img src="{img}" alt="" width="640" height="360"/>')
    return "\n".join(parts)


def _title(rng: random.Random, titles: list[str]) -> str:
    if rng.random() < HIT_SHARE:
        tmpl = rng.choice(_HIT_TITLES)
        return tmpl.format(org=rng.choice(_ORGS), model=rng.choice(_MODELS))
    return rng.choice(titles)


def _rss(rng: random.Random, i: int, n_items: int, per_item: int, titles, sentences) -> str:
    base = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    site = f"https://site{i:04d}.example.com"
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"<title>Example News {i:04d}</title>",
        f"<link>{site}/</link>",
        f'<atom:link href="{site}/feed.xml" rel="self" type="application/rss+xml"/>',
        "<description>Generated feed for the weightwatch poll-cycle benchmark</description>",
        "<language>en-us</language>",
        f"<lastBuildDate>{format_datetime(base, usegmt=True)}</lastBuildDate>",
        "<generator>weightwatch bench/feedserver.py</generator>",
        "<ttl>30</ttl>",
    ]
    cdata = rng.random() < 0.5  # half the feeds use CDATA, half entity-escaped HTML
    full = rng.random() < 0.3  # some carry content:encoded besides a short description
    items = []
    for k in range(n_items):
        when = base - timedelta(minutes=37 * k + rng.randrange(30))
        title = _title(rng, titles)
        slug = "-".join(w.lower() for w in title.split()[:6] if w.isalnum())
        link = f"{site}/{when:%Y/%m/%d}/{slug or 'story'}-{k}"
        html = _paragraphs(rng, sentences, per_item)
        it = [
            "<item>",
            f"<title>{escape(title)}</title>",
            f"<link>{escape(link)}</link>",
            (
                f'<guid isPermaLink="false">{site}/id/{i:04d}-{k:03d}</guid>'
                if k % 3
                else f"<guid>{escape(link)}</guid>"
            ),
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>",
            f"<dc:creator>{rng.choice(_AUTHORS)}</dc:creator>",
            f"<category>{rng.choice(_CATEGORIES)}</category>",
        ]
        if full:
            short = html.split("</p>", 1)[0] + "</p>"
            it.append(f"<description>{escape(short)}</description>")
            it.append(f"<content:encoded><![CDATA[{html}]]></content:encoded>")
        elif cdata:
            it.append(f"<description><![CDATA[{html}]]></description>")
        else:
            it.append(f"<description>{escape(html)}</description>")
        it.append("</item>")
        items.append("\n".join(it))
    return "\n".join([*head, *items, "</channel>", "</rss>", ""])


def _atom(rng: random.Random, i: int, n_items: int, per_item: int, titles, sentences) -> str:
    base = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    site = f"https://blog{i:04d}.example.org"
    head = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">',
        f"<title>Example Blog {i:04d}</title>",
        f'<link rel="alternate" type="text/html" href="{site}/"/>',
        f'<link rel="self" type="application/atom+xml" href="{site}/atom.xml"/>',
        f"<id>tag:blog{i:04d}.example.org,2026:feed</id>",
        f"<updated>{base.isoformat()}</updated>",
        "<author><name>Example Blog</name></author>",
        '<generator uri="https://example.org/">bench/feedserver.py</generator>',
    ]
    entries = []
    for k in range(n_items):
        when = base - timedelta(minutes=53 * k + rng.randrange(30))
        title = _title(rng, titles)
        link = f"{site}/posts/{when:%Y-%m-%d}-{k}"
        html = _paragraphs(rng, sentences, per_item)
        summary = html.split("</p>", 1)[0] + "</p>"
        entries.append(
            "\n".join(
                [
                    "<entry>",
                    f'<title type="html">{escape(title)}</title>',
                    f'<link rel="alternate" type="text/html" href={quoteattr(link)}/>',
                    f"<id>tag:blog{i:04d}.example.org,2026:post-{k}</id>",
                    f"<published>{when.isoformat()}</published>",
                    f"<updated>{when.isoformat()}</updated>",
                    f"<author><name>{rng.choice(_AUTHORS)}</name></author>",
                    f'<category term="{rng.choice(_CATEGORIES)}"/>',
                    f'<summary type="html">{escape(summary)}</summary>',
                    f'<content type="html">{escape(html)}</content>',
                    "</entry>",
                ]
            )
        )
    return "\n".join([*head, *entries, "</feed>", ""])


def generate(n: int, seed: int = 1, *, compress: bool = False) -> Corpus:
    """Every feed body, deterministic for (n, seed): 20–50 items and 20–120 KB each."""
    titles, titles_from = load_headlines()
    rng = random.Random(seed)
    sentences = _sentences(rng, titles, 4000)
    feeds = []
    for i in range(1, n + 1):
        frng = random.Random(f"{seed}-{i}")
        n_items = frng.randint(MIN_ITEMS, MAX_ITEMS)
        target = frng.randint(int(MIN_BYTES * 1.06), int(MAX_BYTES * 0.94))
        atom = frng.random() < ATOM_SHARE
        make = _atom if atom else _rss
        # ~450 bytes of markup per item besides its text; one rescale brings the size close
        per_item = max(150, (target - 900) // n_items - 450)
        for _ in range(6):
            text = make(random.Random(f"{seed}-{i}-body"), i, n_items, per_item, titles, sentences)
            body_b = text.encode("utf-8")
            if abs(len(body_b) - target) < 0.05 * target:  # so within 20–120 KB
                break
            per_item = max(150, int(per_item * target / len(body_b)))
        body = body_b
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        ctype = "application/atom+xml" if atom else "application/rss+xml"
        feeds.append(
            Feed(
                path=feed_path(i),
                body=body,
                content_type=f"{ctype}; charset=utf-8",
                etag=etag,
                kind="atom" if atom else "rss",
                items=n_items,
                gzipped=gzip.compress(body, 6, mtime=0) if compress else None,
            )
        )
    corpus = Corpus(feeds, titles_from)
    corpus.total_bytes = sum(len(f.body) for f in feeds)
    corpus.total_items = sum(f.items for f in feeds)
    corpus.atom = sum(1 for f in feeds if f.kind == "atom")
    sizes = sorted(len(f.body) for f in feeds) or [0]
    corpus.stats = {"min_bytes": sizes[0], "max_bytes": sizes[-1]}
    return corpus


# --- the server ---------------------------------------------------------------------------


class _Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.connections = 0
        self.body_bytes = 0
        self.validators = True  # False after GET /__validators/off

    def as_json(self) -> bytes:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return json.dumps(
            {
                "requests": self.requests,
                "status": {str(k): v for k, v in sorted(self.by_status.items())},
                "connections": self.connections,
                "body_bytes": self.body_bytes,
                "cpu": round(ru.ru_utime + ru.ru_stime, 4),
                "maxrss_kb": ru.ru_maxrss,
            }
        ).encode()


def _answer(status: str, headers: Iterable[tuple[str, str]], length: int) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Server: ww-bench", *(f"{k}: {v}" for k, v in headers)]
    lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Route:
    """Pre-built answers for one feed."""

    def __init__(self, feed: Feed, validators: bool = True) -> None:
        common = [("ETag", feed.etag), ("Last-Modified", LAST_MODIFIED)] if validators else []
        self.etag = feed.etag
        self.body = feed.body
        self.ok = _answer(
            "200 OK",
            [("Content-Type", feed.content_type), *common, ("Cache-Control", "max-age=60")],
            len(feed.body),
        )
        self.gz = feed.gzipped
        self.ok_gz = (
            _answer(
                "200 OK",
                [
                    ("Content-Type", feed.content_type),
                    ("Content-Encoding", "gzip"),
                    ("Vary", "Accept-Encoding"),
                    *common,
                    ("Cache-Control", "max-age=60"),
                ],
                len(feed.gzipped),
            )
            if feed.gzipped is not None
            else None
        )
        self.not_modified = _answer("304 Not Modified", common, 0)
        # No validators (``/__validators/off``): always the same 200, never a 304.
        self.plain = _Route(feed, validators=False) if validators else None


_NOT_FOUND = _answer("404 Not Found", [("Content-Type", "text/plain")], 10) + b"not found\n"
_BAD = _answer("400 Bad Request", [("Connection", "close")], 0)
_MAX_HEAD = 64 * 1024


class _HTTP(asyncio.Protocol):
    def __init__(self, routes: dict[str, _Route], stats: _Stats) -> None:
        self.routes = routes
        self.stats = stats  # stats.validators: False answers every feed without validators
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.stats.connections += 1
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > _MAX_HEAD:
                    self._send([_BAD], 400, 0, close=True)
                return
            head, self.buf = self.buf[:end], self.buf[end + 4 :]
            if not self._handle(head):
                return

    def _handle(self, head: bytes) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            self._send([_BAD], 400, 0, close=True)
            return False
        inm = ims = None
        gz = False
        close = version == "HTTP/1.0"
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "if-none-match":
                inm = value.strip()
            elif name == "if-modified-since":
                ims = value.strip()
            elif name == "accept-encoding":
                gz = "gzip" in value.lower()
            elif name == "connection":
                v = value.strip().lower()
                close = v == "close" or (close and v != "keep-alive")
        path = target.split("?", 1)[0]
        send_body = method != "HEAD"
        if path == "/__stats":
            body = self.stats.as_json()
            hdr = _answer("200 OK", [("Content-Type", "application/json")], len(body))
            self._send([hdr, body], 200, len(body), close)
            return not close
        if path in ("/__validators/on", "/__validators/off"):
            self.stats.validators = path.endswith("/on")
            hdr = _answer("204 No Content", [], 0)
            self._send([hdr], 204, 0, close)
            return not close
        route = self.routes.get(path)
        if route is not None and not self.stats.validators and route.plain is not None:
            route, inm, ims = route.plain, None, None
        if route is None or method not in ("GET", "HEAD"):
            self._send([_NOT_FOUND], 404, 10, close)
        elif (inm is not None and route.etag in (t.strip() for t in inm.split(","))) or (
            inm is None and ims == LAST_MODIFIED
        ):
            self._send([route.not_modified], 304, 0, close)
        elif gz and route.gz is not None and route.ok_gz is not None:
            parts = [route.ok_gz, route.gz] if send_body else [route.ok_gz]
            self._send(parts, 200, len(route.gz), close)
        else:
            parts = [route.ok, route.body] if send_body else [route.ok]
            self._send(parts, 200, len(route.body), close)
        return not close

    def _send(self, parts: list[bytes], status: int, n: int, close: bool) -> None:
        self.stats.requests += 1
        self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
        self.stats.body_bytes += n
        assert self.transport is not None
        self.transport.writelines(parts)
        if close:
            self.transport.close()


async def serve(
    corpus: Corpus, n_hosts: int, lifetime: float, watch_stdin: bool, port: int = 0
) -> None:
    loop = asyncio.get_running_loop()
    routes = {f.path: _Route(f) for f in corpus.feeds}
    stats = _Stats()
    servers: list[asyncio.Server] = []
    hosts: list[tuple[str, int]] = []
    for k in range(n_hosts):
        ip = f"127.0.0.{FIRST_HOST + k}"
        want = port or (hosts[0][1] if hosts else 0)  # the same port everywhere when free
        try:
            srv = await loop.create_server(lambda: _HTTP(routes, stats), ip, want, backlog=256)
        except OSError:
            if port:
                raise
            srv = await loop.create_server(lambda: _HTTP(routes, stats), ip, 0, backlog=256)
        servers.append(srv)
        hosts.append((ip, srv.sockets[0].getsockname()[1]))

    done = loop.create_future()

    def stop(why: str) -> None:
        if not done.done():
            done.set_result(why)

    loop.call_later(lifetime, stop, "lifetime")
    parent = os.getppid()

    def check_parent() -> None:
        if os.getppid() != parent:
            stop("parent died")
        else:
            loop.call_later(1.0, check_parent)

    loop.call_later(1.0, check_parent)
    if watch_stdin:
        fd = sys.stdin.fileno()

        def on_stdin() -> None:
            if not os.read(fd, 4096):
                loop.remove_reader(fd)
                stop("stdin closed")

        loop.add_reader(fd, on_stdin)

    ready = {
        "hosts": hosts,
        "feeds": len(corpus.feeds),
        "bytes": corpus.total_bytes,
        "items": corpus.total_items,
        "atom": corpus.atom,
        "min_bytes": corpus.stats["min_bytes"],
        "max_bytes": corpus.stats["max_bytes"],
        "titles": corpus.titles_from,
        "gzip": any(f.gzipped is not None for f in corpus.feeds),
        "pid": os.getpid(),
    }
    print(json.dumps(ready), flush=True)
    why = await done
    for srv in servers:
        srv.close()
    print(f"feedserver: stopping ({why})", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--hosts", type=int, default=50, help="loopback addresses (127.0.0.2 on)")
    ap.add_argument("--port", type=int, default=0, help="0: any free port")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gzip", action="store_true", help="serve gzip to clients that accept it")
    ap.add_argument("--lifetime", type=float, default=3600.0, help="seconds before it exits")
    ap.add_argument("--watch-stdin", action="store_true", help="exit when stdin hits EOF")
    args = ap.parse_args(argv)
    if not 1 <= args.hosts <= 250:
        ap.error("--hosts must be 1..250")
    corpus = generate(args.feeds, args.seed, compress=args.gzip)
    asyncio.run(serve(corpus, args.hosts, args.lifetime, args.watch_stdin, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
