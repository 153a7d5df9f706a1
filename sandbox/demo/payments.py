"""Demo KHQR codes, paid the way production learns of payments.

Each code is issued with its own (past) creation time, paid by the sandbox's
simulated payer, then settled by the production poller (`payment_request_check`)
asking the sandbox Bakong over the real wire protocol, in this process. So every
line of the demo wallets is one settlement posted: the wallets' Transactions page
and statements show exactly the codes that were paid.

- about 30 days of paid codes per Bakong wallet, a few a day (deterministic for a
  given day), with the odd code nobody paid (expired by the poller's own sweep);
- the fates the pages explain: one pending code (the sandbox's "Pay this QR"
  button pays it), one expired, one paid with another amount, one paid twice (the
  second payment reported by the gateway's signed webhook, checked with Bakong,
  recorded as a duplicate);
- a disabled demo webhook endpoint.

Idempotent: a merchant that has its demo codes is left alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from core.exceptions import ConfigurationError
from core.periods import zone_for_currency
from core.signing import signature_header
from merchants.models import Account, Connection, Merchant
from payments import khqr
from payments.bakong_access import BakongAccess
from payments.models import PaymentRequest, WebhookEndpoint
from payments.services.polling import payment_request_check, payment_requests_expire
from payments.services.webhooks_in import inbound_event_process, inbound_event_receive
from sandbox.bakong import pay
from sandbox.inprocess import sandbox_bakong_access
from statements.models import Transaction

DEMO_ENDPOINT_URL = "https://shop.example/tonle-webhook"
HISTORY_DAYS = 30
HISTORY_PREFIX = "DEMO-D"
PAYERS = [
    "sok_dara@aclb",
    "chan_sophea@abaa",
    "lim_heng@wing",
    "keo_vanna@aclb",
    "srey_mom@ppcb",
    "bopha_mart@abaa",
]

# order id, amount, currency, minutes ago, lifetime minutes, what happens
DEMO_REQUESTS = [
    ("DEMO-1001", "12.50", "USD", 90, 15, "paid"),
    ("DEMO-1002", "48000", "KHR", 5, 24 * 60, "pending"),
    ("DEMO-1003", "7.00", "USD", 300, 15, "expired"),
    ("DEMO-1004", "20000", "KHR", 45, 15, "amount_mismatch"),
    ("DEMO-1005", "9.00", "USD", 150, 15, "paid_twice"),
]


# a few lines per code and call, a few hundred codes: the seed says less
CHATTY_LOGGERS = (
    "httpx",
    "tonle.bakong",
    "tonle.bakong.poll",
    "tonle.payments",
    "tonle.sandbox.bakong",
    "tonle.statements",
    "tonle.webhooks",
)


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@dataclass(frozen=True)
class DemoCode:
    order_id: str
    amount: Decimal
    currency: str
    created: dt.datetime
    lifetime: dt.timedelta
    fate: str  # paid | pending | expired | amount_mismatch | paid_twice | unpaid
    payer: str = PAYERS[0]


def history(*, wallet: Account, today: dt.date) -> list[DemoCode]:
    """A wallet's last HISTORY_DAYS days of codes, a few a day: the same list for
    the same wallet and day."""
    rng = random.Random(f"demo-codes-{wallet.number}")  # noqa: S311 - demo data
    zone = zone_for_currency(wallet.currency)
    codes = []
    for days_ago in range(HISTORY_DAYS, 0, -1):
        day = today - dt.timedelta(days=days_ago)
        for n in range(rng.randint(1, 3)):
            if wallet.currency == "KHR":
                amount = Decimal(rng.randint(20, 600) * 100)
            else:
                amount = Decimal(rng.randint(150, 9000)) / 100
            created = dt.datetime.combine(
                day, dt.time(8 + n * 3, rng.randint(0, 59)), tzinfo=zone
            )
            codes.append(
                DemoCode(
                    order_id=f"{HISTORY_PREFIX}{day:%m%d}-{wallet.currency}-{n + 1}",
                    amount=amount,
                    currency=wallet.currency,
                    created=created.astimezone(dt.UTC),
                    lifetime=dt.timedelta(minutes=15),
                    fate="unpaid" if rng.random() < 0.08 else "paid",
                    payer=rng.choice(PAYERS),
                )
            )
    return codes


def seed_demo_data(*, merchant: Merchant, accounts: list[Account]) -> None:
    """Add the demo codes and endpoint that are missing; change nothing else."""
    _endpoint(merchant)
    if PaymentRequest.objects.filter(merchant=merchant, order_id="DEMO-1001").exists():
        return
    now = timezone.now()
    wallets = {a.currency: a for a in accounts if a.provider == "bakong"}
    codes = [
        code
        for wallet in wallets.values()
        for code in history(wallet=wallet, today=timezone.localdate())
    ]
    codes += [
        DemoCode(
            order_id=order_id,
            amount=Decimal(amount),
            currency=currency,
            created=now - dt.timedelta(minutes=ago),
            lifetime=dt.timedelta(minutes=lifetime),
            fate=fate,
        )
        for order_id, amount, currency, ago, lifetime, fate in DEMO_REQUESTS
    ]
    with _quiet(*CHATTY_LOGGERS), sandbox_bakong_access() as access:
        for code in sorted(codes, key=lambda c: c.created):
            _live(merchant, wallets.get(code.currency), code, access)
    # what nobody paid expires as in production (the poller's own sweep)
    payment_requests_expire()
    for wallet in wallets.values():
        balance = Transaction.objects.filter(account=wallet).aggregate(
            total=Sum("amount")
        )["total"] or Decimal(0)
        Account.objects.filter(pk=wallet.pk).update(
            current_balance=balance, available_balance=balance, balance_as_of=now
        )


def _live(
    merchant: Merchant, wallet: Account | None, code: DemoCode, access: BakongAccess
) -> None:
    """Issue the code, let the payer pay it (or not), and let the poller (and for
    a second payment, the gateway's webhook) tell Tonle."""
    pr = _issue(merchant, wallet, code)
    if code.fate in ("pending", "expired", "unpaid"):
        return
    amount = code.amount / 2 if code.fate == "amount_mismatch" else code.amount
    paid_at = code.created + dt.timedelta(minutes=2)
    pay(md5=pr.md5, amount=amount, paid_at=paid_at, from_account_id=code.payer)
    payment_request_check(payment_request_id=pr.pk, access=access, force=True)
    if code.fate == "paid_twice":
        again = pay(
            md5=pr.md5,
            paid_at=paid_at + dt.timedelta(minutes=3),
            from_account_id=code.payer,
            again=True,
        )
        _gateway_reports(merchant, pr, again.hash, access)
    expected = 2 if code.fate == "paid_twice" else 1
    if pr.bakong_transactions.count() != expected:
        raise ConfigurationError(
            f"the sandbox Bakong did not confirm demo code {code.order_id} (is it "
            "switched to fail at /sandbox/bakong/control/?): nothing was seeded"
        )


def _issue(
    merchant: Merchant, wallet: Account | None, code: DemoCode
) -> PaymentRequest:
    """A dynamic code as payment_request_create makes one, issued at its own past
    time (which the KHQR carries, so the md5 is that code's)."""
    expires = code.created + code.lifetime
    created_ms = int(code.created.timestamp() * 1000)
    bill = code.order_id.replace("DEMO", "INV")[:25]
    encoded = khqr.encode(
        khqr.KhqrFields(
            bakong_account_id=(wallet.bakong_account_id if wallet else "")
            or merchant.bakong_account_id,
            merchant_name=merchant.display_name,
            merchant_city=merchant.city or "Phnom Penh",
            amount=code.amount,
            currency=code.currency,
            bill_number=bill,
            store_label="Riverside",
            created_ms=created_ms,
            expiration_ms=int(expires.timestamp() * 1000),
        ),
        now_ms=created_ms,
    )
    pr = PaymentRequest.objects.create(
        merchant=merchant,
        account=wallet,
        order_id=code.order_id,
        bill_number=bill,
        store_label="Riverside",
        amount=code.amount,
        currency=code.currency,
        qr=encoded.qr,
        md5=encoded.md5,
        expires_at=expires,
        # due now: the running poller looks at what is still pending
        next_check_at=timezone.now(),
        is_test=True,
    )
    # the creation time is the code's own (auto_now_add wrote now)
    PaymentRequest.objects.filter(pk=pr.pk).update(created_at=code.created)
    pr.refresh_from_db()
    return pr


def _gateway_reports(
    merchant: Merchant, pr: PaymentRequest, tx_hash: str, access: BakongAccess
) -> None:
    """The KHQR gateway's signed `transaction.paid` webhook for this payment,
    received and processed as any other."""
    connection = (
        Connection.objects.filter(merchant=merchant, provider="bakong")
        .order_by("pk")
        .first()
    )
    if connection is None:
        return
    body = json.dumps(
        {
            "event": "transaction.paid",
            "md5": pr.md5,
            "amount": str(pr.amount),
            "currency": pr.currency,
            "bill_number": pr.bill_number,
            "transaction_id": tx_hash,
            "external_order_id": pr.order_id,
        }
    ).encode()
    secret = connection.credentials["webhook_secret"]
    event, _ = inbound_event_receive(
        connection_id=connection.pk,
        body=body,
        headers={
            "X-Tonle-Signature": signature_header(secret=secret, body=body),
            "X-Tonle-Delivery-Id": str(uuid.uuid5(uuid.NAMESPACE_URL, tx_hash)),
        },
    )
    inbound_event_process(inbound_event_id=event.pk, access=access)


def _endpoint(merchant: Merchant) -> None:
    if WebhookEndpoint.objects.filter(
        merchant=merchant, url=DEMO_ENDPOINT_URL
    ).exists():
        return
    secret = hashlib.sha256(f"demo-bakong:{merchant.pk}:webhook".encode()).hexdigest()
    WebhookEndpoint.objects.create(
        merchant=merchant,
        url=DEMO_ENDPOINT_URL,
        secrets={
            "current": "whsec_demo_" + secret[:24],
            "previous": "",
            "previous_until": "",
        },
        events=["transaction.paid", "transaction.refunded"],
        is_active=False,
        disabled_reason="demo endpoint: point it at your shop, then enable it",
    )
