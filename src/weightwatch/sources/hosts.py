"""Politeness per host: one request at a time, ``spacing`` seconds apart (pure).

Both ``weightwatch once`` and the daemon ask the same ``HostGate`` before fetching; the gate
holds only values and is given the time (monotonic seconds), so its rules are table tests.
It is not thread-safe by itself: the callers hold one lock around ``claim`` / ``release``.

The rules:

* a host is free when no request to it is in flight and ``spacing`` seconds have passed
  since the last one ended;
* a poll that finds its host busy is told how long to wait and gets the next free slot
  (slots are ``spacing`` apart), so an overloaded host serves its sources in turn: each is
  polled late, none is starved;
* a poll coming back for its slot (``queued``) goes before newcomers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: How soon at the earliest a poll that had to wait comes back for its slot (seconds).
MIN_WAIT = 0.05
#: How soon a queued poll whose host is still busy asks again (seconds).
RECHECK = 0.2


def host_of(url: str) -> str:
    """The host a URL's requests go to, lowercased ("" when it has none)."""
    return (urlsplit(url).hostname or "").lower()


@dataclass
class HostGate:
    """Which host may be asked now; see the module docstring for the rules."""

    spacing: float = 1.0
    busy: set[str] = field(default_factory=set)
    free_at: dict[str, float] = field(default_factory=dict)
    next_slot: dict[str, float] = field(default_factory=dict)

    def claim(self, host: str, now: float, *, queued: bool = False) -> float:
        """0 when a request to ``host`` may start now (the host is then busy until
        ``release``), else the seconds to wait before asking again."""
        free_at = self.free_at.get(host, 0.0)
        free = host not in self.busy and free_at <= now
        if queued:  # back for its slot: it keeps its turn until the host is free
            if free:
                self.busy.add(host)
                return 0.0
            return max(free_at - now, RECHECK)
        waiting = self.next_slot.get(host, 0.0) > now  # others are waiting their turn
        if free and not waiting:
            self.busy.add(host)
            return 0.0
        slot = max(self.next_slot.get(host, 0.0), free_at, now + MIN_WAIT)
        self.next_slot[host] = slot + self.spacing
        return slot - now

    def release(self, host: str, now: float) -> None:
        """The request to ``host`` ended at ``now``: the next may start ``spacing`` later."""
        self.busy.discard(host)
        self.free_at[host] = now + self.spacing
