"""The payments list exports its current filter (CSV, Excel CSV, XLSX), and a
filter it cannot understand shows its error with no payments and no export."""

from __future__ import annotations

import csv
import html
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from merchants.models import AuditEvent
from tests.payments.makers import payment_request_make

pytestmark = pytest.mark.django_db

URL = reverse("payments:list")


@pytest.fixture(autouse=True)
def _no_bakong(settings):
    settings.BAKONG_BASE_URL = "http://127.0.0.1:9"


@pytest.fixture
def payments(merchant, other_merchant):
    paid = payment_request_make(merchant=merchant, amount="10.00", order_id="PAID-1")
    paid.status, paid.paid_amount, paid.paid_currency = "paid", Decimal("10"), "USD"
    paid.paid_at = timezone.now()
    paid.save()
    payment_request_make(
        merchant=merchant, amount="40000", currency="KHR", order_id="=HYPERLINK(1)"
    )
    payment_request_make(merchant=merchant, amount="3.00", order_id="OPEN-1")
    payment_request_make(merchant=other_merchant, amount="10.00", order_id="THEIRS")


def rows_of(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    "bad, shown",
    [
        ({"amount_min": "abc"}, "Amount ≥: 'abc' — is not an amount"),
        ({"amount_max": "1.005"}, "Amount ≤: '1.005' — is not an amount"),
        ({"amount_min": "9" * 40}, "is not an amount"),
        (
            {"date_from": "31/02/2026"},
            "From: '31/02/2026' — Enter a valid date (dd/mm/yyyy).",
        ),
    ],
)
def test_a_filter_that_cannot_be_understood_shows_its_error_and_no_payments(
    accountant_client, payments, bad, shown
):
    # when
    response = accountant_client.get(URL, bad)
    # then
    body = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert shown in body
    assert "PAID-1" not in body and "OPEN-1" not in body
    assert 'id="payment-export"' not in body


def test_the_export_of_a_filter_that_cannot_be_understood_is_refused(
    accountant_client, payments
):
    response = accountant_client.get(
        reverse("payments:export-csv"), {"amount_min": "abc"}
    )
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="payments.exported").exists()


def test_the_csv_export_has_the_current_filter_and_is_audited(
    accountant_client, payments, merchant
):
    # given the page filtered to USD amounts of 5 or more
    page = accountant_client.get(URL, {"amount_min": "5", "currency": "USD"})
    link = html.unescape(page.content.decode())
    assert "/payments/export.csv?amount_min=5" in link
    # when
    response = accountant_client.get(
        reverse("payments:export-csv"), {"amount_min": "5"}
    )
    # then
    rows = rows_of(response)
    assert [r["order_id"] for r in rows] == ["'=HYPERLINK(1)", "PAID-1"]
    paid = rows[1]
    assert (paid["amount"], paid["currency"], paid["status"]) == (
        "10.00",
        "USD",
        "paid",
    )
    assert paid["paid_at"].endswith("+07:00")
    assert rows[0]["amount"] == "40000"
    event = AuditEvent.objects.get(action="payments.exported")
    assert event.merchant == merchant and event.details["format"] == "csv"


def test_the_excel_csv_export_has_a_bom_and_crlf(accountant_client, payments):
    response = accountant_client.get(reverse("payments:export-excel-csv"))
    data = b"".join(response.streaming_content)
    assert data.startswith(b"\xef\xbb\xbfcreated_at,order_id,")
    assert data.count(b"\r\n") == 4  # the header and three payments
    assert b"THEIRS" not in data


def test_the_xlsx_export_has_human_headers_formats_and_a_frozen_header(
    auditor_client, payments
):
    # when
    response = auditor_client.get(reverse("payments:export-xlsx"), {"status": "paid"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))[
        "Payments"
    ]
    # then
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Created (local time)", "Order id", "Bill number"]
    assert sheet.freeze_panes == "A2"
    (row,) = list(sheet.iter_rows(min_row=2))
    amount = row[header.index("Amount")]
    assert amount.value == 10 and amount.number_format == "#,##0.00"
    assert row[header.index("Paid (local time)")].is_date


def test_viewers_cannot_export_payments(viewer_client, payments):
    for name in ("export-csv", "export-excel-csv", "export-xlsx"):
        assert viewer_client.get(reverse(f"payments:{name}")).status_code == 403
    body = viewer_client.get(URL).content.decode()
    assert 'id="payment-export"' not in body
