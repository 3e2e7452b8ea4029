"""Fixtures for payment tests: Stripe settings, a localstripe server, signed events."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from app.settings import get_settings

WEBHOOK_SECRET = "whsec_test_current"
#: Starts localstripe on 127.0.0.1 with nothing saved to disk.
LOCALSTRIPE_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run_localstripe.py"
OLD_WEBHOOK_SECRET = "whsec_test_previous"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """Start localstripe on 127.0.0.1 for the whole session (a real HTTP Stripe fake)."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(LOCALSTRIPE_SCRIPT), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("localstripe did not start within 20 s")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def stripe_settings(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stripe settings with no server: for tests that only send signed events."""
    monkeypatch.setenv("UPM_STRIPE_SECRET_KEY", "sk_test_upm")
    monkeypatch.setenv("UPM_STRIPE_WEBHOOK_SECRETS", WEBHOOK_SECRET)
    get_settings.cache_clear()


@pytest.fixture
def localstripe(
    stripe_settings: None, localstripe_url: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.setenv("UPM_STRIPE_API_BASE", localstripe_url)
    monkeypatch.setenv("UPM_STRIPE_PUBLISHABLE_KEY", "pk_test_upm")
    get_settings.cache_clear()
    return localstripe_url


def sign(body: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Return a Stripe-Signature header made by the stripe library's own scheme."""
    return str(stripe.WebhookSignature.generate_signature_header(body, secret, timestamp))


@pytest.fixture
def make_event() -> Callable[..., str]:
    """Build an event body the way Stripe sends it: newline and two-space indentation."""

    def build(event_id: str, kind: str, obj: dict[str, Any], created: int = 1796400000) -> str:
        event = {
            "id": event_id,
            "object": "event",
            "type": kind,
            "created": created,
            "data": {"object": {"created": created, **obj}},
        }
        return json.dumps(event, indent=2) + "\n"

    return build
