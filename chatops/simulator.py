"""Play Slack's side of a ``/upm`` command against a running app, for people and tests.

The simulator signs the form body the way Slack does (slack_sdk's ``SignatureVerifier``
scheme), posts it to ``/slack/events`` and listens on 127.0.0.1 for the reply the app
sends to the command's ``response_url``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

EVENTS_PATH = "/slack/events"


@dataclass
class Simulation:
    """The HTTP status of the acknowledgment and the replies posted to the response_url."""

    status: int
    acknowledgment: str
    replies: list[dict[str, Any]] = field(default_factory=list)


def split_command(line: str) -> tuple[str, str]:
    """Split ``"/upm account 100000017"`` into the command and its text."""
    command, _, text = line.strip().partition(" ")
    if not command.startswith("/"):
        return "/upm", line.strip()
    return command, text.strip()


def simulate(
    line: str,
    *,
    url: str,
    secret: str,
    user: str,
    team: str,
    channel: str,
    wait: float,
) -> Simulation:
    """Post one signed slash command and collect replies until ``wait`` seconds pass."""
    replies: list[dict[str, Any]] = []
    arrived = threading.Event()

    class Catcher(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            replies.append(json.loads(raw or b"{}"))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            arrived.set()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Catcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        command, text = split_command(line)
        trigger = f"sim.{uuid.uuid4().hex}"
        form = {
            "token": "simulator",
            "team_id": team,
            "team_domain": "simulator",
            "channel_id": channel,
            "channel_name": "simulator",
            "user_id": user,
            "user_name": "simulator",
            "command": command,
            "text": text,
            "api_app_id": "ASIMULATOR",
            "response_url": f"http://127.0.0.1:{server.server_address[1]}/response",
            "trigger_id": trigger,
        }
        body = urlencode(form)
        timestamp = str(int(time.time()))
        signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
        if signature is None:
            raise ValueError("slack_sdk made no signature: the timestamp or body is missing")
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own app
            url.rstrip("/") + EVENTS_PATH,
            data=body.encode(),
            headers={
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
                status, acknowledgment = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, acknowledgment = error.code, error.read().decode()
        if status == 200:
            arrived.wait(wait)
            # A command may send more than one reply; give the rest a moment.
            time.sleep(0.2)
        return Simulation(status, acknowledgment, list(replies))
    finally:
        server.shutdown()
        server.server_close()


def render(reply: dict[str, Any]) -> str:
    """Render a reply's Block Kit blocks as plain text, or its text when it has none."""
    blocks = reply.get("blocks") or []
    if not blocks:
        return str(reply.get("text") or "")
    lines: list[str] = []
    for block in blocks:
        if block.get("text"):
            lines.append(str(block["text"].get("text", "")))
        for item in block.get("fields") or []:
            lines.append(str(item.get("text", "")).replace("\n", ": ", 1))
        buttons = [e["text"]["text"] for e in block.get("elements") or [] if e.get("text")]
        if buttons:
            lines.append(" ".join(f"[{label}]" for label in buttons))
    return "\n".join(lines)
