"""Days typed on pages: day/month/year (31/12/2026) in every language, or ISO
(2026-12-31) as links and exports carry them. Never month first: 03/04/2026 is the
3rd of April. A plain text box, not the browser's date picker, whose order follows
the browser's own locale (mm/dd/yyyy on most)."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

DAY_INPUT_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]
DAY_DISPLAY_FORMAT = "%d/%m/%Y"


class DayInput(forms.DateInput):
    input_type = "text"

    def __init__(self, attrs: dict | None = None) -> None:
        defaults = {
            "placeholder": _("dd/mm/yyyy"),
            "inputmode": "numeric",
            "autocomplete": "off",
            "size": 10,
            "data-day-input": "",
        }
        super().__init__(attrs={**defaults, **(attrs or {})}, format=DAY_DISPLAY_FORMAT)


class DayField(forms.DateField):
    widget = DayInput
    input_formats = DAY_INPUT_FORMATS
    default_error_messages = {
        "invalid": _("Enter a valid date (dd/mm/yyyy)."),
    }


class DayFilter(django_filters.DateFilter):
    """A django-filter date filter reading days as DayField does."""

    field_class = DayField
