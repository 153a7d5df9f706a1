"""Pages: Transactions (the ledger, filtered, seek-paged, exported), Statements
(preview a period's balances, download PDF / XLSX / CSV) and Packs (statement packs
for auditors, built by a task, every download audited)."""

from __future__ import annotations

import csv
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
from django.views.decorators.http import require_GET

from core.downloads import download_headers_set
from core.exceptions import InvalidInput
from merchants.permissions import AUDIT_ROLES, READ_ROLES, has_role, member_required
from merchants.selectors import account_get, account_list
from merchants.services import audit_event_record
from statements import selectors
from statements.documents import FORMATS, render_statement
from statements.documents.common import inert_text, plain_amount
from statements.filters import TransactionFilter
from statements.forms import PackRequestForm, StatementPeriodForm
from statements.imports.presets import CANONICAL_FIELDS
from statements.models import CANONICAL_LEDGER_FIELDS, PackStatus
from statements.services.balances import balance_jumps, period_balance
from statements.services.packs import (
    statement_pack_download_record,
    statement_pack_request,
)

PAGE_SIZE = 50
XLSX_EXPORT_MAX = 200_000
JUMP_CHECK_MAX_LINES = 200_000
EXPORT_COLUMNS = ("account", *CANONICAL_FIELDS, "source")
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
    filterset = _filtered(request)
    queryset = filterset.qs
    page = selectors.transaction_page(
        queryset=queryset,
        sort=request.GET.get("sort", selectors.DEFAULT_SORT),
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=PAGE_SIZE,
    )
    totals = None
    if not page.count_capped:
        totals = selectors.transaction_totals(queryset=queryset)
    keep = request.GET.copy()
    for name in ("after", "before", "sort"):
        keep.pop(name, None)
    return render(
        request,
        "statements/transactions.html",
        {
            "filter": filterset,
            "page": page,
            "totals": totals,
            "count_cap": selectors.COUNT_CAP,
            "query": keep.urlencode(),
            "can_export": has_role(request, AUDIT_ROLES),
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _export_rows(queryset):
    rows = (
        queryset.order_by("posted_at", "pk")
        .values_list(
            "account__number",
            *CANONICAL_LEDGER_FIELDS,
            "source",
            "account__currency",
        )
        .iterator(chunk_size=2000)
    )
    yield from rows


@require_GET
@member_required(AUDIT_ROLES)
def transaction_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The current filter as CSV (streamed) or XLSX (constant memory)."""
    filterset = _filtered(request)
    if filterset.is_bound and not filterset.is_valid():
        messages.error(request, "Fix the filters before exporting.")
        return redirect(
            reverse("statements:transactions") + "?" + request.GET.urlencode()
        )
    queryset = filterset.qs
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    audit_event_record(
        merchant=request.merchant,
        action="statements.transactions.exported",
        actor=request.user,
        ip_address=_client_ip(request),
        details={"format": fmt, "filter": request.GET.dict()},
    )
    if fmt == "csv":
        writer = csv.writer(_Echo(), lineterminator="\n")

        def stream():
            yield writer.writerow(EXPORT_COLUMNS)
            for row in _export_rows(queryset):
                yield writer.writerow(_export_cells(row))

        response = StreamingHttpResponse(stream(), content_type=CONTENT_TYPES["csv"])
        return download_headers_set(response, name=f"transactions-{stamp}.csv")
    if queryset.order_by()[: XLSX_EXPORT_MAX + 1].count() > XLSX_EXPORT_MAX:
        messages.error(
            request,
            f"XLSX exports hold at most {XLSX_EXPORT_MAX:,} lines: narrow the filter "
            "or export CSV.",
        )
        return redirect(
            reverse("statements:transactions") + "?" + request.GET.urlencode()
        )
    path = _xlsx_export(queryset)
    return _send_file(path, f"transactions-{stamp}.xlsx", CONTENT_TYPES["xlsx"])


def _export_cells(row) -> list[str]:
    (number, txn_id, posted_at, value_date, amount, currency, channel, party,
     party_account, reference, bakong_hash, description, balance_after,
     original_amount, original_currency, fx_rate, fee, source, _) = row  # fmt: skip
    return [
        inert_text(number),
        inert_text(txn_id),
        posted_at.astimezone(timezone.get_current_timezone()).isoformat(),
        value_date.isoformat(),
        plain_amount(amount, currency),
        currency,
        channel,
        inert_text(party),
        inert_text(party_account),
        inert_text(reference),
        inert_text(bakong_hash),
        inert_text(description),
        plain_amount(balance_after, currency),
        plain_amount(original_amount, original_currency or currency),
        original_currency,
        "" if fx_rate is None else format(fx_rate, "f"),
        plain_amount(fee, currency),
        source,
    ]


def _xlsx_export(queryset) -> Path:
    import xlsxwriter

    from statements.documents.common import formula_looking
    from statements.documents.xlsx_statement import number_format

    handle, name = tempfile.mkstemp(prefix="tonle-export-", suffix=".xlsx")
    os.close(handle)
    workbook = xlsxwriter.Workbook(name, {"constant_memory": True})
    try:
        sheet = workbook.add_worksheet("Transactions")
        header = workbook.add_format({"bold": True, "bg_color": "#F1F3F6"})
        quoted = workbook.add_format({"quote_prefix": True})
        stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        money = {
            c: workbook.add_format({"num_format": number_format(c)})
            for c in ("KHR", "USD", "THB")
        }
        for col, title in enumerate(EXPORT_COLUMNS):
            sheet.write_string(0, col, title, header)
        sheet.freeze_panes(1, 0)
        amount_cols = {4, 12, 13, 16}
        zone = timezone.get_current_timezone()
        count = 0
        for count, row in enumerate(_export_rows(queryset), start=1):
            currency = row[5]
            for col, value in enumerate(row[:18]):
                if value is None or value == "":
                    continue
                if col == 2:
                    sheet.write_datetime(
                        count, col, value.astimezone(zone).replace(tzinfo=None), stamp
                    )
                elif col == 3:
                    sheet.write_datetime(count, col, value, day)
                elif col in amount_cols:
                    code = row[14] if col == 13 and row[14] else currency
                    sheet.write_number(count, col, value, money.get(code))
                elif col == 15:
                    sheet.write_number(count, col, value)
                else:
                    text = str(value)
                    sheet.write_string(
                        count, col, text, quoted if formula_looking(text) else None
                    )
        sheet.autofilter(0, 0, max(count, 1), len(EXPORT_COLUMNS) - 1)
    finally:
        workbook.close()
    return Path(name)


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
                {"account": account, "period": period, "warnings": warnings}
            )
    return render(
        request,
        "statements/statements.html",
        {
            "form": form,
            "previews": previews,
            "formats": FORMATS,
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
    if not form.is_valid() or fmt not in FORMATS:
        messages.error(
            request,
            "Choose a period (from and to dates) and a format (PDF, XLSX or CSV).",
        )
        return redirect("statements:statements")
    date_from = form.cleaned_data["date_from"]
    date_to = form.cleaned_data["date_to"]
    handle, name = tempfile.mkstemp(prefix="tonle-statement-", suffix=f".{fmt}")
    os.close(handle)
    try:
        result = render_statement(
            account=account, date_from=date_from, date_to=date_to, fmt=fmt, out=name
        )
    except InvalidInput as exc:
        Path(name).unlink(missing_ok=True)
        messages.error(request, exc.message)
        return redirect("statements:statements")
    audit_event_record(
        merchant=request.merchant,
        action="statements.statement.downloaded",
        obj=account,
        actor=request.user,
        ip_address=_client_ip(request),
        details={
            "format": fmt,
            "period_from": str(date_from),
            "period_to": str(date_to),
            "lines": result.lines,
        },
    )
    filename = (
        f"statement-{account.provider}-{account.currency}-{date_from}-{date_to}.{fmt}"
    )
    return _send_file(result.path, filename, CONTENT_TYPES[fmt])


# --- Packs -----------------------------------------------------------------------


def _pack_state(pack) -> dict:
    return {
        "id": pack.pk,
        "status": pack.status,
        "status_label": pack.get_status_display(),
        "progress": pack.progress,
        "message": pack.progress_message,
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
            )
            messages.success(
                request,
                f"The pack for {pack.period_start} to {pack.period_end} is being "
                "built; this page shows its progress.",
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
        messages.error(request, "That pack is not ready yet.")
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
