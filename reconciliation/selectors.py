"""Reads of reconciliation, always scoped to a merchant."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy

from merchants.models import AuditEvent, Merchant
from merchants.selectors import audit_event_list
from reconciliation.models import (
    ExchangeRate,
    Invoice,
    Match,
    MatchItem,
    MatchStatus,
    PeriodSignOff,
    ReconciliationException,
    ReconciliationRun,
)
from statements.models import Transaction

ITEM_RELATED = (
    "payment_request",
    "invoice",
    "refund",
    "transaction",
    "bakong_transaction",
)


def run_list(*, merchant: Merchant) -> QuerySet[ReconciliationRun]:
    return ReconciliationRun.objects.for_merchant(merchant).select_related("started_by")


def run_get(*, merchant: Merchant, run_id: int) -> ReconciliationRun:
    return get_object_or_404(run_list(merchant=merchant), pk=run_id)


def match_list(*, merchant: Merchant, status: str | None = None) -> QuerySet[Match]:
    """Matches with their items (one query for the items of a page)."""
    matches = Match.objects.for_merchant(merchant)
    if status:
        matches = matches.filter(status=status)
    return matches.select_related("decided_by").prefetch_related(
        Prefetch(
            "items",
            queryset=MatchItem.objects.select_related(*ITEM_RELATED).order_by("pk"),
        )
    )


def match_get(*, merchant: Merchant, match_id: int) -> Match:
    return get_object_or_404(match_list(merchant=merchant), pk=match_id)


def exception_list(
    *, merchant: Merchant, reason: str | None = None, status: str | None = None
) -> QuerySet[ReconciliationException]:
    found = ReconciliationException.objects.for_merchant(merchant).select_related(
        "resolved_by"
    )
    if reason:
        found = found.filter(reason=reason)
    if status:
        found = found.filter(status=status)
    return found


def exception_get(*, merchant: Merchant, exception_id: int) -> ReconciliationException:
    return get_object_or_404(exception_list(merchant=merchant), pk=exception_id)


def invoice_list(*, merchant: Merchant) -> QuerySet[Invoice]:
    return Invoice.objects.for_merchant(merchant)


def invoice_get(*, merchant: Merchant, invoice_id: int) -> Invoice:
    return get_object_or_404(invoice_list(merchant=merchant), pk=invoice_id)


SETTLED = (MatchStatus.AUTO, MatchStatus.CONFIRMED)


def invoice_list_with_status(*, merchant: Merchant, today: dt.date) -> QuerySet:
    """Invoices with what became of them: `settled` (a live match pays it),
    `proposed` (a match waits for a person), `overdue` (past its window unpaid)."""
    items = MatchItem.objects.filter(invoice=OuterRef("pk"))
    return invoice_list(merchant=merchant).annotate(
        settled=Exists(items.filter(match__status__in=SETTLED)),
        proposed=Exists(items.filter(match__status=MatchStatus.PROPOSED)),
        overdue=ExpressionWrapper(
            Q(due_date__lt=today - dt.timedelta(days=OVERDUE_AFTER_DAYS)),
            output_field=BooleanField(),
        ),
    )


OVERDUE_AFTER_DAYS = 7  # the default window after the due date


def invoice_filter(
    rows: QuerySet,
    *,
    q: str = "",
    status: str = "",
    currency: str = "",
    due_from: dt.date | None = None,
    due_to: dt.date | None = None,
) -> QuerySet:
    if q:
        rows = rows.filter(
            Q(invoice_number__icontains=q)
            | Q(customer__icontains=q)
            | Q(reference__icontains=q)
        )
    if currency:
        rows = rows.filter(currency=currency)
    if due_from:
        rows = rows.filter(due_date__gte=due_from)
    if due_to:
        rows = rows.filter(due_date__lte=due_to)
    if status == "paid":
        rows = rows.filter(settled=True)
    elif status == "proposed":
        rows = rows.filter(settled=False, proposed=True)
    elif status == "overdue":
        rows = rows.filter(settled=False, proposed=False, overdue=True)
    elif status == "open":
        rows = rows.filter(settled=False, proposed=False, overdue=False)
    return rows


def invoice_open_totals(*, merchant: Merchant, today: dt.date) -> list[dict]:
    """Unpaid invoices per currency: how many, how much, how much overdue."""
    rows = invoice_list_with_status(merchant=merchant, today=today).filter(
        settled=False
    )
    return list(
        rows.order_by()
        .values("currency")
        .annotate(
            count=Count("pk"),
            total=Sum("amount"),
            overdue_total=Sum("amount", filter=Q(overdue=True)),
        )
        .order_by("currency")
    )


def invoice_matches(*, merchant: Merchant, invoice: Invoice) -> QuerySet[Match]:
    return (
        match_list(merchant=merchant)
        .filter(items__invoice=invoice)
        .exclude(status=MatchStatus.REJECTED)
        .distinct()
    )


def sign_off_list(*, merchant: Merchant) -> QuerySet[PeriodSignOff]:
    return PeriodSignOff.objects.for_merchant(merchant).select_related(
        "signed_by", "reopened_by"
    )


def month_is_signed(*, merchant: Merchant, day: dt.date) -> bool:
    return (
        PeriodSignOff.objects.for_merchant(merchant)
        .filter(month=day.replace(day=1), reopened_at__isnull=True)
        .exists()
    )


def rate_list() -> QuerySet[ExchangeRate]:
    return ExchangeRate.objects.all()


def item_ref(item: MatchItem) -> str:
    """How the contract names an item: an invoice by its number, a KHQR code by
    its order id (else its md5), a refund by its bank reference, a ledger line by
    its external id, a Bakong transaction by its hash."""
    if item.kind == "invoice":
        return item.invoice.invoice_number
    if item.kind == "khqr":
        request = item.payment_request
        return request.order_id or request.md5
    if item.kind == "refund":
        return item.refund.bank_reference
    if item.kind == "line":
        return item.transaction.external_id
    return item.bakong_transaction.hash


def match_pairs(
    *, merchant: Merchant, date_from: dt.date, date_to: dt.date
) -> Iterator[dict[str, Any]]:
    """One row per (expected, posted) pair of the period's live matches (not
    rejected), with the match's id as its group."""
    matches = (
        match_list(merchant=merchant)
        .filter(day__gte=date_from, day__lte=date_to)
        .exclude(status=MatchStatus.REJECTED)
        .order_by("day", "pk")
    )
    for match in matches.iterator(chunk_size=2000):
        items = list(match.items.all())
        expected = [i for i in items if i.is_expected]
        posted = [i for i in items if not i.is_expected]
        for e in expected:
            for p in posted:
                yield {
                    "status": match.status,
                    "rule": match.rule,
                    "expected_ref": item_ref(e),
                    "posted_ref": item_ref(p),
                    "group": match.pk,
                }


# --- the review pages (reconui): the queue and the exceptions, filtered --------

QUEUE_STATUSES = (MatchStatus.PROPOSED, MatchStatus.AUTO)
# age of an exception in days since its `day`: (key, label, first day, last day)
AGING_BUCKETS = (
    ("0-7", gettext_lazy("0–7 days"), 0, 7),
    ("8-30", gettext_lazy("8–30 days"), 8, 30),
    ("31-60", gettext_lazy("31–60 days"), 31, 60),
    ("61+", gettext_lazy("over 60 days"), 61, None),
)


@dataclass(frozen=True)
class QueueFilter:
    """What the review queue shows; the same filter picks "all that match" for a
    bulk decision."""

    status: str = MatchStatus.PROPOSED
    tier: int | None = None
    rule: str = ""
    min_score: int | None = None
    day_from: dt.date | None = None
    day_to: dt.date | None = None
    currency: str = ""


def match_queue(*, merchant: Merchant, queue_filter: QueueFilter) -> QuerySet[Match]:
    """Matches awaiting a decision (or the ones asked for), best score first,
    with both sides' records (one query for the items of a page)."""
    matches = Match.objects.for_merchant(merchant).filter(status=queue_filter.status)
    if queue_filter.tier is not None:
        matches = matches.filter(tier=queue_filter.tier)
    if queue_filter.rule:
        matches = matches.filter(rule__startswith=queue_filter.rule)
    if queue_filter.min_score is not None:
        matches = matches.filter(score__gte=queue_filter.min_score)
    if queue_filter.day_from:
        matches = matches.filter(day__gte=queue_filter.day_from)
    if queue_filter.day_to:
        matches = matches.filter(day__lte=queue_filter.day_to)
    if queue_filter.currency:
        matches = matches.filter(currency=queue_filter.currency)
    return (
        matches.select_related("decided_by")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=MatchItem.objects.select_related(
                    *ITEM_RELATED, "transaction__account"
                ).order_by("pk"),
            )
        )
        .order_by("-score", "day", "pk")
    )


@dataclass(frozen=True)
class ExceptionFilter:
    reason: str = ""
    status: str = "open"
    age: str = ""  # an AGING_BUCKETS key
    currency: str = ""
    day_from: dt.date | None = None
    day_to: dt.date | None = None


def aging_bounds(age: str, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The days (oldest, newest) an aging bucket covers, as of `today`."""
    for key, _label, first, last in AGING_BUCKETS:
        if key == age:
            newest = today - dt.timedelta(days=first) if first else None
            oldest = today - dt.timedelta(days=last) if last is not None else None
            return oldest, newest
    return None, None


def exception_queue(
    *, merchant: Merchant, exception_filter: ExceptionFilter, today: dt.date
) -> QuerySet[ReconciliationException]:
    """Exceptions by the page's filter, oldest first."""
    found = exception_list(
        merchant=merchant,
        reason=exception_filter.reason or None,
        status=exception_filter.status or None,
    )
    if exception_filter.age:
        oldest, newest = aging_bounds(exception_filter.age, today)
        if oldest is not None:
            found = found.filter(day__gte=oldest)
        if newest is not None:
            found = found.filter(day__lte=newest)
    if exception_filter.currency:
        found = found.filter(currency=exception_filter.currency)
    if exception_filter.day_from:
        found = found.filter(day__gte=exception_filter.day_from)
    if exception_filter.day_to:
        found = found.filter(day__lte=exception_filter.day_to)
    return found.order_by("day", "pk")


def exception_aging(
    *, merchant: Merchant, exception_filter: ExceptionFilter, today: dt.date
) -> list[dict[str, Any]]:
    """The filter's exceptions (any age) per aging bucket: count and total per
    currency, in one query."""
    base = exception_queue(
        merchant=merchant,
        exception_filter=dataclasses.replace(exception_filter, age=""),
        today=today,
    )
    whens = [
        When(day__gte=today - dt.timedelta(days=last), then=Value(key))
        for key, _label, _first, last in AGING_BUCKETS
        if last is not None
    ]
    rows = (
        base.order_by()
        .annotate(bucket=Case(*whens, default=Value(AGING_BUCKETS[-1][0])))
        .values("bucket", "currency")
        .annotate(n=Count("pk"), total=Sum("amount"))
    )
    found: dict[str, dict[str, Any]] = {
        key: {"key": key, "label": label, "count": 0, "totals": []}
        for key, label, _first, _last in AGING_BUCKETS
    }
    for row in rows:
        bucket = found[row["bucket"]]
        bucket["count"] += row["n"]
        bucket["totals"].append((row["currency"], row["total"]))
    for bucket in found.values():
        bucket["totals"].sort()
    return list(found.values())


def match_log(*, merchant: Merchant, match_id: int) -> QuerySet[AuditEvent]:
    """What people (and runs) did to one match, newest first."""
    return audit_event_list(merchant=merchant).filter(
        object_type="reconciliation.match", object_id=str(match_id)
    )


def reconciliation_log(*, merchant: Merchant) -> QuerySet[AuditEvent]:
    """The reconciliation log: every run, decision, resolution and sign-off."""
    return audit_event_list(merchant=merchant).filter(
        action__startswith="reconciliation."
    )


@dataclass(frozen=True)
class MonthSummary:
    """A month's reconciliation at a glance (the dashboard's widget)."""

    month: dt.date
    last_day: dt.date
    credit_lines: int
    matched_lines: int  # in an automatic or confirmed match
    proposed_lines: int  # in a proposal only
    open_exceptions: int  # of the month
    oldest_open: ReconciliationException | None  # of any month

    @property
    def unmatched_lines(self) -> int:
        return max(self.credit_lines - self.matched_lines - self.proposed_lines, 0)

    @property
    def match_rate(self) -> int | None:
        """Matched credit lines, in whole per cent (None with no lines)."""
        if not self.credit_lines:
            return None
        return self.matched_lines * 100 // self.credit_lines


def month_summary(*, merchant: Merchant, month: dt.date) -> MonthSummary:
    """Money in during the month (credit lines by booking day), how much of it
    is matched, and the open exceptions: a handful of counting queries."""
    start = month.replace(day=1)
    last = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    in_month = {"transaction__value_date__gte": start}
    in_month |= {"transaction__value_date__lte": last, "transaction__amount__gt": 0}
    held = MatchItem.objects.filter(match__merchant=merchant, kind="line", **in_month)
    decided = set(
        held.filter(match__status__in=(MatchStatus.AUTO, MatchStatus.CONFIRMED))
        .values_list("transaction_id", flat=True)
        .distinct()
    )
    proposed = set(
        held.filter(match__status=MatchStatus.PROPOSED)
        .values_list("transaction_id", flat=True)
        .distinct()
    )
    open_now = ReconciliationException.objects.for_merchant(merchant).filter(
        status="open"
    )
    return MonthSummary(
        month=start,
        last_day=last,
        credit_lines=Transaction.objects.for_merchant(merchant)
        .filter(value_date__gte=start, value_date__lte=last, amount__gt=0)
        .count(),
        matched_lines=len(decided),
        proposed_lines=len(proposed - decided),
        open_exceptions=open_now.filter(day__gte=start, day__lte=last).count(),
        oldest_open=open_now.order_by("day", "pk").first(),
    )
