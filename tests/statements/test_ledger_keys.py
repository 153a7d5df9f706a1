"""The ledger's tenant rule, held by PostgreSQL whatever the client: a line's
(account, merchant) is an account and that account's merchant, and an account
with lines can be neither deleted nor moved (statements migration 0007). Django's
PROTECT refuses the delete on both databases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from statements.models import Transaction
from statements.services.ledger_rows import (
    LedgerCopy,
    row_shape,
    transaction_rows_insert,
)
from tests.factories import AccountFactory, TransactionFactory
from tests.statements.ingest_files import line_draft

pytestmark = pytest.mark.django_db

# the rule is the database's on PostgreSQL (production); on SQLite, the embedded
# default, the application's (see statements migration 0007)
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a PostgreSQL trigger holds this"
)


def refused(write) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


@postgres_only
def test_a_line_of_one_merchant_on_another_merchants_account_is_refused(
    account, other_merchant
):
    # when / then: the ORM lets the pair through, the database does not
    refused(lambda: TransactionFactory(account=account, merchant=other_merchant))
    assert not Transaction.objects.exists()


@postgres_only
def test_a_line_for_an_account_that_does_not_exist_is_refused(account):
    missing = account.pk + 1000
    refused(
        lambda: Transaction.objects.create(
            merchant=account.merchant,
            account_id=missing,
            external_id="X",
            posted_at=dt.datetime(2026, 4, 3, tzinfo=dt.UTC),
            value_date=dt.date(2026, 4, 3),
            amount=Decimal("1.00"),
            currency="USD",
            source="feed",
        )
    )


@postgres_only
def test_bulk_writes_are_held_to_the_same_rule(account, other_merchant):
    # given an account object that claims the other merchant
    account.merchant_id = other_merchant.pk
    # when / then: neither the ON CONFLICT path nor the COPY path gets a line in
    refused(
        lambda: transaction_rows_insert(
            account=account, lines=[line_draft()], source="file"
        )
    )
    shape = row_shape(account=account, source="file")

    def copy() -> None:
        with LedgerCopy(shape) as copier:
            copier.write([line_draft(external_id="K2")])

    refused(copy)
    assert not Transaction.objects.exists()


@postgres_only
def test_a_line_cannot_be_moved_to_another_merchants_account(account, other_merchant):
    line = TransactionFactory(account=account)
    theirs = AccountFactory(merchant=other_merchant)
    refused(lambda: Transaction.objects.filter(pk=line.pk).update(account=theirs))
    line.refresh_from_db()
    assert line.account_id == account.pk


@postgres_only
def test_an_account_with_lines_cannot_be_deleted_or_moved_under_the_orm(
    account, other_merchant
):
    # given an account with a line, and one without
    TransactionFactory(account=account)
    empty = AccountFactory(merchant=account.merchant, number="EMPTY-1")
    table = connection.ops.quote_name("merchants_account")

    def raw(sql: str, *params) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    # when / then: raw SQL (no Django PROTECT in the way) is refused too
    refused(lambda: raw(f"DELETE FROM {table} WHERE id = %s", account.pk))  # noqa: S608
    refused(
        lambda: raw(
            f"UPDATE {table} SET merchant_id = %s WHERE id = %s",  # noqa: S608
            other_merchant.pk,
            account.pk,
        )
    )
    raw(f"DELETE FROM {table} WHERE id = %s", empty.pk)  # noqa: S608
    assert account.__class__.objects.filter(pk=account.pk).exists()
    assert not account.__class__.objects.filter(pk=empty.pk).exists()


def test_the_orm_refuses_to_delete_an_account_with_lines(account):
    from django.db.models import ProtectedError

    TransactionFactory(account=account)
    with pytest.raises(ProtectedError):
        account.delete()
