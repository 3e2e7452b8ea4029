"""Opt-out and opt-in per program, decided by the number a customer texted.

Carriers apply STOP to the number that received it, so STOP to the alerts number opts out
of alerts only, and STOP to the billing number opts out of billing texts only. When one
number serves both programs, STOP to it opts out of both.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db import insert_ignoring_duplicates, utcnow
from app.messaging.models import Program, SmsConsent
from app.settings import get_settings

log = logging.getLogger(__name__)


def programs_for_number(to_number: str | None) -> list[Program]:
    """Return the programs a text to one of our numbers is about.

    A number that is neither the billing nor the alerts number (or both) covers both.
    """
    settings = get_settings()
    billing, alerts = settings.billing_number, settings.alerts_number
    if to_number and billing != alerts:
        if to_number == alerts:
            return [Program.ALERTS]
        if to_number == billing:
            return [Program.BILLING]
    return [Program.BILLING, Program.ALERTS]


def is_opted_out(session: Session, phone: str, program: Program) -> bool:
    """Return True when ``phone`` opted out of ``program``."""
    found = session.scalar(
        select(SmsConsent.opted_out).where(SmsConsent.phone == phone, SmsConsent.program == program)
    )
    return bool(found)


def opt_out(session: Session, phone: str, programs: list[Program], *, source: str) -> None:
    """Record that ``phone`` takes no more texts of ``programs``."""
    _set(session, phone, programs, opted_out=True, source=source)


def opt_in(session: Session, phone: str, programs: list[Program], *, source: str) -> None:
    """Record that ``phone`` takes texts of ``programs`` again."""
    _set(session, phone, programs, opted_out=False, source=source)


def _set(
    session: Session, phone: str, programs: list[Program], *, opted_out: bool, source: str
) -> None:
    now = utcnow()
    for program in programs:
        # Insert-or-ignore first, then update under the row lock, so two texts at once
        # from the same number leave one row and the later decision.
        insert_ignoring_duplicates(
            session,
            SmsConsent,
            [
                {
                    "phone": phone,
                    "program": program,
                    "opted_out": opted_out,
                    "source": source,
                    "changed_at": now,
                }
            ],
            ["phone", "program"],
        )
        consent = session.scalars(
            select(SmsConsent)
            .where(SmsConsent.phone == phone, SmsConsent.program == program)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        consent.opted_out = opted_out
        consent.source = source
        consent.changed_at = now
    action = "sms.opt_out" if opted_out else "sms.opt_in"
    record(
        session,
        actor=f"sms:{masked_phone(phone)}",
        action=action,
        outcome="done",
        arguments={"programs": [p.value for p in programs], "source": source},
    )
    log.info(
        "%s for %s: %s (%s)",
        action,
        masked_phone(phone),
        ",".join(p.value for p in programs),
        source,
    )


def masked_phone(phone: str) -> str:
    """Keep the last four digits of a phone number for logs and the audit log."""
    return "…" + phone[-4:] if len(phone) > 4 else "…"
