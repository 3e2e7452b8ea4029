"""What a completion must capture, and how a field reading is checked."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.work_orders import service
from app.work_orders.models import WorkOrderStatus, WorkOrderType
from app.work_orders.service import Actor
from tests.work_orders.test_work_order_life import in_progress, world  # noqa: F401

S = WorkOrderStatus


@pytest.mark.parametrize(
    ("read", "code"),
    [
        ("45x2", "reading_not_digits"),
        ("1234567", "reading_too_many_digits"),
        ("003999", "reading_below_last"),
        ("", "completion_incomplete"),
    ],
)
def test_bad_readings_rejected(
    session: Session, world: dict[str, object], read: str, code: str  # noqa: F811
) -> None:
    order = in_progress(session, world)
    with pytest.raises(InvalidInput) as raised:
        service.complete(session, order, capture={"read": read},
                         actor=Actor("tech", world["tech"]))  # type: ignore[arg-type]
    assert raised.value.code == code
    assert order.status == S.IN_PROGRESS


def test_rollover_confirmed_is_accepted(session: Session, world: dict[str, object]  # noqa: F811
                                        ) -> None:
    order = in_progress(session, world)
    service.complete(session, order, capture={"read": "000012", "rollover": True},
                     actor=Actor("tech", world["tech"]))  # type: ignore[arg-type]
    assert order.completion == {"read": "12", "rollover": True}


def test_changeout_needs_both_meters(session: Session, world: dict[str, object]  # noqa: F811
                                     ) -> None:
    order = in_progress(session, world)
    order.type = WorkOrderType.METER_CHANGEOUT
    with pytest.raises(InvalidInput) as raised:
        service.complete(session, order, capture={"old_serial": "W-100", "old_read": "4100"},
                         actor=Actor("tech", world["tech"]))  # type: ignore[arg-type]
    assert raised.value.code == "completion_incomplete"
    assert "new_serial, new_read" in raised.value.message
