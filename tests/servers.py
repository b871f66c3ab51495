"""Real servers on 127.0.0.1 (port 0) for tests: feeds over HTTP, a webhook receiver.

Nothing here is a mock: the code under test opens real sockets to these servers.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = True  # answer If-None-Match with 304
    handler: Handler | None = None  # takes over the whole response when set


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class HTTPTestServer:
    """A programmable HTTP server: ``set(path, body)`` and point a client at ``url(path)``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[SeenRequest] = []
        self.lock = threading.Lock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path
                with outer.lock:
                    outer.requests.append(
                        SeenRequest(
                            self.command,
                            path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.monotonic(),
                        )
                    )
                    route = outer.routes.get(path) or outer.routes.get(path.split("?")[0])
                if route is None:
                    self._send(404, b"not found", "text/plain", {})
                    return
                if route.handler is not None:
                    route.handler(self)
                    return
                headers = dict(route.headers)
                if route.etag and route.status == 200:
                    tag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
                    headers.setdefault("ETag", tag)
                    if self.headers.get("If-None-Match") == headers["ETag"]:
                        self._send(304, b"", None, headers)
                        return
                self._send(route.status, route.body, route.content_type, headers)

            def _send(
                self, status: int, body: bytes, ctype: str | None, headers: dict[str, str]
            ) -> None:
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                for k, v in headers.items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304 and self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = _handle
            do_POST = _handle
            do_HEAD = _handle

        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def set(self, path: str, body: bytes | str = b"", **kw: Any) -> str:
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[path] = Route(body=body, **kw)
        return self.url(path)

    def hits(self, path: str) -> list[SeenRequest]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class WebhookReceiver(HTTPTestServer):
    """Receives Apprise ``json://127.0.0.1:PORT/hook`` posts; can fail its first K requests."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next = 0
        self.fail_status = 500
        self.received: list[dict[str, Any]] = []

        def hook(h: BaseHTTPRequestHandler) -> None:
            with self.lock:
                failing = self.fail_next > 0
                if failing:
                    self.fail_next -= 1
                body = self.requests[-1].body
                if not failing:
                    self.received.append(json.loads(body or b"{}"))
            status = self.fail_status if failing else 200
            payload = b"{}"
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)

        self.routes["/hook"] = Route(handler=hook)

    @property
    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"
