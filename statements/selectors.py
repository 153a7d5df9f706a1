"""Reads of the ledger, of statement imports and feed runs, and of statement packs,
always scoped to a merchant (or to an account found through one); the Transactions
page pages by seeking on (sort key, id), never by OFFSET."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from merchants.models import Account, Merchant
from statements.models import (
    Channel,
    FeedSyncRun,
    ImportBatch,
    StatementPack,
    Transaction,
)
from statements.services.balances import PeriodBalance, period_lines

SORTS = {
    "-posted": "posted_at",
    "posted": "posted_at",
    "-amount": "amount",
    "amount": "amount",
}
DEFAULT_SORT = "-posted"
COUNT_CAP = 10_000


def transaction_list(*, merchant: Merchant) -> QuerySet[Transaction]:
    return Transaction.objects.for_merchant(merchant).select_related("account")


def import_batch_list(*, merchant: Merchant) -> QuerySet[ImportBatch]:
    return ImportBatch.objects.for_merchant(merchant).select_related(
        "account", "created_by"
    )


def import_batch_get(*, merchant: Merchant, batch_id: int) -> ImportBatch:
    return get_object_or_404(import_batch_list(merchant=merchant), pk=batch_id)


def import_batch_flagged_lines(
    *, merchant: Merchant, batch: ImportBatch
) -> QuerySet[Transaction]:
    """The lines an import wrote with a flag (fx_mismatch), by posting time. The
    batch's account fences the merchant and its (account, posted_at) index serves
    the read (a `merchant=` term would make the databases walk every account)."""
    if batch.merchant_id != merchant.pk:
        raise PermissionError("lines of another merchant's import")
    return Transaction.objects.filter(
        account_id=batch.account_id, import_batch=batch, fx_mismatch=True
    ).order_by("posted_at", "pk")


def feed_sync_run_list(*, merchant: Merchant) -> QuerySet[FeedSyncRun]:
    return (
        FeedSyncRun.objects.for_merchant(merchant)
        .select_related("account")
        .order_by("-started_at", "-pk")
    )


def statement_pack_list(*, merchant: Merchant) -> QuerySet[StatementPack]:
    return StatementPack.objects.for_merchant(merchant).select_related("created_by")


def statement_pack_get(*, merchant: Merchant, pack_id: int) -> StatementPack:
    return get_object_or_404(statement_pack_list(merchant=merchant), pk=pack_id)


@dataclass
class SeekPage:
    lines: list[Transaction]
    sort: str
    next_cursor: str = ""
    previous_cursor: str = ""
    count: int = 0
    count_capped: bool = False

    @property
    def has_next(self) -> bool:
        return bool(self.next_cursor)

    @property
    def has_previous(self) -> bool:
        return bool(self.previous_cursor)


def cursor_encode(line: Transaction, sort: str) -> str:
    key = SORTS[sort]
    value = getattr(line, key)
    text = value.isoformat() if key == "posted_at" else format(value, "f")
    raw = f"{text}~{line.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(token: str, sort: str) -> tuple[object, int] | None:
    """(key value, id) from a cursor; None for anything malformed."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        text, _, pk = raw.rpartition("~")
        if SORTS[sort] == "posted_at":
            value: object = dt.datetime.fromisoformat(text)
            if value.tzinfo is None:
                return None
        else:
            value = Decimal(text)
            if not value.is_finite():
                return None
        return value, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError, ArithmeticError):
        return None


def _beyond(key: str, value: object, pk: int, *, descending: bool) -> Q:
    """Rows after (value, pk) in the given order; the first term is a plain range
    on the indexed key, so the database seeks instead of scanning."""
    if descending:
        return Q(**{f"{key}__lte": value}) & (Q(**{f"{key}__lt": value}) | Q(pk__lt=pk))
    return Q(**{f"{key}__gte": value}) & (Q(**{f"{key}__gt": value}) | Q(pk__gt=pk))


def transaction_page(
    *,
    queryset: QuerySet[Transaction],
    sort: str = DEFAULT_SORT,
    after: str = "",
    before: str = "",
    size: int = 50,
) -> SeekPage:
    """One page of lines after (or before) a cursor, with a count capped at
    COUNT_CAP so a million-line ledger never pays for a full COUNT(*)."""
    if sort not in SORTS:
        sort = DEFAULT_SORT
    key = SORTS[sort]
    descending = sort.startswith("-")
    order = (f"-{key}", "-pk") if descending else (key, "pk")
    reverse = (key, "pk") if descending else (f"-{key}", "-pk")
    backwards = False
    rows = queryset
    cursor = cursor_decode(before, sort) if before else None
    if cursor is not None:
        backwards = True
        rows = rows.filter(_beyond(key, *cursor, descending=not descending))
        rows = rows.order_by(*reverse)
    else:
        cursor = cursor_decode(after, sort) if after else None
        if cursor is not None:
            rows = rows.filter(_beyond(key, *cursor, descending=descending))
        rows = rows.order_by(*order)
    lines = list(rows[: size + 1])
    more = len(lines) > size
    lines = lines[:size]
    if backwards:
        lines.reverse()
    page = SeekPage(lines=lines, sort=sort)
    if lines:
        first, last = lines[0], lines[-1]
        # coming back (before=) there is always a next page: the one we left
        has_next = True if backwards else more
        has_previous = more if backwards else cursor is not None
        if has_next:
            page.next_cursor = cursor_encode(last, sort)
        if has_previous:
            page.previous_cursor = cursor_encode(first, sort)
    counted = queryset.order_by()[: COUNT_CAP + 1].count()
    page.count = min(counted, COUNT_CAP)
    page.count_capped = counted > COUNT_CAP
    return page


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    count: int
    credits: Decimal
    debits: Decimal
    fees: Decimal

    @property
    def net(self) -> Decimal:
        return self.credits + self.debits


@dataclass(frozen=True)
class LedgerTotals:
    by_currency: list[CurrencyTotal] = field(default_factory=list)
    original: dict[str, Decimal] = field(default_factory=dict)


def transaction_totals(*, queryset: QuerySet[Transaction]) -> LedgerTotals:
    """Credits, debits and fees per settlement currency, and cross-border
    original amounts per original currency (never mixed across currencies)."""
    by_currency = [
        CurrencyTotal(
            currency=row["currency"],
            count=row["n"],
            credits=row["credits"] or Decimal(0),
            debits=row["debits"] or Decimal(0),
            fees=row["fees"] or Decimal(0),
        )
        for row in queryset.order_by()
        .values("currency")
        .annotate(
            n=Count("pk"),
            credits=Sum("amount", filter=Q(amount__gt=0)),
            debits=Sum("amount", filter=Q(amount__lt=0)),
            fees=Sum("fee"),
        )
        .order_by("currency")
    ]
    original = {
        row["original_currency"]: row["total"]
        for row in queryset.exclude(original_currency="")
        .filter(original_amount__isnull=False)
        .order_by()
        .values("original_currency")
        .annotate(total=Sum("original_amount"))
        .order_by("original_currency")
    }
    return LedgerTotals(by_currency=by_currency, original=original)


BILLER_CHANNELS = (Channel.BILL, Channel.TOPUP)


@dataclass(frozen=True)
class BillerTotal:
    """One biller category's bill payments (or top-ups) in a period."""

    channel: str
    category: str  # as the bank wrote it; "" when it gave none
    count: int
    credits: Decimal
    debits: Decimal

    @property
    def net(self) -> Decimal:
        return self.credits + self.debits


def biller_category_totals(
    *, account: Account, period: PeriodBalance
) -> list[BillerTotal]:
    """BILL and TOPUP lines of the period by channel and biller category: the same
    lines the period's balances count (up to its last line id). `account` was found
    through a merchant-scoped selector."""
    rows = (
        period_lines(
            account=account,
            start=period.start,
            end=period.end,
            through_pk=period.through_pk,
        )
        .filter(channel__in=BILLER_CHANNELS)
        .order_by()
        .values("channel", "biller_category")
        .annotate(
            n=Count("pk"),
            credits=Sum("amount", filter=Q(amount__gt=0)),
            debits=Sum("amount", filter=Q(amount__lt=0)),
        )
        .order_by("channel", "biller_category")
    )
    return [
        BillerTotal(
            channel=row["channel"],
            category=row["biller_category"],
            count=row["n"],
            credits=row["credits"] or Decimal(0),
            debits=row["debits"] or Decimal(0),
        )
        for row in rows
    ]
