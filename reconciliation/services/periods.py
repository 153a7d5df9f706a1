"""Month sign-off: an owner or accountant closes a month once its exceptions are
resolved or explicitly carried forward; its matches are then locked (for people
and for the engine) until an owner reopens it with a reason. Both are logged."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Min
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.exceptions import Conflict, InvalidInput, NotFound
from merchants.models import Merchant
from merchants.services import audit_event_record
from reconciliation.models import (
    ExceptionStatus,
    Match,
    MatchStatus,
    PeriodSignOff,
    ReconciliationException,
)
from reconciliation.services.review import month_label


def month_parse(value: str | dt.date, *, field: str = "month") -> dt.date:
    """'2026-11' (or any day of it) as the first day of the month."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = (value or "").strip()
    try:
        if len(text) == 7:
            return dt.date.fromisoformat(f"{text}-01")
        return dt.date.fromisoformat(text).replace(day=1)
    except ValueError:
        raise InvalidInput(
            f"{field}: {value!r} is not a month (use YYYY-MM)", field=field
        ) from None


def month_end(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(
        days=1
    )


@dataclass(frozen=True)
class MonthState:
    """What stands between a month and its sign-off."""

    month: dt.date
    open_exceptions: int
    carried: int
    proposals: int
    confirmed: int
    automatic: int
    oldest_open: dt.date | None
    sign_off: PeriodSignOff | None
    ended: bool = True

    @property
    def label(self) -> str:
        return month_label(self.month)

    @property
    def is_signed(self) -> bool:
        return self.sign_off is not None


def month_state(*, merchant: Merchant, month: dt.date) -> MonthState:
    """A month's counts for the sign-off page (a few aggregate queries)."""
    month = month.replace(day=1)
    last = month_end(month)
    exceptions = (
        ReconciliationException.objects.for_merchant(merchant)
        .filter(day__gte=month, day__lte=last)
        .values("status")
        .annotate(n=Count("pk"), oldest=Min("day"))
        .order_by()
    )
    by_status = {row["status"]: row for row in exceptions}
    matches = dict(
        Match.objects.for_merchant(merchant)
        .filter(day__gte=month, day__lte=last)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    sign_off = (
        PeriodSignOff.objects.for_merchant(merchant)
        .filter(month=month, reopened_at__isnull=True)
        .select_related("signed_by")
        .first()
    )
    open_row = by_status.get(ExceptionStatus.OPEN, {})
    return MonthState(
        month=month,
        open_exceptions=open_row.get("n", 0),
        carried=by_status.get(ExceptionStatus.CARRIED, {}).get("n", 0),
        proposals=matches.get(MatchStatus.PROPOSED, 0),
        confirmed=matches.get(MatchStatus.CONFIRMED, 0),
        automatic=matches.get(MatchStatus.AUTO, 0),
        oldest_open=open_row.get("oldest"),
        sign_off=sign_off,
        ended=last < timezone.localdate(),
    )


@transaction.atomic
def period_sign_off(
    *,
    merchant: Merchant,
    month: dt.date,
    actor: Any,
    note: str = "",
    carry_forward: bool = False,
) -> PeriodSignOff:
    """Sign a month off. Refused while it has open exceptions, unless
    `carry_forward` marks them carried (they stay to be resolved later). Its
    matches are locked from then on."""
    month = month_parse(month)
    last = month_end(month)
    if last >= timezone.localdate():
        raise InvalidInput(
            f"month: {month_label(month)} has not ended yet", field="month"
        )
    if (
        PeriodSignOff.objects.for_merchant(merchant)
        .filter(month=month, reopened_at__isnull=True)
        .exists()
    ):
        raise Conflict(f"{month_label(month)} is already signed off")
    still_open = ReconciliationException.objects.for_merchant(merchant).filter(
        status=ExceptionStatus.OPEN, day__gte=month, day__lte=last
    )
    carried = 0
    if carry_forward:
        carried = still_open.update(status=ExceptionStatus.CARRIED)
    else:
        count = still_open.count()
        if count:
            raise Conflict(
                f"{month_label(month)} has {count} open exception"
                f"{'s' if count != 1 else ''}: resolve them, or carry them forward"
            )
    proposals = (
        Match.objects.for_merchant(merchant)
        .filter(status=MatchStatus.PROPOSED, day__gte=month, day__lte=last)
        .count()
    )
    try:
        with transaction.atomic():
            sign_off = PeriodSignOff.objects.create(
                merchant=merchant,
                month=month,
                signed_by=actor if getattr(actor, "is_authenticated", False) else None,
                signed_at=timezone.now(),
                note=note.strip(),
                carried_forward=carried,
            )
    except IntegrityError:
        raise Conflict(f"{month_label(month)} was signed off meanwhile") from None
    audit_event_record(
        merchant=merchant,
        action="reconciliation.period.signed_off",
        obj=sign_off,
        actor=actor,
        details={
            "month": f"{month:%Y-%m}",
            "note": note.strip(),
            "carried_forward": carried,
            "proposals_left": proposals,
        },
    )
    return sign_off


@transaction.atomic
def period_reopen(
    *, merchant: Merchant, month: dt.date, actor: Any, reason: str
) -> PeriodSignOff:
    """Reopen a signed-off month (the page lets owners only): its matches can be
    changed again and the exceptions it carried forward are its own again."""
    month = month_parse(month)
    if not reason.strip():
        raise InvalidInput(
            gettext_noop("reason: say why the month is reopened"), field="reason"
        )
    sign_off = (
        PeriodSignOff.objects.for_merchant(merchant)
        .select_for_update()
        .filter(month=month, reopened_at__isnull=True)
        .first()
    )
    if sign_off is None:
        raise NotFound(f"{month_label(month)} is not signed off")
    now = timezone.now()
    claimed = PeriodSignOff.objects.filter(
        pk=sign_off.pk, reopened_at__isnull=True
    ).update(
        reopened_at=now,
        reopened_by=actor if getattr(actor, "is_authenticated", False) else None,
        reopen_reason=reason.strip(),
    )
    if not claimed:
        raise Conflict(f"{month_label(month)} was reopened meanwhile")
    sign_off.refresh_from_db()
    reopened = (
        ReconciliationException.objects.for_merchant(merchant)
        .filter(
            status=ExceptionStatus.CARRIED, day__gte=month, day__lte=month_end(month)
        )
        .update(status=ExceptionStatus.OPEN)
    )
    audit_event_record(
        merchant=merchant,
        action="reconciliation.period.reopened",
        obj=sign_off,
        actor=actor,
        details={
            "month": f"{month:%Y-%m}",
            "reason": reason.strip(),
            "signed_by": sign_off.signed_by.get_username()
            if sign_off.signed_by
            else "",
            "exceptions_reopened": reopened,
        },
    )
    return sign_off
