"""Canonical form of a URL, so that two spellings of one link compare equal.

Pure: no I/O, no DNS. ``canonical_url`` never raises; it returns ``""`` for input it cannot use.

Rules, in the order they are applied:

1. Surrounding whitespace is trimmed, and tabs and newlines inside are removed (as browsers do).
2. A relative URL is resolved against ``base``.
3. Only ``http``, ``https`` and ``ftp`` URLs with a host are kept; anything else (no scheme,
   ``mailto:``, ``javascript:``, ``data:``, a bad port, bad IPv6 brackets) gives ``""``.
4. The scheme and the host are lowercased (an internationalised host is lowercased and put in
   Unicode NFC form; it is not converted to or from punycode). A trailing dot on the host is kept.
5. The user name and password (``user:pass@``) are dropped.
6. The default port is dropped: 80 for http, 443 for https, 21 for ftp.
7. The fragment (``#...``) is dropped.
8. Percent-encoding is normalised in the path and the query: escapes of unreserved characters
   (letters, digits, ``-._~``) are decoded, the other escapes are uppercased (``%2f`` → ``%2F``),
   and characters that may not appear literally (spaces, non-ASCII, a ``%`` that starts no
   escape) are encoded as UTF-8.
9. Dot segments are removed from the path (``/a/./b/../c`` → ``/a/c``); an empty path becomes
   ``/``; a trailing slash is removed (``/blog/`` → ``/blog``), but ``/`` stays ``/``.
10. Tracking parameters are removed from the query (see ``TRACKING_PARAMS`` and
    ``TRACKING_PREFIXES``; names compare case-insensitively). Parameters that may carry meaning,
    such as ``ref``, ``id``, ``p``, ``v``, ``source`` or ``partner``, are kept.
11. The remaining parameters are sorted by name; repeated names keep their relative order. Empty
    parameters (``a=1&&b=2``) and an empty query (a bare ``?``) are dropped. ``+`` is left as is.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import quote, unquote_plus, urljoin, urlsplit

__all__ = ["TRACKING_PARAMS", "TRACKING_PREFIXES", "canonical_url"]

#: Query parameter names (lowercase) that only track the reader and never select content.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        # Google Analytics / Ads
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "_ga",
        "_gl",
        # Meta, Microsoft, Yandex, TikTok, Twitter/X, LinkedIn, Instagram
        "fbclid",
        "msclkid",
        "yclid",
        "ysclid",
        "ttclid",
        "twclid",
        "li_fat_id",
        "igshid",
        # Mailchimp
        "mc_cid",
        "mc_eid",
        # HubSpot
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",
        # Marketo, Omeda, Vero, Wicked Reports, Rakuten, Openstat, Adobe
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "wickedid",
        "rb_clickid",
        "_openstat",
        "s_kwcid",
        "ef_id",
        # Twitter embeds and share links
        "ref_src",
        "ref_url",
        # AT Internet (BBC feeds add ?at_medium=RSS&at_campaign=...)
        "at_medium",
        "at_campaign",
    }
)

#: Name prefixes (lowercase) of tracking parameters: ``utm_source``, ``utm_medium``, ...
TRACKING_PREFIXES: tuple[str, ...] = ("utm_",)

_SCHEMES_DEFAULT_PORT = {"http": 80, "https": 443, "ftp": 21}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters that may stay literal (RFC 3986 pchar without "%", plus "/" and "?").
_PATH_SAFE = "-._~!$&'()*+,;=:@/"
_QUERY_SAFE = _PATH_SAFE + "?"
_ESCAPE_RE = re.compile(r"%([0-9A-Fa-f]{2})")
_LONE_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_BAD_HOST_RE = re.compile(r"[\s<>\"\\^`{|}%/?#@]")


def canonical_url(url: str, base: str | None = None) -> str:
    """Return the canonical form of ``url`` (resolved against ``base``), or ``""``.

    See the module docstring for the rules. Never raises.
    """
    try:
        return _canonical(url, base)
    except Exception:
        return ""


@lru_cache(maxsize=8192)
def _canonical(url: str, base: str | None) -> str:
    if not isinstance(url, str):
        return ""
    url = url.strip().translate(_TAB_NEWLINE)
    if not url:
        return ""
    if base and not _SCHEME_RE.match(url):
        base = base.strip().translate(_TAB_NEWLINE)
        if base:
            url = urljoin(base, url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    default_port = _SCHEMES_DEFAULT_PORT.get(scheme)
    if default_port is None:
        return ""
    host = _host(parts.netloc)
    if not host:
        return ""
    port = parts.port  # ValueError for a non-numeric or out-of-range port: caught by the caller
    netloc = host if port is None or port == default_port else f"{host}:{port}"
    path = _remove_dot_segments(_normalise_escapes(parts.path, _PATH_SAFE))
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    if not path:
        path = "/"
    query = _query(parts.query)
    return f"{scheme}://{netloc}{path}?{query}" if query else f"{scheme}://{netloc}{path}"


def _host(netloc: str) -> str:
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):  # IPv6 literal, keep the brackets
        end = hostport.find("]")
        if end < 0:
            return ""
        host = hostport[: end + 1]
    else:
        host = hostport.partition(":")[0]
    if not host or _BAD_HOST_RE.search(host):
        return ""
    if not host.isascii():
        host = unicodedata.normalize("NFC", host)
    return host.lower()


def _normalise_escapes(text: str, safe: str) -> str:
    if not text:
        return text
    if "%" in text:
        text = _LONE_PERCENT_RE.sub("%25", text)
    # quote() leaves existing escapes alone (``%`` is safe here) and encodes the rest as UTF-8.
    text = quote(text, safe=safe + "%")
    if "%" in text:
        text = _ESCAPE_RE.sub(_fix_escape, text)
    return text


def _fix_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    segments = path.split("/")
    if not any(s in (".", "..") for s in segments):
        return path
    out: list[str] = []
    for segment in segments:
        if segment == ".":
            continue
        if segment == "..":
            if len(out) > 1:
                out.pop()
            continue
        out.append(segment)
    if segments[-1] in (".", ".."):
        out.append("")  # "/a/b/.." means the directory "/a/"
    result = "/".join(out)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def _query(query: str) -> str:
    if not query:
        return ""
    kept: list[tuple[str, str]] = []
    for param in query.split("&"):
        if not param:
            continue
        name = param.partition("=")[0]
        key = unquote_plus(name).strip().lower()
        if key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES):
            continue
        kept.append((key, _normalise_escapes(param, _QUERY_SAFE)))
    kept.sort(key=lambda pair: pair[0])
    return "&".join(param for _, param in kept)
