"""A test event to a merchant's webhook endpoint: a signed `webhook.test` delivery
made and sent like any other (same signature, attempts and log), so the shop can
check its signature code before a real payment depends on it."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.exceptions import Conflict, NotFound
from core.tasks import enqueue_on_commit
from merchants.models import Merchant
from merchants.services import audit_event_record
from payments.models import WebhookDelivery, WebhookEndpoint

TEST_EVENT = "webhook.test"


def webhook_test_payload(*, endpoint: WebhookEndpoint, test_id: str) -> dict[str, Any]:
    """The body: marked as a test, naming no payment, so a shop that only acts on
    `transaction.*` events ignores it."""
    return {
        "event": TEST_EVENT,
        "test_id": test_id,
        "endpoint": endpoint.url,
        "sent_at": timezone.now().isoformat().replace("+00:00", "Z"),
        "message": "A test event from Tonle: your endpoint and its signature check "
        "work if you can read this.",
    }


@transaction.atomic
def webhook_endpoint_test_send(
    *, merchant: Merchant, endpoint_id: int, actor: Any = None
) -> WebhookDelivery:
    """Queue one signed `webhook.test` delivery to an active endpoint, sent after
    commit and shown in its delivery log; audited."""
    endpoint = (
        WebhookEndpoint.objects.for_merchant(merchant)
        .select_for_update()
        .filter(pk=endpoint_id)
        .first()
    )
    if endpoint is None:
        raise NotFound(gettext_noop("no such webhook endpoint"))
    if not endpoint.is_active:
        raise Conflict(
            gettext_noop(
                "the endpoint is disabled: enable it before sending a test event"
            ),
            field="endpoint",
        )
    test_id = uuid.uuid4().hex
    delivery = WebhookDelivery.objects.create(
        merchant=merchant,
        endpoint=endpoint,
        event=TEST_EVENT,
        event_key=f"{TEST_EVENT}:{test_id}",
        payload=webhook_test_payload(endpoint=endpoint, test_id=test_id),
        next_attempt_at=timezone.now(),
    )
    audit_event_record(
        merchant=merchant,
        action="webhook_endpoint.test_sent",
        obj=endpoint,
        actor=actor,
        details={"url": endpoint.url, "delivery": str(delivery.delivery_id)},
    )
    from payments.tasks import deliver_webhook

    enqueue_on_commit(deliver_webhook, delivery.pk)
    return delivery
