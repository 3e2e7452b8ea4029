"""E-mail to customers: stored in the deciding transaction, sent over SMTP after commit.

A template under ``templates/email/{kind}.txt`` renders in the customer's language
through the message catalogs. Its first line is ``Subject: …``, then a blank line, then
the plain-text body. Each e-mail is a row of ``email_messages`` keyed by the caller's
key plus the contact id, so the same decision twice sends one e-mail.

``UPM_SMTP_URL`` names the server: ``smtp://host:port`` (plain, as a local relay
takes it), ``smtp://host:port?starttls=1``, or ``smtps://host:port`` for implicit TLS,
each with an optional ``user:password@``. Unset, e-mails are stored with the status
``not_configured`` and logged, and nothing is sent.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage
from email.utils import formataddr, make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from celery import shared_task
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account, Contact, ContactKind, Customer
from app.db import insert_ignoring_duplicates, session_scope, utcnow
from app.i18n import jinja_environment, normalize_language
from app.messaging.after_commit import apply_after_commit
from app.messaging.alerts import display_phone
from app.messaging.email_models import EmailMessage
from app.settings import get_settings

log = logging.getLogger(__name__)

SEND_EMAIL_TASK = "messaging.send_email"

QUEUED = "queued"
SENT = "sent"
FAILED = "failed"
NOT_CONFIGURED = "not_configured"

#: Seconds to wait for the SMTP server to respond before the send fails.
SMTP_TIMEOUT = 30


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str


def render_email(template: str, language: str, **values: Any) -> RenderedEmail:
    """Render ``templates/email/{template}.txt`` in ``language`` into a subject and body."""
    settings = get_settings()
    values.setdefault("utility", settings.utility_name)
    values.setdefault("phone", display_phone(settings.office_phone))
    text = jinja_environment(language).get_template(f"email/{template}.txt").render(**values)
    first, _, rest = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(
            f"templates/email/{template}.txt must start with a 'Subject: …' line, "
            f"not {first[:40]!r}"
        )
    return RenderedEmail(first.removeprefix("Subject:").strip(), rest.strip() + "\n")


def verified_emails(session: Session, account_id: int) -> tuple[str, list[tuple[int, str]]]:
    """Return the account holder's language and the (contact id, address) of each
    verified e-mail contact of the account."""
    language = session.scalar(
        select(Customer.language)
        .join(Account, Account.customer_id == Customer.id)
        .where(Account.id == account_id)
    )
    rows = session.execute(
        select(Contact.id, Contact.value)
        .where(
            Contact.account_id == account_id,
            Contact.kind == ContactKind.EMAIL,
            Contact.verified.is_(True),
        )
        .order_by(Contact.id)
    ).all()
    return normalize_language(language), [(contact_id, address) for contact_id, address in rows]


def email_account(
    session: Session, *, account_id: int, template: str, key: str, **values: Any
) -> list[EmailMessage]:
    """Queue ``template`` to every verified e-mail address of an account; return the rows.

    Each row is keyed ``{key}:{contact id}``. An account with no verified address gets
    nothing, which the log records.
    """
    language, addresses = verified_emails(session, account_id)
    if not addresses:
        log.info("%s for account %s not e-mailed: no verified e-mail address", template, account_id)
        return []
    rendered = render_email(template, language, **values)
    keys = [f"{key}:{contact_id}" for contact_id, _ in addresses]
    insert_ignoring_duplicates(
        session,
        EmailMessage,
        [
            {
                "idempotency_key": row_key,
                "account_id": account_id,
                "kind": template,
                "language": language,
                "to_address": address,
                "subject": rendered.subject,
                "body": rendered.body,
                "status": QUEUED,
                "attempts": 0,
                "created_at": utcnow(),
            }
            for row_key, (_, address) in zip(keys, addresses, strict=True)
        ],
        ["idempotency_key"],
    )
    emails = list(
        session.scalars(select(EmailMessage).where(EmailMessage.idempotency_key.in_(keys)))
    )
    for email in emails:
        if email.status == QUEUED:
            apply_after_commit(session, SEND_EMAIL_TASK, [email.id])
    return emails


@shared_task(name=SEND_EMAIL_TASK)
def send_email(email_id: int) -> str:
    """Send one queued e-mail over SMTP; return its status afterwards.

    An e-mail that is no longer queued is left alone, so a repeated task sends nothing.
    """
    settings = get_settings()
    with session_scope() as session:
        email = session.scalar(
            select(EmailMessage).where(EmailMessage.id == email_id).with_for_update()
        )
        if email is None:
            log.warning("e-mail %s not found; nothing sent", email_id)
            return "missing"
        if email.status != QUEUED:
            return email.status
        if not settings.smtp_url:
            email.status = NOT_CONFIGURED
            log.info("e-mail %s (%s) not sent: UPM_SMTP_URL is not set", email.id, email.kind)
            return email.status
        email.attempts += 1
        message = _mime_message(email, settings.smtp_from, settings.utility_name)
        try:
            _deliver(settings.smtp_url, message)
        except (smtplib.SMTPException, OSError) as error:
            # NOTE: nothing retries a failed e-mail yet; the row keeps the error for review.
            email.status = FAILED
            email.error = f"{type(error).__name__}: {error}"[:200]
            log.error("e-mail %s to account %s failed: %r", email.id, email.account_id, error)
            return email.status
        email.status = SENT
        email.sent_at = utcnow()
        log.info("e-mail %s (%s) sent for account %s", email.id, email.kind, email.account_id)
        return email.status


def _mime_message(email: EmailMessage, sender: str, sender_name: str) -> MimeMessage:
    message = MimeMessage()
    message["From"] = formataddr((sender_name, sender))
    message["To"] = email.to_address
    message["Subject"] = email.subject
    domain = sender.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(idstring=f"upm-email-{email.id}", domain=domain)
    message.set_content(email.body)
    # After set_content, which replaces every Content-* header.
    message["Content-Language"] = email.language
    return message


def _deliver(smtp_url: str, message: MimeMessage) -> None:
    """Send ``message`` to the server that ``smtp_url`` names."""
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise smtplib.SMTPException(
            f"UPM_SMTP_URL scheme {parts.scheme!r} is invalid; use smtp://host:port or "
            "smtps://host:port"
        )
    options = parse_qs(parts.query)
    client: smtplib.SMTP
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            parts.hostname,
            parts.port or 465,
            timeout=SMTP_TIMEOUT,
            context=ssl.create_default_context(),
        )
    else:
        client = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=SMTP_TIMEOUT)
    with client:
        if options.get("starttls") == ["1"]:
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)
