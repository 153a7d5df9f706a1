"""The ledger's part of the dashboard: for each currency of the merchant's
accounts, the last 30 days' money in and out, what came in by channel, and the
cash position at the end of each day, as three charts drawn on the server.

A few queries whatever the number of accounts, lines or days: the accounts, one
aggregate of the window's lines by account, local day and channel, and the
accounts' openings (account_openings: two or three)."""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from core import charts
from core.money import CURRENCIES, format_number
from core.periods import local_date, period_bounds, zone_for_currency
from merchants.dashboard import SLOT_CHARTS, DashboardWidget
from merchants.models import Account, Merchant
from merchants.selectors import account_list
from statements.models import Channel, Transaction
from statements.services.balances import OPENING_COMPUTED, balances_before_many

DAYS = 30
OPENING_CURRENT = "current"


@dataclass(frozen=True)
class DayFlow:
    day: dt.date
    money_in: Decimal  # credits, ≥ 0
    money_out: Decimal  # debits as the ledger signs them, ≤ 0
    position: Decimal  # the accounts' balance at the end of the day

    @property
    def net(self) -> Decimal:
        return self.money_in + self.money_out


@dataclass(frozen=True)
class ChannelFlow:
    channel: str
    label: str
    money_in: Decimal
    money_out: Decimal  # ≤ 0
    lines: int


@dataclass(frozen=True)
class CurrencyActivity:
    """One currency's window: its days, its money in by channel, and the
    balance its accounts opened the window with."""

    currency: str
    days: list[DayFlow]
    channels: list[ChannelFlow]
    opening: Decimal
    accounts: list[str]
    from_current: list[str]  # no bank balance on their lines: run back from
    # the account's current balance
    computed: list[str]  # no bank balance at all: their lines from zero

    @property
    def money_in(self) -> Decimal:
        return sum((d.money_in for d in self.days), Decimal(0))

    @property
    def money_out(self) -> Decimal:
        return sum((d.money_out for d in self.days), Decimal(0))

    @property
    def closing(self) -> Decimal:
        return self.days[-1].position if self.days else self.opening


def ledger_activity(
    *, merchant: Merchant, now: dt.datetime | None = None, days: int = DAYS
) -> list[CurrencyActivity]:
    """Per currency of the merchant's active accounts, the `days` local days to
    today: each day's credits and debits, both by channel, and the balance at
    each day's end (the accounts' openings, plus each day's lines)."""
    now = now or timezone.now()
    accounts = list(account_list(merchant=merchant).order_by("pk"))
    # Phnom Penh and Bangkok keep the same clock: accounts whose windows start
    # and end at the same instants share one aggregate and one openings read
    groups: dict[tuple, list[Account]] = defaultdict(list)
    for account in accounts:
        zone = zone_for_currency(account.currency)
        today = local_date(now, zone)
        first = today - dt.timedelta(days=days - 1)
        groups[(*period_bounds(first, today, zone), first)].append(account)

    flows: dict[str, dict[dt.date, list[Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: [Decimal(0), Decimal(0)])
    )
    channels: dict[str, dict[str, list]] = defaultdict(
        lambda: defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    )
    openings: dict[str, Decimal] = defaultdict(Decimal)
    computed: dict[str, list[str]] = defaultdict(list)
    from_current: dict[str, list[str]] = defaultdict(list)
    windows: dict[str, dt.date] = {}
    for (start, end, first), members in groups.items():
        zone = zone_for_currency(members[0].currency)
        currency_of = {a.pk: a.currency for a in members}
        for a in members:
            windows[a.currency] = first
        rows = (
            Transaction.objects.filter(
                account_id__in=list(currency_of),
                posted_at__gte=start,
                posted_at__lt=end,
            )
            .annotate(day=TruncDate("posted_at", tzinfo=zone))
            .order_by()
            .values("account_id", "day", "channel")
            .annotate(
                money_in=Sum("amount", filter=Q(amount__gt=0)),
                money_out=Sum("amount", filter=Q(amount__lt=0)),
                lines=Count("pk"),
            )
        )
        for row in rows:
            currency = currency_of[row["account_id"]]
            day = flows[currency][row["day"]]
            day[0] += row["money_in"] or 0
            day[1] += row["money_out"] or 0
            by_channel = channels[currency][row["channel"]]
            by_channel[0] += row["money_in"] or 0
            by_channel[1] += row["money_out"] or 0
            by_channel[2] += row["lines"]
        before = account_openings(accounts=members, start=start, end=end)
        for account in members:
            balance, source = before[account.pk]
            openings[account.currency] += balance
            if source == OPENING_CURRENT:
                from_current[account.currency].append(account.label)
            elif source == OPENING_COMPUTED:
                computed[account.currency].append(account.label)

    answer = []
    for currency in _currency_order(merchant, {a.currency for a in accounts}):
        first = windows[currency]
        position = openings[currency]
        series = []
        for offset in range(days):
            day = first + dt.timedelta(days=offset)
            money_in, money_out = flows[currency].get(day, (Decimal(0), Decimal(0)))
            position += money_in + money_out
            series.append(DayFlow(day, money_in, money_out, position))
        answer.append(
            CurrencyActivity(
                currency=currency,
                days=series,
                channels=sorted(
                    (
                        ChannelFlow(code, _channel_label(code), money_in, out, n)
                        for code, (money_in, out, n) in channels[currency].items()
                    ),
                    key=lambda c: (-c.money_in, c.money_out, c.label),
                ),
                opening=openings[currency],
                accounts=[a.label for a in accounts if a.currency == currency],
                from_current=from_current[currency],
                computed=computed[currency],
            )
        )
    return answer


def account_openings(
    *, accounts: list[Account], start: dt.datetime, end: dt.datetime
) -> dict[int, tuple[Decimal, str]]:
    """Each account's balance at `start`, and where it comes from: the bank
    balances on its lines (the balance history statements open with); else its
    current balance (the bank's figure as of `balance_as_of`) less the lines
    since `start`; else its lines alone, from zero. Three queries at most."""
    openings = balances_before_many(accounts=accounts, instant=start, until=end)
    current = [
        a
        for a in accounts
        if openings[a.pk][1] == OPENING_COMPUTED
        and a.current_balance is not None
        and a.balance_as_of is not None
    ]
    if not current:
        return openings
    between = [
        Q(account_id=a.pk, posted_at__gte=start, posted_at__lte=a.balance_as_of)
        if a.balance_as_of >= start
        else Q(account_id=a.pk, posted_at__gt=a.balance_as_of, posted_at__lt=start)
        for a in current
    ]
    moved = dict(
        Transaction.objects.filter(reduce(operator.or_, between))
        .order_by()
        .values("account_id")
        .annotate(total=Sum("amount"))
        .values_list("account_id", "total")
    )
    for a in current:
        lines = moved.get(a.pk, Decimal(0))
        back = -lines if a.balance_as_of >= start else lines
        openings[a.pk] = (a.current_balance + back, OPENING_CURRENT)
    return openings


def _currency_order(merchant: Merchant, present: set[str]) -> list[str]:
    """The merchant's own currency first, then the table's order."""
    order = [merchant.default_currency, *CURRENCIES]
    return [c for c in dict.fromkeys(order) if c in present]


def _channel_label(code: str) -> str:
    try:
        return Channel(code).label
    except ValueError:
        return code


@dataclass(frozen=True)
class CurrencyCharts:
    activity: CurrencyActivity
    in_out: SafeString
    channels: SafeString
    position: SafeString
    # the days as text (day, in, out, net, position): the figures table under
    # the charts, formatted here once rather than by 150 template filters
    figures: list[tuple[str, str, str, str, str]]


def currency_charts(*, activity: CurrencyActivity) -> CurrencyCharts:
    """The three charts of one currency (SVG built from escaped text only)."""
    code = activity.currency
    key = code.lower()
    days = [d.day for d in activity.days]
    return CurrencyCharts(
        activity=activity,
        figures=[
            (
                f"{d.day:%a} {d.day.day} {d.day:%b}",
                *(
                    format_number(v, code)
                    for v in (d.money_in, d.money_out, d.net, d.position)
                ),
            )
            for d in activity.days
        ],
        in_out=mark_safe(  # noqa: S308 - core.charts escapes every text it writes
            charts.in_out_bars(
                key=f"chart-{key}-in-out",
                title=f"Money in and out per day, {code}",
                days=days,
                money_in=[d.money_in for d in activity.days],
                money_out=[d.money_out for d in activity.days],
                currency=code,
            )
        ),
        channels=mark_safe(  # noqa: S308 - as above
            charts.channel_bars(
                key=f"chart-{key}-channels",
                title=f"Money in and out by channel, {code}",
                rows=[(c.label, c.money_in, c.money_out) for c in activity.channels],
                currency=code,
            )
        ),
        position=mark_safe(  # noqa: S308 - as above
            charts.line_chart(
                key=f"chart-{key}-position",
                title=f"Cash position at the end of each day, {code}",
                days=days,
                values=[d.position for d in activity.days],
                currency=code,
            )
        ),
    )


def ledger_charts_widget(request: HttpRequest) -> DashboardWidget | None:
    merchant = getattr(request, "merchant", None)
    if merchant is None:
        return None
    activity = ledger_activity(merchant=merchant)
    if not activity:
        return None
    return DashboardWidget(
        template="merchants/dashboard/charts.html",
        context={
            "currencies": [currency_charts(activity=a) for a in activity],
            "days": DAYS,
        },
        slot=SLOT_CHARTS,
    )
