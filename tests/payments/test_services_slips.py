"""Slip verification against a scripted Bakong (httpx.MockTransport): Bakong's
facts, the code the slip paid, never another merchant's data, and a slip shown
for a second order flagged."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from core.exceptions import InvalidInput
from merchants.models import AuditEvent
from payments.bakong_access import BakongAccess
from payments.clients.bakong import BakongClient
from payments.clients.bakong_types import BakongTransactionInfo
from payments.models import BakongTransaction, PaymentStatus, SlipCheck
from payments.services.payment_requests import bakong_transaction_apply
from payments.services.slips import BakongUnavailable, slip_check
from tests.payments.bakong_fakes import BASE, TX_HASH, FakeBakong, fail, ok, tx_data
from tests.payments.makers import payment_request_make

pytestmark = pytest.mark.django_db


def access_for(fake: FakeBakong) -> BakongAccess:
    return BakongAccess(
        client=BakongClient(base_url=BASE, token="tok", transport=fake.transport()),
        email="",
    )


def paid_code(merchant, *, tx_hash: str = TX_HASH, order_id: str = "ORDER-1"):
    """A code of the merchant, paid by the transaction `tx_hash` (recorded)."""
    code = payment_request_make(merchant=merchant, amount="1.00", order_id=order_id)
    return bakong_transaction_apply(
        payment_request_id=code.pk,
        info=BakongTransactionInfo(
            hash=tx_hash,
            from_account_id="rieu_dhqj_1984@devb",
            to_account_id=merchant.bakong_account_id,
            currency="USD",
            amount=Decimal("1.00"),
            created_date_ms=1764600000000,
        ),
    )


# --- what the slip is ----------------------------------------------------------------


def test_slip_check_asks_bakong_for_a_hash_it_does_not_know(merchant):
    # given Bakong knows the transaction; nothing is recorded here
    fake = FakeBakong().on("check_transaction_by_hash", ok(tx_data(amount=1.0)))
    # when
    answer = slip_check(merchant=merchant, hash=TX_HASH, access=access_for(fake))
    # then
    assert fake.body(fake.calls("check_transaction_by_hash")[0]) == {"hash": TX_HASH}
    assert (answer.result, answer.source) == ("paid", "bakong")
    assert answer.transaction.amount == Decimal("1.0")
    assert answer.transaction.currency == "USD"
    assert answer.transaction.from_account_id == "rieu_dhqj_1984@devb"
    assert answer.transaction.paid_at.timestamp() == 1764600000
    assert answer.to_merchant is True  # toAccountId is shop_a@wing, the merchant's
    assert answer.payment_request is None
    assert answer.reused is False
    check = SlipCheck.objects.get()
    assert (check.hash, check.result, check.source) == (TX_HASH, "paid", "bakong")
    assert AuditEvent.objects.filter(action="slip.checked").count() == 1


def test_slip_check_answers_a_recorded_transaction_without_asking_bakong(merchant):
    # given the merchant's code paid by this transaction, recorded by the poller
    code = paid_code(merchant)
    fake = FakeBakong()
    # when (any letter case)
    answer = slip_check(
        merchant=merchant, hash=TX_HASH.upper(), access=access_for(fake)
    )
    # then
    assert fake.seen == []
    assert (answer.result, answer.source) == ("paid", "recorded")
    assert answer.payment_request == code
    assert answer.transaction.amount == Decimal("1.00")


def test_slip_check_links_the_code_bakong_names_and_records_the_payment(merchant):
    # given a pending code of the merchant; Bakong's answer carries its md5
    code = payment_request_make(merchant=merchant, amount="1.00", order_id="O-7")
    fake = FakeBakong().on(
        "check_transaction_by_hash", ok(tx_data(amount="1.00", md5=code.md5))
    )
    # when
    answer = slip_check(merchant=merchant, hash=TX_HASH, access=access_for(fake))
    # then: the slip paid that code, which is settled as the poller would
    assert answer.payment_request.pk == code.pk
    assert answer.payment_request.status == PaymentStatus.PAID
    assert BakongTransaction.objects.get().payment_request_id == code.pk


def test_slip_check_by_short_hash_sends_amount_and_currency(merchant):
    # given
    fake = FakeBakong().on(
        "check_transaction_by_short_hash", ok(tx_data(amount=4000, currency="KHR"))
    )
    # when
    answer = slip_check(
        merchant=merchant,
        short_hash=TX_HASH[:8],
        amount="4000",
        currency="khr",
        access=access_for(fake),
    )
    # then
    request = fake.calls("check_transaction_by_short_hash")[0]
    assert request.content == b'{"hash":"8465d722","amount":4000,"currency":"KHR"}'
    assert answer.hash == TX_HASH
    assert answer.transaction.amount == Decimal("4000")
    assert SlipCheck.objects.get().short_hash == "8465d722"


def test_slip_check_by_short_hash_finds_a_recorded_transaction(merchant):
    # given
    code = paid_code(merchant)
    fake = FakeBakong()
    # when
    answer = slip_check(
        merchant=merchant,
        short_hash=TX_HASH[:8],
        amount=Decimal("1"),
        currency="USD",
        access=access_for(fake),
    )
    # then
    assert fake.seen == []
    assert answer.payment_request == code


@pytest.mark.parametrize(
    ("answer", "result"), [(fail(1), "not_found"), (fail(3), "failed")]
)
def test_slip_check_records_a_slip_bakong_does_not_confirm(merchant, answer, result):
    # given
    fake = FakeBakong().on("check_transaction_by_hash", answer)
    # when
    checked = slip_check(
        merchant=merchant, hash=TX_HASH, order_id="O-1", access=access_for(fake)
    )
    # then
    assert checked.result == result
    assert checked.transaction is None
    assert SlipCheck.objects.get().result == result


def test_slip_check_writes_nothing_when_bakong_cannot_be_reached(merchant):
    # given
    fake = FakeBakong().on("check_transaction_by_hash", httpx.Response(503))
    # when / then
    with pytest.raises(BakongUnavailable, match="could not be reached"):
        slip_check(merchant=merchant, hash=TX_HASH, access=access_for(fake))
    assert SlipCheck.objects.count() == 0


# --- tenancy -------------------------------------------------------------------------


def test_a_hash_another_merchant_recorded_answers_only_bakongs_facts(
    merchant, other_merchant
):
    # given merchant B's code paid by this transaction, recorded for B
    paid_code(other_merchant, order_id="B-SECRET")
    fake = FakeBakong().on(
        "check_transaction_by_hash",
        ok(tx_data(toAccountId=other_merchant.bakong_account_id)),
    )
    # when merchant A presents the slip
    answer = slip_check(
        merchant=merchant, hash=TX_HASH, order_id="A-1", access=access_for(fake)
    )
    # then A gets Bakong's facts (Bakong was asked) and nothing of B's
    assert len(fake.calls("check_transaction_by_hash")) == 1
    assert (answer.source, answer.payment_request) == ("bakong", None)
    assert answer.to_merchant is False
    assert answer.reused is False  # B's order is not A's to see
    assert SlipCheck.objects.filter(merchant=other_merchant).count() == 0


def test_a_slip_presented_to_another_merchant_is_not_reused_here(
    merchant, other_merchant
):
    # given B checked the slip for its order
    fake = FakeBakong().on("check_transaction_by_hash", ok(tx_data()))
    slip_check(
        merchant=other_merchant, hash=TX_HASH, order_id="B-1", access=access_for(fake)
    )
    # when A presents it for its own order
    answer = slip_check(
        merchant=merchant, hash=TX_HASH, order_id="A-1", access=access_for(fake)
    )
    # then
    assert (answer.reused, answer.previous_checks) == (False, 0)


def test_a_test_key_does_not_see_a_live_code(merchant):
    # given a live code paid by the transaction
    paid_code(merchant)
    # when a test key checks the slip
    answer = slip_check(
        merchant=merchant, hash=TX_HASH, is_test=True, access=access_for(FakeBakong())
    )
    # then
    assert answer.payment_request is None


# --- reuse ---------------------------------------------------------------------------


def test_a_slip_presented_for_a_second_order_is_flagged_with_the_first(merchant):
    # given the slip was checked for order A
    fake = FakeBakong().on("check_transaction_by_hash", ok(tx_data()))
    first = slip_check(
        merchant=merchant, hash=TX_HASH, order_id="A", access=access_for(fake)
    )
    # when it is presented for order B, then for A again
    second = slip_check(
        merchant=merchant, hash=TX_HASH, order_id="B", access=access_for(fake)
    )
    again = slip_check(
        merchant=merchant, hash=TX_HASH, order_id="A", access=access_for(fake)
    )
    # then
    assert (first.reused, first.reused_for) == (False, "")
    assert (second.reused, second.reused_for) == (True, "A")
    assert (again.reused, again.reused_for) == (True, "B")
    assert again.previous_checks == 2
    assert SlipCheck.objects.get(order_id="B").reused_for == "A"


def test_the_same_order_presented_twice_is_not_reuse(merchant):
    # given
    fake = FakeBakong().on("check_transaction_by_hash", ok(tx_data()))
    slip_check(merchant=merchant, hash=TX_HASH, order_id="A", access=access_for(fake))
    # when
    again = slip_check(
        merchant=merchant, hash=TX_HASH, order_id="A", access=access_for(fake)
    )
    unnamed = slip_check(merchant=merchant, hash=TX_HASH, access=access_for(fake))
    # then
    assert (again.reused, again.previous_checks) == (False, 1)
    assert (unnamed.reused, unnamed.previous_checks) == (False, 2)


def test_a_slip_that_paid_one_order_is_flagged_for_another(merchant):
    # given the slip paid the code of order ORDER-1
    paid_code(merchant, order_id="ORDER-1")
    # when it is presented for ORDER-2
    answer = slip_check(
        merchant=merchant,
        hash=TX_HASH,
        order_id="ORDER-2",
        access=access_for(FakeBakong()),
    )
    # then
    assert (answer.reused, answer.reused_for) == (True, "ORDER-1")


# --- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({}, "hash", "full hash .* or its short hash"),
        ({"hash": TX_HASH, "short_hash": TX_HASH[:8]}, "hash", "full hash"),
        ({"hash": TX_HASH[:63]}, "hash", "64 hexadecimal characters \\(got 63\\)"),
        ({"hash": "z" * 64}, "hash", "64 hexadecimal"),
        ({"short_hash": "8465d72"}, "short_hash", "8 hexadecimal"),
        ({"short_hash": "8465d722", "currency": "USD"}, "amount", "amount"),
        ({"short_hash": "8465d722", "amount": "1"}, "currency", "KHR or USD"),
        (
            {"short_hash": "8465d722", "amount": "10.5", "currency": "KHR"},
            "amount",
            "whole numbers",
        ),
        ({"hash": TX_HASH, "order_id": "x" * 65}, "order_id", "at most 64"),
    ],
)
def test_slip_check_refuses_bad_input_naming_the_field(
    merchant, kwargs, field, message
):
    # given
    fake = FakeBakong()
    # when / then
    with pytest.raises(InvalidInput, match=message) as raised:
        slip_check(merchant=merchant, access=access_for(fake), **kwargs)
    assert raised.value.field == field
    assert fake.seen == []
    assert SlipCheck.objects.count() == 0
