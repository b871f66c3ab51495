"""Feed discovery for ``weightwatch discover URL``: pure functions over a page's HTML text.

``find_feeds`` lists, in this order and without repeats:

1. the feeds the page advertises: ``<link rel="alternate">`` with an RSS, Atom, RDF or JSON
   Feed type (``origin = "advertised"``);
2. the feed paths of the platform the page is on (``origin`` names it): WordPress
   (``/feed/``), Substack (``/feed``), Medium (``/feed/@user``), Ghost (``/rss/``),
   Blogger, GitHub (a repository's releases, tags and commits Atom feeds, a user's
   activity), YouTube (a channel's or playlist's videos) and Reddit (``/.rss``);
3. links in the page's text that look like feeds (``origin = "linked"``).

Platforms are recognised from the URL and from the markup (a ``generator`` meta tag, asset
hosts). Nothing here fetches: ``_discover`` does, and checks each candidate is a feed.
The tags are found with regular expressions, not an HTML parser: only ``<link>``, ``<a>`` and
``<meta>`` start tags matter, and comments and scripts are cut out first (in one pass).
"""

from __future__ import annotations

import codecs
import html
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urljoin, urlsplit

from weightwatch.sources.urls import canonical_url

__all__ = ["Candidate", "decode", "find_feeds", "source_block", "source_name"]

#: How much of a page is scanned for tags (advertised feeds are in the head).
SCAN_LIMIT = 2 * 1024 * 1024

_FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/rdf+xml": "rdf",
    "application/feed+json": "json",
    "application/x.atom+xml": "atom",
    "application/x-atom+xml": "atom",
    "application/x-rss+xml": "rss",
    "text/xml": "rss",
    "application/xml": "rss",
    "application/json": "json",
}
# application/json, text/xml and application/xml alternates are feeds only when they say so
# (WordPress advertises its REST API as an application/json alternate on every page).
_VAGUE_TYPES = ("application/json", "text/xml", "application/xml")
_FEEDISH_RE = re.compile(r"\b(?:feed|rss|atom)\b", re.IGNORECASE)
_LINKED_RE = re.compile(
    r"(?:/feed/?|/rss/?|\.rss|\.atom|/atom\.xml|/feed\.xml|/rss\.xml|/index\.xml|/feed\.json"
    r"|/feeds/posts/default)$|[?&]feed=(?:rss2?|atom)(?:&|$)",
    re.IGNORECASE,
)
_TAG_RE = re.compile(r"<(link|a|meta)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.IGNORECASE)
_ATTR_RE = re.compile(r"([^\s\"'=<>/`]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+)))?")
_HIDDEN_START_RE = re.compile(r"<!--|<script\b|<style\b", re.IGNORECASE)
_HIDDEN_END = {"<!--": "-->", "<script": "</script", "<style": "</style"}
_META_CHARSET_RE = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_HTTP_CHARSET_RE = re.compile(r";\s*charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_YT_CHANNEL_RE = re.compile(
    r"(?:\"(?:channelId|externalId|browseId)\"\s*:\s*\"|itemprop=\"(?:channelId|identifier)\""
    r"\s+content=\"|youtube\.com/channel/|channel_id=)(UC[\w-]{22})"
)
_NAME_OK_RE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Candidate:
    """A feed URL found for a page: where it came from and what it claims to be."""

    url: str
    kind: str  # "rss", "atom", "rdf", "json", or "" when only the path suggests a feed
    title: str  # as the page gives it, or a description
    origin: str  # "advertised", "linked", or the platform ("WordPress", "GitHub", ...)


def decode(body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """A page's text: BOM, else the HTTP charset, else ``<meta charset>``, else UTF-8."""
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if body.startswith(bom):
            return body.decode(codec, "replace")
    content_type = next(
        (str(v) for k, v in (headers or {}).items() if k.lower() == "content-type"), ""
    )
    match = _HTTP_CHARSET_RE.search(content_type)
    declared = match.group(1) if match else ""
    if not declared:
        meta = _META_CHARSET_RE.search(body[:2048])
        declared = meta.group(1).decode("ascii", "replace") if meta else ""
    try:
        codec = codecs.lookup(declared).name if declared else "utf-8"
    except LookupError:
        codec = "utf-8"
    return body.decode(codec, "replace")


def find_feeds(page: str, url: str) -> list[Candidate]:
    """Every feed candidate for the page at ``url`` whose HTML text is ``page``."""
    tags = list(_tags(_visible_markup(page[:SCAN_LIMIT])))
    found: dict[str, Candidate] = {}

    def add(candidate: Candidate) -> None:
        key = canonical_url(candidate.url)
        if key and key not in found:
            found[key] = candidate

    for name, attrs in tags:
        if name != "link":
            continue
        rels = attrs.get("rel", "").lower().split()
        mime = attrs.get("type", "").split(";")[0].strip().lower()
        href = attrs.get("href", "").strip()
        if "alternate" not in rels or mime not in _FEED_TYPES or not href:
            continue
        title = " ".join(attrs.get("title", "").split())
        if mime in _VAGUE_TYPES and not _FEEDISH_RE.search(f"{title} {href}"):
            continue
        absolute = _absolute(href, url)
        if absolute:
            add(Candidate(absolute, _FEED_TYPES[mime], title, "advertised"))
    for candidate in _platform_feeds(page, url, tags):
        add(candidate)
    for name, attrs in tags:
        href = attrs.get("href", "").strip()
        if name == "a" and href and _LINKED_RE.search(href.split("#")[0]):
            absolute = _absolute(href, url)
            if absolute:
                title = " ".join(attrs.get("title", "").split())
                add(Candidate(absolute, "", title, "linked"))
    return list(found.values())


# --- platforms ------------------------------------------------------------------------------


def _platform_feeds(
    page: str, url: str, tags: list[tuple[str, dict[str, str]]]
) -> Iterator[Candidate]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    origin = f"{parts.scheme or 'https'}://{parts.netloc}"
    path = [p for p in parts.path.split("/") if p]
    generator = " ".join(
        a.get("content", "")
        for n, a in tags
        if n == "meta" and a.get("name", "").lower() == "generator"
    ).lower()
    lowered = page[:SCAN_LIMIT].lower()

    if host == "github.com":
        yield from _github(path)
    elif host == "youtube.com" or host.endswith(".youtube.com"):
        yield from _youtube(page, parts.query)
    elif host == "reddit.com" or host.endswith(".reddit.com"):
        yield from _reddit(path)
    elif host == "medium.com" or host.endswith(".medium.com") or "cdn-client.medium.com" in lowered:
        yield from _medium(host, origin, path)
    elif host.endswith(".substack.com") or "substackcdn.com" in lowered or "substack" in generator:
        yield Candidate(f"{origin}/feed", "rss", "Substack posts", "Substack")
    elif "wordpress" in generator or "/wp-content/" in lowered or "/wp-includes/" in lowered:
        yield from _wordpress(origin, path, tags)
    elif "ghost" in generator:
        yield Candidate(f"{origin}/rss/", "rss", "Ghost posts", "Ghost")
    elif "blogger" in generator or host.endswith(".blogspot.com"):
        yield Candidate(f"{origin}/feeds/posts/default", "atom", "Blogger posts", "Blogger")


def _github(path: list[str]) -> Iterator[Candidate]:
    reserved = {"orgs", "topics", "search", "settings", "marketplace", "explore", "features"}
    if not path or path[0] in reserved:
        return
    owner = quote(path[0], safe="")
    if len(path) == 1:
        yield Candidate(f"https://github.com/{owner}.atom", "atom", f"{path[0]} activity", "GitHub")
        return
    repo = quote(path[1].removesuffix(".git"), safe="")
    base = f"https://github.com/{owner}/{repo}"
    name = f"{path[0]}/{path[1]}"
    yield Candidate(f"{base}/releases.atom", "atom", f"{name} releases", "GitHub")
    yield Candidate(f"{base}/tags.atom", "atom", f"{name} tags", "GitHub")
    if len(path) >= 4 and path[2] in ("commits", "tree"):
        branch = quote(path[3], safe="")
        yield Candidate(f"{base}/commits/{branch}.atom", "atom", f"{name} commits", "GitHub")
    else:
        yield Candidate(f"{base}/commits.atom", "atom", f"{name} commits", "GitHub")


def _youtube(page: str, query: str) -> Iterator[Candidate]:
    feeds = "https://www.youtube.com/feeds/videos.xml"
    playlist = parse_qs(query).get("list", [""])[0]
    if re.fullmatch(r"[\w-]{10,64}", playlist):
        yield Candidate(f"{feeds}?playlist_id={playlist}", "atom", "playlist videos", "YouTube")
    match = _YT_CHANNEL_RE.search(page[:SCAN_LIMIT])
    if match:
        yield Candidate(f"{feeds}?channel_id={match.group(1)}", "atom", "channel videos", "YouTube")


def _reddit(path: list[str]) -> Iterator[Candidate]:
    if len(path) >= 2 and path[0] == "r":
        base = f"https://www.reddit.com/r/{quote(path[1], safe='')}"
        if len(path) >= 4 and path[2] == "comments":
            thread = "/".join(quote(p, safe="") for p in path[3:5])
            yield Candidate(f"{base}/comments/{thread}/.rss", "atom", "thread comments", "Reddit")
        yield Candidate(f"{base}/.rss", "atom", f"r/{path[1]} posts", "Reddit")
        yield Candidate(f"{base}/new/.rss", "atom", f"r/{path[1]} new posts", "Reddit")
    elif len(path) >= 2 and path[0] in ("user", "u"):
        user = quote(path[1], safe="")
        yield Candidate(f"https://www.reddit.com/user/{user}/.rss", "atom", "user posts", "Reddit")
    elif not path:
        yield Candidate("https://www.reddit.com/.rss", "atom", "front page", "Reddit")


def _medium(host: str, origin: str, path: list[str]) -> Iterator[Candidate]:
    if host == "medium.com":
        if path and path[0] not in ("tag", "search", "me", "m"):
            who = quote(path[0], safe="@")
            yield Candidate(f"https://medium.com/feed/{who}", "rss", f"{path[0]} posts", "Medium")
        elif len(path) >= 2 and path[0] == "tag":
            tag = quote(path[1], safe="")
            yield Candidate(f"https://medium.com/feed/tag/{tag}", "rss", f"tag {path[1]}", "Medium")
    else:
        yield Candidate(f"{origin}/feed", "rss", "Medium posts", "Medium")


def _wordpress(
    origin: str, path: list[str], tags: list[tuple[str, dict[str, str]]]
) -> Iterator[Candidate]:
    root = origin + "/"
    for name, attrs in tags:
        if name == "link" and attrs.get("rel", "").lower() == "https://api.w.org/":
            api = _absolute(attrs.get("href", ""), origin + "/")
            if api and "/wp-json" in api:
                root = api.split("/wp-json", 1)[0] + "/"
            break
    yield Candidate(root + "feed/", "rss", "WordPress posts", "WordPress")
    if len(path) >= 2 and path[0] in ("category", "tag", "author"):
        section = "/".join(quote(p, safe="") for p in path[:2])
        yield Candidate(f"{origin}/{section}/feed/", "rss", f"{path[0]} {path[1]}", "WordPress")


# --- tags -------------------------------------------------------------------------------------


def _visible_markup(page: str) -> str:
    """The page without comments, scripts and styles (a linear scan; unclosed ones end it)."""
    out: list[str] = []
    pos = 0
    lowered = page.lower()
    while True:
        match = _HIDDEN_START_RE.search(page, pos)
        if match is None:
            out.append(page[pos:])
            break
        out.append(page[pos : match.start()])
        end = lowered.find(_HIDDEN_END[match.group(0).lower()], match.end())
        if end < 0:
            break
        pos = end
    return "".join(out)


def _tags(markup: str) -> Iterator[tuple[str, dict[str, str]]]:
    for match in _TAG_RE.finditer(markup):
        attrs: dict[str, str] = {}
        for a in _ATTR_RE.finditer(match.group(2)):
            key = a.group(1).lower()
            if key not in attrs:
                value = a.group(2) if a.group(2) is not None else a.group(3) or a.group(4) or ""
                attrs[key] = html.unescape(value)
        yield match.group(1).lower(), attrs


def _absolute(href: str, base: str) -> str:
    try:
        absolute = urljoin(base, href.strip())
    except ValueError:
        return ""
    if absolute.lower().startswith(("feed:", "itpc:")):  # feed://host/x, feed:https://host/x
        rest = absolute.split(":", 1)[1]
        absolute = "https:" + rest if rest.startswith("//") else rest
    return absolute if urlsplit(absolute).scheme in ("http", "https") else ""


# --- ready-to-paste config --------------------------------------------------------------------


def source_name(title: str, url: str, taken: Iterable[str] = ()) -> str:
    """A valid, unused source name from a feed's title, else from its URL's host and path."""
    used = set(taken)
    base = _slug(title)
    if len(base) < 3:
        parts = urlsplit(url)
        host = (parts.hostname or "").removeprefix("www.")
        words = [host.split(".")[0], *[p for p in parts.path.split("/") if p][:2]]
        base = _slug(" ".join(words)) or "source"
    name = base
    number = 2
    while name in used:
        name = f"{base}-{number}"
        number += 1
    return name


def source_block(name: str, url: str, *, comment: str = "", extra: Iterable[str] = ()) -> str:
    """A ``[[source]]`` table to paste into the config, with an optional comment line."""
    lines = [f"# {comment}"] if comment else []
    lines += ["[[source]]", f"name = {_toml(name)}", f"url = {_toml(url)}", *extra]
    return "\n".join(lines)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _NAME_OK_RE.sub("-", ascii_text.lower()).strip("-")
    return slug[:40].rstrip("-")


def _toml(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'
