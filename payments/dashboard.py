"""The KHQR part of the dashboard: what the merchant's codes collected today and
this month (local days, per currency, before refunds), and the codes still
waiting to be paid with the oldest of them. Two queries. Codes made with a test
API key count, as on the Payments page and in the ledger (they are paid through
the same Bakong), and the figures say how many there were."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, F, Min, Q, Sum, When
from django.http import HttpRequest
from django.utils import timezone

from core.money import CURRENCIES
from core.periods import PHNOM_PENH, day_start, local_date
from merchants.dashboard import SLOT_SUMMARY, DashboardWidget
from merchants.models import Merchant
from payments.models import PaymentRequest, PaymentStatus


@dataclass(frozen=True)
class Collected:
    currency: str
    today: Decimal
    today_codes: int
    month: Decimal
    month_codes: int
    month_test_codes: int  # of month_codes, made with a test API key


@dataclass(frozen=True)
class KhqrSummary:
    today: dt.date
    month: dt.date  # its first day
    collected: list[Collected]
    pending: int
    oldest_pending_at: dt.datetime | None

    @property
    def collected_today(self) -> list[Collected]:
        return [c for c in self.collected if c.today_codes]


def khqr_summary(*, merchant: Merchant, now: dt.datetime | None = None) -> KhqrSummary:
    """Paid codes by the Phnom Penh day and month of their payment, in the
    currency they were paid in; pending dynamic codes and the oldest one."""
    now = now or timezone.now()
    today = local_date(now, PHNOM_PENH)
    month = today.replace(day=1)
    today_from = day_start(today, PHNOM_PENH)
    codes = PaymentRequest.objects.for_merchant(merchant)
    paid = (
        codes.filter(
            paid_at__gte=day_start(month, PHNOM_PENH), paid_amount__isnull=False
        )
        .annotate(
            paid_in=Case(
                When(paid_currency="", then=F("currency")), default=F("paid_currency")
            )
        )
        .order_by()
        .values("paid_in")
        .annotate(
            month_total=Sum("paid_amount"),
            month_codes=Count("pk"),
            month_test_codes=Count("pk", filter=Q(is_test=True)),
            today_total=Sum("paid_amount", filter=Q(paid_at__gte=today_from)),
            today_codes=Count("pk", filter=Q(paid_at__gte=today_from)),
        )
    )
    by_currency = {row["paid_in"]: row for row in paid}
    order = [merchant.default_currency, *CURRENCIES]
    collected = [
        Collected(
            currency=code,
            today=by_currency[code]["today_total"] or Decimal(0),
            today_codes=by_currency[code]["today_codes"],
            month=by_currency[code]["month_total"],
            month_codes=by_currency[code]["month_codes"],
            month_test_codes=by_currency[code]["month_test_codes"],
        )
        for code in dict.fromkeys([*order, *sorted(by_currency)])
        if code in by_currency
    ]
    # a static code is never "waiting": it can be paid any number of times
    waiting = codes.filter(
        status=PaymentStatus.PENDING, amount__isnull=False
    ).aggregate(n=Count("pk"), oldest=Min("created_at"))
    return KhqrSummary(
        today=today,
        month=month,
        collected=collected,
        pending=waiting["n"],
        oldest_pending_at=waiting["oldest"],
    )


def khqr_widget(request: HttpRequest) -> DashboardWidget | None:
    merchant = getattr(request, "merchant", None)
    if merchant is None:
        return None
    return DashboardWidget(
        template="merchants/dashboard/khqr.html",
        context={"khqr": khqr_summary(merchant=merchant)},
        slot=SLOT_SUMMARY,
    )
