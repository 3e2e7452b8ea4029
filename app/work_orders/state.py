"""The work-order state machine: which moves exist and who may make them.

new → ready → scheduled → dispatched → in progress ⇄ on hold → completed → closed.
An order the crew cannot complete (no access, a dog, a locked gate) goes back to
scheduled as a return trip. Any order may be canceled before it is completed, and only a
supervisor reopens a completed one.
"""

from __future__ import annotations

from app.errors import Conflict
from app.work_orders.models import StaffRole, WorkOrder, WorkOrderStatus

S = WorkOrderStatus

ALLOWED: dict[WorkOrderStatus, frozenset[WorkOrderStatus]] = {
    S.NEW: frozenset({S.READY, S.CANCELED}),
    S.READY: frozenset({S.SCHEDULED, S.CANCELED}),
    S.SCHEDULED: frozenset({S.DISPATCHED, S.CANCELED}),
    S.DISPATCHED: frozenset({S.IN_PROGRESS, S.SCHEDULED, S.CANCELED}),
    S.IN_PROGRESS: frozenset({S.ON_HOLD, S.COMPLETED, S.SCHEDULED, S.CANCELED}),
    S.ON_HOLD: frozenset({S.IN_PROGRESS, S.CANCELED}),
    S.COMPLETED: frozenset({S.CLOSED, S.IN_PROGRESS}),
    S.CLOSED: frozenset(),
    S.CANCELED: frozenset(),
}

#: Moves only some roles may make; every other move is open to any staff role.
RESTRICTED: dict[tuple[WorkOrderStatus, WorkOrderStatus], frozenset[StaffRole]] = {
    (S.COMPLETED, S.IN_PROGRESS): frozenset({StaffRole.SUPERVISOR}),
    (S.COMPLETED, S.CLOSED): frozenset({StaffRole.SUPERVISOR, StaffRole.CLERK}),
}


def check_move(order: WorkOrder, to: WorkOrderStatus, role: StaffRole) -> None:
    """Raise a conflict naming the order's state unless ``role`` may move it to ``to``."""
    if to not in ALLOWED[order.status]:
        raise Conflict(
            f"work order {order.number} is {order.status.value.replace('_', ' ')}; it "
            f"cannot become {to.value.replace('_', ' ')}",
            code="work_order_transition_invalid",
        )
    allowed_roles = RESTRICTED.get((order.status, to))
    if allowed_roles is not None and role not in allowed_roles:
        names = " or ".join(sorted(r.value.replace("_", " ") for r in allowed_roles))
        raise Conflict(
            f"only a {names} may move work order {order.number} from "
            f"{order.status.value.replace('_', ' ')} to {to.value.replace('_', ' ')}",
            code="work_order_role_denied",
        )
