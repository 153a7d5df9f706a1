"""Tracker issue 11, point 3: `sync_statements` (and the task behind "Sync now")
wait out 429 / 5xx / timeouts by one policy (core.retry), honour Retry-After, give
up after a bounded number of tries with an error that names the cause, and leave
nothing half-written: windows already read stay written, the window being read
writes nothing. Against the sandbox feed over real HTTP; no test really sleeps."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import httpx
import pytest
from django.core.management import call_command

from core.exceptions import TransientError
from core.retry import RetriesExhausted, RetryPolicy
from merchants.models import Connection
from sandbox import feed as sandbox
from statements.management.commands.sync_statements import (
    Command as SyncStatementsCommand,
)
from statements.models import FeedSyncRun, Statement, Transaction
from statements.services import feed_sync
from statements.services.feed_sync import statement_feed_sync
from tests.factories import AccountFactory, ConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)

FEBRUARY = (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


@pytest.fixture
def feed_url(live_server):
    sandbox.switches_reset()
    yield f"{live_server.url}/sandbox/feed"
    sandbox.switches_reset()


@pytest.fixture
def connection(feed_url, merchant) -> Connection:
    account = AccountFactory(
        merchant=merchant, provider="hattha", currency="USD", number="001-777-001"
    )
    return ConnectionFactory(
        account=account,
        merchant=merchant,
        base_url=feed_url,
        credentials={"client_id": "demo", "client_secret": "demo-feed-secret"},
    )


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(feed_sync, "PAGE_SIZE", 10)


class FakeSleep:
    """Records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def bank_ids(connection, start, end) -> set[str]:
    items = sandbox.statement_items(connection.account.number, start, end, "USD")
    return {i["txn_id"] for i in items}


def ledger_ids(connection) -> set[str]:
    return set(
        Transaction.objects.filter(account=connection.account).values_list(
            "external_id", flat=True
        )
    )


def sync_command(connection, sleep: FakeSleep, *dates: str) -> tuple[int, dict]:
    command = SyncStatementsCommand()
    command.sleep = sleep
    out = StringIO()
    args = ["--account", str(connection.account.pk)]
    if dates:
        args += ["--from", dates[0], "--to", dates[1]]
    try:
        call_command(command, *args, "--json", stdout=out)
    except SystemExit as exc:
        return exc.code, json.loads(out.getvalue())
    return 0, json.loads(out.getvalue())


def test_the_command_waits_out_429s_as_the_bank_asks_and_finishes(connection):
    # given a feed that rate limits the first two statement calls, Retry-After 7
    sandbox.switches_set(rate_limit=2, retry_after=7)
    sleep = FakeSleep()
    # when
    code, answer = sync_command(connection, sleep, "2026-03-01", "2026-03-31")
    # then it waited at least what the bank asked, twice, and read everything
    assert code == 0, answer
    assert len(sleep.waits) == 2 and all(w >= 7 for w in sleep.waits)
    n = len(bank_ids(connection, *MARCH))
    assert (answer["fetched"], answer["inserted"], answer["skipped"]) == (n, n, 0)
    assert ledger_ids(connection) == bank_ids(connection, *MARCH)


def test_the_command_backs_off_on_5xx_without_a_retry_after(connection):
    # given two 503s without Retry-After
    sandbox.switches_set(server_error=2)
    sleep = FakeSleep()
    # when
    code, answer = sync_command(connection, sleep, "2026-03-01", "2026-03-31")
    # then exponential backoff with jitter: 1..2 s, then 2..4 s
    assert code == 0, answer
    assert 1 <= sleep.waits[0] <= 2 and 2 <= sleep.waits[1] <= 4


def test_the_command_gives_up_after_five_429s_naming_the_cause(connection):
    # given a feed that keeps answering 429, Retry-After 30
    sandbox.switches_set(rate_limit=99, retry_after=30)
    sleep = FakeSleep()
    # when
    code, answer = sync_command(connection, sleep, "2026-03-01", "2026-03-31")
    # then five tries, four waits, and an error that says why
    assert code == 1
    assert answer == {
        "error": "retries_exhausted",
        "message": "the bank answered 429 5 times; last Retry-After 30 s; "
        "waited 120 s in all",
    }
    assert sleep.waits == [30, 30, 30, 30]
    assert Transaction.objects.count() == 0
    connection.refresh_from_db()
    assert connection.last_sync_status == "failed"
    assert "answered 429 5 times" in connection.last_sync_message
    assert FeedSyncRun.objects.get().status == "failed"


def test_a_retry_after_beyond_the_total_wait_is_not_waited_for(connection):
    # given a bank asking for ten minutes' pause (the command waits 5 in all)
    sandbox.switches_set(rate_limit=99, retry_after=600)
    sleep = FakeSleep()
    # when
    code, answer = sync_command(connection, sleep, "2026-03-01", "2026-03-31")
    # then
    assert code == 1 and sleep.waits == []
    assert answer["message"] == (
        "the bank answered 429 once; last Retry-After 600 s; waiting again "
        "would pass the 300 s this waits in all"
    )


class FailingMarchPage2(httpx.BaseTransport):
    """Forwards to the sandbox, except that page 2 of March answers 503 for ever."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/statement"):
            body = json.loads(request.content)
            if body["from_date"].startswith("2026-03") and body["page"] == 2:
                return httpx.Response(503, json={"error": "unavailable"})
        return self.inner.handle_request(request)


def test_giving_up_keeps_the_windows_read_and_writes_nothing_of_the_one_in_progress(
    connection, small_pages
):
    # given February reads fine, and March fails on its second page
    sleep = FakeSleep()
    # when
    with pytest.raises(RetriesExhausted, match="the bank answered server error 503"):
        statement_feed_sync(
            connection_id=connection.pk,
            date_from=FEBRUARY[0],
            date_to=MARCH[1],
            transport=FailingMarchPage2(),
            sleep=sleep,
        )
    # then February is in the ledger, whole, with its statement
    assert ledger_ids(connection) == bank_ids(connection, *FEBRUARY)
    assert Statement.objects.filter(period_start=FEBRUARY[0]).exists()
    # and nothing of March: not even the first page that was read
    assert not Statement.objects.filter(period_start=MARCH[0]).exists()
    march_run = FeedSyncRun.objects.get(window_start=MARCH[0])
    assert march_run.status == "failed" and march_run.inserted == 0
    assert len(sleep.waits) == 4


def test_a_rerun_after_giving_up_completes_without_doubling(connection, small_pages):
    # given a sync that gave up on March after writing February
    with pytest.raises(RetriesExhausted):
        statement_feed_sync(
            connection_id=connection.pk,
            date_from=FEBRUARY[0],
            date_to=MARCH[1],
            transport=FailingMarchPage2(),
            sleep=FakeSleep(),
        )
    # when the bank is well again
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=FEBRUARY[0], date_to=MARCH[1]
    )
    # then
    expected = bank_ids(connection, *FEBRUARY) | bank_ids(connection, *MARCH)
    assert ledger_ids(connection) == expected
    assert result.inserted == len(bank_ids(connection, *MARCH))


def test_retry_policy_bounds_tries_and_honours_retry_after():
    # given the command's policy
    policy = feed_sync.FEED_SYNC_RETRY
    error = TransientError("statement_feed: server error 503", retry_after=45)
    # then
    assert policy.delay(tries=1, error=error) == 45
    assert policy.delay(tries=5, error=error) is None
    assert policy.delay(tries=1, error=error, waited=290) is None
    assert RetryPolicy(max_total_wait=None).delay(tries=1, error=error, waited=1e9)


# --- the task (the nightly job and "Sync now") -----------------------------------


def test_the_task_retries_with_the_same_policy(connection, monkeypatch):
    # given a rate limited feed and an eager Celery that records the countdown
    from core.http import RateLimited
    from statements import tasks

    sandbox.switches_set(rate_limit=1, retry_after=45)
    countdowns = []

    def fake_retry(self, exc=None, countdown=None, **kwargs):
        countdowns.append((countdown, kwargs.get("max_retries")))
        raise exc

    monkeypatch.setattr(
        tasks.sync_connection, "retry", fake_retry.__get__(tasks.sync_connection)
    )
    # when
    with pytest.raises(RateLimited):
        tasks.sync_connection.apply(args=(connection.pk,), throw=True)
    # then
    assert countdowns == [(45, 6)]


def test_the_task_gives_up_after_its_last_try_and_says_so(connection):
    # given the seventh try of the task, rate limited again
    from statements import tasks

    sandbox.switches_set(rate_limit=1, retry_after=45)
    # when
    tasks.sync_connection.apply(args=(connection.pk,), retries=6, throw=True)
    # then no further retry, and the connection says why
    connection.refresh_from_db()
    assert connection.last_sync_status == "failed"
    assert connection.last_sync_message == (
        "gave up: the bank refused 7 tries; the last answer was 429; last "
        "Retry-After 45 s"
    )
