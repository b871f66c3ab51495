"""weightwatch.matching.paraphrase: the reviewed table of news paraphrases (issue 12)."""

from __future__ import annotations

import pytest

from weightwatch.matching import paraphrase, story

RELEASE_VERBS = ["launches", "releases", "unveils", "debuts", "drops", "rolls out", "ships"]


@pytest.mark.parametrize("verb", RELEASE_VERBS)
def test_release_verbs_mean_one_event(verb: str) -> None:
    assert story.stems(f"Acme {verb} Zorblax 2") == story.stems("Acme releases Zorblax 2")


@pytest.mark.parametrize(
    "qualifier", ["open-weight", "open weights", "open-source", "open source", "open"]
)
def test_open_qualifiers_mean_one_thing(qualifier: str) -> None:
    assert story.stems(f"an {qualifier} model") == story.stems("an open model")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Google rolls out Gemma 3n", "Google releases Gemma 3n"),
        ("xAI open-sources Grok 2.5", "xAI releases open Grok 2.5"),
        ("its first open-weight models", "its first open models"),
        ("an Open Source licence", "an open licence"),
        ("the weights are made available", "the weights are releases"),
        ("Roll call: who is out", "Roll call: who is out"),  # no "roll out" here
    ],
)
def test_phrases_are_rewritten_before_tokenising(text: str, expected: str) -> None:
    assert paraphrase.canonical_phrases(text) == expected


def test_the_table_is_idempotent_and_leaves_other_words_alone() -> None:
    for stem, canonical in paraphrase.WORDS.items():
        assert paraphrase.canonical(canonical) == canonical, stem
    assert paraphrase.canonical("delay") == "delay"  # a reversal stays a word of its own
    text = "Acme releases open Zorblax"
    assert paraphrase.canonical_phrases(paraphrase.canonical_phrases(text)) == text


def test_a_paraphrase_is_not_a_replaced_word_but_a_reversal_is() -> None:
    launch = story.features("Google to launch Android SDK for wearables next week")
    release = story.features("Google to release Android SDK for wearables next week")
    delay = story.features("Google to delay Android SDK for wearables next week")
    assert story.same_story(launch, release)[0]
    assert not story.same_story(release, delay)[0]
