"""Settlement: what a Bakong transaction does to a payment request (paid, or
recorded and flagged), applied once however often it is applied; and what Bakong
confirms of a provider's claim that a code was paid."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from core.exceptions import Conflict, InvalidInput, NotFound
from merchants.models import AuditEvent
from payments.bakong_access import BakongAccess
from payments.clients.bakong import BakongClient
from payments.clients.bakong_types import BakongTransactionInfo
from payments.models import (
    BakongTransaction,
    DeliveryStatus,
    PaymentFlag,
    PaymentRequest,
    PaymentStatus,
    WebhookDelivery,
)
from payments.services.settlement import bakong_transaction_apply, paid_claim_check
from tests.payments.bakong_fakes import BASE, TX_HASH, FakeBakong, fail, ok, tx_data
from tests.payments.makers import payment_request_make, webhook_endpoint_make

HASH = "a" * 64


def _info(**overrides) -> BakongTransactionInfo:
    values = {
        "hash": HASH,
        "from_account_id": "payer@aclb",
        "to_account_id": "shop_a@wing",
        "currency": "USD",
        "amount": Decimal("5.00"),
        "created_date_ms": None,
    }
    values.update(overrides)
    return BakongTransactionInfo(**values)


def test_apply_matching_transaction_marks_paid_and_queues_the_webhook(
    merchant, django_capture_on_commit_callbacks
):
    # given a pending code and a webhook endpoint
    pr = payment_request_make(merchant=merchant, amount="5.00", currency="USD")
    endpoint = webhook_endpoint_make(merchant=merchant)
    # when Bakong reports the same md5, amount and currency
    with django_capture_on_commit_callbacks() as callbacks:
        paid = bakong_transaction_apply(
            payment_request_id=pr.pk,
            info=_info(
                md5=pr.md5, created_date_ms=int(pr.created_at.timestamp() * 1e3)
            ),
        )
    # then
    assert paid.status == PaymentStatus.PAID
    assert paid.flag == ""
    assert paid.bakong_hash == HASH
    assert paid.paid_amount == Decimal("5.00")
    assert paid.payer_account == "payer@aclb"
    assert paid.next_check_at is None
    assert BakongTransaction.objects.get().outcome == "matched"
    delivery = WebhookDelivery.objects.get()
    assert delivery.endpoint == endpoint
    assert delivery.payload["event"] == "transaction.paid"
    assert delivery.payload["amount"] == "5.00"
    assert delivery.status == DeliveryStatus.PENDING
    assert len(callbacks) == 1
    assert AuditEvent.objects.filter(action="payment_request.paid").count() == 1


def test_apply_another_amount_is_recorded_and_flagged_not_paid(merchant):
    pr = payment_request_make(merchant=merchant, amount="5.00", currency="USD")
    webhook_endpoint_make(merchant=merchant)
    result = bakong_transaction_apply(
        payment_request_id=pr.pk, info=_info(amount=Decimal("4.00"))
    )
    assert result.status == PaymentStatus.PENDING
    assert result.flag == PaymentFlag.AMOUNT_MISMATCH
    assert result.paid_amount == Decimal("4.00")
    assert BakongTransaction.objects.get().outcome == "amount_mismatch"
    assert WebhookDelivery.objects.count() == 0
    assert AuditEvent.objects.filter(action="payment_request.flagged").count() == 1


def test_apply_another_currency_is_recorded_and_flagged(merchant):
    pr = payment_request_make(merchant=merchant, amount="5.00", currency="USD")
    result = bakong_transaction_apply(
        payment_request_id=pr.pk, info=_info(currency="KHR", amount=Decimal("5"))
    )
    assert result.status == PaymentStatus.PENDING
    assert result.flag == PaymentFlag.CURRENCY_MISMATCH
    assert BakongTransaction.objects.get().outcome == "currency_mismatch"


def test_apply_after_expiry_is_late_expired_and_flagged(merchant):
    # given a code that expired a minute before Bakong says the payment was made
    pr = payment_request_make(merchant=merchant, amount="5.00", currency="USD")
    late_ms = int((pr.expires_at + dt.timedelta(minutes=1)).timestamp() * 1000)
    # when
    result = bakong_transaction_apply(
        payment_request_id=pr.pk, info=_info(created_date_ms=late_ms)
    )
    # then
    assert result.status == PaymentStatus.EXPIRED
    assert result.flag == PaymentFlag.LATE
    assert result.paid_at == dt.datetime.fromtimestamp(late_ms / 1000, tz=dt.UTC)
    assert BakongTransaction.objects.get().outcome == "late"


def test_apply_to_an_already_expired_request_is_late(merchant):
    pr = payment_request_make(merchant=merchant, amount="5.00", currency="USD")
    PaymentRequest.objects.filter(pk=pr.pk).update(status=PaymentStatus.EXPIRED)
    result = bakong_transaction_apply(payment_request_id=pr.pk, info=_info())
    assert result.status == PaymentStatus.EXPIRED
    assert result.flag == PaymentFlag.LATE


def test_apply_a_second_payment_is_a_flagged_duplicate(merchant):
    pr = payment_request_make(merchant=merchant, amount="5.00", currency="USD")
    bakong_transaction_apply(payment_request_id=pr.pk, info=_info())
    result = bakong_transaction_apply(
        payment_request_id=pr.pk, info=_info(hash="b" * 64)
    )
    assert result.status == PaymentStatus.PAID
    assert result.flag == PaymentFlag.DUPLICATE
    assert result.bakong_hash == HASH
    assert sorted(BakongTransaction.objects.values_list("outcome", flat=True)) == [
        "duplicate",
        "matched",
    ]


def test_apply_static_code_accepts_any_amount(merchant):
    pr = payment_request_make(merchant=merchant, amount=None, currency="KHR")
    result = bakong_transaction_apply(
        payment_request_id=pr.pk,
        info=_info(currency="KHR", amount=Decimal("12300")),
    )
    assert result.status == PaymentStatus.PAID
    assert result.paid_amount == Decimal("12300")


def test_apply_unknown_request_is_not_found(db):
    with pytest.raises(NotFound, match="no payment request #999"):
        bakong_transaction_apply(payment_request_id=999, info=_info())
    assert BakongTransaction.objects.count() == 0


def test_apply_another_md5_is_refused(merchant):
    pr = payment_request_make(merchant=merchant)
    with pytest.raises(InvalidInput, match="md5: the transaction is for"):
        bakong_transaction_apply(payment_request_id=pr.pk, info=_info(md5="f" * 32))
    assert BakongTransaction.objects.count() == 0


def test_apply_same_transaction_twice_changes_nothing(merchant):
    pr = payment_request_make(merchant=merchant)
    webhook_endpoint_make(merchant=merchant)
    bakong_transaction_apply(payment_request_id=pr.pk, info=_info())
    again = bakong_transaction_apply(payment_request_id=pr.pk, info=_info())
    assert again.status == PaymentStatus.PAID
    assert again.flag == ""
    assert BakongTransaction.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


def test_apply_same_hash_for_another_request_is_a_conflict(merchant):
    first = payment_request_make(merchant=merchant)
    second = payment_request_make(merchant=merchant)
    bakong_transaction_apply(payment_request_id=first.pk, info=_info())
    with pytest.raises(Conflict, match="already recorded for another"):
        bakong_transaction_apply(payment_request_id=second.pk, info=_info())


@pytest.mark.django_db(transaction=True)
def test_two_workers_applying_one_payment_at_once_apply_it_once(merchant):
    # given a pending code with a webhook endpoint
    pr = payment_request_make(merchant=merchant)
    webhook_endpoint_make(merchant=merchant)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(
                bakong_transaction_apply(payment_request_id=pr.pk, info=_info())
            )
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)
        finally:
            connection.close()

    # when two threads (two database connections) apply the same transaction
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # then it is recorded once, paid once and notified once
    assert errors == []
    assert [r.status for r in results] == ["paid", "paid"]
    assert BakongTransaction.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1
    assert AuditEvent.objects.filter(action="payment_request.paid").count() == 1


def test_apply_a_hash_recorded_for_another_merchant_is_a_conflict(
    merchant, other_merchant
):
    ours = payment_request_make(merchant=merchant)
    theirs = payment_request_make(merchant=other_merchant)
    bakong_transaction_apply(payment_request_id=theirs.pk, info=_info())
    with pytest.raises(Conflict, match="recorded for another merchant"):
        bakong_transaction_apply(payment_request_id=ours.pk, info=_info())


# -- a provider's claim, checked with Bakong ----------------------------------------


def _access(fake: FakeBakong) -> BakongAccess:
    return BakongAccess(
        client=BakongClient(base_url=BASE, token="tok", transport=fake.transport()),
        email="dev@shop.kh",
    )


def _check(pr: PaymentRequest, fake: FakeBakong, claimed: str, amount="5.00"):
    return paid_claim_check(
        payment_request=pr,
        claimed_id=claimed,
        claimed_amount=Decimal(amount),
        claimed_at_ms=None,
        access=_access(fake),
    )


def test_claim_of_the_codes_own_payment_is_confirmed_as_bakong_reports_it(merchant):
    # given Bakong's payment of the code (other description than the claim's)
    pr = payment_request_make(merchant=merchant, amount="1.00")
    fake = FakeBakong().on("check_transaction_by_md5", ok(tx_data()))
    # when the claim names Bakong's hash
    checked = _check(pr, fake, TX_HASH, amount="1.00")
    # then Bakong's own transaction is what gets recorded
    (confirmed,) = checked.confirmed
    assert checked.refusal == ""
    assert (confirmed.hash, confirmed.md5) == (TX_HASH, pr.md5)
    assert confirmed.description == "testing bakong generator"
    assert fake.calls("check_transaction_by_hash") == []


def test_claim_of_another_hash_paid_into_an_own_account_adds_that_payment(merchant):
    pr = payment_request_make(merchant=merchant, amount="1.00")
    second = "c" * 64
    fake = (
        FakeBakong()
        .on("check_transaction_by_md5", ok(tx_data()))
        .on("check_transaction_by_hash", ok(tx_data(hash=second)))
    )
    checked = _check(pr, fake, second, amount="1.00")
    assert [i.hash for i in checked.confirmed] == [TX_HASH, second]
    assert checked.refusal == ""


def test_claim_of_a_hash_paid_into_someone_elses_account_is_refused(merchant):
    # given a code Bakong reports paid, and a claim of another transaction that
    # went to an account that is not this merchant's
    pr = payment_request_make(merchant=merchant, amount="1.00")
    elsewhere = "d" * 64
    fake = (
        FakeBakong()
        .on("check_transaction_by_md5", ok(tx_data()))
        .on(
            "check_transaction_by_hash",
            ok(tx_data(hash=elsewhere, toAccountId="shop_b@wing")),
        )
    )
    # when
    checked = _check(pr, fake, elsewhere, amount="1.00")
    # then only the code's own payment is confirmed
    assert [i.hash for i in checked.confirmed] == [TX_HASH]
    assert f"does not confirm transaction {elsewhere[:8]}" in checked.refusal


def test_claim_on_a_static_code_is_checked_by_its_hash(merchant):
    # given a static code: Bakong cannot check it by md5 (errorCode 2)
    pr = payment_request_make(merchant=merchant, amount=None, currency="KHR")
    fake = (
        FakeBakong()
        .on("check_transaction_by_md5", fail(2))
        .on("check_transaction_by_hash", ok(tx_data(currency="KHR", amount=5000)))
    )
    # when a claim names a Bakong hash, and another names only the gateway's id
    by_hash = _check(pr, fake, TX_HASH, amount="5000")
    by_own_id = _check(pr, fake, "gw-123", amount="5000")
    # then the first is confirmed by its hash, the second cannot be
    assert [i.hash for i in by_hash.confirmed] == [TX_HASH]
    assert by_own_id.confirmed == ()
    assert "send the Bakong hash" in by_own_id.refusal


def test_claim_of_a_failed_transaction_is_refused(merchant):
    pr = payment_request_make(merchant=merchant, amount="1.00")
    fake = FakeBakong().on("check_transaction_by_md5", fail(3))
    checked = _check(pr, fake, TX_HASH)
    assert checked.confirmed == ()
    assert "failed" in checked.refusal
