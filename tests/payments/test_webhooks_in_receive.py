"""The receiving half of /webhooks/in/: strict signature parsing (a malformed header
is a 401, never a 500), error pages that never show the secret, the Hattha brief's
X-Signature scheme per connection (replays and stale events refused), and consent
(an expired or revoked connection, or one without the statements scope, refuses
pushes and stores nothing)."""

from __future__ import annotations

import datetime as dt
import json
import types

import pytest
from django.test import Client
from django.utils import timezone

from core import signing
from core.signing import body_signature_header, signature_header
from payments.models import InboundEvent
from payments.services import webhooks_in
from tests.factories import signed_connection

pytestmark = pytest.mark.django_db

SECRET = "bank-push-secret-0123456789"


@pytest.fixture
def feed_connection(merchant):
    return signed_connection(
        merchant, provider="statement_feed", secret=SECRET, number="0010000042"
    )


@pytest.fixture
def gateway_connection(merchant):
    return signed_connection(merchant, provider="khqr_gateway", secret=SECRET)


def _posted(connection, *, ref="REPAY-10293", occurred_at=None) -> bytes:
    """A push in the Hattha brief's shape."""
    occurred_at = occurred_at or timezone.now().astimezone(
        dt.timezone(dt.timedelta(hours=7))
    )
    return json.dumps(
        {
            "event": "transaction.posted",
            "acct_id": connection.account.number,
            "direction": "CREDIT",
            "amount": "250.00",
            "ccy": "USD",
            "balance_after": "2393.10",
            "channel": "TRANSFER",
            "ref": ref,
            "occurred_at": occurred_at.replace(microsecond=0).isoformat(),
        }
    ).encode()


def _post(connection_id, body: bytes, **headers) -> object:
    meta = {f"HTTP_{k.upper()}": v for k, v in headers.items()}
    return Client().post(
        f"/webhooks/in/{connection_id}/",
        data=body,
        content_type="application/json",
        **meta,
    )


# --- issue 15.1: malformed signatures ---------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "t=²,v1=aa",
        "t=" + "7" * 5000 + ",v1=aa",
        "t=1700000000,v1=é" + "a" * 63,
    ],
)
def test_a_malformed_signature_header_is_a_401_not_a_crash(gateway_connection, header):
    # given a header that used to reach int() or compare_digest unchecked
    body = b'{"event":"transaction.paid","id":"e1"}'
    # when
    response = _post(gateway_connection.pk, body, x_tonle_signature=header)
    # then
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert InboundEvent.objects.count() == 0


@pytest.fixture
def explode_hmac(monkeypatch):
    """Makes verification fail deep inside, in a frame (hmac.new's) that holds the
    secret as a plain local."""

    def new(key, msg=None, digestmod=None):
        raise RuntimeError("hmac backend exploded")

    def explode() -> None:
        fake = types.SimpleNamespace(
            new=new, compare_digest=signing.hmac.compare_digest
        )
        monkeypatch.setattr(signing, "hmac", fake)

    return explode


def test_an_error_page_with_debug_on_never_shows_the_webhook_secret(
    gateway_connection, settings, explode_hmac
):
    # given DEBUG on (the technical 500 page with every frame's variables)
    settings.DEBUG = True
    body = b'{"event":"transaction.paid","id":"e1"}'
    header = signature_header(secret=SECRET, body=body)
    explode_hmac()
    # when verification crashes inside the request
    response = Client(raise_request_exception=False).post(
        f"/webhooks/in/{gateway_connection.pk}/",
        data=body,
        content_type="application/json",
        HTTP_X_TONLE_SIGNATURE=header,
    )
    # then the traceback page is shown, with its frames, but not the secret
    page = response.content.decode()
    assert response.status_code == 500
    assert "hmac backend exploded" in page and "signature_compute" in page
    assert SECRET not in page
    assert SECRET.encode().hex() not in page


def test_the_exception_reporter_without_our_filter_would_show_the_secret(
    gateway_connection, settings, explode_hmac, rf
):
    # given Django's default filter, which cleanses only with DEBUG off: this is
    # the leak the always-on filter closes (and proves the test above can fail)
    import sys

    from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

    settings.DEBUG = True
    body = b'{"event":"transaction.paid","id":"e1"}'
    headers = {"X-Tonle-Signature": signature_header(secret=SECRET, body=body)}
    request = rf.post("/webhooks/in/1/", data=body, content_type="application/json")
    explode_hmac()
    with pytest.raises(RuntimeError):
        try:
            webhooks_in.inbound_event_receive(
                connection_id=gateway_connection.pk, body=body, headers=headers
            )
        except RuntimeError:
            info = sys.exc_info()
            raise
    # when
    ours = ExceptionReporter(request, *info)
    django_default = ExceptionReporter(request, *info)
    django_default.filter = SafeExceptionReporterFilter()
    # then
    assert SECRET not in ours.get_traceback_html()
    assert SECRET in django_default.get_traceback_html()


# --- issue 11.7: the Hattha brief's X-Signature ---------------------------------


def test_a_push_signed_with_the_hattha_scheme_is_accepted(feed_connection):
    # given a push signed as the brief says: sha256=<hex HMAC of the raw body>
    body = _posted(feed_connection)
    # when
    response = _post(
        feed_connection.pk,
        body,
        x_signature=body_signature_header(secret=SECRET, body=body),
    )
    # then
    assert response.status_code == 202, response.content
    event = InboundEvent.objects.get()
    assert event.delivery_id.startswith("posted:")


def test_a_replayed_hattha_push_is_a_no_op_whatever_its_delivery_header(
    feed_connection,
):
    # given a push received once
    body = _posted(feed_connection)
    signature = body_signature_header(secret=SECRET, body=body)
    first = _post(feed_connection.pk, body, x_signature=signature)
    # when the same signed body comes again under a new (unsigned) delivery id
    again = _post(
        feed_connection.pk,
        body,
        x_signature=signature,
        x_tonle_delivery_id="a-brand-new-id",
    )
    # then it is the same delivery: answered as a replay, stored once
    assert first.status_code == 202
    assert again.status_code == 200 and again.json()["replay"] is True
    assert InboundEvent.objects.count() == 1


def test_the_same_instant_spelled_in_another_offset_is_the_same_delivery(
    feed_connection,
):
    # given one push, then the same one with occurred_at in UTC
    now = timezone.now().replace(microsecond=0)
    local = _posted(
        feed_connection, occurred_at=now.astimezone(dt.timezone(dt.timedelta(hours=7)))
    )
    utc = _posted(feed_connection, occurred_at=now.astimezone(dt.UTC))
    # when
    for body in (local, utc):
        _post(
            feed_connection.pk,
            body,
            x_signature=body_signature_header(secret=SECRET, body=body),
        )
    # then
    assert InboundEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("shift", "message"),
    [
        (-dt.timedelta(days=3, minutes=1), "outside the window"),
        (dt.timedelta(minutes=6), "outside the window"),
    ],
)
def test_a_hattha_push_far_from_now_is_refused_with_the_window(
    feed_connection, shift, message
):
    # given a validly signed push whose occurred_at is too old or in the future
    body = _posted(feed_connection, occurred_at=timezone.now() + shift)
    # when
    response = _post(
        feed_connection.pk,
        body,
        x_signature=body_signature_header(secret=SECRET, body=body),
    )
    # then
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert "3 days back to 5 minutes ahead" in response.json()["message"]
    assert InboundEvent.objects.count() == 0


def test_a_hattha_push_at_the_edge_of_the_window_is_accepted(feed_connection):
    body = _posted(
        feed_connection, occurred_at=timezone.now() - dt.timedelta(days=2, hours=23)
    )
    response = _post(
        feed_connection.pk,
        body,
        x_signature=body_signature_header(secret=SECRET, body=body),
    )
    assert response.status_code == 202


def test_a_hattha_push_without_occurred_at_is_refused(feed_connection):
    event = json.loads(_posted(feed_connection))
    del event["occurred_at"]
    body = json.dumps(event).encode()
    response = _post(
        feed_connection.pk,
        body,
        x_signature=body_signature_header(secret=SECRET, body=body),
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("occurred_at: required")


def test_a_hattha_signature_over_another_body_is_refused(feed_connection):
    body = _posted(feed_connection)
    response = _post(
        feed_connection.pk,
        body,
        x_signature=body_signature_header(secret=SECRET, body=body + b" "),
    )
    assert response.status_code == 401
    assert "does not match" in response.json()["message"]


def test_a_statement_feed_still_accepts_tonles_timestamped_scheme(feed_connection):
    body = _posted(feed_connection)
    response = _post(
        feed_connection.pk,
        body,
        x_tonle_signature=signature_header(secret=SECRET, body=body),
    )
    assert response.status_code == 202


def test_a_gateway_connection_accepts_only_tonles_scheme(gateway_connection):
    # given a KHQR gateway (default scheme: tonle) and a body-only signature
    body = b'{"event":"transaction.paid","id":"e1"}'
    # when
    response = _post(
        gateway_connection.pk,
        body,
        x_signature=body_signature_header(secret=SECRET, body=body),
    )
    # then
    assert response.status_code == 401
    assert "expects X-Tonle-Signature" in response.json()["message"]


def test_a_connection_set_to_the_hattha_scheme_refuses_the_other(feed_connection):
    # given a feed whose credentials pin the brief's scheme
    feed_connection.credentials = {
        "webhook_secret": SECRET,
        "signature_scheme": "sha256",
    }
    feed_connection.save()
    body = _posted(feed_connection)
    # when signed with Tonle's scheme only
    response = _post(
        feed_connection.pk,
        body,
        x_tonle_signature=signature_header(secret=SECRET, body=body),
    )
    # then
    assert response.status_code == 401
    assert "expects X-Signature: sha256=" in response.json()["message"]


# --- issue 11.6: consent ---------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"consent_expires_at": dt.timedelta(days=-1)}, "expired on"),
        ({"revoked_at": dt.timedelta(hours=-1)}, "was revoked on"),
        ({"consent_scope": "balances:read"}, "does not include statements:read"),
    ],
)
def test_a_push_without_consent_is_refused_and_stored_nowhere(
    feed_connection, changes, reason
):
    # given a connection whose consent is expired, revoked or lacks the scope
    for name, value in changes.items():
        if isinstance(value, dt.timedelta):
            value = timezone.now() + value
        setattr(feed_connection, name, value)
    feed_connection.save()
    body = _posted(feed_connection)
    # when the bank pushes, correctly signed
    response = _post(
        feed_connection.pk,
        body,
        x_signature=body_signature_header(secret=SECRET, body=body),
    )
    # then
    assert response.status_code == 403
    assert response.json()["error"] == "consent_refused"
    assert reason in response.json()["message"]
    assert InboundEvent.objects.count() == 0


def test_a_bad_signature_on_a_revoked_connection_says_only_unauthorized(
    feed_connection,
):
    # given a revoked connection and a caller without the secret
    feed_connection.revoked_at = timezone.now()
    feed_connection.save()
    body = _posted(feed_connection)
    # when
    response = _post(
        feed_connection.pk,
        body,
        x_signature=body_signature_header(secret="guess", body=body),
    )
    # then the consent state is not told to a stranger
    assert response.status_code == 401
