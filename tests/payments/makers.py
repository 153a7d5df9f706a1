"""Build payment objects for tests without the network (the services' own tests
exercise the create path; these are for tests that need one in place)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from merchants.models import Merchant
from payments import khqr
from payments.models import (
    PaymentRequest,
    WebhookDelivery,
    WebhookEndpoint,
)

_bill = itertools.count(1)


def payment_request_make(
    *,
    merchant: Merchant,
    amount: str | None = "5.00",
    currency: str = "USD",
    order_id: str = "",
    expires_in: int = 900,
    is_test: bool = False,
    **fields,
) -> PaymentRequest:
    now = timezone.now()
    expires_at = now + dt.timedelta(seconds=expires_in) if amount else None
    bill = fields.pop("bill_number", f"B{next(_bill)}")
    encoded = khqr.encode(
        khqr.KhqrFields(
            bakong_account_id=merchant.bakong_account_id,
            merchant_name=merchant.display_name,
            merchant_city="Phnom Penh",
            amount=amount,
            currency=currency,
            bill_number=bill,
            expiration_ms=int(expires_at.timestamp() * 1000) if expires_at else None,
        ),
        now_ms=int(now.timestamp() * 1000),
    )
    return PaymentRequest.objects.create(
        merchant=merchant,
        amount=Decimal(amount) if amount else None,
        currency=currency,
        order_id=order_id,
        bill_number=bill,
        qr=encoded.qr,
        md5=encoded.md5,
        expires_at=expires_at,
        is_test=is_test,
        **fields,
    )


def webhook_endpoint_make(
    *, merchant: Merchant, url: str = "https://shop.example/hooks", secret="whsec_t"
) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        merchant=merchant,
        url=url,
        secrets={"current": secret, "previous": "", "previous_until": ""},
        events=["transaction.paid", "transaction.refunded"],
    )


def webhook_delivery_make(*, merchant: Merchant, **fields) -> WebhookDelivery:
    endpoint = fields.pop("endpoint", None) or webhook_endpoint_make(merchant=merchant)
    payment_request = fields.pop("payment_request", None) or payment_request_make(
        merchant=merchant
    )
    return WebhookDelivery.objects.create(
        merchant=merchant,
        endpoint=endpoint,
        payment_request=payment_request,
        event="transaction.paid",
        event_key=f"transaction.paid:request:{payment_request.pk}",
        payload={"event": "transaction.paid", "md5": payment_request.md5},
        **{"next_attempt_at": timezone.now(), **fields},
    )
