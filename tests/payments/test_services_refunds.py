from decimal import Decimal

import pytest
from django.utils import timezone

from core.exceptions import Conflict, InvalidInput, NotFound
from merchants.models import AuditEvent
from payments.models import PaymentStatus, Refund, WebhookDelivery
from payments.services.refunds import refund_create
from tests.payments.makers import payment_request_make, webhook_endpoint_make


@pytest.fixture
def paid(merchant):
    pr = payment_request_make(merchant=merchant, amount="10.00", currency="USD")
    pr.status, pr.paid_amount, pr.paid_currency = "paid", Decimal("10.00"), "USD"
    pr.paid_at, pr.bakong_hash = timezone.now(), "d" * 64
    pr.save()
    return pr


def test_partial_refunds_add_up_and_the_status_follows(merchant, paid):
    webhook_endpoint_make(merchant=merchant)
    # when two partial refunds are recorded
    refund_create(
        merchant=merchant,
        payment_request_id=paid.pk,
        amount="3.00",
        bank_reference="R1",
    )
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.PARTIALLY_REFUNDED
    refund_create(
        merchant=merchant, payment_request_id=paid.pk, amount="7", bank_reference="R2"
    )
    # then the request is refunded in full, and the shop is told twice
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.REFUNDED
    assert paid.refunded_amount == Decimal("10.00")
    deliveries = WebhookDelivery.objects.filter(event="transaction.refunded")
    assert sorted(d.payload["amount"] for d in deliveries) == ["3.00", "7.00"]
    assert {d.payload["refunded_total"] for d in deliveries} == {"3.00", "10.00"}
    assert AuditEvent.objects.filter(action="refund.created").count() == 2


def test_refund_without_amount_refunds_the_rest(merchant, paid):
    refund_create(
        merchant=merchant, payment_request_id=paid.pk, amount="4", bank_reference="R1"
    )
    rest = refund_create(
        merchant=merchant, payment_request_id=paid.pk, bank_reference="R2"
    )
    assert rest.amount == Decimal("6.00")


def test_refund_more_than_paid_is_refused(merchant, paid):
    refund_create(
        merchant=merchant, payment_request_id=paid.pk, amount="8", bank_reference="R1"
    )
    with pytest.raises(InvalidInput, match="more than the 2.00 USD not yet refunded"):
        refund_create(
            merchant=merchant,
            payment_request_id=paid.pk,
            amount="2.01",
            bank_reference="R2",
        )
    assert Refund.objects.count() == 1


def test_bank_reference_is_unique(merchant, paid):
    refund_create(
        merchant=merchant, payment_request_id=paid.pk, amount="1", bank_reference="R1"
    )
    with pytest.raises(Conflict, match="R1 is already recorded"):
        refund_create(
            merchant=merchant,
            payment_request_id=paid.pk,
            amount="1",
            bank_reference="R1",
        )
    paid.refresh_from_db()
    assert paid.refunded_amount == Decimal("1.00")


def test_a_pending_request_cannot_be_refunded(merchant):
    pr = payment_request_make(merchant=merchant)
    with pytest.raises(Conflict, match="only a paid request"):
        refund_create(merchant=merchant, payment_request_id=pr.pk, bank_reference="R")


def test_refund_of_another_merchants_request_is_not_found(paid, other_merchant):
    with pytest.raises(NotFound):
        refund_create(
            merchant=other_merchant, payment_request_id=paid.pk, bank_reference="R"
        )


@pytest.mark.parametrize(
    ("amount", "reference", "message"),
    [
        ("0", "R", "more than zero"),
        ("1.001", "R", "at most 2 decimal places"),
        ("1", "", "bank_reference: required"),
    ],
)
def test_bad_refund_input_names_the_field(merchant, paid, amount, reference, message):
    with pytest.raises(InvalidInput, match=message):
        refund_create(
            merchant=merchant,
            payment_request_id=paid.pk,
            amount=amount,
            bank_reference=reference,
        )


def test_khr_refund_in_fractional_riel_is_refused(merchant):
    pr = payment_request_make(merchant=merchant, amount="10000", currency="KHR")
    pr.status, pr.paid_amount, pr.paid_currency = "paid", Decimal("10000"), "KHR"
    pr.save()
    with pytest.raises(InvalidInput, match="whole numbers"):
        refund_create(
            merchant=merchant,
            payment_request_id=pr.pk,
            amount="0.5",
            bank_reference="R",
        )
