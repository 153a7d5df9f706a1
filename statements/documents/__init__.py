"""Statement documents: PDF, XLSX and CSV of one account and period, streamed from
the ledger in bounded memory. `render_statement` is the one entry point."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from core.exceptions import InvalidInput
from merchants.models import Account
from statements.documents.common import StatementContext
from statements.services.balances import PeriodBalance, period_balance

FORMATS = ("pdf", "xlsx", "csv")
MAX_PERIOD_DAYS = 3 * 366


@dataclass(frozen=True)
class RenderResult:
    path: Path
    lines: int
    opening: Decimal
    closing: Decimal
    period: PeriodBalance | None = None


def render_statement(
    *,
    account: Account,
    date_from: dt.date,
    date_to: dt.date,
    fmt: str,
    out: str | os.PathLike,
    period: PeriodBalance | None = None,
    excel: bool = False,
) -> RenderResult:
    """Write one statement document; the file appears whole (written beside it and
    renamed) and its line count and closing are checked against the ledger.
    `excel` makes a CSV Excel's kind (UTF-8 BOM, CRLF); the canonical CSV has
    neither."""
    if fmt not in FORMATS:
        raise InvalidInput(
            f"format: {fmt!r}; use one of {', '.join(FORMATS)}", field="format"
        )
    if date_to < date_from:
        raise InvalidInput(
            f"to: the period ends ({date_to}) before it starts ({date_from})",
            field="to",
        )
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise InvalidInput("to: a statement covers at most three years", field="to")
    if period is None:
        period = period_balance(account=account, date_from=date_from, date_to=date_to)
    context = StatementContext(
        merchant=account.merchant,
        account=account,
        period=period,
        generated_at=timezone.now(),
    )
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", dir=target.parent, suffix=".part"
    )
    os.close(handle)
    try:
        lines = _write(fmt, context, Path(temporary), excel=excel)
        if lines != period.lines:
            raise InvalidInput(
                f"the statement has {lines} lines but the ledger counts "
                f"{period.lines}; render it again"
            )
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return RenderResult(
        path=target,
        lines=lines,
        opening=period.opening,
        closing=period.closing,
        period=period,
    )


def _write(fmt: str, context: StatementContext, path: Path, *, excel: bool) -> int:
    if fmt == "csv":
        from statements.documents.csv_statement import csv_write

        with path.open("w", encoding="utf-8", newline="") as stream:
            return csv_write(context, stream, excel=excel)
    if fmt == "xlsx":
        from statements.documents.xlsx_statement import xlsx_write

        return xlsx_write(context, path)
    from statements.documents.pdf_statement import pdf_write

    return pdf_write(context, path)
