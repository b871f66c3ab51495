"""Turn a fetched body into a ``FeedResult``: RSS 0.9x/1.0/2.0, RDF, Atom and JSON Feed.

This is the only module that imports feedparser. Everything a feed can do wrong ends as a
``ParseError``; nothing else escapes ``parse``.

What happens to a body, in order:

1. gzip bytes (magic ``1f 8b``) that the server sent without Content-Encoding are decompressed,
   at most ``MAX_DECOMPRESSED`` bytes.
2. A body that starts with ``{`` (or is served as JSON and does not start with ``<``) is read
   as JSON Feed 1.0/1.1, or as Dave Winer's "RSS in JSON" layout, with the ``json`` module.
3. An HTML page (``<!doctype html``, ``<html``, ``<head`` or ``<body`` first, and no ``<rss``,
   ``<feed``, ``<rdf:RDF`` or ``<channel`` anywhere) is refused with a clear message that names
   the feed the page links to, if any.
4. Everything else goes to feedparser, hardened as ``shared/notes/dependencies.md`` says: the body
   is decoded to UTF-8 first (feedparser's own decoder, fed the HTTP charset from the
   lowercased headers, or the UTF-16/32 a BOM shows) so that ``<!ENTITY`` declarations can be
   neutralised in any encoding (quadratic entity blowup); it is always passed as a stream, never
   as bytes that could be taken for a path; sanitising and relative-URI resolution are off (we
   strip all tags anyway, and they cost ~40% of the parse time). Deliberately, no
   ``content-location`` goes in: links are resolved by ``canonical_url`` against ``url``, and
   with it feedparser would also rewrite relative guids into absolute ids (which then change
   when a feed moves) and spend ~13% of the parse time joining URLs.
   Whitespace before ``<?xml`` (a classic PHP bug) is removed first, so the strict parser can
   read such feeds instead of falling back to the lenient one.
   Before feedparser sees it, the markup is bounded (``sources.markup``): feedparser's
   pure-Python handlers cost 15-35 µs per element and cannot be interrupted, so 1 M nested
   elements took 11.6 s and 1 M ``<a/>`` 33 s, past any fetch deadline. More than
   ``MAX_DEPTH`` levels of nesting or ``MAX_ELEMENTS`` elements (outside CDATA and comments)
   is a ``ParseError`` found in milliseconds; a body within both parses in a few seconds.
5. A malformed feed that still yields entries (feedparser's "bozo") gives its items and a
   ``warning`` sentence; one with neither entries nor a recognisable feed is a ``ParseError``.
6. RSS ``<ttl>`` (minutes) becomes ``FeedResult.ttl`` in seconds, a hint for the scheduler.

Per-item work is kept small, as parsing is the main CPU cost of a poll cycle: comments, script
and style are cut out in one linear pass, the other tags with two precompiled regular
expressions (no HTML parser: ``html.parser`` was 3-5 times slower on the corpus), entities are
decoded with ``html.unescape`` only when there is an ``&``, HTML is cut to ``_RAW_LIMIT``
characters before stripping and the text to ``TEXT_LIMIT`` after. Over the 418 real feeds of
the corpus this post-processing is about a tenth of the time feedparser takes. A ``<`` that does
not open a tag ("a < b", "Vec<T>" in a plain-text title) is kept.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import time
import xml.sax
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
from feedparser.encodings import convert_to_utf8

from weightwatch.errors import ParseError
from weightwatch.sources.clean import clean_text
from weightwatch.sources.markup import MAX_DEPTH, MAX_ELEMENTS, too_much_markup
from weightwatch.sources.urls import canonical_url
from weightwatch.types import FeedResult, Item

__all__ = [
    "MAX_DECOMPRESSED",
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "TEXT_LIMIT",
    "TITLE_LIMIT",
    "TooMuchMarkup",
    "parse",
]

#: Largest body we accept after decompressing gzip bytes sent without Content-Encoding.
MAX_DECOMPRESSED = 10 * 1024 * 1024
#: Longest ``Item.text`` (characters, after stripping tags).
TEXT_LIMIT = 20_000
#: Longest ``Item.title`` and ``FeedResult.title``.
TITLE_LIMIT = 2_000
#: Longest ``Item.id``; a longer guid is replaced by ``sha1:`` and its hash.
ID_LIMIT = 1_000
#: HTML beyond this many characters is not looked at (the text is cut to TEXT_LIMIT anyway).
_RAW_LIMIT = 200_000

_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_FUTURE_SLACK = timedelta(days=2)

NOT_A_FEED = "The document is not RSS, Atom or JSON Feed."
HTML_PAGE = "The response is an HTML page, not a feed."

# --- tag stripping -------------------------------------------------------------------------
# Inline elements vanish without a trace ("H<sub>2</sub>O" -> "H2O"); every other tag becomes a
# space so that "<p>a</p><p>b</p>" does not become "ab". A "<" that does not start a tag
# ("a < b", "<3") is left alone; entities are decoded after the tags are gone, so "&lt;b&gt;"
# survives as the text "<b>".
# Case-sensitive on purpose (IGNORECASE doubles the cost): an uppercase inline tag, rare in
# feeds, just becomes a space.
_INLINE_TAG_RE = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|cite|code|data|del|dfn|em|font|i|ins|kbd|mark|q|s|samp|small"
    r"|span|strike|strong|sub|sup|time|tt|u|var|wbr)"
    r"(?:\s[^<>\"']*(?:(?:\"[^\"]{0,2000}\"|'[^']{0,2000}')[^<>\"']*)*)?/?>"
)
# Comments, script and style are cut out first by _drop_hidden, in one linear pass: a regex
# such as "<!--.*?-->" rescans to the end for every unclosed "<!--" (quadratic; 200 KB of them
# took 90 s).
_HIDDEN_START_RE = re.compile(r"<!--|<(?:script|style|SCRIPT|STYLE|Script|Style)\b")
_HIDDEN_END_RE = {
    "s": re.compile(r"</script\s*>", re.IGNORECASE),
    "t": re.compile(r"</style\s*>", re.IGNORECASE),
}
_TAG_RE = re.compile(
    r"</?[A-Za-z][^<>\"']*(?:(?:\"[^\"]{0,2000}\"|'[^']{0,2000}')[^<>\"']*)*>"  # quoted ">" ok
    r"|<!\[CDATA\[|\]\]>"  # stray CDATA markers: keep the text inside
    r"|<[!?][^<>]*>"  # doctype, processing instructions
)
# C0 controls other than whitespace, DEL, and lone surrogates (which JSON can smuggle in).
_JUNK_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ud800-\udfff]")
# The HTML tags that make a "plain text" field worth stripping all the same.
_KNOWN_TAGS = (
    r"</?(?:a|abbr|b|blockquote|br|code|div|em|h[1-6]|hr|i|img|li|ol|p|pre|q|s|small|span"
    r"|strong|sub|sup|u|ul)(?:\s[^<>]*)?/?>"
)
_KNOWN_TAG_RE = re.compile(_KNOWN_TAGS, re.IGNORECASE)
_LEADING_TAG_RE = re.compile(r"\s*" + _KNOWN_TAGS, re.IGNORECASE)

# --- sniffing -------------------------------------------------------------------------------
_UTF8_BOM = b"\xef\xbb\xbf"
_WS = b" \t\r\n"
_WIDE_STARTS = (  # order matters: the UTF-32 LE BOM starts like the UTF-16 LE one
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_PROLOG_RE = re.compile(rb"\s*(?:<\?[^>]*>|<!--.*?-->)", re.DOTALL)
_HTML_START_RE = re.compile(rb"<!doctype\s+html|<(?:html|head|body)[\s>/]")
# A feed element anywhere in an HTML-looking body (an Atom feed wrapped in XHTML exists).
_FEED_ROOT_RE = re.compile(rb"<(?:feed|rss|rdf:RDF|channel)[\s>]")
_FEED_LINK_RE = re.compile(
    rb"<link\b[^<>]{0,500}\btype\s*=\s*[\"']?application/(?:rss|atom|feed)\+(?:xml|json)[^<>]{0,500}>",
    re.IGNORECASE,
)
_HREF_RE = re.compile(rb"\bhref\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.IGNORECASE)


class TooMuchMarkup(ParseError):
    """An XML body with more elements or deeper nesting than is parsed (``MAX_ELEMENTS``,
    ``MAX_DEPTH``): not a feed, and not a page to fall back to either."""


def parse(
    body: bytes,
    *,
    source: str,
    url: str,
    now: datetime,
    headers: Mapping[str, str] | None = None,
) -> FeedResult:
    """Parse one response body into a ``FeedResult``.

    ``url`` is the final URL the body came from (relative links resolve against it);
    ``headers`` are the response headers (any case; Content-Type matters); ``now`` is when
    it was fetched (a publication date more than two days after it is not believed).
    Raises ``ParseError`` and nothing else.
    """
    try:
        return _Parser(source, url, headers, now).run(body)
    except ParseError:
        raise
    except Exception as exc:  # anything from feedparser, json, zlib, MemoryError, RecursionError
        detail = f"{type(exc).__name__}: {exc}"[:300]
        raise ParseError(
            f"The feed could not be parsed ({detail}).", url=url, source=source
        ) from exc


class _Parser:
    """One parse: holds what every item needs (source, base URL, the time now)."""

    def __init__(
        self, source: str, url: str, headers: Mapping[str, str] | None, now: datetime
    ) -> None:
        self.source = source
        self.url = url
        self.headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        content_type = self.headers.get("content-type", "")
        mime, _, params = content_type.partition(";")
        self.mime = mime.strip().lower()
        self.charset = _charset_param(params)
        self.latest = now + _FUTURE_SLACK

    def error(self, message: str) -> ParseError:
        return ParseError(message, url=self.url, source=self.source)

    # --- dispatch -------------------------------------------------------------------------

    def run(self, body: bytes) -> FeedResult:
        if not isinstance(body, bytes):
            body = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        if body[:2] == b"\x1f\x8b":
            body = self.gunzip(body)
        head = body[3:1027] if body.startswith(_UTF8_BOM) else body[:1024]
        head = head.lstrip(_WS + b"\x0c\x0b")
        if not head:
            raise self.error("The response body is empty.")
        if head[:1] == b"{" or ("json" in self.mime and head[:1] != b"<"):
            return self.parse_json(body)
        if _looks_like_html(head.lower()) and not _FEED_ROOT_RE.search(body):
            raise self.error(_html_message(body))
        return self.parse_xml(body)

    def gunzip(self, body: bytes) -> bytes:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(body, MAX_DECOMPRESSED + 1)
        except zlib.error as exc:
            raise self.error(
                f"The body starts like gzip data but could not be decompressed ({exc})."
            ) from exc
        if len(data) > MAX_DECOMPRESSED:
            raise self.error(
                f"The gzip-compressed body is larger than {MAX_DECOMPRESSED // 2**20} MB "
                "once decompressed."
            )
        return data

    # --- XML through feedparser -----------------------------------------------------------

    def parse_xml(self, body: bytes) -> FeedResult:
        body = _trim_leading_space(body)
        # Decode with feedparser's own rules (HTTP charset, BOM, XML declaration, fallbacks) so
        # that entity declarations can be neutralised whatever the encoding (UTF-16, UTF-7,
        # EBCDIC would hide "<!ENTITY" from a byte search). The result declares utf-8.
        content_type = "application/xml"  # not text/*: no us-ascii default, no NonXMLContentType
        charset = _wide_encoding(body) or self.charset
        if charset:
            content_type += f"; charset={charset}"
        decoded: dict[str, Any] = {}
        data = convert_to_utf8({"content-type": content_type}, body, decoded)
        data = data.replace(b"<!ENTITY", b"<!IGNORED")
        too_much = too_much_markup(data)
        if too_much:
            raise TooMuchMarkup(f"{too_much}; it was not parsed.", url=self.url, source=self.source)
        # No content-location: we resolve links ourselves (canonical_url against the final URL).
        # Given one, feedparser also turns relative guids into absolute ids, which would change
        # every id when a feed moves, and its URL joining costs ~13% of the parse time.
        fp_headers = {"content-type": "application/xml; charset=utf-8"}
        if "content-language" in self.headers:
            fp_headers["content-language"] = self.headers["content-language"]
        result = feedparser.parse(
            io.BytesIO(data),
            response_headers=fp_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
        entries: list[Any] = result.get("entries") or []
        version: str = result.get("version") or ""
        problem = result.get("bozo_exception") if result.get("bozo") else None
        if problem is None and decoded.get("bozo"):
            problem = decoded.get("bozo_exception")
        if not entries and not version:
            if self.mime in ("text/html", "application/xhtml+xml") or _root_is_html(data):
                raise self.error(_html_message(body))
            if problem is not None:
                raise self.error(f"{NOT_A_FEED[:-1]} ({_describe(problem)}).")
            raise self.error(NOT_A_FEED)
        warning = ""
        if problem is not None:
            warning = _warning(problem, len(entries))
        feed = result.get("feed") or {}
        title = _detail_text(dict.get(feed, "title_detail"), dict.get(feed, "title"), TITLE_LIMIT)
        items = [self.item_from_entry(entry) for entry in entries]
        return FeedResult(
            kind=_kind(version),
            title=title,
            items=items,
            warning=warning,
            ttl=_ttl_seconds(dict.get(feed, "ttl")),
        )

    def item_from_entry(self, entry: dict[str, Any]) -> Item:
        get = dict.get
        title = _detail_text(get(entry, "title_detail"), get(entry, "title"), TITLE_LIMIT)
        raw, raw_is_html = "", False
        summary = get(entry, "summary")
        if isinstance(summary, str) and summary:
            raw, raw_is_html = summary, _is_html_detail(get(entry, "summary_detail"), True)
        for content in get(entry, "content") or ():
            value = content.get("value") if isinstance(content, dict) else None
            if isinstance(value, str) and len(value) > len(raw):
                raw, raw_is_html = value, _is_html_type(content.get("type"), True)
        if raw and not raw_is_html:
            raw_is_html = "<" in raw and _KNOWN_TAG_RE.search(raw) is not None
        text = _plain(raw, raw_is_html, TEXT_LIMIT) if raw else ""
        link_value = get(entry, "link")
        link = canonical_url(link_value, self.url) if isinstance(link_value, str) else ""
        guid = get(entry, "id")
        published = _struct_time_to_utc(
            get(entry, "published_parsed") or get(entry, "updated_parsed"), self.latest
        )
        return Item(
            source=self.source,
            id=_item_id(guid, link, title, text),
            link=link,
            title=title,
            text=text,
            published=published,
        )

    # --- JSON Feed ------------------------------------------------------------------------

    def parse_json(self, body: bytes) -> FeedResult:
        text = self.decode_json(body)
        try:
            # strict=False lets raw control characters inside strings through (seen in the wild).
            doc = json.loads(text, strict=False)
        except (ValueError, RecursionError) as exc:
            raise self.error(f"The JSON Feed is not valid JSON ({exc}).") from exc
        if not isinstance(doc, dict):
            raise self.error(NOT_A_FEED)
        rss = doc.get("rss")
        if isinstance(rss, dict) and isinstance(rss.get("channel"), dict):
            return self.parse_rss_in_json(rss["channel"])
        version = doc.get("version")
        items = doc.get("items")
        warning = ""
        if isinstance(version, str) and "jsonfeed.org/version/" in version:
            if version.rstrip("/").rsplit("/", 1)[-1] not in ("1", "1.0", "1.1"):
                warning = (
                    f"The JSON Feed declares an unknown version ({version[:100]}); "
                    "it was read as version 1.1."
                )
        elif isinstance(items, list):
            warning = "The JSON document declares no JSON Feed version; it was read as 1.1."
        else:
            raise self.error(NOT_A_FEED)
        if not isinstance(items, list):
            items = []
            warning = warning or "The JSON Feed has no list of items."
        out: list[Item] = []
        skipped = 0
        for raw in items:
            if isinstance(raw, dict):
                out.append(self.item_from_json(raw))
            else:
                skipped += 1
        if skipped and not warning:
            warning = (
                f"The JSON Feed has {skipped} item(s) that are not objects; they were skipped."
            )
        return FeedResult(
            kind="json", title=_json_text(doc.get("title"), TITLE_LIMIT), items=out, warning=warning
        )

    def decode_json(self, body: bytes) -> str:
        if body.startswith(_UTF8_BOM):
            body = body[3:]
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        if self.charset:
            try:
                return body.decode(self.charset)
            except (UnicodeDecodeError, LookupError):
                pass
        return body.decode("utf-8", "replace")

    def item_from_json(self, raw: dict[str, Any]) -> Item:
        title = _json_text(raw.get("title"), TITLE_LIMIT)
        best, best_html = "", False
        for key, is_html in (("content_html", True), ("content_text", False), ("summary", False)):
            value = raw.get(key)
            if isinstance(value, str) and len(value) > len(best):
                best, best_html = value, is_html
        text = _plain(best, True, TEXT_LIMIT) if best_html else _json_text(best, TEXT_LIMIT)
        link_value = raw.get("url")
        if not isinstance(link_value, str) or not link_value.strip():
            link_value = raw.get("external_url")
        link = canonical_url(link_value, self.url) if isinstance(link_value, str) else ""
        published = _iso_to_utc(raw.get("date_published"), self.latest) or _iso_to_utc(
            raw.get("date_modified"), self.latest
        )
        return Item(
            source=self.source,
            id=_item_id(raw.get("id"), link, title, text),
            link=link,
            title=title,
            text=text,
            published=published,
        )

    def parse_rss_in_json(self, channel: dict[str, Any]) -> FeedResult:
        entries = channel.get("item")
        if isinstance(entries, dict):
            entries = [entries]
        if not isinstance(entries, list):
            entries = []
        items = [self.item_from_rss_json(e) for e in entries if isinstance(e, dict)]
        return FeedResult(
            kind="json",
            title=_json_text(channel.get("title"), TITLE_LIMIT),
            items=items,
            ttl=_ttl_seconds(channel.get("ttl")),
        )

    def item_from_rss_json(self, raw: dict[str, Any]) -> Item:
        title = _json_text(raw.get("title"), TITLE_LIMIT)
        description = raw.get("description")
        text = _plain(description, True, TEXT_LIMIT) if isinstance(description, str) else ""
        link_value = raw.get("link")
        link = canonical_url(link_value, self.url) if isinstance(link_value, str) else ""
        guid = raw.get("guid")
        if isinstance(guid, dict):
            guid = guid.get("value") or guid.get("#value") or guid.get("#text")
        published = _rfc822_to_utc(raw.get("pubDate"), self.latest)
        return Item(
            source=self.source,
            id=_item_id(guid, link, title, text),
            link=link,
            title=title,
            text=text,
            published=published,
        )


# --- helpers ----------------------------------------------------------------------------------


def _charset_param(params: str) -> str:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'").strip()
    return ""


def _looks_like_html(head: bytes) -> bool:
    """``head`` is the lowercased start of the body, BOM and leading whitespace removed."""
    pos = 0
    while match := _PROLOG_RE.match(head, pos):
        if match.end() == pos:
            break
        pos = match.end()
    return _HTML_START_RE.match(head[pos:].lstrip()) is not None


def _root_is_html(data: bytes) -> bool:
    match = re.search(rb"<([A-Za-z][\w:.-]*)", data[:4096])
    return match is not None and match.group(1).lower() in (b"html", b"head", b"body")


def _html_message(body: bytes) -> str:
    link = _FEED_LINK_RE.search(body[:65536])
    if link:
        href = _HREF_RE.search(link.group(0))
        if href:
            value = next(g for g in href.groups() if g is not None)
            found = html.unescape(value.decode("utf-8", "replace")).strip()
            if found:
                return f"{HTML_PAGE[:-1]} (it links to a feed at {found[:500]})."
    return HTML_PAGE


def _wide_encoding(body: bytes) -> str:
    """UTF-16 or UTF-32 from a BOM or from how ``<`` is spelt at the start; else ``""``.

    A BOM wins over any declared charset. feedparser decodes a BOM-marked body without an
    ``encoding=`` declaration as UTF-8 (NUL bytes are valid UTF-8), and does not recognise
    UTF-16 without a BOM unless it starts with ``<?xml``; naming the codec fixes both.
    """
    start = body[:4]
    for prefix, codec in _WIDE_STARTS:
        if start.startswith(prefix):
            return codec
    return ""


def _trim_leading_space(body: bytes) -> bytes:
    """Drop whitespace before the first ``<``, keeping a UTF-8 BOM (ASCII-compatible bodies)."""
    bom = b""
    rest = body
    if rest.startswith(_UTF8_BOM):
        bom, rest = _UTF8_BOM, rest[3:]
    if rest[:1] and rest[:1] in _WS:
        stripped = rest.lstrip(_WS)
        if stripped[:1] == b"<" and stripped[1:2] != b"\x00":
            return bom + stripped
    return body


def _kind(version: str) -> str:
    if version.startswith("atom"):
        return "atom"
    if version in ("rss090", "rss10"):
        return "rdf"
    return "rss"


def _describe(problem: object) -> str:
    if isinstance(problem, xml.sax.SAXParseException):
        return (
            f"line {problem.getLineNumber()}, column {problem.getColumnNumber()}: "
            f"{problem.getMessage()}"
        )
    text = str(problem).strip() or type(problem).__name__
    return text[:300]


def _warning(problem: object, count: int) -> str:
    name = type(problem).__name__
    detail = _describe(problem)
    if name == "CharacterEncodingOverride":
        what = f"The feed's character encoding is wrong ({detail})"
    elif name == "CharacterEncodingUnknown":
        what = f"The feed's character encoding could not be determined ({detail})"
    elif name == "UndeclaredNamespace":
        what = f"The feed uses an undeclared XML namespace ({detail})"
    elif isinstance(problem, xml.sax.SAXException):
        what = f"The feed is not well-formed XML ({detail})"
    else:
        what = f"The feed is malformed ({name}: {detail})"
    if count == 0:
        return f"{what}; it has no items."
    noun = "item was" if count == 1 else "items were"
    return f"{what}; {count} {noun} read leniently."


def _is_html_type(content_type: object, default: bool) -> bool:
    if not isinstance(content_type, str) or not content_type:
        return default
    return "html" in content_type  # text/html, application/xhtml+xml


def _is_html_detail(detail: object, default: bool) -> bool:
    if isinstance(detail, dict):
        return _is_html_type(detail.get("type"), default)
    return default


def _detail_text(detail: object, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value:
        return ""
    if _is_html_detail(detail, True):
        return _plain(value, True, limit)
    # feedparser says text/plain (it found a tag or entity it does not know), yet such values
    # often carry common markup; strip it then, but leave "Vec<T>" alone.
    looks_html = "<" in value and _KNOWN_TAG_RE.search(value) is not None
    return _plain(value, looks_html, limit)


def _json_text(value: object, limit: int) -> str:
    """A JSON field that should be plain text but often carries entities or a few tags."""
    if not isinstance(value, str) or not value:
        return ""
    looks_html = "&" in value or ("<" in value and _KNOWN_TAG_RE.search(value) is not None)
    return _plain(value, looks_html, limit)


def _plain(value: str, is_html: bool, limit: int) -> str:
    """Plain text: tags stripped (when HTML), entities decoded, whitespace collapsed, capped."""
    if len(value) > _RAW_LIMIT:
        value = value[:_RAW_LIMIT]
    if is_html:
        value = _strip_html(value)
        # Double-escaped HTML ("&lt;p&gt;..." inside CDATA) comes out as markup: take a second
        # pass when the text starts with a known tag. Text that merely shows markup in the
        # middle (a code sample) is left alone.
        if "<" in value and _LEADING_TAG_RE.match(value):
            value = _strip_html(value)
    value = clean_text(_JUNK_RE.sub("", value))  # no terminal controls, no bidi overrides
    value = " ".join(value.split())
    if len(value) > limit:
        cut = value[:limit]
        space = cut.rfind(" ", limit - 200)
        value = cut[:space] if space > 0 else cut
    return value


def _strip_html(value: str) -> str:
    if "<" in value:
        value = _drop_hidden(value)
        value = _INLINE_TAG_RE.sub("", value)
        value = _TAG_RE.sub(" ", value)
    if "&" in value:
        value = html.unescape(value)
    return value


def _drop_hidden(value: str) -> str:
    """Remove comments and script/style elements; an unclosed one runs to the end (as in HTML)."""
    match = _HIDDEN_START_RE.search(value)
    if match is None:
        return value
    parts: list[str] = []
    pos = 0
    while match is not None:
        parts.append(value[pos : match.start()])
        opener = match.group()
        if opener == "<!--":
            end = value.find("-->", match.end())
            pos = -1 if end < 0 else end + 3
        else:
            closer = _HIDDEN_END_RE["t" if opener[2] in "tT" else "s"].search(value, match.end())
            pos = -1 if closer is None else closer.end()
        if pos < 0:
            break
        parts.append(" ")
        match = _HIDDEN_START_RE.search(value, pos)
    else:
        parts.append(value[pos:])
    return "".join(parts)


def _ttl_seconds(value: object) -> float | None:
    """RSS ``<ttl>`` (minutes) in seconds; None when absent, not a whole number, or not > 0."""
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit() or len(value) > 9:
            return None
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**9:
        return float(value * 60)
    return None


def _item_id(guid: object, link: str, title: str, text: str) -> str:
    if isinstance(guid, (int, float)) and not isinstance(guid, bool):
        guid = str(guid)
    if isinstance(guid, str):
        guid = _JUNK_RE.sub("", guid).strip()
        if guid:
            if len(guid) > ID_LIMIT:
                return "sha1:" + hashlib.sha1(guid.encode("utf-8")).hexdigest()
            return guid
    if link:
        return link
    digest = hashlib.sha1(f"{title}\n{text}".encode()).hexdigest()
    return "sha1:" + digest


def _sane(moment: datetime, latest: datetime) -> datetime | None:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if moment < _EARLIEST or moment > latest:
        return None
    return moment


def _struct_time_to_utc(value: object, latest: datetime) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        moment = datetime(*value[:5], min(value[5], 59), tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    return _sane(moment, latest)


def _iso_to_utc(value: object, latest: datetime) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return _rfc822_to_utc(text, latest)
    return _sane(moment, latest)


def _rfc822_to_utc(value: object, latest: datetime) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _sane(moment, latest)
