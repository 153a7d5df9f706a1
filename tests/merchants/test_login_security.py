"""Sign-in is throttled (django-axes, per username and address), a client cannot
reset its count with X-Forwarded-For, and every sign-in, failure and lockout is in
the audit log without the password."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from merchants.models import AuditEvent
from tests.factories import MembershipFactory, UserFactory

PASSWORD = "pw-for-tests"

pytestmark = pytest.mark.django_db


@pytest.fixture
def cashier(merchant):
    user = UserFactory(username="cashier")
    MembershipFactory(user=user, merchant=merchant, role="accountant")
    return user


def sign_in(client: Client, password: str, **headers):
    return client.post(
        "/login/", {"username": "cashier", "password": password}, **headers
    )


def test_thirty_wrong_passwords_then_the_right_one_is_refused(cashier):
    # given 30 wrong passwords from one address
    client = Client()
    for attempt in range(30):
        sign_in(client, f"guess-{attempt}")
    # when the right one comes
    answer = sign_in(client, PASSWORD)
    # then it is refused with the lockout page, and nobody is signed in
    assert answer.status_code == 429
    assert "Too many failed sign-ins" in answer.content.decode()
    assert "Traceback" not in answer.content.decode()
    assert client.get("/").status_code == 302


def test_the_lockout_starts_at_the_configured_limit(settings, cashier):
    # given the limit (5 by default)
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, f"guess-{attempt}").status_code == 200
    # when the limit is reached
    assert sign_in(client, "one-more").status_code == 429
    # then the right password no longer helps
    assert sign_in(client, PASSWORD).status_code == 429


def test_a_spoofed_forwarded_for_does_not_reset_the_count(settings, cashier):
    # given no trusted proxy (the default) and a client that sends a different
    # X-Forwarded-For with every guess
    settings.TRUSTED_PROXY_COUNT = 0
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess-{attempt}", HTTP_X_FORWARDED_FOR=f"10.9.9.{attempt}")
    # when it tries the right password with yet another one
    answer = sign_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.200")
    # then it is still locked out, counted at its real address
    assert answer.status_code == 429
    locked = AuditEvent.objects.filter(action="auth.locked_out").first()
    assert locked.ip_address == "127.0.0.1"


def test_behind_a_trusted_proxy_the_lock_is_per_client_address(settings, cashier):
    # given one proxy of ours in front, which appends the client's address
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = Client(REMOTE_ADDR="10.0.0.2")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(
            attacker,
            f"guess-{attempt}",
            HTTP_X_FORWARDED_FOR=f"1.2.3.{attempt}, 203.0.113.7",
        )
    # when the real user signs in through the same proxy from elsewhere
    user = Client(REMOTE_ADDR="10.0.0.2")
    answer = sign_in(user, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.4")
    # then they get in, while the attacker's address stays locked whatever it
    # writes further left
    assert answer.status_code == 302
    again = sign_in(attacker, PASSWORD, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7")
    assert again.status_code == 429


def test_a_successful_sign_in_is_audited_with_merchant_and_address(merchant, cashier):
    # when
    answer = sign_in(Client(REMOTE_ADDR="192.0.2.10"), PASSWORD)
    # then
    assert answer.status_code == 302
    event = AuditEvent.objects.get(action="auth.login")
    assert (event.merchant, event.actor, event.ip_address) == (
        merchant,
        cashier,
        "192.0.2.10",
    )


def test_a_failed_sign_in_is_audited_without_the_password(merchant, cashier):
    # when
    sign_in(Client(), "Secret-Guess-123")
    # then the owner's audit log shows it, naming the username, not the password
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.merchant == merchant
    assert event.actor is None
    assert event.details["username"] == "cashier"
    stored = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert "Secret-Guess-123" not in stored


def test_a_failed_sign_in_for_an_unknown_username_is_audited_for_staff(db):
    Client().post("/login/", {"username": "ghost", "password": "nope"})
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert (event.merchant, event.actor_label) == (None, "ghost")


def test_the_lockout_is_audited(settings, merchant, cashier):
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess-{attempt}")
    event = AuditEvent.objects.filter(action="auth.locked_out").first()
    assert event is not None
    assert (event.merchant, event.details["username"]) == (merchant, "cashier")


def test_a_lockout_for_one_username_leaves_another_alone(settings, merchant, cashier):
    # given cashier locked out at this address
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess-{attempt}")
    # when a colleague signs in from the same address (a shop's one connection)
    colleague = UserFactory(username="colleague")
    MembershipFactory(user=colleague, merchant=merchant, role="viewer")
    answer = client.post("/login/", {"username": "colleague", "password": PASSWORD})
    # then
    assert answer.status_code == 302


def test_a_page_refused_to_a_role_is_audited(merchant, viewer_client):
    # when a viewer opens the owner's API keys page
    answer = viewer_client.get("/settings/api-keys/")
    # then 403, and the owner sees who tried
    assert answer.status_code == 403
    event = AuditEvent.objects.get(action="access.denied")
    assert event.merchant == merchant
    assert event.actor == viewer_client.user
    assert event.details["path"] == "/settings/api-keys/"
    assert event.details["reason"] == "your role does not allow this page"
