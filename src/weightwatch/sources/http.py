"""HTTP fetching: the only module that imports requests and urllib3.

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
* one watchdog thread shared by all fetches (``_Watchdog``: a heap of deadlines, started
  on demand, gone after a minute without any) wakes at the earliest deadline and, unless
  that fetch has finished, shuts down every socket the fetch is using
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
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import ProxyManager

from weightwatch import __version__
from weightwatch.errors import FetchError, HTTPStatusError, ResponseTooLarge

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


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait according to a Retry-After value: delay-seconds or an HTTP-date.

    Returns None when the value is absent or unreadable (including absurd delays of more than
    ten digits), and never a negative number (a date in the past means "now"). A naive ``now``
    or date is taken as UTC.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"[0-9]+", text):
        return float(int(text)) if len(text) <= 10 else None  # 11+ digits: centuries, garbage
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# --- the total deadline -------------------------------------------------------------------


class _Deadline:
    """The total deadline of one fetch, with a watchdog that shuts the sockets in use."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._conns: list[HTTPConnection] = []
        self._fired = False
        self._done = False

    def start(self) -> None:
        _WATCHDOG.watch(self)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self._fired or time.monotonic() >= self.at

    def track(self, conn: HTTPConnection) -> None:
        """Remember a connection this fetch uses; shut it at once if the deadline has passed."""
        with self._lock:
            if self._done:
                return
            if not any(c is conn for c in self._conns):
                self._conns.append(conn)
            if self._fired:
                _shut(conn)

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self._fired = True
            for conn in self._conns:
                _shut(conn)

    def finish(self) -> None:
        """The fetch is over: the watchdog must not touch its (maybe pooled) connections."""
        with self._lock:
            self._done = True
            self._conns.clear()

    def fire(self) -> None:
        self._fire()

    @property
    def done(self) -> bool:
        return self._done


class _Watchdog:
    """One thread for every fetch's deadline (a thread per fetch cost more than the fetch).

    Deadlines wait in a heap; the thread sleeps until the earliest one and fires it unless
    its fetch finished meanwhile. Finished deadlines are dropped lazily.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._cond = threading.Condition()
        self._seq = 0
        self._thread: threading.Thread | None = None

    def watch(self, deadline: _Deadline) -> None:
        with self._cond:
            self._seq += 1
            heapq.heappush(self._heap, (deadline.at, self._seq, deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="weightwatch-fetch-deadlines", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait(timeout=60.0)
                    if not self._heap:
                        self._thread = None
                        return
                    continue
                at, _, deadline = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._cond.wait(timeout=wait)
                    continue
                heapq.heappop(self._heap)
            deadline.fire()


_WATCHDOG = _Watchdog()


def _shut(conn: HTTPConnection) -> None:
    sock = conn.sock
    if sock is None:
        return
    # The plain socket method, also for an SSLSocket: it acts on the file descriptor and
    # wakes a thread blocked in recv() with end-of-file.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_current = threading.local()  # .deadline: the _Deadline of the fetch running in this thread


def _track(conn: HTTPConnection) -> None:
    deadline: _Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.track(conn)


class _TrackedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        _track(self)
        super().connect()
        _track(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(self)
        super().request(*args, **kwargs)


class _TrackedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        _track(self)
        super().connect()
        _track(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(self)
        super().request(*args, **kwargs)


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


# --- messages -----------------------------------------------------------------------------


def _redact(url: str) -> str:
    """The URL without user:password@, for messages and error attributes."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _where(url: str) -> str:
    """host:port of a URL, for messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:
        return _redact(url)
    if ":" in host:
        host = f"[{host}]"
    if port is None:
        port = 443 if parts.scheme.lower() == "https" else 80
    return f"{host}:{port}"


def _size(n: int) -> str:
    if n >= _MiB and n % _MiB == 0:
        return f"{n // _MiB} MB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _chain(exc: BaseException) -> list[BaseException]:
    """An exception and everything it wraps: causes, contexts, urllib3 ``reason``s, args."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 32:
        e = todo.pop(0)
        if any(e is s for s in seen):
            continue
        seen.append(e)
        for nxt in (getattr(e, "reason", None), e.__cause__, e.__context__, *e.args[:1]):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return seen


def _tls_reason(chain: list[BaseException]) -> str:
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {e.verify_message}"
        if isinstance(e, ssl.CertificateError):
            return str(e)
        if isinstance(e, ssl.SSLError):
            reason = e.reason or e.strerror or ""
            return str(reason).replace("_", " ").lower() or type(e).__name__
    return "unknown TLS error"


# --- the fetcher --------------------------------------------------------------------------

_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
    UnicodeError,
)


class Fetcher:
    """Polite, bounded HTTP GETs. Thread-safe: share one between the workers of a poll."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_body: int = 10 * _MiB,
        user_agent: str | None = None,
        pool_size: int = 16,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        if max_body < 1:
            raise ValueError(f"max_body must be at least 1, got {max_body!r}")
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, got {pool_size!r}")
        self.timeout = float(timeout)
        self.max_body = max_body
        self.user_agent = user_agent or DEFAULT_USER_AGENT
        self.pool_size = pool_size
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[tuple[threading.Thread, requests.Session]] = []
        self._closed = False

    # sessions

    def _session(self, url: str, source: str) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is not None:
            return session
        session = requests.Session()
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
                    url=_redact(url),
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
        self, url: str, conditional: Conditional | None = None, *, source: str = ""
    ) -> Response:
        """GET ``url`` within the total deadline, following up to 10 redirects.

        Raises FetchError (also for the deadline), HTTPStatusError for an unusable status,
        ResponseTooLarge past ``max_body`` decoded bytes; never a requests exception.
        """
        if self._closed:
            raise FetchError(
                "the fetcher was closed (weightwatch is shutting down)",
                url=_redact(url),
                source=source,
            )
        started = time.monotonic()
        deadline = _Deadline(self.timeout)
        previous = getattr(_current, "deadline", None)
        _current.deadline = deadline
        deadline.start()
        try:
            return self._fetch(url, conditional, source, deadline, started)
        finally:
            deadline.finish()
            _current.deadline = previous

    def _fetch(
        self,
        url: str,
        conditional: Conditional | None,
        source: str,
        deadline: _Deadline,
        started: float,
    ) -> Response:
        _check_url(url, source)
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
            resp = self._send(session, current, headers, deadline, source)
            try:
                status = resp.status_code
                if status in _REDIRECTS:
                    target = session.get_redirect_target(resp)
                    if not target:
                        raise HTTPStatusError(
                            f"the server answered {_status_text(status)} without a Location",
                            status=status,
                            url=_redact(current),
                            source=source,
                        )
                    nxt = urljoin(current, target)
                    if len(hops) >= MAX_REDIRECTS:
                        raise FetchError(
                            f"more than {MAX_REDIRECTS} redirects starting at {_redact(url)}",
                            url=_redact(current),
                            source=source,
                        )
                    _check_url(nxt, source, redirected_from=current)
                    if nxt in seen:
                        raise FetchError(
                            f"redirect loop: {_redact(current)} redirects back to {_redact(nxt)}",
                            url=_redact(current),
                            source=source,
                        )
                    self._drain(resp, deadline, current, source)
                    seen.add(nxt)
                    hops.append(status)
                    current = nxt
                    continue
                if status == 304 or 200 <= status < 300:
                    body = self._read_body(resp, deadline, current, source, self.max_body)
                    if status == 304:
                        body = b""
                    return self._response(resp, current, body, hops, conditional, started)
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
        deadline: _Deadline,
        source: str,
    ) -> requests.Response:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise _deadline_error(url, deadline, source, "did not answer")
        try:
            return session.request(
                "GET",
                url,
                headers=headers,
                timeout=(remaining, remaining),
                stream=True,
                allow_redirects=False,
            )
        except _TRANSPORT_ERRORS as exc:
            raise _transport_error(exc, url, deadline, source) from exc

    def _read_body(
        self,
        resp: requests.Response,
        deadline: _Deadline,
        url: str,
        source: str,
        cap: int,
    ) -> bytes:
        """The decoded body, read in bounded chunks against the deadline and the cap."""
        raw = resp.raw
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap and not resp.headers.get("Content-Encoding"):
            raise _too_large(url, source, cap)
        buf = bytearray()
        while True:
            remaining = deadline.remaining()
            if remaining <= 0:
                raise _deadline_error(url, deadline, source, "did not finish answering")
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
                raise _too_large(url, source, cap)
        if deadline.expired:
            # The watchdog's shutdown looks like a normal end of a body without a length.
            raise _deadline_error(url, deadline, source, "did not finish answering")
        return bytes(buf)

    def _drain(self, resp: requests.Response, deadline: _Deadline, url: str, source: str) -> None:
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
    ) -> Response:
        headers = {k.lower(): v for k, v in resp.headers.items()}
        etag = headers.get("etag")
        last_modified = headers.get("last-modified")
        if resp.status_code == 304 and conditional is not None:
            # A 304 need not repeat the validators; the ones we sent are still current.
            etag = etag or conditional.etag
            last_modified = last_modified or conditional.last_modified
        permanent = url if hops and all(s in _PERMANENT for s in hops) else None
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


# --- errors -------------------------------------------------------------------------------


def _check_url(url: str, source: str, redirected_from: str | None = None) -> None:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        raise FetchError(
            f"the URL {_redact(url)} is not valid", url=_redact(url), source=source
        ) from None
    if scheme not in ("http", "https"):
        if redirected_from is not None:
            message = (
                f"{_redact(redirected_from)} redirects to {_redact(url)}, "
                "which is not an http or https URL"
            )
        else:
            message = f"only http and https URLs can be fetched, not {_redact(url)}"
        raise FetchError(message, url=_redact(url), source=source)
    if not host:
        raise FetchError(f"the URL {_redact(url)} has no host", url=_redact(url), source=source)


def _deadline_error(url: str, deadline: _Deadline, source: str, what: str) -> FetchError:
    return FetchError(
        f"the server at {_where(url)} {what} within {deadline.seconds:g} s "
        "(the total time allowed for one fetch)",
        url=_redact(url),
        source=source,
    )


def _too_large(url: str, source: str, cap: int) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"the response from {_redact(url)} passed the {_size(cap)} cap on its decoded size "
        "and was cut off",
        url=_redact(url),
        source=source,
    )


def _status_error(resp: requests.Response, url: str, source: str) -> HTTPStatusError:
    status = resp.status_code
    retry_after = None
    message = f"the server answered {_status_text(status)}"
    if status in _RETRY_AFTER_STATUSES:
        retry_after = parse_retry_after(resp.headers.get("Retry-After"), datetime.now(UTC))
        if retry_after is not None:
            message += f" (retry after {retry_after:.0f} s)"
    return HTTPStatusError(
        message, status=status, retry_after=retry_after, url=_redact(url), source=source
    )


def _transport_error(exc: BaseException, url: str, deadline: _Deadline, source: str) -> FetchError:
    """A FetchError for a failure before the response headers arrived."""
    where = _where(url)
    safe = _redact(url)
    chain = _chain(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return FetchError(
            f"could not connect to {where}: no answer within {deadline.seconds:g} s",
            url=safe,
            source=source,
        )
    if deadline.expired or isinstance(exc, requests.Timeout):
        return _deadline_error(url, deadline, source, "did not answer")
    if isinstance(exc, requests.exceptions.SSLError) or any(
        isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain
    ):
        return FetchError(
            f"could not connect to {where}: the TLS handshake failed ({_tls_reason(chain)})",
            url=safe,
            source=source,
        )
    if isinstance(exc, requests.exceptions.ProxyError):
        return FetchError(
            f"could not connect to {where} through the proxy: {_os_reason(chain)}",
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
            f"could not connect to {where}: {_os_reason(chain)}", url=safe, source=source
        )
    if any(isinstance(e, http.client.RemoteDisconnected) for e in chain):
        return FetchError(
            f"the server at {where} closed the connection without answering",
            url=safe,
            source=source,
        )
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return FetchError(f"the server at {where} reset the connection", url=safe, source=source)
    return FetchError(
        f"the request to {where} failed: {_os_reason(chain)}", url=safe, source=source
    )


def _body_error(
    exc: BaseException, url: str, deadline: _Deadline, source: str, encoding: str
) -> FetchError:
    """A FetchError for a failure while reading the body."""
    where = _where(url)
    safe = _redact(url)
    chain = _chain(exc)
    if deadline.expired or any(
        isinstance(e, TimeoutError | urllib3.exceptions.TimeoutError) for e in chain
    ):
        return _deadline_error(url, deadline, source, "did not finish answering")
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
            f"the TLS connection to {where} failed while reading ({_tls_reason(chain)})",
            url=safe,
            source=source,
        )
    return FetchError(
        f"reading the response from {where} failed: {_os_reason(chain)}",
        url=safe,
        source=source,
    )


def _os_reason(chain: list[BaseException]) -> str:
    """A short lowercase reason from the innermost OSError, else the innermost type name."""
    for e in reversed(chain):
        if isinstance(e, OSError) and e.strerror:
            return e.strerror[:1].lower() + e.strerror[1:]
    return type(chain[-1]).__name__ if chain else "unknown error"
