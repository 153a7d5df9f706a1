"""Factories for statement tests: statements (bank periods), ledgers and packs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from statements.models import Statement, Transaction
from tests.factories import AccountFactory, TransactionFactory

PP = dt.timezone(dt.timedelta(hours=7))


class StatementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Statement

    account = factory.SubFactory(AccountFactory)
    merchant = factory.LazyAttribute(lambda o: o.account.merchant)
    period_start = dt.date(2026, 11, 1)
    period_end = dt.date(2026, 11, 30)
    currency = factory.LazyAttribute(lambda o: o.account.currency)
    opening_balance = Decimal("0")
    closing_balance = Decimal("0")
    source = "feed"


def line(account, when: dt.datetime, amount: str, **fields) -> Transaction:
    """One ledger line posted at `when` (an aware datetime), booked that local day."""
    return TransactionFactory(
        account=account,
        merchant=account.merchant,
        posted_at=when.astimezone(dt.UTC),
        value_date=when.astimezone(PP).date(),
        amount=Decimal(amount),
        **fields,
    )


def november_ledger(account, amounts: list[str], **fields) -> list[Transaction]:
    """Lines on successive November days at 10:00 Phnom Penh time."""
    return [
        line(
            account,
            dt.datetime(2026, 11, 1 + i % 28, 10, i % 60, tzinfo=PP),
            a,
            **fields,
        )
        for i, a in enumerate(amounts)
    ]
