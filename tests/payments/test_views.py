from decimal import Decimal

import pytest
from django.utils import timezone

from payments.clients.bakong_types import BakongTransactionInfo
from payments.models import (
    DeliveryStatus,
    PaymentRequest,
    Refund,
    WebhookDelivery,
    WebhookEndpoint,
)
from payments.services.settlement import bakong_transaction_apply
from tests.payments.makers import (
    payment_request_make,
    webhook_delivery_make,
    webhook_endpoint_make,
)


@pytest.fixture(autouse=True)
def _no_bakong(settings):
    settings.BAKONG_BASE_URL = "http://127.0.0.1:9"


def _paid(merchant, amount="10.00"):
    pr = payment_request_make(merchant=merchant, amount=amount, order_id="PAID-1")
    pr.status, pr.paid_amount, pr.paid_currency = "paid", Decimal(amount), "USD"
    pr.paid_at, pr.bakong_hash = timezone.now(), "9" * 64
    pr.save()
    return pr


def test_list_shows_the_merchants_payments_only(
    viewer_client, merchant, other_merchant
):
    payment_request_make(merchant=merchant, order_id="MINE-1")
    payment_request_make(merchant=other_merchant, order_id="THEIRS-1")
    response = viewer_client.get("/payments/")
    assert response.status_code == 200
    assert "MINE-1" in response.content.decode()
    assert "THEIRS-1" not in response.content.decode()
    assert "New KHQR" not in response.content.decode()  # a viewer cannot issue


def test_list_filters_by_status_search_and_amount(owner_client, merchant):
    _paid(merchant)
    payment_request_make(merchant=merchant, order_id="OPEN-1", amount="3.00")
    payment_request_make(merchant=merchant, order_id="OPEN-2", amount="30.00")
    paid_only = owner_client.get("/payments/?status=paid").content.decode()
    assert "PAID-1" in paid_only and "OPEN-1" not in paid_only
    searched = owner_client.get("/payments/?q=open-2").content.decode()
    assert "OPEN-2" in searched and "OPEN-1" not in searched
    ranged = owner_client.get("/payments/?amount_min=5&amount_max=20").content.decode()
    assert "PAID-1" in ranged and "OPEN-1" not in ranged and "OPEN-2" not in ranged


def test_new_khqr_creates_the_code_and_shows_it(accountant_client, merchant):
    response = accountant_client.post(
        "/payments/new/",
        {
            "amount": "25000",
            "currency": "KHR",
            "bill_number": "T-9",
            "store_label": "Riverside",
            "expires_in_seconds": "900",
        },
        follow=True,
    )
    pr = PaymentRequest.objects.get()
    assert response.redirect_chain[-1][0] == f"/payments/{pr.pk}/"
    page = response.content.decode()
    assert pr.amount == Decimal("25000")
    assert f"/payments/{pr.pk}/qr.svg" in page
    assert 'id="countdown"' in page
    assert f"/payments/{pr.pk}/status.json" in page
    assert "25,000 KHR" in page


def test_new_khqr_with_fractional_riel_shows_the_error(accountant_client):
    response = accountant_client.post(
        "/payments/new/",
        {"amount": "100.5", "currency": "KHR", "expires_in_seconds": "900"},
    )
    assert response.status_code == 200
    assert "riel amounts are whole numbers" in response.content.decode()
    assert PaymentRequest.objects.count() == 0


def test_viewer_and_auditor_cannot_issue_codes(viewer_client, auditor_client):
    for client in (viewer_client, auditor_client):
        response = client.post(
            "/payments/new/",
            {"amount": "1", "currency": "USD", "expires_in_seconds": "900"},
        )
        assert response.status_code == 403
    assert PaymentRequest.objects.count() == 0


def test_detail_shows_the_sandbox_pay_button_when_the_sandbox_is_on(
    owner_client, merchant, settings
):
    settings.SANDBOX_ENABLED = True
    pr = payment_request_make(merchant=merchant)
    page = owner_client.get(f"/payments/{pr.pk}/").content.decode()
    assert "Pay this QR (sandbox)" in page
    assert 'action="/sandbox/bakong/pay/"' in page
    assert f'value="{pr.md5}"' in page
    settings.SANDBOX_ENABLED = False
    page = owner_client.get(f"/payments/{pr.pk}/").content.decode()
    assert "Pay this QR (sandbox)" not in page


def test_detail_shows_every_payment_of_a_code_paid_twice(viewer_client, merchant):
    # given a code paid, then paid again by another Bakong transaction
    pr = payment_request_make(merchant=merchant, amount="5.00", currency="USD")
    for tx_hash in ("a" * 64, "b" * 64):
        bakong_transaction_apply(
            payment_request_id=pr.pk,
            info=BakongTransactionInfo(
                hash=tx_hash,
                from_account_id="payer@aclb",
                to_account_id="shop_a@wing",
                currency="USD",
                amount=Decimal("5.00"),
            ),
        )
    # when its page is opened
    page = viewer_client.get(f"/payments/{pr.pk}/").content.decode()
    # then both payments are listed with their outcome, and the second explained
    assert "This code was paid more than once" in page
    assert page.count('class="bakong-transaction"') == 2
    assert 'data-outcome="matched"' in page
    assert 'data-outcome="duplicate"' in page
    assert "Request already paid" in page
    assert 'title="' + "b" * 64 + '"' in page


def test_detail_says_why_a_code_has_no_deeplink(viewer_client, merchant):
    # given a code Bakong gave no deeplink, and one it did
    refused = payment_request_make(
        merchant=merchant,
        deeplink_error="Bakong refused it (error 5): Missing required fields",
    )
    linked = payment_request_make(
        merchant=merchant, deeplink="https://bakongsit.page.link/abc"
    )
    # when
    page = viewer_client.get(f"/payments/{refused.pk}/").content.decode()
    other = viewer_client.get(f"/payments/{linked.pk}/").content.decode()
    # then
    assert "No deeplink: Bakong refused it (error 5): Missing required fields" in page
    assert 'href="https://bakongsit.page.link/abc"' in other
    assert "No deeplink" not in other


def test_new_khqr_page_shows_that_bakong_could_not_be_reached(
    accountant_client, merchant
):
    # when a code is issued while Bakong is away (port 9)
    response = accountant_client.post(
        "/payments/new/",
        {"amount": "5.00", "currency": "USD", "expires_in_seconds": 900},
        follow=True,
    )
    # then
    assert "No deeplink: Bakong could not be reached" in response.content.decode()


def test_status_json_follows_the_request(viewer_client, merchant):
    pr = payment_request_make(merchant=merchant)
    pending = viewer_client.get(f"/payments/{pr.pk}/status.json").json()
    assert pending["status"] == "pending"
    assert 0 < pending["expires_in"] <= 900
    PaymentRequest.objects.filter(pk=pr.pk).update(
        status="paid", paid_at=timezone.now()
    )
    paid = viewer_client.get(f"/payments/{pr.pk}/status.json").json()
    assert paid["status"] == "paid"
    assert paid["status_label"] == "Paid"


def test_another_merchants_payment_is_404(owner_client, other_merchant):
    theirs = payment_request_make(merchant=other_merchant)
    for path in ("", "status.json", "qr.png", "stand.pdf"):
        assert owner_client.get(f"/payments/{theirs.pk}/{path}").status_code == 404


@pytest.mark.parametrize(
    ("path", "content_type", "magic"),
    [
        ("qr.png", "image/png", b"\x89PNG"),
        ("qr.svg", "image/svg+xml", b"<svg"),
        ("card.png", "image/png", b"\x89PNG"),
        ("stand.pdf", "application/pdf", b"%PDF"),
    ],
)
def test_images_render_and_answer_304_to_their_etag(
    viewer_client, merchant, path, content_type, magic
):
    pr = payment_request_make(merchant=merchant)
    response = viewer_client.get(f"/payments/{pr.pk}/{path}")
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response.content.startswith(magic)
    again = viewer_client.get(
        f"/payments/{pr.pk}/{path}", HTTP_IF_NONE_MATCH=response["ETag"]
    )
    assert again.status_code == 304


def test_accountant_records_a_partial_refund(accountant_client, merchant):
    pr = _paid(merchant)
    response = accountant_client.post(
        f"/payments/{pr.pk}/refund/",
        {"amount": "4.00", "bank_reference": "ABA-77", "reason": "broken item"},
        follow=True,
    )
    assert "Refund of 4.00 USD recorded" in response.content.decode()
    pr.refresh_from_db()
    assert pr.status == "partially_refunded"
    assert Refund.objects.get().created_by == accountant_client.user


def test_refund_above_the_paid_amount_is_explained(accountant_client, merchant):
    pr = _paid(merchant)
    response = accountant_client.post(
        f"/payments/{pr.pk}/refund/",
        {"amount": "11", "bank_reference": "ABA-78"},
        follow=True,
    )
    assert "not yet refunded" in response.content.decode()
    assert Refund.objects.count() == 0


def test_auditor_cannot_record_refunds(auditor_client, merchant):
    pr = _paid(merchant)
    response = auditor_client.post(
        f"/payments/{pr.pk}/refund/", {"amount": "1", "bank_reference": "X"}
    )
    assert response.status_code == 403


def test_owner_adds_an_endpoint_and_sees_the_secret_once(owner_client):
    response = owner_client.post(
        "/payments/webhooks/",
        {"url": "https://shop.example/tonle", "events": ["transaction.paid"]},
    )
    endpoint = WebhookEndpoint.objects.get()
    page = response.content.decode()
    assert endpoint.secrets["current"] in page
    assert endpoint.events == ["transaction.paid"]
    later = owner_client.get("/payments/webhooks/").content.decode()
    assert endpoint.secrets["current"] not in later
    assert "https://shop.example/tonle" in later


def test_accountant_cannot_manage_endpoints(accountant_client):
    assert accountant_client.get("/payments/webhooks/").status_code == 403


def test_owner_rotates_and_disables_an_endpoint(owner_client, merchant):
    endpoint = webhook_endpoint_make(merchant=merchant, secret="whsec_old")
    rotated = owner_client.post(
        f"/payments/webhooks/{endpoint.pk}/rotate/", {"confirmed": "yes"}
    )
    endpoint.refresh_from_db()
    assert endpoint.secrets["previous"] == "whsec_old"
    assert endpoint.secrets["current"] in rotated.content.decode()
    owner_client.post(
        f"/payments/webhooks/{endpoint.pk}/toggle/", {"active": "0", "confirmed": "yes"}
    )
    endpoint.refresh_from_db()
    assert endpoint.is_active is False


def test_redeliver_button_queues_the_delivery_again(owner_client, merchant):
    delivery = webhook_delivery_make(
        merchant=merchant, status=DeliveryStatus.DEAD, attempts=6
    )
    response = owner_client.post(
        f"/payments/webhooks/deliveries/{delivery.pk}/redeliver/", {"next": "payment"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/payments/{delivery.payment_request_id}/"
    delivery = WebhookDelivery.objects.get(pk=delivery.pk)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 0


def test_nav_links_to_payments_and_webhooks_for_the_owner(owner_client):
    page = owner_client.get("/").content.decode()
    assert 'href="/payments/"' in page
    assert 'href="/payments/webhooks/"' in page


def test_admin_redeliver_action_queues_the_delivery(
    client, merchant, django_user_model
):
    # given a superuser and a delivery that gave up
    root = django_user_model.objects.create_superuser("root", "root@x.test", "pw")
    client.force_login(root)
    delivery = webhook_delivery_make(
        merchant=merchant, status=DeliveryStatus.DEAD, attempts=6
    )
    # when the admin action runs on it
    response = client.post(
        "/admin/payments/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [delivery.pk]},
        follow=True,
    )
    # then it is due again
    assert "queued again" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://169.254.169.254/latest/meta-data", "a cloud metadata address"),
        ("http://10.0.0.8:8080/hook", "10.0.0.8 is a private address"),
        ("http://localhost:8000/hook", "127.0.0.1, a loopback address"),
    ],
)
def test_owner_page_refuses_a_private_webhook_url_naming_the_address(
    owner_client, settings, url, named
):
    # given production rules (the sandbox on does not change them)
    settings.SANDBOX_ENABLED = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    # when
    response = owner_client.post(
        "/payments/webhooks/", {"url": url, "events": ["transaction.paid"]}
    )
    # then the form says why, and nothing is saved
    assert response.status_code == 200
    assert named in response.context["form"].errors["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_admin_refuses_a_private_webhook_url(client, merchant, django_user_model):
    # given a superuser
    root = django_user_model.objects.create_superuser("root", "root@x.test", "pw")
    client.force_login(root)
    # when they add an endpoint at the metadata address
    response = client.post(
        "/admin/payments/webhookendpoint/add/",
        {
            "merchant": merchant.pk,
            "url": "http://169.254.169.254/latest",
            "events": '["transaction.paid"]',
            "is_active": "on",
            "disabled_reason": "",
        },
    )
    # then the admin form shows the reason and saves nothing
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["url"]
    assert errors == [
        "169.254.169.254 is a cloud metadata address: refused; webhooks go only to "
        "public internet addresses"
    ]
    assert not WebhookEndpoint.objects.exists()
