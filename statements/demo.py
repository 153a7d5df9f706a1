"""Demo ledger lines: a month of deterministic activity per account."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from core.periods import zone_for_currency
from merchants.models import Account, Merchant
from statements.models import Channel, Source, Transaction

_COUNTERPARTIES = [
    "Sok Dara",
    "Chan Sophea",
    "Lim Heng",
    "Keo Vanna",
    "Srey Mom",
    "Bopha Mart",
]


def seed_demo_data(*, merchant: Merchant, accounts: list[Account]) -> None:
    """Insert 30 days of lines per account (natural keys make a re-run a no-op)."""
    today = timezone.localdate()
    for account in accounts:
        if Transaction.objects.filter(account=account).exists():
            continue
        rng = random.Random(f"demo-{account.number}")  # noqa: S311 - demo data
        zone = zone_for_currency(account.currency)
        unit = Decimal("100") if account.currency == "KHR" else Decimal("0.01")
        balance = (
            Decimal(2_000_000) if account.currency == "KHR" else Decimal("1500.00")
        )
        rows = []
        for day_offset in range(30, 0, -1):
            day = today - dt.timedelta(days=day_offset)
            for n in range(rng.randint(1, 4)):
                credit = rng.random() < 0.75
                size = (
                    rng.randint(50, 5000)
                    if account.currency == "KHR"
                    else rng.randint(150, 9000)
                )
                amount = Decimal(size) * unit * (1 if credit else -1)
                balance += amount
                posted = dt.datetime.combine(
                    day, dt.time(8 + n * 3, rng.randint(0, 59)), tzinfo=zone
                )
                rows.append(
                    Transaction(
                        merchant=merchant,
                        account=account,
                        external_id=f"DEMO-{account.pk}-{day:%Y%m%d}-{n}",
                        posted_at=posted,
                        value_date=day,
                        amount=amount,
                        currency=account.currency,
                        channel=Channel.KHQR if credit else Channel.TRANSFER,
                        counterparty_name=rng.choice(_COUNTERPARTIES),
                        reference=f"INV-{day:%m%d}-{n}"
                        if credit
                        else "Supplier payment",
                        balance_after=balance,
                        source=Source.FEED
                        if account.provider != "bakong"
                        else Source.BAKONG,
                    )
                )
        Transaction.objects.bulk_create(rows, ignore_conflicts=True)
        Account.objects.filter(pk=account.pk).update(
            current_balance=balance,
            available_balance=balance,
            balance_as_of=timezone.now(),
        )
