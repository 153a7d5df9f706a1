"""Balance gaps: where the bank's own balances and the ledger disagree.

Two proofs: a feed window whose reported closing is not its reported opening plus
its lines (the last read of that window counts), and two statements of an account
where one's closing is not the next one's opening.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from core.money import format_amount
from merchants.models import Merchant
from statements.models import FeedSyncRun, Statement


@dataclass(frozen=True)
class BalanceGap:
    key: str
    account_id: int
    currency: str
    difference: Decimal
    day: dt.date
    detail: str


def balance_gaps(
    *, merchant: Merchant, date_from: dt.date, date_to: dt.date
) -> list[BalanceGap]:
    """The period's balance gaps, each once."""
    gaps: list[BalanceGap] = []
    latest: dict[tuple[int, dt.date, dt.date], FeedSyncRun] = {}
    for run in (
        FeedSyncRun.objects.for_merchant(merchant)
        .filter(window_start__lte=date_to, window_end__gte=date_from)
        .exclude(reported_closing=None)
        .exclude(computed_closing=None)
        .select_related("account")
        .order_by("started_at", "pk")
    ):
        latest[(run.account_id, run.window_start, run.window_end)] = run
    for (account_id, start, end), run in sorted(latest.items()):
        if not run.mismatch:
            continue
        difference = run.reported_closing - run.computed_closing
        gaps.append(
            BalanceGap(
                key=f"feed:{account_id}:{start}:{end}",
                account_id=account_id,
                currency=run.currency,
                difference=difference,
                day=end,
                detail=f"{run.account.label} {start} to {end}: the bank's closing "
                f"{format_amount(run.reported_closing, run.currency)} is not its "
                f"opening plus the lines "
                f"({format_amount(run.computed_closing, run.currency)})",
            )
        )
    previous: dict[int, Statement] = {}
    for statement in (
        Statement.objects.for_merchant(merchant)
        .filter(period_start__lte=date_to, period_end__gte=date_from)
        .select_related("account")
        .order_by("account_id", "period_start", "pk")
    ):
        before = previous.get(statement.account_id)
        previous[statement.account_id] = statement
        if before is None or before.period_end >= statement.period_start:
            continue
        if before.closing_balance == statement.opening_balance:
            continue
        difference = statement.opening_balance - before.closing_balance
        gaps.append(
            BalanceGap(
                key=f"statement:{statement.account_id}:{before.pk}:{statement.pk}",
                account_id=statement.account_id,
                currency=statement.currency,
                difference=difference,
                day=statement.period_start,
                detail=f"{statement.account.label}: the statement of "
                f"{statement.period_start} opens at "
                f"{format_amount(statement.opening_balance, statement.currency)}, "
                f"the one before closed at "
                f"{format_amount(before.closing_balance, before.currency)}",
            )
        )
    return gaps
