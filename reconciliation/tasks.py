"""Celery tasks for reconciliation: thin wrappers, ids in, one service each."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="reconciliation.reconcile_merchant",
    bind=True,
    acks_late=True,
    ignore_result=True,
    soft_time_limit=1800,
    time_limit=1900,
)
def reconcile_merchant(self, merchant_id: int, date_from: str, date_to: str) -> None:
    """One merchant's period; a repeated message re-runs it (a run is safe to
    repeat: it replaces only what the engine decided)."""
    from reconciliation.services.schedule import reconciliation_run_for_merchant

    reconciliation_run_for_merchant(
        merchant_id=merchant_id, date_from=date_from, date_to=date_to
    )


@shared_task(
    name="reconciliation.reconcile_nightly",
    bind=True,
    acks_late=True,
    ignore_result=True,
)
def reconcile_nightly(self) -> None:
    """After the night's statement sync: each merchant's month so far (and the
    month before, in the first days of a month) is reconciled."""
    from reconciliation.services.schedule import reconciliation_nightly_enqueue

    reconciliation_nightly_enqueue()
