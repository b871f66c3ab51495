"""Rule queries: a small boolean language, compiled once, matched against prepared items.

Language
--------
A query is made of terms and operators::

    OpenAI AND ("release weights" OR open-weight) AND NOT "Weight Watchers"
    release NEAR/3 weights AND title:(llama OR gemma) -/gpt ?4o?/

* A **term** is a bare word (``open-weight``, ``GPT-4``, ``OpenAI's``) or a
  ``"quoted phrase"`` (straight or curly double quotes). A bare word that the tokeniser
  cuts into several words (``gpt-oss-120b``) is matched like a phrase.
* ``AND``, ``OR``, ``NOT`` and ``NEAR/n`` are operators only when written in **uppercase**;
  ``and``, ``or``, ``not``, ``near`` (any other case) are ordinary words that must appear in
  the item. This keeps titles pasted as queries ("Pride and Prejudice") meaning what they
  say. A bare uppercase ``NEAR`` without ``/n`` is an error; write ``"NEAR"`` for the word.
* ``-word``, ``-"phrase"`` and ``-(...)`` are short for ``NOT``; the ``-`` must touch its term.
* Terms next to each other without an operator are joined by ``AND``.
* Precedence: ``NEAR`` binds tightest, then ``NOT``, then ``AND``, then ``OR``; parentheses
  group. ``NOT a NEAR/3 b`` is ``NOT (a NEAR/3 b)``; ``a NEAR/3 b AND c`` is
  ``(a NEAR/3 b) AND c``; ``a NEAR/2 b NEAR/2 c`` is ``(a NEAR/2 b) NEAR/2 c``.

Proximity
~~~~~~~~~
* ``a NEAR/n b`` matches when a and b occur, **in either order**, with at most ``n`` other
  words between them (``NEAR/0``: side by side), in the same field and the same sentence
  (the sentence breaks of phrases, in ``query.words``). ``release NEAR/3 weights``
  matches "released the model weights" (2 words between) and "weights were released" (1),
  not "release of the new open model weights" (5). A side of ``NEAR`` is a word, a
  phrase, a regex, a ``NEAR`` or a parenthesised ``OR`` of those
  (``(release OR publish) NEAR/3 weights``); ``AND`` and ``NOT`` inside a side are errors.
  Its span runs from the first word of one side to the last of the other; the distance
  reported is the words in between.
* ``"a b"~n`` is a **sloppy phrase**: the words of the phrase **in the order written**,
  with at most ``n`` other words inserted between them in total, within one sentence.
  ``"release weights"~3`` matches "released the model weights" but not "weights were
  released" (use ``NEAR`` for any order). ``~n`` needs a quoted phrase of two or more words.
* A rule's ``proximity = n`` (config) gives ``~n`` to every quoted phrase of two or more
  words that the rule looks for and that has no ``~`` of its own (``Query.with_proximity``).
  Phrases under ``NOT`` (and in ``none = [...]``) stay exact: loosening what a rule excludes
  would silently drop alerts. The order is kept because it carries meaning ("Weight
  Watchers" is not "watchers of weight"); ``NEAR`` is the any-order tool.
* ``n`` is at most ``MAX_DISTANCE`` (50).

Fields
~~~~~~
``title:word``, ``text:"a phrase"``, ``title:/regex/`` and ``title:(a OR b NEAR/2 c)`` look
in one field only (the prefix is distributed over the group: ``title:(a -b)`` is
``title:a AND NOT title:b``). ``-title:word`` excludes items with the word in the title.
The prefix is ``title:`` or ``text:`` in any case and must touch its term; other
``something:`` prefixes are ordinary words (``re:Invent``). Without a prefix a term looks in
both fields (never a phrase running from one into the other).

Regular expressions
~~~~~~~~~~~~~~~~~~~
``/pattern/`` is a regular expression (Python syntax, the ``regex`` module), case-insensitive
(with full case folding: ``/straße/`` finds "STRASSE"), searched in the **normalised text**
of each field: the tokens of ``query.words``, lowercased, one space between tokens and a
line break at a sentence break. So hyphens and punctuation are spaces (``/gpt ?4o?/`` finds "GPT-4",
"gpt4o", "GPT 4o"), apostrophes are gone (``/openais?/``) and ``\\n`` is never inside a
sentence. A match must cover **whole tokens**: start at the beginning of one and end at the
end of one (write ``\\w*`` to reach inside words: ``/\\w*former/``). The closing ``/`` must be
followed by a space, a ``)`` or the end of the query; otherwise the term is an ordinary word
(``/r/LocalLLaMA`` is the words "r localllama"). A pattern that does not compile raises
``QueryError`` at the column of the problem; one that matches the empty string is refused.
Catastrophic patterns are contained three ways: the ``regex`` module avoids much of the
backtracking blow-up that ``re`` suffers; each search runs with a timeout of
``REGEX_TIMEOUT`` (20 ms) per field, after which the term counts as not matched for that
item (``explain`` says so); and at most ``REGEX_TEXT_LIMIT`` characters of a field are
searched. Regexes are not stemmed, not typo-tolerant and cost a search per item: prefer words.

Errors
~~~~~~
Errors raise ``QueryError(message, column)`` with a 1-based column: ``empty query``,
``unterminated quote``, ``empty phrase``, ``unbalanced parenthesis`` (at the unmatched
``(`` or the stray ``)``), ``empty parentheses``, ``AND needs a term on both sides``
(also ``OR``, ``NEAR/3``), ``NOT needs a term after it`` (also ``"-"``), ``"&" has no letters
or digits``, ``NEAR needs a distance, as in NEAR/3``, ``NEAR/3 can only join words, phrases,
regexes and OR-groups of them``, ``the distance can be at most 50``, ``"~" needs a number of
words``, ``~3 needs a phrase of two or more words``, ``title: needs a term right after it``,
``text: inside title: can never match``, ``empty regex``, the ``regex`` module's own message
(``missing ) at position 5`` becomes ``bad regex: missing )`` at that character) and
``regex matches empty text``.

``from_lists`` builds the same kind of query from ``any`` (OR), ``all`` (AND) and ``none``
(AND NOT) lists whose entries are terms written without quotes; ``all_of`` ANDs queries.
A query made only of negations is allowed: it matches every item without those terms.

Where the parts live
--------------------
``lexer`` cuts the query text into tokens (columns kept for errors); ``parser`` builds the
node tree (``parse``, ``from_lists``, ``all_of``); ``terms`` holds the leaves (words,
phrases, regexes) and ``nodes`` the operators and ``Query``; ``words`` normalises, stems and
compares words for typos, the same way for queries and items; ``document`` is the prepared
item (``prepare``); ``results`` the values a match returns and ``report`` ``explain`` and
``snippet``.
"""

from __future__ import annotations

from weightwatch.matching.query.document import Document, prepare
from weightwatch.matching.query.lexer import MAX_DISTANCE
from weightwatch.matching.query.nodes import Query
from weightwatch.matching.query.parser import all_of, from_lists, parse
from weightwatch.matching.query.report import explain, snippet
from weightwatch.matching.query.results import Hit, Match, Span, TermReport
from weightwatch.matching.query.terms import REGEX_TEXT_LIMIT, REGEX_TIMEOUT

__all__ = [
    "MAX_DISTANCE",
    "REGEX_TEXT_LIMIT",
    "REGEX_TIMEOUT",
    "Document",
    "Hit",
    "Match",
    "Query",
    "Span",
    "TermReport",
    "all_of",
    "explain",
    "from_lists",
    "parse",
    "prepare",
    "snippet",
]
