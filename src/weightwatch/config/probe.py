"""Trying user patterns on hostile text at check time: a ``/regex/`` that backtracks
catastrophically is refused by ``weightwatch check`` instead of being stopped by its timeout
on every poll.

The probe strings are runs of the pattern's own letters and digits (and a few common ones)
ended by a character that cannot match, the classic trigger of nested repetition such as
``(a+)+$`` or ``(a|aa)+$``. Each search gets ``PROBE_SECONDS``; on 33-character strings any
sane pattern takes microseconds.
"""

from __future__ import annotations

import regex

PROBE_SECONDS = 0.1
_RUN = 32


def probe_strings(pattern: str) -> list[str]:
    """Short adversarial strings built from the characters ``pattern`` mentions."""
    chars = dict.fromkeys(c for c in pattern if c.isalnum())
    chars.update(dict.fromkeys("a1 "))
    out = []
    for char in list(chars)[:20]:
        out += [char * _RUN + "!", char * _RUN + "\n", (char + " ") * (_RUN // 2) + "!"]
    return out


def catastrophic(compiled: regex.Pattern[str], pattern: str) -> bool:
    """Whether ``compiled`` takes longer than ``PROBE_SECONDS`` on a probe string."""
    for text in probe_strings(pattern):
        try:
            compiled.search(text, timeout=PROBE_SECONDS)
        except TimeoutError:
            return True
    return False


def why_catastrophic(what: str) -> str:
    return (
        f"{what} backtracks catastrophically: it ran longer than {PROBE_SECONDS:g} s on a "
        "33-character test text (nested repetition such as (a+)+ or (a|aa)+); simplify it"
    )
