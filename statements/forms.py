"""Forms of the Statements and Packs pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from statements.documents import MAX_PERIOD_DAYS

DATE = forms.DateInput(attrs={"type": "date"})


class _PeriodForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=DATE)
    date_to = forms.DateField(label=_("To"), widget=DATE)

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
