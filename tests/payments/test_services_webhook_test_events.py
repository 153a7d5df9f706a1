"""Send test event: a signed `webhook.test` delivery to one endpoint, sent and logged
like a real one."""

from __future__ import annotations

import json

import httpx
import pytest

from core.exceptions import Conflict, NotFound
from core.signing import signature_verify
from merchants.models import AuditEvent
from payments.models import DeliveryStatus, WebhookDelivery
from payments.services.webhook_deliveries import webhook_delivery_attempt
from payments.services.webhook_endpoints import (
    webhook_endpoint_create,
    webhook_endpoint_set_active,
)
from payments.services.webhook_test_events import webhook_endpoint_test_send

pytestmark = pytest.mark.django_db

PUBLIC = lambda host, port: ["93.184.216.34"]  # noqa: E731 - a public address


@pytest.fixture
def endpoint_and_secret(merchant):
    return webhook_endpoint_create(merchant=merchant, url="https://shop.example/hooks")


def test_a_test_event_is_queued_after_commit_and_audited(
    merchant, endpoint_and_secret, django_capture_on_commit_callbacks
):
    # given an endpoint
    endpoint, _ = endpoint_and_secret
    # when the owner sends a test event
    with django_capture_on_commit_callbacks() as callbacks:
        delivery = webhook_endpoint_test_send(
            merchant=merchant, endpoint_id=endpoint.pk
        )
    # then one pending delivery of the test event, sent once the write commits
    assert delivery.event == "webhook.test"
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.payment_request is None
    assert delivery.payload["event"] == "webhook.test"
    assert len(callbacks) == 1
    assert AuditEvent.objects.filter(
        action="webhook_endpoint.test_sent", object_id=str(endpoint.pk)
    ).exists()


def test_each_test_event_is_its_own_delivery(merchant, endpoint_and_secret):
    endpoint, _ = endpoint_and_secret
    first = webhook_endpoint_test_send(merchant=merchant, endpoint_id=endpoint.pk)
    second = webhook_endpoint_test_send(merchant=merchant, endpoint_id=endpoint.pk)
    assert first.delivery_id != second.delivery_id
    assert WebhookDelivery.objects.filter(event="webhook.test").count() == 2


def test_the_test_event_arrives_signed_with_the_endpoints_secret(
    merchant, endpoint_and_secret, settings
):
    # given a queued test event (addresses checked as in production)
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    endpoint, secret = endpoint_and_secret
    delivery = webhook_endpoint_test_send(merchant=merchant, endpoint_id=endpoint.pk)
    seen = []

    def shop(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    # when it is attempted
    sent = webhook_delivery_attempt(
        delivery_id=delivery.pk,
        transport=httpx.MockTransport(shop),
        resolver=PUBLIC,
    )
    # then the shop can verify it, and the log says it was delivered
    (request,) = seen
    signature_verify(
        header=request.headers["X-Tonle-Signature"],
        secrets=[secret],
        body=request.content,
    )
    assert request.headers["X-Tonle-Event"] == "webhook.test"
    assert json.loads(request.content)["event"] == "webhook.test"
    assert sent.status == DeliveryStatus.SUCCEEDED
    assert sent.attempt_log.count() == 1


def test_a_disabled_endpoint_gets_no_test_event(merchant, endpoint_and_secret):
    endpoint, _ = endpoint_and_secret
    webhook_endpoint_set_active(
        merchant=merchant, endpoint_id=endpoint.pk, active=False
    )
    with pytest.raises(Conflict, match="disabled: enable it"):
        webhook_endpoint_test_send(merchant=merchant, endpoint_id=endpoint.pk)
    assert not WebhookDelivery.objects.exists()


def test_another_merchants_endpoint_is_not_found(other_merchant, endpoint_and_secret):
    endpoint, _ = endpoint_and_secret
    with pytest.raises(NotFound):
        webhook_endpoint_test_send(merchant=other_merchant, endpoint_id=endpoint.pk)
