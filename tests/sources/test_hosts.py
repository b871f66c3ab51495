"""The host gate: one request at a time per host, spaced, served in turn (pure)."""

from __future__ import annotations

import pytest

from weightwatch.sources.hosts import RECHECK, HostGate, host_of


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Example.ORG/feed", "example.org"),
        ("http://127.0.0.1:8080/a.xml", "127.0.0.1"),
        ("https://user:pw@feeds.example.com:443/x", "feeds.example.com"),
        ("not a url", ""),
    ],
)
def test_host_of_names_the_host_requests_go_to(url: str, host: str) -> None:
    assert host_of(url) == host


def test_a_free_host_is_claimed_at_once_and_is_then_busy() -> None:
    gate = HostGate(spacing=1.0)
    assert gate.claim("a", now=10.0) == 0.0
    assert gate.claim("a", now=10.0) > 0.0  # the first request is still in flight
    assert gate.claim("b", now=10.0) == 0.0  # other hosts are not held up


def test_the_next_request_starts_spacing_after_the_last_one_ended() -> None:
    gate = HostGate(spacing=1.0)
    gate.claim("a", now=0.0)
    gate.release("a", now=2.0)
    assert gate.claim("a", now=2.5) == pytest.approx(0.5)
    assert gate.claim("a", now=3.0, queued=True) == 0.0


def test_zero_spacing_only_keeps_requests_to_one_host_from_overlapping() -> None:
    gate = HostGate(spacing=0.0)
    gate.claim("a", now=0.0)
    assert gate.claim("a", now=0.0, queued=True) == RECHECK
    gate.release("a", now=0.3)
    assert gate.claim("a", now=0.3, queued=True) == 0.0


def test_waiting_polls_get_successive_slots_so_none_is_starved() -> None:
    gate = HostGate(spacing=1.0)
    gate.claim("a", now=0.0)
    waits = [gate.claim("a", now=0.0) for _ in range(3)]
    assert waits == pytest.approx([0.05, 1.05, 2.05])


def test_a_queued_poll_goes_before_newcomers() -> None:
    gate = HostGate(spacing=1.0)
    gate.claim("a", now=0.0)
    assert gate.claim("a", now=0.0) > 0  # queued for a slot
    gate.release("a", now=0.5)
    # At 1.5 the host is free again: a newcomer waits behind the queued poll's slot ...
    assert gate.claim("a", now=1.0) > 0
    # ... and the queued poll coming back gets it.
    assert gate.claim("a", now=1.5, queued=True) == 0.0
