"""statement_feed_sync against the sandbox feed served over real HTTP (live_server):
paging drift, 429, 5xx, a page count that lies, expired tokens, balances that do not
add up, channel filters, backfill windows, re-sync no-op, push confirmation."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from core.error_words import error_words
from core.exceptions import TransientError
from core.http import RateLimited
from merchants.models import Account, Connection
from sandbox import feed as sandbox
from statements.models import FeedSyncRun, PushEvent, Statement, Transaction
from statements.services import feed_sync
from statements.services.feed_sync import (
    monthly_windows,
    statement_feed_sync,
    sync_windows,
)
from statements.services.push import transaction_posted_apply
from tests.core.khmer import khmer
from tests.factories import AccountFactory, ConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)

MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


@pytest.fixture
def feed_url(live_server):
    sandbox.switches_reset()
    yield f"{live_server.url}/sandbox/feed"
    sandbox.switches_reset()


@pytest.fixture
def connection(feed_url, merchant) -> Connection:
    account = AccountFactory(
        merchant=merchant, provider="hattha", currency="USD", number="001-234-567"
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


def bank_lines(connection, start=MARCH[0], end=MARCH[1], channels=None) -> list[dict]:
    """What the bank holds for the window (the sandbox's own generator)."""
    items = sandbox.statement_items(connection.account.number, start, end, "USD")
    return [i for i in items if not channels or i["channel"] in channels]


def ledger_ids(account) -> list[str]:
    return sorted(
        Transaction.objects.filter(account=account).values_list(
            "external_id", flat=True
        )
    )


def test_sync_reads_every_page_and_posts_every_line_once(connection, small_pages):
    # given a month of about 75 lines, 10 per page
    expected = bank_lines(connection)
    assert len(expected) > 30
    # when
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then
    assert ledger_ids(connection.account) == sorted(i["txn_id"] for i in expected)
    assert (result.fetched, result.inserted, result.skipped) == (
        len(expected),
        len(expected),
        0,
    )
    assert result.status == "ok" and result.warnings == []
    total = sum(Decimal(i["amount"]) for i in expected)
    assert (
        sum(
            Transaction.objects.filter(account=connection.account).values_list(
                "amount", flat=True
            )
        )
        == total
    )
    statement = Statement.objects.get(account=connection.account, source="feed")
    assert statement.closing_balance - statement.opening_balance == total
    run = FeedSyncRun.objects.get(connection=connection)
    assert (run.mismatch, run.status, run.computed_closing) == (
        False,
        "ok",
        statement.closing_balance,
    )
    connection.refresh_from_db()
    assert connection.last_sync_status == "ok" and connection.last_sync_at
    account = Account.objects.get(pk=connection.account.pk)
    # today's balance, from the bank's balance API (test_feed_sync_consent.py)
    assert account.current_balance is not None and account.balance_as_of
    # and the token the feed issued is kept (encrypted) for the next run
    assert connection.credentials["access_token"].startswith("sbx-")


def test_a_second_sync_of_the_same_window_changes_nothing(connection, small_pages):
    # given a synced month
    first = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    before = ledger_ids(connection.account)
    # when
    again = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then
    assert again.inserted == 0 and again.skipped == first.fetched
    assert ledger_ids(connection.account) == before
    assert Statement.objects.filter(account=connection.account).count() == 1


def test_items_drifting_between_pages_are_neither_lost_nor_doubled(
    connection, small_pages
):
    # given a feed whose items slide by 3 between the first pages we read
    sandbox.switches_set(
        currency={connection.account.number: "USD"}, drift=3, drift_requests=4
    )
    expected = sorted(i["txn_id"] for i in bank_lines(connection))
    # when
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then
    assert ledger_ids(connection.account) == expected
    assert result.inserted == len(expected) and result.status == "ok"
    assert FeedSyncRun.objects.get().passes >= 2  # the first pass was re-read


def test_page_count_that_says_one_is_not_believed(connection, small_pages):
    # given a feed that always says pages=1
    sandbox.switches_set(pages_lie="less")
    # when
    statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then every page was read anyway
    assert len(ledger_ids(connection.account)) == len(bank_lines(connection))


def test_page_count_that_says_too_many_stops_at_the_empty_page(connection, small_pages):
    # given a feed that claims 3 more pages than it has
    sandbox.switches_set(pages_lie="more")
    # when
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then
    real_pages = -(-len(bank_lines(connection)) // 10)
    assert result.inserted == len(bank_lines(connection))
    assert result.pages <= real_pages + 1


def test_429_raises_transient_with_retry_after_and_records_the_run(connection):
    # given a feed that rate limits the first statement call
    sandbox.switches_set(rate_limit=1, retry_after=9)
    # when / then
    with pytest.raises(RateLimited) as info:
        statement_feed_sync(
            connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
        )
    assert info.value.retry_after == 9.0
    run = FeedSyncRun.objects.get()
    assert run.status == "failed" and "429" in run.message
    connection.refresh_from_db()
    assert connection.last_sync_status == "failed"
    # and the retry (the task's job) then succeeds
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    assert result.inserted == len(bank_lines(connection))


def test_5xx_raises_transient_and_writes_nothing_for_that_window(connection):
    # given a feed answering 503
    sandbox.switches_set(server_error=1)
    # when / then
    with pytest.raises(TransientError, match="503"):
        statement_feed_sync(
            connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
        )
    assert Transaction.objects.count() == 0


def test_an_expired_token_is_renewed_and_the_sync_goes_on(connection):
    # given a first sync (the token is stored), then the feed expires all tokens
    statement_feed_sync(
        connection_id=connection.pk,
        date_from=dt.date(2026, 2, 1),
        date_to=dt.date(2026, 2, 28),
    )
    connection.refresh_from_db()
    old_token = connection.credentials["access_token"]
    sandbox.switches_set(expire_tokens=True)
    # when
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then
    assert result.inserted == len(bank_lines(connection))
    assert any(c["status"] == 401 for c in sandbox.calls())
    connection.refresh_from_db()
    assert connection.credentials["access_token"] != old_token


def test_balances_that_do_not_add_up_are_recorded_and_shown(connection):
    # given a feed whose closing balance is 5.00 more than its lines
    sandbox.switches_set(balance_offset="5.00")
    # when
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then the lines are posted, and the mismatch is on the run and the connection
    assert result.inserted == len(bank_lines(connection))
    assert result.status == "warning"
    run = FeedSyncRun.objects.get()
    assert run.mismatch is True and run.status == "warning"
    assert run.reported_closing - run.computed_closing == Decimal("5.00")
    connection.refresh_from_db()
    assert connection.last_sync_status == "warning"
    assert "difference 5.00" in connection.last_sync_message


def test_channel_filter_posts_only_those_channels(connection, small_pages):
    # given the KHQR lines only are wanted
    expected = sorted(i["txn_id"] for i in bank_lines(connection, channels={"KHQR"}))
    # when
    result = statement_feed_sync(
        connection_id=connection.pk,
        date_from=MARCH[0],
        date_to=MARCH[1],
        channels=["khqr"],
    )
    # then
    assert ledger_ids(connection.account) == expected
    assert set(Transaction.objects.values_list("channel", flat=True)) == {"KHQR"}
    assert result.status == "ok"  # a filtered read has no balance to check


def test_cross_border_lines_keep_original_amount_rate_and_fee(connection):
    # given a window with ThaiQR lines
    crossborder = [i for i in bank_lines(connection) if i["channel"] == "CROSSBORDER"]
    assert crossborder
    # when
    statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then
    line = Transaction.objects.get(external_id=crossborder[0]["txn_id"])
    assert line.original_currency == "THB"
    assert line.original_amount == Decimal(crossborder[0]["original_amount"])
    assert line.fx_rate == Decimal(crossborder[0]["fx_rate"])
    assert (line.original_amount * line.fx_rate).quantize(Decimal("0.01")) == (
        -line.amount + line.fee
    )


def test_a_feed_line_confirms_an_earlier_push_without_a_second_line(connection):
    # given a push for a line the bank will list in its feed
    item = next(i for i in bank_lines(connection) if i["channel"] == "KHQR")
    pushed, created = transaction_posted_apply(
        connection=connection,
        payload={
            "acct_id": connection.account.number,
            "direction": "credit",
            "amount": item["amount"],
            "ccy": "USD",
            "balance_after": None,
            "channel": "KHQR",
            "ref": item["ref"],
            "occurred_at": item["posted_at"],
        },
    )
    assert created
    # when
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then
    assert result.confirmed == 1
    assert Transaction.objects.filter(reference=item["ref"]).count() == 1
    event = PushEvent.objects.get()
    assert event.confirmed_txn_id == item["txn_id"] and event.confirmed_at
    assert result.inserted == len(bank_lines(connection)) - 1
    # and a re-sync still does not post the feed's own line
    again = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    assert again.inserted == 0
    assert Transaction.objects.filter(reference=item["ref"]).count() == 1


def test_first_sync_backfills_twelve_months_in_monthly_windows(connection):
    # given a connection never synced
    today = timezone.localdate()
    # when
    result = statement_feed_sync(connection_id=connection.pk)
    # then
    runs = list(FeedSyncRun.objects.order_by("window_start"))
    assert runs[0].window_start == today - dt.timedelta(days=365)
    assert runs[-1].window_end == today
    assert len(runs) == result.windows == 13
    assert all(r.window_start.month == r.window_end.month for r in runs)
    # and the next sync is incremental: from the last sync minus the overlap
    connection.refresh_from_db()
    windows = sync_windows(connection=connection, today=today)
    assert windows[0][0] == today - dt.timedelta(days=3)


def test_monthly_windows_cut_at_month_ends():
    assert monthly_windows(dt.date(2026, 1, 15), dt.date(2026, 3, 2)) == [
        (dt.date(2026, 1, 15), dt.date(2026, 1, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 2)),
    ]


def test_sync_statements_command_prints_counts(connection, capsys):
    # given the command line of the DESIGN contract
    import json

    from django.core.management import call_command

    # when
    call_command(
        "sync_statements",
        "--account",
        str(connection.account.pk),
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--json",
    )
    # then
    out = json.loads(capsys.readouterr().out)
    n = len(bank_lines(connection))
    assert (out["fetched"], out["inserted"], out["skipped"]) == (n, n, 0)


def test_sync_connection_task_retries_on_429(connection, monkeypatch):
    # given a feed rate limiting once and an eager Celery that records retries
    from statements import tasks

    sandbox.switches_set(rate_limit=1, retry_after=4)
    countdowns = []

    def fake_retry(self, exc=None, countdown=None, **kwargs):
        countdowns.append(countdown)
        raise exc

    monkeypatch.setattr(
        tasks.sync_connection, "retry", fake_retry.__get__(tasks.sync_connection)
    )
    # when
    with pytest.raises(RateLimited):
        tasks.sync_connection.apply(args=(connection.pk,), throw=True)
    # then
    assert countdowns and countdowns[0] >= 4


def test_signed_push_through_the_webhook_then_the_feed_makes_one_line(
    connection, live_server
):
    # given a bank push for a line its feed will list, signed with the shared secret
    Connection.objects.filter(pk=connection.pk).update(
        credentials={**connection.credentials, "webhook_secret": "bank-push-secret"}
    )
    item = next(i for i in bank_lines(connection) if i["channel"] == "TRANSFER")
    payload = sandbox.push_payload(connection.account.number, item)
    url = f"{live_server.url}/webhooks/in/{connection.pk}/"
    # when the bank pushes it (twice, as banks retry) and the feed is synced
    first = sandbox.push_send(
        webhook_url=url, secret="bank-push-secret", payload=payload
    )
    second = sandbox.push_send(
        webhook_url=url, secret="bank-push-secret", payload=payload
    )
    pushed = Transaction.objects.get(reference=item["ref"])
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then
    assert first in (200, 202) and second == 200
    assert pushed.source == "push" and pushed.amount == Decimal(item["amount"])
    assert Transaction.objects.filter(reference=item["ref"]).count() == 1
    assert PushEvent.objects.get().confirmed_txn_id == item["txn_id"]
    assert result.confirmed == 1


def test_a_push_signed_with_the_wrong_secret_posts_nothing(connection, live_server):
    # given a push signed with a secret other than the connection's
    Connection.objects.filter(pk=connection.pk).update(
        credentials={**connection.credentials, "webhook_secret": "bank-push-secret"}
    )
    item = bank_lines(connection)[0]
    payload = sandbox.push_payload(connection.account.number, item)
    # when
    status = sandbox.push_send(
        webhook_url=f"{live_server.url}/webhooks/in/{connection.pk}/",
        secret="not-the-secret",
        payload=payload,
    )
    # then
    assert status in (400, 401, 403)
    assert Transaction.objects.count() == 0


def test_a_riel_account_syncs_to_the_riel(feed_url, merchant):
    # given a KHR account on the feed
    account = AccountFactory(
        merchant=merchant, provider="hattha", currency="KHR", number="001-KHR-9"
    )
    connection = ConnectionFactory(
        account=account,
        merchant=merchant,
        base_url=feed_url,
        credentials={"client_id": "demo", "client_secret": "demo-feed-secret"},
    )
    sandbox.switches_set(currency={account.number: "KHR"})
    expected = sandbox.statement_items(account.number, *MARCH, "KHR")
    # when
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then
    amounts = list(
        Transaction.objects.filter(account=account).values_list("amount", flat=True)
    )
    assert result.status == "ok" and len(amounts) == len(expected)
    assert all(a == a.to_integral_value() for a in amounts)
    assert sum(amounts) == sum(Decimal(i["amount"]) for i in expected)


def test_reading_stops_at_the_page_bound_and_says_so(
    connection, small_pages, monkeypatch
):
    # given a bound of 2 pages of 10 per window (the month has more)
    monkeypatch.setattr(feed_sync, "MAX_PAGES", 2)
    sandbox.switches_set(pages_lie="more")
    # when
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then the sync did not run away, and the gap is not hidden
    assert len(ledger_ids(connection.account)) <= 2 * 10
    assert result.status == "warning"
    assert any("stopped after 2 pages" in w for w in result.warnings)


def test_sandbox_push_posts_a_new_sale_that_the_next_sync_confirms(
    connection, live_server
):
    # given a connection with a webhook secret
    import httpx

    Connection.objects.filter(pk=connection.pk).update(
        credentials={**connection.credentials, "webhook_secret": "demo-secret"}
    )
    # when the sandbox bank pushes a new sale
    answer = httpx.post(
        f"{live_server.url}/sandbox/feed/push", json={"connection_id": connection.pk}
    ).json()
    # then it is in the ledger at once, as a push line
    assert answer["webhook_status"] in (200, 202)
    ref = answer["pushed"]["ref"]
    line = Transaction.objects.get(reference=ref)
    assert line.source == "push"
    assert line.amount == Decimal(answer["pushed"]["amount"])
    # and today's feed sync confirms it without a second line
    today = timezone.localdate()
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=today, date_to=today
    )
    assert result.confirmed == 1
    assert Transaction.objects.filter(reference=ref).count() == 1


def test_feed_lines_keep_biller_category_and_fx_beyond_rounding_is_flagged(connection):
    # given the bank's March lines plus three of its own: the ThaiQR line
    # (within its rounding), one 50 cents off its rate, and a bill payment
    base = {"ccy": "USD", "status": "SUCCESS", "counterparty": "", "bakong_trace": ""}
    extra = [
        {**base, "txn_id": "FX-OK", "posted_at": "2026-03-10T09:00:00+07:00",
         "amount": "-497.06", "channel": "CROSSBORDER", "ref": "TQR-OK",
         "original_amount": "17800.00", "original_ccy": "THB", "fx_rate": "0.027925"},
        {**base, "txn_id": "FX-OFF", "posted_at": "2026-03-10T10:00:00+07:00",
         "amount": "-28.40", "channel": "CROSSBORDER", "ref": "TQR-OFF",
         "original_amount": "1000.00", "original_ccy": "THB", "fx_rate": "0.0289"},
        {**base, "txn_id": "BILL-1", "posted_at": "2026-03-10T11:00:00+07:00",
         "amount": "-30.25", "channel": "BILL", "ref": "EDC-1",
         "biller_category": "utilities"},
    ]  # fmt: skip
    sandbox.switches_set(extra_items={connection.account.number: extra})
    # when
    result = statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    # then every line is posted, the off one flagged
    assert result.inserted == len(bank_lines(connection)) + 3
    lines = {
        t.external_id: t
        for t in Transaction.objects.filter(
            external_id__in=["FX-OK", "FX-OFF", "BILL-1"]
        )
    }
    assert lines["FX-OK"].fx_mismatch is False
    assert str(lines["FX-OK"].fx_rate) == "0.027925"
    assert lines["FX-OFF"].fx_mismatch is True
    assert lines["FX-OFF"].amount == Decimal("-28.40")
    assert lines["BILL-1"].biller_category == "utilities"
    # and the sandbox's own bill payments keep theirs
    bills = [i for i in bank_lines(connection) if i["channel"] == "BILL"]
    assert bills
    for bill in bills:
        stored = Transaction.objects.get(external_id=bill["txn_id"])
        assert stored.biller_category == bill["biller_category"] != ""


def test_a_sync_s_warnings_read_in_khmer_word_each_one(
    connection, small_pages, monkeypatch
):
    # given a feed that lies about its pages and whose balances do not add up
    monkeypatch.setattr(feed_sync, "MAX_PAGES", 2)
    sandbox.switches_set(pages_lie="more", balance_offset="5.00")
    # when it is synced and its message read on a Khmer page
    statement_feed_sync(
        connection_id=connection.pk, date_from=MARCH[0], date_to=MARCH[1]
    )
    connection.refresh_from_db()
    with translation.override("km"):
        words = error_words(connection.last_sync_message)
    # then each warning is in Khmer, the figures as the bank sent them
    assert "; " in connection.last_sync_message
    assert (
        khmer("Stopped after %(pages)s pages: the window may be incomplete.")
        % {"pages": "2"}
        in words
    )
    closing = re.search(r"reports closing (\S+) USD", connection.last_sync_message)
    assert closing and f"{closing[1]} USD" in words
    for english in ("stopped", "reports", "opening", "lines ="):
        assert english not in words
