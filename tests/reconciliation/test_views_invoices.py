"""The invoices pages: what became of each invoice, one by hand, a file of them;
accountants and owners write, everyone reads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from freezegun import freeze_time

from reconciliation.models import Invoice, Match, MatchItem

HEADER = b"invoice_number,customer,amount,currency,issue_date,due_date\n"


def _invoice(merchant, number, *, due=15, amount="100.00"):
    return Invoice.objects.create(
        merchant=merchant,
        invoice_number=number,
        customer="Sok Dara",
        amount=Decimal(amount),
        currency="USD",
        issue_date=dt.date(2026, 11, 1),
        due_date=dt.date(2026, 11, due),
        source="file",
    )


def _matched(merchant, invoice, status):
    match = Match.objects.create(
        merchant=merchant,
        tier=2,
        rule="reference",
        score=95,
        reason="Reference in the line's text",
        status=status,
        currency="USD",
        day=dt.date(2026, 11, 5),
    )
    MatchItem.objects.create(
        match=match,
        kind="invoice",
        invoice=invoice,
        amount=invoice.amount,
        currency="USD",
    )


@pytest.mark.django_db
@freeze_time("2026-12-01 10:00:00+07:00")
def test_the_list_says_what_became_of_each_invoice(merchant, viewer_client):
    # given one paid, one proposed, one overdue and one still open
    _matched(merchant, _invoice(merchant, "INV-PAID"), "auto")
    _matched(merchant, _invoice(merchant, "INV-PROP"), "proposed")
    _invoice(merchant, "INV-LATE", due=10, amount="40.00")
    _invoice(merchant, "INV-OPEN", due=30, amount="60.00")
    # when
    page = viewer_client.get("/invoices/").content.decode()
    # then
    for number, badge in (
        ("INV-PAID", "Paid"),
        ("INV-PROP", "Proposed match"),
        ("INV-LATE", "Overdue"),
        ("INV-OPEN", "Open"),
    ):
        row = page.split(number, 1)[1].split("</tr>", 1)[0]
        assert badge in row, number
    # the unpaid total counts the proposed, the overdue and the open one
    totals = page.split('id="open-totals"', 1)[1].split("</table>", 1)[0]
    assert "200.00 USD" in totals and "40.00 USD" in totals
    # a viewer reads but cannot write
    assert "Import a file" not in page and "New invoice" not in page


@pytest.mark.django_db
@freeze_time("2026-12-01 10:00:00+07:00")
def test_the_list_filters_by_status(merchant, viewer_client):
    _matched(merchant, _invoice(merchant, "INV-PAID"), "confirmed")
    _invoice(merchant, "INV-LATE", due=10)
    page = viewer_client.get("/invoices/", {"status": "overdue"}).content.decode()
    assert "INV-LATE" in page and "INV-PAID" not in page


@pytest.mark.django_db
def test_an_accountant_imports_a_file_through_the_page(merchant, accountant_client):
    data = HEADER + b"INV-1,Sok Dara,120.50,USD,2026-11-02,2026-11-16\n"
    response = accountant_client.post(
        "/invoices/upload/", {"file": SimpleUploadedFile("inv.csv", data)}
    )
    assert response.status_code == 302
    assert Invoice.objects.get().amount == Decimal("120.50")


@pytest.mark.django_db
def test_a_broken_file_is_refused_naming_each_row_and_writes_nothing(
    merchant, accountant_client
):
    data = HEADER + (
        b"INV-1,Sok Dara,120.50,USD,2026-11-02,2026-11-16\n"
        b"INV-2,Bopha Mart,12.5O,USD,2026-11-02,2026-11-16\n"
    )
    response = accountant_client.post(
        "/invoices/upload/", {"file": SimpleUploadedFile("inv.csv", data)}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "inv.csv was not imported" in page and "12.5O" in page
    assert Invoice.objects.count() == 0


@pytest.mark.django_db
def test_an_invoice_by_hand_and_its_errors(merchant, accountant_client):
    fields = {
        "invoice_number": "INV-9",
        "customer": "Keo Mom",
        "amount": "1000.5",
        "currency": "KHR",
        "issue_date": "2026-11-02",
        "due_date": "2026-11-16",
    }
    refused = accountant_client.post("/invoices/new/", fields)
    assert refused.status_code == 200
    assert "1000.5" in refused.content.decode()  # the error quotes what was typed
    made = accountant_client.post("/invoices/new/", fields | {"amount": "1000"})
    invoice = Invoice.objects.get()
    assert made.url == f"/invoices/{invoice.pk}/"
    assert invoice.source == "page"


@pytest.mark.django_db
def test_viewers_and_auditors_cannot_write(merchant, viewer_client, auditor_client):
    for client in (viewer_client, auditor_client):
        assert client.get("/invoices/new/").status_code == 403
        response = client.post(
            "/invoices/upload/", {"file": SimpleUploadedFile("i.csv", HEADER)}
        )
        assert response.status_code == 403
    assert Invoice.objects.count() == 0


@pytest.mark.django_db
def test_the_detail_page_shows_the_match_that_pays_it(merchant, viewer_client):
    invoice = _invoice(merchant, "INV-7")
    _matched(merchant, invoice, "auto")
    page = viewer_client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert (
        "Reference in the line&#x27;s text" in page or "Reference in the line" in page
    )
    assert "Automatic" in page
