"""Opt-out and opt-in by text: STOP and START act before any other flow, for any sender.

The program is decided by the number the customer texted
(``app.messaging.consent.programs_for_number``). The message tree::

    STOP, QUIT, … exactly      → opt out, cancel the pending question, empty reply
    STOP PLEASE, PARAR, stop.  → the same, and a reply that confirms it (logged)
    START, UNSTOP exactly      → opt in, empty reply
    COMENZAR, INICIAR, start!  → opt in, and a reply that confirms it
    YES exactly, opted out     → opt in as Twilio did, then YES goes on as an answer
    anything else, opted out   → no reply, except HELP (``is_suppressed``)

On long codes Twilio itself acts on a text that is exactly one of its keywords: it
blocks or unblocks the number and sends the carrier's confirmation, so our reply stays
empty. Twilio ignores any other text ("STOP PLEASE", Spanish words), so our policy treats
an opt-out word in it as a request to opt out and confirms it in a reply. Were Twilio to
block the number after all, it would drop that reply, so the customer never gets two.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.audit.service import record
from app.messaging.consent import is_opted_out, masked_phone, opt_in, opt_out, programs_for_number
from app.messaging.models import Program
from sms_flows import conversations, replies
from sms_flows.inbound import Text
from sms_flows.keywords import Keyword, classify, normalize_words

log = logging.getLogger(__name__)

#: Twilio's default opt-out keywords on long codes, acted on when they are the whole text.
TWILIO_OPT_OUT = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"}
)
#: Twilio's default opt-in keywords on long codes.
TWILIO_OPT_IN = frozenset({"start", "unstop", "yes"})


@dataclass(frozen=True)
class ConsentOutcome:
    """Whether the text was a consent keyword, and the reply (None for an empty response)."""

    handled: bool
    reply: str | None = None


NOT_CONSENT = ConsentOutcome(handled=False)


def handle_consent(session: Session, text: Text) -> ConsentOutcome:
    """Act on STOP, START and their variants; anything else is left to the other flows."""
    # Every opt-out and opt-in word belongs to one language, so the customer's language
    # (a database look-up) is not needed to classify them.
    classification = classify(text.body)
    exact = text.body.strip().casefold()
    programs = programs_for_number(text.to_number)
    if classification.keyword is Keyword.STOP:
        return _stop(session, text, programs, exact, classification.language)
    if classification.keyword is Keyword.START:
        opt_in(session, text.sender, programs, source=_source(text.body, exact, TWILIO_OPT_IN))
        if exact in TWILIO_OPT_IN:
            return ConsentOutcome(handled=True)
        return ConsentOutcome(True, _confirmation("opted_in", programs, classification.language))
    if exact == "yes":
        _mirror_twilio_opt_in(session, text, programs)
    return NOT_CONSENT


def _stop(
    session: Session, text: Text, programs: list[Program], exact: str, language: str
) -> ConsentOutcome:
    opt_out(session, text.sender, programs, source=_source(text.body, exact, TWILIO_OPT_OUT))
    canceled = conversations.cancel_pending(session, text.sender)
    if canceled:
        log.info("STOP from %s canceled a pending question", masked_phone(text.sender))
    if exact in TWILIO_OPT_OUT:
        return ConsentOutcome(handled=True)
    # Not a carrier keyword, so Twilio keeps delivering to this number: the opt-out is
    # ours by policy, and staff can see from the log and the audit that it was a request.
    words = normalize_words(text.body)
    log.warning(
        "text %s from %s read as a request to opt out (%d words, first %r)",
        text.message_sid,
        masked_phone(text.sender),
        len(words),
        words[0] if words else "",
    )
    record(
        session,
        actor=text.actor,
        action="sms.opt_out_request",
        outcome="done",
        arguments={"message_sid": text.message_sid, "programs": [p.value for p in programs]},
    )
    return ConsentOutcome(True, _confirmation("opted_out", programs, language))


def _mirror_twilio_opt_in(session: Session, text: Text, programs: list[Program]) -> None:
    """Record the opt-in Twilio made when an opted-out number texted YES.

    Otherwise our record would keep suppressing texts that Twilio delivers again.
    """
    opted_out = [p for p in programs if is_opted_out(session, text.sender, p)]
    if opted_out:
        opt_in(session, text.sender, opted_out, source="YES")


def _source(body: str, exact: str, twilio_words: frozenset[str]) -> str:
    """Name what changed the consent: the keyword, or the first word of a longer request.

    The rest of a request is the customer's own words, which the consent record keeps out.
    """
    if exact in twilio_words:
        return exact.upper()
    words = normalize_words(body)
    return f"request: {words[0].upper() if words else ''}"[:40]


def _confirmation(name: str, programs: list[Program], language: str) -> str:
    if programs == [Program.BILLING]:
        scope = "billing"
    elif programs == [Program.ALERTS]:
        scope = "alerts"
    else:
        scope = "all"
    return replies.render(name, language, scope=scope)


def is_suppressed(session: Session, text: Text) -> bool:
    """Whether a text from an opted-out sender gets no reply, because Twilio would block it.

    Our rule is to suppress a send before Twilio sees it. HELP still gets its answer, as
    carriers require; STOP, START and YES were handled before this by ``handle_consent``.
    """
    if classify(text.body).keyword is Keyword.HELP:
        return False
    programs = programs_for_number(text.to_number)
    if not any(is_opted_out(session, text.sender, program) for program in programs):
        return False
    log.info("text %s from opted-out %s gets no reply", text.message_sid, masked_phone(text.sender))
    return True
