"""transaction_posted_apply: a bank push becomes one ledger line, once; bad payloads
name their field; a push the feed already covers creates nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.exceptions import InvalidInput
from merchants.models import Account
from statements.models import PushEvent, Transaction
from statements.services.push import transaction_posted_apply
from tests.factories import AccountFactory, ConnectionFactory, TransactionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(merchant):
    account = AccountFactory(merchant=merchant, currency="USD", number="0010123456")
    return ConnectionFactory(account=account, merchant=merchant)


@pytest.fixture
def khr_connection(merchant):
    account = AccountFactory(merchant=merchant, currency="KHR", number="0020999")
    return ConnectionFactory(account=account, merchant=merchant)


def payload(**changes) -> dict:
    base = {
        "event": "transaction.posted",
        "acct_id": "0010123456",
        "direction": "CREDIT",
        "amount": 250.00,
        "ccy": "USD",
        "balance_after": 2393.10,
        "channel": "TRANSFER",
        "ref": "REPAY-10293",
        "occurred_at": "2026-05-12T14:02:11+07:00",
    }
    base.update(changes)
    return base


def test_credit_push_posts_a_positive_line_and_moves_the_balance(connection):
    # when
    line, created = transaction_posted_apply(connection=connection, payload=payload())
    # then
    assert created is True
    assert line.amount == Decimal("250.00") and line.source == "push"
    assert line.posted_at == dt.datetime(2026, 5, 12, 7, 2, 11, tzinfo=dt.UTC)
    assert line.value_date == dt.date(2026, 5, 12)
    assert (line.channel, line.reference) == ("TRANSFER", "REPAY-10293")
    assert line.balance_after == Decimal("2393.10")
    account = Account.objects.get(pk=connection.account.pk)
    assert account.current_balance == Decimal("2393.10")
    assert account.balance_as_of == line.posted_at


def test_debit_in_lower_case_posts_a_negative_line(connection):
    # when
    line, _ = transaction_posted_apply(
        connection=connection, payload=payload(direction="debit", amount="12.50")
    )
    # then
    assert line.amount == Decimal("-12.50")


def test_the_same_push_twice_is_one_line(connection):
    # given a push applied once
    first, _ = transaction_posted_apply(connection=connection, payload=payload())
    # when the bank retries it (same ref and time, written another way)
    again, created = transaction_posted_apply(
        connection=connection,
        payload=payload(occurred_at="2026-05-12T07:02:11+00:00", amount="250"),
    )
    # then
    assert created is False and again.pk == first.pk
    assert Transaction.objects.count() == 1 and PushEvent.objects.count() == 1


def test_same_ref_at_another_time_is_another_line(connection):
    # given two pushes sharing a ref (a standing order) at different times
    transaction_posted_apply(connection=connection, payload=payload())
    # when
    _, created = transaction_posted_apply(
        connection=connection, payload=payload(occurred_at="2026-06-12T14:02:11+07:00")
    )
    # then
    assert created is True and Transaction.objects.count() == 2


def test_push_for_a_line_the_feed_already_posted_creates_nothing(connection):
    # given the feed's own line for this transfer
    feed_line = TransactionFactory(
        account=connection.account,
        external_id="T2605X",
        amount=Decimal("250.00"),
        reference="REPAY-10293",
        posted_at=dt.datetime(2026, 5, 12, 7, 2, 30, tzinfo=dt.UTC),
        source="feed",
    )
    # when
    line, created = transaction_posted_apply(connection=connection, payload=payload())
    # then
    assert created is False and line.pk == feed_line.pk
    assert Transaction.objects.count() == 1
    event = PushEvent.objects.get()
    assert event.confirmed_txn_id == "T2605X" and event.transaction_id == feed_line.pk


def test_an_older_push_does_not_overwrite_a_newer_balance(connection):
    # given a balance known as of June
    Account.objects.filter(pk=connection.account.pk).update(
        current_balance=Decimal("9000.00"),
        balance_as_of=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    )
    # when a May push arrives late
    transaction_posted_apply(connection=connection, payload=payload())
    # then
    assert Account.objects.get(pk=connection.account.pk).current_balance == Decimal(
        "9000.00"
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ref": ""}, "ref", "is required"),
        ({"amount": None}, "amount", "is required"),
        ({"direction": "SIDEWAYS"}, "direction", "neither CREDIT nor DEBIT"),
        ({"amount": "12.345"}, "amount", "at most 2 decimal places"),
        ({"amount": "-5"}, "amount", "positive"),
        ({"amount": "ten"}, "amount", "not a plain decimal"),
        ({"ccy": "KHR"}, "ccy", "does not match"),
        ({"acct_id": "999"}, "acct_id", "not the account of this connection"),
        ({"occurred_at": "2026-05-12 14:02"}, "occurred_at", "UTC offset"),
        ({"occurred_at": "yesterday"}, "occurred_at", "not an ISO 8601"),
        ({"balance_after": "2,393.10"}, "balance_after", "not a plain decimal"),
    ],
)
def test_bad_payloads_name_the_field_and_write_nothing(
    connection, changes, field, message
):
    # when / then
    with pytest.raises(InvalidInput, match=message) as info:
        transaction_posted_apply(connection=connection, payload=payload(**changes))
    assert info.value.field == field
    assert Transaction.objects.count() == 0 and PushEvent.objects.count() == 0


def test_fractional_riel_push_is_refused(khr_connection):
    # when / then
    with pytest.raises(InvalidInput, match="whole numbers"):
        transaction_posted_apply(
            connection=khr_connection,
            payload=payload(
                acct_id="0020999", ccy="KHR", amount="1000.5", balance_after=None
            ),
        )


def test_a_cross_border_push_within_the_banks_rounding_is_kept_unflagged(connection):
    # given the line as a push: 17,800.00 THB × 0.027925 = 497.065 USD
    fx = {"original_amount": "17800.00", "original_ccy": "THB", "fx_rate": "0.027925"}
    # when
    line, created = transaction_posted_apply(
        connection=connection,
        payload=payload(
            direction="DEBIT", amount="497.06", channel="CROSSBORDER", **fx
        ),
    )
    # then
    assert created is True
    assert (line.original_amount, line.original_currency) == (
        Decimal("17800.00"),
        "THB",
    )
    assert str(Transaction.objects.get().fx_rate) == "0.027925"
    assert line.fx_mismatch is False


def test_a_cross_border_push_beyond_the_banks_rounding_is_kept_and_flagged(connection):
    # given a push whose amount + fee is 50 cents off 1,000 THB × 0.0289 (a JSON
    # number rate, as a bank may send it)
    fx = {"original_amount": 1000, "original_currency": "THB", "fx_rate": 0.0289}
    # when
    line, created = transaction_posted_apply(
        connection=connection,
        payload=payload(direction="DEBIT", amount="28.40", fee="0.00", **fx),
    )
    # then it is posted as the bank sent it, flagged
    assert created is True
    stored = Transaction.objects.get()
    assert stored.amount == Decimal("-28.40") and stored.fee == Decimal("0.00")
    assert stored.fx_mismatch is True


def test_a_push_keeps_its_biller_category(connection):
    # when
    line, _ = transaction_posted_apply(
        connection=connection,
        payload=payload(direction="DEBIT", channel="BILL", biller_category="utilities"),
    )
    # then
    assert Transaction.objects.get().biller_category == "utilities"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"original_amount": "100.00"}, "fx_rate", "required with the other"),
        ({"fx_rate": "0.03", "original_ccy": "THB"}, "original_amount", "required"),
        (
            {"original_amount": "1", "original_ccy": "EUR", "fx_rate": "1.1"},
            "original_ccy",
            "not KHR, USD or THB",
        ),
        (
            {"original_amount": "1", "original_ccy": "THB", "fx_rate": "-0.03"},
            "fx_rate",
            "positive",
        ),
        ({"biller_category": "x" * 65}, "biller_category", "longer than 64"),
    ],
)
def test_bad_cross_border_fields_name_the_field(connection, changes, field, message):
    # when / then
    with pytest.raises(InvalidInput, match=message) as info:
        transaction_posted_apply(connection=connection, payload=payload(**changes))
    assert info.value.field == field
    assert Transaction.objects.count() == 0
