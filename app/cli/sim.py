"""``upm sim``: play a channel's side of a conversation against a running app.

``upm sim sms PHONE TEXT`` posts a text the way Twilio's webhook does, signed with the
SDK's own scheme, and prints the reply. Other channels add a command to ``sim_app``.
"""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from urllib.parse import urlencode

import typer
from defusedxml import ElementTree
from twilio.request_validator import RequestValidator

from app.cli.sim_call import call_command
from app.cli.sim_modbus import modbus_meter_command
from app.cli.sim_outbound import last_outbound_id, print_new_outbound
from app.demo.channels import check_phone, demo_secret, twilio_signing_token
from app.demo.work_orders import DEMO_SLACK_TEAM, DEMO_SUPERVISOR
from app.settings import get_settings

sim_app = typer.Typer(
    help="Simulate a channel (crew texts) against a running upm app.", no_args_is_help=True
)

SMS_PATH = "/twilio/sms"

sim_app.command("call")(call_command)
sim_app.command("modbus-meter")(modbus_meter_command)


@sim_app.command("sms")
def sms_command(
    phone: str = typer.Argument(
        ..., help="Sender's phone number in E.164 form, +15550100777.", callback=check_phone
    ),
    text: str = typer.Argument(..., help="The text message, such as 'ACCEPT 1002'."),
    url: str = typer.Option(
        "http://127.0.0.1:8000", help="Base URL of the running app to post to."
    ),
    message_sid: str | None = typer.Option(
        None,
        help="MessageSid to send; a new random one by default (repeat one to test redelivery).",
    ),
    to: str | None = typer.Option(
        None, help="The number texted; default UPM_TWILIO_BILLING_NUMBER or the from-number."
    ),
    wait: float = typer.Option(
        2.0, min=0, help="Seconds to wait for texts the app queues to PHONE after the reply."
    ),
) -> None:
    """Post a signed inbound text to the app, print its reply and the texts it queued."""
    settings = get_settings()
    after_id = last_outbound_id(phone)
    auth_token = twilio_signing_token(settings.twilio_auth_token)
    form = {
        "MessageSid": message_sid or f"SM{uuid.uuid4().hex}",
        "AccountSid": settings.twilio_account_sid or "AC" + "0" * 32,
        "From": phone,
        "To": to or settings.billing_number or demo_secret("UPM_TWILIO_FROM_NUMBER"),
        "Body": text,
        "NumMedia": "0",
    }
    # The app checks the signature over its public URL, which may differ from --url
    # when it runs behind a proxy, so the signature uses the same setting.
    signed_url = settings.public_base_url.rstrip("/") + SMS_PATH
    signature = RequestValidator(auth_token).compute_signature(signed_url, form)
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own app
        url.rstrip("/") + SMS_PATH,
        data=urlencode(form).encode(),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    except urllib.error.URLError as error:
        typer.echo(
            f"could not reach {url}: {error.reason}; is `upm demo` or `upm serve` running?",
            err=True,
        )
        raise typer.Exit(1) from error

    if status != 200:
        typer.echo(f"HTTP {status}: {body}", err=True)
        raise typer.Exit(1)
    typer.echo(_reply_text(body))
    if after_id is not None:
        print_new_outbound(phone, after_id, wait)


@sim_app.command("slack")
def slack_command(
    line: str = typer.Argument(..., help="The slash command, such as '/upm account 100000017'."),
    user: str = typer.Option(
        DEMO_SUPERVISOR, help="Slack user id of the sender; default the demo's supervisor."
    ),
    team: str = typer.Option(DEMO_SLACK_TEAM, help="Slack team (workspace) id of the sender."),
    channel: str = typer.Option("CSIMULATOR", help="Slack channel id the command comes from."),
    url: str = typer.Option(
        "http://127.0.0.1:8000", help="Base URL of the running app to post to."
    ),
    wait: float = typer.Option(10.0, help="Seconds to wait for the reply after the ack."),
) -> None:
    """Post a signed /upm command to the app and print the reply it sends back."""
    from chatops.simulator import render, simulate

    secret = get_settings().slack_signing_secret
    if not secret:
        secret = demo_secret("UPM_SLACK_SIGNING_SECRET")
        typer.echo("UPM_SLACK_SIGNING_SECRET is unset: signing with the demo's secret", err=True)
    try:
        result = simulate(
            line, url=url, secret=secret, user=user, team=team, channel=channel, wait=wait
        )
    except urllib.error.URLError as error:
        typer.echo(
            f"could not reach {url}: {error.reason}; is `upm demo` or `upm serve` running?",
            err=True,
        )
        raise typer.Exit(1) from error
    if result.status != 200:
        typer.echo(f"HTTP {result.status}: {result.acknowledgment}", err=True)
        raise typer.Exit(1)
    if not result.replies:
        typer.echo(f"(no reply within {wait:g} s)")
    for reply in result.replies:
        typer.echo(render(reply))


def _reply_text(twiml: str) -> str:
    """Return the text of each <Message> in a TwiML response, or a note that it had none."""
    messages = [node.text or "" for node in ElementTree.fromstring(twiml).iter("Message")]
    return "\n".join(messages) if messages else "(no reply)"
