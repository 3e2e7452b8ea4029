"""Usage for charts (JSON) and the Green Button download (ESPI XML) of one account.

NOTE: like every /api route, these routes have no login yet, so anyone who can reach
the server can fetch any account's usage. They must move behind staff sign-in, or a
signed customer link as the portal uses for bills, before the server faces the public.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.accounts.service import get_account_by_number
from app.errors import InvalidInput
from app.i18n import format_date, translations
from app.meters.usage_series import (
    EXPORT_LIMITS,
    RANGE_LIMITS,
    Granularity,
    account_intervals,
    resolve_range,
    usage_series,
)
from app.settings import get_settings
from app.web.dependencies import get_session
from metering.greenbutton_export import ExportMeterReading, ExportUsagePoint, write_green_button

router = APIRouter()
SessionDep = Annotated[Session, Depends(get_session)]
StartQuery = Annotated[
    dt.date | None, Query(description="First local date (YYYY-MM-DD), included.")
]
EndQuery = Annotated[dt.date | None, Query(description="Last local date (YYYY-MM-DD), excluded.")]


class UsagePointOut(BaseModel):
    start: dt.datetime
    end: dt.datetime
    quantity: Decimal
    unit: str
    estimated: bool
    source: str
    meters: list[str]


class UsageSeriesOut(BaseModel):
    service: str
    unit: str | None
    points: list[UsagePointOut]


class UsageOut(BaseModel):
    account: str
    granularity: Granularity
    start: dt.date
    end: dt.date
    zone: str
    series: list[UsageSeriesOut]


@router.get("/api/accounts/{number}/usage", response_model=UsageOut)
def api_usage(
    number: str,
    session: SessionDep,
    granularity: Granularity = Granularity.DAILY,
    start: StartQuery = None,
    end: EndQuery = None,
    service: Annotated[
        str | None, Query(description="electric, gas or water; every metered service if absent.")
    ] = None,
) -> UsageOut:
    """Return the account's usage points per service, in the utility's local time."""
    settings = get_settings()
    account = get_account_by_number(session, number)
    span = resolve_range(start, end, today=settings.today(), limits=RANGE_LIMITS[granularity])
    zone = settings.zone
    series = usage_series(
        session, account, granularity=granularity, span=span, zone=zone, service=service
    )
    return UsageOut(
        account=account.number,
        granularity=granularity,
        start=span.start,
        end=span.end,
        zone=settings.timezone,
        series=[
            UsageSeriesOut(
                service=item.service,
                unit=item.unit,
                points=[
                    UsagePointOut(
                        start=point.start.astimezone(zone),
                        end=point.end.astimezone(zone),
                        quantity=_without_trailing_zeros(point.quantity),
                        unit=point.unit,
                        estimated=point.estimated,
                        source=str(point.source),
                        meters=list(point.meters),
                    )
                    for point in item.points
                ],
            )
            for item in series
        ],
    )


def _without_trailing_zeros(value: Decimal) -> Decimal:
    """Drop the zeros of the stored scale (77.963000 to 77.963) and keep plain notation."""
    return Decimal(f"{value.normalize():f}")


def green_button(
    number: str, session: SessionDep, start: StartQuery = None, end: EndQuery = None
) -> Response:
    """Return the account's interval usage as a Green Button Download My Data file."""
    settings = get_settings()
    account = get_account_by_number(session, number)
    span = resolve_range(start, end, today=settings.today(), limits=EXPORT_LIMITS)

    meters = account_intervals(session, account, span, settings.zone)
    if not meters:
        # The same code and status as the usage API's: the range or account has no
        # intervals, which the request can change, not a missing resource.
        raise InvalidInput(
            f"account {account.number} has no interval data between {span.start} and "
            f"{span.end}; pick another range, or use /api/accounts/{account.number}/usage "
            "for usage from register reads",
            code="usage_no_interval_data",
        )

    language = account.customer.language
    gettext = translations(language).gettext
    services = sorted({meter.service for meter in meters})
    usage_points = [
        ExportUsagePoint(
            title=_service_title(service, gettext),
            service=service,
            meter_readings=[
                ExportMeterReading(
                    gettext("Meter %(serial)s") % {"serial": meter.serial},
                    meter.unit,
                    meter.intervals,
                )
                for meter in meters
                if meter.service == service
            ],
        )
        for service in services
    ]
    title = gettext("%(utility)s usage from %(first_day)s to %(last_day)s") % {
        "utility": settings.utility_name,
        "first_day": format_date(span.start, language),
        "last_day": format_date(span.end - dt.timedelta(days=1), language),
    }
    content = write_green_button(
        usage_points,
        zone=settings.zone,
        retail_customer_id=str(account.id),
        title=title,
        generated_at=dt.datetime.now(dt.UTC),
    )

    # The file name keeps only the account's last four digits, like every text we print.
    filename = f"greenbutton-{account.number[-4:]}-{span.start}-{span.end}.xml"
    return Response(
        content,
        media_type="application/atom+xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _service_title(service: str, gettext: Callable[[str], str]) -> str:
    titles = {
        "electric": gettext("Electric service"),
        "gas": gettext("Gas service"),
        "water": gettext("Water service"),
    }
    return titles[service]


router.add_api_route(
    "/accounts/{number}/greenbutton",
    green_button,
    methods=["GET"],
    response_class=Response,
    summary="Green Button download (ESPI Atom XML)",
)
router.add_api_route(
    "/api/accounts/{number}/greenbutton",
    green_button,
    methods=["GET"],
    response_class=Response,
    summary="Green Button download (ESPI Atom XML)",
)
