"""Creating and opening links to one bill, for a customer who asked by text or phone."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing.models import Bill
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.i18n import normalize_language
from app.portal.models import BillLink
from app.settings import get_settings

log = logging.getLogger(__name__)


def create_bill_link(
    session: Session,
    *,
    bill: Bill,
    language: str,
    created_by: str,
    now: dt.datetime | None = None,
) -> str:
    """Create a link that opens ``bill`` in ``language``; return its URL.

    The URL is the only copy of the token, so call this once per request (an inbound
    event claimed once) and send the URL straight away.
    """
    token = secrets.token_urlsafe(24)
    created = now or utcnow()
    link = BillLink(
        token_digest=token_digest(token),
        bill_id=bill.id,
        language=normalize_language(language),
        created_by=created_by[:80],
        created_at=created,
        expires_at=created + dt.timedelta(hours=get_settings().bill_link_hours),
    )
    session.add(link)
    session.flush()
    log.info("bill link %s created for bill %s by %s", link.id, bill.id, created_by)
    return f"{get_settings().public_base_url.rstrip('/')}/bill/{token}"


def open_bill_link(session: Session, token: str, *, now: dt.datetime | None = None) -> BillLink:
    """Return the live link for ``token``.

    Raises NotFound for an unknown token and Conflict for an expired one.
    """
    link = session.scalar(select(BillLink).where(BillLink.token_digest == token_digest(token)))
    if link is None:
        raise NotFound("this bill link is not valid", code="bill_link_not_found")
    if link.expires_at <= (now or utcnow()):
        raise Conflict(
            "this bill link has expired; text BILL for a new one", code="bill_link_expired"
        )
    return link


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
