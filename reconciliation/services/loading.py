"""What a run reads: a merchant's expected items and posted money for a period,
as engine rows (through `engine.build`, the one mapping), with the settings that
hold what people decided before (confirmed and rejected matches, aliases,
signed-off months) and the day's rates.

Reads are `values_list` queries, a few per run, never one per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    ExpressionWrapper,
    F,
    Q,
    When,
)
from django.db.models.functions import Coalesce, TruncDate

from core.money import to_minor
from merchants.models import Merchant
from payments.models import (
    BakongTransaction,
    FlagResolution,
    PaymentFlag,
    PaymentRequest,
    PaymentStatus,
    Refund,
)
from reconciliation.engine import Expected, Posted, Settings, Tolerances
from reconciliation.engine.build import (
    Shared,
    bakong_posted,
    fx_leg,
    invoice_expected,
    khqr_expected,
    khqr_payment_tokens,
    line_posted,
    refund_expected,
)
from reconciliation.engine.identity import PostedTokens, hash_token
from reconciliation.engine.rows import INVOICE
from reconciliation.models import (
    CounterpartyAlias,
    ExchangeRate,
    Invoice,
    Match,
    MatchItem,
    MatchStatus,
    PeriodSignOff,
)
from reconciliation.models import Tolerances as TolerancesRow
from statements.models import Transaction

# An item issued this long before the period may still be paid inside it; a
# line inside the period may pay an item this old.
LOOKBACK_DAYS = 92
RATE_DAYS_BACK = 7
LINKED_BATCH = 2000
PAID = (
    PaymentStatus.PAID,
    PaymentStatus.REFUNDED,
    PaymentStatus.PARTIALLY_REFUNDED,
)


@dataclass
class Loaded:
    expected: list[Expected]
    posted: list[Posted]
    settings: Settings

    @cached_property
    def days(self) -> dict[str, dt.date]:
        """Engine id -> the line's or item's day (see `row_day`); built when
        asked, not held beside the rows through a run's match."""
        return {
            row.id: dt.date.fromordinal(row_day(row))
            for rows in (self.expected, self.posted)
            for row in rows
        }


def row_day(row: Expected | Posted) -> int:
    """The day (an ordinal) that ages a row and dates its match: a line's or
    Bakong payment's day, an invoice's due date, a code's creation day (a static
    code's payment: its day), a refund's day."""
    if isinstance(row, Posted):
        return row.day
    return row.date_to if row.kind == INVOICE else row.date_from


def tolerances_for(*, merchant: Merchant) -> Tolerances:
    """The merchant's tolerances as the engine takes them."""
    row = TolerancesRow.objects.filter(merchant=merchant).first()
    if row is None:
        return Tolerances()
    return tolerances_from(
        fee_percent=row.fee_percent,
        fee_floors={
            "USD": row.fee_floor_usd,
            "KHR": row.fee_floor_khr,
            "THB": row.fee_floor_thb,
        },
        fx_percent=row.fx_percent,
        days_after_due=row.days_after_due,
        khqr_days_after_expiry=row.khqr_days_after_expiry,
    )


def tolerances_from(
    *,
    fee_percent: Decimal,
    fee_floors: dict[str, Decimal],
    fx_percent: Decimal,
    days_after_due: int,
    khqr_days_after_expiry: int,
) -> Tolerances:
    return Tolerances(
        fee_bp=int(Decimal(fee_percent) * 100),
        fee_floor_minor={c: to_minor(Decimal(v)) for c, v in fee_floors.items()},
        fx_bp=int(Decimal(fx_percent) * 100),
        days_after_due=days_after_due,
        khqr_days_after_expiry=khqr_days_after_expiry,
    )


def rows_load(
    *,
    merchant: Merchant,
    date_from: dt.date,
    date_to: dt.date,
    tolerances: Tolerances | None = None,
    as_of: dt.date | None = None,
) -> Loaded:
    """Everything one run of [date_from, date_to] reads."""
    # one object per distinct value for both sides (engine.build); dropped when
    # the load returns
    shared = Shared()
    posted = _lines(merchant, date_from, date_to, shared)
    posted += _unposted_bakong(merchant, date_from, date_to, shared)
    since = date_from - dt.timedelta(days=LOOKBACK_DAYS)
    # the codes keep only the tokens these lines can ask them for
    expected = _codes(merchant, since, date_to, shared, PostedTokens(posted))
    expected += _invoices(merchant, since, date_to, shared)
    expected += _refunds(merchant, since, date_to, shared)
    ids = {row.id for row in expected}
    ids.update(row.id for row in posted)
    locked, rejected = _decided(merchant, since, date_from, date_to, ids)
    del ids
    settings = Settings(
        tolerances=tolerances or tolerances_for(merchant=merchant),
        aliases=dict(
            CounterpartyAlias.objects.for_merchant(merchant).values_list(
                "payer_key", "customer_key"
            )
        ),
        rejected=rejected,
        locked=locked,
        rates=_rates(date_from - dt.timedelta(days=LOOKBACK_DAYS), date_to),
        as_of=(as_of or date_to).toordinal(),
    )
    return Loaded(expected=expected, posted=posted, settings=settings)


def _minor(value: int | None) -> int:
    return value or 0


class _AsStored(ExpressionWrapper):
    """A column as the database hands it over, with no converter: Django's
    int() of an integer was the only converter of the invoice query, and a
    query with any converter has each of its rows copied into a list and back
    (a twentieth of an invoice month's load)."""

    @cached_property
    def convert_value(self) -> Callable:
        return self._convert_value_noop


def _raw(field: str) -> ExpressionWrapper:
    """An amount column as the integer of minor units it holds: no Decimal made
    and unmade for each of a run's hundred thousand rows."""
    return _AsStored(F(field), output_field=BigIntegerField())


# Late money a person accepted as the payment on the payment page is no longer
# a question for reconciliation: that decision was audited there.
_LATE_UNSETTLED = ExpressionWrapper(
    Q(flag=PaymentFlag.LATE) & ~Q(flag_resolution=FlagResolution.ACCEPTED),
    output_field=BooleanField(),
)
# ... and its window runs to the day the money came.
_ACCEPTED_PAID_AT = Case(
    When(
        flag=PaymentFlag.LATE,
        flag_resolution=FlagResolution.ACCEPTED,
        then=F("paid_at"),
    ),
    default=None,
)


def _linked_payments(merchant, date_from, date_to) -> dict[int, tuple[str, str, str]]:
    """The Bakong payments the period's lines carry: id -> (hash, md5, external
    ref), looked up by their ids a few thousand at a time. (Joined to the lines,
    they let the planner read every merchant's Bakong payments once it expected
    many lines: 0.45 s of a settled merchant's load, 16,000 lines, with 1.3
    million payments in the table.)"""
    # the ids sifted here: "IS NOT NULL" in the query let the planner read the
    # whole link index, every merchant's, rather than the period's lines
    ids = [
        pk
        for pk in Transaction.objects.for_merchant(merchant)
        .filter(value_date__gte=date_from, value_date__lte=date_to)
        .values_list("bakong_transaction_id", flat=True)
        .order_by()
        if pk is not None
    ]
    found: dict[int, tuple[str, str, str]] = {}
    for start in range(0, len(ids), LINKED_BATCH):
        for pk, hash_, md5, ref in BakongTransaction.objects.filter(
            pk__in=ids[start : start + LINKED_BATCH]
        ).values_list("pk", "hash", "md5", "external_ref"):
            found[pk] = (hash_, md5, ref)
    return found


def _lines(merchant, date_from, date_to, shared) -> list[Posted]:
    payments = _linked_payments(merchant, date_from, date_to)
    rows = (
        Transaction.objects.for_merchant(merchant)
        .filter(value_date__gte=date_from, value_date__lte=date_to)
        .annotate(
            amount_minor=_raw("amount"),
            original_minor=_raw("original_amount"),
            fee_minor=_raw("fee"),
            # the rate's exact text, made a Decimal (as its field does) only
            # on the few lines that carry one
            fx_rate_text=_AsStored(F("fx_rate"), output_field=CharField()),
        )
        .values_list(
            "pk",
            "external_id",
            "reference",
            "description",
            "counterparty_name",
            "counterparty_account",
            "amount_minor",
            "currency",
            "value_date",
            "bakong_hash",
            "bakong_transaction_id",
            "original_minor",
            "original_currency",
            "fx_rate_text",
            "fee_minor",
            "fx_mismatch",
        )
        .order_by()
    )
    out = []
    for (
        pk,
        external_id,
        reference,
        description,
        counterparty,
        counterparty_account,
        amount,
        currency,
        value_date,
        bakong_hash,
        bakong_id,
        original,
        original_currency,
        fx_rate,
        fee,
        fx_mismatch,
    ) in rows.iterator(chunk_size=5000):
        fx = None
        if original is not None and original_currency and fx_rate:
            fx = fx_leg(
                original_minor=original,
                original_currency=original_currency,
                rate=str(Decimal(fx_rate)),
                fee_minor=fee or 0,
                shared=shared,
            )
        linked = payments.get(bakong_id)  # (hash, md5, external ref)
        row = line_posted(
            pk=pk,
            external_id=external_id,
            reference=reference,
            description=description,
            counterparty=counterparty,
            counterparty_account=counterparty_account,
            amount_minor=_minor(amount),
            currency=currency,
            day=value_date.toordinal(),
            bakong_hash=bakong_hash,
            linked=linked if linked and linked[0] else None,
            fx=fx,
            fx_mismatch=fx_mismatch,
            shared=shared,
        )
        out.append(row)
    return out


def _local_day(*instants: str | Case) -> TruncDate:
    """The local day of the first instant set, computed by the database: a
    timestamp read into Python costs more than the row it is on (psycopg parses
    timestamptz in Python for Django), at hundreds of thousands of rows."""
    from django.utils import timezone

    instant = (
        Coalesce(*instants, output_field=DateTimeField())
        if len(instants) > 1
        else instants[0]
    )
    return TruncDate(instant, tzinfo=timezone.get_current_timezone())


def _unposted_bakong(merchant, date_from, date_to, shared) -> list[Posted]:
    """Verified Bakong payments no ledger line carries yet (the bank that holds
    the receiving account has not reported them)."""
    start, end = _bounds(date_from, date_to)
    rows = (
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
        .annotate(
            amount_minor=_raw("amount"),
            day=_local_day("created_at_bakong", "received_at"),
        )
        .values_list(
            "pk",
            "hash",
            "md5",
            "external_ref",
            "amount_minor",
            "currency",
            "day",
            "from_account_id",
        )
        .order_by()
        .iterator(chunk_size=5000)
    )
    out = []
    for pk, hash_, md5, ref, amount, currency, day, payer in rows:
        row = bakong_posted(
            pk=pk,
            hash=hash_,
            md5=md5,
            external_ref=ref,
            amount_minor=_minor(amount),
            currency=currency,
            day=day.toordinal(),
            payer_account=payer,
            shared=shared,
        )
        out.append(row)
    return out


def _bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    from django.utils import timezone

    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def _codes(merchant, since, date_to, shared, askable) -> list[Expected]:
    """Dynamic codes issued in the window; a static code (no amount) is expected
    once per payment it received, for that payment's amount."""
    start, end = _bounds(since, date_to)
    # code -> its payments' identity tokens, in payment order: the tokens the
    # code's row will hold anyway, not each payment's raw texts until then (a
    # hundred thousand paid codes: that copy was a third of what the load held
    # beyond its rows, 17 MB)
    payments: dict[int, list[str]] = {}
    static: list[tuple] = []
    for (
        request_pk,
        bt_pk,
        hash_,
        md5,
        ref,
        amount,
        currency,
        day,
        is_static,
    ) in (
        BakongTransaction.objects.for_merchant(merchant)
        .filter(
            payment_request__created_at__gte=start,
            payment_request__created_at__lt=end,
        )
        .annotate(
            amount_minor=_raw("amount"),
            code_amount=_raw("payment_request__amount"),
            day=_local_day("created_at_bakong", "received_at"),
        )
        .values_list(
            "payment_request_id",
            "pk",
            "hash",
            "md5",
            "external_ref",
            "amount_minor",
            "currency",
            "day",
            "code_amount",
        )
        .order_by()
        .iterator(chunk_size=5000)
    ):
        if is_static is None:
            static.append((request_pk, bt_pk, hash_, md5, amount, currency, day))
            continue
        payments.setdefault(request_pk, []).extend(
            khqr_payment_tokens(hash=hash_, md5=md5, external_ref=ref, shared=shared)
        )
    out = []
    for pk, md5, order, bill, amount, currency, created_day, expires_day, late in (
        PaymentRequest.objects.for_merchant(merchant)
        .filter(created_at__gte=start, created_at__lt=end, amount__isnull=False)
        .annotate(
            amount_minor=_raw("amount"),
            late=_LATE_UNSETTLED,
            created_day=_local_day("created_at"),
            # the window runs to the accepted late payment's day, else expiry
            expires_day=_local_day(_ACCEPTED_PAID_AT, "expires_at", "created_at"),
        )
        .values_list(
            "pk",
            "md5",
            "order_id",
            "bill_number",
            "amount_minor",
            "currency",
            "created_day",
            "expires_day",
            "late",
        )
        .order_by()
        .iterator(chunk_size=5000)
    ):
        row = khqr_expected(
            pk=pk,
            md5=md5,
            order_id=order,
            bill_number=bill,
            amount_minor=_minor(amount),
            currency=currency,
            created_day=created_day.toordinal(),
            expires_day=expires_day.toordinal(),
            payment_tokens=payments.pop(pk, ()),
            flags=("late",) if late else (),
            shared=shared,
            askable=askable,
        )
        out.append(row)
    for _request, bt_pk, hash_, _md5, amount, currency, local_day in static:
        day = shared[local_day]
        row = Expected(
            id=f"ps:{bt_pk}",  # a static code's payment: see static_code_payment
            kind="khqr",
            ref_keys=(),
            amount_minor=shared[_minor(amount)],
            currency=shared[currency],
            date_from=shared[day.toordinal()],
            date_to=shared[day.toordinal()],
            identity=(shared[hash_token(hash_)],),
            label=f"static code payment {hash_[:8]}",
        )
        out.append(row)
    return out


def _invoices(merchant, since, date_to, shared) -> list[Expected]:
    out = []
    for pk, number, customer, account, ref, amount, currency, issued, due in (
        Invoice.objects.for_merchant(merchant)
        .filter(issue_date__lte=date_to, due_date__gte=since)
        .annotate(amount_minor=_raw("amount"))
        .values_list(
            "pk",
            "invoice_number",
            "customer",
            "customer_account",
            "reference",
            "amount_minor",
            "currency",
            "issue_date",
            "due_date",
        )
        .order_by()
        .iterator(chunk_size=5000)
    ):
        row = invoice_expected(
            pk=pk,
            number=number,
            customer=customer,
            customer_account=account,
            reference=ref,
            amount_minor=_minor(amount),
            currency=currency,
            issue_day=issued.toordinal(),
            due_day=due.toordinal(),
            shared=shared,
        )
        out.append(row)
    return out


def _refunds(merchant, since, date_to, shared) -> list[Expected]:
    start, end = _bounds(since, date_to)
    out = []
    for pk, reference, amount, currency, day, payer, request_pk in (
        Refund.objects.for_merchant(merchant)
        .filter(created_at__gte=start, created_at__lt=end)
        .annotate(amount_minor=_raw("amount"), day=_local_day("created_at"))
        .values_list(
            "pk",
            "bank_reference",
            "amount_minor",
            "currency",
            "day",
            "payment_request__payer_account",
            "payment_request_id",
        )
        .order_by()
        .iterator(chunk_size=5000)
    ):
        row = refund_expected(
            pk=pk,
            bank_reference=reference,
            amount_minor=_minor(amount),
            currency=currency,
            day=day.toordinal(),
            payer_account=payer,
            refunds_pk=request_pk,
            shared=shared,
        )
        out.append(row)
    return out


def _rates(date_from: dt.date, date_to: dt.date) -> dict[tuple[int, str, str], str]:
    return {
        (day.toordinal(), base, quote): str(rate)
        for day, base, quote, rate in ExchangeRate.objects.filter(
            date__gte=date_from - dt.timedelta(days=RATE_DAYS_BACK), date__lte=date_to
        ).values_list("date", "base", "quote", "rate")
    }


_ITEM_ID = {
    "khqr": ("pr", "payment_request_id"),
    "invoice": ("inv", "invoice_id"),
    "refund": ("rf", "refund_id"),
    "line": ("ln", "transaction_id"),
    "bakong": ("bk", "bakong_transaction_id"),
}


def engine_id(kind: str, payment_request, invoice, refund, transaction, bakong) -> str:
    """The engine's id of a match item (a static code's payment is its Bakong
    transaction's)."""
    if kind == "khqr" and bakong is not None:
        return f"ps:{bakong}"
    prefix, _ = _ITEM_ID[kind]
    value = {
        "khqr": payment_request,
        "invoice": invoice,
        "refund": refund,
        "line": transaction,
        "bakong": bakong,
    }[kind]
    return f"{prefix}:{value}"


def _decided(
    merchant: Merchant,
    since: dt.date,
    date_from: dt.date,
    date_to: dt.date,
    loaded: Container[str],
) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """Ids held by what people decided (confirmed matches, matches of signed-off
    months, and matches a run keeps outside this period), and the pairs
    accountants rejected. Only the `loaded` ids are kept: the engine sets a
    locked row aside, and the other ids (a hundred thousand at scale, of
    earlier months) name no row of this run."""
    # a run replaces only its own period's engine matches; every other match it
    # leaves standing (last month's, read again through the lookback) holds its
    # items, or they would be called unpaid or matched a second time
    signed = list(
        PeriodSignOff.objects.for_merchant(merchant)
        .filter(reopened_at__isnull=True)
        .values_list("month", flat=True)
    )
    near = Match.objects.for_merchant(merchant).filter(
        day__gte=since - dt.timedelta(days=LOOKBACK_DAYS)
    )
    holding = Q(status=MatchStatus.CONFIRMED) | ~Q(day__gte=date_from, day__lte=date_to)
    for month in signed:
        holding |= Q(day__gte=month, day__lt=_next_month(month))
    locked: set[str] = set()
    rejected_by_match: dict[int, tuple[list[str], list[str]]] = {}
    for match_id, status, kind, pr, inv, rf, ln, bk in (
        MatchItem.objects.filter(
            match__in=near.filter(holding | Q(status=MatchStatus.REJECTED))
        )
        .values_list(
            "match_id",
            "match__status",
            "kind",
            "payment_request_id",
            "invoice_id",
            "refund_id",
            "transaction_id",
            "bakong_transaction_id",
        )
        .iterator(chunk_size=5000)
    ):
        key = engine_id(kind, pr, inv, rf, ln, bk if kind != "khqr" else None)
        if kind == "khqr" and bk is not None:
            key = f"ps:{bk}"
        if status == MatchStatus.REJECTED:
            sides = rejected_by_match.setdefault(match_id, ([], []))
            sides[0 if kind in ("khqr", "invoice", "refund") else 1].append(key)
        elif key in loaded:
            locked.add(key)
    rejected = {(e, p) for es, ps in rejected_by_match.values() for e in es for p in ps}
    return frozenset(locked), frozenset(rejected)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
