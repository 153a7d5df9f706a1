"""Pages around the daily work: runs (history, start one, dry-run a tolerance
change before saving it), months (sign-off, the owner's reopening), the
reconciliation report and the reconciliation log."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.downloads import download_headers_set
from core.error_words import error_words
from core.exceptions import InvalidInput, TonleError
from merchants.audit_actions import action_words, describe, details_pairs
from merchants.permissions import (
    AUDIT_ROLES,
    OWNER_ROLES,
    READ_ROLES,
    WRITE_ROLES,
    has_role,
    member_required,
)
from merchants.services import audit_event_record
from reconciliation import selectors
from reconciliation.display import rows_for_ids
from reconciliation.documents import render_reconciliation
from reconciliation.forms import (
    PeriodForm,
    ReopenForm,
    RunForm,
    SignOffForm,
    TolerancesForm,
    months_back,
)
from reconciliation.services.compare import (
    reconciliation_compare,
    tolerances_engine,
    tolerances_parse,
    tolerances_update,
    tolerances_values,
)
from reconciliation.services.loading import tolerances_for
from reconciliation.services.periods import (
    month_parse,
    month_state,
    period_reopen,
    period_sign_off,
)
from reconciliation.services.runs import reconciliation_run_start
from statements.models import Transaction

REPORT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# A period with at most this many ledger lines runs while the page waits; a
# bigger one goes to the reconciliation queue.
INLINE_MAX_LINES = 20_000
MONTHS_SHOWN = 12
TIER_KEYS = [f"tier_{t}" for t in range(1, 7)]


def _last_month() -> tuple[dt.date, dt.date]:
    first_this = timezone.localdate().replace(day=1)
    last = first_this - dt.timedelta(days=1)
    return last.replace(day=1), last


def _field_error(form) -> str:
    for field, errors in form.errors.items():
        return f"{field}: {' '.join(errors)}"
    return "nothing was sent"


# --- runs --------------------------------------------------------------------------


@member_required(READ_ROLES)
def run_list(request: HttpRequest) -> HttpResponse:
    """The runs' history with counts by tier and status; start a run."""
    merchant = request.merchant
    date_from, date_to = _last_month()
    form = RunForm(
        request.POST or None, initial={"date_from": date_from, "date_to": date_to}
    )
    if request.method == "POST":
        if not has_role(request, WRITE_ROLES):
            return render(request, "403.html", status=403)
        if not form.is_valid():
            messages.error(
                request, _("No run started: %(why)s") % {"why": _field_error(form)}
            )
        else:
            return _run_start(request, form.cleaned_data)
    page = Paginator(selectors.run_list(merchant=merchant), 50).get_page(
        request.GET.get("page")
    )
    for run in page.object_list:
        run.tier_counts = [run.counts.get(key, 0) for key in TIER_KEYS]
    return render(
        request,
        "reconciliation/runs.html",
        {
            "form": form,
            "page": page,
            "tiers": TIER_KEYS,
            "can_write": has_role(request, WRITE_ROLES),
            "inline_max": INLINE_MAX_LINES,
        },
    )


def _run_start(request: HttpRequest, data: dict) -> HttpResponse:
    from reconciliation.tasks import reconcile_merchant

    merchant = request.merchant
    date_from, date_to = data["date_from"], data["date_to"]
    lines = (
        Transaction.objects.for_merchant(merchant)
        .filter(value_date__gte=date_from, value_date__lte=date_to)
        .order_by()[: INLINE_MAX_LINES + 1]
        .count()
    )
    if lines > INLINE_MAX_LINES:
        if data["dry_run"]:
            messages.error(
                request,
                _(
                    "A dry run of more than %(max)s lines runs from the command "
                    "line: manage.py reconcile --dry-run."
                )
                % {"max": f"{INLINE_MAX_LINES:,}"},
            )
            return redirect("reconciliation:runs")
        reconcile_merchant.delay_on_commit(merchant.pk, str(date_from), str(date_to))
        messages.success(
            request,
            _(
                "The run of %(start)s to %(end)s is queued; it appears here when "
                "it is done."
            )
            % {"start": date_from, "end": date_to},
        )
        return redirect("reconciliation:runs")
    try:
        outcome = reconciliation_run_start(
            merchant=merchant,
            date_from=date_from,
            date_to=date_to,
            actor=request.user,
            trigger="page",
            dry_run=data["dry_run"],
        )
    except TonleError as exc:
        why = error_words(exc)
        messages.error(request, _("No run started: %(why)s") % {"why": why})
        return redirect("reconciliation:runs")
    counts = outcome.run.counts
    messages.success(
        request,
        (
            _(
                "Run %(pk)s (dry run): %(matched)s matched (%(auto)s automatic, "
                "%(proposed)s proposed), %(exceptions)s exceptions."
            )
            if data["dry_run"]
            else _(
                "Run %(pk)s: %(matched)s matched (%(auto)s automatic, %(proposed)s "
                "proposed), %(exceptions)s exceptions."
            )
        )
        % {
            "pk": outcome.run.pk,
            "matched": counts.get("matched", 0),
            "auto": counts.get("auto", 0),
            "proposed": counts.get("proposed", 0),
            "exceptions": counts.get("exceptions", 0),
        },
    )
    return redirect("reconciliation:runs")


# --- tolerances: compare before saving ---------------------------------------------


@member_required(READ_ROLES)
def tolerances(request: HttpRequest) -> HttpResponse:
    """The merchant's tolerances; try a change over past months (nothing saved)
    and save it once the comparison is right."""
    merchant = request.merchant
    current = tolerances_values(tolerances_for(merchant=merchant))
    today = timezone.localdate()
    start = months_back(today, 3)[-1]
    form = TolerancesForm(
        request.POST or None,
        initial=current | {"date_from": start, "date_to": today},
    )
    comparison = None
    rows = {}
    if request.method == "POST":
        if not has_role(request, WRITE_ROLES):
            return render(request, "403.html", status=403)
        action = request.POST.get("action", "compare")
        if not form.is_valid():
            messages.error(
                request,
                _("Check the tolerances: %(why)s") % {"why": _field_error(form)},
            )
        else:
            values = {
                k: v
                for k, v in form.cleaned_data.items()
                if k in current and v is not None
            }
            try:
                if action == "save":
                    tolerances_update(merchant=merchant, actor=request.user, **values)
                    messages.success(
                        request, _("Tolerances saved: the next run uses them.")
                    )
                    return redirect("reconciliation:tolerances")
                date_from = form.cleaned_data.get("date_from") or start
                date_to = form.cleaned_data.get("date_to") or today
                comparison = reconciliation_compare(
                    merchant=merchant,
                    date_from=date_from,
                    date_to=date_to,
                    tolerances=tolerances_engine(tolerances_parse(**values)),
                )
            except TonleError as exc:
                messages.error(request, error_words(exc))
    if comparison is not None:
        ids = [
            i for c in comparison.changes[:200] for i in c.expected_ids + c.posted_ids
        ]
        rows = rows_for_ids(merchant=merchant, ids=ids)
    return render(
        request,
        "reconciliation/tolerances.html",
        {
            "form": form,
            "current": current,
            "comparison": comparison,
            "changes": [
                {
                    "change": c,
                    "expected": [rows.get(i) or i for i in c.expected_ids],
                    "posted": [rows.get(i) or i for i in c.posted_ids],
                }
                for c in (comparison.changes[:200] if comparison else [])
            ],
            "can_write": has_role(request, WRITE_ROLES),
        },
    )


# --- months: sign-off and reopening ------------------------------------------------


@member_required(READ_ROLES)
def period_list(request: HttpRequest) -> HttpResponse:
    merchant = request.merchant
    today = timezone.localdate()
    months = months_back(today, MONTHS_SHOWN)
    states = [month_state(merchant=merchant, month=m) for m in months]
    history = list(
        selectors.sign_off_list(merchant=merchant).filter(reopened_at__isnull=False)[
            :20
        ]
    )
    return render(
        request,
        "reconciliation/periods.html",
        {
            "states": states,
            "today": today,
            "history": history,
            "can_write": has_role(request, WRITE_ROLES),
            "can_reopen": has_role(request, OWNER_ROLES),
        },
    )


@member_required(WRITE_ROLES)
def period_sign_off_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("reconciliation:periods")
    form = SignOffForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(_field_error(form))
        month = month_parse(form.cleaned_data["month"])
        sign_off = period_sign_off(
            merchant=request.merchant,
            month=month,
            actor=request.user,
            note=form.cleaned_data["note"],
            carry_forward=form.cleaned_data["carry_forward"],
        )
    except TonleError as exc:
        why = error_words(exc)
        messages.error(request, _("Not signed off: %(why)s") % {"why": why})
    else:
        month = date_format(sign_off.month, "F Y")
        if sign_off.carried_forward:
            text = _(
                "%(month)s is signed off: its matches are locked; %(carried)s "
                "exceptions carried forward."
            ) % {"month": month, "carried": sign_off.carried_forward}
        else:
            text = _("%(month)s is signed off: its matches are locked.") % {
                "month": month
            }
        messages.success(request, text)
    return redirect("reconciliation:periods")


@member_required(OWNER_ROLES)
def period_reopen_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("reconciliation:periods")
    form = ReopenForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(_field_error(form))
        sign_off = period_reopen(
            merchant=request.merchant,
            month=month_parse(form.cleaned_data["month"]),
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
    except TonleError as exc:
        why = error_words(exc)
        messages.error(request, _("Not reopened: %(why)s") % {"why": why})
    else:
        messages.success(
            request,
            _("%(month)s is open again: its matches can change.")
            % {"month": date_format(sign_off.month, "F Y")},
        )
    return redirect("reconciliation:periods")


# --- the log -----------------------------------------------------------------------


@member_required(READ_ROLES)
def log(request: HttpRequest) -> HttpResponse:
    """Every run, decision, resolution and sign-off (append-only)."""
    events = selectors.reconciliation_log(merchant=request.merchant)
    action = request.GET.get("action", "")
    if action:
        events = events.filter(action=action)
    actions = (
        selectors.reconciliation_log(merchant=request.merchant)
        .order_by()
        .values_list("action")
        .annotate(n=Count("pk"))
        .order_by("action")
    )
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    page.object_list = describe(page.object_list)
    for event in page.object_list:
        # a match's items and a bulk's ids are the row's own business, not words
        kept = {
            key: value
            for key, value in (event.details or {}).items()
            if key not in ("items", "bulk") and (value or value == 0)
        }
        event.detail_pairs = details_pairs(kept)
    return render(
        request,
        "reconciliation/log.html",
        {
            "page": page,
            "action": action,
            "actions": [(name, action_words(name), n) for name, n in actions],
        },
    )


# --- the report --------------------------------------------------------------------


@member_required(AUDIT_ROLES)
def report(request: HttpRequest) -> HttpResponse:
    """Choose a period; download the reconciliation report as PDF or XLSX."""
    date_from, date_to = _last_month()
    form = PeriodForm(initial={"date_from": date_from, "date_to": date_to})
    return render(request, "reconciliation/report.html", {"form": form})


@member_required(AUDIT_ROLES)
def report_download(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET)
    fmt = request.GET.get("format", "")
    if not form.is_valid() or fmt not in REPORT_TYPES:
        messages.error(request, _("Choose a period (from and to) and PDF or XLSX."))
        return redirect("reconciliation:report")
    date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    handle, name = tempfile.mkstemp(prefix="tonle-reconciliation-", suffix=f".{fmt}")
    os.close(handle)
    try:
        result = render_reconciliation(
            merchant=request.merchant,
            date_from=date_from,
            date_to=date_to,
            fmt=fmt,
            out=name,
        )
    except TonleError as exc:
        Path(name).unlink(missing_ok=True)
        messages.error(request, error_words(exc))
        return redirect("reconciliation:report")
    audit_event_record(
        merchant=request.merchant,
        action="reconciliation.report.downloaded",
        actor=request.user,
        ip_address=request.META.get("REMOTE_ADDR"),
        details={
            "format": fmt,
            "period_from": str(date_from),
            "period_to": str(date_to),
            "matched": result.matched,
            "exceptions": result.exceptions,
            "difference": {c: str(v) for c, v in result.difference.items()},
        },
    )
    filename = f"reconciliation-{date_from}-{date_to}.{fmt}"
    stream = result.path.open("rb")
    result.path.unlink()  # the open handle keeps the bytes until they are sent
    response = FileResponse(
        stream, as_attachment=True, filename=filename, content_type=REPORT_TYPES[fmt]
    )
    return download_headers_set(response, name=filename)
