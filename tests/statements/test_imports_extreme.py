"""Extreme values never crash an import: a time that is no UTC time at all
(0001-01-01T00:00:00+07:00), a 32-digit amount or a rate of a thousand digits is
a row error in a file, a refused line in a feed, a refused push, and the import
page of such a file opens every time."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from freezegun import freeze_time

from core.exceptions import InvalidInput
from statements.clients.feed import FeedItem
from statements.models import FeedSyncRun, ImportBatch, Transaction
from statements.services.feed_sync import _apply_window, _WindowRead
from statements.services.imports import (
    import_batch_stage,
    statement_file_import,
    statement_file_preview,
)
from statements.services.push import transaction_posted_apply
from tests.factories import AccountFactory, ConnectionFactory
from tests.statements.ingest_files import canonical

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

GOOD = {
    "txn_id": "T1",
    "posted_at": "2026-04-03T09:21:04+07:00",
    "amount": "12.50",
    "currency": "USD",
}
YEAR_ONE = "0001-01-01T00:00:00+07:00"
YEAR_MAX = "9999-12-31T23:59:00-07:00"
THIRTY_TWO = "1" * 32


@pytest.fixture
def frozen():
    with freeze_time("2026-05-10 10:00:00+07:00"):
        yield


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"posted_at": YEAR_ONE}, "posted_at", "is out of range"),
        ({"posted_at": YEAR_MAX}, "posted_at", "is out of range"),
        ({"amount": THIRTY_TWO}, "amount", "is out of range (more than 15 digits"),
        ({"amount": "99999999999999999.99"}, "amount", "is out of range"),
        ({"balance_after": "9" * 30}, "balance_after", "is out of range"),
        (
            {
                "original_amount": THIRTY_TWO,
                "original_currency": "THB",
                "fx_rate": "0.03",
            },
            "original_amount",
            "is out of range",
        ),
        (
            {"original_amount": "30", "original_currency": "THB", "fx_rate": "1e999"},
            "fx_rate",
            "is out of range for a rate",
        ),
    ],
)
def test_an_extreme_value_is_a_row_error_in_the_preview_and_the_import(
    account, change, field, words
):
    # given a file with one good line and one extreme one
    data = canonical([GOOD, {**GOOD, "txn_id": "T2", **change}])
    # when previewed, then imported
    preview = statement_file_preview(account=account, file_bytes=data, filename="x")
    result = statement_file_import(account=account, file_bytes=data, filename="x")
    # then both name the row and the field, and nothing is written
    for errors in (preview.errors, result.errors):
        assert [(e["row"], e["field"]) for e in errors] == [(3, field)]
        assert words in errors[0]["message"]
    assert Transaction.objects.count() == 0


def test_the_import_page_of_a_file_with_year_one_opens_every_time(
    accountant_client, account
):
    # given a pending upload whose line is dated 0001-01-01T00:00:00+07:00
    data = canonical([{**GOOD, "posted_at": YEAR_ONE}])
    batch = import_batch_stage(account=account, file_bytes=data, filename="y1.csv")
    url = reverse("statements:import-detail", args=[batch.pk])
    for _ in range(2):
        # when the page is opened (again)
        response = accountant_client.get(url)
        # then it shows the row error
        assert response.status_code == 200
        assert "posted_at: &#x27;0001-01-01T00:00:00+07:00&#x27; is out of range" in (
            response.content.decode()
        )


def test_import_statement_json_reports_a_32_digit_amount_as_a_row_error(
    account, tmp_path
):
    # given
    path = tmp_path / "huge.csv"
    path.write_bytes(canonical([{**GOOD, "amount": THIRTY_TWO}]))
    out = StringIO()
    # when
    with pytest.raises(SystemExit) as exited:
        call_command(
            "import_statement",
            "--account",
            str(account.pk),
            str(path),
            "--json",
            stdout=out,
        )
    # then one JSON object naming the row, no traceback
    assert exited.value.code == 1
    answer = json.loads(out.getvalue())
    assert answer["inserted"] == 0
    assert answer["errors"][0]["field"] == "amount"
    assert "out of range" in answer["errors"][0]["message"]
    assert ImportBatch.objects.get().status == "failed"


def _item(txn_id: str, **changes) -> FeedItem:
    base = {
        "txn_id": txn_id,
        "posted_at": dt.datetime(2026, 4, 3, 9, 0, tzinfo=dt.UTC),
        "amount": Decimal("5.00"),
        "ccy": "USD",
        "channel": "KHQR",
        "counterparty": "",
        "bakong_trace": "",
        "ref": "",
        "status": "POSTED",
    }
    base.update(changes)
    return FeedItem(**base)


def test_a_feed_line_of_year_one_or_32_digits_is_refused_and_the_others_posted(
    merchant,
):
    # given a window whose items include the two extremes
    account = AccountFactory(merchant=merchant, currency="USD")
    connection = ConnectionFactory(account=account, merchant=merchant)
    plus_seven = dt.timezone(dt.timedelta(hours=7))
    items = {
        "OK-1": _item("OK-1"),
        "Y1": _item("Y1", posted_at=dt.datetime(1, 1, 1, tzinfo=plus_seven)),
        "BIG": _item("BIG", amount=Decimal(THIRTY_TWO)),
    }
    read = _WindowRead(items, Decimal("0.00"), Decimal("9" * 31), 1, 1, [])
    run = FeedSyncRun.objects.create(
        merchant=merchant,
        connection=connection,
        account=account,
        window_start=dt.date(2026, 4, 1),
        window_end=dt.date(2026, 4, 30),
        currency="USD",
        started_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
    )
    # when
    counts, message = _apply_window(
        connection=connection, account=account, run=run, read=read, filtered=False
    )
    # then the good line is posted and each extreme one is a refused line
    assert list(Transaction.objects.values_list("external_id", flat=True)) == ["OK-1"]
    assert counts["inserted"] == 1
    assert "line Y1 refused: posted_at 0001-01-01T00:00:00+07:00 is out of range" in (
        message
    )
    assert "line BIG refused: amount 1111" in message
    assert "closing balance 9999" in message and "is out of range" in message
    run.refresh_from_db()
    assert run.status == "warning" and run.reported_closing is None


@pytest.mark.parametrize(
    "change, field",
    [
        ({"occurred_at": YEAR_ONE}, "occurred_at"),
        ({"occurred_at": "1900-01-01T00:00:00+07:00"}, "occurred_at"),
        ({"amount": THIRTY_TWO}, "amount"),
        ({"balance_after": THIRTY_TWO}, "balance_after"),
    ],
)
def test_a_push_of_year_one_or_32_digits_is_refused_by_name(merchant, change, field):
    # given a push connection
    account = AccountFactory(merchant=merchant, currency="USD", number="0010123456")
    connection = ConnectionFactory(account=account, merchant=merchant)
    payload = {
        "acct_id": "0010123456",
        "direction": "CREDIT",
        "amount": "250.00",
        "ccy": "USD",
        "ref": "REF-1",
        "occurred_at": "2026-05-09T14:02:11+07:00",
        **change,
    }
    # when / then
    with pytest.raises(InvalidInput, match=f"^{field}: .*(out of range|no statement)"):
        transaction_posted_apply(connection=connection, payload=payload)
    assert Transaction.objects.count() == 0
