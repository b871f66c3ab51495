"""OPML, the list of feeds that every feed reader imports and exports: read, plan, write.

Pure: no file, no network, no clock (``serialise`` takes ``now``).

``parse`` reads OPML 1.0 and 2.0 as the readers write it (Miniflux, NetNewsWire, Feedly,
Inoreader, FreshRSS, Thunderbird, newsboat, rss2email): every ``<outline>`` with an
``xmlUrl`` is a feed, at any depth; the ``text`` (or ``title``) of the outlines around it are
its folders, and its ``category`` attribute (OPML 2.0: comma-separated, slash-delimited
categories such as ``"/Tech/AI,news"``) adds more. Outlines without an ``xmlUrl`` and without
children (links, inclusions, notes) are listed as skipped, with why.

The file is untrusted: it is read with the standard library's expat parser with no entity
declarations allowed at all (no billion laughs, no quadratic blowup, no external entities or
DTDs fetched), at most ``MAX_BYTES`` of it, ``MAX_OUTLINES`` outlines and ``MAX_DEPTH``
levels of nesting; anything else is an ``OpmlError`` with a sentence saying what is wrong.

``plan`` turns the feeds into ``NewSource`` values for the config: valid unique names (from
the title, else the URL, as ``discover.source_name``), tags as valid names, and feeds whose
canonical URL (``urls.canonical_url``) is already configured or repeated skipped with a reason.

``serialise`` writes OPML 2.0: one folder outline per source's first tag (the folder is what
Miniflux, NetNewsWire, Feedly, Inoreader, FreshRSS and Thunderbird turn into a category),
every tag in the ``category`` attribute as well, ``type="rss"`` on each feed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.parsers import expat
from xml.sax.saxutils import escape

from weightwatch.errors import WeightwatchError
from weightwatch.sources.discover import source_name
from weightwatch.sources.urls import canonical_url
from weightwatch.types import NewSource

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "MAX_OUTLINES",
    "Exported",
    "Feed",
    "Opml",
    "OpmlError",
    "Plan",
    "parse",
    "plan",
    "serialise",
    "tag_name",
]

#: The largest OPML file read: a 10,000-feed export is about 1.5 MB. Expat reads about
#: 10 MB/s on a loaded 2-core machine, so this also bounds the time (< 0.5 s).
MAX_BYTES = 4 * 1024 * 1024
#: Characters of an attribute value kept (a title or URL is far shorter).
_MAX_VALUE = 4096
#: Outlines (feeds, folders and others) read at most.
MAX_OUTLINES = 20_000
#: Elements of any kind read at most (each costs a call; this bounds the time).
MAX_ELEMENTS = 100_000
#: Nesting of outlines, at most (readers use one or two levels of folders).
MAX_DEPTH = 32

_TAG_BAD_RE = re.compile(r"[^a-z0-9._-]+")
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")  # as config.check: a valid source name
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class OpmlError(WeightwatchError):
    """The file is not an OPML file that can be read safely; the message says why."""


@dataclass(frozen=True)
class Feed:
    """One feed outline: its URL as written, its title and its folder and category names."""

    url: str
    title: str
    tags: tuple[str, ...] = ()  # as written: folders outermost first, then categories
    html_url: str = ""


@dataclass(frozen=True)
class Opml:
    title: str
    feeds: tuple[Feed, ...]
    skipped: tuple[tuple[str, str], ...]  # (the outline's text, why it is not a feed)


@dataclass(frozen=True)
class Plan:
    added: tuple[NewSource, ...]
    skipped: tuple[tuple[str, str], ...]  # (the feed's title or URL, why it is not added)


@dataclass(frozen=True)
class Exported:
    """A configured source as ``serialise`` writes it."""

    name: str
    url: str
    tags: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- reading


@dataclass
class _Open:
    """An outline the parser is inside of."""

    folder: str = ""  # its name, when it is not a feed
    feed: bool = False
    children: bool = False
    kind: str = ""  # its type attribute, lowercased
    text: str = ""


class _Reader:
    def __init__(self) -> None:
        self.seen_root = False
        self.in_body = 0
        self.in_head_title = False
        self.title_parts: list[str] = []
        self.depth = 0
        self.outlines = 0
        self.stack: list[_Open] = []  # the outlines open around the parser's position
        self.feeds: list[Feed] = []
        self.skipped: list[tuple[str, str]] = []
        self.parser = expat.ParserCreate()
        parser = self.parser
        parser.buffer_text = True
        self.elements = 0
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.EntityDeclHandler = self._entity
        parser.ExternalEntityRefHandler = self._external
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text

    def _entity(self, name: str, *_: object) -> None:
        raise OpmlError(
            f"declares an entity ({name}); OPML files need none, and entities are how hostile"
            " XML blows up, so the file is refused."
        )

    def _external(self, *_: object) -> int:
        raise OpmlError("refers to an external entity; the file is refused.")

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise OpmlError(f"has more than {MAX_ELEMENTS:,} XML elements; is it a feed list?")
        if not self.seen_root:
            self.seen_root = True
            if name.lower() != "opml":
                hint = ""
                if name.lower() in ("rss", "feed", "rdf:rdf"):
                    hint = " It is a feed itself: add it with `weightwatch add URL`."
                elif name.lower() == "html":
                    hint = " It is a web page; export the OPML file from the feed reader."
                raise OpmlError(f"is not an OPML file: its root element is <{name}>.{hint}")
            return
        lower = name.lower()
        if lower == "body":
            self.in_body += 1
        elif lower == "title" and not self.in_body and not self.stack:
            self.in_head_title = True
        elif lower == "outline" and self.in_body:
            self._outline(attrs)

    def _outline(self, raw: dict[str, str]) -> None:
        self.outlines += 1
        if self.outlines > MAX_OUTLINES:
            raise OpmlError(f"has more than {MAX_OUTLINES:,} outlines; is it really a feed list?")
        if len(self.stack) >= MAX_DEPTH:
            raise OpmlError(f"nests outlines more than {MAX_DEPTH} deep; readers use one or two.")
        if self.stack:
            self.stack[-1].children = True
        attrs = {k.lower(): _clean(v[:_MAX_VALUE]) for k, v in raw.items()}
        label = attrs.get("title") or attrs.get("text") or ""
        url = attrs.get("xmlurl", "")
        if url:
            tags = [o.folder for o in self.stack if o.folder]
            tags += _categories(attrs.get("category", ""))
            self.feeds.append(Feed(url, label, tuple(tags), attrs.get("htmlurl", "")))
            self.stack.append(_Open(feed=True))
            return
        kind = attrs.get("type", "").lower()
        self.stack.append(_Open(label, kind=kind, text=label or attrs.get("url", "")))

    def _end(self, name: str) -> None:
        lower = name.lower()
        if lower == "body":
            self.in_body = max(self.in_body - 1, 0)
        elif lower == "title":
            self.in_head_title = False
        elif lower == "outline" and self.in_body and self.stack:
            entry = self.stack.pop()
            if not entry.feed and not entry.children:  # neither a feed nor a folder
                kind, text = entry.kind, entry.text or "(an outline without text)"
                why = "not a feed (it has no xmlUrl)"
                if kind == "include":
                    why = "an inclusion of another OPML file; import that file itself"
                elif kind == "link":
                    why = "a link to a web page, not a feed (try `weightwatch add` with it)"
                self.skipped.append((text, why))

    def _text(self, data: str) -> None:
        if self.in_head_title and sum(len(p) for p in self.title_parts) < 1000:
            self.title_parts.append(data)


def parse(data: bytes) -> Opml:
    """The feeds of an OPML file's bytes; OpmlError (a sentence) when it cannot be read."""
    if len(data) > MAX_BYTES:
        raise OpmlError(
            f"is larger than {MAX_BYTES // (1024 * 1024)} MB; a feed list of 10,000 feeds is"
            " about 1.5 MB."
        )
    if not data.strip():
        raise OpmlError("is empty.")
    reader = _Reader()
    try:
        reader.parser.Parse(data, True)  # in one call: expat rescans a token split across calls
    except expat.ExpatError as exc:
        reason = expat.errors.messages.get(exc.code, "not well-formed")
        raise OpmlError(
            f"is not an OPML file: the XML is broken at line {exc.lineno},"
            f" column {exc.offset + 1} ({reason})."
        ) from None
    except (RecursionError, MemoryError):
        raise OpmlError("is too deeply nested or too large to read.") from None
    if not reader.seen_root:
        raise OpmlError("is not an OPML file: it has no XML element.")
    title = " ".join("".join(reader.title_parts).split())
    return Opml(title, tuple(reader.feeds), tuple(reader.skipped))


def _clean(value: str) -> str:
    return " ".join(_CONTROL_RE.sub("", value).split())


def _categories(value: str) -> list[str]:
    """OPML 2.0 ``category``: ``"/Boston/Weather,tag2"`` -> Boston, Weather, tag2."""
    out: list[str] = []
    for entry in value.split(","):
        out += [part.strip() for part in entry.split("/") if part.strip()]
    return out


# ----------------------------------------------------------------------------- planning


def tag_name(text: str) -> str:
    """A folder or category name as a valid tag name: ``"Tech News"`` -> ``tech-news``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _TAG_BAD_RE.sub("-", ascii_text.lower()).strip("-._")
    return slug[:40].rstrip("-._")


def plan(
    feeds: Iterable[Feed],
    *,
    configured: Iterable[tuple[str, str]],
    tags: Sequence[str] = (),
) -> Plan:
    """What to add: ``configured`` is the config's (name, URL) pairs; ``tags`` go on every one."""
    names: set[str] = set()
    present: dict[str, str] = {}
    for name, url in configured:
        names.add(name)
        key = canonical_url(url)
        if key:
            present.setdefault(key, name)
    added: list[NewSource] = []
    skipped: list[tuple[str, str]] = []
    in_file: dict[str, str] = {}
    for feed in feeds:
        label = feed.title or feed.url
        key = canonical_url(feed.url)
        if not key or not key.startswith(("http://", "https://")):
            skipped.append((label, f"its URL {feed.url!r} is not an http:// or https:// address"))
            continue
        if key in present:
            skipped.append((label, f"already in the config as {present[key]}"))
            continue
        if key in in_file:
            skipped.append((label, f"listed twice in the file (added once, as {in_file[key]})"))
            continue
        name = feed.title  # a title that is a valid name is kept (what `export` writes)
        if not _NAME_RE.match(name) or name in names:
            name = source_name(feed.title, feed.url)
            if name in names:  # (source_name copies what it is given: only on a clash)
                name = source_name(feed.title, feed.url, names)
        names.add(name)
        in_file[key] = name
        wanted = [*tags, *(tag_name(t) for t in feed.tags)]
        added.append(NewSource(name, feed.url, tuple(dict.fromkeys(t for t in wanted if t))))
    return Plan(tuple(added), tuple(skipped))


# ----------------------------------------------------------------------------- writing


def serialise(sources: Sequence[Exported], *, title: str, now: datetime) -> bytes:
    """OPML 2.0 of ``sources``: folders by first tag, every tag in ``category``."""
    folders: dict[str, list[Exported]] = {}
    loose: list[Exported] = []
    for source in sources:
        if source.tags:
            folders.setdefault(source.tags[0], []).append(source)
        else:
            loose.append(source)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{escape(_xml_text(title))}</title>",
        f"    <dateCreated>{format_datetime(now)}</dateCreated>",
        "    <docs>https://opml.org/spec2.opml</docs>",
        "  </head>",
        "  <body>",
    ]
    for folder, members in folders.items():
        lines.append(f"    <outline text={_attr(folder)} title={_attr(folder)}>")
        lines += [f"      {_feed_outline(s)}" for s in members]
        lines.append("    </outline>")
    lines += [f"    {_feed_outline(s)}" for s in loose]
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")


def _feed_outline(source: Exported) -> str:
    category = f" category={_attr(','.join(source.tags))}" if source.tags else ""
    return (
        f'<outline type="rss" text={_attr(source.name)} title={_attr(source.name)}'
        f" xmlUrl={_attr(source.url)}{category}/>"
    )


def _xml_text(text: str) -> str:
    return _CONTROL_RE.sub("", text)


def _attr(value: str) -> str:
    escaped = escape(_xml_text(value), {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
    return f'"{escaped}"'
