"""What the reconciliation report says, read once from the database for both
formats (PDF and XLSX), so the two always agree.

Definitions (the report prints them too):

- Received: every credit ledger line booked in the period (value date), on every
  account, plus the verified Bakong payments of the period that no ledger line
  carries yet.
- Expected: what the period's live matches expected (their expected side), plus
  the items still unpaid (unpaid-item exceptions of the period not answered by a
  later match).
- Matched automatically / after review / by hand / awaiting review: the posted
  side of the period's matches (by the money's day) that are automatic,
  confirmed from the engine's tiers 1-6, confirmed by hand (tier 0), or still
  proposed.
- Outstanding: the amounts of the period's open (or carried) exceptions of
  unpaid items and of unmatched lines.
- Differences: received − expected of the period's automatic and confirmed
  matches, by the kind they were booked as.

The bank reconciliation statement of an account at the period's end:

    balance per the ledger (the statement's closing balance)
  − ledger lines the bank has not reported yet (push lines no feed line confirmed)
  + Bakong-confirmed payments to the account not yet on the bank's statement
  = adjusted balance, which must equal
    the balance per the bank statement: the bank's own figure at the period end,
    from a statement ending that day, else the balance after the last line the
    bank reported in the period, else the feed's reported closing for a window
    ending that day; "not reported" otherwise.

A Bakong wallet has no bank statement: Bakong's own record is its ledger, so its
statement ties by definition and says so. The difference (adjusted − bank) is
what nobody has explained; the period's balance-gap exceptions are listed beside.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.periods import period_bounds, zone_for_currency
from merchants.models import Account, Merchant, Provider
from merchants.selectors import account_list
from payments.models import BakongTransaction
from reconciliation.documents.words import khmer
from reconciliation.models import (
    ExceptionReason,
    ExceptionStatus,
    Match,
    MatchItem,
    MatchStatus,
    ReconciliationException,
    Resolution,
)
from statements.models import FeedSyncRun, Source, Statement, Transaction
from statements.services.balances import account_lines, period_balance

ZERO = Decimal(0)
BANK_SOURCES = (Source.FEED, Source.FILE)
SUMMARY_ROWS = tuple(
    (key, english, khmer(english))
    for key, english in (
        ("expected", gettext_noop("Expected")),
        ("received", gettext_noop("Received")),
        ("auto", gettext_noop("Matched automatically")),
        ("reviewed", gettext_noop("Matched after review")),
        ("manual", gettext_noop("Matched by hand")),
        ("proposed", gettext_noop("Awaiting review")),
        ("unpaid", gettext_noop("Outstanding: unpaid items")),
        ("unmatched", gettext_noop("Outstanding: unmatched money in")),
    )
)
# English; the documents translate them when drawn
DIFFERENCE_LABELS = {
    "fee": gettext_noop("Bank fees"),
    "write_off": gettext_noop("Write-offs"),
    "fx": gettext_noop("Exchange differences"),
    "": gettext_noop("Not booked"),
}


@dataclass
class CurrencySummary:
    currency: str
    figures: dict[str, Decimal] = field(
        default_factory=lambda: {key: ZERO for key, _en, _km in SUMMARY_ROWS}
    )
    counts: dict[str, int] = field(
        default_factory=lambda: {key: 0 for key, _en, _km in SUMMARY_ROWS}
    )
    differences: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class OutstandingItem:
    label: str
    day: dt.date
    amount: Decimal
    note: str


@dataclass
class BankReconciliation:
    """One account's statement at the period's end (see the module's words)."""

    account: Account
    currency: str
    date_to: dt.date
    ledger: Decimal
    unreported: list[OutstandingItem]
    unposted: list[OutstandingItem]
    bank: Decimal | None
    bank_source: str  # statement | line | feed | wallet | none
    gaps: list[ReconciliationException]

    @property
    def unreported_total(self) -> Decimal:
        return sum((i.amount for i in self.unreported), ZERO)

    @property
    def unposted_total(self) -> Decimal:
        return sum((i.amount for i in self.unposted), ZERO)

    @property
    def adjusted(self) -> Decimal:
        return self.ledger - self.unreported_total + self.unposted_total

    @property
    def difference(self) -> Decimal | None:
        """Adjusted − bank: zero when it ties; None when the bank said nothing."""
        if self.bank is None:
            return None
        return self.adjusted - self.bank

    @property
    def ties(self) -> bool:
        return self.difference == ZERO

    @property
    def bank_source_words(self) -> str:
        return {
            "statement": "the bank's statement ending that day",
            "line": "the balance after the last line the bank reported",
            "feed": "the closing balance the bank's feed reported",
            "wallet": "a Bakong wallet has no bank statement: Bakong's record is "
            "its ledger, so it ties by definition",
            "none": "not reported: the bank gave no balance for this day (sync "
            "its feed or import its statement)",
        }[self.bank_source]


@dataclass(frozen=True)
class MatchRow:
    pk: int
    status: str
    tier: int
    rule: str
    day: dt.date
    expected: str
    posted: str
    currency: str
    expected_amount: Decimal
    posted_amount: Decimal
    difference: Decimal
    difference_kind: str
    decided: str
    reason: str


@dataclass
class ReportData:
    merchant: Merchant
    date_from: dt.date
    date_to: dt.date
    generated_at: dt.datetime
    summaries: list[CurrencySummary]
    banks: list[BankReconciliation]
    exceptions_open: list[ReconciliationException]
    exceptions_resolved: list[ReconciliationException]
    match_count: int

    @property
    def period_label(self) -> str:
        return f"{self.date_from:%d %b %Y} – {self.date_to:%d %b %Y}"

    @property
    def differences(self) -> dict[str, Decimal]:
        """Σ of the bank statements' unexplained differences, per currency
        (accounts the bank reported nothing for are left out)."""
        out: dict[str, Decimal] = {}
        for bank in self.banks:
            if bank.difference is not None:
                out[bank.currency] = out.get(bank.currency, ZERO) + bank.difference
        return dict(sorted(out.items()))

    @property
    def generated_local(self) -> str:
        return (
            f"{timezone.localtime(self.generated_at):%Y-%m-%d %H:%M} (Asia/Phnom_Penh)"
        )

    def matches(self) -> Iterator[MatchRow]:
        """The period's live matches, one row each, streamed in pages."""
        return match_rows(
            merchant=self.merchant, date_from=self.date_from, date_to=self.date_to
        )


def _period_matches(merchant: Merchant, date_from: dt.date, date_to: dt.date):
    return (
        Match.objects.for_merchant(merchant)
        .filter(day__gte=date_from, day__lte=date_to)
        .exclude(status=MatchStatus.REJECTED)
    )


def _bucket(match_status: str, tier: int) -> str:
    if match_status == MatchStatus.AUTO:
        return "auto"
    if match_status == MatchStatus.PROPOSED:
        return "proposed"
    return "manual" if tier == 0 else "reviewed"


def _summaries(merchant: Merchant, date_from: dt.date, date_to: dt.date):
    by_currency: dict[str, CurrencySummary] = {}

    def summary(currency: str) -> CurrencySummary:
        return by_currency.setdefault(currency, CurrencySummary(currency))

    for currency, total, n in _received(merchant, date_from, date_to):
        s = summary(currency)
        s.figures["received"] += total
        s.counts["received"] += n
    # the matches' two sides, by status: one aggregate over the items
    sides = (
        MatchItem.objects.filter(
            match__in=_period_matches(merchant, date_from, date_to)
        )
        .values("match__status", "match__tier", "currency", "kind")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for row in sides:
        s = summary(row["currency"])
        if row["kind"] in ("line", "bakong"):
            bucket = _bucket(row["match__status"], row["match__tier"])
            s.figures[bucket] += row["total"]
        else:
            s.figures["expected"] += row["total"]
    for status, tier, currency, n in (
        _period_matches(merchant, date_from, date_to)
        .values_list("status", "tier", "currency")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        summary(currency).counts[_bucket(status, tier)] += n
    for currency, kind, total in (
        _period_matches(merchant, date_from, date_to)
        .filter(status__in=(MatchStatus.AUTO, MatchStatus.CONFIRMED))
        .exclude(difference=0)
        .values_list("currency", "difference_kind")
        .annotate(total=Sum("difference"))
        .order_by()
    ):
        differences = summary(currency).differences
        differences[kind] = differences.get(kind, ZERO) + total
    period = ReconciliationException.objects.for_merchant(merchant).filter(
        day__gte=date_from, day__lte=date_to
    )
    unpaid = period.filter(reason=ExceptionReason.UNPAID_ITEM).exclude(
        resolution__in=(Resolution.MATCHED, Resolution.CLEARED)
    )
    for currency, total, _n in (
        unpaid.values_list("currency")
        .annotate(t=Sum("amount"), n=Count("pk"))
        .order_by()
    ):
        summary(currency).figures["expected"] += total
    still_open = (ExceptionStatus.OPEN, ExceptionStatus.CARRIED)
    for key, reason in (
        ("unpaid", ExceptionReason.UNPAID_ITEM),
        ("unmatched", ExceptionReason.UNMATCHED_LINE),
    ):
        for currency, total, n in (
            period.filter(reason=reason, status__in=still_open)
            .values_list("currency")
            .annotate(t=Sum("amount"), n=Count("pk"))
            .order_by()
        ):
            s = summary(currency)
            s.figures[key] += total
            s.counts[key] += n
    return [by_currency[c] for c in sorted(by_currency)]


def _received(merchant: Merchant, date_from: dt.date, date_to: dt.date):
    lines = (
        Transaction.objects.for_merchant(merchant)
        .filter(value_date__gte=date_from, value_date__lte=date_to, amount__gt=0)
        .values_list("currency")
        .annotate(t=Sum("amount"), n=Count("pk"))
        .order_by()
    )
    totals: dict[str, list] = defaultdict(lambda: [ZERO, 0])
    for currency, total, n in lines:
        totals[currency][0] += total
        totals[currency][1] += n
    start, end = period_bounds(date_from, date_to, zone_for_currency("KHR"))
    unposted = (
        BakongTransaction.objects.for_merchant(merchant)
        .filter(ledger_line__isnull=True)
        .filter(
            Q(created_at_bakong__gte=start, created_at_bakong__lt=end)
            | Q(
                created_at_bakong__isnull=True,
                received_at__gte=start,
                received_at__lt=end,
            )
        )
        .values_list("currency")
        .annotate(t=Sum("amount"), n=Count("pk"))
        .order_by()
    )
    for currency, total, n in unposted:
        totals[currency][0] += total
        totals[currency][1] += n
    return [(c, t, n) for c, (t, n) in sorted(totals.items())]


def _bank_figure(
    account: Account, date_to: dt.date, end: dt.datetime
) -> tuple[Decimal | None, str]:
    if account.provider == Provider.BAKONG:
        return None, "wallet"
    statement = (
        Statement.objects.for_merchant(account.merchant)
        .filter(account=account, period_end=date_to)
        .exclude(source=Source.MANUAL)
        .order_by("-created_at", "-pk")
        .values_list("closing_balance", flat=True)
        .first()
    )
    if statement is not None:
        return statement, "statement"
    last = (
        account_lines(account=account)
        .filter(posted_at__lt=end, source__in=BANK_SOURCES)
        .order_by("-posted_at", "-pk")
        .values_list("balance_after", "value_date")
        .first()
    )
    if last is not None and last[0] is not None:
        return last[0], "line"
    feed = (
        FeedSyncRun.objects.for_merchant(account.merchant)
        .filter(account=account, window_end=date_to, reported_closing__isnull=False)
        .order_by("-started_at", "-pk")
        .values_list("reported_closing", flat=True)
        .first()
    )
    if feed is not None:
        return feed, "feed"
    return None, "none"


def bank_reconciliation(
    *, account: Account, date_from: dt.date, date_to: dt.date
) -> BankReconciliation:
    period = period_balance(account=account, date_from=date_from, date_to=date_to)
    end = period.end
    unreported = [
        OutstandingItem(
            label=line.external_id,
            day=line.value_date,
            amount=line.amount,
            note=f"pushed {timezone.localtime(line.push_event.occurred_at):%d %b %H:%M}"
            ", not yet on the bank's statement",
        )
        for line in account_lines(account=account)
        .filter(posted_at__lt=end, source=Source.PUSH, pk__lte=period.through_pk)
        .filter(Q(push_event__confirmed_txn_id="") | Q(push_event__isnull=True))
        .select_related("push_event")
        .order_by("posted_at", "pk")
    ]
    unposted = []
    if account.provider != Provider.BAKONG:
        to_here = Q(payment_request__account=account)
        if account.bakong_account_id:
            to_here |= Q(to_account_id=account.bakong_account_id)
        for bt in (
            BakongTransaction.objects.for_merchant(account.merchant)
            .filter(to_here, ledger_line__isnull=True, currency=account.currency)
            .filter(
                Q(created_at_bakong__lt=end)
                | Q(created_at_bakong__isnull=True, received_at__lt=end)
            )
            .order_by("received_at", "pk")
        ):
            at = bt.created_at_bakong or bt.received_at
            unposted.append(
                OutstandingItem(
                    label=f"Bakong {bt.hash[:8]}",
                    day=timezone.localdate(at),
                    amount=bt.amount,
                    note=f"from {bt.from_account_id or 'a payer'}, confirmed by Bakong",
                )
            )
    bank, source = _bank_figure(account, date_to, end)
    gaps = list(
        ReconciliationException.objects.for_merchant(account.merchant)
        .filter(
            reason=ExceptionReason.BALANCE_GAP,
            day__gte=date_from,
            day__lte=date_to,
            key__contains=f":{account.pk}:",
        )
        .order_by("day", "pk")
    )
    reconciliation = BankReconciliation(
        account=account,
        currency=account.currency,
        date_to=date_to,
        ledger=period.closing,
        unreported=unreported,
        unposted=unposted,
        bank=bank,
        bank_source=source,
        gaps=gaps,
    )
    if source == "wallet":
        reconciliation.bank = reconciliation.adjusted
    return reconciliation


def report_data(
    *, merchant: Merchant, date_from: dt.date, date_to: dt.date
) -> ReportData:
    """Everything the report prints except the match rows (streamed apart)."""
    exceptions = (
        ReconciliationException.objects.for_merchant(merchant)
        .filter(day__gte=date_from, day__lte=date_to)
        .select_related("resolved_by")
        .order_by("day", "pk")
    )
    return ReportData(
        merchant=merchant,
        date_from=date_from,
        date_to=date_to,
        generated_at=timezone.now(),
        summaries=_summaries(merchant, date_from, date_to),
        banks=[
            bank_reconciliation(account=a, date_from=date_from, date_to=date_to)
            for a in account_list(merchant=merchant)
        ],
        exceptions_open=list(exceptions.exclude(status=ExceptionStatus.RESOLVED)),
        exceptions_resolved=list(exceptions.filter(status=ExceptionStatus.RESOLVED)),
        match_count=_period_matches(merchant, date_from, date_to).count(),
    )


_ITEM_COLUMNS = (
    "match_id",
    "kind",
    "amount",
    "invoice__invoice_number",
    "payment_request__order_id",
    "payment_request__md5",
    "refund__bank_reference",
    "transaction__external_id",
    "bakong_transaction__hash",
)
_MATCH_COLUMNS = (
    "pk",
    "status",
    "tier",
    "rule",
    "day",
    "currency",
    "difference",
    "difference_kind",
    "decided_by__username",
    "decided_at",
    "reason",
)
EXPECTED_KINDS = ("khqr", "invoice", "refund")


def _ref(kind: str, number, order_id, md5, bank_ref, external_id, hash_) -> str:
    """As selectors.item_ref names an item, from plain values."""
    if kind == "invoice":
        return number
    if kind == "khqr":
        return order_id or md5
    if kind == "refund":
        return bank_ref
    if kind == "line":
        return external_id
    return hash_


def match_rows(
    *, merchant: Merchant, date_from: dt.date, date_to: dt.date, chunk: int = 5000
) -> Iterator[MatchRow]:
    """The period's live matches with both sides named: a page of matches and
    one query for their items at a time, as plain values (bounded memory, no
    model instances: 20,000 matches in about a second)."""
    matches = _period_matches(merchant, date_from, date_to)
    after: tuple[dt.date, int] | None = None
    while True:
        window = matches
        if after is not None:
            window = window.filter(
                Q(day__gt=after[0]) | Q(day=after[0], pk__gt=after[1])
            )
        page = list(window.order_by("day", "pk").values_list(*_MATCH_COLUMNS)[:chunk])
        if not page:
            return
        after = (page[-1][4], page[-1][0])
        sides: dict[int, tuple[list, list]] = {}
        for match_id, kind, amount, *names in (
            MatchItem.objects.filter(match_id__in=[m[0] for m in page])
            .order_by("pk")
            .values_list(*_ITEM_COLUMNS)
        ):
            side = sides.setdefault(match_id, ([], []))[
                0 if kind in EXPECTED_KINDS else 1
            ]
            side.append((_ref(kind, *names), amount))
        for (pk, status, tier, rule, day, currency, difference, kind, who, at,
             reason) in page:  # fmt: skip
            expected, posted = sides.get(pk, ([], []))
            yield MatchRow(
                pk=pk,
                status=status,
                tier=tier,
                rule=rule,
                day=day,
                expected=", ".join(ref for ref, _ in expected),
                posted=", ".join(ref for ref, _ in posted),
                currency=currency,
                expected_amount=sum((a for _, a in expected), ZERO),
                posted_amount=sum((a for _, a in posted), ZERO),
                difference=difference,
                difference_kind=kind,
                decided=f"{who} {timezone.localtime(at):%Y-%m-%d}" if who else "",
                reason=reason,
            )
