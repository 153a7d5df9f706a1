"""Settling a flagged payment by hand: accept, refund or leave for reconciliation,
always with a note, once, audited."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.exceptions import Conflict, InvalidInput, NotFound
from merchants.models import AuditEvent
from payments.clients.bakong_types import BakongTransactionInfo
from payments.models import (
    FlagResolution,
    PaymentFlag,
    PaymentStatus,
    Refund,
    WebhookDelivery,
)
from payments.services.flag_settlement import flagged_payment_settle, settle_choices
from payments.services.settlement import bakong_transaction_apply
from tests.factories import UserFactory
from tests.payments.makers import payment_request_make, webhook_endpoint_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_bakong(settings):
    settings.BAKONG_BASE_URL = "http://127.0.0.1:9"


def pay(pr, *, amount: str, currency: str = "USD", hash_char: str = "a"):
    return bakong_transaction_apply(
        payment_request_id=pr.pk,
        info=BakongTransactionInfo(
            hash=hash_char * 64,
            from_account_id="payer@aclb",
            to_account_id="shop_a@wing",
            currency=currency,
            amount=Decimal(amount),
        ),
    )


def underpaid(merchant):
    """A 10.00 USD code paid 9.00: pending, flagged, polling stopped."""
    pr = payment_request_make(merchant=merchant, amount="10.00", currency="USD")
    pr = pay(pr, amount="9.00")
    assert pr.flag == PaymentFlag.AMOUNT_MISMATCH
    assert pr.status == PaymentStatus.PENDING
    return pr


def paid_twice(merchant):
    pr = payment_request_make(merchant=merchant, amount="5.00", currency="USD")
    pay(pr, amount="5.00", hash_char="a")
    pr = pay(pr, amount="5.00", hash_char="b")
    assert pr.flag == PaymentFlag.DUPLICATE
    assert pr.status == PaymentStatus.PAID
    return pr


def test_accepting_the_amount_received_makes_the_code_paid_and_tells_the_shop(
    merchant, django_capture_on_commit_callbacks
):
    # given an underpaid code and a webhook endpoint
    pr = underpaid(merchant)
    endpoint = webhook_endpoint_make(merchant=merchant)
    accountant = UserFactory(username="sokha")
    # when the accountant accepts the 9.00 with a note
    with django_capture_on_commit_callbacks():
        settled = flagged_payment_settle(
            merchant=merchant,
            payment_request_id=pr.pk,
            resolution="accept",
            note="Customer had 9 USD; owner agreed to the discount",
            actor=accountant,
        )
    # then the code is paid with what arrived, the flag stays with its resolution
    assert settled.status == PaymentStatus.PAID
    assert settled.paid_amount == Decimal("9.00")
    assert settled.paid_at is not None
    assert settled.flag == PaymentFlag.AMOUNT_MISMATCH
    assert settled.flag_resolution == FlagResolution.ACCEPTED
    assert settled.flag_resolved_by == accountant
    assert settled.flag_note.startswith("Customer had 9 USD")
    # and the shop is told the order is paid
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event == "transaction.paid"
    assert delivery.payload["amount"] == "9.00"
    # and it is audited with the note
    event = AuditEvent.objects.get(action="payment_request.flag_settled")
    assert event.actor == accountant
    assert event.details["resolution"] == "accept"
    assert event.details["note"].startswith("Customer had")


def test_refunding_a_flagged_payment_records_the_refund_of_what_arrived(merchant):
    # given an underpaid code
    pr = underpaid(merchant)
    # when the money is sent back and recorded
    settled = flagged_payment_settle(
        merchant=merchant,
        payment_request_id=pr.pk,
        resolution="refund",
        note="Sent back, customer pays again with a new code",
        bank_reference="ACL-REF-1",
    )
    # then a refund of the 9.00 exists and the code is refunded in full
    refund = Refund.objects.get(payment_request=pr)
    assert (refund.amount, refund.currency) == (Decimal("9.00"), "USD")
    assert refund.bank_reference == "ACL-REF-1"
    assert "Paid another amount" in refund.reason
    assert settled.status == PaymentStatus.REFUNDED
    assert settled.refunded_amount == Decimal("9.00")
    assert settled.flag_resolution == FlagResolution.REFUNDED
    assert settled.next_check_at is None


def test_refunding_a_second_payment_leaves_the_first_one_paid(merchant):
    # given a code paid twice
    pr = paid_twice(merchant)
    # when the second payment is refunded
    settled = flagged_payment_settle(
        merchant=merchant,
        payment_request_id=pr.pk,
        resolution="refund",
        note="Paid twice by mistake",
        bank_reference="ABA-9",
    )
    # then the refund is the second payment's, and the code stays paid
    refund = Refund.objects.get(payment_request=pr)
    assert refund.amount == Decimal("5.00")
    assert settled.status == PaymentStatus.PAID
    assert settled.refunded_amount == Decimal("0")
    assert settled.flag_resolution == FlagResolution.REFUNDED


def test_keeping_a_second_payment_as_credit_changes_only_the_resolution(merchant):
    pr = paid_twice(merchant)
    assert "credit" in dict(settle_choices(pr))["accept"]
    settled = flagged_payment_settle(
        merchant=merchant,
        payment_request_id=pr.pk,
        resolution="accept",
        note="Kept as credit for next week's order",
    )
    assert settled.status == PaymentStatus.PAID
    assert settled.paid_amount == Decimal("5.00")
    assert settled.flag_resolution == FlagResolution.ACCEPTED
    assert not Refund.objects.exists()


def test_leaving_it_for_reconciliation_keeps_everything_but_the_note(merchant):
    pr = underpaid(merchant)
    settled = flagged_payment_settle(
        merchant=merchant,
        payment_request_id=pr.pk,
        resolution="reconciliation",
        note="Waiting for the bank statement",
    )
    assert settled.status == PaymentStatus.PENDING
    assert settled.flag_resolution == FlagResolution.RECONCILIATION
    assert settled.flag_note == "Waiting for the bank statement"


def test_a_note_is_required(merchant):
    pr = underpaid(merchant)
    with pytest.raises(InvalidInput, match="note: say what you did"):
        flagged_payment_settle(
            merchant=merchant, payment_request_id=pr.pk, resolution="accept", note=" "
        )
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PENDING
    assert pr.flag_resolution == ""


def test_a_refund_needs_the_bank_reference_and_writes_nothing_without_it(merchant):
    pr = underpaid(merchant)
    with pytest.raises(InvalidInput, match="bank_reference: .* required"):
        flagged_payment_settle(
            merchant=merchant,
            payment_request_id=pr.pk,
            resolution="refund",
            note="sent back",
        )
    pr.refresh_from_db()
    assert pr.flag_resolution == ""
    assert not Refund.objects.exists()
    assert not AuditEvent.objects.filter(action="payment_request.flag_settled").exists()


def test_a_bank_reference_used_before_is_refused_naming_it(merchant):
    first, second = underpaid(merchant), None
    flagged_payment_settle(
        merchant=merchant,
        payment_request_id=first.pk,
        resolution="refund",
        note="sent back",
        bank_reference="DUP-1",
    )
    second = payment_request_make(merchant=merchant, amount="10.00", currency="USD")
    second = pay(second, amount="8.00", hash_char="c")
    with pytest.raises(Conflict, match="bank_reference: DUP-1 is already recorded"):
        flagged_payment_settle(
            merchant=merchant,
            payment_request_id=second.pk,
            resolution="refund",
            note="sent back",
            bank_reference="DUP-1",
        )
    second.refresh_from_db()
    assert second.flag_resolution == ""


def test_a_flag_is_settled_once(merchant):
    pr = underpaid(merchant)
    flagged_payment_settle(
        merchant=merchant,
        payment_request_id=pr.pk,
        resolution="reconciliation",
        note="later",
    )
    with pytest.raises(Conflict, match="already settled \\(left for reconciliation\\)"):
        flagged_payment_settle(
            merchant=merchant, payment_request_id=pr.pk, resolution="accept", note="x"
        )


def test_a_payment_that_is_not_flagged_has_nothing_to_settle(merchant):
    pr = payment_request_make(merchant=merchant)
    with pytest.raises(Conflict, match="not flagged"):
        flagged_payment_settle(
            merchant=merchant, payment_request_id=pr.pk, resolution="accept", note="x"
        )


def test_an_unknown_resolution_is_refused(merchant):
    pr = underpaid(merchant)
    with pytest.raises(InvalidInput, match="resolution: choose"):
        flagged_payment_settle(
            merchant=merchant, payment_request_id=pr.pk, resolution="ignore", note="x"
        )


def test_another_merchants_payment_is_not_found(merchant, other_merchant):
    pr = underpaid(merchant)
    with pytest.raises(NotFound):
        flagged_payment_settle(
            merchant=other_merchant,
            payment_request_id=pr.pk,
            resolution="accept",
            note="x",
        )
