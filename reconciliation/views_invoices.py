"""The invoices pages: the merchant's invoices with what became of each (paid,
proposed, open, overdue), one invoice by hand, and a file of them through the same
import as `import_invoices`."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.error_words import error_words
from core.exceptions import TonleError
from merchants.permissions import READ_ROLES, WRITE_ROLES, has_role, member_required
from reconciliation import selectors
from reconciliation.invoice_forms import (
    InvoiceFilterForm,
    InvoiceForm,
    InvoiceUploadForm,
)
from reconciliation.invoice_import_words import invoice_row_words
from reconciliation.models import Invoice
from reconciliation.services.invoices import invoice_create, invoices_import

PAGE_SIZE = 50


@member_required(READ_ROLES)
def invoice_list(request: HttpRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET or None)
    rows = selectors.invoice_list_with_status(
        merchant=request.merchant, today=timezone.localdate()
    )
    if form.is_bound and form.is_valid():
        rows = selectors.invoice_filter(rows, **form.cleaned_data)
    page = Paginator(rows.order_by("-issue_date", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "invoices/list.html",
        {
            "filter": form,
            "page": page,
            "open_totals": selectors.invoice_open_totals(
                merchant=request.merchant, today=timezone.localdate()
            ),
            "can_write": has_role(request, WRITE_ROLES),
            "upload": InvoiceUploadForm(),
        },
    )


@member_required(WRITE_ROLES)
def invoice_new(request: HttpRequest) -> HttpResponse:
    form = InvoiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = {
            k: str(v) if k.endswith("_date") else v
            for k, v in form.cleaned_data.items()
        }
        try:
            invoice, replay = invoice_create(
                merchant=request.merchant,
                fields=fields,
                source=Invoice.Source.PAGE,
                actor=request.user,
            )
        except TonleError as exc:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, invoice_row_words(exc.message))
        else:
            messages.success(
                request,
                (
                    _("Invoice %(number)s was already here, unchanged.")
                    if replay
                    else _("Invoice %(number)s added.")
                )
                % {"number": invoice.invoice_number},
            )
            return redirect("invoices:detail", invoice.pk)
    return render(request, "invoices/new.html", {"form": form})


@member_required(WRITE_ROLES)
def invoice_upload(request: HttpRequest) -> HttpResponse:
    form = InvoiceUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a CSV or XLSX file of invoices."))
        return redirect("invoices:list")
    upload = form.cleaned_data["file"]
    try:
        result = invoices_import(
            merchant=request.merchant,
            file_bytes=upload.read(),
            filename=upload.name,
            actor=request.user,
        )
    except TonleError as exc:
        messages.error(request, f"{upload.name}: {error_words(exc)}")
        return redirect("invoices:list")
    if result.errors:
        return render(
            request,
            "invoices/refused.html",
            {
                "filename": upload.name,
                "errors": [
                    {**error, "message": invoice_row_words(error["message"])}
                    for error in result.errors
                ],
            },
            status=400,
        )
    messages.success(
        request,
        _("%(file)s: %(inserted)s invoice(s) added, %(skipped)s already here.")
        % {"file": upload.name, "inserted": result.inserted, "skipped": result.skipped},
    )
    return redirect("invoices:list")


@member_required(READ_ROLES)
def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(merchant=request.merchant, invoice_id=invoice_id)
    return render(
        request,
        "invoices/detail.html",
        {
            "invoice": invoice,
            "matches": selectors.invoice_matches(
                merchant=request.merchant, invoice=invoice
            ),
        },
    )
