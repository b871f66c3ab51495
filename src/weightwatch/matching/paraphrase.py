"""News paraphrases that mean the same event, as a small reviewed table (pure).

Different outlets announce one release with different verbs and qualifiers: "OpenAI
*launches* two *open* AI reasoning models" / "OpenAI *releases* its first *open-weight*
models". Story clustering (``matching.story``) reads both through this table, so the verbs
count as one word (a generic one: it weighs nothing as evidence, but it is no longer a
"replaced word" that keeps two alike titles apart), and the qualifiers likewise.

The table is deliberately small and explicit: every entry is a word that, in a news
headline about a product, a model or a report, means the same event as its canonical
form. It is not a thesaurus: "drops" (release slang) is in, although "shares drop" is
another sense, because the canonical word "release" weighs nothing as evidence either
way; words whose other sense is an event of its own ("delays", "pulls", "halts") are
never here (the reversal guard relies on them staying apart).

``canonical_phrases(text)`` rewrites the multi-word forms before tokenising ("rolls out"
-> "releases", "open-weight" / "open source" -> "open"); ``canonical(stem)`` maps a
single stemmed word. Both are total and idempotent (table tests in
tests/matching/test_paraphrase.py).
"""

from __future__ import annotations

import re

__all__ = ["PHRASES", "WORDS", "canonical", "canonical_phrases"]

# Multi-word forms, matched case-insensitively on word boundaries, and what they become.
PHRASES: tuple[tuple[str, str], ...] = (
    (r"roll(?:s|ed|ing)?\s+out", "releases"),
    (r"open[-\s]?sourc(?:es|ed|ing)(?=\s+(?:its|a|an|the|[A-Z0-9]))", "releases open"),
    (r"open[-\s]?(?:weights?|sourced?|sources|sourcing)", "open"),
    (r"made\s+available", "releases"),
    (r"makes?\s+available", "releases"),
)

# Single words (light stems, as ``story._stem`` makes them) -> the canonical stem.
# The release verbs: "launch", "unveil", "debut", "drop", "introduce", "ship", "roll out",
# "release", "publish" ... the same event in a product headline.
_RELEASE = "launch"
WORDS: dict[str, str] = {
    "releas": _RELEASE,
    "unveil": _RELEASE,
    "debut": _RELEASE,
    "drop": _RELEASE,
    "introduc": _RELEASE,  # introduces / introduced / introducing
    "rollout": _RELEASE,
    "ship": _RELEASE,
    "publish": _RELEASE,
    # the "open" qualifiers once tokenised on their own ("open-sources" -> "open", "sources")
    "opensourc": "open",
    "openweight": "open",
}

_PHRASE_RE = [(re.compile(rf"\b{p}\b", re.IGNORECASE), repl) for p, repl in PHRASES]


def canonical_phrases(text: str) -> str:
    """``text`` with the multi-word paraphrases rewritten to their canonical word."""
    for pattern, repl in _PHRASE_RE:
        text = pattern.sub(repl, text)
    return text


def canonical(stem: str) -> str:
    """The canonical form of a stemmed word (itself when it is not in the table)."""
    return WORDS.get(stem, stem)
