"""Forms of the reconciliation pages: filters (queue, exceptions, manual search),
decisions (a difference's kind and note, a resolution), periods and tolerances."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.dates import DayField
from core.money import CURRENCY_CHOICES
from reconciliation.models import (
    DifferenceKind,
    ExceptionReason,
    ExceptionStatus,
    MatchStatus,
    Resolution,
)
from reconciliation.selectors import AGING_BUCKETS, ExceptionFilter, QueueFilter
from reconciliation.services.runs import MAX_PERIOD_DAYS

ANY = [("", _("Any"))]
KIND_CHOICES = [
    ("", "—"),
    (DifferenceKind.FEE, _("Bank fee")),
    (DifferenceKind.WRITE_OFF, _("Write-off")),
    (DifferenceKind.FX, _("Exchange difference")),
]
RESOLUTION_CHOICES = [
    (Resolution.MATCHED, _("Matched by hand")),
    (Resolution.WRITTEN_OFF, _("Written off")),
    (Resolution.IGNORED, _("Ignored")),
]
TIER_CHOICES = [
    ("", _("Any")),
    *[(str(t), format_lazy(_("Tier {tier}"), tier=t)) for t in range(0, 7)],
]


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=MatchStatus.choices, initial=MatchStatus.PROPOSED, required=False
    )
    tier = forms.TypedChoiceField(
        choices=TIER_CHOICES, coerce=int, empty_value=None, required=False
    )
    rule = forms.CharField(max_length=48, required=False)
    min_score = forms.IntegerField(min_value=0, max_value=100, required=False)
    day_from = DayField(label=_("From"), required=False)
    day_to = DayField(label=_("To"), required=False)
    currency = forms.ChoiceField(choices=ANY + CURRENCY_CHOICES, required=False)

    def __init__(self, data=None, *args, **kwargs):
        # the queue opens on the proposals, and its status select must say so
        if data is not None and not data.get("status"):
            data = data.copy()
            data["status"] = MatchStatus.PROPOSED
        super().__init__(data, *args, **kwargs)

    def queue_filter(self) -> QueueFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return QueueFilter(
            status=data.get("status") or MatchStatus.PROPOSED,
            tier=data.get("tier"),
            rule=data.get("rule", ""),
            min_score=data.get("min_score"),
            day_from=data.get("day_from"),
            day_to=data.get("day_to"),
            currency=data.get("currency", ""),
        )


class DecisionForm(forms.Form):
    difference_kind = forms.ChoiceField(choices=KIND_CHOICES, required=False)
    note = forms.CharField(max_length=2000, required=False)


class BulkDecisionForm(DecisionForm):
    action = forms.ChoiceField(
        choices=[("confirm", _("Confirm")), ("reject", _("Reject"))]
    )
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    all = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # any id: the service checks each one against the merchant
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()


class ExceptionFilterForm(forms.Form):
    reason = forms.ChoiceField(choices=ANY + ExceptionReason.choices, required=False)
    status = forms.ChoiceField(
        choices=[("", _("Any")), *ExceptionStatus.choices], required=False
    )
    age = forms.ChoiceField(
        choices=ANY + [(key, label) for key, label, _a, _b in AGING_BUCKETS],
        required=False,
    )
    currency = forms.ChoiceField(choices=ANY + CURRENCY_CHOICES, required=False)
    day_from = DayField(label=_("From"), required=False)
    day_to = DayField(label=_("To"), required=False)

    def exception_filter(self) -> ExceptionFilter:
        data = self.cleaned_data if self.is_valid() else {}
        status = data.get("status") if "status" in self.data else "open"
        return ExceptionFilter(
            reason=data.get("reason", ""),
            status=status or "",
            age=data.get("age", ""),
            currency=data.get("currency", ""),
            day_from=data.get("day_from"),
            day_to=data.get("day_to"),
        )


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(choices=RESOLUTION_CHOICES)
    note = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), required=True
    )


class BulkResolveForm(ResolveForm):
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    all = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()


class ManualSearchForm(forms.Form):
    q = forms.CharField(label=_("Reference"), max_length=100, required=False)
    customer = forms.CharField(
        label=_("Customer / payer"), max_length=100, required=False
    )
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=18, decimal_places=2, min_value=0, required=False
    )
    currency = forms.ChoiceField(choices=ANY + CURRENCY_CHOICES, required=False)
    date_from = DayField(label=_("From"), required=False)
    date_to = DayField(label=_("To"), required=False)


class ManualMatchForm(DecisionForm):
    expected = forms.MultipleChoiceField(required=False)
    posted = forms.MultipleChoiceField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("expected", "posted"):
            self.fields[name].valid_value = lambda value: ":" in str(value)

    def refs(self, name: str) -> list[tuple[str, str]]:
        return [tuple(v.split(":", 1)) for v in self.cleaned_data.get(name, [])]


class PeriodForm(forms.Form):
    date_from = DayField(label=_("From"))
    date_to = DayField(label=_("To"))

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", _("The period ends before it starts."))
            elif (end - start).days > MAX_PERIOD_DAYS:
                self.add_error(
                    "date_to",
                    format_lazy(
                        _("A period covers at most {days} days."), days=MAX_PERIOD_DAYS
                    ),
                )
        return data


class RunForm(PeriodForm):
    dry_run = forms.BooleanField(
        required=False,
        label=_("Dry run (count only, save no matches)"),
    )


class TolerancesForm(forms.Form):
    fee_percent = forms.DecimalField(
        label=_("Bank fee, % of the amount"), max_digits=5, decimal_places=2
    )
    fee_floor_usd = forms.DecimalField(
        label=_("… or at least (USD)"), max_digits=10, decimal_places=2
    )
    fee_floor_khr = forms.DecimalField(
        label=_("… or at least (KHR)"), max_digits=12, decimal_places=0
    )
    fee_floor_thb = forms.DecimalField(
        label=_("… or at least (THB)"), max_digits=10, decimal_places=2
    )
    fx_percent = forms.DecimalField(
        label=_("Exchange difference, %"), max_digits=5, decimal_places=2
    )
    days_after_due = forms.IntegerField(
        label=_("Days an invoice may be paid after its due date"), min_value=0
    )
    khqr_days_after_expiry = forms.IntegerField(
        label=_("Days a KHQR payment may land after the code expired"), min_value=0
    )
    date_from = DayField(label=_("Compare from"), required=False)
    date_to = DayField(label=_("to"), required=False)


class SignOffForm(forms.Form):
    month = forms.CharField(max_length=7)
    note = forms.CharField(max_length=2000, required=False)
    carry_forward = forms.BooleanField(
        required=False, label=_("Carry the open exceptions forward")
    )


class ReopenForm(forms.Form):
    month = forms.CharField(max_length=7)
    reason = forms.CharField(max_length=2000)


def months_back(today: dt.date, count: int) -> list[dt.date]:
    """The first days of this month and the `count - 1` months before it."""
    out = []
    month = today.replace(day=1)
    for _step in range(count):
        out.append(month)
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return out
