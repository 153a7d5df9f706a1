"""Invoices in: one at a time (idempotent on the number) or a file, all or none."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from core.exceptions import Conflict, InvalidInput
from merchants.models import AuditEvent
from reconciliation.models import Invoice
from reconciliation.services.invoices import invoice_create, invoices_import

HEADER = "invoice_number,customer,amount,currency,issue_date,due_date"


def _fields(**overrides):
    return {
        "invoice_number": "INV-0042",
        "customer": "Sok Dara Trading",
        "amount": "120.50",
        "currency": "USD",
        "issue_date": "2026-11-02",
        "due_date": "2026-11-16",
    } | overrides


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_invoice_create_keeps_the_amount_exactly(merchant):
    invoice, replay = invoice_create(merchant=merchant, fields=_fields())
    assert replay is False
    invoice.refresh_from_db()
    assert invoice.amount == Decimal("120.50")
    assert invoice.due_date == dt.date(2026, 11, 16)
    assert AuditEvent.objects.filter(action="invoice.created").count() == 1


def test_the_same_invoice_again_is_a_replay_that_changes_nothing(merchant):
    first, _ = invoice_create(merchant=merchant, fields=_fields())
    again, replay = invoice_create(merchant=merchant, fields=_fields())
    assert (again.pk, replay) == (first.pk, True)
    assert Invoice.objects.count() == 1


def test_the_same_number_with_another_amount_is_a_conflict_naming_it(merchant):
    invoice_create(merchant=merchant, fields=_fields())
    with pytest.raises(Conflict, match="INV-0042 already exists with other amount"):
        invoice_create(merchant=merchant, fields=_fields(amount="99.00"))


def test_two_merchants_may_use_the_same_number(merchant, other_merchant):
    invoice_create(merchant=merchant, fields=_fields())
    _, replay = invoice_create(merchant=other_merchant, fields=_fields(amount="5"))
    assert replay is False
    assert Invoice.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "12.345"}, "amount: '12.345'"),
        ({"amount": "1,500", "currency": "KHR"}, None),
        ({"amount": "1500.50", "currency": "KHR"}, "amount: '1500.50'"),
        ({"amount": "-5"}, "must be positive"),
        ({"currency": "EUR"}, "currency: 'EUR' is not KHR, USD or THB"),
        ({"due_date": "2026-10-01"}, "due_date: 2026-10-01 is before the issue date"),
        ({"issue_date": "03/11/2026"}, "issue_date: '03/11/2026' is not a date"),
        ({"customer": " "}, "customer: is required"),
        ({"invoice_number": "X" * 65}, "invoice_number: at most 64 characters"),
    ],
)
def test_invoice_create_refuses_bad_fields_naming_them(merchant, overrides, message):
    if message is None:  # a thousands separator is read, riel stay whole
        invoice, _ = invoice_create(merchant=merchant, fields=_fields(**overrides))
        assert invoice.amount == Decimal("1500")
        return
    with pytest.raises(InvalidInput, match=message):
        invoice_create(merchant=merchant, fields=_fields(**overrides))
    assert Invoice.objects.count() == 0


def test_a_float_amount_is_refused_as_money_must_be_text(merchant):
    with pytest.raises(InvalidInput, match="amount: 12.5 is not an amount"):
        invoice_create(merchant=merchant, fields=_fields(amount=12.5))


def test_invoices_import_reads_the_invoice_csv_with_its_optional_columns(merchant):
    data = _csv(
        "INV-1,Sok Dara,100.00,USD,2026-11-01,2026-11-15,001-222,PO 55",
        "INV-2,Bopha Mart,48000,KHR,2026-11-03,2026-11-30,,",
        header=HEADER + ",customer_account,reference",
    )
    result = invoices_import(merchant=merchant, file_bytes=data, filename="inv.csv")
    assert result.as_dict() == {"inserted": 2, "skipped": 0, "errors": []}
    first = Invoice.objects.get(invoice_number="INV-1")
    assert (first.customer_account, first.reference) == ("001-222", "PO 55")
    assert first.source == Invoice.Source.FILE


def test_importing_the_same_file_twice_skips_every_row(merchant):
    data = _csv("INV-1,Sok Dara,100.00,USD,2026-11-01,2026-11-15")
    invoices_import(merchant=merchant, file_bytes=data)
    again = invoices_import(merchant=merchant, file_bytes=data)
    assert again.as_dict() == {"inserted": 0, "skipped": 1, "errors": []}


def test_a_broken_file_writes_nothing_and_names_every_bad_row(merchant):
    data = _csv(
        "INV-1,Sok Dara,100.00,USD,2026-11-01,2026-11-15",
        "INV-2,Bopha Mart,12.5O,USD,2026-11-01,2026-11-15",
        "INV-3,Keo Mom,10.00,USD,2026-11-20,2026-11-15",
        "INV-1,Sok Dara,999.00,USD,2026-11-01,2026-11-15",
    )
    result = invoices_import(merchant=merchant, file_bytes=data)
    assert result.inserted == 0
    assert [(e["row"], e["field"]) for e in result.errors] == [
        (3, "amount"),
        (4, "due_date"),
        (5, "invoice_number"),
    ]
    assert "'12.5O'" in result.errors[0]["message"]
    assert "row 2" in result.errors[2]["message"]
    assert Invoice.objects.count() == 0


def test_a_row_conflicting_with_a_stored_invoice_refuses_the_file(merchant):
    invoice_create(merchant=merchant, fields=_fields(invoice_number="INV-1"))
    data = _csv(
        "INV-9,Keo Mom,10.00,USD,2026-11-01,2026-11-15",
        "INV-1,Sok Dara,1.00,USD,2026-11-02,2026-11-16",
    )
    result = invoices_import(merchant=merchant, file_bytes=data)
    assert result.errors[0]["row"] == 3
    assert "already exists with other customer, amount" in result.errors[0]["message"]
    assert not Invoice.objects.filter(invoice_number="INV-9").exists()


def test_a_file_without_a_required_column_is_refused_naming_it(merchant):
    data = _csv(
        "INV-1,Sok Dara,100.00,2026-11-01",
        header="invoice_number,customer,amount,issue_date",
    )
    with pytest.raises(InvalidInput, match="missing: currency, due_date"):
        invoices_import(merchant=merchant, file_bytes=data)


def test_invoices_import_reads_xlsx_with_real_dates_and_numbers(merchant):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(
        [
            "INV-7",
            "Lim Heng",
            Decimal("250.75"),
            "USD",
            dt.date(2026, 11, 4),
            dt.datetime(2026, 11, 18),
        ]
    )
    sheet.append(
        [
            1042,
            "Chan Sophea",
            100000,
            "KHR",
            dt.date(2026, 11, 5),
            dt.date(2026, 11, 19),
        ]
    )
    out = io.BytesIO()
    book.save(out)
    result = invoices_import(
        merchant=merchant, file_bytes=out.getvalue(), filename="invoices.xlsx"
    )
    assert result.as_dict() == {"inserted": 2, "skipped": 0, "errors": []}
    assert Invoice.objects.get(invoice_number="INV-7").amount == Decimal("250.75")
    assert Invoice.objects.get(invoice_number="1042").amount == Decimal("100000")
