"""The statements pages in Khmer once a person chooses it, in English before."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from statements.models import ImportBatch
from tests.core.khmer import in_khmer, khmer
from tests.factories import TransactionFactory
from tests.statements.ingest_files import canonical

pytestmark = pytest.mark.django_db


def _body(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_the_transactions_page_answers_in_khmer(owner_client, account):
    TransactionFactory(account=account, counterparty_name="Sokha")
    assert "Transactions" in _body(owner_client.get(reverse("statements:transactions")))
    in_khmer(owner_client)
    body = _body(owner_client.get(reverse("statements:transactions")))
    assert khmer("Transactions") in body
    assert khmer("Balance after") in body
    assert "Sokha" in body  # the data stays as it is


def test_the_statements_page_answers_in_khmer(owner_client, account):
    TransactionFactory(account=account)
    url = reverse("statements:statements") + "?date_from=2026-11-01&date_to=2026-11-30"
    assert "Opening balance" in _body(owner_client.get(url))
    in_khmer(owner_client)
    body = _body(owner_client.get(url))
    assert khmer("Statements") in body and khmer("Money in") in body
    assert "Opening balance" not in body
    # the balance warning (no lines before the 15th) in Khmer, its days as written
    no_data = khmer(
        "No data before %(first)s: this account's lines start on %(first2)s, so "
        "nothing is known before %(start)s and the opening balance is taken as "
        "zero. Import earlier statements for a true opening."
    ) % {"first": "2026-11-15", "first2": "2026-11-15", "start": "2026-11-01"}
    assert no_data in body


def test_an_import_and_its_row_errors_answer_in_khmer(accountant_client, account):
    rows = [
        {"txn_id": "T1", "posted_at": "2026-04-01T09:00:00+07:00", "amount": "12,x",
         "currency": "USD"},
    ]  # fmt: skip
    in_khmer(accountant_client)
    accountant_client.post(
        reverse("statements:import-upload"),
        {
            "account": account.pk,
            "preset": "",
            "file": SimpleUploadedFile("april.csv", canonical(rows), "text/csv"),
        },
    )
    batch = ImportBatch.objects.get()
    body = _body(
        accountant_client.get(reverse("statements:import-detail", args=[batch.pk]))
    )
    # the sentence is Khmer, the cell is quoted exactly as the file has it
    sentence = khmer("%(cell)s is not an amount") % {"cell": "'12,x'"}
    assert sentence.replace("'", "&#x27;") in body
    # and how the file was read, with its own headers as written
    recognised = khmer("Recognised as %(name)s by its headers %(headers)s")
    assert recognised.split("%(name)s")[0] in body and "&#x27;txn_id&#x27;" in body
