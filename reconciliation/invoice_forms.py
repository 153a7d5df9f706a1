"""Forms of the invoices pages: one invoice by hand, a file of them."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.dates import DayField
from core.money import CURRENCY_CHOICES

STATUS_CHOICES = [
    ("", _("Any")),
    ("open", _("Open")),
    ("overdue", _("Overdue")),
    ("proposed", _("Proposed match")),
    ("paid", _("Paid")),
]


class InvoiceForm(forms.Form):
    invoice_number = forms.CharField(label=_("Invoice number"), max_length=64)
    customer = forms.CharField(label=_("Customer"), max_length=200)
    amount = forms.CharField(
        label=_("Amount"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)
    issue_date = DayField(label=_("Issue date"))
    due_date = DayField(label=_("Due date"))
    customer_account = forms.CharField(
        label=_("Customer account"),
        max_length=100,
        required=False,
        help_text=_("The customer's bank account"),
    )
    reference = forms.CharField(
        label=_("Reference"),
        max_length=200,
        required=False,
        help_text=_("The payment reference the customer was given, if any"),
    )


class InvoiceUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV or XLSX: invoice_number, customer, amount, currency, "
            "issue_date, due_date, and optionally customer_account, reference"
        ),
    )


class InvoiceFilterForm(forms.Form):
    q = forms.CharField(required=False, label=_("Search"))
    status = forms.ChoiceField(
        label=_("Status"), choices=STATUS_CHOICES, required=False
    )
    currency = forms.ChoiceField(
        choices=[("", _("Any")), *CURRENCY_CHOICES], required=False
    )
    due_from = DayField(required=False)
    due_to = DayField(required=False)
