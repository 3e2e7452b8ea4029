"""Fixtures for the Slack bot: a fake Slack Web API on 127.0.0.1 and signed requests.

The fake records every call the bot makes (chat.postMessage, chat.postEphemeral,
views.open, views.update and posts to a command's response_url) so tests can wait for
the replies Bolt sends after it has acknowledged a request.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.orm import Session

from app.main import create_app
from app.settings import get_settings
from app.work_orders.models import Staff, StaffRole

SIGNING_SECRET = "slack-test-signing-secret"
TEAM = "T0TEST"
ALERTS_CHANNEL = "C0ALERTS"
CHANNEL = "C0OPS"


@dataclass
class Call:
    path: str
    body: dict[str, Any]

    @property
    def method(self) -> str:
        """The Web API method called, or ``response`` for a post to a response_url."""
        if self.path.startswith("/response/"):
            return "response"
        return self.path.rsplit("/", 1)[-1]

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "")


@dataclass
class FakeSlack:
    """Calls received, with a condition to wait on while Bolt's threads reply."""

    base_url: str = ""
    calls: list[Call] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, call: Call) -> None:
        with self.changed:
            self.calls.append(call)
            self.changed.notify_all()

    def where(self, method: str) -> list[Call]:
        with self.changed:
            return [call for call in self.calls if call.method == method]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 15, match: str = ""
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` (whose text contains ``match``) arrived."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [c for c in self.calls if c.method == method and match in c.text]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.text[:80]) for c in self.calls]
                    raise AssertionError(f"waited for {count} {method} {match!r}; saw {seen}")
                self.changed.wait(left)

    def response_url(self, name: str) -> str:
        return f"{self.base_url}/response/{name}"


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if "json" in (self.headers.get("Content-Type") or ""):
                body = json.loads(raw or "{}")
            else:
                body = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
            path = urllib.parse.urlparse(self.path).path
            fake.add(Call(path, body))
            if path.startswith("/response/"):
                self._send("ok", "text/plain")
                return
            answer: dict[str, Any] = {"ok": True}
            if path.endswith("/auth.test"):
                answer.update(team_id=TEAM, user_id="UBOT", bot_id="BBOT", user="upm")
            if path.endswith("/chat.postMessage"):
                answer.update(channel=body.get("channel"), ts=f"{time.time():.6f}")
            if path.endswith(("/views.open", "/views.update")):
                answer.update(view={"id": "V1"})
            self._send(json.dumps(answer), "application/json")

        def _send(self, text: str, content_type: str) -> None:
            data = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def slack_settings(db_url: str, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPM_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("UPM_SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("UPM_SLACK_API_BASE", f"{fake_slack.base_url}/api/")
    monkeypatch.setenv("UPM_SLACK_ALERTS_CHANNEL", ALERTS_CHANNEL)
    get_settings.cache_clear()


@pytest.fixture
def client(slack_settings: None) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def staff(session: Session) -> dict[str, Staff]:
    """One staff member of each role, linked to Slack user ids in team ``T0TEST``."""
    people = {
        "clerk": Staff(name="Cleo Clerk", role=StaffRole.CLERK, slack_user_id="U0CLERK"),
        "supervisor": Staff(name="Sam Super", role=StaffRole.SUPERVISOR, slack_user_id="U0SUPER"),
        "supervisor2": Staff(name="Sue Second", role=StaffRole.SUPERVISOR, slack_user_id="U0SUE"),
        "admin": Staff(name="Ada Admin", role=StaffRole.BILLING_ADMIN, slack_user_id="U0ADMIN"),
        "tech": Staff(
            name="Tia Tech",
            role=StaffRole.FIELD_CREW,
            slack_user_id="U0TECH",
            phone="+15550100777",
        ),
    }
    for person in people.values():
        person.slack_team_id = TEAM
    session.add_all(people.values())
    session.commit()
    return people


def signed_headers(body: str, timestamp: int | None = None) -> dict[str, str]:
    """Return Slack's signature headers, made with slack_sdk's own scheme."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body)
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


_triggers = iter(range(1, 10**9))


@pytest.fixture
def slash(client: TestClient, fake_slack: FakeSlack) -> Callable[..., Any]:
    """Send ``/upm <text>`` as Slack does; return the HTTP response."""

    def send(
        text: str,
        user: str = "U0CLERK",
        *,
        team: str = TEAM,
        trigger_id: str | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        trigger = trigger_id or f"trigger.{next(_triggers)}"
        form = {
            "token": "unused",
            "team_id": team,
            "team_domain": "riverbend",
            "channel_id": CHANNEL,
            "channel_name": "billing",
            "user_id": user,
            "user_name": "someone",
            "command": "/upm",
            "text": text,
            "api_app_id": "A0UPM",
            "response_url": fake_slack.response_url(trigger),
            "trigger_id": trigger,
        }
        body = urllib.parse.urlencode(form)
        return client.post(
            "/slack/events",
            content=body,
            headers={**signed_headers(body, timestamp), **(headers or {})},
        )

    return send


@pytest.fixture
def click(client: TestClient, fake_slack: FakeSlack) -> Callable[..., Any]:
    """Click a button of a message the bot posted, as ``user``; return the HTTP response."""

    def send(message: Call, action_id: str, user: str, *, action_ts: str | None = None) -> Any:
        blocks = message.body["blocks"]
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        button = next(
            element
            for block in blocks
            if block["type"] == "actions"
            for element in block["elements"]
            if element["action_id"] == action_id
        )
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "riverbend"},
            "user": {"id": user, "team_id": TEAM, "username": "someone"},
            "api_app_id": "A0UPM",
            "channel": {"id": CHANNEL, "name": "billing"},
            "message": {"ts": "1.0", "text": message.text, "blocks": blocks},
            "response_url": fake_slack.response_url(f"action-{user}"),
            "trigger_id": f"trigger.action.{next(_triggers)}",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "approval",
                    "value": button["value"],
                    "action_ts": action_ts or f"{time.time():.6f}",
                }
            ],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return client.post("/slack/events", content=body, headers=signed_headers(body))

    return send
