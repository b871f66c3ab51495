"""``weightwatch run``: the long-running daemon that systemd supervises.

Threads and who owns what:

- the main thread owns signals and lifecycle: handlers only put a word on a queue;
  the main loop reloads, stops, pings the watchdog and keeps ``STATUS=`` current;
- the scheduler (``_scheduler``) runs one job per source plus a delivery job;
- one writer thread (``service.writer``) owns the SQLite connection; every other thread
  calls through it (``writer_call(lambda st: ...)``, typed), so there is exactly one writer
  and no "database is locked".

A poll job fetches and parses in its own thread (after claiming its host from the
``sources.hosts`` gate: one request at a time per host, ``settings.host_spacing`` apart; a
poll whose host is busy reschedules itself for when the host is free instead of holding a
pool thread), reads the known item ids through the writer, matches the new items against
the rules in its own thread, then decides the stories and stores through the writer in one
transaction, then schedules its own next run from ``schedule.plan`` (its own interval, a
promise; else adaptive within settings.min_interval/max_interval, sharing the budget of
settings.interval: ``scheduler.Adaptive``; or fixed).
"""

from __future__ import annotations

import ctypes
import logging
import os
import queue
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TypeVar

from weightwatch import config as config_mod
from weightwatch.config import Config, Source
from weightwatch.errors import ConfigError, StorageError
from weightwatch.service.deliver import Unrecorded, deliver_pending, rekey_legacy_urls
from weightwatch.service.poll import (
    Decided,
    decide_poll,
    fetch_source,
    prepare_poll,
    read_seen,
    read_story,
    story_mark,
    write_poll,
)
from weightwatch.service.scheduler import Adaptive, Scheduler
from weightwatch.service.systemd import Notifier, register_secrets
from weightwatch.service.writer import Writer, WriterClosed, WriterDeliveryStore
from weightwatch.sources import health, schedule
from weightwatch.sources.hosts import HostGate, host_of
from weightwatch.sources.http import Fetcher
from weightwatch.storage import Storage
from weightwatch.storage.owner import Owner

log = logging.getLogger("weightwatch")

T = TypeVar("T")

DELIVERY_EVERY = 5.0  # seconds between delivery runs (retries follow their own backoff)
STOP_DELIVERY_BUDGET = 4.0  # seconds for the last delivery attempt when stopping
DECIDE_ATTEMPTS = 3  # story decisions off the writer before one inside it (service.poll)
STOP_WRITER_BUDGET = 3.0  # seconds for the writer to finish its transaction and close
PRUNE_EVERY = 3600.0  # seconds between prunings (item text, old ids and stories: prune_job)
STORAGE_LOG_EVERY = 600.0  # seconds between error lines about one kind of database failure


@dataclass
class Stats:
    started: datetime
    last_poll: datetime | None = None
    polls: int = 0
    failing: set[str] = field(default_factory=set)


class StorageTrouble:
    """The poll jobs' database failures (disk full, read-only, ...): logged at error
    priority once per ``StorageError.kind`` per ``every`` seconds, not at every poll, with
    how many were not logged in between; the first recorded poll after them logs once that
    writes work again. Thread-safe (poll jobs run in the scheduler's pool)."""

    def __init__(
        self, every: float = STORAGE_LOG_EVERY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every = every
        self.clock = clock
        self.lock = threading.Lock()
        self.logged_at: dict[str, float] = {}
        self.unlogged: dict[str, int] = {}

    def failed(self, source: str, exc: StorageError) -> None:
        with self.lock:
            now = self.clock()
            last = self.logged_at.get(exc.kind)
            if last is not None and now - last < self.every:
                self.unlogged[exc.kind] = self.unlogged.get(exc.kind, 0) + 1
                return
            self.logged_at[exc.kind] = now
            more = self.unlogged.pop(exc.kind, 0)
        since = f" It happened {more} more times since the last report." if more else ""
        log.error(
            "%s: could not record the poll. %s Polling goes on; while this lasts it is"
            " reported every %d minutes.%s",
            source,
            exc,
            round(self.every / 60),
            since,
        )

    def recorded(self, path: Path) -> None:
        with self.lock:
            if not self.logged_at:
                return
            kinds = ", ".join(sorted(self.logged_at))
            self.logged_at.clear()
            self.unlogged.clear()
        log.info("The database %s: writes work again (after: %s).", path, kinds)


class Daemon:
    def __init__(
        self,
        config_path: Path,
        *,
        notifier: Notifier | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config_path = config_path
        self.notifier = notifier or Notifier()
        self.now = now
        self.config: Config = config_mod.load(config_path)  # ConfigError: exit 78
        register_secrets(self.config.secrets)
        self.stopping = threading.Event()
        self.events: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.generation: dict[str, int] = {}
        self.gate = HostGate(spacing=self.config.settings.host_spacing)
        self.gate_lock = threading.Lock()
        self.delivery_lock = threading.Lock()  # one delivery pass at a time
        self.unrecorded = Unrecorded()  # sent but not recorded: never sent again by us
        self.beat_at = time.monotonic()
        self.stats = Stats(started=now())
        self.owner = Owner(self.config.settings.database, "run")  # held while running
        self.writer: Writer | None = None
        self.delivery_store: WriterDeliveryStore | None = None
        self.scheduler: Scheduler | None = None
        self.adaptive = Adaptive()
        self.storage_trouble = StorageTrouble()
        self.fetcher = self._new_fetcher(self.config)

    @staticmethod
    def _new_fetcher(cfg: Config) -> Fetcher:
        s = cfg.settings
        return Fetcher(
            timeout=s.timeout,
            max_body=s.max_body,
            user_agent=s.user_agent or None,
            pool_size=max(16, s.workers * 2),
            private_addresses=s.private_addresses,
        )

    # -- lifecycle -----------------------------------------------------------------

    def run(self) -> int:
        """Start, serve until SIGTERM/SIGINT, stop. Returns the exit code.

        A database that cannot be opened or written at start raises its ``StorageError``
        (the command prints it once and exits with its kind's code) after ``STATUS=`` says
        why, for ``systemctl status``.
        """
        self._install_signals()
        try:
            self.start()
        except StorageError as exc:
            self.notifier.status(f"Not started: {exc}")
            self._abandon_start()
            raise
        try:
            self._main_loop()
        finally:
            self.stop()
        return 0

    def start(self) -> None:
        cfg = self.config
        try:  # before opening: a refused daemon migrates and writes nothing
            self.owner.acquire()  # StorageError "owned": another run or once has it
        except StorageError as exc:
            if exc.kind == "no-access":  # the database's own error says it better
                self.writer = Writer(cfg.settings.database)
            raise
        self.writer = Writer(cfg.settings.database)
        self.delivery_store = WriterDeliveryStore(self.writer)
        self.writer_call(lambda st: st.ensure_sources(cfg.masked_sources()))
        self.writer_call(lambda st: rekey_legacy_urls(cfg, st))
        workers = max(4, cfg.settings.workers * 2)
        self.scheduler = Scheduler(workers)
        states = self.writer_call(lambda st: st.source_states())
        now = self.now()
        self._configure_adaptive(cfg, {n: s.item_times for n, s in states.items()})
        for source in cfg.sources:
            state = states.get(source.name)
            first = schedule.first_run(
                source.name, source.interval, state.next_due if state else None, now
            )
            self._schedule(source.name, first)
        self.scheduler.every("deliver", DELIVERY_EVERY, self.deliver_job, executor="alerts")
        self.scheduler.every("prune", PRUNE_EVERY, self.prune_job, first=now)
        beat = min(5.0, (self.notifier.watchdog_interval or 10.0) / 2)
        self.scheduler.every("heartbeat", beat, self._beat, executor="beat", first=now)
        self.scheduler.start()
        log.info(
            "weightwatch running: %d sources, %d rules, %d channels; database %s.",
            len(cfg.sources),
            len(cfg.rules),
            len(cfg.channels),
            cfg.settings.database,
        )
        self.notifier.ready(self.status_line())

    def _abandon_start(self) -> None:
        """Undo what a failed ``start`` began: nothing was polled or sent yet."""
        self.stopping.set()
        if self.scheduler is not None:
            self.scheduler.shutdown()
        if self.writer is not None:
            self.writer.close(STOP_WRITER_BUDGET)
        self.owner.release()

    def _install_signals(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.events.put("reload" if signum == signal.SIGHUP else "stop")

        signal.signal(signal.SIGHUP, handler)
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _main_loop(self) -> None:
        ping = self.notifier.watchdog_interval
        tick = min(ping, 5.0) if ping else 5.0
        last_status = ""
        while True:
            try:
                event = self.events.get(timeout=tick)
            except queue.Empty:
                event = ""
            if ping and self.healthy(2 * ping):
                self.notifier.watchdog()
            if event == "stop":
                return
            if event == "reload":
                self.reload()
            line = self.status_line()
            if line != last_status:
                self.notifier.status(line)
                last_status = line

    def healthy(self, max_silence: float) -> bool:
        """The scheduler runs jobs and the writer is alive: only then ping the watchdog."""
        return (
            self.scheduler is not None
            and self.scheduler.running
            and self.writer is not None
            and self.writer.thread.is_alive()
            and time.monotonic() - self.beat_at < max_silence
        )

    def _beat(self) -> None:
        self.beat_at = time.monotonic()

    def stop(self) -> None:
        """No new polls; in-flight ones are abandoned; one bounded delivery; close the DB."""
        log.info("Stopping.")
        self.notifier.stopping()
        self.stopping.set()
        if self.scheduler is not None:
            self.scheduler.shutdown()
        if self.writer is not None:
            last = threading.Thread(target=self._last_delivery, name="last-delivery", daemon=True)
            last.start()
            last.join(STOP_DELIVERY_BUDGET)
            self.writer.close(STOP_WRITER_BUDGET)
        self.owner.release()
        log.info("Stopped.")

    def _last_delivery(self) -> None:
        """One bounded delivery pass while stopping; no send starts that could not be recorded.

        It first waits for a delivery run in progress (whose senders stop after their
        current send) instead of sending the same pending alerts from a second pass.
        """
        end = time.monotonic() + STOP_DELIVERY_BUDGET - 0.3
        if not self.delivery_lock.acquire(timeout=STOP_DELIVERY_BUDGET / 2):
            return
        send_timeout = 1.0
        try:
            deliver_pending(
                self.config,
                self._delivery_store(),
                now=self.now,
                timeout=send_timeout,
                respect_backoff=True,
                should_stop=lambda: time.monotonic() + send_timeout > end,
                unrecorded=self.unrecorded,
            )
        except StorageError:
            pass
        except Exception:
            log.exception("The last delivery before stopping failed.")
        finally:
            self.delivery_lock.release()

    # -- reload --------------------------------------------------------------------

    def reload(self) -> None:
        """SIGHUP: validate the whole new file first; if it is bad keep the old config."""
        self.notifier.reloading()
        try:
            new = config_mod.load(self.config_path)
            register_secrets(new.secrets)
        except ConfigError as exc:
            log.error("Reload refused; still running the previous config.\n%s", exc)
            self.notifier.ready(self.status_line())
            return
        except Exception as exc:
            log.error(
                "Reload refused; still running the previous config. Reading %s failed: %s",
                self.config_path,
                type(exc).__name__,
            )
            self.notifier.ready(self.status_line())
            return
        old = self.config
        if new.settings.database != old.settings.database:
            log.warning("settings.database changed; that takes effect at the next restart.")
        if (new.settings.timeout, new.settings.max_body, new.settings.user_agent) != (
            old.settings.timeout,
            old.settings.max_body,
            old.settings.user_agent,
        ):
            self.fetcher = self._new_fetcher(new)
        before = {s.name: s for s in old.sources}
        after = {s.name: s for s in new.sources}
        self.writer_call(lambda st: st.ensure_sources(new.masked_sources()))
        self.writer_call(lambda st: rekey_legacy_urls(new, st))
        self.config = new  # rules and channels: every poll and delivery takes a snapshot
        with self.gate_lock:
            self.gate.spacing = new.settings.host_spacing
        now = self.now()
        added = [n for n in after if n not in before]
        removed = [n for n in before if n not in after]
        changed = [n for n in after if n in before and after[n] != before[n]]
        self._configure_adaptive(new, {})
        assert self.scheduler is not None
        for name in removed:
            self.generation[name] = self.generation.get(name, 0) + 1
            self.scheduler.remove(f"source:{name}")
        for name in added + changed:
            source = after[name]
            self._schedule(name, now + timedelta(seconds=schedule.spread(name, source.interval)))
        log.info(
            "Reloaded %s: %d sources (%d added, %d removed, %d changed), %d rules, %d channels.",
            self.config_path,
            len(new.sources),
            len(added),
            len(removed),
            len(changed),
            len(new.rules),
            len(new.channels),
        )
        self.notifier.ready(self.status_line())

    # -- jobs ----------------------------------------------------------------------

    def _schedule(
        self, name: str, when: datetime, due: datetime | None = None, queued: bool = False
    ) -> None:
        gen = self.generation.get(name, 0) + 1
        self.generation[name] = gen
        assert self.scheduler is not None
        self.scheduler.at(f"source:{name}", when, self.poll_job, name, gen, due or when, queued)

    def poll_job(
        self, name: str, gen: int, due: datetime | None = None, queued: bool = False
    ) -> None:
        if self.stopping.is_set() or self.generation.get(name) != gen:
            return
        cfg = self.config
        source = next((s for s in cfg.sources if s.name == name), None)
        if source is None:
            return
        try:
            self._poll(cfg, source, gen, due, queued)
        except WriterClosed:
            return  # stopping
        except StorageError as exc:
            # Disk full, read-only, ...: every poll fails alike until someone acts. Say
            # so once in a while (no traceback: the message says what to do), poll on.
            if not self.stopping.is_set():
                self.storage_trouble.failed(name, exc)
                self._reschedule(source, gen, delay=source.interval)
        except Exception:
            log.exception("%s: unexpected error; the source will be polled again.", name)
            self._reschedule(source, gen, delay=source.interval)

    def _poll(
        self, cfg: Config, source: Source, gen: int, due: datetime | None, queued: bool
    ) -> None:
        state = self.writer_call(lambda st: st.source_state(source.name))
        if state is None:
            return
        now = self.now()
        if health.is_waiting(state.not_before, now):
            assert state.not_before is not None
            wait = (state.not_before - now).total_seconds()
            self._reschedule(source, gen, delay=wait)
            return
        host = host_of(state.permanent_url or source.url)
        busy_for = self._claim_host(host, queued)
        if busy_for > 0:
            # Its host is in use: come back when it is free rather than hold a pool
            # thread, so one crowded host never delays the sources of other hosts.
            if self.generation.get(source.name) == gen and not self.stopping.is_set():
                when = self.now() + timedelta(seconds=busy_for)
                self._schedule(source.name, when, due=due, queued=True)
            return
        try:
            if due is not None:
                late = (self.now() - due).total_seconds()
                log.debug("%s: poll started %.3f s after it was due.", source.name, late)
            if self.stopping.is_set():
                return
            fetched = fetch_source(self.fetcher, source, state)
        finally:
            self._release_host(host)
        if self.stopping.is_set():
            return  # abandoned: not recorded, so it is simply polled again after a restart
        # Read through the writer, match and decide in this thread, write through the
        # writer: the write uses the decision only if no hit was stored since its read,
        # else decides again inside (service.poll), so two sources reporting one story at
        # the same time cannot both start it, and a flood of new hits does not hold the
        # writer (tried a few times off the writer before deciding inside it).
        stamp = self.now()
        seen = self.writer_call(lambda st: read_seen(st, fetched, stamp))
        prepared = prepare_poll(cfg, fetched, seen, stamp, False)
        decided = None
        for _ in range(DECIDE_ATTEMPTS if prepared.matches.items else 0):
            mark, context = self.writer_call(lambda st: read_story(cfg, st, prepared, stamp))
            try:
                decided = Decided(mark, decide_poll(cfg, prepared, context))
            except Exception:  # decided again in write_poll, which records it as a failure
                decided = None
                break
            if self.writer_call(lambda st: story_mark(st)) == mark:
                break
        outcome = self.writer_call(lambda st: write_poll(cfg, st, prepared, stamp, decided))
        self.storage_trouble.recorded(cfg.settings.database)
        after = self.writer_call(lambda st: st.source_state(source.name))
        failures = after.consecutive_failures if after else 0
        retry_after = None
        if after and after.not_before:
            retry_after = (after.not_before - self.now()).total_seconds()
        max_age = None
        if fetched.response is not None:
            max_age = schedule.max_age_of(fetched.response.headers.get("cache-control"))
        ttl = fetched.feed.ttl if fetched.feed is not None else None
        moment = stamp.timestamp()
        published = [
            (item.published or stamp).timestamp() for item in prepared.fresh
        ]  # undated: first seen
        times = self.adaptive.learn(source.name, published, moment)
        s = cfg.settings
        plan = self.adaptive.plan(
            source.name,
            self.now().timestamp(),
            schedule.bounds(s.interval, s.min_interval, s.max_interval),
            interval=None if source.schedule == "adaptive" else source.interval,
            promise=source.schedule == "own",
            failures=failures,
            retry_after=retry_after,
            max_age=max_age,
            ttl=ttl,
            rand=random.random(),
        )
        self.stats.last_poll = self.now()
        self.stats.polls += 1
        if outcome.status == "error":
            self.stats.failing.add(source.name)
        else:
            self.stats.failing.discard(source.name)
        self._reschedule(source, gen, delay=plan.delay, reason=plan.reason, times=times)

    def _configure_adaptive(self, cfg: Config, stored: dict[str, tuple[float, ...]]) -> None:
        names = [s.name for s in cfg.sources if s.schedule == "adaptive"]
        self.adaptive.configure(names, stored, self.now().timestamp())

    def writer_call(self, fn: Callable[[Storage], T]) -> T:
        """Run ``fn(storage)`` on the writer thread (typed: ``fn`` is checked by mypy)."""
        if self.writer is None:
            raise WriterClosed("The database is not open yet.")
        return self.writer.call(fn)

    def _delivery_store(self) -> WriterDeliveryStore:
        if self.delivery_store is None:
            raise WriterClosed("The database is not open yet.")
        return self.delivery_store

    def _reschedule(
        self,
        source: Source,
        gen: int,
        *,
        delay: float,
        reason: str | None = None,
        times: tuple[float, ...] | None = None,
    ) -> None:
        if self.stopping.is_set() or self.generation.get(source.name) != gen:
            return  # stopping, or a reload rescheduled this source meanwhile
        when = self.now() + timedelta(seconds=max(delay, 0.0))
        try:
            if reason is None:
                self.writer_call(lambda st: st.set_next_due(source.name, when))
            else:
                self.writer_call(
                    lambda st: st.set_schedule(source.name, when, delay, reason, times)
                )
        except WriterClosed:
            return
        except StorageError:
            pass  # not remembered across a restart (then it is simply due), but polled on
        self._schedule(source.name, when)

    def _claim_host(self, host: str, queued: bool) -> float:
        """0 when this poll may use ``host`` now, else seconds to wait (``sources.hosts``)."""
        with self.gate_lock:
            return self.gate.claim(host, time.monotonic(), queued=queued)

    def _release_host(self, host: str) -> None:
        with self.gate_lock:
            self.gate.release(host, time.monotonic())

    def deliver_job(self) -> None:
        if self.stopping.is_set():
            return
        with self.delivery_lock:
            try:
                deliver_pending(
                    self.config,
                    self._delivery_store(),
                    now=self.now,
                    timeout=self.config.settings.timeout,
                    respect_backoff=True,
                    should_stop=self.stopping.is_set,
                    unrecorded=self.unrecorded,
                )
            except StorageError:
                if not self.stopping.is_set():
                    log.exception("Delivering alerts failed.")

    def prune_job(self) -> None:
        """Hourly: forget item text past ``settings.retention``, then what can no longer
        matter (``storage.prune``: ids long gone from their feed, old closed stories, the
        story index outside the dedup window)."""
        if self.stopping.is_set():
            return
        settings = self.config.settings
        now = self.now()
        retention = timedelta(seconds=settings.retention)
        window = timedelta(seconds=settings.dedup_window)
        try:
            pruned = self.writer_call(lambda st: st.prune_text(now - retention))
            forgot = self.writer_call(
                lambda st: st.prune(now, retention=retention, dedup_window=window)
            )
        except StorageError:
            return
        if pruned:
            log.info("Forgot the text of %d items older than the retention period.", pruned)
        if forgot.total:
            log.info(
                "Forgot %d item ids long gone from their feeds, %d old hits with %d alerts,"
                " and %d story index rows outside the dedup window.",
                forgot.items,
                forgot.hits,
                forgot.alerts,
                forgot.story_words + forgot.story_features,
            )

    # -- status --------------------------------------------------------------------

    def status_line(self) -> str:
        cfg = self.config
        try:
            pending = self.writer_call(lambda st: st.pending_alerts())
            day = self.now().replace(hour=0, minute=0, second=0, microsecond=0)
            today = self.writer_call(lambda st: st.hits_since(day))
        except StorageError:
            return "stopping"
        failing = len(self.stats.failing)
        last = f"{self.stats.last_poll:%H:%M:%S} UTC" if self.stats.last_poll else "none yet"
        line = (
            f"{len(cfg.sources)} sources ({failing} failing), last poll {last},"
            f" {today} hits today, {pending} alerts pending"
        )
        trouble = self.unrecorded.describe()
        return f"{trouble}; {line}" if trouble else line


M_ARENA_MAX, M_MMAP_THRESHOLD = -8, -3  # glibc's mallopt parameters (malloc.h)


def tune_malloc(arenas: int = 2, mmap_threshold: int = 64 * 1024) -> bool:
    """glibc only, before any thread starts: at most ``arenas`` malloc arenas, and blocks of
    ``mmap_threshold`` bytes or more (feed bodies are 20 KB to MBs) mapped and unmapped on
    their own instead of left as holes in one arena per poll thread. The daemon's RSS then
    stops creeping: peak 100.8 MB against 114.5 MB side by side in the soak, for ~2 % more
    CPU in the kernel (docs/capacity.md). Does nothing elsewhere (musl, macOS) or when the
    administrator set ``GLIBC_TUNABLES`` / ``MALLOC_ARENA_MAX`` themselves."""
    if os.environ.get("GLIBC_TUNABLES") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, arenas)) and bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold))


def run(config_path: Path) -> int:
    tune_malloc()
    daemon = Daemon(config_path)
    code = daemon.run()
    logging.shutdown()
    os._exit(code)  # in-flight fetches are abandoned: do not wait for their threads
