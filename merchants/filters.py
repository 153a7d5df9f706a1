"""The audit log's filters (django-filter): who, what, and which local days."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from core.dates import DayFilter
from core.periods import PHNOM_PENH, period_bounds
from merchants.audit_actions import action_choices
from merchants.models import AuditEvent


class AuditFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end is before the start."))
        return data


class AuditEventFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(
        field_name="actor_label",
        lookup_expr="icontains",
        label=_("Who"),
        widget=forms.TextInput(
            attrs={"list": "audit-actors", "placeholder": _("user, bakong, api_key…")}
        ),
    )
    action = django_filters.ChoiceFilter(
        choices=action_choices, label=_("What"), empty_label=_("Any action")
    )
    date_from = DayFilter(method="created_from", label=_("From"))
    date_to = DayFilter(method="created_to", label=_("To"))

    class Meta:
        model = AuditEvent
        fields = ["actor", "action"]
        form = AuditFilterForm

    def created_from(self, queryset: QuerySet, name: str, value: dt.date):
        start, _ = period_bounds(value, value, PHNOM_PENH)
        return queryset.filter(created_at__gte=start)

    def created_to(self, queryset: QuerySet, name: str, value: dt.date):
        _, end = period_bounds(value, value, PHNOM_PENH)
        return queryset.filter(created_at__lt=end)
