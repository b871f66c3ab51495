"""``weightwatch demo``: the real pipeline against bundled feeds on a loopback server.

No internet needed. Three sample sources are served from 127.0.0.1; the first poll records
what is there, then the feeds gain new items and the second poll alerts through Apprise to
``console://`` (this terminal). A third poll shows nothing is alerted twice.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from weightwatch import config as config_mod
from weightwatch.service.once import run_once

FEEDS = {
    "/lab-blog.xml": ("lab-blog", "application/rss+xml"),
    "/hn.xml": ("hn", "application/rss+xml"),
    "/technews.json": ("technews", "application/feed+json"),
}

CONFIG = """\
[settings]
database = "{db}"
interval = "15m"
timeout = "10s"

[channels]
terminal = "console://"

[[source]]
name = "lab-blog"
url = "{base}/lab-blog.xml"
tags = ["labs"]

[[source]]
name = "hn"
url = "{base}/hn.xml"

[[source]]
name = "technews"
url = "{base}/technews.json"

[[rule]]
name = "openai-open-weights"
query = 'OpenAI AND ("release weights" OR "open-weight" OR "open-source GPT-4") AND NOT "Weight Watchers"'
notify = ["terminal"]

[[rule]]
name = "any-lab-weights"
query = 'weights AND release AND NOT "Weight Watchers"'
notify = ["terminal"]
"""


class _DemoServer:
    def __init__(self) -> None:
        self.version = "v1"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                entry = FEEDS.get(self.path)
                if entry is None:
                    self.send_error(404)
                    return
                name, ctype = entry
                suffix = "json" if ctype.endswith("json") else "xml"
                body = _feed_bytes(f"{name}.{outer.version}.{suffix}")
                etag = f'"{name}-{outer.version}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _feed_bytes(name: str) -> bytes:
    return resources.files("weightwatch.service").joinpath("demo_feeds", name).read_bytes()


def run_demo(out: TextIO, *, workdir: Path | None = None) -> int:
    """Run the three polls, narrating to ``out``; returns the number of alerts sent."""
    server = _DemoServer()
    temp = None
    if workdir is None:
        temp = tempfile.TemporaryDirectory(prefix="weightwatch-demo-")
        workdir = Path(temp.name)
    say: Callable[[str], None] = lambda text: print(text, file=out, flush=True)  # noqa: E731
    try:
        text = CONFIG.format(db=(workdir / "demo.db").as_posix(), base=server.base)
        (workdir / "demo.toml").write_text(text, encoding="utf-8")
        cfg = config_mod.load(workdir / "demo.toml")
        say(f"weightwatch demo: 3 sample feeds served on {server.base}, config {workdir}/demo.toml")
        say("Rules: 'openai-open-weights' and 'any-lab-weights'; channel: console:// (here).\n")

        say("1) First poll: sources are new, so their items are recorded without alerting.")
        summary = run_once(cfg)
        say(_indent(summary.render()))

        server.version = "v2"
        say("\n2) The feeds gained items: an OpenAI open-weights post (also on HN with tracking")
        say("   junk in the link, and on a news site under a near-identical title), a Llama 5")
        say("   weights story, and a Weight Watchers story that the rules exclude.")
        summary = run_once(cfg)
        sent = summary.delivery.sent
        say(_indent(summary.render()))

        say("\n3) Polling again: the servers answer 304 Not Modified and nothing is repeated.")
        summary = run_once(cfg)
        sent += summary.delivery.sent
        say(_indent(summary.render()))
        say(f"\nDone: {sent} alerts for 2 stories reported by 3 sources.")
        return sent
    finally:
        server.close()
        if temp is not None:
            temp.cleanup()


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())
