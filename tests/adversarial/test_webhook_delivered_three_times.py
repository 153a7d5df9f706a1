"""The same inbound webhook delivered three times at once (a provider's retries
racing each other), over real transactions on PostgreSQL: one stored event, one
effect on the ledger, and every delivery answered 2xx so the provider stops."""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from core.signing import body_signature_header, signature_header
from payments.models import InboundEvent
from statements.models import Transaction
from tests.factories import signed_connection

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent writers need PostgreSQL (SQLite serialises them)",
    ),
]

SECRET = "bank-push-secret-0123456789"
DELIVERIES = 3


@pytest.fixture
def feed_connection(merchant):
    return signed_connection(
        merchant, provider="statement_feed", secret=SECRET, number="0010000042"
    )


def _push(connection_) -> bytes:
    occurred = timezone.now().astimezone(dt.timezone(dt.timedelta(hours=7)))
    return json.dumps(
        {
            "event": "transaction.posted",
            "acct_id": connection_.account.number,
            "direction": "CREDIT",
            "amount": "250.00",
            "ccy": "USD",
            "balance_after": "2393.10",
            "channel": "TRANSFER",
            "ref": "REPAY-RACE-1",
            "occurred_at": occurred.replace(microsecond=0).isoformat(),
        }
    ).encode()


def _deliver_at_once(connection_id: int, body: bytes, headers: list[dict]) -> list:
    """Each delivery in its own thread (its own database connection), released
    together."""
    start = threading.Barrier(len(headers))
    answers: list = [None] * len(headers)

    def deliver(index: int) -> None:
        try:
            start.wait(timeout=10)
            meta = {f"HTTP_{k.upper()}": v for k, v in headers[index].items()}
            answers[index] = Client().post(
                f"/webhooks/in/{connection_id}/",
                data=body,
                content_type="application/json",
                **meta,
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(len(headers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_one_signed_push_delivered_three_times_at_once_is_stored_and_applied_once(
    feed_connection,
):
    # given one signed push (the Hattha scheme: the delivery id is the body's)
    body = _push(feed_connection)
    signature = body_signature_header(secret=SECRET, body=body)
    # when it arrives three times at the same moment
    answers = _deliver_at_once(
        feed_connection.pk, body, [{"x_signature": signature}] * DELIVERIES
    )
    # then every delivery is acknowledged, one as new and the others as replays
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 200, 202], [a.content for a in answers]
    replays = [a.json()["replay"] for a in answers if a.status_code == 200]
    assert replays == [True, True]
    # and there is one event, processed, and one ledger line
    (event,) = InboundEvent.objects.all()
    assert event.status == InboundEvent.Status.PROCESSED, event.error
    lines = Transaction.objects.filter(account=feed_connection.account)
    assert [line.amount for line in lines] == [Decimal("250.00")]


def test_one_push_resent_three_times_under_new_delivery_ids_moves_the_ledger_once(
    feed_connection,
):
    # given one event that a provider resends with a fresh delivery id each time
    # (Tonle's timestamped scheme takes the delivery id from the header)
    body = _push(feed_connection)
    headers = [
        {
            "x_tonle_signature": signature_header(secret=SECRET, body=body),
            "x_tonle_delivery_id": f"resend-{n}",
        }
        for n in range(DELIVERIES)
    ]
    # when the three arrive at once
    answers = _deliver_at_once(feed_connection.pk, body, headers)
    # then each is stored (they are distinct deliveries) ...
    assert [a.status_code for a in answers] == [202] * DELIVERIES, [
        a.content for a in answers
    ]
    assert InboundEvent.objects.count() == DELIVERIES
    assert not InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED).exists()
    # ... and the ledger has the bank's line once
    lines = Transaction.objects.filter(account=feed_connection.account)
    assert [line.amount for line in lines] == [Decimal("250.00")]
