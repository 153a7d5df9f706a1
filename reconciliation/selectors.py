"""Reads of reconciliation, always scoped to a merchant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)
from django.shortcuts import get_object_or_404

from merchants.models import Merchant
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
