"""Text from the web made safe to store and to show on a terminal. Pure: no I/O.

A feed or a page is written by someone else. Two kinds of character in it can act on the
reader's terminal instead of being read:

* C0 and C1 control characters (ESC starts escape sequences that retitle the window, hide
  text or rewrite the screen; BEL ends them; U+009B is a one-character CSI);
* bidirectional overrides, embeddings and isolates (U+202A-U+202E, U+2066-U+2069), which
  reorder what is displayed ("evil\\u202etxt.exe" shows as "evilexe.txt").

``clean_text`` removes both from item text where items are made (feeds and pages);
``printable`` escapes them, and every other character a terminal would act on, where the
command line prints stored text (rows stored by an older version may still hold them).
Tab and newline are kept by ``clean_text``: callers that want one line collapse whitespace
themselves. Right-to-left text itself, and the marks U+200E/U+200F, are left alone.
"""

from __future__ import annotations

import unicodedata

__all__ = ["BIDI_CONTROLS", "clean_text", "printable"]

#: Bidirectional embeddings, overrides and isolates.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_C0_KEPT = "\t\n\r"
_DROP: dict[int, int | None] = {
    **{c: None for c in range(0x00, 0x20) if chr(c) not in _C0_KEPT},
    **{c: None for c in range(0x7F, 0xA0)},
    **{ord(c): None for c in BIDI_CONTROLS},
    ord("\r"): ord("\n"),  # alone a carriage return moves the cursor back over the line
}
_TERMINAL_UNSAFE = frozenset({"Cc", "Cs", "Zl", "Zp"})


def clean_text(text: str) -> str:
    """``text`` without C0/C1 controls (tab and newline kept) and bidi overrides/isolates."""
    if text.isprintable():
        return text
    return text.translate(_DROP)


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if ch == "\r":
        return "\\r"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: str, *, keep_lines: bool = False) -> str:
    """``text`` for a terminal: controls, line separators and bidi controls as ``\\x1b``,
    ``\\u202e``...; ``keep_lines`` keeps newlines and tabs (multi-line output)."""
    if text.isprintable():
        return text
    out: list[str] = []
    for ch in text:
        if ch.isprintable() or ch == " " or (keep_lines and ch in "\n\t"):
            out.append(ch)
        elif ch in BIDI_CONTROLS or unicodedata.category(ch) in _TERMINAL_UNSAFE:
            out.append(_escape(ch))
        else:  # format characters such as ZWJ in emoji, no-break spaces: harmless
            out.append(ch)
    return "".join(out)
