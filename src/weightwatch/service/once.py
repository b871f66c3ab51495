"""``weightwatch once``: poll every source (fetching concurrently, never two requests at
once to one host; storing serially), deliver pending alerts, summarise."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from weightwatch.config import Config, Source
from weightwatch.errors import StorageError
from weightwatch.service.deliver import deliver_pending, rekey_legacy_urls
from weightwatch.service.poll import (
    Bookkeeping,
    Fetched,
    fetch_source,
    record_poll_error,
    store_poll,
)
from weightwatch.sources import health
from weightwatch.sources.hosts import HostGate, host_of
from weightwatch.sources.http import Fetcher
from weightwatch.storage.owner import Owner
from weightwatch.storage.store import Storage
from weightwatch.types import CycleSummary, SourceOutcome, SourceState

log = logging.getLogger("weightwatch")


def poll_sources(
    config: Config,
    storage: Storage,
    fetcher: Fetcher,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    backfill: bool = False,
    sources: Iterable[Source] | None = None,
) -> list[SourceOutcome]:
    """Poll each source once: fetch concurrently (never two at once to one host), store serially.

    A poll that changes only its source's bookkeeping (a 304 that reports nothing) is
    written with the others like it in one transaction after the last fetch
    (``poll.Bookkeeping``); every other poll is written as it is stored.

    A source's own failure (its fetch, or a bug in handling its items) is its outcome and
    the others go on; a ``StorageError`` (disk full, read-only, ...) ends the run with that
    error once the fetches in flight are done, since every later source would fail alike.
    """
    chosen = list(config.sources if sources is None else sources)
    names = {s.name for s in chosen}
    storage.ensure_sources([pair for pair in config.masked_sources() if pair[0] in names])
    states = storage.source_states()
    outcomes: list[SourceOutcome] = []
    by_host: dict[str, list[tuple[Source, SourceState]]] = defaultdict(list)
    start_time = now()
    for source in chosen:
        state = states[source.name]
        if health.is_waiting(state.not_before, start_time):
            outcomes.append(
                SourceOutcome(
                    source.name,
                    "waiting",
                    error=f"the server asked to wait until {state.not_before:%H:%M:%S} UTC",
                )
            )
            continue
        by_host[host_of(state.permanent_url or source.url)].append((source, state))

    # Bounded: when storing falls behind, fetchers wait instead of piling up parsed feeds.
    results: queue.Queue[Fetched | None] = queue.Queue(maxsize=2 * config.settings.workers)

    gate, gate_lock = HostGate(spacing=config.settings.host_spacing), threading.Lock()
    stopped: list[StorageError] = []  # the storage failure that ended the run
    # 304s (and unchanged bodies) that report nothing: written in one transaction at the end.
    bookkeeping = Bookkeeping()

    def host_worker(host: str, jobs: list[tuple[Source, SourceState]]) -> None:
        for source, state in jobs:
            if stopped:
                break
            while True:
                with gate_lock:
                    wait = gate.claim(host, time.monotonic(), queued=True)
                if wait <= 0:
                    break
                time.sleep(wait)
            try:
                fetched = fetch_source(fetcher, source, state)
            finally:
                with gate_lock:
                    gate.release(host, time.monotonic())
            results.put(fetched)
        results.put(None)

    workers = max(1, min(config.settings.workers, len(by_host)))
    with ThreadPoolExecutor(workers, thread_name_prefix="fetch") as pool:
        for host, jobs in by_host.items():
            pool.submit(host_worker, host, jobs)
        remaining = len(by_host)
        while remaining:
            fetched = results.get()
            if fetched is None:
                remaining -= 1
                continue
            if stopped:
                continue  # drained, not stored: the workers stop at their next source
            try:
                outcomes.append(store_poll(config, storage, fetched, now(), backfill, bookkeeping))
                continue
            except StorageError as exc:
                # The database itself failed: every later source would fail alike.
                stopped.append(exc)
                continue
            except Exception as exc:  # a failure after fetching is the source's failure
                failed = exc
            try:
                outcomes.append(
                    record_poll_error(config, storage, fetched.source, fetched.state, now(), failed)
                )
            except StorageError as exc:  # not even the failure could be recorded
                stopped.append(exc)
            except Exception:
                log.exception("Storing the poll of %s failed.", fetched.source.name)
                outcomes.append(SourceOutcome(fetched.source.name, "error", error="internal error"))
    if stopped:
        raise stopped[0]  # the database failed: the bookkeeping kept is not written either
    bookkeeping.flush(storage)
    return outcomes


def run_once(
    config: Config,
    *,
    backfill: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    storage: Storage | None = None,
) -> CycleSummary:
    """``weightwatch once``: poll every source, deliver pending alerts, summarise.

    It owns the database while it runs (``storage.owner``): next to a running daemon (or
    another ``once``) it raises ``StorageError`` (kind "owned") before opening it, and
    so never delivers an alert the other process is delivering (nor migrates its file).
    """
    started = time.monotonic()
    owner = Owner(storage.path if storage is not None else config.settings.database, "once")
    try:  # before opening: a refused once migrates and writes nothing
        owner.acquire()
    except StorageError as exc:
        if exc.kind == "no-access" and storage is None:  # the database's error says it better
            Storage(config.settings.database).close()
        raise
    try:
        store = storage or Storage(config.settings.database)
        try:
            return _run_once(config, store, backfill=backfill, now=now, started=started)
        finally:
            if storage is None:
                store.close()
    finally:
        owner.release()


def _run_once(
    config: Config,
    store: Storage,
    *,
    backfill: bool,
    now: Callable[[], datetime],
    started: float,
) -> CycleSummary:
    fetcher = Fetcher(
        timeout=config.settings.timeout,
        max_body=config.settings.max_body,
        user_agent=config.settings.user_agent or None,
        pool_size=max(16, config.settings.workers),
        private_addresses=config.settings.private_addresses,
    )
    try:
        rekey_legacy_urls(config, store)  # before anything is queued or delivered
        summary = CycleSummary()
        summary.sources = poll_sources(config, store, fetcher, now=now, backfill=backfill)
        summary.delivery = deliver_pending(config, store, now=now, timeout=config.settings.timeout)
        retention = timedelta(seconds=config.settings.retention)
        store.prune_text(now() - retention)
        window = timedelta(seconds=config.settings.dedup_window)
        store.prune(now(), retention=retention, dedup_window=window)
        summary.pending = store.pending_alerts()
        summary.duration = time.monotonic() - started
        return summary
    finally:
        fetcher.close()
