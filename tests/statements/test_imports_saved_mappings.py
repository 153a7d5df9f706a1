"""A mapping is saved per account and header row when its file is imported, and
applied by itself to that account's next file with the same headers (the page
says so, and it stays editable); an abandoned upload can be discarded."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from freezegun import freeze_time

from merchants.models import AuditEvent
from statements.models import ImportBatch, ImportMapping, Transaction
from statements.services.imports import (
    import_batch_discard,
    import_batch_stage,
    statement_file_import,
)
from tests.factories import AccountFactory
from tests.statements.ingest_files import csv_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

HEADER = ["Txn Date", "Details", "Money In", "Money Out", "Balance"]
MAPPING_FORM = {
    "map_posted_at": "Txn Date",
    "map_description": "Details",
    "map_credit": "Money In",
    "map_debit": "Money Out",
    "map_balance_after": "Balance",
    "opt_amount_mode": "debit_credit",
    "opt_date_format": "dmy",
}


@pytest.fixture
def frozen():
    with freeze_time("2026-06-10 10:00:00+07:00"):
        yield


def statement(month: int, title_lines: int = 3) -> bytes:
    """A month of the bank's export: a title block of `title_lines` lines (it
    changes from month to month), the headers, two lines."""
    title = [["Phnom Penh Commercial Bank"]] + [
        [f"Statement line {n}", f"{month:02d}/2026"] for n in range(title_lines - 1)
    ]
    rows = [
        [f"03/{month:02d}/2026", "KHQR sale", "12,000", "", "112,000"],
        [f"14/{month:02d}/2026", "Supplier", "", "5,000", "107,000"],
    ]
    return csv_bytes(title[0], [*title[1:], [], HEADER, *rows])


def upload(client, account, data: bytes, name: str):
    return client.post(
        reverse("statements:import-upload"),
        {
            "account": account.pk,
            "preset": "",
            "file": SimpleUploadedFile(name, data, content_type="text/csv"),
        },
    )


def body_of(response) -> str:
    return html.unescape(response.content.decode())


def test_a_mapping_is_saved_on_import_and_applied_to_the_next_month_by_itself(
    accountant_client, khr_account
):
    # given April's file, unknown to every preset, mapped and imported
    upload(accountant_client, khr_account, statement(4), "april.csv")
    april = ImportBatch.objects.get()
    page = body_of(
        accountant_client.get(reverse("statements:import-detail", args=[april.pk]))
    )
    assert "No bank recognised: map the columns" in page
    assert "headers taken from line 5" in page
    accountant_client.post(
        reverse("statements:import-map", args=[april.pk]), MAPPING_FORM
    )
    accountant_client.post(reverse("statements:import-confirm", args=[april.pk]))
    april.refresh_from_db()
    assert (april.status, april.inserted) == ("imported", 2)
    saved = ImportMapping.objects.get()
    assert (saved.account, saved.headers) == (khr_account, HEADER)
    assert (
        saved.mapping["credit"] == "Money In" and saved.mapping["date_format"] == "dmy"
    )
    assert AuditEvent.objects.filter(action="statement.import_mapping_saved").exists()
    # when May's file arrives, with a longer title block
    upload(accountant_client, khr_account, statement(5, title_lines=5), "may.csv")
    may = ImportBatch.objects.latest("pk")
    page = body_of(
        accountant_client.get(reverse("statements:import-detail", args=[may.pk]))
    )
    # then the saved mapping is used by itself, and the page says so
    assert "Using the mapping saved on 10 Jun 2026 by accountant-" in page
    assert "All 2 row(s) are valid" in page
    assert '<option value="dmy" selected>' in page
    accountant_client.post(reverse("statements:import-confirm", args=[may.pk]))
    may.refresh_from_db()
    assert (may.status, may.inserted, may.saved_mapping) == ("imported", 2, saved)
    amounts = Transaction.objects.filter(value_date__month=5).values_list(
        "amount", flat=True
    )
    assert sorted(amounts) == [Decimal(-5000), Decimal(12000)]


def test_a_saved_mapping_is_edited_by_importing_with_another(khr_account):
    # given a saved mapping that read the dates month first
    first = {
        "posted_at": "Txn Date",
        "credit": "Money In",
        "debit": "Money Out",
        "date_format": "mdy",
    }
    data = (
        statement(4)
        .replace(b"03/04/2026", b"04/03/2026")
        .replace(b"14/04/2026", b"04/14/2026")
    )
    statement_file_import(
        account=khr_account, file_bytes=data, filename="a.csv", mapping=first
    )
    # when the next file is imported with the dates day first
    again = {**first, "date_format": "dmy"}
    result = statement_file_import(
        account=khr_account, file_bytes=statement(5), filename="b.csv", mapping=again
    )
    # then the account's one mapping for these headers is the new one
    assert result.errors == []
    assert ImportMapping.objects.get().mapping["date_format"] == "dmy"


def test_the_command_line_uses_the_saved_mapping_too(khr_account):
    # given a saved mapping for the layout
    mapping = {
        "posted_at": "Txn Date",
        "credit": "Money In",
        "debit": "Money Out",
        "date_format": "dmy",
    }
    statement_file_import(
        account=khr_account, file_bytes=statement(4), filename="a.csv", mapping=mapping
    )
    # when the next file is imported with no mapping at all
    result = statement_file_import(
        account=khr_account, file_bytes=statement(5), filename="b.csv"
    )
    # then
    assert (result.inserted, result.errors) == (2, [])


def test_a_mapping_saved_for_one_account_is_not_used_for_another(merchant, khr_account):
    # given a mapping saved for one KHR account
    mapping = {
        "posted_at": "Txn Date",
        "credit": "Money In",
        "debit": "Money Out",
        "date_format": "dmy",
    }
    statement_file_import(
        account=khr_account, file_bytes=statement(4), filename="a.csv", mapping=mapping
    )
    other = AccountFactory(merchant=merchant, currency="KHR")
    # when the same layout arrives for another account
    result = statement_file_import(
        account=other, file_bytes=statement(4), filename="a.csv"
    )
    # then it must be mapped there
    assert "no bank recognised" in result.errors[0]["message"]


def test_a_pending_upload_is_discarded_its_file_deleted_and_audited(
    accountant_client, khr_account, django_capture_on_commit_callbacks
):
    # given a pending upload
    upload(accountant_client, khr_account, statement(4), "april.csv")
    batch = ImportBatch.objects.get()
    storage, name = batch.file.storage, batch.file.name
    assert storage.exists(name)
    # when discarded (the file goes once the discard is committed)
    with django_capture_on_commit_callbacks(execute=True):
        response = accountant_client.post(
            reverse("statements:import-discard", args=[batch.pk])
        )
    # then
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "discarded" and not batch.file
    assert not storage.exists(name)
    event = AuditEvent.objects.get(action="statement.import_discarded")
    assert event.details["filename"] == "april.csv"
    listing = body_of(accountant_client.get(reverse("statements:import-list")))
    assert "discarded" in listing
    assert (
        accountant_client.get(
            reverse("statements:import-file", args=[batch.pk])
        ).status_code
        == 404
    )
    page = body_of(
        accountant_client.get(reverse("statements:import-detail", args=[batch.pk]))
    )
    assert "its file was deleted" in page


def test_an_imported_file_cannot_be_discarded(khr_account):
    mapping = {
        "posted_at": "Txn Date",
        "credit": "Money In",
        "debit": "Money Out",
        "date_format": "dmy",
    }
    result = statement_file_import(
        account=khr_account, file_bytes=statement(4), filename="a.csv", mapping=mapping
    )
    batch = ImportBatch.objects.get(pk=result.batch_id)
    from core.exceptions import Conflict

    with pytest.raises(Conflict, match="only a file waiting for its import"):
        import_batch_discard(batch=batch)
    assert ImportBatch.objects.get().status == "imported"


@pytest.mark.parametrize("role_client", ["auditor_client", "viewer_client"])
def test_auditors_and_viewers_cannot_discard(request, role_client, khr_account):
    client = request.getfixturevalue(role_client)
    batch = import_batch_stage(
        account=khr_account, file_bytes=statement(4), filename="a"
    )
    response = client.post(reverse("statements:import-discard", args=[batch.pk]))
    assert response.status_code == 403
    assert ImportBatch.objects.get().status == "pending"


def test_the_preview_shows_the_description_column(accountant_client, khr_account):
    upload(accountant_client, khr_account, statement(4), "april.csv")
    batch = ImportBatch.objects.get()
    accountant_client.post(
        reverse("statements:import-map", args=[batch.pk]), MAPPING_FORM
    )
    page = body_of(
        accountant_client.get(reverse("statements:import-detail", args=[batch.pk]))
    )
    assert "<th>Description</th>" in page
    assert '<td class="small description">KHQR sale</td>' in page


def test_the_issues_deposit_error_is_shown_with_the_files_header(
    accountant_client, khr_account
):
    # given the Deposit column holding '56,0OO'
    data = csv_bytes(["Date", "Withdrawal", "Deposit"], [["03/04/2026", "", "56,0OO"]])
    upload(accountant_client, khr_account, data, "x.csv")
    batch = ImportBatch.objects.get()
    # when mapped
    accountant_client.post(
        reverse("statements:import-map", args=[batch.pk]),
        {
            "map_posted_at": "Date",
            "map_debit": "Withdrawal",
            "map_credit": "Deposit",
            "opt_date_format": "dmy",
        },
    )
    page = body_of(
        accountant_client.get(reverse("statements:import-detail", args=[batch.pk]))
    )
    # then
    assert (
        "<td>Deposit</td><td class=\"error\">Deposit: '56,0OO' is not an amount</td>"
        in (page)
    )


def test_a_file_its_banks_headers_name_saves_no_mapping(account):
    # given a canonical file, recognised by its own headers, imported with its
    # preset chosen as well
    from tests.statements.ingest_files import canonical

    data = canonical(
        [{"txn_id": "T1", "posted_at": "2026-04-03T09:00:00+07:00", "amount": "1.00",
          "currency": "USD"}]
    )  # fmt: skip
    # when
    result = statement_file_import(
        account=account, file_bytes=data, filename="a.csv", preset="tonle"
    )
    # then nothing needed saving
    assert result.inserted == 1
    assert not ImportMapping.objects.exists()


def test_a_preset_chosen_for_headers_no_bank_is_recognised_by_is_saved(khr_account):
    # given an ACLEDA-like file whose headers lack ACLEDA's own ones
    data = csv_bytes(
        ["Trans. Date", "Reference", "Debit", "Credit"],
        [["03/04/2026 09:21:04", "R1", "", "1,000"]],
    )
    # when imported with the ACLEDA layout chosen
    result = statement_file_import(
        account=khr_account, file_bytes=data, filename="a.csv", preset="acleda"
    )
    # then the choice is kept for the next such file, which needs no choosing
    assert result.inserted == 1
    assert ImportMapping.objects.get().preset == "acleda"
    again = data.replace(b"R1", b"R2")
    assert (
        statement_file_import(
            account=khr_account, file_bytes=again, filename="b.csv"
        ).inserted
        == 1
    )


def test_mapping_money_in_and_out_with_the_amounts_choice_left_alone_is_enough(
    accountant_client, khr_account
):
    # given an unrecognised upload
    upload(accountant_client, khr_account, statement(4), "april.csv")
    batch = ImportBatch.objects.get()
    url = reverse("statements:import-detail", args=[batch.pk])
    assert '<option value="">as the mapped columns say (now: One amount column' in (
        body_of(accountant_client.get(url))
    )
    # when only the columns and the date format are chosen (the Amounts choice
    # posted as it stands)
    form = {**MAPPING_FORM, "opt_amount_mode": ""}
    accountant_client.post(reverse("statements:import-map", args=[batch.pk]), form)
    # then the money-in / money-out pair is read, with no currency column
    page = body_of(accountant_client.get(url))
    assert "All 2 row(s) are valid" in page
    assert "now: Two columns, money out and money in" in page
