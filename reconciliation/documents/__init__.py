"""The reconciliation report of a merchant and a period, as PDF or XLSX:
`render_reconciliation` is the one entry point (the command, the page and the
statement pack call it). Both formats print the same `ReportData`."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from core.exceptions import InvalidInput
from merchants.models import Merchant
from reconciliation.documents.data import ReportData, report_data

FORMATS = ("pdf", "xlsx")
MAX_PERIOD_DAYS = 3 * 366  # as a statement pack's


@dataclass(frozen=True)
class ReportResult:
    path: Path
    matched: int
    exceptions: int
    difference: dict[str, Decimal]  # per currency: Σ of the unexplained differences
    data: ReportData


def render_reconciliation(
    *,
    merchant: Merchant,
    date_from: dt.date,
    date_to: dt.date,
    fmt: str,
    out: str | os.PathLike,
    data: ReportData | None = None,
) -> ReportResult:
    """Write the report; the file appears whole (written beside it, renamed)."""
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
        raise InvalidInput("to: a report covers at most three years", field="to")
    if data is None:
        data = report_data(merchant=merchant, date_from=date_from, date_to=date_to)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", dir=target.parent, suffix=".part"
    )
    os.close(handle)
    try:
        if fmt == "pdf":
            from reconciliation.documents.pdf_report import pdf_write

            pdf_write(data, Path(temporary))
        else:
            from reconciliation.documents.xlsx_report import xlsx_write

            xlsx_write(data, Path(temporary))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return ReportResult(
        path=target,
        matched=data.match_count,
        exceptions=len(data.exceptions_open) + len(data.exceptions_resolved),
        difference=data.differences,
        data=data,
    )
