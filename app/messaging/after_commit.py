"""Celery tasks queued by a transaction, sent only once that transaction commits.

A task queued inside a transaction that then rolls back would send a text about a
decision that never happened, and a task sent before the commit could run before its
rows are visible. So the session collects the calls and sends them from its
``after_commit`` event; the outer transaction's rollback drops them.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: The session.info key of the pending calls: (task name, args, eta).
_PENDING = "messaging_tasks_after_commit"
_LISTENING = "messaging_tasks_listening"


def apply_after_commit(
    session: Session, task_name: str, args: list[Any], *, eta: dt.datetime | None = None
) -> None:
    """Send the Celery task ``task_name`` with ``args`` once the session commits.

    The same task with the same arguments and ETA is sent once per transaction.
    """
    if not session.info.get(_LISTENING):
        # The listeners stay for the session's life, and each commit clears the list.
        event.listen(session, "after_commit", _on_commit)
        event.listen(session, "after_soft_rollback", _on_rollback)
        session.info[_LISTENING] = True
    pending = session.info.setdefault(_PENDING, [])
    if (task_name, args, eta) not in pending:
        pending.append((task_name, args, eta))


def _on_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        # SQLAlchemy 2.1 also fires after_commit when a savepoint is released, before the
        # outer transaction has committed, so the tasks wait for the outer commit.
        return
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    # The task is looked up on upm's Celery app, which runs it eagerly without Redis
    # and sends it to the broker with it.
    from app.celery_app import celery_app

    if any(task_name not in celery_app.tasks for task_name, _, _ in pending):
        # The web app and commands do not import every task module; the include list does.
        celery_app.loader.import_default_modules()
    for task_name, args, eta in pending:
        try:
            celery_app.tasks[task_name].apply_async(args, eta=eta)
        except (KombuOperationalError, OSError) as error:
            # The transaction has committed, so raising would only hide that. Beat's sweep
            # sends a lost text; a lost bill-ready task is run again from this log line.
            log.error("task %s%s not sent to the broker: %r", task_name, args, error)


def _on_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        # Only the outer transaction counts; a savepoint's rollback leaves it pending.
        session.info.pop(_PENDING, None)
