"""Pending KHQR payment requests for the polling and sandbox tests, made the way
the payment service stores them (a real KHQR string and its md5)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from payments import khqr
from payments.models import PaymentRequest

_sequence = itertools.count(1)


def pending_request(
    merchant,
    *,
    amount: Decimal | None = Decimal("12.50"),
    currency: str = "USD",
    created_at: dt.datetime | None = None,
    expires_in: int = 900,
    next_check_at: dt.datetime | None | str = "created",
) -> PaymentRequest:
    n = next(_sequence)
    created_at = created_at or timezone.now()
    created_ms = int(created_at.timestamp() * 1000) + n
    encoded = khqr.encode(
        khqr.KhqrFields(
            bakong_account_id=merchant.bakong_account_id,
            merchant_name="Test Shop",
            merchant_city="Phnom Penh",
            amount=amount,
            currency=currency,
            bill_number=f"INV-{n}",
            expiration_ms=created_ms + expires_in * 1000 if amount else None,
        ),
        now_ms=created_ms,
    )
    request = PaymentRequest.objects.create(
        merchant=merchant,
        amount=amount,
        currency=currency,
        bill_number=f"INV-{n}",
        qr=encoded.qr,
        md5=encoded.md5,
        expires_at=created_at + dt.timedelta(seconds=expires_in) if amount else None,
    )
    PaymentRequest.objects.filter(pk=request.pk).update(
        created_at=created_at,
        next_check_at=created_at if next_check_at == "created" else next_check_at,
    )
    request.refresh_from_db()
    return request
