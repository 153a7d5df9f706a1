"""The payments issue's end-to-end test, over real HTTP: a shop creates a code through
the API, the sandbox's payer pays it, a REAL Celery worker polls Bakong (the sandbox
on the live server) and applies it, the API says `paid`, and the shop's own webhook
server receives exactly one correctly signed delivery.

Plus the browser: the New KHQR page turns to paid without a reload."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from core.signing import signature_verify
from merchants.services import api_key_create
from payments.models import DeliveryStatus, PaymentRequest, WebhookDelivery
from payments.services.polling import payment_request_check
from payments.services.webhook_endpoints import webhook_endpoint_create
from tests.e2e.worker import start_worker, stop_worker
from tests.factories import AccountFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class ShopWebhookServer:
    """The merchant's own endpoint: a local HTTP server that keeps every request."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"thanks")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/tonle-hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shop_server():
    server = ShopWebhookServer()
    yield server
    server.close()


def _wait(predicate, *, timeout: float, what: str, worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    log = worker.log()[-4000:] if worker else ""
    pytest.fail(f"timed out waiting for {what}\n{log}")


def test_api_code_paid_in_the_sandbox_is_polled_by_a_real_worker_and_notified(
    live_server, settings, merchant, shop_server, tmp_path
):
    # given a merchant with a Bakong wallet, an API key and a webhook endpoint at
    # the shop's own server, and a real worker polling the live server's sandbox
    settings.SITE_URL = live_server.url
    # the shop's server is on this machine: local testing, said so explicitly
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    AccountFactory(
        merchant=merchant,
        provider="bakong",
        currency="USD",
        bakong_account_id="shop_a@wing",
    )
    _, raw_key = api_key_create(merchant=merchant)
    _, secret = webhook_endpoint_create(merchant=merchant, url=shop_server.url)
    worker = start_worker(
        live_server_url=live_server.url,
        tmp_path=tmp_path,
        extra_env={"WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true"},
    )
    try:
        api = httpx.Client(
            base_url=live_server.url,
            headers={"Authorization": f"Bearer {raw_key}"},
            timeout=30,
        )
        # when the shop asks for a code over HTTP
        created = api.post(
            "/api/v1/qr",
            json={"amount": "2.75", "currency": "USD", "order_id": "E2E-1"},
        )
        assert created.status_code == 201, created.text
        code = created.json()
        assert code["status"] == "pending"
        assert code["deeplink"].startswith("http"), "the sandbox answers deeplinks"
        image = api.get(code["image_url"])
        assert image.headers["content-type"] == "image/png"
        # and the customer pays it (the sandbox's simulated bank app)
        paid = httpx.post(
            f"{live_server.url}/sandbox/bakong/pay/",
            data={"md5": code["md5"]},
            follow_redirects=False,
        )
        assert paid.status_code == 302, paid.text

        # then the worker's polling makes the API say paid
        def status():
            answer = api.post("/api/v1/transaction/check", json={"md5": code["md5"]})
            return answer.json() if answer.json()["status"] == "paid" else None

        checked = _wait(status, timeout=60, what="the API to say paid", worker=worker)
        assert checked["amount"] == "2.75"
        assert checked["hash"]
        by_order = api.post("/api/v1/transaction/by-order", json={"order_id": "E2E-1"})
        assert by_order.json()["status"] == "paid"

        # and the shop's server receives one signed delivery
        _wait(
            lambda: shop_server.received,
            timeout=30,
            what="the webhook delivery",
            worker=worker,
        )
        _wait(
            lambda: WebhookDelivery.objects.filter(
                status=DeliveryStatus.SUCCEEDED
            ).exists(),
            timeout=10,
            what="the delivery to be logged",
            worker=worker,
        )
        time.sleep(2)  # a duplicate would arrive within this window
    finally:
        stop_worker(worker)
    assert len(shop_server.received) == 1
    headers, body = shop_server.received[0]
    signature_verify(header=headers["X-Tonle-Signature"], secrets=[secret], body=body)
    event = json.loads(body)
    assert event["event"] == "transaction.paid"
    assert event["md5"] == code["md5"]
    assert event["amount"] == "2.75"
    assert event["currency"] == "USD"
    assert event["external_order_id"] == "E2E-1"
    assert event["transaction_id"] == checked["hash"]
    delivery = WebhookDelivery.objects.get()
    assert headers["X-Tonle-Delivery-Id"] == str(delivery.delivery_id)
    assert headers["X-Tonle-Event"] == "transaction.paid"
    assert delivery.attempt_log.count() == 1


def test_new_khqr_page_turns_to_paid_without_a_reload(
    live_server, settings, page, merchant, member_client_factory
):
    # given an accountant signed in in a real browser
    settings.SITE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(username="cashier")
    MembershipFactory(user=user, merchant=merchant, role="accountant")
    page.goto(f"{live_server.url}/login/?next=/payments/new/")
    page.fill("#id_username", "cashier")
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    # when they issue a code from the New KHQR form
    page.wait_for_selector("#new-khqr")
    page.fill("#id_amount", "15000")
    page.select_option("#id_currency", "KHR")
    page.fill("#id_bill_number", "TABLE-4")
    page.click("#new-khqr button[type=submit]")
    page.wait_for_selector("#live-status")
    assert page.inner_text("#live-status") == "Pending"
    assert page.locator("#qr-image").is_visible()
    assert ":" in page.inner_text("#countdown")  # the expiry countdown ticks
    page.evaluate("window.__same_page = true")
    pr = PaymentRequest.objects.get(bill_number="TABLE-4")
    # and the customer pays, and one Bakong check (the poller's own service, in
    # this process) learns of it from the sandbox over HTTP
    assert (
        httpx.post(
            f"{live_server.url}/sandbox/bakong/pay/", data={"md5": pr.md5}
        ).status_code
        == 302
    )
    payment_request_check(payment_request_id=pr.pk, force=True)
    pr.refresh_from_db()
    assert pr.status == "paid"
    # then the page shows paid by itself, on the same page (no reload)
    page.wait_for_function(
        # a function, not a string: the page's CSP refuses eval of a string
        "() => document.getElementById('live-status').textContent === 'Paid'",
        timeout=15_000,
    )
    assert page.locator("#paid-banner").is_visible()
    assert page.evaluate("window.__same_page") is True
