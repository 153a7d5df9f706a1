"""Pages: Transactions (the ledger, filtered, seek-paged, exported), Statements
(preview a period's balances, download PDF / XLSX / CSV) and Packs (statement packs
for auditors, built by a task, every download audited)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from django.contrib import messages
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.downloads import download_headers_set
from core.error_words import error_words
from core.exceptions import InvalidInput
from merchants.permissions import AUDIT_ROLES, READ_ROLES, has_role, member_required
from merchants.selectors import account_get, account_list
from merchants.services import audit_event_record
from statements import selectors
from statements.documents import FORMATS, render_statement
from statements.documents.ledger_export import ledger_csv_stream, ledger_xlsx_write
from statements.filters import TransactionFilter
from statements.forms import PackRequestForm, StatementPeriodForm
from statements.models import PackStatus
from statements.services.balances import balance_jumps, period_balance
from statements.services.packs import (
    statement_pack_download_record,
    statement_pack_request,
)

PAGE_SIZE = 50
EXCEL_CSV = "excel_csv"
XLSX_EXPORT_MAX = 200_000
JUMP_CHECK_MAX_LINES = 200_000
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _filtered(request: HttpRequest) -> TransactionFilter:
    return TransactionFilter(
        request.GET or None,
        queryset=selectors.transaction_list(merchant=request.merchant),
        merchant=request.merchant,
    )


# --- Transactions ----------------------------------------------------------------


@member_required(READ_ROLES)
def transaction_list(request: HttpRequest) -> HttpResponse:
    """The filtered ledger; a filter that cannot be understood shows its error
    and no lines (never every line, as if it had not been given)."""
    filterset = _filtered(request)
    problems = filterset.problems()
    queryset = filterset.qs if not problems else filterset.queryset.none()
    page = selectors.transaction_page(
        queryset=queryset,
        sort=request.GET.get("sort", selectors.DEFAULT_SORT),
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=PAGE_SIZE,
    )
    totals = None
    if not page.count_capped and not problems:
        totals = selectors.transaction_totals(queryset=queryset)
    keep = request.GET.copy()
    for name in ("after", "before"):
        keep.pop(name, None)
    export_query = keep.urlencode()  # the filter and the sort
    keep.pop("sort", None)
    return render(
        request,
        "statements/transactions.html",
        {
            "filter": filterset,
            "page": page,
            "totals": totals,
            "count_cap": selectors.COUNT_CAP,
            "query": keep.urlencode(),
            "export_query": export_query,
            "problems": problems,
            "can_export": has_role(request, AUDIT_ROLES) and not problems,
        },
    )


@require_GET
@member_required(AUDIT_ROLES)
def transaction_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The current filter, in the page's sort, as CSV or Excel CSV (streamed) or
    XLSX (constant memory); a filter that cannot be understood exports nothing."""
    filterset = _filtered(request)
    if filterset.problems():
        messages.error(request, _("Fix the filters before exporting."))
        return redirect(
            reverse("statements:transactions") + "?" + request.GET.urlencode()
        )
    queryset = filterset.qs
    sort = request.GET.get("sort", selectors.DEFAULT_SORT)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    audit_event_record(
        merchant=request.merchant,
        action="statements.transactions.exported",
        actor=request.user,
        ip_address=_client_ip(request),
        details={"format": fmt, "filter": request.GET.dict()},
    )
    if fmt in ("csv", "excel_csv"):
        excel = fmt == "excel_csv"
        response = StreamingHttpResponse(
            ledger_csv_stream(queryset, sort=sort, excel=excel),
            content_type=CONTENT_TYPES["csv"],
        )
        name = f"transactions-{stamp}{'-excel' if excel else ''}.csv"
        return download_headers_set(response, name=name)
    if queryset.order_by()[: XLSX_EXPORT_MAX + 1].count() > XLSX_EXPORT_MAX:
        messages.error(
            request,
            _(
                "XLSX exports hold at most %(max)s lines: narrow the filter or "
                "export CSV."
            )
            % {"max": f"{XLSX_EXPORT_MAX:,}"},
        )
        return redirect(
            reverse("statements:transactions") + "?" + request.GET.urlencode()
        )
    path = ledger_xlsx_write(queryset, sort=sort)
    return _send_file(path, f"transactions-{stamp}.xlsx", CONTENT_TYPES["xlsx"])


def _send_file(path: Path, filename: str, content_type: str) -> FileResponse:
    stream = path.open("rb")
    path.unlink()  # the open handle keeps the bytes until the response is sent
    response = FileResponse(
        stream, as_attachment=True, filename=filename, content_type=content_type
    )
    return download_headers_set(response, name=filename)


# --- Statements ------------------------------------------------------------------


def _last_month() -> tuple[dt.date, dt.date]:
    first_this = timezone.localdate().replace(day=1)
    last = first_this - dt.timedelta(days=1)
    return last.replace(day=1), last


@member_required(READ_ROLES)
def statement_list(request: HttpRequest) -> HttpResponse:
    accounts = account_list(merchant=request.merchant)
    date_from, date_to = _last_month()
    form = StatementPeriodForm(
        request.GET or None,
        accounts=accounts,
        initial={"date_from": date_from, "date_to": date_to},
    )
    previews = []
    if form.is_bound and form.is_valid():
        date_from = form.cleaned_data["date_from"]
        date_to = form.cleaned_data["date_to"]
        chosen = form.cleaned_data["accounts"] or list(accounts)
        for account in chosen:
            period = period_balance(
                account=account, date_from=date_from, date_to=date_to
            )
            warnings = list(period.warnings)
            if period.lines <= JUMP_CHECK_MAX_LINES:
                jumps, listed = balance_jumps(account=account, period=period)
                warnings += listed
                if jumps > len(listed):
                    warnings.append(
                        f"… and {jumps - len(listed)} more lines whose bank balance "
                        "does not follow."
                    )
            previews.append(
                {
                    "account": account,
                    "period": period,
                    "warnings": warnings,
                    "billers": selectors.biller_category_totals(
                        account=account, period=period
                    ),
                }
            )
    return render(
        request,
        "statements/statements.html",
        {
            "form": form,
            "previews": previews,
            "formats": [
                *((f, f.upper()) for f in FORMATS),
                (EXCEL_CSV, "Excel CSV"),
            ],
            "date_from": date_from,
            "date_to": date_to,
            "can_download": has_role(request, AUDIT_ROLES),
        },
    )


@require_GET
@member_required(AUDIT_ROLES)
def statement_download(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get(merchant=request.merchant, account_id=account_id)
    form = StatementPeriodForm(
        request.GET, accounts=account_list(merchant=request.merchant)
    )
    fmt = request.GET.get("format", "")
    # "Excel CSV" is the CSV with a UTF-8 BOM and CRLF, for a double-click
    excel = fmt == EXCEL_CSV
    if excel:
        fmt = "csv"
    if not form.is_valid() or fmt not in FORMATS:
        messages.error(
            request,
            _(
                "Choose a period (from and to dates) and a format (PDF, XLSX, CSV or "
                "Excel CSV)."
            ),
        )
        return redirect("statements:statements")
    date_from = form.cleaned_data["date_from"]
    date_to = form.cleaned_data["date_to"]
    handle, name = tempfile.mkstemp(prefix="tonle-statement-", suffix=f".{fmt}")
    os.close(handle)
    try:
        result = render_statement(
            account=account,
            date_from=date_from,
            date_to=date_to,
            fmt=fmt,
            out=name,
            excel=excel,
        )
    except InvalidInput as exc:
        Path(name).unlink(missing_ok=True)
        messages.error(request, error_words(exc))
        return redirect("statements:statements")
    audit_event_record(
        merchant=request.merchant,
        action="statements.statement.downloaded",
        obj=account,
        actor=request.user,
        ip_address=_client_ip(request),
        details={
            "format": EXCEL_CSV if excel else fmt,
            "period_from": str(date_from),
            "period_to": str(date_to),
            "lines": result.lines,
        },
    )
    filename = (
        f"statement-{account.provider}-{account.currency}-{date_from}-{date_to}"
        f"{'-excel' if excel else ''}.{fmt}"
    )
    return _send_file(result.path, filename, CONTENT_TYPES[fmt])


# --- Packs -----------------------------------------------------------------------


def _pack_state(pack) -> dict:
    return {
        "id": pack.pk,
        "status": pack.status,
        "status_label": pack.get_status_display(),
        "progress": pack.progress,
        "message": error_words(pack.progress_message),
        "error": pack.error,
        "ready": pack.status == PackStatus.READY,
        "download_url": reverse("statements:pack-download", args=[pack.pk])
        if pack.status == PackStatus.READY
        else "",
    }


@member_required(AUDIT_ROLES)
def pack_list(request: HttpRequest) -> HttpResponse:
    date_from, date_to = _last_month()
    if request.method == "POST":
        form = PackRequestForm(request.POST)
        if form.is_valid():
            pack = statement_pack_request(
                merchant=request.merchant,
                date_from=form.cleaned_data["date_from"],
                date_to=form.cleaned_data["date_to"],
                actor=request.user,
                language=get_language(),
            )
            messages.success(
                request,
                _(
                    "The pack for %(start)s to %(end)s is being built; this page "
                    "shows its progress."
                )
                % {"start": pack.period_start, "end": pack.period_end},
            )
            return redirect("statements:packs")
    else:
        form = PackRequestForm(initial={"date_from": date_from, "date_to": date_to})
    packs = list(selectors.statement_pack_list(merchant=request.merchant)[:50])
    return render(
        request,
        "statements/packs.html",
        {
            "form": form,
            "packs": packs,
            "building": [
                p.pk
                for p in packs
                if p.status in (PackStatus.QUEUED, PackStatus.RUNNING)
            ],
        },
    )


@require_GET
@member_required(AUDIT_ROLES)
def pack_status(request: HttpRequest, pack_id: int) -> JsonResponse:
    pack = selectors.statement_pack_get(merchant=request.merchant, pack_id=pack_id)
    return JsonResponse(_pack_state(pack))


@require_GET
@member_required(AUDIT_ROLES)
def pack_download(request: HttpRequest, pack_id: int) -> HttpResponse:
    pack = selectors.statement_pack_get(merchant=request.merchant, pack_id=pack_id)
    if pack.status != PackStatus.READY or not pack.file:
        messages.error(request, _("That pack is not ready yet."))
        return redirect("statements:packs")
    statement_pack_download_record(
        pack=pack, actor=request.user, ip_address=_client_ip(request)
    )
    response = FileResponse(
        pack.file.open("rb"),
        as_attachment=True,
        filename=pack.download_name,
        content_type="application/zip",
    )
    return download_headers_set(response, name=pack.download_name)
