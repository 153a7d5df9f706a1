"""Forms of the invoices pages: one invoice by hand, a file of them."""

from __future__ import annotations

from django import forms

from core.money import CURRENCY_CHOICES

STATUS_CHOICES = [
    ("", "Any"),
    ("open", "Open"),
    ("overdue", "Overdue"),
    ("proposed", "Proposed match"),
    ("paid", "Paid"),
]


class InvoiceForm(forms.Form):
    invoice_number = forms.CharField(max_length=64)
    customer = forms.CharField(max_length=200)
    amount = forms.CharField(
        max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES)
    issue_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    customer_account = forms.CharField(
        max_length=100, required=False, help_text="The customer's bank account"
    )
    reference = forms.CharField(
        max_length=200,
        required=False,
        help_text="The payment reference the customer was given, if any",
    )


class InvoiceUploadForm(forms.Form):
    file = forms.FileField(
        help_text="CSV or XLSX: invoice_number, customer, amount, currency, "
        "issue_date, due_date, and optionally customer_account, reference"
    )


class InvoiceFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    currency = forms.ChoiceField(
        choices=[("", "Any"), *CURRENCY_CHOICES], required=False
    )
    due_from = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    due_to = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
