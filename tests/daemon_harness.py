"""Run the real daemon as a subprocess with a test-owned NOTIFY_SOCKET."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from builders import config_file
from feedgen import Entry
from servers import HTTPTestServer


class NotifySocket:
    """A datagram socket playing systemd: records every sd_notify message with its time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.closed = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self.closed:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append((time.monotonic(), data.decode("utf-8")))

    def fields(self, key: str) -> list[tuple[float, str]]:
        with self.lock:
            out = []
            for at, msg in self.messages:
                for line in msg.splitlines():
                    if line.startswith(key + "="):
                        out.append((at, line.split("=", 1)[1]))
            return out

    def close(self) -> None:
        self.closed = True
        self.sock.close()


def wait_for(check: Callable[[], Any], timeout: float, what: str, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class DaemonProcess:
    def __init__(
        self,
        config: Path,
        tmp: Path,
        env: dict[str, str] | None = None,
        watchdog_usec: int = 0,
        journal: bool = False,
    ) -> None:
        self.notify = NotifySocket(tmp / f"notify-{time.monotonic_ns()}.sock")
        self.log_path = tmp / f"daemon-{time.monotonic_ns()}.log"
        self.log_file = self.log_path.open("wb")
        full = {
            k: v for k, v in os.environ.items() if not k.startswith(("WEIGHTWATCH_", "JOURNAL"))
        }
        full["NOTIFY_SOCKET"] = str(self.notify.path)
        if watchdog_usec:
            full["WATCHDOG_USEC"] = str(watchdog_usec)
        if journal:  # announce the log file as the journal stream, as systemd would
            st = os.fstat(self.log_file.fileno())
            full["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        full.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "weightwatch", "run", "--config", str(config)],
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 15) -> float:
        def ready_at() -> float | None:
            at = next((t for t, v in self.notify.fields("READY") if v == "1"), None)
            if at is None:
                self._died()
            return at

        at: float = wait_for(ready_at, timeout, "READY=1")
        return at

    def _died(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"daemon exited {self.proc.returncode}:\n{self.log}")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()
        self.notify.close()


# -- configs and helpers shared by the daemon tests ------------------------------------

RULE = 'OpenAI AND ("release weights" OR "open-weight")'
OLD = Entry("Quarterly update on robot arms", "https://lab.example/robots", guid="r1")


def news(n: int, source: str = "lab") -> Entry:
    return Entry(
        f"OpenAI releases weights for model number {n} from {source}",
        f"https://{source}.example/model-{n}",
        guid=f"{source}-{n}",
    )


def daemon_config(
    tmp_path: Path,
    sources: dict[str, str],
    hook: str,
    rules: list[tuple[str, str]] | None = None,
    timeout: str = "3s",
) -> Path:
    """tmp_path/c.toml: ``sources`` polled every 5 s, each rule (name, query) alerts ``hook``."""
    return config_file(
        tmp_path,
        sources,
        {"hook": hook},
        [
            {"name": name, "query": query, "notify": ["hook"]}
            for name, query in rules or [("oa", RULE)]
        ],
        'interval = "5s"',
        timeout=timeout,
        host_spacing=None,  # the daemon as it runs: one request at a time per host, 1 s apart
        name="c.toml",
    )


def start(daemons: list[DaemonProcess], config: Path, tmp: Path, **kw: Any) -> DaemonProcess:
    d = DaemonProcess(config, tmp, **kw)
    daemons.append(d)
    return d


def polled(server: HTTPTestServer, path: str, times: int = 1) -> bool:
    return len(server.hits(path)) >= times
