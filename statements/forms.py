"""Forms of the Statements and Packs pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.dates import DayField
from statements.documents import MAX_PERIOD_DAYS


class _PeriodForm(forms.Form):
    date_from = DayField(label=_("From"))
    date_to = DayField(label=_("To"))

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", _("The period ends before it starts."))
            elif (end - start).days > MAX_PERIOD_DAYS:
                self.add_error("date_to", _("A period covers at most three years."))
        return data


class StatementPeriodForm(_PeriodForm):
    accounts = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every account."),
    )

    def __init__(self, *args, accounts, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["accounts"].queryset = accounts
        self.fields["accounts"].label_from_instance = lambda a: a.label


class PackRequestForm(_PeriodForm):
    pass
