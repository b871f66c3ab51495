from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from servers import HTTPTestServer, WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"


@pytest.fixture
def http_server() -> Iterator[HTTPTestServer]:
    server = HTTPTestServer()
    yield server
    server.close()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


class SMTPSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives."""

    def __init__(self, port: int = 0) -> None:
        import socket

        from aiosmtpd.controller import Controller

        self.messages: list[tuple[str, list[str], str]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
                content = envelope.content.decode("utf-8", "replace")
                sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos), content))
                return "250 OK"

        if port:
            self.port = port
        else:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def apprise_url(self, to: str = "me@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=ww@example.org&to={to}&format=text"

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp() -> Iterator[SMTPSink]:
    sink = SMTPSink()
    yield sink
    sink.stop()
