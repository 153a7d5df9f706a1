"""Invoices in: one from the API or a page, or a file of them from the merchant's
accounting tool (the invoice CSV of DESIGN.md, or the same columns in XLSX).

Keyed on (merchant, invoice number): the same invoice again changes nothing and
says so; the same number with other fields is a conflict. A file is all or
nothing: one bad row refuses it, with every row's error.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from core.exceptions import Conflict, InvalidInput
from core.money import CURRENCIES, MoneyError, parse_amount
from core.periods import date_parse
from merchants.models import Merchant
from merchants.services import audit_event_record
from reconciliation.models import Invoice
from statements.imports.readers import Cell, read_table

REQUIRED = (
    "invoice_number",
    "customer",
    "amount",
    "currency",
    "issue_date",
    "due_date",
)
OPTIONAL = ("customer_account", "reference")
# the invoice CSV of DESIGN.md, in its order
COLUMNS = (*REQUIRED, *OPTIONAL)
LIMITS = {
    "invoice_number": 64,
    "customer": 200,
    "customer_account": 100,
    "reference": 200,
}
BATCH = 2000
_GROUPED = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


@dataclass
class InvoiceImportResult:
    inserted: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "inserted": self.inserted,
            "skipped": self.skipped,
            "errors": self.errors,
        }


def _text(value: Any, name: str, *, required: bool) -> str:
    if value is None:
        value = ""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: {value!r} is not text", field=name)
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{name}: is required", field=name)
    if len(text) > LIMITS[name]:
        raise InvalidInput(
            f"{name}: at most {LIMITS[name]} characters (got {len(text)})", field=name
        )
    if any(ord(ch) < 32 for ch in text):
        raise InvalidInput(f"{name}: control characters are not allowed", field=name)
    return text


def _date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name}: is required (YYYY-MM-DD)", field=name)
    try:
        return date_parse(value.strip(), field=name)
    except InvalidInput:
        raise InvalidInput(
            f"{name}: {value.strip()!r} is not a date (YYYY-MM-DD)", field=name
        ) from None


def invoice_clean(fields: dict[str, Any]) -> dict[str, Any]:
    """The invoice's fields checked and typed; InvalidInput names the first bad
    one and quotes what it got."""
    unknown = sorted(set(fields) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise InvalidInput(
            f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            field=unknown[0],
        )
    raw_currency = fields.get("currency")
    currency = raw_currency.strip().upper() if isinstance(raw_currency, str) else ""
    if currency not in CURRENCIES:
        raise InvalidInput(
            f"currency: {fields.get('currency')!r} is not KHR, USD or THB",
            field="currency",
        )
    raw_amount = fields.get("amount")
    if isinstance(raw_amount, float | bool) or raw_amount in (None, ""):
        raise InvalidInput(
            f"amount: {raw_amount!r} is not an amount (write it as text, e.g. 12.50)",
            field="amount",
        )
    text = str(raw_amount).strip()
    if _GROUPED.match(text):  # "1,500.00" as spreadsheets write it
        text = text.replace(",", "")
    try:
        amount = parse_amount(text, currency)
    except MoneyError as exc:
        raise InvalidInput(f"amount: {raw_amount!r}: {exc}", field="amount") from None
    if amount <= 0:
        raise InvalidInput(f"amount: {raw_amount!r} must be positive", field="amount")
    if amount >= Decimal("1e13"):
        raise InvalidInput(f"amount: {raw_amount!r} is too large", field="amount")
    issue = _date(fields.get("issue_date"), "issue_date")
    due = _date(fields.get("due_date"), "due_date")
    if due < issue:
        raise InvalidInput(
            f"due_date: {due} is before the issue date {issue}", field="due_date"
        )
    return {
        "invoice_number": _text(
            fields.get("invoice_number"), "invoice_number", required=True
        ),
        "customer": _text(fields.get("customer"), "customer", required=True),
        "customer_account": _text(
            fields.get("customer_account"), "customer_account", required=False
        ),
        "reference": _text(fields.get("reference"), "reference", required=False),
        "amount": amount,
        "currency": currency,
        "issue_date": issue,
        "due_date": due,
    }


def _same(invoice: Invoice, clean: dict[str, Any]) -> bool:
    return all(getattr(invoice, name) == value for name, value in clean.items())


def _differences(invoice: Invoice, clean: dict[str, Any]) -> str:
    return ", ".join(
        name for name, value in clean.items() if getattr(invoice, name) != value
    )


def invoice_create(
    *,
    merchant: Merchant,
    fields: dict[str, Any],
    source: str = Invoice.Source.API,
    actor: Any = None,
) -> tuple[Invoice, bool]:
    """One invoice: (the invoice, replay?). The same number with the same fields
    is a replay; with other fields a Conflict naming them."""
    clean = invoice_clean(fields)
    existing = (
        Invoice.objects.for_merchant(merchant)
        .filter(invoice_number=clean["invoice_number"])
        .first()
    )
    if existing is not None:
        return _replay_or_conflict(existing, clean)
    try:
        with transaction.atomic():
            invoice = Invoice.objects.create(
                merchant=merchant,
                source=source,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
                **clean,
            )
            audit_event_record(
                merchant=merchant,
                action="invoice.created",
                obj=invoice,
                actor=actor,
                actor_label="" if actor else source,
                details={
                    "invoice_number": invoice.invoice_number,
                    "amount": str(invoice.amount),
                    "currency": invoice.currency,
                },
            )
    except IntegrityError:
        # the same number arrived twice at once: the first one stands
        existing = Invoice.objects.for_merchant(merchant).get(
            invoice_number=clean["invoice_number"]
        )
        return _replay_or_conflict(existing, clean)
    return invoice, False


def _replay_or_conflict(
    existing: Invoice, clean: dict[str, Any]
) -> tuple[Invoice, bool]:
    if _same(existing, clean):
        return existing, True
    raise Conflict(
        f"invoice {existing.invoice_number} already exists with other "
        f"{_differences(existing, clean)}",
        field="invoice_number",
    )


def _header(row: list[Cell]) -> dict[str, int]:
    names = {}
    for position, cell in enumerate(row):
        name = str(cell or "").strip().lower().replace(" ", "_").lstrip("\ufeff")
        if name:
            names[name] = position
    return names


def invoices_import(
    *,
    merchant: Merchant,
    file_bytes: bytes,
    filename: str = "",
    actor: Any = None,
) -> InvoiceImportResult:
    """A file of invoices: every row written, or none (the result lists each bad
    row's error). Rows already present with the same fields are skipped."""
    table = read_table(
        file_bytes,
        filename,
        max_rows=getattr(settings, "MAX_IMPORT_ROWS", 200_000),
        max_bytes=getattr(settings, "MAX_UPLOAD_MB", 20) * 1_048_576,
        encodings=("utf-8", "cp1252"),
    )
    rows = iter([*table.rows, *table.more])
    header_row = next(rows, None)
    if header_row is None:
        raise InvalidInput(gettext_noop("file: no header row"), field="file")
    header = _header(header_row)
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise InvalidInput(
            f"file: required column{'s' if len(missing) > 1 else ''} missing: "
            f"{', '.join(missing)} (the invoice CSV is "
            f"{', '.join(REQUIRED)}, and optionally {', '.join(OPTIONAL)})",
            field="file",
        )
    columns = {n: header[n] for n in (*REQUIRED, *OPTIONAL) if n in header}
    result = InvoiceImportResult()
    clean_rows: dict[str, tuple[int, dict[str, Any]]] = {}
    for line, row in enumerate(rows, start=table.first_line + 1):
        if not any(cell not in (None, "") for cell in row):
            continue
        fields = {
            name: row[position] if position < len(row) else None
            for name, position in columns.items()
        }
        try:
            clean = invoice_clean(fields)
        except InvalidInput as exc:
            result.errors.append(
                {"row": line, "field": exc.field or "", "message": exc.message}
            )
            continue
        number = clean["invoice_number"]
        if number in clean_rows:
            first_line, first = clean_rows[number]
            if first != clean:
                result.errors.append(
                    {
                        "row": line,
                        "field": "invoice_number",
                        "message": f"{number} is also on row {first_line} with "
                        "other fields",
                    }
                )
            else:
                result.skipped += 1
            continue
        clean_rows[number] = (line, clean)
    existing = _existing(merchant, list(clean_rows))
    fresh = []
    for number, (line, clean) in clean_rows.items():
        known = existing.get(number)
        if known is None:
            fresh.append(clean)
        elif _same(known, clean):
            result.skipped += 1
        else:
            result.errors.append(
                {
                    "row": line,
                    "field": "invoice_number",
                    "message": f"{number} already exists with other "
                    f"{_differences(known, clean)}",
                }
            )
    if result.errors:
        result.errors.sort(key=lambda e: e["row"])
        result.skipped = 0
        return result
    with transaction.atomic():
        Invoice.objects.bulk_create(
            [
                Invoice(
                    merchant=merchant,
                    source=Invoice.Source.FILE,
                    created_by=actor
                    if getattr(actor, "is_authenticated", False)
                    else None,
                    **clean,
                )
                for clean in fresh
            ],
            batch_size=BATCH,
        )
        audit_event_record(
            merchant=merchant,
            action="invoice.imported",
            actor=actor,
            actor_label="" if actor else "import",
            details={
                "file": filename,
                "inserted": len(fresh),
                "skipped": result.skipped,
            },
        )
    result.inserted = len(fresh)
    return result


def _existing(merchant: Merchant, numbers: list[str]) -> dict[str, Invoice]:
    found: dict[str, Invoice] = {}
    for start in range(0, len(numbers), BATCH):
        for invoice in Invoice.objects.for_merchant(merchant).filter(
            invoice_number__in=numbers[start : start + BATCH]
        ):
            found[invoice.invoice_number] = invoice
    return found
