"""Statement file import pages: upload -> map columns (preview and errors before
anything is written) -> import -> result; a history of imports with their files;
the statement feeds with their last sync runs (mismatches shown) and "sync now".

Accountants and owners import; every member (auditors, viewers) sees the history.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.client_address import client_ip
from core.downloads import download_headers_set
from core.error_words import error_words
from core.exceptions import TonleError
from core.tasks import enqueue_on_commit
from merchants import selectors as merchant_selectors
from merchants.models import ConnectionProvider, ConsentScope
from merchants.permissions import (
    OWNER_ROLES,
    READ_ROLES,
    WRITE_ROLES,
    has_role,
    member_required,
)
from merchants.services import audit_event_record
from statements import selectors
from statements.imports import PRESETS, preset_choices
from statements.imports.mapping import (
    AMOUNT_MODES,
    DATE_FORMATS,
    ERAS,
    NUMBER_FORMATS,
    OPTION_KEYS,
    amount_mode_of,
)
from statements.imports.presets import MAPPABLE_FIELDS
from statements.models import ImportStatus
from statements.services import imports as import_services

FIELD_LABELS = {
    "txn_id": gettext_lazy("Bank transaction id"),
    "posted_at": gettext_lazy("Posted at (date and time)"),
    "posted_time": gettext_lazy("Time (when in its own column)"),
    "value_date": gettext_lazy("Value date"),
    "amount": gettext_lazy("Amount (one column)"),
    "debit": gettext_lazy("Money out / debit / withdrawal"),
    "credit": gettext_lazy("Money in / credit / deposit"),
    "direction": gettext_lazy("Direction (credit or debit words)"),
    "currency": gettext_lazy("Currency"),
    "channel": gettext_lazy("Channel / type"),
    "counterparty": gettext_lazy("Counterparty"),
    "counterparty_account": gettext_lazy("Counterparty account"),
    "reference": gettext_lazy("Reference"),
    "bakong_hash": gettext_lazy("Bakong hash / trace"),
    "description": gettext_lazy("Description"),
    "balance_after": gettext_lazy("Balance after"),
    "original_amount": gettext_lazy("Original amount (cross-border)"),
    "original_currency": gettext_lazy("Original currency"),
    "fx_rate": gettext_lazy("FX rate"),
    "fee": gettext_lazy("Fee"),
}


class UploadForm(forms.Form):
    account = forms.TypedChoiceField(coerce=int, label=gettext_lazy("Account"))
    file = forms.FileField(label=gettext_lazy("Statement file (CSV or XLSX)"))
    preset = forms.ChoiceField(label=gettext_lazy("Bank format"), required=False)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.accounts = {
            a.pk: a for a in merchant_selectors.account_list(merchant=merchant)
        }
        self.fields["account"].choices = [
            (pk, a.label) for pk, a in self.accounts.items()
        ]
        self.fields["preset"].choices = [("", _("Recognise from the header"))] + list(
            preset_choices()
        )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.MAX_UPLOAD_MB * 1024 * 1024
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s MB; the limit is %(limit)s MB.")
                % {
                    "size": f"{upload.size / 1_048_576:.1f}",
                    "limit": settings.MAX_UPLOAD_MB,
                }
            )
        return upload


def _feeds(merchant) -> dict:
    connections = [
        c
        for c in merchant_selectors.connection_list(merchant=merchant)
        if c.provider == ConnectionProvider.STATEMENT_FEED
    ]
    for connection in connections:
        # the badge, the reason, and whether "Sync now" is offered at all
        connection.consent = merchant_selectors.connection_consent(
            connection=connection, scope=ConsentScope.STATEMENTS_READ
        )
    runs = selectors.feed_sync_run_list(merchant=merchant)[:12]
    return {"feeds": connections, "runs": runs}


@member_required(READ_ROLES)
def import_list(request: HttpRequest) -> HttpResponse:
    batches = selectors.import_batch_list(merchant=request.merchant)
    page = Paginator(batches, 25).get_page(request.GET.get("page"))
    can_import = has_role(request, WRITE_ROLES)
    return render(
        request,
        "statements/imports/list.html",
        {
            "page": page,
            "form": UploadForm(merchant=request.merchant) if can_import else None,
            "can_import": can_import,
            "can_revoke": has_role(request, OWNER_ROLES),
            "presets": PRESETS,
            "max_mb": settings.MAX_UPLOAD_MB,
            "max_rows": f"{settings.MAX_IMPORT_ROWS:,}",
            **_feeds(request.merchant),
        },
    )


@require_POST
@member_required(WRITE_ROLES)
def feed_sync_request(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Ask the worker to sync one feed now: the same task the nightly job runs, so a
    429 or a bank outage is retried with backoff there, not lost here."""
    from statements.tasks import sync_connection

    connection = merchant_selectors.connection_get(
        merchant=request.merchant, connection_id=connection_id
    )
    if connection.provider != ConnectionProvider.STATEMENT_FEED:
        messages.error(request, _("Only a statement feed can be synced."))
        return redirect("statements:import-list")
    consent = merchant_selectors.connection_consent(
        connection=connection, scope=ConsentScope.STATEMENTS_READ
    )
    if not consent.allowed:
        messages.error(
            request, _("Not synced: %(reason)s.") % {"reason": consent.reason}
        )
        return redirect("statements:import-list")
    enqueue_on_commit(sync_connection, connection.pk)
    audit_event_record(
        merchant=request.merchant,
        action="connection.sync_requested",
        obj=connection,
        actor=request.user,
        ip_address=client_ip(request),
    )
    messages.success(
        request,
        _(
            "Sync of %(account)s requested; new lines appear when the worker has "
            "read the feed (if the bank is busy, the worker retries on its own)."
        )
        % {"account": connection.account.label if connection.account else connection},
    )
    return redirect("statements:import-list")


@require_POST
@member_required(WRITE_ROLES)
def import_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES, merchant=request.merchant)
    if not form.is_valid():
        batches = selectors.import_batch_list(merchant=request.merchant)
        return render(
            request,
            "statements/imports/list.html",
            {
                "page": Paginator(batches, 25).get_page(1),
                "form": form,
                "can_import": True,
                "presets": PRESETS,
                "max_mb": settings.MAX_UPLOAD_MB,
                "max_rows": f"{settings.MAX_IMPORT_ROWS:,}",
                **_feeds(request.merchant),
            },
            status=400,
        )
    account = form.accounts[form.cleaned_data["account"]]
    upload = form.cleaned_data["file"]
    try:
        batch = import_services.import_batch_stage(
            account=account,
            file_bytes=upload.read(),
            filename=upload.name,
            preset=form.cleaned_data["preset"] or None,
            actor=request.user,
        )
    except TonleError as exc:
        messages.error(request, error_words(exc))
        return redirect("statements:import-list")
    return redirect("statements:import-detail", import_id=batch.pk)


def _mapping_from(request: HttpRequest) -> dict[str, str]:
    """The mapping form's columns (map_<field>) and options (opt_<option>)."""
    mapping = {
        name: request.POST.get(f"map_{name}", "").strip()
        for name in MAPPABLE_FIELDS
        if request.POST.get(f"map_{name}", "").strip()
    }
    for name in OPTION_KEYS:
        value = request.POST.get(f"opt_{name}", "").strip()
        if value:
            mapping[name] = value
    return mapping


def _options(preview) -> dict:
    """The mapping step's option choices, with what the file is read with now."""
    mapping = preview.mapping
    spec = PRESETS.get(preview.parse.preset)
    base_mode = spec["amount_mode"] if spec else "signed"
    return {
        # only a choice made; else the columns mapped decide (shown beside it)
        "amount_mode": mapping.get("amount_mode", ""),
        "amount_mode_read": AMOUNT_MODES[amount_mode_of(mapping, base_mode)],
        "date_format": mapping.get("date_format", ""),
        "era": mapping.get("era", ""),
        "number_format": mapping.get("number_format", ""),
        "header_line": mapping.get("header_line", ""),
        "amount_modes": list(AMOUNT_MODES.items()),
        "date_formats": [(key, label) for key, (label, _) in DATE_FORMATS.items()],
        "eras": list(ERAS.items()),
        "number_formats": list(NUMBER_FORMATS),
    }


@member_required(READ_ROLES)
def import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    batch = selectors.import_batch_get(merchant=request.merchant, batch_id=import_id)
    context = {
        "batch": batch,
        "account": batch.account,
        "can_import": has_role(request, WRITE_ROLES),
        "presets": preset_choices(),
    }
    if batch.status == ImportStatus.IMPORTED:
        flagged = selectors.import_batch_flagged_lines(
            merchant=request.merchant, batch=batch
        )
        context.update(flagged_lines=list(flagged[:100]), flagged=flagged.count())
    if batch.status == ImportStatus.PENDING:
        preview = import_services.statement_file_preview(
            account=batch.account,
            file_bytes=import_services.import_batch_file_bytes(batch=batch),
            filename=batch.filename,
            preset=batch.preset or None,
            mapping=batch.mapping or None,
        )
        columns = preview.parse.columns
        context.update(
            preview=preview,
            headers=preview.parse.headers,
            options=_options(preview),
            fields=[
                {
                    "name": name,
                    "label": FIELD_LABELS.get(name, name),
                    "current": preview.mapping.get(name) or columns.get(name, ""),
                }
                for name in MAPPABLE_FIELDS
            ],
            conflicts=preview.conflicts[:100],
            errors=preview.errors[:100],
            error_count=len(preview.errors),
            detected=preview.parse.preset,
            recognition=preview.parse.recognition.message,
            warnings=[w.as_dict() for w in preview.parse.warnings[:100]],
            flags=[f.as_dict() for f in preview.parse.flags[:100]],
        )
    return render(request, "statements/imports/detail.html", context)


@require_POST
@member_required(WRITE_ROLES)
def import_map(request: HttpRequest, import_id: int) -> HttpResponse:
    batch = selectors.import_batch_get(merchant=request.merchant, batch_id=import_id)
    try:
        import_services.import_batch_map(
            batch=batch,
            preset=request.POST.get("preset") or None,
            mapping=_mapping_from(request),
        )
    except TonleError as exc:
        messages.error(request, error_words(exc))
    return redirect("statements:import-detail", import_id=batch.pk)


@require_POST
@member_required(WRITE_ROLES)
def import_confirm(request: HttpRequest, import_id: int) -> HttpResponse:
    batch = selectors.import_batch_get(merchant=request.merchant, batch_id=import_id)
    if batch.status != ImportStatus.PENDING:
        messages.error(
            request, _("This file was already imported, refused or discarded.")
        )
        return redirect("statements:import-detail", import_id=batch.pk)
    try:
        result = import_services.statement_file_import(
            account=batch.account,
            file_bytes=import_services.import_batch_file_bytes(batch=batch),
            filename=batch.filename,
            preset=batch.preset or None,
            mapping=batch.mapping or None,
            actor=request.user,
            batch=batch,
        )
    except TonleError as exc:
        messages.error(request, error_words(exc))
        return redirect("statements:import-detail", import_id=batch.pk)
    if result.errors:
        messages.error(
            request,
            _("The file was refused: %(errors)s error(s). Nothing was imported.")
            % {"errors": len(result.errors)},
        )
    else:
        flagged = (
            " "
            + _(
                "%(flagged)s line(s) were imported as the bank wrote them and "
                "flagged: their FX figures differ beyond the bank's rounding."
            )
            % {"flagged": result.flagged}
            if result.flagged
            else ""
        )
        conflicted = (
            " "
            + _(
                "%(conflicted)s line(s) were not imported: their bank id is "
                "already in the ledger with another amount or day (listed below)."
            )
            % {"conflicted": result.conflicted}
            if result.conflicted
            else ""
        )
        messages.success(
            request,
            _(
                "Imported %(inserted)s new line(s); %(skipped)s were already in the "
                "ledger and were skipped."
            )
            % {"inserted": result.inserted, "skipped": result.skipped}
            + flagged
            + conflicted,
        )
    return redirect("statements:import-detail", import_id=batch.pk)


@require_POST
@member_required(WRITE_ROLES)
def import_discard(request: HttpRequest, import_id: int) -> HttpResponse:
    """Drop an upload that will not be imported: its stored file is deleted."""
    batch = selectors.import_batch_get(merchant=request.merchant, batch_id=import_id)
    try:
        import_services.import_batch_discard(batch=batch, actor=request.user)
    except TonleError as exc:
        messages.error(request, error_words(exc))
        return redirect("statements:import-detail", import_id=batch.pk)
    messages.success(
        request,
        _("%(file)s was discarded and its file deleted.") % {"file": batch.filename},
    )
    return redirect("statements:import-list")


@member_required(READ_ROLES)
def import_file(request: HttpRequest, import_id: int) -> HttpResponse:
    batch = selectors.import_batch_get(merchant=request.merchant, batch_id=import_id)
    if not batch.file:
        raise Http404("This upload was discarded; its file was deleted.")
    response = FileResponse(
        batch.file.open("rb"), as_attachment=True, filename=batch.filename
    )
    return download_headers_set(response, name=batch.filename)
