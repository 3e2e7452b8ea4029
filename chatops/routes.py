"""``POST /slack/events``: Bolt in HTTP mode behind FastAPI.

Bolt verifies the signing secret and rejects a timestamp more than five minutes old
before any listener runs. Listeners call ``ack()`` first, then do their work on Bolt's
listener threads, so Slack gets its response within three seconds.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.fastapi import SlackRequestHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from starlette.concurrency import run_in_threadpool

from app.settings import Settings, get_settings
from chatops.approvals import DECISIONS
from chatops.handlers import handle_command, handle_decision

log = logging.getLogger(__name__)



def build_bolt_app(settings: Settings) -> App:
    """Create the Bolt app with the ``/upm`` command and the approval buttons."""
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_base)
    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        # The bot works in one workspace with one token, so it needs nothing from Slack's
        # auth.test: Bolt's default would call it on the first request, which fails in
        # the demo and the tests, where no Slack is reachable. Who may act is decided
        # from the Staff table, not from Slack's answer.
        return AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=settings.slack_bot_token
        )

    bolt = App(
        signing_secret=settings.slack_signing_secret,
        client=client,
        authorize=authorize,
    )

    @bolt.command("/upm")
    def upm_command(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        handle_command(body, respond, client)

    @bolt.action(re.compile("^(" + "|".join(DECISIONS) + ")$"))
    def approval_button(
        ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        ack()
        handle_decision(body, respond, client)

    return bolt


def build_router() -> APIRouter:
    """Return the router of ``/slack/events``; it returns 503 until Slack is configured."""
    settings = get_settings()
    router = APIRouter(include_in_schema=False)
    handler: SlackRequestHandler | None = None
    if settings.slack_signing_secret and settings.slack_bot_token:
        handler = SlackRequestHandler(build_bolt_app(settings))

    @router.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        if handler is None:
            return JSONResponse(
                {
                    "code": "slack_not_configured",
                    "message": "the Slack bot is off; set UPM_SLACK_SIGNING_SECRET and "
                    "UPM_SLACK_BOT_TOKEN",
                },
                status_code=503,
            )
        # The adapter's own handle() calls Bolt synchronously on the event loop. This
        # runs the same dispatch on a worker thread, so a slow request blocks no other.
        body = await request.body()
        bolt_response = await run_in_threadpool(
            handler.app.dispatch, to_bolt_request(request, body)
        )
        return to_starlette_response(bolt_response)

    return router
