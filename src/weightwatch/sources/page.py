"""Turn an HTML page into blocks of visible text: the only module that imports selectolax.

selectolax (the Lexbor HTML5 parser, written in C) parses a page the way a browser does,
repairing any markup, and answers CSS selectors. ``extract`` returns a ``PageResult``
whose blocks are what a reader sees on the page, in order:

1. The body is decoded: a BOM wins, then the HTTP charset, then ``<meta charset>`` (Lexbor's
   detection, as the HTML standard says), else UTF-8.
2. What is never visible is skipped: ``script``, ``style``, ``noscript``, ``template``,
   ``svg``, form controls and ``[hidden]`` / ``display: none`` elements.
3. The part watched: every element matching ``selector`` (outermost matches, in page order);
   without a selector, ``<main>`` when the page has one, else ``<body>``, minus navigation
   boilerplate (``nav``, ``aside``, page-level ``header`` / ``footer``, ARIA landmarks for
   navigation, banners, search and page info).
4. ``ignore`` entries remove parts first: a CSS selector removes the elements it matches; a
   ``/regular expression/`` removes the text it matches from every block. Patterns run under
   the ``regex`` module (the GIL released) with ``IGNORE_TIME_LIMIT`` seconds for all of a
   page's blocks: a pattern that backtracks catastrophically is a ``ParseError`` naming it
   (stdlib ``re`` has no timeout, and ``/(a+)+$/`` froze every thread for minutes).
5. The walk splits text at block elements: headings, paragraphs, list items, table rows
   (cells joined by " | "), ``<br>`` and every other block-level element. Inline elements
   join without a space ("H<sub>2</sub>O" stays "H2O").
6. Each block's text is normalised (Unicode NFKC, zero-width characters dropped, whitespace
   collapsed) and fingerprinted; blocks without a letter or digit are dropped.

A page with almost no text but scripts is an empty shell that JavaScript fills in a browser;
weightwatch does not run JavaScript, and says so with a ``ParseError``.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping
from itertools import accumulate
from operator import sub

import regex
from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError, create_tag

from weightwatch.errors import ParseError
from weightwatch.sources.clean import clean_text
from weightwatch.types import Block, PageResult

__all__ = [
    "IGNORE_TIME_LIMIT",
    "MAX_BLOCKS",
    "TEXT_LIMIT",
    "check_ignore",
    "check_selector",
    "extract",
    "fingerprint",
    "is_html",
    "normalise",
]

#: Blocks read from one page at most; the rest of a larger page is not watched (a warning).
MAX_BLOCKS = 20_000
#: Longest block text (characters); a longer block is cut.
TEXT_LIMIT = 20_000
#: Deepest element nesting read. Lexbor's tree builder takes time quadratic in the depth
#: (100,000 nested <div> take about a minute); Blink stops nesting at 512. Past this depth
#: the rest of the page is not read (a warning); real pages nest a few dozen deep.
MAX_DEPTH = 1000
#: Seconds all ``/pattern/`` entries of ``ignore`` may take over one page's blocks together.
IGNORE_TIME_LIMIT = 2.0
#: A page whose visible text is shorter than this and that has scripts may be a JS shell.
_SHELL_TEXT = 200

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_ITEMS = ("li", "dt", "dd")
_PARAGRAPHS = ("p", "blockquote", "pre", "figcaption", "caption", "summary", "legend")
_CONTAINERS = [
    "html",
    "body",
    "address",
    "article",
    "aside",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "fieldset",
    "figure",
    "footer",
    "form",
    "header",
    "hgroup",
    "hr",
    "main",
    "menu",
    "nav",
    "ol",
    "section",
    "search",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "ul",
    "frameset",
    "listing",
    "plaintext",
    "xmp",
]
_SKIP = [
    "head",
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "math",
    "canvas",
    "iframe",
    "object",
    "embed",
    "select",
    "option",
    "optgroup",
    "button",
    "textarea",
    "input",
    "datalist",
    "audio",
    "video",
    "map",
    "noembed",
    "noframes",
    "title",
]

# Unknown (custom) elements get per-document tag ids, so only standard names go in these sets.
_ID = {name: create_tag(name).tag_id for name in (*_HEADINGS, *_ITEMS, *_PARAGRAPHS)}
_KIND: dict[int, str] = {_ID[n]: "heading" for n in _HEADINGS}
_KIND |= {_ID[n]: "item" for n in _ITEMS}
_KIND |= {_ID[n]: "paragraph" for n in _PARAGRAPHS}
_KIND |= {create_tag(n).tag_id: "text" for n in _CONTAINERS}
_KIND[create_tag("tr").tag_id] = "row"
_SKIP_IDS = frozenset(create_tag(n).tag_id for n in _SKIP)
_CELL_IDS = frozenset(create_tag(n).tag_id for n in ("td", "th"))
# Inline elements that join text without a gap ("H<sub>2</sub>O", "re<b>lease</b>"). At the
# edges of other inline elements (span, a, custom elements) words are kept apart, as the
# page's CSS usually does: "<span>Research</span><span>37 comments</span>".
_GLUE_IDS = frozenset(
    create_tag(n).tag_id
    for n in [
        "b",
        "i",
        "em",
        "strong",
        "sub",
        "sup",
        "small",
        "mark",
        "u",
        "s",
        "strike",
        "code",
        "abbr",
        "bdi",
        "bdo",
        "q",
        "kbd",
        "var",
        "wbr",
        "tt",
        "font",
        "del",
        "ins",
        "dfn",
        "cite",
        "samp",
        "data",
    ]
)
_BR_ID = create_tag("br").tag_id
_A_ID = create_tag("a").tag_id  # the lowest element id; below it: text, comment, doctype
_TEXT_ID = 2  # Lexbor's id for text nodes (LXB_TAG__TEXT)
_RANK = {"heading": 3, "item": 2, "row": 2, "paragraph": 1, "text": 0}

_HIDDEN = (
    '[hidden], [aria-hidden="true"]:not(svg), [style*="display:none" i],'
    ' [style*="display: none" i],'
    ' [style*="visibility:hidden" i], [style*="visibility: hidden" i]'
)
_BOILERPLATE = (
    "nav, aside, [role=navigation], [role=banner], [role=contentinfo], [role=search],"
    " [role=complementary], [role=dialog], [role=alertdialog], dialog,"
    " header:not(article header):not(main header):not(section header),"
    " footer:not(article footer):not(main footer):not(section footer)"
)
_CONTENT = "p, li, h1, h2, h3, h4, h5, h6, tr, dd, article, section, div, pre, blockquote"
_MOUNT_POINTS = "#root, #app, #__next, #__nuxt, #___gatsby, #svelte, [data-reactroot], app-root"

_ZERO_WIDTH_RE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_WORD_RE = re.compile(r"\w")
# Relative times that a page rewrites on every load; masked in the fingerprint only.
_RELATIVE_TIME_RE = re.compile(
    r"\b(?:\d+|an?|one)\s*(?:s|sec|secs|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?"
    r"|w|wks?|weeks?|mo|mos|months?|y|yrs?|years?)\s+ago\b"
    r"|\b(?:just now|a moment ago|moments ago|yesterday|today)\b",
    re.IGNORECASE,
)
_HTML_SNIFF_RE = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|title|meta|link|div|p|h[1-6]|script|style|main"
    rb"|article|section|header|nav|table|ul)[\s>/]"
)
# Elements that stay open until closed: they are what nesting depth is made of.
_NESTING_RE = re.compile(
    rb"<(/?)(?:div|span|section|article|aside|nav|header|footer|main|ul|ol|dl|table|tbody"
    rb"|thead|tfoot|form|a|b|i|u|s|em|strong|font|small|big|blockquote|button|label|figure"
    rb"|details|summary|center|fieldset|q|cite|code|pre|sub|sup|abbr|mark|time|address"
    rb"|hgroup|picture|object|h[1-6])[\s>/]"
)
_STEP = {b"": 1, b"/": -1}
_CHARSET_RE = re.compile(r";\s*charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_BOMS = (b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe")


def normalise(text: str) -> str:
    """Unicode NFKC, zero-width characters and soft hyphens dropped, terminal controls and
    bidi overrides dropped (``clean.clean_text``), whitespace collapsed."""
    if not text.isascii():
        text = _ZERO_WIDTH_RE.sub("", unicodedata.normalize("NFKC", text))
    return " ".join(clean_text(text).split())


def fingerprint(text: str) -> str:
    """The identity of a block's normalised text: case and relative times do not count."""
    key = text.casefold()
    if "ago" in key or "day" in key or "now" in key:
        key = _RELATIVE_TIME_RE.sub("~", key)
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def check_selector(selector: str) -> str | None:
    """Why ``selector`` is not a CSS selector Lexbor understands, or None when it is."""
    if not selector.strip():
        return 'is empty; write a CSS selector such as "main .releases" or remove the key'
    try:
        LexborHTMLParser("<p>x</p>").css(selector)
    except SelectolaxError:
        return (
            f'{_quote(selector)} is not a valid CSS selector (examples: "main", '
            '"#changelog", "div.model-list > article", "table.results tr")'
        )
    return None


def check_ignore(entry: str) -> str | None:
    """Why an ``ignore`` entry is unusable: a ``/regular expression/`` or a CSS selector."""
    if _is_pattern(entry):
        try:
            _compile(entry)
        except regex.error as exc:
            return f"{_quote(entry)} is not a valid regular expression ({exc})"
        return None
    problem = check_selector(entry)
    if problem and not entry.strip().startswith("/"):
        problem += '; a text pattern is written between slashes, as in "/\\d+ views/"'
    return problem


def is_html(body: bytes, headers: Mapping[str, str] | None = None) -> bool:
    """Whether a response is an HTML page (served as HTML, or starts like HTML markup)."""
    mime = _header(headers, "content-type").partition(";")[0].strip().lower()
    if mime in ("text/html", "application/xhtml+xml"):
        return True
    return _HTML_SNIFF_RE.search(body[:2048].lower()) is not None


def extract(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    selector: str | None = None,
    ignore: Iterable[str] = (),
    source: str = "",
) -> PageResult:
    """The visible text of an HTML page as blocks; raises ``ParseError`` and nothing else."""
    try:
        return _Extraction(url, source, ignore).run(body, headers, selector)
    except ParseError:
        raise
    except Exception as exc:  # Lexbor, a codec, MemoryError: one page must not stop a poll
        detail = f"{type(exc).__name__}: {exc}"[:300]
        raise ParseError(f"The page could not be read ({detail}).", url=url, source=source) from exc


# --- one extraction -------------------------------------------------------------------------


class _Extraction:
    def __init__(self, url: str, source: str, ignore: Iterable[str]) -> None:
        self.url = url
        self.source = source
        ignore = tuple(ignore)
        self.remove = [e for e in ignore if not _is_pattern(e)]
        self.patterns = [(e, _compile(e)) for e in ignore if _is_pattern(e)]
        self.pattern_deadline = 0.0  # monotonic; set when the walk starts
        self.blocks: list[Block] = []
        self.seen_text = 0
        self.buf: list[str] = []
        self.kinds: list[str] = []  # kinds of the open block elements, outermost first
        self.heading_depth = 0
        self.heading = ""
        self.anchor = ""
        self.block_anchor = ""
        self.block_heading = ""
        self.block_kind = "text"
        self.full = False
        self.gap = False  # an inline element's edge was passed since the last text

    def error(self, message: str) -> ParseError:
        return ParseError(message, url=self.url, source=self.source)

    def run(
        self, body: bytes, headers: Mapping[str, str] | None, selector: str | None
    ) -> PageResult:
        if not body.strip():
            raise self.error("The response body is empty.")
        mime = _header(headers, "content-type").partition(";")[0].strip().lower()
        if (b"\x00" in body[:1024] and not body.startswith(_BOMS)) or mime.startswith(
            ("image/", "audio/", "video/", "font/", "application/pdf", "application/zip")
        ):
            raise self.error(
                f"The response is not an HTML page (Content-Type: {mime or 'not given'})."
            )
        warning = ""
        cut = _too_deep(body)
        if cut is not None:
            body = body[:cut]
            warning = (
                f"The page nests its elements more than {MAX_DEPTH} deep from byte {cut} on; "
                "only the part before that is read."
            )
        tree = _parse(body, headers)
        title = _title(tree)
        _remove(tree.css(_HIDDEN))
        for entry in self.remove:
            _remove(tree.css(entry))
        if selector:
            roots = _outermost(tree.css(selector))
            if not roots:
                if tree.body is not None:
                    everything = _Extraction(self.url, self.source, ())
                    everything.walk(tree.body)
                    self.check_shell(tree, sum(len(b.text) for b in everything.blocks))
                raise self.error(
                    f"The selector {_quote(selector)} matches nothing on the page; "
                    "the page's layout may have changed."
                )
        else:
            body_node = tree.body
            main = tree.css_first("main") or tree.css_first("[role=main]")
            has_content = main is not None and main.css_first(_CONTENT) is not None
            root = main if has_content else body_node
            if root is None:
                raise self.error("The page has no body.")
            _remove(root.css(_BOILERPLATE))
            roots = [root]
        self.pattern_deadline = time.monotonic() + IGNORE_TIME_LIMIT
        for root in roots:
            self.walk(root)
            if self.full:
                break
        if not selector:
            visible = sum(len(b.text) for b in self.blocks)
            if visible < _SHELL_TEXT:
                self.check_shell(tree, visible)
            if not self.blocks:
                raise self.error("The page has no visible text.")
        if self.full:
            warning = (
                f"The page has more than {MAX_BLOCKS} blocks of text; only the first "
                f"{MAX_BLOCKS} are watched (a selector can pick the part that matters)."
            )
        return PageResult(title=title, blocks=tuple(self.blocks), warning=warning)

    def remove_pattern(self, entry: str, pattern: regex.Pattern[str], text: str) -> str:
        """``text`` without what ``pattern`` matches, within the page's time for patterns."""
        left = self.pattern_deadline - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            return pattern.sub(" ", text, timeout=left, concurrent=True)
        except TimeoutError:
            raise self.error(
                f"The ignore pattern {_quote(entry)} took longer than {IGNORE_TIME_LIMIT:g} s "
                "on this page's text and was stopped: it backtracks catastrophically on some "
                'text (nested repetition such as "(a+)+" or "(a|aa)+"); simplify it.'
            ) from None

    def check_shell(self, tree: LexborHTMLParser, visible: int) -> None:
        """Raise the JavaScript message when the page is an empty shell that scripts fill:
        little visible text, scripts, and an app's mount point, a <noscript> asking for
        JavaScript, or no text at all."""
        scripts = len(tree.css("script"))
        if visible >= _SHELL_TEXT or not scripts:
            return
        mount = tree.css_first(_MOUNT_POINTS) is not None
        noscript = any("javascript" in n.text().lower() for n in tree.css("noscript"))
        if mount or noscript or not visible:
            raise self.error(
                f"The page is an empty shell ({visible} characters of text, {scripts} "
                f"script{'s' if scripts != 1 else ''}): its content is rendered in the browser "
                "by JavaScript, which weightwatch does not run. Look for a feed (weightwatch "
                "discover URL), an API, or a page of the same site that is rendered on the "
                "server."
            )

    # --- the walk: text nodes in document order, cut at block elements --------------------

    def walk(self, root: LexborNode) -> None:
        # The hot loop of a page poll: locals instead of attributes and globals.
        root_id = root.mem_id
        kind_of = _KIND
        skip = _SKIP_IDS
        glue = _GLUE_IDS
        buf = self.buf
        node: LexborNode | None = root.child
        self.enter(root.tag_id)
        while node is not None:
            tag = node.tag_id
            child = None
            if tag == _TEXT_ID:
                text = node.text_content
                if text and (buf or not text.isspace()):
                    if not buf:
                        self.start()
                    elif self.gap and not text[0].isspace() and not buf[-1][-1].isspace():
                        buf.append(" ")
                    buf.append(text)
                self.gap = False
            elif tag >= _A_ID and tag not in skip:  # elements; not comments, not doctype
                ident = node.id
                if ident:
                    self.anchor = clean_text(ident)[:200]
                elif tag == _A_ID:
                    name = node.attrs.get("name")
                    if name:
                        self.anchor = clean_text(name)[:200]
                if tag in kind_of:
                    self.enter(tag)
                elif tag in _CELL_IDS:
                    if buf:
                        buf.append(" | ")
                elif tag == _BR_ID:
                    self.flush()
                elif tag not in glue:
                    self.gap = True
                child = node.child
                if child is None and tag in kind_of:
                    self.leave(tag)
            if child is not None:
                node = child
                continue
            # Leave this node, then the ancestors it closes, to the next sibling.
            while node is not None:
                nxt = node.next
                if nxt is not None:
                    node = nxt
                    break
                node = node.parent
                if node is None or node.mem_id == root_id:
                    node = None
                    break
                tag = node.tag_id
                if tag in kind_of:
                    self.leave(tag)
                elif tag not in glue:
                    self.gap = True
            if self.full:
                return
        self.leave(root.tag_id)

    def enter(self, tag: int) -> None:
        if self.buf:
            self.flush()
        kind = _KIND.get(tag, "text")
        self.kinds.append(kind)
        if kind == "heading":
            self.heading_depth += 1

    def leave(self, tag: int) -> None:
        if self.buf:
            self.flush()
        if self.kinds and self.kinds.pop() == "heading":
            self.heading_depth -= 1

    def start(self) -> None:
        """The first text of a block: remember where it is."""
        self.block_anchor = self.anchor
        self.block_heading = self.heading
        if self.heading_depth:
            self.block_kind = "heading"
        else:
            self.block_kind = max(self.kinds[-3:] or ["text"], key=_RANK.__getitem__)

    def flush(self) -> None:
        if not self.buf:
            return
        raw = "".join(self.buf)
        self.buf.clear()
        text = normalise(raw)
        for entry, pattern in self.patterns:
            text = self.remove_pattern(entry, pattern, text)
        if self.patterns:
            text = " ".join(text.split())
        if not text or not _WORD_RE.search(text):
            return
        if len(text) > TEXT_LIMIT:
            text = text[: TEXT_LIMIT - 1].rstrip() + "…"
        kind = self.block_kind
        if kind == "heading":
            self.heading = text[:500]
        self.blocks.append(
            Block(
                fingerprint=fingerprint(text),
                text=text,
                kind=kind,
                heading=self.heading if kind == "heading" else self.block_heading,
                anchor=self.block_anchor,
            )
        )
        if len(self.blocks) >= MAX_BLOCKS:
            self.full = True


# --- helpers ----------------------------------------------------------------------------------


def _too_deep(body: bytes) -> int | None:
    """The offset where element nesting passes MAX_DEPTH, or None (the usual case, cheaply).

    A bound first, in C-speed counts over 64 KB chunks: every "<" that is not "</" or "<!"
    may open an element. Only when that bound passes MAX_DEPTH (void elements such as <img>
    push it up on large pages) are the tags that stay open until closed counted one by one.
    """
    bound = 0
    for start in range(0, len(body), 65536):
        chunk = body[start : start + 65536]
        closes = chunk.count(b"</")
        bound += chunk.count(b"<") - closes - chunk.count(b"<!")  # not "</", "<!--"
        if bound > MAX_DEPTH:
            break
        bound = max(bound - closes, 0)
    else:
        return None
    # Depth after each tag, never below 0 (stray end tags): prefix sums minus their running
    # minimum, all in C-level iterators.
    tags = _NESTING_RE.findall(body.lower())  # lowercased: the pattern need not ignore case
    sums = list(accumulate(map(_STEP.__getitem__, tags), initial=0))
    if max(map(sub, sums, accumulate(sums, min))) <= MAX_DEPTH:
        return None
    depth = 0
    for match in _NESTING_RE.finditer(body.lower()):
        if match.group(1):
            depth = max(depth - 1, 0)
        else:
            depth += 1
            if depth > MAX_DEPTH:
                return match.start()
    return None


def _parse(body: bytes, headers: Mapping[str, str] | None) -> LexborHTMLParser:
    if not body.startswith(_BOMS):
        match = _CHARSET_RE.search(_header(headers, "content-type"))
        if match:
            try:
                codec = codecs.lookup(match.group(1)).name
            except LookupError:
                codec = ""
            if codec and codec not in ("utf-8", "ascii"):
                return LexborHTMLParser(body.decode(codec, "replace"))
    return LexborHTMLParser(body, encoding=True)


def _title(tree: LexborHTMLParser) -> str:
    node = tree.css_first("head title") or tree.css_first("title")
    text = normalise(node.text()) if node is not None else ""
    if not text:
        meta = tree.css_first('meta[property="og:title"]')
        text = normalise(meta.attributes.get("content") or "") if meta is not None else ""
    return text[:2000]


def _outermost(nodes: list[LexborNode]) -> list[LexborNode]:
    """The nodes that are not inside another node of the list, in the list's order."""
    if len(nodes) < 2:
        return nodes
    ids = {n.mem_id for n in nodes}
    out = []
    for node in nodes:
        parent = node.parent
        while parent is not None and parent.mem_id not in ids:
            parent = parent.parent
        if parent is None:
            out.append(node)
    return out


def _remove(nodes: list[LexborNode]) -> None:
    # Only outermost matches: destroying an element also destroys what is inside it, and a
    # wrapper of a destroyed node must never be touched again.
    for node in _outermost(nodes):
        node.decompose()


def _is_pattern(entry: str) -> bool:
    entry = entry.strip()
    return len(entry) >= 2 and entry.startswith("/") and (entry.endswith(("/", "/i")))


def _compile(entry: str) -> regex.Pattern[str]:
    entry = entry.strip()
    if entry.endswith("/i"):
        return regex.compile(entry[1:-2], regex.IGNORECASE)
    return regex.compile(entry[1:-1])


def _header(headers: Mapping[str, str] | None, name: str) -> str:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value)
    return ""


def _quote(text: str) -> str:
    shown = text if len(text) <= 60 else text[:57] + "..."
    return '"' + shown.replace('"', '\\"') + '"'
