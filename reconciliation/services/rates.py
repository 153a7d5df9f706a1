"""Daily exchange rates from a CSV `date, base, quote, rate` (e.g. `2026-01-05,
USD, KHR, 4012`): a day's rate is replaced when the file says otherwise. All rows
or none."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop

from core.exceptions import InvalidInput
from core.money import CURRENCIES
from core.periods import date_parse
from reconciliation.models import ExchangeRate
from statements.imports.readers import read_table

COLUMNS = ("date", "base", "quote", "rate")
MAX_ROWS = 100_000


@dataclass
class RatesImportResult:
    inserted: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "errors": self.errors,
        }


def _rate(text: Any) -> Decimal:
    raw = str(text if text is not None else "").strip().replace(",", "")
    try:
        rate = Decimal(raw)
    except InvalidOperation:
        raise InvalidInput(f"rate: {text!r} is not a number", field="rate") from None
    if not rate.is_finite() or rate <= 0:
        raise InvalidInput(f"rate: {text!r} must be a positive number", field="rate")
    return rate


def exchange_rates_import(
    *, file_bytes: bytes, filename: str = ""
) -> RatesImportResult:
    """Load a rates file; every row checked before anything is written."""
    table = read_table(
        file_bytes, filename, max_rows=MAX_ROWS, max_bytes=20 * 1_048_576
    )
    rows = iter([*table.rows, *table.more])
    header = [str(c or "").strip().lower().lstrip("\ufeff") for c in next(rows, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InvalidInput(
            f"file: column{'s' if len(missing) > 1 else ''} missing: "
            f"{', '.join(missing)} (the rates CSV is date, base, quote, rate)",
            field="file",
        )
    at = {name: header.index(name) for name in COLUMNS}
    result = RatesImportResult()
    parsed: dict[tuple, Decimal] = {}
    for line, row in enumerate(rows, start=table.first_line + 1):
        if not any(c not in (None, "") for c in row):
            continue
        cells = {n: (row[i] if i < len(row) else None) for n, i in at.items()}
        try:
            day = cells["date"]
            if not hasattr(day, "year"):
                day = date_parse(str(day or "").strip(), field="date")
            elif hasattr(day, "date"):
                day = day.date()
            base = str(cells["base"] or "").strip().upper()
            quote = str(cells["quote"] or "").strip().upper()
            for name, code in (("base", base), ("quote", quote)):
                if code not in CURRENCIES:
                    raise InvalidInput(
                        f"{name}: {cells[name]!r} is not KHR, USD or THB", field=name
                    )
            if base == quote:
                raise InvalidInput(
                    gettext_noop("quote: must differ from base"), field="quote"
                )
            rate = _rate(cells["rate"])
        except InvalidInput as exc:
            result.errors.append(
                {"row": line, "field": exc.field or "", "message": exc.message}
            )
            continue
        key = (day, base, quote)
        if key in parsed and parsed[key] != rate:
            result.errors.append(
                {
                    "row": line,
                    "field": "rate",
                    "message": f"{day} {base}/{quote} appears twice with two rates",
                }
            )
        parsed[key] = rate
    if result.errors:
        return result
    with transaction.atomic():
        for (day, base, quote), rate in parsed.items():
            current = ExchangeRate.objects.filter(
                date=day, base=base, quote=quote
            ).first()
            if current is None:
                ExchangeRate.objects.create(
                    date=day, base=base, quote=quote, rate=rate, source=filename
                )
                result.inserted += 1
            elif current.rate != rate:
                current.rate, current.source = rate, filename
                current.save(update_fields=["rate", "source", "updated_at"])
                result.updated += 1
    return result


def rate_on(*, day, base: str, quote: str, days_back: int = 7):
    """The newest rate on or before `day` (at most `days_back` old), either way
    round: (rate, the rate's day) or None."""
    import datetime as dt

    since = day - dt.timedelta(days=days_back)
    direct = (
        ExchangeRate.objects.filter(
            base=base, quote=quote, date__lte=day, date__gte=since
        )
        .order_by("-date")
        .first()
    )
    inverse = (
        ExchangeRate.objects.filter(
            base=quote, quote=base, date__lte=day, date__gte=since
        )
        .order_by("-date")
        .first()
    )
    if direct is not None and (inverse is None or direct.date >= inverse.date):
        return direct.rate, direct.date
    if inverse is not None:
        return Decimal(1) / inverse.rate, inverse.date
    return None
