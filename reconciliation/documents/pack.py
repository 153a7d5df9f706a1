"""The reconciliation report in the auditor's statement pack (registered with
statements' pack parts in ReconciliationConfig.ready)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from merchants.models import Merchant
from reconciliation.documents import FORMATS, render_reconciliation
from reconciliation.documents.data import report_data

FOLDER = "reconciliation"


def reconciliation_pack_part(
    *, merchant: Merchant, date_from: dt.date, date_to: dt.date, out_dir: Path
) -> list[tuple[Path, dict[str, Any]]]:
    """The report as PDF and XLSX, from one reading of the database."""
    data = report_data(merchant=merchant, date_from=date_from, date_to=date_to)
    files = []
    for fmt in FORMATS:
        path = Path(out_dir) / FOLDER / f"reconciliation-{date_from}-{date_to}.{fmt}"
        render_reconciliation(
            merchant=merchant,
            date_from=date_from,
            date_to=date_to,
            fmt=fmt,
            out=path,
            data=data,
        )
        files.append(
            (
                path,
                {
                    "kind": "reconciliation",
                    "account": None,
                    "lines": data.match_count,
                    "opening": "",
                    "closing": "",
                },
            )
        )
    return files
