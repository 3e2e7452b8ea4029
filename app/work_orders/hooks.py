"""Completion hooks: what completing each type of work order changes outside the order.

``service.complete`` runs the hooks of the order's type before it moves the order to
completed, so every channel (crew texts, Slack, the pages) gets them. A hook checks
everything before it changes anything, and raises ``DomainError`` to reject the
completion. It never commits: the caller's transaction holds the order and the hook's
changes together.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from app.settings import get_settings
from app.work_orders.models import WorkOrder, WorkOrderType

if TYPE_CHECKING:
    from app.work_orders.service import Actor


@dataclass(frozen=True)
class Completion:
    """What a completion carries to its hooks: the checked capture, when, and by whom."""

    capture: dict[str, Any]
    completed_at: dt.datetime
    actor: Actor

    @property
    def local_date(self) -> dt.date:
        """The utility's local calendar date of the completion, the date reads are filed on."""
        return self.completed_at.astimezone(get_settings().zone).date()


CompletionHook = Callable[[Session, WorkOrder, Completion], None]

_HOOKS: dict[WorkOrderType, list[CompletionHook]] = defaultdict(list)
_loaded = False


def on_complete(*types: WorkOrderType) -> Callable[[CompletionHook], CompletionHook]:
    """Register the decorated function as a completion hook of ``types``."""

    def register(hook: CompletionHook) -> CompletionHook:
        for order_type in types:
            if hook not in _HOOKS[order_type]:
                _HOOKS[order_type].append(hook)
        return hook

    return register


def hooks_for(order_type: WorkOrderType) -> list[CompletionHook]:
    _load_hook_modules()
    return list(_HOOKS[order_type])


def run_completion_hooks(session: Session, order: WorkOrder, completion: Completion) -> None:
    for hook in hooks_for(order.type):
        hook(session, order, completion)


def _load_hook_modules() -> None:
    """Import the modules that register hooks, once, on first use.

    They import ``service``, which imports this module, so they cannot be imported at
    the top of it.
    """
    global _loaded
    if _loaded:
        return
    import app.work_orders.automation  # noqa: F401 - registers its hooks on import

    _loaded = True
