"""HTTP fetching: the only module that imports requests and urllib3.

The pure parts live next to it: ``fetch_policy`` (URL checks, Retry-After, messages) and
``watchdog`` (the deadline thread).

One ``Fetcher`` is shared by the worker threads of a poll. Each thread gets its own
``requests.Session`` (Session thread-safety is not documented), with an ``HTTPAdapter`` whose
pool holds ``pool_size`` connections per host and which never retries (the scheduler
reschedules a failed source instead of sleeping in a worker).

Every fetch has one TOTAL deadline (``timeout``) covering connection, the wait for headers,
redirects and the body. urllib3's read timeout applies to each socket read, so a server that
trickles a byte every few hundred milliseconds would otherwise hold a worker for minutes. The
deadline is enforced three ways:

* each request is sent with connect and read timeouts equal to the time left;
* before each body read the socket timeout is lowered to the time left, and the loop checks
  the clock between reads;
* one watchdog thread shared by all fetches (``sources.watchdog.Watchdog``: a heap of
  deadlines, started on demand, gone after a minute without any) wakes at the earliest
  deadline and, unless that fetch has finished, shuts down every socket the fetch is using
  (``shutdown(SHUT_RDWR)``), which wakes a thread blocked in ``recv`` even while it is
  still waiting for the status line or trickled headers. The connections in use are known
  because the pools are built with a connection class that registers itself with the
  current fetch (a thread-local); a connection registered after the deadline fired is
  shut at once.

The body is read in bounded chunks with ``raw.read1(n, decode_content=True)``: urllib3 2.x
decodes at most ``n`` bytes per call, so a gzip bomb is stopped once the DECODED size passes
``max_body`` without ever holding more than the cap in memory. ``.content``, ``.text`` and
``iter_content`` are never used: they decompress everything.

Redirects are followed here, not by requests: requests reads every intermediate body with
``.content`` (unbounded), and we need each hop's status to know whether the move was
permanent.

Internal addresses (``private_addresses``, docs/reliability.md): when the fetcher refuses
them, every connection checks the address it is about to connect to, after resolving the
host itself and then connecting to exactly the addresses it checked (so a DNS answer that
changes between the check and the connect cannot slip through), and a pooled connection
checks its peer before it is used again. The host and port of the source's own URL are
exempt (with the standard web ports of that host): a user who configures
``http://127.0.0.1:8080/feed`` means it. Redirect targets are checked the same way, at
connect time. Whatever the setting, a permanent redirect from a public address to an
internal one is not reported as ``permanent_url`` (it would be remembered for good).
Through an HTTP proxy only IP literals in URLs are checked: the proxy resolves the names.

What requests reads from the environment for each request (``trust_env``: the ``*_proxy`` /
``no_proxy`` variables, ``~/.netrc`` credentials, ``REQUESTS_CA_BUNDLE`` /
``CURL_CA_BUNDLE``) is read here instead, once per scheme and host every few minutes
(``_environment``), and passed to the request: requests scanned the whole environment and
looked for ``~/.netrc`` on every request, a quarter of the CPU of a cycle of 304s.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.poolmanager import ProxyManager
from urllib3.util.connection import allowed_gai_family

from weightwatch import __version__
from weightwatch.errors import FetchError, HTTPStatusError
from weightwatch.sources.fetch_policy import (
    PRIVATE_ADDRESSES,
    address_kind,
    check_url,
    deadline_error,
    exception_chain,
    host_port,
    os_reason,
    parse_retry_after,
    private_refused,
    redact,
    refuses_private,
    status_text,
    tls_reason,
    too_large,
)
from weightwatch.sources.watchdog import Deadline, current, track

__all__ = [
    "DEFAULT_USER_AGENT",
    "Conditional",
    "Fetcher",
    "Response",
    "parse_retry_after",
]

DEFAULT_USER_AGENT = (
    f"weightwatch/{__version__} (+https://github.com/weightwatch/weightwatch; feed watcher)"
)
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
ACCEPT_ENCODING = "gzip, deflate"
MAX_REDIRECTS = 10

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_CHUNK = 64 * 1024
_REDIRECT_BODY_CAP = 64 * 1024  # read a redirect's body up to this so its connection is reused

_MiB = 1024 * 1024


@dataclass(frozen=True)
class Conditional:
    """The validators of the last 200 for a source, sent back as a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Response:
    """A usable answer: a 2xx (normally 200) with its body, or a 304 with an empty body."""

    status: int
    url: str  # final URL after redirects
    body: bytes  # decoded; b"" for 304; at most max_body bytes
    headers: dict[str, str]  # lowercased keys
    etag: str | None
    last_modified: str | None
    permanent_url: str | None  # set when every hop from the requested URL was a 301/308
    elapsed: float  # seconds


# --- where a fetch may connect ------------------------------------------------------------

_WEB_PORTS = frozenset({80, 443})


def _host_port(url: str) -> tuple[str, int]:
    """The lowercased host (no brackets, no trailing dot) and port of an http(s) URL."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return host, port


class _Guard:
    """What the connections of one fetch may reach, and where its requests went."""

    def __init__(self, refuse: bool, origin: str, source: str) -> None:
        self.refuse = refuse
        self.origin = _host_port(origin)
        self.source = source
        self.url = origin  # the hop being fetched
        self.redirected_from: str | None = None
        self.peers: list[str] = []  # the address each answered request went to ("": unknown)

    def exempt(self, host: str, port: int) -> bool:
        """The source's own host and port (or a standard web port of that host)."""
        origin_host, origin_port = self.origin
        same_host = host.strip("[]").rstrip(".").lower() == origin_host
        return same_host and (port == origin_port or port in _WEB_PORTS)

    def check(self, host: str, port: int, address: str) -> None:
        if not self.refuse or self.exempt(host, port):
            return
        kind = address_kind(address)
        if kind is not None:
            raise private_refused(
                self.url, address.split("%", 1)[0], kind, self.source, self.redirected_from
            )

    def check_url(self, url: str) -> None:
        """An IP literal in the URL, checked before any connection (also through a proxy)."""
        host, port = _host_port(url)
        self.check(host, port, host)

    def crossed_inward(self) -> bool:
        """The first request went to a public address and a later one to an internal one."""
        peers = self.peers
        return (
            len(peers) > 1
            and bool(peers[0])
            and address_kind(peers[0]) is None
            and any(address_kind(p) is not None for p in peers[1:])
        )


_guards = threading.local()  # .guard: the _Guard of the fetch running in this thread


def _peer(conn: HTTPConnection) -> str:
    sock = conn.sock
    if sock is None or conn.proxy is not None:
        return ""
    try:
        return str(sock.getpeername()[0])
    except (OSError, IndexError):
        return ""


# --- connections the deadline can shut ---------------------------------------------------


class _TrackedHTTPConnection(HTTPConnection):
    """A connection that registers itself with the deadline of the fetch using it
    (``watchdog.track``) when it connects and before each request, and connects only where
    the fetch's ``_Guard`` allows."""

    def connect(self) -> None:
        track(self)
        super().connect()
        track(self)

    def _new_conn(self) -> socket.socket:
        guard: _Guard | None = getattr(_guards, "guard", None)
        if (
            guard is None
            or not guard.refuse
            or self.proxy is not None  # the proxy resolves and connects
            or guard.exempt(self.host, self.port)
        ):
            return super()._new_conn()
        name = self._dns_host
        try:
            infos = socket.getaddrinfo(name, self.port, allowed_gai_family(), socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return super()._new_conn()  # urllib3 resolves again and says why it cannot
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            guard.check(self.host, self.port, address)
        # Connect to exactly the addresses checked: resolving again could give others.
        last: Exception | None = None
        try:
            for address in addresses:
                self._dns_host = address
                try:
                    return super()._new_conn()
                except (NewConnectionError, ConnectTimeoutError) as exc:
                    last = exc
        finally:
            self._dns_host = name
        if last is None:  # getaddrinfo answered nothing: let urllib3 say so
            return super()._new_conn()
        raise last

    def request(self, *args: Any, **kwargs: Any) -> None:
        track(self)
        guard: _Guard | None = getattr(_guards, "guard", None)
        if guard is not None and self.sock is not None and self.proxy is None:
            # A pooled connection made for another fetch: check where it goes before sending.
            guard.check(self.host, self.port, _peer(self))
        super().request(*args, **kwargs)
        if guard is not None:
            guard.peers.append(_peer(self))


class _TrackedHTTPSConnection(_TrackedHTTPConnection, HTTPSConnection):
    """The same for TLS: ``super()`` in the methods above reaches ``HTTPSConnection``."""


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


_POOL_CLASSES: dict[str, type[HTTPConnectionPool]] = {"http": _HTTPPool, "https": _HTTPSPool}


class _Adapter(HTTPAdapter):
    """An HTTPAdapter whose pools use the tracked connections (also through an HTTP proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOL_CLASSES)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is ProxyManager:  # not SOCKS, which has its own pool classes
            manager.pool_classes_by_scheme = dict(_POOL_CLASSES)
        return manager


# --- the fetcher --------------------------------------------------------------------------

_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
    UnicodeError,
)


ENVIRONMENT_TTL = 300.0  # seconds a host's proxies and .netrc credentials are reused


class Fetcher:
    """Polite, bounded HTTP GETs. Thread-safe: share one between the workers of a poll."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_body: int = 10 * _MiB,
        user_agent: str | None = None,
        pool_size: int = 16,
        private_addresses: str = "allow",
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        if max_body < 1:
            raise ValueError(f"max_body must be at least 1, got {max_body!r}")
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, got {pool_size!r}")
        if private_addresses not in PRIVATE_ADDRESSES:
            raise ValueError(f"private_addresses must be one of {PRIVATE_ADDRESSES}")
        self.timeout = float(timeout)
        self.max_body = max_body
        self.user_agent = user_agent or DEFAULT_USER_AGENT
        self.pool_size = pool_size
        #: Whether fetches to internal addresses (other than the source's own host) fail.
        self.refuse_private = refuses_private(private_addresses, os.environ)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[tuple[threading.Thread, requests.Session]] = []
        self._closed = False
        self._env: dict[str, tuple[float, dict[str, str], Any]] = {}
        self._verify: str | bool = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )

    def _environment(self, url: str) -> tuple[dict[str, str], Any]:
        """The proxies and ``.netrc`` credentials requests would find in the environment for
        ``url`` (``Session.merge_environment_settings``, ``get_netrc_auth``), looked up once
        per scheme and host and kept for ``ENVIRONMENT_TTL`` seconds."""
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        now = time.monotonic()
        got = self._env.get(key)
        if got is None or now - got[0] > ENVIRONMENT_TTL:
            proxies = requests.utils.get_environ_proxies(url)
            got = (now, dict(proxies), requests.utils.get_netrc_auth(url))
            self._env[key] = got
        return got[1], got[2]

    # sessions

    def _session(self, url: str, source: str) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is not None:
            return session
        session = requests.Session()
        session.trust_env = False  # the environment is read by _environment instead
        session.headers.clear()
        session.headers.update(
            {
                "User-Agent": self.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
                "Connection": "keep-alive",
            }
        )
        adapter = _Adapter(
            pool_connections=self.pool_size, pool_maxsize=self.pool_size, max_retries=0
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        me = threading.current_thread()
        with self._lock:
            if self._closed:
                session.close()
                raise FetchError(
                    "the fetcher was closed (weightwatch is shutting down)",
                    url=redact(url),
                    source=source,
                )
            # Threads of finished pools leave their sessions here; close those now.
            alive: list[tuple[threading.Thread, requests.Session]] = []
            for thread, old in self._sessions:
                if thread.is_alive():
                    alive.append((thread, old))
                else:
                    old.close()
            alive.append((me, session))
            self._sessions = alive
        self._local.session = session
        return session

    def close(self) -> None:
        """Close every thread's session and its pooled connections. Later fetches fail."""
        with self._lock:
            self._closed = True
            sessions, self._sessions = self._sessions, []
        for _, session in sessions:
            session.close()

    # fetching

    def fetch(
        self,
        url: str,
        conditional: Conditional | None = None,
        *,
        source: str = "",
        origin: str | None = None,
    ) -> Response:
        """GET ``url`` within the total deadline, following up to 10 redirects.

        ``origin`` is the URL the source's config names (default: ``url``); when internal
        addresses are refused, its host and port are the only internal ones allowed.
        Raises FetchError (also for the deadline), HTTPStatusError for an unusable status,
        ResponseTooLarge past ``max_body`` decoded bytes; never a requests exception.
        """
        if self._closed:
            raise FetchError(
                "the fetcher was closed (weightwatch is shutting down)",
                url=redact(url),
                source=source,
            )
        started = time.monotonic()
        deadline = Deadline(self.timeout)
        previous = getattr(current, "deadline", None)
        previous_guard = getattr(_guards, "guard", None)
        current.deadline = deadline
        guard = _Guard(self.refuse_private, origin or url, source)
        _guards.guard = guard
        deadline.start()
        try:
            return self._fetch(url, conditional, source, deadline, started, guard)
        finally:
            deadline.finish()
            current.deadline = previous
            _guards.guard = previous_guard

    def _fetch(
        self,
        url: str,
        conditional: Conditional | None,
        source: str,
        deadline: Deadline,
        started: float,
        guard: _Guard,
    ) -> Response:
        check_url(url, source)
        session = self._session(url, source)
        session.cookies.clear()  # cookies live for one fetch (its redirects), not across
        headers: dict[str, str] = {}
        if conditional is not None:
            if conditional.etag:
                headers["If-None-Match"] = conditional.etag
            if conditional.last_modified:
                headers["If-Modified-Since"] = conditional.last_modified

        current = url
        seen = {url}
        hops: list[int] = []
        while True:
            guard.url = current
            guard.check_url(current)
            resp = self._send(session, current, headers, deadline, source)
            try:
                status = resp.status_code
                if status in _REDIRECTS:
                    target = session.get_redirect_target(resp)
                    if not target:
                        raise HTTPStatusError(
                            f"the server answered {status_text(status)} without a Location",
                            status=status,
                            url=redact(current),
                            source=source,
                        )
                    nxt = urljoin(current, target)
                    if len(hops) >= MAX_REDIRECTS:
                        raise FetchError(
                            f"more than {MAX_REDIRECTS} redirects starting at {redact(url)}",
                            url=redact(current),
                            source=source,
                        )
                    check_url(nxt, source, redirected_from=current)
                    if nxt in seen:
                        raise FetchError(
                            f"redirect loop: {redact(current)} redirects back to {redact(nxt)}",
                            url=redact(current),
                            source=source,
                        )
                    self._drain(resp, deadline, current, source)
                    seen.add(nxt)
                    hops.append(status)
                    guard.redirected_from = current
                    current = nxt
                    continue
                if status == 304 or 200 <= status < 300:
                    body = self._read_body(resp, deadline, current, source, self.max_body)
                    if status == 304:
                        body = b""
                    # A move from a public to an internal address is never remembered.
                    permanent = not guard.crossed_inward()
                    return self._response(
                        resp, current, body, hops, conditional, started, permanent
                    )
                error = _status_error(resp, current, source)
                self._drain(resp, deadline, current, source)
                raise error
            finally:
                resp.close()

    def _send(
        self,
        session: requests.Session,
        url: str,
        headers: dict[str, str],
        deadline: Deadline,
        source: str,
    ) -> requests.Response:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise deadline_error(url, deadline, source, "did not answer")
        proxies, netrc_auth = self._environment(url)
        try:
            return session.request(
                "GET",
                url,
                headers=headers,
                timeout=(remaining, remaining),
                stream=True,
                allow_redirects=False,
                proxies=proxies,
                verify=self._verify,
                auth=netrc_auth,
            )
        except _TRANSPORT_ERRORS as exc:
            raise _transport_error(exc, url, deadline, source) from exc

    def _read_body(
        self,
        resp: requests.Response,
        deadline: Deadline,
        url: str,
        source: str,
        cap: int,
    ) -> bytes:
        """The decoded body, read in bounded chunks against the deadline and the cap."""
        raw = resp.raw
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap and not resp.headers.get("Content-Encoding"):
            raise too_large(url, source, cap)
        buf = bytearray()
        while True:
            remaining = deadline.remaining()
            if remaining <= 0:
                raise deadline_error(url, deadline, source, "did not finish answering")
            sock = getattr(raw.connection, "sock", None) if raw.connection else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.settimeout(remaining)
            try:
                chunk = raw.read1(min(_CHUNK, cap + 1 - len(buf)), decode_content=True)
            except _TRANSPORT_ERRORS as exc:
                encoding = resp.headers.get("Content-Encoding", "")
                raise _body_error(exc, url, deadline, source, encoding) from exc
            if not chunk:
                break
            buf += chunk
            if len(buf) > cap:
                raise too_large(url, source, cap)
        if deadline.expired:
            # The watchdog's shutdown looks like a normal end of a body without a length.
            raise deadline_error(url, deadline, source, "did not finish answering")
        return bytes(buf)

    def _drain(self, resp: requests.Response, deadline: Deadline, url: str, source: str) -> None:
        """Read a small unused body (redirect, error) to its end so the connection is reused."""
        # On failure the connection is closed instead; the next hop checks the deadline.
        with contextlib.suppress(FetchError):
            self._read_body(resp, deadline, url, source, _REDIRECT_BODY_CAP)

    @staticmethod
    def _response(
        resp: requests.Response,
        url: str,
        body: bytes,
        hops: list[int],
        conditional: Conditional | None,
        started: float,
        permanent_ok: bool,
    ) -> Response:
        headers = {k.lower(): v for k, v in resp.headers.items()}
        etag = headers.get("etag")
        last_modified = headers.get("last-modified")
        if resp.status_code == 304 and conditional is not None:
            # A 304 need not repeat the validators; the ones we sent are still current.
            etag = etag or conditional.etag
            last_modified = last_modified or conditional.last_modified
        permanent = url if permanent_ok and hops and all(s in _PERMANENT for s in hops) else None
        return Response(
            status=resp.status_code,
            url=url,
            body=body,
            headers=headers,
            etag=etag,
            last_modified=last_modified,
            permanent_url=permanent,
            elapsed=time.monotonic() - started,
        )


def _status_error(resp: requests.Response, url: str, source: str) -> HTTPStatusError:
    status = resp.status_code
    retry_after = None
    message = f"the server answered {status_text(status)}"
    if status in _RETRY_AFTER_STATUSES:
        retry_after = parse_retry_after(resp.headers.get("Retry-After"), datetime.now(UTC))
        if retry_after is not None:
            message += f" (retry after {retry_after:.0f} s)"
    return HTTPStatusError(
        message, status=status, retry_after=retry_after, url=redact(url), source=source
    )


def _transport_error(exc: BaseException, url: str, deadline: Deadline, source: str) -> FetchError:
    """A FetchError for a failure before the response headers arrived."""
    where = host_port(url)
    safe = redact(url)
    chain = exception_chain(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return FetchError(
            f"could not connect to {where}: no answer within {deadline.seconds:g} s",
            url=safe,
            source=source,
        )
    if deadline.expired or isinstance(exc, requests.Timeout):
        return deadline_error(url, deadline, source, "did not answer")
    if isinstance(exc, requests.exceptions.SSLError) or any(
        isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain
    ):
        return FetchError(
            f"could not connect to {where}: the TLS handshake failed ({tls_reason(chain)})",
            url=safe,
            source=source,
        )
    if isinstance(exc, requests.exceptions.ProxyError):
        return FetchError(
            f"could not connect to {where} through the proxy: {os_reason(chain)}",
            url=safe,
            source=source,
        )
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.InvalidSchema
        | requests.exceptions.MissingSchema
        | urllib3.exceptions.LocationValueError
        | UnicodeError,
    ):
        return FetchError(f"the URL {safe} is not valid", url=safe, source=source)
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return FetchError(
            f"could not connect to {where}: connection refused", url=safe, source=source
        )
    if any(isinstance(e, socket.gaierror | urllib3.exceptions.NameResolutionError) for e in chain):
        return FetchError(
            f"could not connect to {where}: the host name could not be resolved",
            url=safe,
            source=source,
        )
    if any(isinstance(e, urllib3.exceptions.NewConnectionError) for e in chain):
        return FetchError(
            f"could not connect to {where}: {os_reason(chain)}", url=safe, source=source
        )
    if any(isinstance(e, http.client.RemoteDisconnected) for e in chain):
        return FetchError(
            f"the server at {where} closed the connection without answering",
            url=safe,
            source=source,
        )
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return FetchError(f"the server at {where} reset the connection", url=safe, source=source)
    return FetchError(f"the request to {where} failed: {os_reason(chain)}", url=safe, source=source)


def _body_error(
    exc: BaseException, url: str, deadline: Deadline, source: str, encoding: str
) -> FetchError:
    """A FetchError for a failure while reading the body."""
    where = host_port(url)
    safe = redact(url)
    chain = exception_chain(exc)
    if deadline.expired or any(
        isinstance(e, TimeoutError | urllib3.exceptions.TimeoutError) for e in chain
    ):
        return deadline_error(url, deadline, source, "did not finish answering")
    if any(isinstance(e, urllib3.exceptions.DecodeError) for e in chain):
        return FetchError(
            f"the response from {safe} could not be decompressed "
            f"(Content-Encoding: {encoding or 'none'})",
            url=safe,
            source=source,
        )
    if any(
        isinstance(e, http.client.IncompleteRead | urllib3.exceptions.IncompleteRead) for e in chain
    ):
        return FetchError(
            f"the server at {where} closed the connection before the whole body arrived",
            url=safe,
            source=source,
        )
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return FetchError(
            f"the TLS connection to {where} failed while reading ({tls_reason(chain)})",
            url=safe,
            source=source,
        )
    return FetchError(
        f"reading the response from {where} failed: {os_reason(chain)}",
        url=safe,
        source=source,
    )
