"""Demo payment requests: one paid, one pending, one expired, one flagged (paid with
another amount), and a disabled demo webhook endpoint. Idempotent (order ids are
the natural key) and offline: no Bakong call at seed time."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from django.utils import timezone

from merchants.models import Account, Merchant
from payments import khqr
from payments.clients.bakong_types import BakongTransactionInfo
from payments.models import PaymentRequest, PaymentStatus, WebhookEndpoint
from payments.services.payment_requests import bakong_transaction_apply

DEMO_ENDPOINT_URL = "https://shop.example/tonle-webhook"

# order id, amount, currency, minutes ago, lifetime minutes, what happens
DEMO_REQUESTS = [
    ("DEMO-1001", "12.50", "USD", 90, 15, "paid"),
    ("DEMO-1002", "48000", "KHR", 5, 24 * 60, "pending"),
    ("DEMO-1003", "7.00", "USD", 300, 15, "expired"),
    ("DEMO-1004", "20000", "KHR", 45, 15, "amount_mismatch"),
]


def _hash(merchant: Merchant, order_id: str) -> str:
    return hashlib.sha256(f"demo-bakong:{merchant.pk}:{order_id}".encode()).hexdigest()


def _request(
    merchant: Merchant,
    account: Account | None,
    *,
    order_id: str,
    amount: str,
    currency: str,
    created: dt.datetime,
    lifetime: dt.timedelta,
) -> PaymentRequest:
    expires = created + lifetime
    created_ms = int(created.timestamp() * 1000)
    bakong_id = (account.bakong_account_id if account else "") or (
        merchant.bakong_account_id
    )
    encoded = khqr.encode(
        khqr.KhqrFields(
            bakong_account_id=bakong_id,
            merchant_name=merchant.display_name,
            merchant_city=merchant.city or "Phnom Penh",
            amount=amount,
            currency=currency,
            bill_number=order_id.replace("DEMO", "INV"),
            store_label="Riverside",
            created_ms=created_ms,
            expiration_ms=int(expires.timestamp() * 1000),
        ),
        now_ms=created_ms,
    )
    pr = PaymentRequest.objects.create(
        merchant=merchant,
        account=account,
        order_id=order_id,
        bill_number=order_id.replace("DEMO", "INV"),
        store_label="Riverside",
        amount=Decimal(amount),
        currency=currency,
        qr=encoded.qr,
        md5=encoded.md5,
        expires_at=expires,
        next_check_at=None,
        is_test=True,
    )
    # the creation time is the code's own (auto_now_add wrote now)
    PaymentRequest.objects.filter(pk=pr.pk).update(created_at=created)
    pr.refresh_from_db()
    return pr


def seed_demo_data(*, merchant: Merchant, accounts: list[Account]) -> None:
    """Add the demo requests and endpoint that are missing; change nothing else."""
    now = timezone.now()
    wallets = {a.currency: a for a in accounts if a.provider == "bakong"}
    if not WebhookEndpoint.objects.filter(
        merchant=merchant, url=DEMO_ENDPOINT_URL
    ).exists():
        WebhookEndpoint.objects.create(
            merchant=merchant,
            url=DEMO_ENDPOINT_URL,
            secrets={
                "current": "whsec_demo_" + _hash(merchant, "webhook")[:24],
                "previous": "",
                "previous_until": "",
            },
            events=["transaction.paid", "transaction.refunded"],
            is_active=False,
            disabled_reason="demo endpoint: point it at your shop, then enable it",
        )
    for order_id, amount, currency, ago, lifetime, fate in DEMO_REQUESTS:
        if PaymentRequest.objects.filter(merchant=merchant, order_id=order_id).exists():
            continue
        created = now - dt.timedelta(minutes=ago)
        pr = _request(
            merchant,
            wallets.get(currency),
            order_id=order_id,
            amount=amount,
            currency=currency,
            created=created,
            lifetime=dt.timedelta(minutes=lifetime),
        )
        if fate == "pending":
            continue
        if fate == "expired":
            PaymentRequest.objects.filter(pk=pr.pk).update(status=PaymentStatus.EXPIRED)
            continue
        paid_amount = Decimal(amount)
        if fate == "amount_mismatch":
            paid_amount = paid_amount / 2
        bakong_transaction_apply(
            payment_request_id=pr.pk,
            info=BakongTransactionInfo(
                hash=_hash(merchant, order_id),
                from_account_id="sok_dara@aclb",
                to_account_id=pr.account.bakong_account_id
                if pr.account
                else merchant.bakong_account_id,
                currency=currency,
                amount=paid_amount,
                description=f"Demo payment {order_id}",
                created_date_ms=int(
                    (created + dt.timedelta(minutes=2)).timestamp() * 1000
                ),
                md5=pr.md5,
                raw={"demo": True},
            ),
        )
