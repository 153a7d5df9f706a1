import datetime as dt
import email.utils
import json
import random

import httpx
import pytest
from django.utils import timezone
from freezegun import freeze_time

from core.exceptions import Conflict, NotFound
from core.signing import SignatureError, signature_verify
from payments.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from payments.services.webhook_deliveries import (
    MAX_ATTEMPTS,
    RETRY_AFTER_CAP_SECONDS,
    webhook_deliveries_enqueue,
    webhook_delivery_attempt,
    webhook_delivery_redeliver,
)
from payments.services.webhook_endpoints import (
    endpoint_signing_secrets,
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_set_active,
)
from tests.payments.makers import payment_request_make

PUBLIC = lambda host, port: ["93.184.216.34"]  # noqa: E731 - a public address


@pytest.fixture(autouse=True)
def _production_like(settings):
    # the address checks apply, whatever the sandbox says
    settings.SANDBOX_ENABLED = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False


class Receiver:
    """An httpx.MockTransport shop: answers in order, keeps what it saw."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


@pytest.fixture
def paid_delivery(merchant):
    endpoint, secret = webhook_endpoint_create(
        merchant=merchant, url="https://shop.example/hooks"
    )
    pr = payment_request_make(merchant=merchant, amount="5.00", order_id="ORD-9")
    pr.status, pr.paid_amount, pr.paid_currency = "paid", pr.amount, "USD"
    pr.bakong_hash, pr.paid_at = "c" * 64, timezone.now()
    pr.save()
    (delivery,) = webhook_deliveries_enqueue(
        payment_request=pr, event="transaction.paid"
    )
    return delivery, secret


def test_attempt_posts_a_body_signed_verifiably_with_core_signing(paid_delivery):
    # given
    delivery, secret = paid_delivery
    shop = Receiver(httpx.Response(200, text="ok"))
    # when
    result = webhook_delivery_attempt(
        delivery_id=delivery.pk, transport=shop.transport, resolver=PUBLIC
    )
    # then the shop got one POST it can verify with its secret
    (request,) = shop.seen
    assert request.method == "POST"
    # to the address that was checked, with the name kept for Host and TLS SNI
    assert str(request.url) == "https://93.184.216.34/hooks"
    assert request.headers["Host"] == "shop.example"
    assert request.extensions["sni_hostname"] == "shop.example"
    signature_verify(
        header=request.headers["X-Tonle-Signature"],
        secrets=[secret],
        body=request.content,
    )
    assert request.headers["X-Tonle-Delivery-Id"] == str(delivery.delivery_id)
    assert request.headers["X-Tonle-Event"] == "transaction.paid"
    body = json.loads(request.content)
    assert body == {
        "event": "transaction.paid",
        "md5": delivery.payment_request.md5,
        "amount": "5.00",
        "currency": "USD",
        "bill_number": delivery.payment_request.bill_number,
        "paid_at": body["paid_at"],
        "transaction_id": "c" * 64,
        "external_order_id": "ORD-9",
    }
    assert body["paid_at"].endswith("Z")
    assert result.status == DeliveryStatus.SUCCEEDED
    assert result.attempt_log.get().status_code == 200


def test_a_wrong_secret_does_not_verify(paid_delivery):
    delivery, _ = paid_delivery
    shop = Receiver(httpx.Response(200))
    webhook_delivery_attempt(
        delivery_id=delivery.pk, transport=shop.transport, resolver=PUBLIC
    )
    with pytest.raises(SignatureError, match="does not match"):
        signature_verify(
            header=shop.seen[0].headers["X-Tonle-Signature"],
            secrets=["whsec_other"],
            body=shop.seen[0].content,
        )


def test_failures_back_off_exponentially_and_give_up_after_max_attempts(
    paid_delivery, monkeypatch
):
    # given a shop that always answers 500, and no jitter
    delivery, _ = paid_delivery
    shop = Receiver(httpx.Response(500, text="boom"))
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    delays = []
    start = timezone.now()
    with freeze_time(start) as clock:
        for _ in range(MAX_ATTEMPTS):
            result = webhook_delivery_attempt(
                delivery_id=delivery.pk, transport=shop.transport, resolver=PUBLIC
            )
            if result.next_attempt_at is not None:
                delay = (result.next_attempt_at - timezone.now()).total_seconds()
                delays.append(delay)
                # not due yet: a second attempt now is refused
                assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
                clock.tick(dt.timedelta(seconds=delay))
    # then the pauses double: 30 s, 60 s, 120 s, 240 s, 480 s, then it gives up
    assert delays == [30, 60, 120, 240, 480]
    assert result.status == DeliveryStatus.DEAD
    assert result.attempts == MAX_ATTEMPTS >= 5
    assert list(result.attempt_log.values_list("number", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    assert len(shop.seen) == MAX_ATTEMPTS


def test_410_disables_the_endpoint(paid_delivery):
    delivery, _ = paid_delivery
    shop = Receiver(httpx.Response(410))
    result = webhook_delivery_attempt(
        delivery_id=delivery.pk, transport=shop.transport, resolver=PUBLIC
    )
    endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
    assert result.status == DeliveryStatus.DEAD
    assert endpoint.is_active is False
    assert "410" in endpoint.disabled_reason


def test_redirect_is_not_followed(paid_delivery):
    delivery, _ = paid_delivery
    shop = Receiver(
        httpx.Response(302, headers={"Location": "http://169.254.169.254/latest"})
    )
    result = webhook_delivery_attempt(
        delivery_id=delivery.pk, transport=shop.transport, resolver=PUBLIC
    )
    assert len(shop.seen) == 1
    assert result.status == DeliveryStatus.FAILED
    assert "redirects are not followed" in result.last_error


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.9", "a private address"),
        ("192.168.1.1", "a private address"),
        ("::1", "a loopback address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fe80::1", "a link-local address"),
    ],
)
def test_a_name_that_now_resolves_to_a_private_address_is_refused_at_send_time(
    paid_delivery, address, kind
):
    # given an endpoint saved while its name resolved to a public address, and a
    # DNS answer that has since changed (rebinding)
    delivery, _ = paid_delivery
    shop = Receiver(httpx.Response(200))
    # when
    result = webhook_delivery_attempt(
        delivery_id=delivery.pk,
        transport=shop.transport,
        resolver=lambda host, port: [address],
    )
    # then nothing is sent, and the log names the address
    assert shop.seen == []
    assert result.status == DeliveryStatus.FAILED
    assert result.last_error == f"shop.example resolves to {address}, {kind}: refused"


def test_private_addresses_are_allowed_only_by_their_own_setting(
    paid_delivery, settings
):
    # given the explicit exemption for local testing
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    delivery, _ = paid_delivery
    shop = Receiver(httpx.Response(204))
    # when the name resolves to this machine
    result = webhook_delivery_attempt(
        delivery_id=delivery.pk,
        transport=shop.transport,
        resolver=lambda host, port: ["127.0.0.1"],
    )
    # then it is sent, by name
    assert result.status == DeliveryStatus.SUCCEEDED
    assert str(shop.seen[0].url) == "https://shop.example/hooks"


def test_the_sandbox_alone_does_not_allow_private_addresses(paid_delivery, settings):
    # given the sandbox on (the autouse fixture) and the exemption off
    assert settings.SANDBOX_ENABLED and not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES
    delivery, _ = paid_delivery
    shop = Receiver(httpx.Response(204))
    # when
    result = webhook_delivery_attempt(
        delivery_id=delivery.pk,
        transport=shop.transport,
        resolver=lambda host, port: ["127.0.0.1"],
    )
    # then
    assert shop.seen == []
    assert "a loopback address: refused" in result.last_error


def _retry_in_seconds(result) -> float:
    # inside freeze_time: the wait the row was given
    return (result.next_attempt_at - timezone.now()).total_seconds()


def _next_whole_second() -> dt.datetime:
    # HTTP dates have whole seconds; the delivery was due at a fraction of one
    return timezone.now().replace(microsecond=0) + dt.timedelta(seconds=1)


def test_a_429_waits_at_least_its_retry_after_in_seconds(paid_delivery):
    # given a shop that answers 429 with Retry-After: 3600 (backoff alone: 30 s)
    delivery, _ = paid_delivery
    start = _next_whole_second()
    shop = Receiver(httpx.Response(429, headers={"Retry-After": "3600"}))
    # when
    with freeze_time(start):
        result = webhook_delivery_attempt(
            delivery_id=delivery.pk, transport=shop.transport, resolver=PUBLIC
        )
        wait = _retry_in_seconds(result)
    # then the next attempt is no sooner than the shop asked
    assert result.status == DeliveryStatus.FAILED
    assert wait == 3600
    assert result.last_status_code == 429
    assert result.last_error == "answered 429 (Retry-After 3600 s)"


def test_a_429_retry_after_may_be_an_http_date(paid_delivery):
    delivery, _ = paid_delivery
    start = _next_whole_second()
    later = start + dt.timedelta(minutes=90)
    shop = Receiver(
        httpx.Response(
            429, headers={"Retry-After": email.utils.format_datetime(later, True)}
        )
    )
    with freeze_time(start):
        result = webhook_delivery_attempt(
            delivery_id=delivery.pk, transport=shop.transport, resolver=PUBLIC
        )
        wait = _retry_in_seconds(result)
    assert wait == 90 * 60


def test_a_huge_retry_after_is_capped(paid_delivery):
    delivery, _ = paid_delivery
    start = _next_whole_second()
    shop = Receiver(httpx.Response(429, headers={"Retry-After": "99999999"}))
    with freeze_time(start):
        result = webhook_delivery_attempt(
            delivery_id=delivery.pk, transport=shop.transport, resolver=PUBLIC
        )
        wait = _retry_in_seconds(result)
    assert wait == RETRY_AFTER_CAP_SECONDS == 6 * 3600


def test_a_503_with_retry_after_is_honoured_and_logged(paid_delivery):
    delivery, _ = paid_delivery
    start = _next_whole_second()
    shop = Receiver(
        httpx.Response(503, text="maintenance", headers={"Retry-After": "600"})
    )
    with freeze_time(start):
        result = webhook_delivery_attempt(
            delivery_id=delivery.pk, transport=shop.transport, resolver=PUBLIC
        )
        wait = _retry_in_seconds(result)
    assert wait == 600
    attempt = result.attempt_log.get()
    assert (attempt.status_code, attempt.response_body) == (503, "maintenance")


def test_connection_error_is_logged_and_retried(paid_delivery):
    delivery, _ = paid_delivery

    def refuse(request):
        raise httpx.ConnectError("connection refused")

    result = webhook_delivery_attempt(
        delivery_id=delivery.pk,
        transport=httpx.MockTransport(refuse),
        resolver=PUBLIC,
    )
    assert result.status == DeliveryStatus.FAILED
    assert "connection failed (connection refused)" in result.attempt_log.get().error


def test_manual_redelivery_sends_again_with_a_fresh_series(paid_delivery):
    # given a delivery that gave up
    delivery, _ = paid_delivery
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DEAD, attempts=MAX_ATTEMPTS, next_attempt_at=None
    )
    # when the owner redelivers (the task it enqueues runs after commit, which a
    # test transaction never reaches: the attempt below stands in for it)
    redelivered = webhook_delivery_redeliver(
        merchant=delivery.merchant, delivery_id=delivery.pk
    )
    # then it is due again with a fresh budget
    assert redelivered.status == DeliveryStatus.PENDING
    assert redelivered.attempts == 0
    shop = Receiver(httpx.Response(200))
    result = webhook_delivery_attempt(
        delivery_id=delivery.pk, transport=shop.transport, resolver=PUBLIC
    )
    assert result.status == DeliveryStatus.SUCCEEDED


def test_redelivery_of_another_merchants_delivery_is_not_found(
    paid_delivery, other_merchant
):
    delivery, _ = paid_delivery
    with pytest.raises(NotFound):
        webhook_delivery_redeliver(merchant=other_merchant, delivery_id=delivery.pk)


def test_redelivery_to_a_disabled_endpoint_is_a_conflict(paid_delivery):
    delivery, _ = paid_delivery
    webhook_endpoint_set_active(
        merchant=delivery.merchant, endpoint_id=delivery.endpoint_id, active=False
    )
    with pytest.raises(Conflict, match="endpoint is disabled"):
        webhook_delivery_redeliver(merchant=delivery.merchant, delivery_id=delivery.pk)


def test_rotation_signs_with_both_secrets_for_a_day(paid_delivery):
    # given
    delivery, old = paid_delivery
    _, new = webhook_endpoint_rotate_secret(
        merchant=delivery.merchant, endpoint_id=delivery.endpoint_id
    )
    shop = Receiver(httpx.Response(200))
    # when
    webhook_delivery_attempt(
        delivery_id=delivery.pk, transport=shop.transport, resolver=PUBLIC
    )
    # then a shop holding either secret verifies it
    request = shop.seen[0]
    header = request.headers["X-Tonle-Signature"]
    assert header.count("v1=") == 2
    for secret in (old, new):
        signature_verify(header=header, secrets=[secret], body=request.content)
    # and a day later only the new one signs
    endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
    with freeze_time(timezone.now() + dt.timedelta(hours=25)):
        assert endpoint_signing_secrets(endpoint) == [new]


def test_enqueue_once_per_endpoint_and_event(paid_delivery):
    delivery, _ = paid_delivery
    again = webhook_deliveries_enqueue(
        payment_request=delivery.payment_request, event="transaction.paid"
    )
    assert again == []
    assert WebhookDelivery.objects.count() == 1


def test_enqueue_skips_disabled_endpoints_and_other_events(merchant):
    pr = payment_request_make(merchant=merchant)
    off, _ = webhook_endpoint_create(merchant=merchant, url="https://a.example/h")
    webhook_endpoint_set_active(merchant=merchant, endpoint_id=off.pk, active=False)
    webhook_endpoint_create(
        merchant=merchant, url="https://b.example/h", events=["transaction.refunded"]
    )
    assert (
        webhook_deliveries_enqueue(payment_request=pr, event="transaction.paid") == []
    )
