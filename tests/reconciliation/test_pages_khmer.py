"""The reconciliation and invoice pages in Khmer once a person chooses it."""

from __future__ import annotations

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from reconciliation.models import Invoice, Match, ReconciliationException
from reconciliation.reason_words import reason_words
from reconciliation.services.invoices import invoice_create
from tests.core.khmer import in_khmer, khmer
from tests.factories import TransactionFactory
from tests.reconciliation.review_makers import month_with_proposals, run

pytestmark = pytest.mark.django_db


def _body(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def reconciled(merchant, account):
    invoices, lines = month_with_proposals(merchant, account)
    run(merchant)
    return invoices, lines


def test_the_review_queue_answers_in_khmer(owner_client, reconciled):
    url = reverse("reconciliation:queue")
    assert "Review queue" in _body(owner_client.get(url))
    in_khmer(owner_client)
    body = _body(owner_client.get(url))
    assert khmer("Review queue") in body
    assert khmer("Difference") in body
    # the count names the status in words, not its code
    count = re.search(r'id="queue-count">(.*?)<', body, re.S)[1]
    assert khmer("Proposed") in count and "proposed" not in count
    # the script's words come translated from the page
    assert f'data-nothing-to-undo="{khmer("Nothing to undo.")}"' in body


def test_the_exceptions_page_answers_in_khmer(owner_client, reconciled):
    url = reverse("reconciliation:exceptions") + "?status="
    in_khmer(owner_client)
    body = _body(owner_client.get(url))
    assert khmer("Unmatched line") in body  # an exception reason's label


def test_the_exceptions_count_names_its_status_in_words(owner_client, reconciled):
    url = reverse("reconciliation:exceptions")  # the open ones, unless asked
    count = re.search(r'id="exception-totals">(.*?)<', _body(owner_client.get(url)))[1]
    assert re.match(r"\d+ exceptions open ", count)
    in_khmer(owner_client)
    count = re.search(r'id="exception-totals">(.*?)<', _body(owner_client.get(url)))[1]
    assert khmer("Open") in count and "open" not in count
    # any status: no status word at all
    count = re.search(
        r'id="exception-totals">(.*?)<', _body(owner_client.get(url + "?status="))
    )[1]
    assert khmer("Open") not in count


def test_the_evidence_page_answers_in_khmer(owner_client, account):
    line = TransactionFactory(account=account)
    url = reverse("reconciliation:evidence", args=["line", line.pk])
    in_khmer(owner_client)
    body = _body(owner_client.get(url))
    assert khmer("Evidence chain") in body
    assert khmer("Ledger line", context="chain heading") in body


def test_the_invoices_list_answers_in_khmer(owner_client, reconciled):
    assert "Invoices" in _body(owner_client.get(reverse("invoices:list")))
    in_khmer(owner_client)
    body = _body(owner_client.get(reverse("invoices:list")))
    assert khmer("Invoices") in body and khmer("Due") in body


def test_the_engines_reasons_are_worded_in_khmer_with_their_values_intact(
    owner_client, merchant, reconciled
):
    matches = list(Match.objects.filter(merchant=merchant))
    exceptions = list(ReconciliationException.objects.filter(merchant=merchant))
    assert matches and exceptions
    with translation.override("km"):
        for sentence in [m.reason for m in matches] + [e.detail for e in exceptions]:
            worded = reason_words(sentence)
            assert worded != sentence, sentence  # every shape the run wrote
            for value in re.findall(r"[A-Z]+-[\w-]+|\d[\d,]*\.\d\d", sentence):
                assert value in worded, (value, worded)
    # the match page shows it so, and English stays as the engine wrote it
    match = matches[0]
    url = reverse("reconciliation:match-detail", args=[match.pk])
    assert html.escape(match.reason) in _body(owner_client.get(url))
    in_khmer(owner_client)
    with translation.override("km"):
        worded = reason_words(match.reason)
    assert html.escape(worded) in _body(owner_client.get(url))


def _refused_rows(body: str) -> list[list[str]]:
    table = re.search(r'<table class="table" id="row-errors">(.*?)</table>', body, re.S)
    rows = re.findall(
        r"<tr><td[^>]*>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table[1]
    )
    return [[html.unescape(cell) for cell in row] for row in rows]


def test_a_refused_invoice_file_words_each_row_in_khmer(accountant_client, merchant):
    invoice_create(
        merchant=merchant,
        fields={
            "invoice_number": "INV-9",
            "customer": "Sok Dara",
            "amount": "5.00",
            "currency": "USD",
            "issue_date": "2026-11-02",
            "due_date": "2026-11-16",
        },
    )
    data = (
        b"invoice_number,customer,amount,currency,issue_date,due_date\n"
        b"INV-1,Sok Dara,12.5O,USD,2026-11-02,2026-11-16\n"
        b"INV-2,Bopha Mart,10.00,USDX,2026-11-02,2026-11-16\n"
        b"INV-3,Bopha Mart,10.00,USD,2026-11-20,2026-11-16\n"
        b"INV-4,,10.00,USD,2026-11-02,2026-11-16\n"
        b"INV-5,Bopha Mart,10.00,USD,2026-11-02,2026-11-16\n"
        b"INV-5,Bopha Mart,11.00,USD,2026-11-02,2026-11-16\n"
        b"INV-9,Bopha Mart,7.00,USD,2026-11-02,2026-11-16\n"
        b"INV-7,Bopha Mart,-3,USD,2026-11-02,2026-11-16\n"
    )
    in_khmer(accountant_client)
    response = accountant_client.post(
        reverse("invoices:upload"), {"file": SimpleUploadedFile("inv.csv", data)}
    )
    assert response.status_code == 400
    rows = _refused_rows(response.content.decode())
    words = {int(row): (column, problem) for row, column, problem in rows}
    # the row numbers and the columns as the file has them, the quoted cell as typed
    assert words[2] == (
        "amount",
        khmer("%(cell)s is not a plain decimal amount (digits and one '.').")
        % {"cell": "'12.5O'"},
    )
    assert words[3] == (
        "currency",
        khmer("%(cell)s is not KHR, USD or THB.") % {"cell": "'USDX'"},
    )
    assert words[4][1] == khmer(
        "The due date %(due)s is before the issue date %(issue)s."
    ) % {"due": "2026-11-16", "issue": "2026-11-20"}
    assert words[5] == ("customer", khmer("This column is required."))
    assert words[7][1] == khmer(
        "Invoice %(number)s is also on row %(row)s with other fields."
    ) % {"number": "INV-5", "row": 6}
    assert words[8][1] == khmer(
        "Invoice %(number)s already exists with other %(columns)s."
    ) % {"number": "INV-9", "columns": "customer, amount"}
    assert words[9][1] == khmer("%(cell)s must be more than zero.") % {"cell": "'-3'"}
    assert Invoice.objects.filter(merchant=merchant).count() == 1


def test_an_invoice_file_without_its_columns_is_refused_in_khmer(
    accountant_client, merchant
):
    in_khmer(accountant_client)
    data = b"invoice_number,customer,amount\nINV-1,Sok Dara,12.50\n"
    response = accountant_client.post(
        reverse("invoices:upload"),
        {"file": SimpleUploadedFile("inv.csv", data)},
        follow=True,
    )
    body = html.unescape(response.content.decode())
    shape = khmer(
        "Required column(s) missing: %(missing)s (the invoice CSV is %(required)s, "
        "and optionally %(optional)s)."
    )
    assert shape.split("%(missing)s")[0] in body
    assert "currency, issue_date, due_date" in body
    assert "Required column" not in body


def test_a_candidate_whose_record_is_gone_is_named_in_words(
    owner_client, merchant, reconciled
):
    from reconciliation.templatetags.reason_words import gone_words

    with translation.override("km"):
        assert gone_words("inv:12") == khmer("Invoice #%(pk)s, no longer here") % {
            "pk": 12
        }
        assert gone_words("zz:1") == khmer("a record no longer here")
    # an exception whose nearest candidate was deleted since the run
    exception = ReconciliationException.objects.filter(merchant=merchant).first()
    exception.nearest = [["inv:999999", "reference not found in the line"]]
    exception.save(update_fields=["nearest"])
    in_khmer(owner_client)
    url = reverse("reconciliation:exceptions") + "?status="
    body = html.unescape(_body(owner_client.get(url)))
    assert "inv:999999" not in body
    assert khmer("Invoice #%(pk)s, no longer here") % {"pk": 999999} in body
    detail = reverse("reconciliation:exception-detail", args=[exception.pk])
    body = html.unescape(_body(owner_client.get(detail)))
    assert "inv:999999" not in body
