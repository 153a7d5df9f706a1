"""A task only the two-worker tests' workers load (`--include`): it records each
attempt and, once, its effect, in tables the test makes. Never imported by the
test process, so the app's own task list stays Tonle's."""

from __future__ import annotations

import os
import time

from celery import shared_task
from django.db import connection

FLAG_DEADLINE_SECONDS = 90


def _released(job: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM e2e_release WHERE job = %s", [job])
        return cursor.fetchone() is not None


@shared_task(name="e2e.record_once", bind=True, acks_late=True, ignore_result=True)
def record_once(self, job: str, hold_seconds: float = 0.0, wait: bool = False):
    """Record this attempt (job, worker, process); hold a moment, or until the
    test releases the job; then do the job's effect once (a replay is a no-op)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO e2e_attempt (job, hostname, pid) VALUES (%s, %s, %s)",
            [job, self.request.hostname, os.getpid()],
        )
    deadline = time.monotonic() + FLAG_DEADLINE_SECONDS
    while wait and not _released(job):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{job} was never released")
        time.sleep(0.05)
    time.sleep(hold_seconds)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO e2e_effect (job, hostname) VALUES (%s, %s) "
            "ON CONFLICT (job) DO NOTHING",
            [job, self.request.hostname],
        )
