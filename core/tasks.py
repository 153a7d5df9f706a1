"""Celery tasks of the shared kernel, and sending tasks without letting a broker
outage undo committed work.

The database row already says the work is due (a payment's next_check_at, a
delivery's next attempt, a queued pack), and a periodic sweeper re-sends whatever
is overdue. So a send that fails because the broker is down is logged and left to
the sweeper: the request that committed the row still answers as it should.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import shared_task
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger("tonle.tasks")

# What a send raises when the broker, not the task, is at fault: kombu wraps
# connection and channel errors as OperationalError; the rest are the socket's or
# (filesystem broker) the folder's own.
BROKER_ERRORS: tuple[type[BaseException], ...] = (OperationalError, OSError)


def enqueue(task: Any, *args: Any, **options: Any) -> bool:
    """Send `task(*args)` now (apply_async options allowed); False, logged as
    `tasks.enqueue_failed`, when the broker cannot take it."""
    if task.app.conf.task_always_eager:
        # no broker in eager mode: the task runs here, and its errors are its own
        task.apply_async(args, **options)
        return True
    try:
        task.apply_async(args, **options)
    except BROKER_ERRORS as exc:
        logger.error(
            "tasks.enqueue_failed",
            extra={"task": task.name, "task_args": list(args), "error": repr(exc)},
        )
        return False
    return True


def enqueue_on_commit(task: Any, *args: Any, **options: Any) -> None:
    """Send `task(*args)` once the current transaction commits (at once outside
    one); a broker failure then is logged and left to the sweeper."""
    transaction.on_commit(partial(enqueue, task, *args, **options))


@shared_task(name="core.beat_tick", ignore_result=True)
def beat_tick() -> None:
    """Stamp the beat's last tick for /readyz (idempotent: a later stamp wins)."""
    from core.heartbeat import beat_tick_record

    beat_tick_record()
