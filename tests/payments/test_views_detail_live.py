"""The payment page's live part (`?fragment=live`), settling a flagged payment on the
page, destructive actions that ask first, copy buttons and "Send test event"."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from merchants.models import ApiKey
from payments.clients.bakong_types import BakongTransactionInfo
from payments.models import (
    FlagResolution,
    PaymentStatus,
    WebhookDelivery,
)
from payments.services.settlement import bakong_transaction_apply
from tests.payments.makers import payment_request_make, webhook_endpoint_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_bakong(settings):
    settings.BAKONG_BASE_URL = "http://127.0.0.1:9"


def pay(pr, amount="5.00", hash_char="a"):
    return bakong_transaction_apply(
        payment_request_id=pr.pk,
        info=BakongTransactionInfo(
            hash=hash_char * 64,
            from_account_id="payer@aclb",
            to_account_id="shop_a@wing",
            currency="USD",
            amount=Decimal(amount),
        ),
    )


# --- the live part ------------------------------------------------------------------


def test_the_page_names_its_live_part_and_has_no_inline_script(
    accountant_client, merchant
):
    pr = payment_request_make(merchant=merchant)
    page = accountant_client.get(f"/payments/{pr.pk}/").content.decode()
    assert f'data-live-fragment-url="/payments/{pr.pk}/?fragment=live"' in page
    assert f'data-live-status-url="/payments/{pr.pk}/status.json"' in page
    assert 'id="payment-live"' in page
    assert re.findall(r"<script\b[^>]*>", page) == [
        tag for tag in re.findall(r"<script\b[^>]*>", page) if "src=" in tag
    ]


def test_the_fragment_is_the_changing_part_alone_never_cached(viewer_client, merchant):
    pr = payment_request_make(merchant=merchant)
    response = viewer_client.get(f"/payments/{pr.pk}/", {"fragment": "live"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "<html" not in body and "<header" not in body
    assert 'id="payment-details"' in body
    assert 'id="bakong-transactions"' in body
    assert 'id="qr-image"' not in body  # the code stays put on the page


def test_once_paid_the_fragment_shows_the_transaction_and_the_refund_form(
    accountant_client, merchant
):
    # given a pending code: the fragment offers pay/cancel and no refund
    pr = payment_request_make(merchant=merchant, amount="5.00")
    url = f"/payments/{pr.pk}/?fragment=live"
    before = accountant_client.get(url).content.decode()
    assert 'id="payment-actions"' in before
    assert 'id="refund-form"' not in before
    assert "None yet: Bakong has not reported" in before
    # when Bakong reports the payment
    pay(pr)
    after = accountant_client.get(url).content.decode()
    # then the same fragment shows the transaction, the paid details and the form
    assert 'class="bakong-transaction" data-outcome="matched"' in after
    assert 'title="' + "a" * 64 + '"' in after
    assert 'id="refund-form"' in after
    assert 'id="payment-actions"' not in after
    assert "5.00 USD" in after


def test_the_fragment_of_another_merchants_payment_is_404(owner_client, other_merchant):
    pr = payment_request_make(merchant=other_merchant)
    response = owner_client.get(f"/payments/{pr.pk}/", {"fragment": "live"})
    assert response.status_code == 404


def test_a_viewer_sees_no_refund_form_in_the_fragment(viewer_client, merchant):
    pr = pay(payment_request_make(merchant=merchant))
    body = viewer_client.get(f"/payments/{pr.pk}/?fragment=live").content.decode()
    assert 'id="refund-form"' not in body


def test_an_unpaid_flagged_code_offers_no_refund_form_it_would_refuse(
    accountant_client, merchant
):
    pr = pay(payment_request_make(merchant=merchant, amount="10.00"), amount="9.00")
    body = accountant_client.get(f"/payments/{pr.pk}/?fragment=live").content.decode()
    assert 'id="refund-form"' not in body
    assert 'id="settle-form"' in body


# --- settle a flagged payment --------------------------------------------------------


def test_an_accountant_settles_a_flagged_payment_on_the_page(
    accountant_client, merchant
):
    # given an underpaid code
    pr = pay(payment_request_make(merchant=merchant, amount="10.00"), amount="9.00")
    page = accountant_client.get(f"/payments/{pr.pk}/").content.decode()
    assert "Accept the amount received as the payment" in page
    assert "Leave it for reconciliation" in page
    # when they accept it with a note
    response = accountant_client.post(
        reverse("payments:settle", args=[pr.pk]),
        {"resolution": "accept", "note": "Agreed with the customer"},
        follow=True,
    )
    # then the page shows it paid and settled, with the note
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert pr.flag_resolution == FlagResolution.ACCEPTED
    body = response.content.decode()
    assert 'id="flag-settled"' in body
    assert "Settled: accepted as the payment" in body
    assert "Agreed with the customer" in body
    assert 'id="settle-form"' not in body


def test_settling_without_a_note_says_so_and_changes_nothing(
    accountant_client, merchant
):
    pr = pay(payment_request_make(merchant=merchant, amount="10.00"), amount="9.00")
    response = accountant_client.post(
        reverse("payments:settle", args=[pr.pk]),
        {"resolution": "refund", "note": "", "bank_reference": "X-1"},
        follow=True,
    )
    assert "Not settled: Note: This field is required." in response.content.decode()
    pr.refresh_from_db()
    assert pr.flag_resolution == ""
    assert pr.status == PaymentStatus.PENDING


def test_a_refund_without_its_bank_reference_is_explained(accountant_client, merchant):
    pr = pay(payment_request_make(merchant=merchant, amount="10.00"), amount="9.00")
    response = accountant_client.post(
        reverse("payments:settle", args=[pr.pk]),
        {"resolution": "refund", "note": "sent back"},
        follow=True,
    )
    assert "Not settled: the reference of your bank" in response.content.decode()
    pr.refresh_from_db()
    assert pr.flag_resolution == ""


@pytest.mark.parametrize("who", ["viewer_client", "auditor_client"])
def test_viewers_and_auditors_cannot_settle(request, who, merchant):
    client = request.getfixturevalue(who)
    pr = pay(payment_request_make(merchant=merchant, amount="10.00"), amount="9.00")
    page = client.get(f"/payments/{pr.pk}/").content.decode()
    assert 'id="settle-form"' not in page
    response = client.post(
        reverse("payments:settle", args=[pr.pk]),
        {"resolution": "accept", "note": "x"},
    )
    assert response.status_code == 403
    pr.refresh_from_db()
    assert pr.flag_resolution == ""


# --- destructive actions ask first ---------------------------------------------------


def test_cancelling_a_code_asks_first_and_cancels_once_confirmed(
    accountant_client, merchant
):
    # given a pending code whose cancel button carries the question for the dialog
    pr = payment_request_make(merchant=merchant, order_id="ORD-7")
    page = accountant_client.get(f"/payments/{pr.pk}/").content.decode()
    assert 'data-confirm="Cancel this code?' in page
    url = reverse("payments:cancel", args=[pr.pk])
    # when the form is posted without the confirmation (no JavaScript)
    asked = accountant_client.post(url)
    # then a page asks, reposting to the same place, and nothing is cancelled
    assert asked.status_code == 200
    assert "Cancel the code ORD-7?" in asked.content.decode()
    assert f'action="{url}"' in asked.content.decode()
    assert 'name="confirmed" value="yes"' in asked.content.decode()
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PENDING
    # and once confirmed, it is cancelled
    done = accountant_client.post(url, {"confirmed": "yes"})
    assert done.status_code == 302
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.CANCELLED


def test_revoking_an_api_key_asks_first(owner_client, merchant, api_key):
    key = ApiKey.objects.for_merchant(merchant).get()
    page = owner_client.get(reverse("api-keys")).content.decode()
    assert f'data-confirm="Revoke the key {key.prefix}' in page
    asked = owner_client.post(reverse("api-key-revoke", args=[key.pk]))
    assert asked.status_code == 200
    assert f"Revoke the key {key.prefix}" in asked.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None


def test_rotating_a_secret_asks_first(owner_client, merchant):
    endpoint = webhook_endpoint_make(merchant=merchant, secret="whsec_keep")
    page = owner_client.get(f"/payments/webhooks/{endpoint.pk}/").content.decode()
    assert 'data-confirm="Rotate the signing secret' in page
    asked = owner_client.post(f"/payments/webhooks/{endpoint.pk}/rotate/")
    assert "Rotate the signing secret of" in asked.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.secrets["current"] == "whsec_keep"


def test_disabling_an_endpoint_asks_first_and_enabling_does_not(owner_client, merchant):
    endpoint = webhook_endpoint_make(merchant=merchant)
    url = f"/payments/webhooks/{endpoint.pk}/toggle/"
    asked = owner_client.post(url, {"active": "0"})
    assert asked.status_code == 200
    # the confirmation page posts the same fields again
    assert 'name="active" value="0"' in asked.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.is_active is True
    owner_client.post(url, {"active": "0", "confirmed": "yes"})
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    owner_client.post(url, {"active": "1"})
    endpoint.refresh_from_db()
    assert endpoint.is_active is True


def test_asking_first_never_reveals_another_merchants_objects(
    owner_client, other_merchant
):
    theirs = webhook_endpoint_make(merchant=other_merchant)
    pr = payment_request_make(merchant=other_merchant)
    assert owner_client.post(f"/payments/webhooks/{theirs.pk}/rotate/").status_code == (
        404
    )
    assert owner_client.post(reverse("payments:cancel", args=[pr.pk])).status_code == (
        404
    )


# --- copy buttons, test events -------------------------------------------------------


def test_a_new_key_and_a_new_secret_get_a_copy_button(owner_client):
    created = owner_client.post(
        reverse("api-keys"),
        {"name": "shop", "mode": "live", "scopes": ["qr:write"], "expires_days": ""},
    ).content.decode()
    assert 'data-copy="#new-key"' in created
    added = owner_client.post(
        "/payments/webhooks/",
        {"url": "https://shop.example/hook", "events": ["transaction.paid"]},
    ).content.decode()
    assert 'data-copy="#new-secret"' in added


def test_send_test_event_queues_a_signed_test_delivery_shown_in_the_log(
    owner_client, merchant, django_capture_on_commit_callbacks
):
    # given an endpoint whose page offers the button
    endpoint = webhook_endpoint_make(merchant=merchant)
    page = owner_client.get(f"/payments/webhooks/{endpoint.pk}/").content.decode()
    assert "Send test event" in page
    # when the owner presses it
    with django_capture_on_commit_callbacks():
        response = owner_client.post(
            reverse("payments:webhook-test", args=[endpoint.pk]), follow=True
        )
    # then a test delivery is in the endpoint's log
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event == "webhook.test"
    body = response.content.decode()
    assert "Test event" in body and "is on its way" in body
    assert str(delivery.delivery_id) in body


def test_a_disabled_endpoint_explains_why_no_test_event_went(owner_client, merchant):
    endpoint = webhook_endpoint_make(merchant=merchant)
    endpoint.is_active = False
    endpoint.save()
    response = owner_client.post(
        reverse("payments:webhook-test", args=[endpoint.pk]), follow=True
    )
    assert "No test event sent: the endpoint is disabled" in response.content.decode()
    assert not WebhookDelivery.objects.exists()


def test_only_an_owner_sends_test_events(accountant_client, merchant):
    endpoint = webhook_endpoint_make(merchant=merchant)
    response = accountant_client.post(
        reverse("payments:webhook-test", args=[endpoint.pk])
    )
    assert response.status_code == 403
    assert not WebhookDelivery.objects.exists()
