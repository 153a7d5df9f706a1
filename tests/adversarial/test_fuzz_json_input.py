"""Fuzzing the JSON the outside world sends: the shop API's POST /api/v1/qr and
/api/v1/invoices, and the inbound webhook (correctly signed, so the body itself is
what is tested). Deep nesting, huge numbers, wrong types, unknown fields: the
answer is a 2xx, or a 4xx in the error shape {"error", "message"}; never a 500.
A stored webhook is then processed: it ends processed, failed or ignored, with
only a transient error (the task's retry) allowed to escape."""

from __future__ import annotations

import itertools
import json

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.exceptions import TransientError
from core.signing import signature_header
from payments.models import InboundEvent
from payments.services import webhooks_in
from reconciliation.services.invoices import COLUMNS as INVOICE_COLUMNS
from tests.factories import signed_connection

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SECRET = "fuzz-webhook-secret-0123456789"
_serial = itertools.count()

HUGE = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([10**400, -(10**400), 2**63, 2**64 + 1, -1, 0]),
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    HUGE,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        ["1e999999", "NaN", "-0", "0.001", "12,5O", "9" * 40, "KHR", "USD", "THB"]
    ),
)
ANY_JSON = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=12), inner, max_size=4),
    ),
    max_leaves=20,
)


def _near(fields: list[str]):
    """Objects with the route's own field names (and strangers), any values."""
    names = st.sampled_from([*fields, "ammount", "__proto__", "", "id", "merchant"])
    return st.dictionaries(names, ANY_JSON, max_size=len(fields) + 2)


QR_FIELDS = [
    "amount",
    "currency",
    "bill_number",
    "store_label",
    "terminal_label",
    "expires_in_seconds",
    "order_id",
]
INVOICE_FIELDS = list(INVOICE_COLUMNS)


VALID_QR = {"amount": "5.00", "currency": "USD", "order_id": "A-1"}
VALID_INVOICE = {
    "invoice_number": "INV-1",
    "customer": "Sok Dara Trading",
    "amount": "120.50",
    "currency": "USD",
    "issue_date": "2026-11-02",
    "due_date": "2026-11-16",
}


def _one_field_hostile(valid: dict, fields: list[str]):
    """A valid body with one field's value replaced (deeper than the shape checks)."""
    return st.tuples(st.sampled_from(fields), ANY_JSON).map(
        lambda pair: json.dumps({**valid, pair[0]: pair[1]}).encode()
    )


def _deep(depth: int) -> bytes:
    return (b'{"a":' * depth) + b"1" + (b"}" * depth)


BODY = st.one_of(
    ANY_JSON.map(lambda v: json.dumps(v).encode()),
    st.integers(min_value=1, max_value=200_000).map(_deep),
    st.binary(max_size=200),
)


def _assert_answered(response) -> None:
    event(f"HTTP {response.status_code}")
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("error"), str) and body["error"], body
        assert isinstance(body.get("message"), str) and body["message"], body


@pytest.fixture
def shop(api_client, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 1_000_000
    settings.BAKONG_BASE_URL = "http://127.0.0.1:9"  # no deeplink look-ups
    cache.clear()
    return api_client


@FUZZ
@given(
    body=st.one_of(
        _near(QR_FIELDS).map(lambda v: json.dumps(v).encode()),
        _one_field_hostile(VALID_QR, QR_FIELDS),
        BODY,
    )
)
def test_qr_create_answers_any_json_in_the_error_shape(shop, body):
    response = shop.generic("POST", "/api/v1/qr", body, content_type="application/json")
    _assert_answered(response)


@FUZZ
@given(
    body=st.one_of(
        _near(INVOICE_FIELDS).map(lambda v: json.dumps(v).encode()),
        _one_field_hostile(VALID_INVOICE, INVOICE_FIELDS),
        BODY,
    )
)
def test_invoice_create_answers_any_json_in_the_error_shape(shop, body):
    response = shop.generic(
        "POST", "/api/v1/invoices", body, content_type="application/json"
    )
    _assert_answered(response)


@pytest.fixture
def connections(merchant):
    gateway = signed_connection(merchant, provider="khqr_gateway", secret=SECRET)
    feed = signed_connection(
        merchant, provider="statement_feed", secret=SECRET, number="001"
    )
    return {"gateway": gateway, "feed": feed}


EVENT = st.one_of(
    st.sampled_from(["transaction.paid", "transaction.posted", "other.thing"]),
    ANY_JSON,
)
PAID_FIELDS = ["transaction_id", "md5", "hash", "amount", "currency", "paid_at"]
POSTED_FIELDS = [
    "acct_id",
    "direction",
    "amount",
    "ccy",
    "balance_after",
    "channel",
    "ref",
    "occurred_at",
]


@st.composite
def _event_body(draw) -> bytes:
    if draw(st.integers(0, 4)) == 0:
        return draw(BODY)
    fields = draw(_near(PAID_FIELDS + POSTED_FIELDS + ["id", "data"]))
    fields[draw(st.sampled_from(["event", "type"]))] = draw(EVENT)
    return json.dumps(fields).encode()


@FUZZ
@given(
    body=_event_body(),
    which=st.sampled_from(["gateway", "feed"]),
    delivery=st.one_of(st.none(), st.text(max_size=80)),
)
def test_a_signed_webhook_of_any_json_is_answered_and_processed_without_a_crash(
    connections, sandbox_bakong, body, which, delivery
):
    connection = connections[which]
    headers = {"HTTP_X_TONLE_SIGNATURE": signature_header(secret=SECRET, body=body)}
    if delivery is None:
        headers["HTTP_X_TONLE_DELIVERY_ID"] = f"fuzz-{next(_serial)}"
    elif delivery.isprintable() and delivery.isascii():
        headers["HTTP_X_TONLE_DELIVERY_ID"] = delivery
    newest = InboundEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    response = Client().post(
        f"/webhooks/in/{connection.pk}/",
        data=body,
        content_type="application/json",
        **headers,
    )
    _assert_answered(response)
    stored = InboundEvent.objects.filter(pk__gt=newest or 0)
    for inbound in stored:
        try:
            webhooks_in.inbound_event_process(
                inbound_event_id=inbound.pk, access=sandbox_bakong
            )
        except TransientError:
            continue  # the task retries it later
        inbound.refresh_from_db()
        assert inbound.status != InboundEvent.Status.RECEIVED
