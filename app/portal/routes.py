"""The customer's bill page at ``/bill/<token>``: read-only, no login, no staff data.

It shows what the paper bill shows (period, dates, meter reads, charges, total) and the
account number masked to its last 4 digits. The ledger, payments, staff names and
internal ids stay on the staff pages.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Annotated, Any

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.billing.models import Bill
from app.errors import DomainError
from app.i18n import BABEL_LOCALES, jinja_environment, normalize_language
from app.portal.bill_links import open_bill_link
from app.premises.models import Premise, ServiceAgreement
from app.settings import get_settings
from app.web.dependencies import get_session
from app.web.formatting import last_day

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(get_session)]


@router.get("/bill/{token}", response_class=HTMLResponse)
def bill_page(token: str, session: SessionDep, lang: str | None = None) -> HTMLResponse:
    """Show the bill a link opens, in ``lang`` when given, else in the link's language."""
    try:
        link = open_bill_link(session, token)
    except DomainError as error:
        log.info("bill page not shown: %s", error.code)
        return _render(
            "bill/unavailable.html",
            normalize_language(lang),
            status_code=error.http_status,
            code=error.code,
        )
    bill = session.get_one(Bill, link.bill_id)
    account = session.get_one(Account, bill.account_id)
    return _render(
        "bill/bill.html",
        normalize_language(lang or link.language),
        bill=bill,
        # Billing periods are half-open, so the page shows the day before the end.
        period_last_day=last_day(bill.period_end),
        account_last4=account.number[-4:],
        addresses=_service_addresses(session, bill),
    )


def _service_addresses(session: Session, bill: Bill) -> list[str]:
    """Return the addresses of the premises the bill's lines charge for."""
    agreement_ids = {line.service_agreement_id for line in bill.lines}
    premises = session.scalars(
        select(Premise)
        .join(ServiceAgreement, ServiceAgreement.premise_id == Premise.id)
        .where(ServiceAgreement.id.in_(agreement_ids))
        .distinct()
        .order_by(Premise.id)
    )
    return [f"{p.address}, {p.city} {p.state} {p.zip_code}" for p in premises]


def _render(
    template: str, language: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    locale = BABEL_LOCALES[language]

    def quantity(value: Decimal) -> str:
        return format_decimal(value.normalize(), locale=locale)

    page = jinja_environment(language).get_template(template)
    html = page.render(utility_name=get_settings().utility_name, quantity=quantity, **context)
    return HTMLResponse(html, status_code=status_code, headers=_PRIVATE)


#: The page contains a customer's bill, so no proxy may cache it and no referrer may carry
#: the token to another site.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
