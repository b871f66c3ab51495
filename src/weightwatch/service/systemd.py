"""systemd integration without compiled dependencies: sd_notify and journald-style logging.

Every line the process logs, from weightwatch or from any library (urllib3 logs a channel's
full URL, path token included, when it answers with broken headers), passes one scrubber on
the root handler: known secret values (``register_secrets``, the ``${ENV}`` values of the
config), passwords in URLs (``user:****@``) and token-like query values (``?token=****``).

The notify protocol is one datagram per message to the unix socket named by
``$NOTIFY_SOCKET`` (a leading ``@`` means Linux's abstract namespace). Outside systemd
``$NOTIFY_SOCKET`` is unset and every call here is a no-op.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from urllib.parse import quote, quote_plus


class Notifier:
    """Sends sd_notify messages; silently does nothing when not run by systemd."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address: str | None = None
        if address:
            self.address = "\0" + address[1:] if address.startswith("@") else address
        self.sock: socket.socket | None = None
        self.watchdog_interval = _watchdog_interval(env)

    def send(self, *fields: str) -> bool:
        if not self.address:
            return False
        try:
            if self.sock is None:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self.sock.sendto("\n".join(fields).encode("utf-8"), self.address)
            return True
        except OSError:
            return False

    def ready(self, status: str = "") -> None:
        self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def reloading(self) -> None:
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _watchdog_interval(env: dict[str, str]) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), or None when not asked."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None
    return int(usec) / 1_000_000 / 2


_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class JournalFormatter(logging.Formatter):
    """``<N>message`` on every line (tracebacks too), no timestamp: journald adds its own."""

    def format(self, record: logging.LogRecord) -> str:
        prio = _PRIORITY.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return "\n".join(f"<{prio}>{line}" for line in text.splitlines() or [""])


def stderr_is_journal(env: dict[str, str] | None = None) -> bool:
    """True when stderr is connected to journald ($JOURNAL_STREAM matches fd 2)."""
    env = dict(os.environ) if env is None else env
    value = env.get("JOURNAL_STREAM", "")
    if ":" not in value:
        return False
    try:
        dev, inode = (int(part) for part in value.split(":", 1))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return st.st_dev == dev and st.st_ino == inode


# --- secrets out of every log line --------------------------------------------------------

_secrets_lock = threading.Lock()
_secrets: tuple[str, ...] = ()  # every form of every registered secret, longest first

# user:password@ in any scheme://; the user name is kept, the password masked.
_URL_PASSWORD_RE = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@")
# Query values whose names say they are credentials (Apprise and feed URLs use these).
_QUERY_TOKEN_RE = re.compile(
    r"([?&;](?:[a-z0-9_.-]*(?:token|secret|passw(?:or)?d|apikey|api_key|api-key|signature)"
    r"[a-z0-9_.-]*|key|pass|pwd|auth|sig|code)=)[^&#\s'\"]+",
    re.IGNORECASE,
)


def register_secrets(values: Iterable[str]) -> None:
    """Add values (the ``${ENV}`` values a config used) that no log line may show.

    Secrets are only ever added (a reloaded config may drop one that is still in memory).
    Values shorter than 3 characters are ignored: masking them would garble every line.
    """
    global _secrets
    forms: set[str] = set()
    for value in values:
        if len(value) >= 3:
            forms.update({value, quote(value, safe=""), quote(value), quote_plus(value)})
    with _secrets_lock:
        merged = set(_secrets) | forms
        _secrets = tuple(sorted(merged, key=len, reverse=True))


def scrub_line(text: str) -> str:
    """``text`` with registered secrets, URL passwords and token query values masked."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "****")
    if "://" in text:
        text = _URL_PASSWORD_RE.sub(r"\1****@", text)
    if "=" in text:
        text = _QUERY_TOKEN_RE.sub(r"\1****", text)
    return text


class ScrubbingFormatter(logging.Formatter):
    """Wraps a formatter and scrubs its whole output: message, traceback and stack."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return scrub_line(self.inner.format(record))


def setup_logging(verbose: bool = False, *, quiet: bool = False) -> None:
    """Journald format under systemd, timestamps on a terminal.

    The daemon logs at INFO (one line per poll); ``quiet`` commands that print their own
    summary log only errors unless ``verbose``; ``verbose`` adds DEBUG for the daemon.
    """
    if verbose:
        level = logging.INFO if quiet else logging.DEBUG
    else:
        level = logging.ERROR if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    inner: logging.Formatter
    if stderr_is_journal():
        inner = JournalFormatter()
    else:
        inner = logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S")
    # On the handler, not a logger: records from every library's logger pass through it.
    handler.setFormatter(ScrubbingFormatter(inner))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("weightwatch").setLevel(level)
