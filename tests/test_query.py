"""The rule query language: parsing, normalisation, matching, spans and snippets."""

from __future__ import annotations

import pytest

from weightwatch.errors import QueryError
from weightwatch.query import Match, Query, Span, all_of, from_lists, parse, prepare, snippet

EXAMPLE = (
    'OpenAI AND ("release weights" OR "open-weight" OR "open-source GPT-4") '
    'AND NOT "Weight Watchers"'
)


def matches(query: str | Query, title: str, text: str = "") -> bool:
    q = parse(query) if isinstance(query, str) else query
    return q.match(prepare(title, text)) is not None


def case(query: str, title: str, expected: bool, text: str = "") -> object:
    """One row of a matching table; its id reads as query / title -> expected."""
    shown = title if not text else f"{title} | {text}"
    return pytest.param(query, title, text, expected, id=f"{query} / {shown} -> {expected}")


def check(query: str, title: str, text: str, expected: bool) -> None:
    assert matches(query, title, text) is expected, (query, title, text)


# ------------------------------------------------------------------ the matching tables


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        case('"release weights"', "Meta will release weights today", True),
        case('"release weights"', "Weights: we release them", False),
        case('"release weights"', "Release of the weights", False),
        case('"release weights"', "They release model weights", False),
        case('"open weights model"', "An open weights model", True),
        case('"open weights model"', "Open model weights", False),
        case('"weights release"', "release weights", False),
    ],
)
def test_phrase_matches_consecutive_words_in_order_only(
    query: str, title: str, text: str, expected: bool
) -> None:
    check(query, title, text, expected)


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        case("llama AND mistral", "Llama beats Mistral", True),
        case("llama AND mistral", "Llama wins", False),
        case("llama mistral", "Mistral and Llama", True),
        case("llama mistral", "Mistral only", False),
        case("llama OR mistral", "Mistral only", True),
        case("llama OR mistral", "Gemma only", False),
        case("llama NOT mistral", "Llama wins", True),
        case("llama NOT mistral", "Llama beats Mistral", False),
        case("llama -mistral", "Llama wins", True),
        case("llama -mistral", "Llama beats Mistral", False),
        case('llama -"open weights"', "Llama has open weights", False),
        case('llama -"open weights"', "Llama opens; weights later", True),
        case("llama -(mistral OR gemma)", "Llama vs Gemma", False),
        case("llama -(mistral OR gemma)", "Llama alone", True),
        case("(llama OR gemma) AND weights", "Gemma weights", True),
        case("(llama OR gemma) AND weights", "Gemma news", False),
        case("NOT mistral", "Anything else", True),
        case("NOT mistral", "Mistral", False),
        case("NOT NOT mistral", "Mistral", True),
    ],
)
def test_and_or_not_minus_parentheses_and_adjacency_combine_terms(
    query: str, title: str, text: str, expected: bool
) -> None:
    check(query, title, text, expected)


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        # a OR b AND c  ==  a OR (b AND c)
        case("llama OR gemma AND weights", "Llama news", True),
        case("llama OR gemma AND weights", "Gemma news", False),
        case("llama OR gemma AND weights", "Gemma weights", True),
        # NOT a AND b  ==  (NOT a) AND b
        case("NOT llama AND gemma", "Gemma news", True),
        case("NOT llama AND gemma", "Llama and Gemma", False),
        case("NOT llama AND gemma", "Nothing here", False),
        # NOT a OR b  ==  (NOT a) OR b
        case("NOT llama OR gemma", "Llama and Gemma", True),
        case("NOT llama OR gemma", "Llama alone", False),
        # implicit AND binds like AND: a b OR c  ==  (a AND b) OR c
        case("llama gemma OR mistral", "Mistral", True),
        case("llama gemma OR mistral", "Llama", False),
    ],
)
def test_not_binds_tighter_than_and_which_binds_tighter_than_or(
    query: str, title: str, text: str, expected: bool
) -> None:
    check(query, title, text, expected)


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        case("AI", "She said no", False),
        case("AI", "OpenAI ships", False),
        case("AI", "Maintain the rig", False),
        case("AI", "The AI said no", True),
        case("AI", "AI: a primer", True),
        case("AI", "(AI)", True),
        case("gem", "Gemma ships", False),
        case("said", "She said no", True),
    ],
)
def test_short_word_does_not_match_inside_longer_word(
    query: str, title: str, text: str, expected: bool
) -> None:
    check(query, title, text, expected)


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        case('weights NOT "Weight Watchers"', "Model weights are out", True),
        case('weights NOT "Weight Watchers"', "Watchers of weights", True),
        case('weights NOT "Weight Watchers"', "Lose weight. Watchers agree", True, "weights"),
        case('weights NOT "Weight Watchers"', "Weight Watchers shares rise", False, "weights"),
        case('weights NOT "Weight Watchers"', "WeightWatchers rebrands", False, "weights"),
        case('weights NOT "Weight Watchers"', "weight-watchers diet", False, "weights"),
    ],
)
def test_negated_phrase_excludes_only_that_phrase(
    query: str, title: str, text: str, expected: bool
) -> None:
    check(query, title, text, expected)


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        case("open-source", "An open-source model", True),
        case("open-source", "An open source model", True),
        case("open-source", "An opensource model", True),
        case("opensource", "An open-source model", True),
        case("opensource", "An open source model", True),
        case('"open source"', "An opensource model", True),
        case('"open source"', "An open-source model", True),
        case("opensource", "Open, source and more", False),
        case("open-source", "Open. Source says", False),
        case("e-mail", "Send an email", True),
        case("email", "Send an e-mail", True),
        case("gpt-oss-120b", "GPT OSS 120B is here", True),
        case("gpt-oss-120b", "gptoss-120b is here", True),
        case("gptoss120b", "gpt-oss-120b is here", True),
        case("gpt-oss-120b", "gpt-oss-20b is here", False),
    ],
)
def test_hyphen_space_and_nothing_are_the_same_in_both_directions(
    query: str, title: str, text: str, expected: bool
) -> None:
    check(query, title, text, expected)


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        case("OpenAI", "OpenAI's new model", True),
        case("OpenAI", "OpenAI’s new model", True),
        case("OpenAI's", "OpenAI ships", True),
        case("OpenAI’s", "OpenAI's model", True),
        case('"OpenAI model"', "OpenAI’s model", True),
        case("model", "The models' weights", True),
        case("dont", "Don’t panic", True),
        case("don't", "dont panic", True),
    ],
)
def test_possessive_is_ignored_with_straight_and_curly_apostrophes(
    query: str, title: str, text: str, expected: bool
) -> None:
    check(query, title, text, expected)


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        case('"release weights"', "Meta releases weights", True),
        case('"release weights"', "Meta released weights", True),
        case('"release weights"', "Meta is releasing weights", True),
        case('"released weights"', "We release weights", True),
        case("open-weight", "New open-weights model", True),
        case("open-weights", "New open-weight model", True),
        case("open-weight", "New openweights model", True),
        case("model", "Three models", True),
        case("models", "One model", True),
        case("study", "Two studies show", True),
        case("studies", "A study shows", True),
        case("studied", "They are studying it", True),
        case("stop", "Training stopped", True),
        case("stopping", "Stops training", True),
        case("GPU", "Buying GPUs", True),
        case("LLM", "Small LLMs", True),
        case("build", "New buildings", True),
        case("hope", "They hoped", True),
        case("match", "Two matches", True),
        case("opensource", "Meta open-sourced it", True),
    ],
)
def test_common_english_inflections_match(
    query: str, title: str, text: str, expected: bool
) -> None:
    check(query, title, text, expected)


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        case("news", "Something new", False),
        case("new", "Good news", False),
        case("is", "I agree", False),
        case("AI", "AIs everywhere", False),
        case("us", "Use it", False),
        case("note", "Do not", False),
        case("not", "A note", False),
        case("hope", "A hop", False),
        case("plane", "A plan", False),
        case("code", "Cod fishing", False),
        case("united", "One unit", False),
        case("canvas", "Canva raises", False),
        case("evening", "Even so", False),
        case("string", "A str", False),
    ],
)
def test_short_and_listed_words_are_not_over_stemmed(
    query: str, title: str, text: str, expected: bool
) -> None:
    check(query, title, text, expected)


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        case("GPT-4", "GPT-4 is out", True),
        case("GPT-4", "GPT 4 is out", True),
        case("GPT-4", "gpt4 is out", True),
        case("gpt4", "GPT-4 is out", True),
        case("GPT-4", "GPT-40 is out", False),
        case("GPT-4", "gpt40 is out", False),
        case("GPT-4", "GPT-4.5 is out", False),
        case("GPT-4", "GPT-4o is out", False),
        case("GPT-4", "GPT-4-turbo is out", True),
        case("3.1", "Llama 3.1 released.", True),
        case("3.1", "Llama 31 released", False),
        case("3.1", "Llama 3 1 released", False),
        case("3.1", "Llama 3.10 released", False),
        case("Llama 3.1", "Meta Llama-3.1-8B", True),
        case("llama3.1", "Llama 3.1 is out", True),
        case('"Llama 3.1"', "llama3.1 is out", True),
        case("v0.2", "Release v0.2 today", True),
        case("v0.2", "Release v 0.2 today", True),
        case("v0.2", "Release v0.20 today", False),
        case("2024", "In 2024, things", True),
    ],
)
def test_numbers_and_versions_match_as_whole_tokens(
    query: str, title: str, text: str, expected: bool
) -> None:
    check(query, title, text, expected)


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        case("openai", "OPENAI SHIPS", True),
        case("OPENAI", "openai ships", True),
        case("OpenAI", "ＯｐｅｎＡＩ ships", True),
        case("ＧＰＴ－４", "GPT 4 ships", True),
        case("GPT-4", "ＧＰＴ－４ ships", True),
        case("３.１", "version 3.1", True),
        case("Straße", "STRASSE", True),
        case("café", "cafe\u0301 opens", True),
        case("cafe\u0301", "café opens", True),
        case("ﬁne-tune", "fine tune", True),
    ],
)
def test_matching_ignores_case_and_unicode_compatibility_forms(
    query: str, title: str, text: str, expected: bool
) -> None:
    check(query, title, text, expected)


@pytest.mark.parametrize("dash", list("-‐‑‒–—―−"))
def test_every_dash_character_counts_as_a_hyphen(dash: str) -> None:
    assert matches("open-source", f"An open{dash}source model")
    assert matches(f"open{dash}source", "An opensource model")
    assert matches(f"GPT{dash}4", "GPT 4")
    assert not matches(f"GPT{dash}4", "GPT-40")


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        case("llama and mistral", "Llama and Mistral", True),
        case("llama and mistral", "Llama, Mistral", False),
        case("llama or mistral", "Mistral", False),
        case("llama or mistral", "Llama or Mistral", True),
        case("not mistral", "not mistral", True),
        case("not mistral", "Gemma", False),
        case('"AND"', "this AND that", True),
    ],
)
def test_lowercase_operators_are_ordinary_words(
    query: str, title: str, text: str, expected: bool
) -> None:
    check(query, title, text, expected)


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        case('"open weights"', "We stay open. Weights come later", False),
        case('"open weights"', "We stay open\n\nWeights come later", False),
        case('"open weights"', "open (weights)", True),
        case('"open weights"', 'open "weights"', True),
        case('"U.S. Army"', "The U.S. Army said", True),
        case('"node.js runtime"', "A node.js runtime", True),
        case('"open weights"', "Something open", False, "weights later"),
    ],
)
def test_phrase_ignores_punctuation_but_not_sentence_breaks_or_fields(
    query: str, title: str, text: str, expected: bool
) -> None:
    check(query, title, text, expected)


def test_terms_of_an_and_may_be_found_one_in_the_title_and_one_in_the_text() -> None:
    assert matches("OpenAI weights", "OpenAI news", "The weights are out")
    assert matches("OpenAI weights", "Weights are out", "OpenAI says")
    assert not matches("OpenAI NOT weights", "OpenAI news", "The weights are out")


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("OpenAI to release weights of its new model", "", True),
        ("OpenAI’s open-weights model is here", "", True),
        ("OpenAI releases an opensource GPT 4", "", True),
        ("OpenAI ships open weight models", "", True),
        ("OpenAI hires", "The lab released weights today.", True),
        ("Open AI news", "It will release weights.", True),
        ("OpenAI to release weights", "Weight Watchers partners with OpenAI.", False),
        ("OpenAI and WeightWatchers: open-weight diet", "", False),
        ("OpenAI releases GPT-40 open source", "", False),
        ("OpenAI news", "Nothing about models", False),
        ("Meta to release weights", "", False),
        ("OpenAI to release the weights", "", False),
        ("Said the AI lab: release weights", "", False),
    ],
)
def test_example_rule_from_the_issue(title: str, text: str, expected: bool) -> None:
    assert matches(EXAMPLE, title, text) is expected


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("", "empty query", 1),
        ("   ", "empty query", 1),
        ("OpenAI AND (llama OR gemma", "unbalanced parenthesis", 12),
        ("((llama)", "unbalanced parenthesis", 1),
        ("llama) gemma", "unbalanced parenthesis", 6),
        ("(llama) gemma)", "unbalanced parenthesis", 14),
        ('llama "open weights', "unterminated quote", 7),
        ("llama “open weights", "unterminated quote", 7),
        ('llama ""', "empty phrase", 7),
        ('llama "  "', "empty phrase", 7),
        ("AND llama", "AND needs a term on both sides", 1),
        ("llama AND", "AND needs a term on both sides", 7),
        ("llama AND AND gemma", "AND needs a term on both sides", 7),
        ("llama AND OR gemma", "AND needs a term on both sides", 7),
        ("(AND llama)", "AND needs a term on both sides", 2),
        ("llama OR", "OR needs a term on both sides", 7),
        ("OR llama", "OR needs a term on both sides", 1),
        ("(llama OR)", "OR needs a term on both sides", 8),
        ("NOT", "NOT needs a term after it", 1),
        ("llama NOT", "NOT needs a term after it", 7),
        ("llama NOT)", "unbalanced parenthesis", 10),
        ("(llama NOT)", "NOT needs a term after it", 8),
        ("NOT AND llama", "NOT needs a term after it", 1),
        ("llama - gemma", '"-" needs a term after it', 7),
        ("llama -", '"-" needs a term after it', 7),
        ("llama ()", "empty parentheses", 7),
        ("llama & gemma", '"&" has no letters or digits', 7),
        ('llama "..."', '"..." has no letters or digits', 7),
    ],
)
def test_bad_query_raises_query_error_with_message_and_column(
    query: str, message: str, column: int
) -> None:
    with pytest.raises(QueryError) as caught:
        parse(query)
    assert (caught.value.message, caught.value.column) == (message, column)


def test_query_error_reads_as_config_prints_it() -> None:
    with pytest.raises(QueryError) as caught:
        parse('OpenAI AND ("release weights" OR open-weight')
    assert str(caught.value) == "unbalanced parenthesis at column 12"
    assert f"rule[2].query: {caught.value}" == (
        "rule[2].query: unbalanced parenthesis at column 12"
    )


def test_columns_count_characters_not_bytes() -> None:
    with pytest.raises(QueryError) as caught:
        parse("ＯｐｅｎＡＩ’s AND")
    assert caught.value.column == 10


# ------------------------------------------------------------------- lists and all_of


def test_from_lists_returns_none_when_every_list_is_empty() -> None:
    assert from_lists() is None
    assert from_lists(any=[], all=(), none=[]) is None


def test_from_lists_means_any_or_all_and_none_and_not() -> None:
    q = from_lists(any=["llama", "gemma"], all=["open weights"], none=["Weight Watchers"])
    assert q is not None
    assert str(q) == '(llama OR gemma) AND "open weights" AND NOT "Weight Watchers"'
    assert matches(q, "Gemma has open weights")
    assert matches(q, "Llama released open-weights models")
    assert not matches(q, "Mistral has open weights")
    assert not matches(q, "Gemma is closed")
    assert not matches(q, "Gemma open weights at Weight Watchers")
    assert q.terms == ("llama", "gemma", "open weights")


def test_from_lists_entries_are_terms_not_queries() -> None:
    q = from_lists(all=["AND", "not this"])
    assert q is not None
    assert str(q) == '"AND" AND "not this"'
    assert matches(q, "and: not this")
    assert not matches(q, "this")


@pytest.mark.parametrize(
    "lists",
    [
        {"any": ["llama", ""]},
        {"all": ["   "]},
        {"none": ["\t"]},
    ],
)
def test_from_lists_empty_entry_raises_at_column_one(lists: dict[str, list[str]]) -> None:
    with pytest.raises(QueryError) as caught:
        from_lists(**lists)
    assert caught.value.column == 1
    assert caught.value.message == "empty entry"


def test_all_of_ands_queries_and_flattens_them() -> None:
    lists = from_lists(none=["Weight Watchers"])
    assert lists is not None
    q = all_of(parse("OpenAI weights"), parse("llama OR gemma"), lists)
    assert str(q) == 'OpenAI AND weights AND (llama OR gemma) AND NOT "Weight Watchers"'
    assert matches(q, "OpenAI weights for Llama")
    assert not matches(q, "OpenAI weights")
    assert not matches(q, "OpenAI weights for Llama", "Weight Watchers")
    assert all_of(parse("llama")) == parse("llama")
    assert q.terms == ("OpenAI", "weights", "llama", "gemma")


def test_all_of_needs_a_query() -> None:
    with pytest.raises(ValueError, match="at least one"):
        all_of()


# ---------------------------------------------------------------- the Query object


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        (
            EXAMPLE,
            'OpenAI AND ("release weights" OR open-weight OR "open-source GPT-4") '
            'AND NOT "Weight Watchers"',
        ),
        ("a b OR c", "a AND b OR c"),
        ("a (b OR c) -d", "a AND (b OR c) AND NOT d"),
        ("-(a b)", "NOT (a AND b)"),
        ("NOT (a OR b)", "NOT (a OR b)"),
        ("NOT NOT a", "a"),
        ('"  spaced    out "', '"spaced out"'),
        ("“curly” and", "curly AND and"),
        ('"-x"', '"-x"'),
        ('"OR"', '"OR"'),
        ("((a))", "a"),
        ("a AND (b AND c)", "a AND b AND c"),
        ("a OR (b OR c)", "a OR b OR c"),
    ],
)
def test_str_is_canonical_and_parses_back_to_the_same_query(query: str, canonical: str) -> None:
    q = parse(query)
    assert str(q) == canonical
    assert parse(str(q)) == q
    assert str(parse(str(q))) == canonical


def test_terms_are_the_positive_terms_as_written() -> None:
    assert parse(EXAMPLE).terms == (
        "OpenAI",
        "release weights",
        "open-weight",
        "open-source GPT-4",
    )
    assert parse("a -b NOT c (d OR -e) a").terms == ("a", "d")
    assert parse("NOT a").terms == ()


def test_queries_with_the_same_structure_are_equal() -> None:
    assert parse("a b") == parse("a AND b")
    assert hash(parse("a b")) == hash(parse("a AND b"))
    assert parse("a b") != parse("a OR b")
    assert parse("a") != "a"


def test_one_prepared_item_serves_many_queries() -> None:
    doc = prepare("OpenAI releases open weights", "Meta and Google respond.")
    results = [parse(q).match(doc) is not None for q in ("openai", "meta", "-google", "x")]
    assert results == [True, True, False, False]


# ----------------------------------------------------------------- Match and spans


def spanned(title: str, text: str, span: Span) -> str:
    source = title if span.field == "title" else text
    return source[span.start : span.end]


def test_match_lists_matched_positive_terms_and_never_negated_ones() -> None:
    title = "OpenAI’s open-weights model"
    text = "It is not about Watchers."
    m = parse(EXAMPLE).match(prepare(title, text))
    assert m == Match(
        terms=("OpenAI", "open-weight"),
        spans=(Span("title", 0, 6), Span("title", 9, 21)),
    )
    assert [spanned(title, text, s) for s in m.spans] == ["OpenAI", "open-weights"]


def test_or_reports_every_branch_that_matched() -> None:
    m = parse("llama OR gemma OR mistral").match(prepare("Gemma and Llama", ""))
    assert m is not None
    assert m.terms == ("llama", "gemma")


def test_pure_negation_matches_without_terms_or_spans() -> None:
    assert parse("NOT mistral").match(prepare("Gemma", "")) == Match((), ())


def test_spans_cover_every_occurrence_in_title_then_text() -> None:
    title = "Open source: Llama goes open-source"
    text = "Why opensource matters, and why Open Source wins."
    m = parse("opensource").match(prepare(title, text))
    assert m is not None
    assert [(s.field, spanned(title, text, s)) for s in m.spans] == [
        ("title", "Open source"),
        ("title", "open-source"),
        ("text", "opensource"),
        ("text", "Open Source"),
    ]


def test_span_of_a_phrase_covers_its_words_and_what_is_between() -> None:
    text = "Meta said it released — finally — weights? No: released  weights."
    m = parse('"release weights"').match(prepare("", text))
    assert m is not None
    assert [spanned("", text, s) for s in m.spans] == ["released  weights"]


def test_spans_point_into_the_original_strings_despite_nfkc_and_curly_quotes() -> None:
    title = "“ＯｐｅｎＡＩ’s” ＧＰＴ－４ “open‑weight” ﬁne-tune"
    text = "ℌello — Ｒｅｌｅａｓｅｄ　ｗｅｉｇｈｔｓ… and OpenAI's"
    q = parse('OpenAI "gpt 4" open-weight fine-tune "release weights"')
    m = q.match(prepare(title, text))
    assert m is not None
    assert [spanned(title, text, s) for s in m.spans] == [
        "ＯｐｅｎＡＩ",
        "ＧＰＴ－４",
        "open‑weight",
        "ﬁne-tune",
        "Ｒｅｌｅａｓｅｄ　ｗｅｉｇｈｔｓ",
        "OpenAI",
    ]
    assert m.terms == ("OpenAI", "gpt 4", "open-weight", "fine-tune", "release weights")


def test_span_of_a_decomposed_letter_includes_its_combining_mark() -> None:
    text = "Le cafe\u0301 ouvre"
    m = parse("café").match(prepare("", text))
    assert m is not None
    assert [spanned("", text, s) for s in m.spans] == ["cafe\u0301"]


# ----------------------------------------------------------------------------- snippet

LONG_TEXT = (
    "The quick brown fox jumps over the lazy dog. "
    * 3
    + "Meanwhile OpenAI released weights of a new model today, which surprised many "
    "researchers in the field. " + "Lorem ipsum dolor sit amet. " * 5
)


def test_snippet_cuts_around_the_first_text_span_on_word_boundaries() -> None:
    doc = prepare("OpenAI news", LONG_TEXT)
    m = parse('"release weights"').match(doc)
    assert m is not None
    s = snippet(doc, m, width=60)
    assert s == "…OpenAI released weights of a new model today, which…"
    assert len(s) <= 60
    words = s.strip("…").split()
    assert all(word in LONG_TEXT.split() for word in words)


@pytest.mark.parametrize("width", [20, 40, 80, 120, 160, 200])
def test_snippet_never_exceeds_width_and_always_shows_the_match(width: int) -> None:
    doc = prepare("", LONG_TEXT)
    m = parse('"released weights" OR lazy').match(doc)
    assert m is not None
    s = snippet(doc, m, width=width)
    assert len(s) <= width
    assert "lazy" in s
    assert s.startswith("…") or LONG_TEXT.startswith(s.rstrip("…")[:10])


def test_snippet_has_no_ellipsis_when_everything_fits_and_collapses_whitespace() -> None:
    doc = prepare("t", "OpenAI   released\n\nweights.")
    m = parse("weights").match(doc)
    assert m is not None
    assert snippet(doc, m) == "OpenAI released weights."


def test_snippet_uses_the_title_when_only_the_title_matched() -> None:
    doc = prepare("OpenAI releases weights", "Nothing relevant here.")
    m = parse("openai").match(doc)
    assert m is not None
    assert snippet(doc, m) == "OpenAI releases weights"


def test_snippet_of_a_match_without_spans_starts_at_the_beginning() -> None:
    doc = prepare("Title", "  " + LONG_TEXT)
    m = parse("NOT mistral").match(doc)
    assert m is not None
    s = snippet(doc, m, width=30)
    assert s == "The quick brown fox jumps…"


def test_snippet_of_a_span_longer_than_the_width_shows_its_start() -> None:
    doc = prepare("", "x " + "word " * 100)
    m = parse('"' + "word " * 50 + '"').match(doc)
    assert m is not None
    s = snippet(doc, m, width=20)
    assert s.startswith("…word") and s.endswith("…")
    assert len(s) <= 20
