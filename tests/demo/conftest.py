"""Fixtures for the demo's simulators: Twilio settings, the app served on 127.0.0.1, the
command runner of the CLI tests and localstripe from the payment tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from app.main import create_app
from app.settings import get_settings
from tests.cli.conftest import upm  # noqa: F401
from tests.payments.conftest import localstripe, localstripe_url, stripe_settings  # noqa: F401

AUTH_TOKEN = "test-auth-token-for-signatures"
#: The app checks signatures over this URL, not the address it is served on.
PUBLIC_BASE_URL = "https://upm.example.test"


@pytest.fixture
def twilio_settings(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A webhook token and a public URL; no account SID, so no text is sent to Twilio."""
    monkeypatch.setenv("UPM_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("UPM_PUBLIC_BASE_URL", PUBLIC_BASE_URL)
    monkeypatch.delenv("UPM_TWILIO_ACCOUNT_SID", raising=False)
    get_settings.cache_clear()


@pytest.fixture
def served_app(twilio_settings: None) -> Iterator[str]:
    """Serve the app with uvicorn in a thread on a free 127.0.0.1 port and yield its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start within 10 seconds"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
