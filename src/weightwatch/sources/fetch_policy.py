"""Pure rules and messages of a fetch: which URLs may be fetched, what a Retry-After
header asks for, and how each failure reads (with credentials left out of every URL shown).

No HTTP library here (only ``sources.http`` imports requests and urllib3).
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import urlsplit, urlunsplit

from weightwatch.errors import FetchError, ResponseTooLarge
from weightwatch.sources.watchdog import Deadline

__all__ = [
    "PRIVATE_ADDRESSES",
    "address_kind",
    "check_url",
    "deadline_error",
    "exception_chain",
    "host_port",
    "os_reason",
    "parse_retry_after",
    "private_refused",
    "redact",
    "refuses_private",
    "size_text",
    "status_text",
    "tls_reason",
    "too_large",
]

_MiB = 1024 * 1024


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


def redact(url: str) -> str:
    """The URL without user:password@, for messages and error attributes."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def host_port(url: str) -> str:
    """host:port of a URL, for messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:
        return redact(url)
    if ":" in host:
        host = f"[{host}]"
    if port is None:
        port = 443 if parts.scheme.lower() == "https" else 80
    return f"{host}:{port}"


def size_text(n: int) -> str:
    if n >= _MiB and n % _MiB == 0:
        return f"{n // _MiB} MB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"


def status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def exception_chain(exc: BaseException) -> list[BaseException]:
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


def tls_reason(chain: list[BaseException]) -> str:
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {e.verify_message}"
        if isinstance(e, ssl.CertificateError):
            return str(e)
        if isinstance(e, ssl.SSLError):
            reason = e.reason or e.strerror or ""
            return str(reason).replace("_", " ").lower() or type(e).__name__
    return "unknown TLS error"


def check_url(url: str, source: str, redirected_from: str | None = None) -> None:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        raise FetchError(
            f"the URL {redact(url)} is not valid", url=redact(url), source=source
        ) from None
    if scheme not in ("http", "https"):
        if redirected_from is not None:
            message = (
                f"{redact(redirected_from)} redirects to {redact(url)}, "
                "which is not an http or https URL"
            )
        else:
            message = f"only http and https URLs can be fetched, not {redact(url)}"
        raise FetchError(message, url=redact(url), source=source)
    if not host:
        raise FetchError(f"the URL {redact(url)} has no host", url=redact(url), source=source)


def deadline_error(url: str, deadline: Deadline, source: str, what: str) -> FetchError:
    return FetchError(
        f"the server at {host_port(url)} {what} within {deadline.seconds:g} s "
        "(the total time allowed for one fetch)",
        url=redact(url),
        source=source,
    )


def too_large(url: str, source: str, cap: int) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"the response from {redact(url)} passed the {size_text(cap)} cap on its decoded size "
        "and was cut off",
        url=redact(url),
        source=source,
    )


def os_reason(chain: list[BaseException]) -> str:
    """A short lowercase reason from the innermost OSError, else the innermost type name."""
    for e in reversed(chain):
        if isinstance(e, OSError) and e.strerror:
            return e.strerror[:1].lower() + e.strerror[1:]
    return type(chain[-1]).__name__ if chain else "unknown error"


# --- internal addresses ------------------------------------------------------------------

#: The values of ``[settings] private_addresses``.
PRIVATE_ADDRESSES = ("auto", "refuse", "allow")

_SYSTEMD_VARIABLES = ("INVOCATION_ID", "NOTIFY_SOCKET", "JOURNAL_STREAM")


def refuses_private(setting: str, env: Mapping[str, str]) -> bool:
    """Whether fetches to internal addresses are refused: ``"refuse"``, or ``"auto"`` when
    running under systemd (a service on a server: a hostile feed must not reach the
    machine's or the network's internal services), else not (a user at a terminal who
    watches a page on their own machine or LAN)."""
    if setting == "refuse":
        return True
    if setting == "allow":
        return False
    return any(env.get(name) for name in _SYSTEMD_VARIABLES)


def address_kind(address: str) -> str | None:
    """What kind of internal address ``address`` (an IP literal) is, or None when it is a
    public one (or not an IP literal at all).

    Internal: unspecified (0.0.0.0, ::), loopback (127/8, ::1), link-local (169.254/16,
    fe80::/10), multicast, private (RFC 1918, ULA fc00::/7, and the other ranges Python's
    ``ipaddress`` calls private) and every other address that is not globally routable
    (shared 100.64/10, reserved 240/4, documentation ranges). An IPv4 address mapped into
    IPv6 (``::ffff:127.0.0.1``) is judged as the IPv4 address.
    """
    text = address.strip("[]").split("%", 1)[0]  # a zone id (fe80::1%eth0) says nothing
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "non-public"
    return None


def private_refused(
    url: str, address: str, kind: str, source: str, redirected_from: str | None
) -> FetchError:
    """The error of a fetch refused because ``url``'s host is (or resolves to) an internal
    address."""
    host = host_port(url).rpartition(":")[0]
    bare = host.strip("[]")
    what = f"{bare}, a {kind} address" if bare == address else f"{bare} ({address}, {kind})"
    if redirected_from is not None:
        start = f"{redact(redirected_from)} redirects to {redact(url)}, on {what}"
    else:
        start = f"{redact(url)} is on {what}"
    return FetchError(
        f"{start}: refused, as fetches to loopback, private and link-local addresses are "
        "allowed only to the host a source's own url names "
        '(private_addresses = "allow" in [settings] lifts this)',
        url=redact(url),
        source=source,
    )
