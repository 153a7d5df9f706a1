"""Import pages: upload -> mapping with preview and errors (nothing written) ->
confirm -> result; history with the original file; roles and tenancy."""

from __future__ import annotations

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from statements.models import ImportBatch, Transaction
from tests.factories import AccountFactory
from tests.statements.ingest_files import canonical, csv_bytes

pytestmark = pytest.mark.django_db

GOOD = [
    {
        "txn_id": f"T{n}",
        "posted_at": f"2026-04-0{n}T09:00:00+07:00",
        "amount": f"1{n}.50",
        "currency": "USD",
        "counterparty": "ហាងកាហ្វេ",
    }
    for n in range(1, 4)
]


def upload(client, account, data: bytes, name="april.csv", preset=""):
    return client.post(
        reverse("statements:import-upload"),
        {
            "account": account.pk,
            "preset": preset,
            "file": SimpleUploadedFile(name, data, content_type="text/csv"),
        },
    )


def test_upload_shows_a_preview_and_writes_nothing_until_confirmed(
    accountant_client, account
):
    # when
    response = upload(accountant_client, account, canonical(GOOD))
    # then
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("statements:import-detail", args=[batch.pk])
    page = accountant_client.get(response.url)
    body = html.unescape(page.content.decode())
    assert page.status_code == 200
    assert "Recognised as Tonle canonical CSV by its headers 'txn_id', 'posted_at'" in (
        body
    )
    assert "ហាងកាហ្វេ" in body and "11.50" in body
    assert "All 3 row(s) are valid" in body
    assert Transaction.objects.count() == 0 and batch.status == "pending"
    # when confirmed
    done = accountant_client.post(reverse("statements:import-confirm", args=[batch.pk]))
    # then
    assert done.status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.inserted) == ("imported", 3)
    assert Transaction.objects.filter(account=account).count() == 3
    result = accountant_client.get(done.url).content.decode()
    assert "Imported 3 new line(s)" in result


def test_errors_are_listed_with_rows_before_anything_is_written(
    accountant_client, account
):
    # given a file whose row 3 has letters in the amount
    rows = [GOOD[0], {**GOOD[1], "amount": "1O.00"}]
    response = upload(accountant_client, account, canonical(rows))
    # when
    body = accountant_client.get(response.url).content.decode()
    # then
    assert "amount: &#x27;1O.00&#x27; is not an amount" in body
    assert '<td class="num">3</td><td>amount</td>' in body
    assert '<button type="submit" class="primary" disabled>Import</button>' in body
    assert "fix the errors above first" in body
    assert Transaction.objects.count() == 0


def test_mapping_step_points_fields_at_the_files_columns(accountant_client, account):
    # given a file with an unknown header for the id and the amount
    data = csv_bytes(
        ["Ref No", "When", "Value", "Ccy"],
        [["R1", "2026-04-03T09:00:00+07:00", "5.00", "USD"]],
    )
    response = upload(accountant_client, account, data, preset="tonle")
    batch = ImportBatch.objects.get()
    first = accountant_client.get(response.url).content.decode()
    assert "required column missing" in first
    # when the accountant maps the columns
    accountant_client.post(
        reverse("statements:import-map", args=[batch.pk]),
        {
            "preset": "tonle",
            "map_txn_id": "Ref No",
            "map_posted_at": "When",
            "map_amount": "Value",
            "map_currency": "Ccy",
        },
    )
    # then the preview is clean and the import uses the mapping
    second = accountant_client.get(response.url).content.decode()
    assert "All 1 row(s) are valid" in second
    accountant_client.post(reverse("statements:import-confirm", args=[batch.pk]))
    assert Transaction.objects.get().external_id == "R1"


def test_a_file_already_imported_is_refused_at_upload(accountant_client, account):
    # given an imported file
    data = canonical(GOOD)
    upload(accountant_client, account, data)
    batch = ImportBatch.objects.get()
    accountant_client.post(reverse("statements:import-confirm", args=[batch.pk]))
    assert ImportBatch.objects.get().status == "imported"
    # when it is uploaded again
    again = upload(accountant_client, account, data, name="again.csv")
    # then
    assert again.status_code == 302
    assert again.url == reverse("statements:import-list")
    page = accountant_client.get(again.url).content.decode()
    assert "already imported into this account" in page
    assert ImportBatch.objects.count() == 1


def test_history_lists_imports_and_serves_the_original_file(auditor_client, account):
    # given an import made from the command line
    from statements.services.imports import statement_file_import

    data = canonical(GOOD)
    statement_file_import(account=account, file_bytes=data, filename="april.csv")
    batch = ImportBatch.objects.get()
    # when an auditor looks
    listing = auditor_client.get(reverse("statements:import-list"))
    download = auditor_client.get(reverse("statements:import-file", args=[batch.pk]))
    # then
    body = listing.content.decode()
    assert "april.csv" in body and "imported" in body
    assert "Upload a statement file" not in body  # auditors do not import
    assert b"".join(download.streaming_content) == data
    assert 'filename="april.csv"' in download["Content-Disposition"]


@pytest.mark.parametrize("role_client", ["auditor_client", "viewer_client"])
def test_auditors_and_viewers_cannot_upload(request, role_client, account):
    client = request.getfixturevalue(role_client)
    # when
    response = upload(client, account, canonical(GOOD))
    # then
    assert response.status_code == 403
    assert ImportBatch.objects.count() == 0


def test_another_merchants_import_is_not_found(owner_client, other_merchant):
    # given an import of merchant B
    from statements.services.imports import import_batch_stage

    account_b = AccountFactory(merchant=other_merchant)
    batch = import_batch_stage(
        account=account_b, file_bytes=canonical(GOOD), filename="b.csv"
    )
    # when merchant A's owner asks for it
    for name in ("import-detail", "import-file"):
        assert (
            owner_client.get(reverse(f"statements:{name}", args=[batch.pk])).status_code
            == 404
        )
    assert (
        owner_client.post(
            reverse("statements:import-confirm", args=[batch.pk])
        ).status_code
        == 404
    )
    # and cannot upload into merchant B's account
    response = upload(owner_client, account_b, canonical(GOOD))
    assert response.status_code == 400
    assert ImportBatch.objects.count() == 1


def test_feed_mismatch_is_shown_on_the_imports_page(viewer_client, merchant):
    # given a feed connection whose last window did not add up
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from statements.models import FeedSyncRun
    from tests.factories import ConnectionFactory

    account = AccountFactory(merchant=merchant, name="Hattha current")
    connection = ConnectionFactory(
        account=account,
        merchant=merchant,
        last_sync_status="warning",
        last_sync_message="2026-03-01..2026-03-31: the bank reports closing 105.00",
    )
    FeedSyncRun.objects.create(
        merchant=merchant,
        connection=connection,
        account=account,
        window_start=dt.date(2026, 3, 1),
        window_end=dt.date(2026, 3, 31),
        currency="USD",
        reported_closing=Decimal("105.00"),
        computed_closing=Decimal("100.00"),
        mismatch=True,
        status="warning",
        started_at=timezone.now(),
    )
    # when
    body = viewer_client.get(reverse("statements:import-list")).content.decode()
    # then
    assert "the bank reports closing 105.00" in body
    assert "does not add up" in body and "105.00" in body and "100.00" in body
    assert "Sync now" not in body  # viewers cannot start a sync


def test_sync_now_enqueues_the_feed_task_by_id(
    accountant_client, merchant, django_capture_on_commit_callbacks, monkeypatch
):
    # given a feed connection
    from statements import tasks
    from tests.factories import ConnectionFactory

    connection = ConnectionFactory(account=AccountFactory(merchant=merchant))
    sent = []
    monkeypatch.setattr(
        tasks.sync_connection, "apply_async", lambda args, **kw: sent.append(*args)
    )
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = accountant_client.post(
            reverse("statements:import-feed-sync", args=[connection.pk])
        )
    # then
    assert response.status_code == 302
    assert sent == [connection.pk]


def test_sync_now_is_refused_for_viewers_and_other_merchants(
    viewer_client, owner_client, other_merchant, merchant
):
    from tests.factories import ConnectionFactory

    mine = ConnectionFactory(account=AccountFactory(merchant=merchant))
    theirs = ConnectionFactory(account=AccountFactory(merchant=other_merchant))
    url = "statements:import-feed-sync"
    assert viewer_client.post(reverse(url, args=[mine.pk])).status_code == 403
    assert owner_client.post(reverse(url, args=[theirs.pk])).status_code == 404
