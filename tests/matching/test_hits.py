"""The hit decider (pure): story joins, on_update, one message per URL, source health.

No sockets, no SQLite: the stored stories are a ``StoryContext`` value built here the way
``Storage.story_context`` builds it, and the clock is a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from weightwatch.config import DEFAULT_TITLE_SIMILARITY, Channel, Rule, Source
from weightwatch.delivery import routing, templates
from weightwatch.delivery.policy import Digest
from weightwatch.errors import SourceError
from weightwatch.matching import hits, query, story
from weightwatch.matching.query import parse
from weightwatch.sources import health
from weightwatch.types import Item, NewHit, SourceState, StoredHit, StoryContext

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WINDOW = 3 * 24 * 3600.0
PHONE = Channel("phone", ("json://127.0.0.1:9/phone",), ("json://127.0.0.1:9/phone",))
MAIL = Channel("mail", ("json://127.0.0.1:9/mail",), ("json://127.0.0.1:9/mail",))
OPS = Channel("ops", ("json://127.0.0.1:9/ops",), ("json://127.0.0.1:9/ops",))
CHANNELS = {c.name: c for c in (PHONE, MAIL, OPS)}
SALT = b"a fixed salt of 32 bytes, tests!"  # Storage.url_salt


def rule(name: str, q: str = "weights", notify: Sequence[str] = ("phone",), **kw: object) -> Rule:
    return Rule(name, parse(q), q, tuple(notify), **kw)  # type: ignore[arg-type]


def item(title: str, link: str = "", n: int = 0, text: str = "") -> Item:
    return Item("s", f"i{n}:{title}", link, title, text, T0)


def stored(
    hit_id: int, title: str, rule_name: str = "r", *, first: int | None = None, source: str = "t"
) -> StoryContext:
    """A context holding one stored hit, indexed the way ``Storage`` indexes it."""
    found = parse("weights").match(query.prepare(title, ""))
    feats = story.features(title, "", found.terms if found else ())
    head = first or hit_id
    return StoryContext(
        recent={(rule_name, w): (hit_id,) for w in feats.index_words()},
        hits={hit_id: StoredHit(head, feats.to_json())},
        sources={head: frozenset({source})},
    )


def decide(
    items: Sequence[Item],
    rules: Sequence[Rule],
    context: StoryContext | None = None,
    window: float = WINDOW,
) -> list[NewHit]:
    return hits.decide(
        hits.match(items, rules),
        context or StoryContext(),
        source="s",
        channels=CHANNELS,
        templates=templates.cached,
        url_salt=SALT,
        dedup_window=window,
        title_similarity=DEFAULT_TITLE_SIMILARITY,
    )


def joined(made: list[NewHit]) -> list[tuple[int | None, int | None, str | None]]:
    """Per hit: (stored story, story of this batch by position, reason)."""
    return [(h.duplicate_of, h.duplicate_of_batch, h.duplicate_reason) for h in made]


# --- stories -------------------------------------------------------------------------


def test_a_hit_with_no_earlier_story_starts_one_and_alerts() -> None:
    (hit,) = decide([item("Meta releases Llama 4 weights")], [rule("r")])
    assert joined([hit]) == [(None, None, None)]
    assert [a.channel for a in hit.alerts] == ["phone"]
    assert hit.alerts[0].title.startswith("[r] Meta releases Llama 4 weights")


def test_an_item_that_matches_no_rule_is_no_hit() -> None:
    assert decide([item("Meta releases a new chatbot")], [rule("r")]) == []


@pytest.mark.parametrize(
    ("context", "title", "link", "expected"),
    [
        pytest.param(
            StoryContext(linked={("r", "https://a.example/x"): 7}, sources={7: frozenset("t")}),
            "Completely different words about weights",
            "https://a.example/x",
            (7, None, "same link"),
            id="same-link-at-any-age",
        ),
        pytest.param(
            StoryContext(linked={("other", "https://a.example/x"): 7}),
            "Completely different words about weights",
            "https://a.example/x",
            (None, None, None),
            id="same-link-of-another-rule",
        ),
        pytest.param(
            stored(5, "Meta releases Llama 4 weights"),
            "UPDATE 1-Meta releases Llama 4 weights - Reuters",
            "",
            (5, None, "similar title"),
            id="similar-title",
        ),
        pytest.param(
            stored(6, "Meta releases Llama 4 weights", first=2),
            "UPDATE 1-Meta releases Llama 4 weights - Reuters",
            "",
            (2, None, "similar title"),
            id="a-member-leads-to-its-first-hit",
        ),
        pytest.param(
            stored(5, "Meta releases Llama 3 weights"),
            "Meta releases Llama 4 weights",
            "",
            (None, None, None),
            id="llama-3-is-not-llama-4",
        ),
        pytest.param(
            stored(5, "Meta releases Llama 4 weights", "other"),
            "UPDATE 1-Meta releases Llama 4 weights - Reuters",
            "",
            (None, None, None),
            id="another-rule's-story",
        ),
    ],
)
def test_a_hit_joins_a_stored_story_by_link_or_similar_title(
    context: StoryContext, title: str, link: str, expected: tuple[object, ...]
) -> None:
    (hit,) = decide([item(title, link)], [rule("r")], context)
    first, pos, reason = joined([hit])[0]
    assert (first, pos) == expected[:2]
    assert (reason or "").startswith(str(expected[2] or ""))
    assert bool(hit.alerts) == (first is None)  # on_update "silent": members send nothing


def test_no_dedup_window_means_only_the_same_link_joins() -> None:
    context = stored(5, "Meta releases Llama 4 weights")
    made = decide(
        [item("UPDATE 1-Meta releases Llama 4 weights - Reuters")], [rule("r")], context, 0
    )
    assert joined(made) == [(None, None, None)]


@pytest.mark.parametrize(
    ("titles", "links", "expected"),
    [
        pytest.param(
            ["Meta releases Llama 4 weights", "UPDATE 1-Meta releases Llama 4 weights - Reuters"],
            ["", ""],
            [(None, None), (None, 0)],
            id="similar-title-in-the-batch",
        ),
        pytest.param(
            ["Meta releases Llama 4 weights", "Something else about weights"],
            ["https://a.example/x", "https://a.example/x"],
            [(None, None), (None, 0)],
            id="same-link-in-the-batch",
        ),
        pytest.param(
            ["Meta releases Llama 3 weights", "Meta releases Llama 4 weights"],
            ["", ""],
            [(None, None), (None, None)],
            id="llama-3-and-4-in-one-batch-stay-apart",
        ),
    ],
)
def test_a_hit_joins_a_story_started_earlier_in_the_same_batch(
    titles: list[str], links: list[str], expected: list[tuple[object, object]]
) -> None:
    batch = [item(t, link, n) for n, (t, link) in enumerate(zip(titles, links, strict=True))]
    made = decide(batch, [rule("r")])
    assert [j[:2] for j in joined(made)] == expected


def test_a_batch_member_of_a_stored_story_leads_later_ones_to_that_story() -> None:
    context = stored(9, "Meta releases Llama 4 weights")
    batch = [
        item("UPDATE 1-Meta releases Llama 4 weights - Reuters", "https://b.example/1", 0),
        item("Meta releases Llama 4 weights today", "https://b.example/1", 1),
    ]
    assert [j[:2] for j in joined(decide(batch, [rule("r")], context))] == [(9, None), (9, None)]


def test_the_lookup_asks_for_each_hits_link_and_words_in_the_window() -> None:
    matches = hits.match(
        [item("Meta releases Llama 4 weights", "https://a.example/x")], [rule("r")]
    )
    lookup = matches.lookup(T0, WINDOW)
    assert lookup.links == {("r", "https://a.example/x")}
    assert lookup.since == T0 - timedelta(seconds=WINDOW)
    ((name, words),) = lookup.words
    assert name == "r" and "llama" in dict(words)
    assert matches.lookup(T0, 0).words == ()


# --- on_update -----------------------------------------------------------------------

UPDATE = StoryContext(linked={("r", "https://a.example/x"): 3}, sources={3: frozenset({"t", "u"})})


@pytest.mark.parametrize(
    ("on_update", "title", "digest"),
    [
        pytest.param("silent", None, None, id="silent-sends-nothing"),
        pytest.param("digest", "[r] Meta releases Llama 4 weights", "3600s", id="digest-holds"),
        pytest.param(
            "alert",
            "Update: [r] Meta releases Llama 4 weights (3 sources)",
            None,
            id="alert-names-the-sources",
        ),
    ],
)
def test_a_later_member_does_what_on_update_says(
    on_update: str, title: str | None, digest: str | None
) -> None:
    (hit,) = decide(
        [item("Meta releases Llama 4 weights", "https://a.example/x")],
        [rule("r", on_update=on_update)],
        UPDATE,
    )
    assert hit.duplicate_of == 3
    if title is None:
        assert hit.alerts == ()
        return
    (alert,) = hit.alerts
    assert (alert.title, alert.rule_digest) == (title, digest)


def test_on_update_digest_uses_the_rules_own_digest_when_it_has_one() -> None:
    (hit,) = decide(
        [item("Meta releases Llama 4 weights", "https://a.example/x")],
        [rule("r", on_update="digest", digest=Digest(every=600))],
        UPDATE,
    )
    assert hit.alerts[0].rule_digest == "600s"


# --- one message per URL -------------------------------------------------------------


def test_two_rules_that_send_one_item_to_one_url_make_one_message_naming_both() -> None:
    made = decide(
        [item("Meta releases Llama 4 weights")],
        [rule("a"), rule("b", "llama", notify=("phone", "mail"))],
    )
    assert [h.rule for h in made] == ["a", "b"]
    assert [a.channel for a in made[0].alerts] == ["phone", "mail"]
    assert made[1].alerts == ()
    assert made[0].alerts[0].title.startswith("[a, b] ")
    assert made[0].alerts[1].title.startswith("[b] ")


def test_an_update_is_not_sent_to_a_url_that_already_has_the_items_first_alert() -> None:
    made = decide(
        [item("Meta releases Llama 4 weights", "https://a.example/x")],
        [rule("a"), rule("r", "llama", notify=("phone", "mail"), on_update="alert")],
        UPDATE,  # "r" has this link already, "a" does not
    )
    assert [a.channel for a in made[0].alerts] == ["phone"]
    assert [a.channel for a in made[1].alerts] == ["mail"]
    assert made[1].alerts[0].title.startswith("Update: ")


@pytest.mark.parametrize(
    ("digests", "expected"),
    [
        pytest.param((Digest(every=600), Digest(every=600)), "600s", id="both-digest"),
        pytest.param((Digest(every=600), None), None, id="at-once-wins"),
    ],
)
def test_a_rule_level_digest_holds_a_message_only_when_every_rule_wants_it(
    digests: tuple[Digest | None, Digest | None], expected: str | None
) -> None:
    made = decide(
        [item("Meta releases Llama 4 weights")],
        [rule("a", digest=digests[0]), rule("b", "llama", digest=digests[1])],
    )
    assert made[0].alerts[0].rule_digest == expected


def test_a_rule_template_renders_the_message() -> None:
    (hit,) = decide(
        [item("Meta releases Llama 4 weights")],
        [rule("r", title_template="{{ rule }}: {{ title }}")],
    )
    assert hit.alerts[0].title == "r: Meta releases Llama 4 weights"


# --- source health -------------------------------------------------------------------

SOURCE = Source("feed", "https://user:pw@a.example/feed", 600.0, stale_after=3600.0)


def settle(
    state: SourceState, *, ok: bool, new_items: int = 0, now: datetime = T0
) -> tuple[str | None, str | None, int]:
    """(health, event, ops messages) after one poll."""
    if ok:
        update = health.after_success(
            now=now, status=200, etag=None, last_modified=None, permanent_url=None, kind="rss"
        )
    else:
        update = health.after_failure(
            now=now, error=SourceError("timed out"), failures_before=state.consecutive_failures
        )
    update, event = health.settle(
        state,
        update,
        new_items=new_items,
        stale_after=SOURCE.stale_after,
        now=now,
        max_failures=3,
        max_silence=24 * 3600.0,
    )
    notices = routing.health_notices(
        OPS, event, source=SOURCE, state=state, update=update, now=now, salt=SALT
    )
    return update.health, event, len(notices)


def state(**kw: object) -> SourceState:
    return SourceState("feed", SOURCE.url, **kw)  # type: ignore[arg-type]


def case(before: SourceState, ok: bool, new: int, expected: tuple[object, ...], id: str) -> object:
    """One row of the health table: the state before, the poll, (health, event, messages)."""
    return pytest.param(before, ok, new, expected, id=id)


AGO = T0 - timedelta(days=2)


@pytest.mark.parametrize(
    ("before", "ok", "new_items", "expected"),
    [
        case(state(last_ok=T0, consecutive_failures=1), False, 0, ("ok", None, 0), "2 failures"),
        case(state(last_ok=T0, consecutive_failures=2), False, 0, ("broken", "broken", 1), "3rd"),
        case(state(last_ok=AGO), False, 0, ("broken", "broken", 1), "failure after silence"),
        case(state(health="broken"), False, 0, ("broken", None, 0), "broken is told once"),
        case(state(health="broken"), True, 0, ("ok", "recovered", 1), "recovered"),
        case(state(last_ok=T0, last_new_item=AGO), True, 0, ("stale", "stale", 1), "stale"),
        case(state(last_ok=T0, last_new_item=T0), True, 0, ("ok", None, 0), "not stale yet"),
        case(state(health="stale", last_ok=T0), True, 2, ("ok", "active", 1), "active again"),
    ],
)
def test_source_health_after_a_poll(
    before: SourceState, ok: bool, new_items: int, expected: tuple[object, ...]
) -> None:
    assert settle(before, ok=ok, new_items=new_items) == expected


def test_a_health_message_names_the_source_and_keeps_the_url_secret() -> None:
    before = state(last_ok=T0, consecutive_failures=2)
    update = health.after_failure(now=T0, error=SourceError("timed out"), failures_before=2)
    update, event = health.settle(
        before, update, new_items=0, stale_after=None, now=T0, max_failures=3, max_silence=1e9
    )
    (notice,) = routing.health_notices(
        OPS, event, source=SOURCE, state=before, update=update, now=T0, salt=SALT
    )
    assert notice.kind == "health" and notice.channel == "ops"
    assert "feed" in notice.title and "timed out" in notice.body and "pw" not in notice.body
    assert (
        routing.health_notices(
            None, event, source=SOURCE, state=before, update=update, now=T0, salt=SALT
        )
        == []
    )


def test_a_failure_keeps_the_validators_and_a_304_keeps_the_kind() -> None:
    failed = health.after_failure(now=T0, error=SourceError("x"), failures_before=0)
    assert failed.validators is None and failed.last_ok is None and not failed.primed
    same = health.after_success(
        now=T0, status=304, etag="e", last_modified=None, permanent_url=None, kind=None
    )
    assert same.validators is None and same.primed and same.last_status == "not modified"
