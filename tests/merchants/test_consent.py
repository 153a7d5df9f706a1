"""Consent (tracker issue 11, point 6): the scope vocabulary, the one answer to "may
this connection do X now", revoking from a page and from the command line (both
audited, both idempotent), and the dashboard's list of consents about to end."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from core.exceptions import Conflict, InvalidInput, NotFound
from merchants.exceptions import ConsentRefused
from merchants.models import AuditEvent, Connection
from merchants.selectors import (
    connection_consent,
    connection_consent_require,
    consent_scope_parse,
)
from merchants.services import (
    connection_consent_renew,
    connection_create,
    connection_revoke,
)
from tests.factories import AccountFactory, ConnectionFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC)


def _connection(merchant, **fields) -> Connection:
    account = AccountFactory(merchant=merchant, name=fields.pop("name", "Hattha USD"))
    return ConnectionFactory(account=account, merchant=merchant, **fields)


# --- the vocabulary ----------------------------------------------------------------


def test_scopes_are_read_space_or_comma_separated_with_the_old_words():
    assert consent_scope_parse("statements:read, balances:read") == {
        "statements:read",
        "balances:read",
    }
    # connection_create wrote these before the scopes had names of their own
    assert consent_scope_parse("accounts:read transactions:read") == {
        "statements:read",
        "balances:read",
    }
    assert consent_scope_parse("") == frozenset()


def test_an_unknown_scope_word_is_refused_naming_it():
    with pytest.raises(InvalidInput, match="consent_scope: 'statement:read' is not"):
        consent_scope_parse("statement:read", strict=True)


def test_a_new_connection_gets_its_providers_scope_and_a_years_consent(merchant):
    # given
    account = AccountFactory(merchant=merchant)
    # when
    with freeze_time(NOW):
        feed = connection_create(
            account=account,
            provider="statement_feed",
            base_url="http://127.0.0.1:9/feed",
            credentials={},
        )
        gateway = connection_create(
            account=account,
            provider="khqr_gateway",
            base_url="http://127.0.0.1:9/gw",
            credentials={},
        )
    # then
    assert feed.consent_scope == "balances:read statements:read"
    assert gateway.consent_scope == "payments:read"
    assert feed.consent_expires_at == NOW + dt.timedelta(days=365)


def test_a_connection_with_an_unknown_signature_scheme_is_refused(merchant):
    with pytest.raises(InvalidInput, match="signature_scheme 'md5' is not one of"):
        connection_create(
            account=AccountFactory(merchant=merchant),
            provider="statement_feed",
            base_url="http://127.0.0.1:9/feed",
            credentials={"signature_scheme": "md5"},
        )
    assert Connection.objects.count() == 0


# --- may this connection do X now ------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "state", "allowed", "reason"),
    [
        ({}, "active", True, ""),
        (
            {"consent_expires_at": NOW + dt.timedelta(days=10)},
            "expiring",
            True,
            "ends on 11 Jun 2026",
        ),
        (
            {"consent_expires_at": NOW - dt.timedelta(seconds=1)},
            "expired",
            False,
            "expired on 01 Jun 2026",
        ),
        ({"revoked_at": NOW}, "revoked", False, "was revoked on 01 Jun 2026"),
        (
            {"consent_scope": "balances:read"},
            "out_of_scope",
            False,
            "does not include statements:read (granted: balances:read)",
        ),
        (
            {"consent_scope": ""},
            "out_of_scope",
            False,
            "(granted: nothing)",
        ),
    ],
)
def test_consent_says_whether_a_connection_may_read_statements_now(
    merchant, fields, state, allowed, reason
):
    # given
    fields.setdefault("consent_expires_at", NOW + dt.timedelta(days=200))
    connection = _connection(merchant, **fields)
    # when
    status = connection_consent(connection=connection, scope="statements:read", now=NOW)
    # then
    assert (status.state, status.allowed) == (state, allowed)
    assert reason in status.reason


def test_consent_require_raises_the_reason(merchant):
    connection = _connection(merchant, consent_expires_at=NOW - dt.timedelta(days=1))
    with pytest.raises(ConsentRefused, match="expired on 31 May 2026"):
        connection_consent_require(
            connection=connection, scope="statements:read", now=NOW
        )


def test_a_consent_without_an_end_date_does_not_expire(merchant):
    connection = _connection(merchant, consent_expires_at=None)
    assert connection_consent(connection=connection, now=NOW).state == "active"


# --- revoke ------------------------------------------------------------------------


def test_revoking_is_audited_once_and_idempotent(merchant, django_user_model):
    # given
    owner = django_user_model.objects.create_user("owner-1", password="x")
    connection = _connection(merchant)
    # when revoked twice
    first = connection_revoke(
        merchant=merchant, connection_id=connection.pk, actor=owner
    )
    second = connection_revoke(
        merchant=merchant, connection_id=connection.pk, actor=owner
    )
    # then
    assert first.revoked_at is not None and second.revoked_at == first.revoked_at
    events = AuditEvent.objects.for_merchant(merchant).filter(
        action="connection.revoked"
    )
    assert events.count() == 1
    assert events.get().actor == owner
    assert events.get().details["provider"] == "statement_feed"


def test_another_merchants_connection_cannot_be_revoked(merchant, other_merchant):
    theirs = _connection(other_merchant)
    with pytest.raises(NotFound):
        connection_revoke(merchant=merchant, connection_id=theirs.pk)
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_a_revoked_connection_cannot_be_renewed(merchant):
    connection = _connection(merchant, revoked_at=timezone.now())
    with pytest.raises(Conflict, match="was revoked; connect the account anew"):
        connection_consent_renew(merchant=merchant, connection_id=connection.pk)


def _command(*args) -> tuple[int, dict]:
    out = StringIO()
    try:
        call_command("revoke_connection", *args, "--json", stdout=out)
    except SystemExit as exc:
        return exc.code, json.loads(out.getvalue())
    return 0, json.loads(out.getvalue())


def test_revoke_connection_command_prints_the_contract_and_is_idempotent(merchant):
    # given
    connection = _connection(merchant)
    # when
    with freeze_time(NOW):
        code, first = _command("--connection", str(connection.pk))
    code_again, again = _command("--connection", str(connection.pk))
    # then
    assert code == 0 and code_again == 0
    assert first == {"connection_id": connection.pk, "revoked_at": NOW.isoformat()}
    assert again == first
    event = AuditEvent.objects.get(action="connection.revoked")
    assert event.actor_label == "manage.py revoke_connection"


def test_revoke_connection_command_names_an_unknown_connection():
    code, answer = _command("--connection", "999999")
    assert code == 1
    assert answer == {
        "error": "not_found",
        "message": "connection 999999 does not exist",
    }


def test_the_revoke_page_asks_for_confirmation_first(owner_client, merchant):
    # given
    connection = _connection(merchant)
    url = reverse("connection-revoke", args=[connection.pk])
    # when the owner opens the page, then posts without the confirmation
    page = owner_client.get(url)
    unconfirmed = owner_client.post(url)
    # then nothing is revoked yet
    assert page.status_code == 200
    assert "Withdraw the customer's consent?" in page.text
    assert 'name="confirm" value="revoke"' in page.text
    assert unconfirmed.status_code == 302
    connection.refresh_from_db()
    assert connection.revoked_at is None


def test_the_owner_revokes_from_the_page_and_it_is_audited(owner_client, merchant):
    # given
    connection = _connection(merchant)
    # when
    response = owner_client.post(
        reverse("connection-revoke", args=[connection.pk]),
        {"confirm": "revoke"},
        REMOTE_ADDR="203.0.113.9",
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "account-detail", args=[connection.account_id]
    )
    connection.refresh_from_db()
    assert connection.revoked_at is not None
    event = AuditEvent.objects.get(action="connection.revoked")
    assert event.actor.username and event.ip_address == "203.0.113.9"
    assert "is revoked" in owner_client.get(response["Location"]).text


@pytest.mark.parametrize("role", ["accountant", "auditor", "viewer"])
def test_only_an_owner_may_revoke(member_client_factory, merchant, role):
    connection = _connection(merchant)
    client = member_client_factory(merchant, role)
    url = reverse("connection-revoke", args=[connection.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"confirm": "revoke"}).status_code == 403
    connection.refresh_from_db()
    assert connection.revoked_at is None


def test_the_account_page_offers_revoke_to_owners_only(
    owner_client, viewer_client, merchant
):
    connection = _connection(merchant)
    url = reverse("account-detail", args=[connection.account_id])
    revoke = reverse("connection-revoke", args=[connection.pk])
    assert revoke in owner_client.get(url).text
    assert revoke not in viewer_client.get(url).text


# --- the dashboard -------------------------------------------------------------


def test_the_dashboard_lists_consents_ending_within_14_days(viewer_client, merchant):
    # given consents ending in 5 days, in 30 days, ended yesterday, and a revoked one
    now = timezone.now()
    soon = _connection(
        merchant, name="Soon account", consent_expires_at=now + dt.timedelta(days=5)
    )
    _connection(
        merchant, name="Later account", consent_expires_at=now + dt.timedelta(days=30)
    )
    _connection(
        merchant, name="Ended account", consent_expires_at=now - dt.timedelta(days=1)
    )
    _connection(
        merchant,
        name="Revoked account",
        consent_expires_at=now + dt.timedelta(days=3),
        revoked_at=now,
    )
    # when
    body = viewer_client.get(reverse("dashboard")).text
    # then
    listed = body[body.index('id="consents-expiring"') :]
    listed = listed[: listed.index("</section>")]
    assert "Consents expiring within 14 days" in listed
    assert "Soon account" in listed and "Ended account" in listed
    assert "Later account" not in listed and "Revoked account" not in listed
    assert f"#{soon.pk}" in listed and "expiring" in listed and "expired" in listed


def test_the_dashboard_has_no_consent_list_when_none_ends_soon(viewer_client, merchant):
    _connection(merchant, consent_expires_at=timezone.now() + dt.timedelta(days=90))
    assert 'id="consents-expiring"' not in viewer_client.get(reverse("dashboard")).text


# --- balances with their as-of times (point 8) ----------------------------------


def test_dashboard_and_account_page_show_current_and_available_with_as_of_times(
    viewer_client, merchant
):
    # given a balance moved by a push at 09:15 and the bank's available at 08:00
    account = AccountFactory(
        merchant=merchant,
        currency="USD",
        current_balance=Decimal("2393.10"),
        balance_as_of=dt.datetime(2026, 5, 12, 2, 15, tzinfo=dt.UTC),
        available_balance=Decimal("2100.00"),
        available_as_of=dt.datetime(2026, 5, 12, 1, 0, tzinfo=dt.UTC),
    )
    # when
    dashboard = viewer_client.get(reverse("dashboard")).text
    detail = viewer_client.get(reverse("account-detail", args=[account.pk])).text
    # then (times shown in Phnom Penh)
    for page in (dashboard, detail):
        assert "2,393.10" in page and "2,100.00" in page
        assert "12 May 2026 09:15" in page and "12 May 2026 08:00" in page


def test_an_account_without_an_available_balance_says_so(viewer_client, merchant):
    account = AccountFactory(merchant=merchant, current_balance=Decimal("10.00"))
    detail = viewer_client.get(reverse("account-detail", args=[account.pk])).text
    assert "not reported yet" in detail


def test_seeding_the_demo_again_renews_an_ended_sandbox_consent(db):
    # given a demo seeded a year ago, its feed consent since ended
    code = call_command("seed_demo", "--json", stdout=StringIO())
    assert code is None
    feed = Connection.objects.get(provider="statement_feed")
    Connection.objects.filter(pk=feed.pk).update(
        consent_scope="accounts:read transactions:read",
        consent_expires_at=timezone.now() - dt.timedelta(days=1),
    )
    # when
    call_command("seed_demo", "--json", stdout=StringIO())
    # then the same connection reads statements again, for another year
    feed.refresh_from_db()
    status = connection_consent(connection=feed, scope="statements:read")
    assert status.state == "active"
    assert feed.consent_expires_at > timezone.now() + dt.timedelta(days=360)
    assert Connection.objects.filter(provider="statement_feed").count() == 1
    assert AuditEvent.objects.filter(action="connection.consent_renewed").count() == 1
