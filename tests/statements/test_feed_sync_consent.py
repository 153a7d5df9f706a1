"""Tracker issue 11, points 6 and 8 on the feed side: a connection whose consent has
ended, was revoked, or does not cover statements reads nothing (the command says
why, the nightly job skips it with the reason recorded, the Imports page shows a
badge and no Sync button); and the bank's current and available balances are read
where its feed gives them, each with its own as-of time."""

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

from merchants.exceptions import ConsentRefused
from merchants.models import Account, Connection
from sandbox import feed as sandbox
from statements import tasks
from statements.services.feed_sync import (
    feed_connection_ids_due,
    feed_sync_due,
    statement_feed_sync,
)
from statements.services.push import transaction_posted_apply
from tests.factories import AccountFactory, ConnectionFactory

MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
NO_CONSENT = [
    ({"consent_expires_at": dt.timedelta(days=-2)}, "expired on"),
    ({"revoked_at": dt.timedelta(hours=-1)}, "was revoked on"),
    ({"consent_scope": "balances:read"}, "does not include statements:read"),
]


def _apply(connection: Connection, changes: dict) -> Connection:
    for name, value in changes.items():
        if isinstance(value, dt.timedelta):
            value = timezone.now() + value
        setattr(connection, name, value)
    connection.save()
    return connection


@pytest.fixture
def feed_url(live_server):
    sandbox.switches_reset()
    yield f"{live_server.url}/sandbox/feed"
    sandbox.switches_reset()


@pytest.fixture
def connection(feed_url, merchant) -> Connection:
    account = AccountFactory(
        merchant=merchant, provider="hattha", currency="USD", number="001-555-123"
    )
    return ConnectionFactory(
        account=account,
        merchant=merchant,
        base_url=feed_url,
        credentials={"client_id": "demo", "client_secret": "demo-feed-secret"},
    )


# --- no consent, no reading ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("changes", "reason"), NO_CONSENT)
def test_a_sync_without_consent_asks_the_bank_nothing(connection, changes, reason):
    # given
    _apply(connection, changes)
    # when / then
    with pytest.raises(ConsentRefused, match=reason):
        statement_feed_sync(
            connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
        )
    assert sandbox.calls() == []
    connection.refresh_from_db()
    assert connection.last_sync_status == "failed"
    assert connection.last_sync_message.startswith("not synced: consent for")


@pytest.mark.django_db(transaction=True)
def test_the_command_on_a_revoked_feed_says_it_was_revoked(connection):
    # given the account's only feed connection, revoked
    _apply(connection, {"revoked_at": dt.timedelta(hours=-1)})
    out = StringIO()
    # when
    with pytest.raises(SystemExit) as exit_:
        call_command(
            "sync_statements",
            "--account",
            str(connection.account_id),
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--json",
            stdout=out,
        )
    # then
    answer = json.loads(out.getvalue())
    assert exit_.value.code == 1
    assert answer["error"] == "consent_refused"
    assert (
        f"consent for connection #{connection.pk} was revoked on" in (answer["message"])
    )


@pytest.mark.django_db
def test_the_task_skips_a_connection_without_consent_without_retrying(
    merchant, monkeypatch
):
    # given an expired connection and a retry that must not happen
    connection = _apply(
        ConnectionFactory(account=AccountFactory(merchant=merchant)),
        {"consent_expires_at": dt.timedelta(days=-1)},
    )
    monkeypatch.setattr(
        tasks.sync_connection,
        "retry",
        lambda *a, **k: pytest.fail("a consent refusal is not retried"),
    )
    # when
    tasks.sync_connection.apply(args=(connection.pk,), throw=True)
    # then the reason is on the connection
    connection.refresh_from_db()
    assert "expired on" in connection.last_sync_message


@pytest.mark.django_db
@freeze_time("2026-04-10 02:00:00+07:00")
def test_the_nightly_job_skips_connections_without_consent_and_says_why(
    merchant, monkeypatch
):
    # given one feed with consent and three without
    ok = ConnectionFactory(account=AccountFactory(merchant=merchant))
    blocked = [
        _apply(ConnectionFactory(account=AccountFactory(merchant=merchant)), changes)
        for changes, _ in NO_CONSENT
    ]
    sent = []
    monkeypatch.setattr(tasks.sync_connection, "delay", lambda pk: sent.append(pk))
    # when
    tasks.sync_due.apply()
    # then only the consented one is enqueued
    assert sent == [ok.pk]
    assert feed_connection_ids_due(nightly_hour=1) == [ok.pk]
    expired, _, out_of_scope = (Connection.objects.get(pk=c.pk) for c in blocked)
    assert expired.last_sync_message == (
        f"not synced: consent for connection #{expired.pk} expired on 08 Apr 2026; "
        "the customer must grant it again"
    )
    assert "does not include statements:read" in out_of_scope.last_sync_message
    assert expired.last_sync_status == "failed"


@pytest.mark.django_db
@freeze_time("2026-04-10 02:00:00+07:00")
def test_a_skipped_connection_is_marked_once_not_every_hour(merchant, caplog):
    # given an expired connection
    _apply(
        ConnectionFactory(account=AccountFactory(merchant=merchant)),
        {"consent_expires_at": dt.timedelta(days=-1)},
    )
    caplog.set_level("INFO", logger="tonle.statements")
    # when the hourly job runs twice
    feed_sync_due(nightly_hour=1)
    feed_sync_due(nightly_hour=1)
    # then it was marked (and logged) once
    skipped = [r for r in caplog.records if r.msg == "statements.feed.skipped"]
    assert len(skipped) == 1


# --- the Imports page ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "reason"), NO_CONSENT)
def test_the_imports_page_shows_why_a_feed_does_not_sync_and_offers_no_sync(
    accountant_client, merchant, changes, reason
):
    # given a feed without consent
    connection = _apply(
        ConnectionFactory(account=AccountFactory(merchant=merchant)), changes
    )
    # when
    body = accountant_client.get(reverse("statements:import-list")).text
    # then
    row = body[body.index(f'id="feed-{connection.pk}"') :]
    row = row[: row.index("</tr>")]
    assert reason in row and "neither syncs nor accepts pushes" in row
    assert "Sync now" not in row


@pytest.mark.django_db
def test_the_imports_page_offers_sync_and_revoke_to_an_owner(owner_client, merchant):
    connection = ConnectionFactory(account=AccountFactory(merchant=merchant))
    body = owner_client.get(reverse("statements:import-list")).text
    row = body[body.index(f'id="feed-{connection.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Sync now" in row and "active" in row
    assert reverse("connection-revoke", args=[connection.pk]) in row


@pytest.mark.django_db
def test_sync_now_on_an_expired_feed_enqueues_nothing_and_says_why(
    accountant_client, merchant, django_capture_on_commit_callbacks, monkeypatch
):
    # given
    connection = _apply(
        ConnectionFactory(account=AccountFactory(merchant=merchant)),
        {"consent_expires_at": dt.timedelta(days=-1)},
    )
    sent = []
    monkeypatch.setattr(
        tasks.sync_connection, "apply_async", lambda args, **kw: sent.append(*args)
    )
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = accountant_client.post(
            reverse("statements:import-feed-sync", args=[connection.pk]), follow=True
        )
    # then
    assert sent == []
    assert "Not synced: consent for connection" in response.text
    assert "expired on" in response.text


@pytest.mark.django_db
def test_sync_now_enqueues_the_retrying_task_and_says_so(
    accountant_client, merchant, django_capture_on_commit_callbacks, monkeypatch
):
    # given
    connection = ConnectionFactory(
        account=AccountFactory(merchant=merchant, name="Hattha current")
    )
    sent = []
    monkeypatch.setattr(
        tasks.sync_connection, "apply_async", lambda args, **kw: sent.append(*args)
    )
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = accountant_client.post(
            reverse("statements:import-feed-sync", args=[connection.pk]), follow=True
        )
    # then the task (the one that retries with backoff) is enqueued by id
    assert sent == [connection.pk]
    assert "Sync of Hattha current requested" in response.text
    assert "the worker retries on its own" in response.text


# --- balances (point 8) ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_sync_reads_current_and_available_balance_from_the_bank(connection):
    # when
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then the bank's balance API figures are on the account, with as-of times
    account = Account.objects.get(pk=connection.account_id)
    today = timezone.now()
    expected = sandbox.balance_before(
        account.number, timezone.localdate() + dt.timedelta(days=1), "USD"
    )
    assert result.status == "ok"
    assert account.current_balance == expected
    assert account.available_balance == expected - (
        expected * Decimal("0.05")
    ).quantize(Decimal("0.01"))
    assert account.available_balance < account.current_balance
    assert abs(account.available_as_of - today) < dt.timedelta(minutes=1)
    assert abs(account.balance_as_of - today) < dt.timedelta(minutes=1)


@pytest.mark.django_db(transaction=True)
def test_a_later_push_moves_the_current_balance_but_not_the_available_one(
    connection,
):
    # given a synced account
    statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    before = Account.objects.get(pk=connection.account_id)
    # when the bank pushes a credit a minute later, with its balance after
    occurred = timezone.now() + dt.timedelta(minutes=1)
    transaction_posted_apply(
        connection=connection,
        payload={
            "acct_id": connection.account.number,
            "direction": "CREDIT",
            "amount": "10.00",
            "ccy": "USD",
            "balance_after": str(before.current_balance + 10),
            "channel": "TRANSFER",
            "ref": "REPAY-1",
            "occurred_at": occurred.isoformat(),
        },
    )
    # then each figure keeps its own as-of time
    after = Account.objects.get(pk=connection.account_id)
    assert after.current_balance == before.current_balance + 10
    assert after.balance_as_of == occurred
    assert after.available_balance == before.available_balance
    assert after.available_as_of == before.available_as_of


@pytest.mark.django_db(transaction=True)
def test_without_the_balances_scope_the_bank_is_not_asked_for_balances(connection):
    # given consent to statements only
    _apply(connection, {"consent_scope": "statements:read"})
    # when
    statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then the current balance is March's closing, and nothing is available
    account = Account.objects.get(pk=connection.account_id)
    assert account.available_balance is None and account.available_as_of is None
    assert account.current_balance is not None


@pytest.mark.django_db(transaction=True)
def test_a_feed_without_a_balance_api_syncs_as_before(connection, monkeypatch):
    # given a feed whose balance endpoint does not exist (404)
    from statements.clients.feed import StatementFeedClient

    monkeypatch.setattr(
        StatementFeedClient, "account_balance", lambda self, *, acct_id: None
    )
    # when
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then
    assert result.status == "ok" and result.warnings == []
    assert Account.objects.get(pk=connection.account_id).available_balance is None
