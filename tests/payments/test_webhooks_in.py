import json
import time
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from core.signing import signature_compute, signature_header
from payments.models import (
    BakongTransaction,
    InboundEvent,
    PaymentRequest,
    PaymentStatus,
)
from payments.services.polling import payment_request_check
from payments.services.webhooks_in import inbound_event_process
from sandbox.bakong import pay
from tests.factories import signed_connection
from tests.payments.makers import payment_request_make

SECRET = "gw-secret"


@pytest.fixture
def connection(merchant):
    return signed_connection(
        merchant, provider="khqr_gateway", secret=SECRET, currency="USD"
    )


@pytest.fixture
def pending(merchant):
    return payment_request_make(
        merchant=merchant, amount="5.00", currency="USD", order_id="ORDER-1042"
    )


def _paid_event(pr: PaymentRequest, **overrides) -> dict:
    event = {
        "event": "transaction.paid",
        "md5": pr.md5,
        "amount": 5.00,
        "currency": "USD",
        "bill_number": pr.bill_number,
        "paid_at": timezone.now().isoformat(),
        "transaction_id": "6f1c2c1e-0000-4000-8000-00000000abcd",
        "external_order_id": pr.order_id,
    }
    event.update(overrides)
    return event


def _post(
    connection_id,
    body: bytes,
    *,
    header=None,
    delivery="dlv-1",
    name="X-Tonle-Signature",
):
    headers = {}
    if header is not None:
        headers[f"HTTP_{name.upper().replace('-', '_')}"] = header
    if delivery:
        headers["HTTP_X_TONLE_DELIVERY_ID"] = delivery
    return Client().post(
        f"/webhooks/in/{connection_id}/",
        data=body,
        content_type="application/json",
        **headers,
    )


def _signed(body: bytes, *, secret=SECRET, ts=None) -> str:
    return signature_header(secret=secret, body=body, timestamp=ts)


def test_signed_paid_event_is_stored_then_applied(
    connection, pending, sandbox_bakong, django_capture_on_commit_callbacks
):
    # given a code Bakong knows was paid, and the gateway's event in its own shape,
    # signed with the connection's secret
    pay(md5=pending.md5)
    body = json.dumps(_paid_event(pending)).encode()
    # when it is posted (the task runs on commit, eagerly)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(connection.pk, body, header=_signed(body))
    # then it was stored raw and answered 202, and the task paid the request
    assert response.status_code == 202
    assert response.json()["replay"] is False
    event = InboundEvent.objects.get()
    assert event.raw_body == body.decode()
    assert event.delivery_id == "dlv-1"
    assert event.status == InboundEvent.Status.PROCESSED
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.PAID
    assert pending.paid_amount == Decimal("5.00")


def test_the_providers_own_signature_header_is_accepted(connection, pending):
    body = json.dumps(_paid_event(pending)).encode()
    response = _post(connection.pk, body, header=_signed(body), name="X-KHQR-Signature")
    assert response.status_code == 202


def test_event_is_stored_before_the_answer_even_if_processing_is_lost(
    connection, pending, sandbox_bakong
):
    pay(md5=pending.md5)
    # no on_commit callbacks run here: the task message is "lost"
    body = json.dumps(_paid_event(pending)).encode()
    response = _post(connection.pk, body, header=_signed(body))
    assert response.status_code == 202
    assert InboundEvent.objects.get().status == InboundEvent.Status.RECEIVED
    # and processing it later (as the sweeper does) applies it
    inbound_event_process(inbound_event_id=InboundEvent.objects.get().pk)
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.PAID


def test_replayed_delivery_answers_200_and_changes_nothing(connection, pending):
    body = json.dumps(_paid_event(pending)).encode()
    first = _post(connection.pk, body, header=_signed(body))
    again = _post(connection.pk, body, header=_signed(body))
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["replay"] is True
    assert "already received" in again.json()["message"]
    assert InboundEvent.objects.count() == 1


def test_delivery_id_falls_back_to_the_events_own_id(connection, pending):
    body = json.dumps(_paid_event(pending, id="evt_77")).encode()
    _post(connection.pk, body, header=_signed(body), delivery="")
    assert InboundEvent.objects.get().delivery_id == "evt_77"


def test_forged_signature_is_refused_and_not_stored(connection, pending):
    body = json.dumps(_paid_event(pending)).encode()
    response = _post(connection.pk, body, header=_signed(body, secret="guess"))
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthorized",
        "message": "signature: signature does not match",
    }
    assert InboundEvent.objects.count() == 0


def test_body_changed_after_signing_is_refused(connection, pending):
    body = json.dumps(_paid_event(pending)).encode()
    header = _signed(body)
    tampered = body.replace(b'"amount": 5.0', b'"amount": 50.0')
    assert tampered != body
    assert _post(connection.pk, tampered, header=header).status_code == 401


def test_missing_signature_is_refused(connection, pending):
    body = json.dumps(_paid_event(pending)).encode()
    response = _post(connection.pk, body)
    assert response.status_code == 401
    assert "missing signature" in response.json()["message"]


@freeze_time("2026-12-01 10:00:00")
def test_stale_timestamp_is_refused(connection, pending):
    body = json.dumps(_paid_event(pending)).encode()
    response = _post(
        connection.pk, body, header=_signed(body, ts=int(time.time()) - 301)
    )
    assert response.status_code == 401
    assert "tolerance ±300 s" in response.json()["message"]
    assert InboundEvent.objects.count() == 0


@freeze_time("2026-12-01 10:00:00")
def test_future_timestamp_is_refused(connection, pending):
    body = json.dumps(_paid_event(pending)).encode()
    response = _post(
        connection.pk, body, header=_signed(body, ts=int(time.time()) + 301)
    )
    assert response.status_code == 401
    assert "tolerance" in response.json()["message"]


def test_malformed_json_is_refused_after_the_signature(connection):
    body = b'{"event": "transaction.paid", '
    response = _post(connection.pk, body, header=_signed(body))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_input",
        "message": "body: not valid JSON",
    }
    assert InboundEvent.objects.count() == 0


def test_json_that_is_not_an_object_is_refused(connection):
    body = b"[1, 2]"
    response = _post(connection.pk, body, header=_signed(body))
    assert response.status_code == 400
    assert "JSON object" in response.json()["message"]


def test_unknown_connection_is_not_found(db):
    body = b"{}"
    response = _post(999999, body, header=_signed(body))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_revoked_connection_is_forbidden(connection, pending):
    connection.revoked_at = timezone.now()
    connection.save()
    body = json.dumps(_paid_event(pending)).encode()
    response = _post(connection.pk, body, header=_signed(body))
    assert response.status_code == 403
    assert "revoked" in response.json()["message"]


def test_connection_without_a_webhook_secret_is_forbidden(connection, pending):
    connection.credentials = {"token": "x"}
    connection.save()
    body = json.dumps(_paid_event(pending)).encode()
    response = _post(connection.pk, body, header=_signed(body))
    assert response.status_code == 403
    assert "no webhook_secret" in response.json()["message"]


def test_get_is_not_allowed(connection):
    assert Client().get(f"/webhooks/in/{connection.pk}/").status_code == 405


def test_rotation_two_v1_values_one_matching_is_accepted(connection, pending):
    # given a sender signing with its old and its new secret while rotating
    body = json.dumps(_paid_event(pending)).encode()
    ts = int(time.time())
    header = (
        f"t={ts},v1={signature_compute(secret='old-secret', timestamp=ts, body=body)}"
        f",v1={signature_compute(secret=SECRET, timestamp=ts, body=body)}"
    )
    assert _post(connection.pk, body, header=header).status_code == 202


def test_previous_secret_on_the_connection_is_accepted(connection, pending):
    connection.credentials = {
        "webhook_secret": "new",
        "webhook_secret_previous": SECRET,
    }
    connection.save()
    body = json.dumps(_paid_event(pending)).encode()
    assert _post(connection.pk, body, header=_signed(body)).status_code == 202


def test_paid_event_for_an_unknown_md5_fails_with_the_reason(connection, merchant):
    body = json.dumps(
        {
            "event": "transaction.paid",
            "md5": "0" * 32,
            "amount": "1",
            "currency": "USD",
            "transaction_id": "t-1",
        }
    ).encode()
    _post(connection.pk, body, header=_signed(body))
    event = inbound_event_process(inbound_event_id=InboundEvent.objects.get().pk)
    assert event.status == InboundEvent.Status.FAILED
    assert "no payment request of this merchant with md5 000" in event.error


def test_paid_event_for_another_merchants_md5_does_not_touch_it(
    connection, other_merchant
):
    theirs = payment_request_make(merchant=other_merchant, amount="5.00")
    body = json.dumps(_paid_event(theirs)).encode()
    _post(connection.pk, body, header=_signed(body))
    event = inbound_event_process(inbound_event_id=InboundEvent.objects.get().pk)
    theirs.refresh_from_db()
    assert event.status == InboundEvent.Status.FAILED
    assert theirs.status == PaymentStatus.PENDING


def test_paid_event_with_another_amount_flags_the_request(
    connection, pending, sandbox_bakong
):
    pay(md5=pending.md5, amount="4.00")
    body = json.dumps(_paid_event(pending, amount="4.00")).encode()
    _post(connection.pk, body, header=_signed(body))
    inbound_event_process(inbound_event_id=InboundEvent.objects.get().pk)
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.PENDING
    assert pending.flag == "amount_mismatch"


def test_processing_twice_applies_once(connection, pending, sandbox_bakong):
    pay(md5=pending.md5)
    body = json.dumps(_paid_event(pending)).encode()
    _post(connection.pk, body, header=_signed(body))
    event_id = InboundEvent.objects.get().pk
    inbound_event_process(inbound_event_id=event_id)
    again = inbound_event_process(inbound_event_id=event_id)
    assert again.status == InboundEvent.Status.PROCESSED
    assert pending.bakong_transactions.count() == 1


def test_posted_event_goes_to_the_statements_push_service(connection, monkeypatch):
    # given the statements helper's service (stood in for here)
    seen = []

    def fake_apply(*, connection, payload):
        seen.append((connection.pk, payload["ref"]))
        return None, False

    import statements.services.push as push

    monkeypatch.setattr(push, "transaction_posted_apply", fake_apply)
    body = json.dumps(
        {
            "event": "transaction.posted",
            "acct_id": "001",
            "direction": "credit",
            "amount": "10.00",
            "ccy": "USD",
            "balance_after": "110.00",
            "channel": "KHQR",
            "ref": "R-1",
            "occurred_at": "2026-11-30T10:00:00+07:00",
        }
    ).encode()
    # when (no delivery header: the natural key names it)
    _post(connection.pk, body, header=_signed(body), delivery="")
    event = inbound_event_process(inbound_event_id=InboundEvent.objects.get().pk)
    # then
    assert seen == [(connection.pk, "R-1")]
    assert event.status == InboundEvent.Status.PROCESSED
    assert event.delivery_id.startswith("posted:")


def test_unknown_event_type_is_stored_and_ignored(connection):
    body = json.dumps({"event": "customer.created", "id": "e1"}).encode()
    response = _post(connection.pk, body, header=_signed(body))
    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.IGNORED
    assert "not one Tonle acts on" in event.error


def test_paid_event_with_a_transaction_id_that_is_not_text_fails(connection, pending):
    body = json.dumps(_paid_event(pending, transaction_id=["not", "text"])).encode()
    _post(connection.pk, body, header=_signed(body))
    event = inbound_event_process(inbound_event_id=InboundEvent.objects.get().pk)
    assert event.status == InboundEvent.Status.FAILED
    assert event.error == "transaction_id: must be text"
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.PENDING


def test_an_event_that_crashes_processing_is_marked_failed_not_retried_forever(
    connection, pending, sandbox_bakong, monkeypatch
):
    pay(md5=pending.md5)

    def crash(**kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr("payments.services.webhooks_in.bakong_transaction_apply", crash)
    body = json.dumps(_paid_event(pending)).encode()
    _post(connection.pk, body, header=_signed(body))
    event = inbound_event_process(inbound_event_id=InboundEvent.objects.get().pk)
    assert event.status == InboundEvent.Status.FAILED
    assert "KeyError" in event.error


@freeze_time("2026-12-01 10:00:00")
def test_timestamp_300_seconds_off_is_still_accepted(connection, pending):
    body = json.dumps(_paid_event(pending)).encode()
    ahead = _post(connection.pk, body, header=_signed(body, ts=int(time.time()) + 300))
    behind = _post(
        connection.pk,
        body,
        header=_signed(body, ts=int(time.time()) - 300),
        delivery="dlv-2",
    )
    assert (ahead.status_code, behind.status_code) == (202, 202)


# -- a paid claim is what Bakong confirms ---------------------------------------------


def _process(connection, event: dict, delivery: str = "dlv-1") -> InboundEvent:
    body = json.dumps(event).encode()
    _post(connection.pk, body, header=_signed(body), delivery=delivery)
    stored = InboundEvent.objects.get(connection=connection, delivery_id=delivery)
    return inbound_event_process(inbound_event_id=stored.pk)


@pytest.fixture
def connection_b(other_merchant):
    return signed_connection(
        other_merchant, provider="khqr_gateway", secret=SECRET, currency="USD"
    )


def test_a_paid_claim_bakong_has_no_payment_for_is_refused(
    connection, pending, sandbox_bakong
):
    # given a code nobody paid, and a gateway claiming it was
    # when
    event = _process(connection, _paid_event(pending))
    # then
    assert event.status == InboundEvent.Status.FAILED
    assert "Bakong reports no payment of this code" in event.error
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.PENDING
    assert BakongTransaction.objects.count() == 0


def test_a_merchants_forged_claim_of_anothers_hash_pays_nothing_and_blocks_nothing(
    connection, connection_b, pending, other_merchant, sandbox_bakong
):
    # given A's code really paid at Bakong, and B's own pending code
    paid_to_a = pay(md5=pending.md5)
    theirs = payment_request_make(merchant=other_merchant, amount="5.00")
    # when B's signed webhook claims A's Bakong hash for B's code
    event = _process(connection_b, _paid_event(theirs, transaction_id=paid_to_a.hash))
    # then B's code is not paid and nothing is recorded for B
    assert event.status == InboundEvent.Status.FAILED
    theirs.refresh_from_db()
    assert theirs.status == PaymentStatus.PENDING
    assert BakongTransaction.objects.count() == 0
    # and A's poll still settles A's code with A's payment
    payment_request_check(
        payment_request_id=pending.pk, access=sandbox_bakong, force=True
    )
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.PAID
    assert pending.bakong_hash == paid_to_a.hash


def test_a_claim_of_a_hash_recorded_for_another_merchant_fails_clearly(
    connection, connection_b, pending, other_merchant, sandbox_bakong
):
    # given A's payment settled by the poller, and B's code that B really had paid
    paid_to_a = pay(md5=pending.md5)
    payment_request_check(
        payment_request_id=pending.pk, access=sandbox_bakong, force=True
    )
    theirs = payment_request_make(merchant=other_merchant, amount="5.00")
    pay(md5=theirs.md5)
    # when B claims A's hash as (another) payment of B's code
    event = _process(connection_b, _paid_event(theirs, transaction_id=paid_to_a.hash))
    # then B's own event fails and says why; A's record stands
    assert event.status == InboundEvent.Status.FAILED
    assert f"does not confirm transaction {paid_to_a.hash[:8]}" in event.error
    assert (
        BakongTransaction.objects.get(hash=paid_to_a.hash).merchant == pending.merchant
    )
    theirs.refresh_from_db()
    assert theirs.flag == ""  # B's own real payment, recorded once, no duplicate
    assert theirs.bakong_transactions.count() == 1


def test_a_second_distinct_payment_reported_by_webhook_is_recorded_as_duplicate(
    connection, pending, sandbox_bakong
):
    # given a code paid and settled by the poller
    pay(md5=pending.md5)
    payment_request_check(
        payment_request_id=pending.pk, access=sandbox_bakong, force=True
    )
    # when the customer pays it again and the gateway reports that payment
    again = pay(md5=pending.md5, again=True)
    event = _process(connection, _paid_event(pending, transaction_id=again.hash))
    # then the second payment is recorded and flagged, not dropped
    assert event.status == InboundEvent.Status.PROCESSED
    assert "flagged: paid more than once" in event.error
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.PAID
    assert pending.flag == "duplicate"
    assert sorted(pending.bakong_transactions.values_list("outcome", flat=True)) == [
        "duplicate",
        "matched",
    ]


def test_the_gateway_reporting_the_polled_payment_again_changes_nothing(
    connection, pending, sandbox_bakong
):
    # given a code the poller settled
    pay(md5=pending.md5)
    payment_request_check(
        payment_request_id=pending.pk, access=sandbox_bakong, force=True
    )
    # when the gateway reports the same payment under its own transaction id
    event = _process(connection, _paid_event(pending))
    # then it is the same payment: no second record, no flag
    assert event.status == InboundEvent.Status.PROCESSED
    pending.refresh_from_db()
    assert pending.flag == ""
    assert pending.bakong_transactions.count() == 1


def test_a_claim_bakong_reports_otherwise_without_a_hash_fails_the_event(
    connection, pending, sandbox_bakong
):
    # given Bakong's payment of the code: 5.00
    pay(md5=pending.md5)
    # when the gateway claims 7.00 under its own id (no Bakong hash to check)
    event = _process(connection, _paid_event(pending, amount="7.00"))
    # then Bakong's payment is recorded and the claim fails with the reason
    assert event.status == InboundEvent.Status.FAILED
    assert "not the one Bakong reports" in event.error
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.PAID
    assert pending.paid_amount == Decimal("5.00")
