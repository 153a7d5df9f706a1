"""The reconciliation widgets of the dashboard.

- This month's match rate, what is unmatched or proposed, the open exceptions
  and the oldest one, each a link to its list.
- What all the merchant's money is worth in its own currency today: the active
  accounts' current balances converted at the exchange rates table's newest rate
  of the last 7 days (a direct pair either way round, else through USD), saying
  which day's rate it used, and never guessing one that is missing. Exact: the
  parts are summed as fractions and rounded half up once, at the end."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.http import HttpRequest
from django.utils import timezone

from core.money import CURRENCIES, quantum
from merchants.dashboard import SLOT_TOTALS, DashboardWidget
from merchants.models import Merchant
from merchants.selectors import account_list
from reconciliation.models import ExchangeRate
from reconciliation.selectors import month_summary

RATE_DAYS_BACK = 7
PIVOT = "USD"  # the currency both KHR and THB are quoted against


def reconciliation_widget(request: HttpRequest) -> DashboardWidget | None:
    merchant = getattr(request, "merchant", None)
    if merchant is None:
        return None
    today = timezone.localdate()
    summary = month_summary(merchant=merchant, month=today)
    return DashboardWidget(
        template="reconciliation/_dashboard.html",
        context={
            "summary": summary,
            "age": (today - summary.oldest_open.day).days
            if summary.oldest_open
            else None,
        },
    )


@dataclass(frozen=True)
class RateUsed:
    """One row of the rates table as it was written: 1 base = rate quote."""

    day: dt.date
    base: str
    quote: str
    rate: Decimal

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate:,f} {self.quote}"


@dataclass(frozen=True)
class ConvertedPart:
    currency: str
    amount: Decimal  # the balances in this currency
    target: str
    exact: Fraction | None  # in the target currency, unrounded; None: no rate
    rates: tuple[RateUsed, ...]

    @property
    def converted(self) -> Decimal | None:
        """Rounded for showing; the total adds the exact parts."""
        if self.exact is None:
            return None
        return _round_half_up(self.exact, self.target)


@dataclass(frozen=True)
class ConvertedTotal:
    """The balances in one currency: the total of every part that has a rate."""

    target: str
    day: dt.date
    parts: list[ConvertedPart]
    without_balance: list[str]  # accounts that have no current balance

    @property
    def total(self) -> Decimal:
        exact = sum((p.exact for p in self.parts if p.exact is not None), Fraction(0))
        return _round_half_up(exact, self.target)

    @property
    def missing(self) -> list[ConvertedPart]:
        return [p for p in self.parts if p.exact is None]

    @property
    def rates(self) -> list[RateUsed]:
        return list(dict.fromkeys(r for p in self.parts for r in p.rates))


def rates_near(
    *, day: dt.date, days_back: int = RATE_DAYS_BACK
) -> dict[tuple[str, str], RateUsed]:
    """The newest rate of each pair on or before `day` (at most `days_back`
    old), keyed by (base, quote) as written: one query."""
    newest: dict[tuple[str, str], RateUsed] = {}
    rows = ExchangeRate.objects.filter(
        date__lte=day, date__gte=day - dt.timedelta(days=days_back)
    ).order_by("date", "pk")
    for row in rows.values_list("date", "base", "quote", "rate"):
        newest[(row[1], row[2])] = RateUsed(*row)
    return newest


def conversion(
    *, source: str, target: str, rates: dict[tuple[str, str], RateUsed]
) -> tuple[Fraction, tuple[RateUsed, ...]] | None:
    """How many `target` one `source` is worth, exactly, and the rows that say
    so: the pair either way round (the newer if both are there), else through
    USD; None when the table has no such rate."""
    if source == target:
        return Fraction(1), ()
    direct, inverse = rates.get((source, target)), rates.get((target, source))
    if direct is not None and (inverse is None or direct.day >= inverse.day):
        return Fraction(direct.rate), (direct,)
    if inverse is not None:
        return 1 / Fraction(inverse.rate), (inverse,)
    if PIVOT in (source, target):
        return None
    first = conversion(source=source, target=PIVOT, rates=rates)
    second = conversion(source=PIVOT, target=target, rates=rates)
    if first is None or second is None:
        return None
    return first[0] * second[0], first[1] + second[1]


def balances_converted(
    *, merchant: Merchant, day: dt.date | None = None
) -> ConvertedTotal:
    """The active accounts' current balances, per currency and all together in
    the merchant's currency at the rates of `day` (today by default)."""
    day = day or timezone.localdate()
    target = merchant.default_currency
    held: dict[str, Decimal] = defaultdict(Decimal)
    without_balance = []
    for account in account_list(merchant=merchant).order_by("pk"):
        if account.current_balance is None:
            without_balance.append(account.label)
        else:
            held[account.currency] += account.current_balance
    rates = rates_near(day=day) if set(held) - {target} else {}
    parts = []
    for currency in dict.fromkeys([target, *CURRENCIES, *sorted(held)]):
        if currency not in held:
            continue
        found = conversion(source=currency, target=target, rates=rates)
        exact = None if found is None else Fraction(held[currency]) * found[0]
        parts.append(
            ConvertedPart(
                currency=currency,
                amount=held[currency],
                exact=exact,
                rates=() if found is None else found[1],
                target=target,
            )
        )
    return ConvertedTotal(
        target=target, day=day, parts=parts, without_balance=without_balance
    )


def _round_half_up(value: Fraction, currency: str) -> Decimal:
    """To the currency's shown places, ties away from zero (as quantize does)."""
    step = Fraction(quantum(currency))
    units = abs(value) / step
    whole = int(units + Fraction(1, 2))  # floor, for a non-negative number
    signed = whole if value >= 0 else -whole
    return (Decimal(signed) * quantum(currency)).quantize(quantum(currency))


def converted_total_widget(request: HttpRequest) -> DashboardWidget | None:
    merchant = getattr(request, "merchant", None)
    if merchant is None:
        return None
    converted = balances_converted(merchant=merchant)
    if all(p.currency == converted.target for p in converted.parts):
        return None  # the balance in its own currency already says it all
    return DashboardWidget(
        template="merchants/dashboard/converted.html",
        context={"converted": converted},
        slot=SLOT_TOTALS,
    )
