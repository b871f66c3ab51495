"""Text from the web is stored without terminal controls and printed with them escaped."""

from __future__ import annotations

import pytest

from weightwatch.sources.clean import clean_text, printable

ATTACK = "\x1b]0;PWNED\x07\x1b[8mHIDDEN"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (ATTACK, "]0;PWNED[8mHIDDEN"),
        ("evil\u202etxt.exe", "eviltxt.exe"),  # right-to-left override
        ("a\u2066b\u2069c\u202ad\u202ce", "abcde"),  # isolates and embeddings
        ("csi \x9b31m red \x85 nel", "csi 31m red  nel"),  # C1 controls
        ("del\x7f bs\x08", "del bs"),
        ("lines\nand\ttabs stay", "lines\nand\ttabs stay"),
        ("plain café — 日本語 👨‍👩‍👧", "plain café — 日本語 👨‍👩‍👧"),
        (
            "right-to-left: \u05e9\u05dc\u05d5\u05dd \u200f",
            "right-to-left: \u05e9\u05dc\u05d5\u05dd \u200f",
        ),
    ],
)
def test_clean_text_drops_controls_and_bidi_overrides_and_keeps_the_rest(
    raw: str, clean: str
) -> None:
    assert clean_text(raw) == clean


def test_printable_escapes_what_a_terminal_would_act_on() -> None:
    assert printable(ATTACK) == "\\x1b]0;PWNED\\x07\\x1b[8mHIDDEN"
    assert printable("evil\u202etxt") == "evil\\u202etxt"
    assert printable("a\rb\x9bc\u2028d") == "a\\rb\\x9bc\\u2028d"
    assert printable("two\nlines\tand tab") == "two\\nlines\\tand tab"
    assert printable("two\nlines", keep_lines=True) == "two\nlines"
    assert printable("café — 日本語 👨‍👩‍👧 ok") == "café — 日本語 👨‍👩‍👧 ok"
