"""Every day box on the statements, reconciliation and invoices pages is a text box
read day first (03/04/2026 is 3 April) that still takes the ISO days links carry."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from reconciliation import forms as recon_forms
from reconciliation import invoice_forms
from statements import forms as statement_forms
from statements.filters import TransactionFilter

DAY_NAMES = {"date_from", "date_to", "day_from", "day_to", "due_from", "due_to",
             "issue_date", "due_date"}  # fmt: skip
PAGES = [
    ("statements:transactions", {"date_from": "03/04/2026", "date_to": "03/04/2026"}),
    ("statements:statements", {"date_from": "03/04/2026", "date_to": "03/04/2026"}),
    ("statements:packs", {}),
    ("reconciliation:queue", {"day_from": "03/04/2026", "day_to": "03/04/2026"}),
    ("reconciliation:exceptions", {"day_from": "03/04/2026", "day_to": "03/04/2026"}),
    ("reconciliation:manual", {"date_from": "03/04/2026", "date_to": "03/04/2026"}),
    ("reconciliation:runs", {}),
    ("reconciliation:tolerances", {}),
    ("reconciliation:report", {}),
    ("invoices:list", {"due_from": "03/04/2026", "due_to": "03/04/2026"}),
    ("invoices:new", {}),
]
FORMS = [
    (statement_forms.StatementPeriodForm, {"accounts": None}),
    (statement_forms.PackRequestForm, {}),
    (recon_forms.QueueFilterForm, {}),
    (recon_forms.ExceptionFilterForm, {}),
    (recon_forms.ManualSearchForm, {}),
    (recon_forms.PeriodForm, {}),
    (recon_forms.RunForm, {}),
    (recon_forms.TolerancesForm, {}),
    (invoice_forms.InvoiceForm, {}),
    (invoice_forms.InvoiceFilterForm, {}),
]


def _name(tag: str) -> str:
    found = re.search(r'name="([a-z_]+)"', tag)
    return found.group(1) if found else ""


def _day_inputs(body: str) -> list[str]:
    return [t for t in re.findall(r"<input[^>]*>", body) if _name(t) in DAY_NAMES]


@pytest.mark.django_db
@pytest.mark.parametrize("name, query", PAGES, ids=[name for name, _ in PAGES])
def test_each_pages_day_boxes_are_text_boxes_read_day_first(owner_client, name, query):
    # when
    response = owner_client.get(reverse(name), query)
    # then
    assert response.status_code == 200
    body = response.content.decode()
    inputs = _day_inputs(body)
    assert inputs, "the page has day boxes"
    for tag in inputs:
        assert 'type="text"' in tag and "dd/mm/yyyy" in tag, tag
    typed = [t for t in inputs if _name(t) in query]
    assert len(typed) == len(query)
    for tag in typed:
        assert 'value="03/04/2026"' in tag, tag
    # the typed day was understood: no error beside it
    assert "Enter a valid date" not in body and "is not a date" not in body


@pytest.mark.parametrize("form_class, extra", FORMS, ids=[f.__name__ for f, _ in FORMS])
@pytest.mark.parametrize("typed", ["03/04/2026", "2026-04-03"])
def test_each_forms_day_fields_read_03_04_2026_as_the_3rd_of_april(
    form_class, extra, typed
):
    fields = form_class.base_fields
    days = [key for key in fields if key in DAY_NAMES]
    assert days
    for key in days:
        assert fields[key].clean(typed) == dt.date(2026, 4, 3)
        assert 'type="text"' in fields[key].widget.render(key, None)


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["03/04/2026", "2026-04-03"])
def test_the_transactions_filter_reads_a_day_first_day(merchant, typed):
    # when
    flt = TransactionFilter({"date_from": typed}, merchant=merchant)
    # then
    assert flt.form.is_valid()
    assert flt.form.cleaned_data["date_from"] == dt.date(2026, 4, 3)
