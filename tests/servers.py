"""Real servers on 127.0.0.1 (port 0) for tests: feeds over HTTP, a webhook receiver.

Nothing here is a mock: the code under test opens real sockets to these servers.
"""

from __future__ import annotations

import functools
import hashlib
import json
import socket
import ssl
import struct
import threading
import time
import zlib
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

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
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

        self.server = _Server((host, 0), _Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

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
        self.delay = 0.0  # seconds to wait before answering (and recording) each post
        self.received: list[dict[str, Any]] = []

        def hook(h: BaseHTTPRequestHandler) -> None:
            if self.delay:
                time.sleep(self.delay)
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


# --- Misbehaving servers for the fetcher's tests -------------------------------------------
# Each handler is bounded in time and stops as soon as the client goes away, so that
# ``HTTPTestServer.close()`` (which joins the handler threads) returns promptly.


def _client_gone(h: BaseHTTPRequestHandler, wait: float) -> bool:
    """Wait up to ``wait`` seconds for the client to close its side; True if it did."""
    sock: socket.socket = h.connection
    sock.settimeout(wait)
    try:
        return sock.recv(4096) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def trickle(interval: float = 0.3, size: int = 200, limit: float = 15.0) -> Handler:
    """Valid headers (Content-Length: size), then the body one byte every ``interval``."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        try:
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Content-Length", str(size))
            h.end_headers()
            h.wfile.flush()
            end = time.monotonic() + limit
            for _ in range(size):
                if time.monotonic() > end:
                    return
                h.wfile.write(b"x")
                h.wfile.flush()
                if _client_gone(h, interval):
                    return
        except OSError:
            return

    return handler


def trickle_headers(interval: float = 0.3, limit: float = 15.0) -> Handler:
    """A status line, then one header trickled a byte every ``interval``, never finished."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        try:
            h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            h.wfile.flush()
            end = time.monotonic() + limit
            while time.monotonic() < end:
                h.wfile.write(b"a")
                h.wfile.flush()
                if _client_gone(h, interval):
                    return
        except OSError:
            return

    return handler


def silent(limit: float = 15.0) -> Handler:
    """Read the request and never answer; return when the client hangs up."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if _client_gone(h, 0.1):
                return

    return handler


def endless(chunk: bytes = b"<item>x</item>" * 4096, limit: float = 15.0) -> Handler:
    """A 200 without Content-Length that streams ``chunk`` until the client hangs up."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        try:
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Connection", "close")
            h.end_headers()
            end = time.monotonic() + limit
            while time.monotonic() < end:
                h.wfile.write(chunk)
        except OSError:
            return

    return handler


def blob(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None, delay: float = 0.0
) -> Handler:
    """A fixed one-shot response (after ``delay`` s); a client hanging up early is no error."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        if delay:
            time.sleep(delay)
        try:
            h.send_response(status)
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            h.wfile.flush()
        except OSError:
            return

    return handler


@functools.cache
def gzip_zeros(size: int) -> bytes:
    """A valid gzip member of ``size`` zero bytes, ~1 KB on the wire per MiB; built once per
    size and process, in ~0.5 ms per MiB (the CRC) instead of ~7 ms (compressing it all).

    Each MiB is compressed alone (``Z_FULL_FLUSH`` resets deflate's window), so every MiB
    compresses to the same bytes: one compressed MiB is repeated, then the remainder, an
    empty final block and the trailer (CRC-32 and size of what it inflates to).
    """
    mib = 1 << 20
    full, rest = divmod(size, mib)
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    header = comp.compress(b"")
    block = comp.compress(bytes(mib)) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.compress(bytes(rest)) + comp.flush(zlib.Z_FULL_FLUSH) if rest else b""
    last = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty final block
    crc = 0
    zeros = bytes(mib)
    for _ in range(full):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(rest), crc)
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return b"".join([header, block * full, tail, last, trailer])


class SilentListener:
    """A TCP port that completes the handshake (kernel backlog) but never accepts or answers."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.sock.close()


def closed_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- TLS ----------------------------------------------------------------------------------


def serve_tls(server: HTTPTestServer, context: ssl.SSLContext) -> HTTPTestServer:
    """Make ``server`` (an HTTPTestServer or WebhookReceiver, just built) speak HTTPS.

    Each accepted connection is wrapped with ``context``; the handshake runs in the handler
    thread on its first read, so a client that refuses the certificate only ends its own
    connection. ``server.url()`` still says http://: build https URLs with ``https_url``.
    """
    inner = server.server
    plain_get_request = inner.get_request

    def get_request() -> tuple[socket.socket, Any]:
        sock, addr = plain_get_request()
        return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    inner.get_request = get_request  # type: ignore[method-assign]
    inner.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    return server


def https_url(server: HTTPTestServer, path: str, host: str = "localhost") -> str:
    return f"https://{host}:{server.port}{path}"
