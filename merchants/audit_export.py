"""The audit log of a filter as CSV (streamed, with a UTF-8 BOM so Excel shows Khmer
names) or XLSX (xlsxwriter in constant memory): the page's columns, in words."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.db.models import QuerySet

from core.spreadsheets import UTF8_BOM, formula_looking, inert_text
from merchants.audit_actions import (
    action_words,
    details_text,
    local_time,
    object_name,
)
from merchants.models import AuditEvent

COLUMNS = ("When", "Who", "What", "Action code", "Object", "IP address", "Details")
WIDTHS = (20, 22, 40, 30, 24, 16, 80)
_FIELDS = (
    "created_at",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "ip_address",
    "details",
)
_CHUNK = 2000


def audit_rows(queryset: QuerySet[AuditEvent]) -> Iterator[tuple]:
    """(local time, who, words, code, object, ip, details text), newest first, read
    in chunks."""
    rows = (
        queryset.order_by("-created_at", "-pk")
        .values_list(*_FIELDS)
        .iterator(chunk_size=_CHUNK)
    )
    for created_at, actor, action, object_type, object_id, ip, details in rows:
        yield (
            local_time(created_at),
            actor,
            action_words(action),
            action,
            object_name(object_type, object_id),
            ip or "",
            details_text(details),
        )


class _Echo:
    def write(self, value: str) -> str:
        return value


def audit_csv_stream(queryset: QuerySet[AuditEvent]) -> Iterator[str]:
    """The BOM and header, then one CSV line per event as it is read."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield UTF8_BOM + writer.writerow(COLUMNS)
    for row in audit_rows(queryset):
        when, *text = row
        yield writer.writerow(
            [when.strftime("%Y-%m-%d %H:%M:%S"), *(inert_text(t) for t in text)]
        )


def audit_xlsx_write(queryset: QuerySet[AuditEvent]) -> Path:
    """A workbook of the filter's events in a temporary file (the caller sends and
    removes it); rows go to disk as they are written."""
    import xlsxwriter

    handle, name = tempfile.mkstemp(prefix="tonle-audit-", suffix=".xlsx")
    os.close(handle)
    workbook = xlsxwriter.Workbook(name, {"constant_memory": True})
    try:
        sheet = workbook.add_worksheet("Audit log")
        header = workbook.add_format({"bold": True, "bg_color": "#F1F3F6"})
        quoted = workbook.add_format({"quote_prefix": True})
        stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        for col, width in enumerate(WIDTHS):
            sheet.set_column(col, col, width)
        for col, title in enumerate(COLUMNS):
            sheet.write_string(0, col, title, header)
        sheet.freeze_panes(1, 0)
        count = 0
        for count, row in enumerate(audit_rows(queryset), start=1):
            when, *text = row
            sheet.write_datetime(count, 0, when.replace(tzinfo=None), stamp)
            for col, value in enumerate(text, start=1):
                if value:
                    sheet.write_string(
                        count, col, value, quoted if formula_looking(value) else None
                    )
        sheet.autofilter(0, 0, max(count, 1), len(COLUMNS) - 1)
    finally:
        workbook.close()
    return Path(name)
