"""A hostile body on any POST route is a 4xx in the error shape, never a 500."""

import io

import pytest
from django.core.cache import cache
from django.test import Client

from core.api.parsers import DecimalJSONParser
from core.exceptions import PayloadTooLarge
from core.signing import signature_header
from payments.models import PaymentRequest
from tests.factories import signed_connection

API_ROUTES = ["/api/v1/qr", "/api/v1/transaction/check", "/api/v1/transaction/by-order"]
MB = 1024 * 1024
DEEP = b"[" * 100_000
BIG = b'{"order_id": "' + b"x" * (21 * MB) + b'"}'
SECRET = "gw-secret"


@pytest.fixture(autouse=True)
def _isolated(settings):
    settings.BAKONG_BASE_URL = "http://127.0.0.1:9"  # Bakong away: no deeplink
    cache.clear()


def _post(client, route: str, body: bytes):
    return client.generic("POST", route, body, content_type="application/json")


def _assert_error_shape(response, status: int, code: str = "invalid_input") -> dict:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.mark.parametrize("route", API_ROUTES)
def test_a_33_digit_integer_amount_is_invalid_input(api_client, route):
    # given
    body = b'{"amount": 123456789012345678901234567890123, "currency": "KHR"}'
    # when
    response = _post(api_client, route, body)
    # then (on /qr the amount itself is refused; elsewhere it is an unknown field)
    error = _assert_error_shape(response, 400)
    assert "amount" in error["message"]
    assert PaymentRequest.objects.count() == 0


def test_a_33_digit_amount_is_refused_as_out_of_range(api_client):
    response = _post(
        api_client, "/api/v1/qr", b'{"amount": 123456789012345678901234567890123}'
    )
    error = _assert_error_shape(response, 400)
    assert error["message"].startswith("amount: 12345678901234567890")
    assert "out of range" in error["message"]


@pytest.mark.parametrize(
    "amount", [b"1e999999999", b"1e-999999999", b"-5", b'"NaN"', b"NaN", b"Infinity"]
)
def test_qr_amounts_that_are_not_plain_decimals_are_invalid_input(api_client, amount):
    response = _post(api_client, "/api/v1/qr", b'{"amount": ' + amount + b"}")
    _assert_error_shape(response, 400)
    assert PaymentRequest.objects.count() == 0


@pytest.mark.parametrize("route", API_ROUTES)
def test_100000_nested_brackets_are_invalid_input(api_client, route):
    response = _post(api_client, route, DEEP)
    error = _assert_error_shape(response, 400)
    assert error["message"] == "body: not valid JSON (nested too deeply)"


@pytest.mark.parametrize("route", API_ROUTES)
def test_a_21_mb_body_is_413_in_the_error_shape(api_client, route):
    response = _post(api_client, route, BIG)
    error = _assert_error_shape(response, 413)
    assert error["message"] == "body: larger than 20 MB"


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe{}", b"{", b'"just text"', b"[1, 2]", b"null", b"{}" * 3],
    ids=["not-utf8", "truncated", "string", "list", "null", "two-objects"],
)
@pytest.mark.parametrize("route", API_ROUTES)
def test_malformed_bodies_are_invalid_input(api_client, route, body):
    response = _post(api_client, route, body)
    _assert_error_shape(response, 400)


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/api/v1/qr", b'{"amount": "5.00", "ammount": "7.00", "curency": "USD"}'),
        ("/api/v1/transaction/check", b'{"md5": "' + b"a" * 32 + b'", "curency": 1}'),
        ("/api/v1/transaction/by-order", b'{"order_id": "A", "ammount": "1"}'),
    ],
)
def test_unknown_fields_are_refused_naming_them(api_client, route, body):
    # given a body with a field the route does not know
    # when
    response = _post(api_client, route, body)
    # then nothing is created and the error names the stranger
    error = _assert_error_shape(response, 400)
    assert error["message"].startswith("unknown field(s) ")
    assert ("'ammount'" in error["message"]) or ("'curency'" in error["message"])
    assert "expected some of" in error["message"]
    assert PaymentRequest.objects.count() == 0


def test_unknown_fields_are_all_named(api_client):
    response = _post(
        api_client, "/api/v1/qr", b'{"ammount": "5", "curency": "USD", "amount": "5"}'
    )
    error = _assert_error_shape(response, 400)
    assert "'ammount', 'curency'" in error["message"]


def test_the_parser_stops_reading_at_the_limit_whatever_the_headers_say(settings):
    # given a body longer than the limit on a stream (chunked: no Content-Length)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    stream = io.BytesIO(b'{"a": "' + b"x" * 5000 + b'"}')
    # when / then
    with pytest.raises(PayloadTooLarge, match="larger than"):
        DecimalJSONParser().parse(stream)
    assert stream.tell() == 1025


# --- POST /webhooks/in/<id>/ ----------------------------------------------------------


@pytest.fixture
def connection(merchant):
    return signed_connection(
        merchant, provider="khqr_gateway", secret=SECRET, currency="USD"
    )


def _post_webhook(connection, body: bytes):
    return Client().generic(
        "POST",
        f"/webhooks/in/{connection.pk}/",
        body,
        content_type="application/json",
        HTTP_X_TONLE_SIGNATURE=signature_header(secret=SECRET, body=body),
        HTTP_X_TONLE_DELIVERY_ID="dlv-hostile",
    )


def test_webhook_in_signed_deep_nesting_is_invalid_input(connection):
    response = _post_webhook(connection, DEEP)
    error = _assert_error_shape(response, 400)
    assert error["message"] == "body: not valid JSON"


def test_webhook_in_21_mb_body_is_413_in_the_error_shape(connection):
    response = _post_webhook(connection, BIG)
    error = _assert_error_shape(response, 413)
    assert error["message"] == "body: larger than 20 MB"


def test_webhook_in_body_past_its_own_limit_is_413(connection):
    response = _post_webhook(connection, b'{"event": "' + b"x" * 300_000 + b'"}')
    error = _assert_error_shape(response, 413)
    assert error["message"] == "body: larger than 256 KiB"


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe{}", b"[1]", b'{"event": 5}', b'{"amount": 1' + b"0" * 40 + b"}"],
    ids=["not-utf8", "list", "event-not-text", "huge-number"],
)
def test_webhook_in_malformed_signed_bodies_are_invalid_input(connection, body):
    response = _post_webhook(connection, body)
    _assert_error_shape(response, 400)


@pytest.mark.parametrize(
    "amount", [b"123456789012345678901234567890123", b'"1e999999"', b'"1e-400"']
)
def test_webhook_in_signed_huge_amount_fails_the_event_with_a_reason(
    connection, merchant, amount
):
    # given a signed, stored gateway event whose amount is absurd
    from payments.models import InboundEvent
    from payments.services.webhooks_in import inbound_event_process
    from tests.payments.makers import payment_request_make

    pr = payment_request_make(merchant=merchant, amount="5.00", order_id="O-1")
    body = (
        b'{"event": "transaction.paid", "md5": "' + pr.md5.encode() + b'", '
        b'"amount": ' + amount + b', "currency": "USD", "transaction_id": "t-1", '
        b'"paid_at": "2026-12-01T00:00:00Z"}'
    )
    assert _post_webhook(connection, body).status_code == 202
    # when it is processed (by the task)
    event = inbound_event_process(inbound_event_id=InboundEvent.objects.get().pk)
    # then it fails with the reason instead of crashing (and being retried forever)
    assert event.status == InboundEvent.Status.FAILED
    assert "amount: " in event.error and "out of range" in event.error
    pr.refresh_from_db()
    assert pr.status == "pending"
