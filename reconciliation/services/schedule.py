"""The nightly reconciliation: after the statement feeds synced, every active
merchant's open month is run again by a task of its own."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from core.periods import date_parse
from merchants.models import Merchant
from reconciliation.services.runs import reconciliation_run_start

logger = logging.getLogger("tonle.reconciliation")

LOOK_BACK_INTO_LAST_MONTH_DAYS = 7


def nightly_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """This month so far; in its first week, from the first of last month (late
    lines of last month still arrive then)."""
    start = today.replace(day=1)
    if today.day <= LOOK_BACK_INTO_LAST_MONTH_DAYS:
        start = (start - dt.timedelta(days=1)).replace(day=1)
    return start, today


def reconciliation_nightly_enqueue(*, today: dt.date | None = None) -> list[int]:
    """Enqueue one run per active merchant; returns their ids."""
    from reconciliation.tasks import reconcile_merchant

    date_from, date_to = nightly_period(today or timezone.localdate())
    ids = list(
        Merchant.objects.filter(is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for merchant_id in ids:
        reconcile_merchant.delay(merchant_id, str(date_from), str(date_to))
    logger.info("reconciliation.nightly.enqueued", extra={"merchants": len(ids)})
    return ids


def reconciliation_run_for_merchant(
    *, merchant_id: int, date_from: str, date_to: str
) -> None:
    """One scheduled run; a merchant that vanished or was deactivated is skipped."""
    merchant = Merchant.objects.filter(pk=merchant_id, is_active=True).first()
    if merchant is None:
        logger.info("reconciliation.run.skipped", extra={"merchant": merchant_id})
        return
    reconciliation_run_start(
        merchant=merchant,
        date_from=date_parse(date_from, field="from"),
        date_to=date_parse(date_to, field="to"),
        trigger="task",
    )
