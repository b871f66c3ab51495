"""The only module that imports apprise: check, mask and send to channel URLs.

Each URL is sent to on its own so that its outcome is recorded on its own: when Slack
fails and email succeeds, only Slack is retried. Apprise 2.x ``notify()`` returns an
``AppriseResult`` whose status is SUCCESS, FAILURE, PARTIAL, NOMATCH or TIMEOUT; each maps
to a ``SendOutcome`` here. Nothing in this module logs or returns a URL unmasked.
"""

from __future__ import annotations

import importlib
import logging
import re
import sys
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from weightwatch.delivery.apprise_schemes import SCHEMES

# Apprise is imported when a URL is first checked, masked or sent to, never at import time:
# ``console://`` (ours) needs no Apprise at all to check or mask; any other URL is checked,
# masked and sent with the one plugin module of its scheme (``apprise_schemes``). Only a URL
# whose scheme that table does not know, or sending to ``console://`` (registered with
# Apprise as a custom plugin), loads Apprise's plugin manager, which imports all of its ~190
# plugins (~20 MB of a daemon's memory). A warm ``weightwatch once`` with nothing to send
# loads none of it.
_CONSOLE = "console"
_setup_lock = threading.Lock()
_full = False  # Apprise's plugin manager loaded and ``console://`` registered with it


def _quiet_apprise() -> None:
    """Apprise logs connection errors with hostnames and sometimes paths; keep them out of ours."""
    apprise_log = logging.getLogger("apprise")
    apprise_log.propagate = False
    if not apprise_log.handlers:
        apprise_log.addHandler(logging.NullHandler())


def _apprise() -> Any:
    """The ``apprise`` module with its plugins loaded and ``console://`` registered."""
    global _full
    with _setup_lock:
        _quiet_apprise()
        import apprise

        if not _full:
            from apprise.decorators import notify as custom_plugin

            register: Any = custom_plugin(on=_CONSOLE, name="Console (standard output)")  # type: ignore[no-untyped-call]
            register(_console)
            _full = True
    return apprise


def _console(body: str, title: str, notify_type: str, *args: Any, **kwargs: Any) -> bool:
    """``console://`` prints the alert to standard output (the journal under systemd)."""
    line = "=" * 72
    sys.stdout.write(f"{line}\n{_printable(title)}\n{_printable(body, keep_lines=True)}\n")
    sys.stdout.flush()
    return True


# What a terminal would act on: C0/C1 controls, line separators, bidi overrides/isolates.
# (The same rule as sources.clean.printable, kept here so delivery imports no source code.)
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _printable(text: str, *, keep_lines: bool = False) -> str:
    """Console text with terminal controls escaped (``\\x1b``, ``\\u202e``)."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        unsafe = ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")
        if not unsafe or ch == " " or (keep_lines and ch in "\n\t"):
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
    return "".join(out)


_HEADER_RE = re.compile(r"([?&](?:%2B|\+|-|%2D)[^=&]+=)([^&]*)", re.IGNORECASE)


def mask_url(url: str, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """A URL safe to print: Apprise's privacy form, custom headers and known secrets masked.

    ``secrets`` are values that came from ``${ENV}`` expansion; any of them still visible
    (Apprise does not treat an ntfy topic or a header value as secret) is replaced by ``****``.
    A URL Apprise does not recognise is reduced to its scheme.
    """
    if _scheme(url) == _CONSOLE:
        return "console://"
    plugin = _instantiate(url)
    if plugin is None:
        scheme = urlsplit(url).scheme or "?"
        return f"{scheme}://****"
    shown = str(plugin.url(privacy=True))
    shown = _HEADER_RE.sub(lambda m: m.group(1) + "****", shown)
    shown = scrub(shown, secrets)
    # Drop the long tail of default options Apprise adds; keep what the user wrote.
    base, _, query = shown.partition("?")
    own = {p.split("=", 1)[0] for p in urlsplit(url).query.split("&") if p}
    kept = [p for p in query.split("&") if p and _qs_key(p) in own]
    return base + ("?" + "&".join(kept) if kept else "")


def _qs_key(pair: str) -> str:
    key = pair.split("=", 1)[0]
    return key.replace("%2B", "+").replace("%2b", "+")


def scrub(text: str, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """``text`` with every known secret replaced by ``****`` (for errors from plugins)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and len(secret) >= 3:
            text = text.replace(secret, "****")
    return text


def check_url(url: str) -> str | None:
    """None when Apprise can use ``url``, else a sentence saying why not: not a URL, not
    one Apprise recognises, or one its service cannot work with (``_missing_parts``)."""
    if "://" not in url:
        return "is not a notification URL (expected scheme://..., e.g. ntfy://ntfy.sh/TOPIC)"
    if _scheme(url) == _CONSOLE:
        return None
    plugin = _instantiate(url)
    if plugin is None:
        scheme = url.split("://", 1)[0]
        return f"Apprise does not recognise this URL (scheme {scheme!r} or its form is wrong)"
    return _missing_parts(url, plugin)


def _missing_parts(url: str, plugin: Any) -> str | None:
    """Why a URL Apprise accepts still cannot work: a port out of range, or a part its
    service requires missing (``ntfy://`` without a topic).

    The required parts come from Apprise itself: each plugin lists its URL ``templates``
    (``{schema}://{host}/{targets}``) and its ``template_tokens`` (``required: True``,
    ``map_to``); the URL must fill every required token of at least one template.
    """
    netloc = url.partition("://")[2].split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    port = re.fullmatch(r".*:(\d+)", netloc)
    if port and not 1 <= int(port.group(1)[:6]) <= 65535:
        return f"has the port {port.group(1)[:12]}; a port is from 1 to 65535"
    try:
        cls = type(plugin)
        parsed = cls.parse_url(url) or {}
        tokens: dict[str, dict[str, Any]] = dict(getattr(cls, "template_tokens", {}) or {})
        templates: tuple[str, ...] = tuple(getattr(cls, "templates", ()) or ())
    except Exception:
        return None
    if not templates:
        return None
    missing_sets = []
    for template in templates:
        missing = []
        for name in re.findall(r"{(\w+)}", template):
            token = tokens.get(name, {})
            target = str(token.get("map_to", name))
            if name == "schema" or not (
                token.get("required") or tokens.get(target, {}).get("required")
            ):
                continue
            value = parsed.get(target)
            if isinstance(value, list | tuple | set):
                value = [v for v in value if v]
            if not value:
                missing.append(str(token.get("name") or name))
        if not missing:
            return None
        missing_sets.append(missing)
    fewest = min(missing_sets, key=len)
    return (
        f"is missing what {cls.__name__.removeprefix('Notify')} needs: "
        + ", ".join(fewest).lower()
        + f" (see Apprise's page for {urlsplit(url).scheme}://)"
    )


# Apprise's own test for the scheme of a URL (apprise.utils.parse.GET_SCHEMA_RE).
_SCHEME_RE = re.compile(r"\s*(?P<schema>[a-z0-9]{1,32})://.*$", re.IGNORECASE)


def _scheme(url: str) -> str | None:
    """The scheme as Apprise reads it (lowercase), or None when it reads none."""
    found = _SCHEME_RE.match(url)
    return found.group("schema").lower() if found else None


def _instantiate(url: str) -> Any:
    """Apprise's plugin object for ``url`` (what ``Apprise.instantiate`` returns), or None.

    Built from the one plugin module of the URL's scheme when ``apprise_schemes`` knows it,
    the way ``Apprise.instantiate`` builds it (``parse_url``, ``enabled``, the constructor);
    through Apprise itself, all plugins loaded, otherwise.
    """
    scheme = _scheme(url)
    cls = _plugin_class(scheme) if scheme else None
    if cls is None:
        try:
            return _apprise().Apprise.instantiate(url, suppress_exceptions=True)
        except Exception:  # Apprise raises assorted errors on odd URLs
            return None
    return _build(cls, url)


def _build(cls: Any, url: str) -> Any:
    """``cls``'s object for ``url`` as ``Apprise.instantiate`` builds it, or None."""
    try:
        results = cls.parse_url(url.replace("/#", "/%23"))
        if not results or not cls.enabled:
            return None
        from apprise import AppriseAsset

        results["tag"] = set()
        results["asset"] = AppriseAsset()
        return cls(**results)
    except Exception:  # Apprise raises assorted errors on odd URLs
        return None


def _plugin_class(scheme: str) -> Any:
    """The plugin class serving ``scheme`` from its own module alone, or None (unknown to
    ``apprise_schemes``, or that module no longer serves it: ask Apprise itself)."""
    module = SCHEMES.get(scheme)
    if module is None:
        return None
    _quiet_apprise()
    try:
        loaded = importlib.import_module(f"apprise.plugins.{module}")
    except Exception:
        return None
    for name, found in vars(loaded).items():
        if not (name.startswith("Notify") and isinstance(found, type)):
            continue
        cls: Any = found
        if not hasattr(cls, "app_id"):
            continue
        served = {
            str(s).lower()
            for field in (cls.secure_protocol, cls.protocol)
            for s in ((field,) if isinstance(field, str) else (field or ()))
        }
        if scheme in served:
            return cls
    return None


@dataclass(frozen=True)
class SendOutcome:
    """How sending one message to one URL went.

    ``status``: "sent", "failed" (worth retrying), "permanent" (the URL cannot work),
    "timeout" (worth retrying). ``error`` is a masked, human-readable reason.
    """

    status: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "sent"


_STATUS = {
    "SUCCESS": "sent",
    "PARTIAL": "failed",
    "FAILURE": "failed",
    "TIMEOUT": "timeout",
    "NOMATCH": "permanent",
}


_FORMATS = ("text", "markdown", "html")  # apprise.NotifyFormat values


def send(
    url: str, title: str, body: str, *, timeout: float = 30.0, fmt: str = "text"
) -> SendOutcome:
    """Send one message (text, markdown or html) to one URL; never raises for a failure.

    A URL whose scheme ``apprise_schemes`` knows is sent through its own plugin object
    (built as ``Apprise.instantiate`` builds it, and handed to ``Apprise.add`` as one), so
    sending does not import Apprise's other plugins; any other URL through Apprise itself.
    """
    scheme = _scheme(url)
    cls = _plugin_class(scheme) if scheme and scheme != _CONSOLE else None
    if cls is not None:
        import apprise

        plugin = _build(cls, url)
        client = apprise.Apprise()
        added = plugin is not None and plugin.enabled and client.add(plugin)
    else:
        apprise = _apprise()
        client = apprise.Apprise()
        added = client.add(url)
    if not added:
        return SendOutcome("permanent", "Apprise does not recognise this URL.")
    try:
        result = client.notify(
            body=body,
            title=title,
            body_format=apprise.NotifyFormat(fmt if fmt in _FORMATS else "text"),
            timeout=timeout,
            log_level=logging.WARNING,
        )
    except Exception as exc:  # a plugin bug must not stop the other channels
        return SendOutcome("failed", f"Apprise raised {type(exc).__name__}.")
    status = _STATUS.get(getattr(result.status, "name", ""), "sent" if result else "failed")
    if status == "sent":
        return SendOutcome("sent")
    return SendOutcome(status, _last_message(result) or f"Delivery {status}.")


def _last_message(result: Any) -> str:
    """The last warning Apprise logged for this send, e.g. 'A Connection error occurred ...'."""
    messages: list[str] = []
    try:
        for per_url in result:
            for attempt in per_url.attempts:
                for entry in list(attempt.logs or []):
                    text = getattr(entry, "message", None) or (
                        entry.get("message") if isinstance(entry, dict) else None
                    )
                    if text:
                        messages.append(str(text))
    except Exception:
        return ""
    return messages[-1] if messages else ""
