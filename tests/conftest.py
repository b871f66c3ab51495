from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
