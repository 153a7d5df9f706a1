"""The reconciliation report as XLSX, with xlsxwriter in constant_memory mode
(rows go to disk as they are written), as the statements are: openpyxl's
write-only mode took 10 s for the 270,000 cells of a 20,000-match month here,
xlsxwriter under 3 (bench/reconciliation_report.py). Amounts are numbers in the
currency's number format; text is always a text cell (a reference that starts
with "=" is never a formula); headings are in English and Khmer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from reconciliation.documents.data import (
    DIFFERENCE_LABELS,
    SUMMARY_ROWS,
    BankReconciliation,
    ReportData,
)
from reconciliation.documents.language import translated, words
from reconciliation.documents.words import DEFINITIONS, KM
from reconciliation.models import DifferenceKind, MatchStatus
from reconciliation.reason_words import reason_words
from reconciliation.rule_words import rule_words
from statements.documents.xlsx_statement import number_format

# a match's status and its difference's kind in the report's language
STATUS_WORDS = dict(MatchStatus.choices)
KIND_WORDS = {key: label for key, label in DifferenceKind.choices if key}

BOLD = {"bold": True}
TITLE = {"bold": True, "font_size": 14}
RED = {"bold": True, "font_color": "#B42318"}
HEAD = {"bold": True, "bg_color": "#F1F3F6", "border": 1}


class _Cell:
    """A value with its look: text, a number in a currency, a date."""

    __slots__ = ("value", "style", "currency")

    def __init__(self, value, style: dict | None = None, currency: str = "") -> None:
        self.value, self.style, self.currency = value, style, currency


class _Sheet:
    """Rows appended to a constant_memory worksheet, formats made once."""

    def __init__(self, workbook, title: str, widths: list[int]) -> None:
        self.workbook = workbook
        self.sheet = workbook.add_worksheet(title)
        for index, width in enumerate(widths):
            self.sheet.set_column(index, index, width)
        self.next = 0
        self._formats: dict[tuple, object] = {}

    def fmt(self, style: dict | None, currency: str = "", date: bool = False):
        key = (tuple(sorted((style or {}).items())), currency, date)
        if key not in self._formats:
            spec = dict(style or {})
            if currency:
                spec["num_format"] = number_format(currency)
            if date:
                spec["num_format"] = "yyyy-mm-dd"
            self._formats[key] = self.workbook.add_format(spec) if spec else None
        return self._formats[key]

    def text(self, value: str, style: dict | None = None) -> _Cell:
        return _Cell(value or "", style)

    def money(
        self, value: Decimal | None, currency: str, style: dict | None = None
    ) -> _Cell | None:
        return None if value is None else _Cell(value, style, currency)

    def row(self, *cells) -> None:
        write, r = self.sheet, self.next
        for c, cell in enumerate(cells):
            if cell is None:
                continue
            if not isinstance(cell, _Cell):
                cell = _Cell(cell)
            value = cell.value
            if isinstance(value, str):
                write.write_string(r, c, value, self.fmt(cell.style))
            elif isinstance(value, dt.date):
                write.write_datetime(
                    r,
                    c,
                    dt.datetime.combine(value, dt.time()),
                    self.fmt(None, date=True),
                )
            elif isinstance(value, (int, Decimal)):
                write.write_number(r, c, value, self.fmt(cell.style, cell.currency))
        self.next += 1

    def head(self, *labels: str) -> None:
        self.row(*(self.text(label, HEAD) for label in labels))


def xlsx_write(data: ReportData, path: Path) -> None:
    workbook = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_numbers": False}
    )
    try:
        _summary(workbook, data)
        _banks(workbook, data)
        _matches(workbook, data)
        _exceptions(workbook, data)
    finally:
        workbook.close()


def _summary(workbook, data: ReportData) -> None:
    s = _Sheet(workbook, "Summary", [44, 20, 12, 20, 12, 20, 12])
    merchant = data.merchant
    s.row(s.text(words(gettext_noop("Reconciliation report"), KM["title"]), TITLE))
    s.row(
        s.text(_("Merchant"), BOLD),
        s.text(merchant.legal_name or merchant.display_name),
    )
    if merchant.name_km:
        s.row(s.text(_("Merchant (Khmer)"), BOLD), s.text(merchant.name_km))
    s.row(
        s.text(_("Period"), BOLD),
        s.text(
            _("%(start)s to %(end)s") % {"start": data.date_from, "end": data.date_to}
        ),
    )
    s.row(s.text(_("Generated at"), BOLD), s.text(data.generated_local))
    s.row(s.text(_("Matches"), BOLD), data.match_count)
    s.row()
    s.row(s.text(words(gettext_noop("Summary"), KM["summary"]), BOLD))
    currencies = [summary.currency for summary in data.summaries]
    s.head("", *currencies)
    for key, english, khmer in SUMMARY_ROWS:
        cells = [s.text(words(english, khmer))]
        for summary in data.summaries:
            cells.append(s.money(summary.figures[key], summary.currency))
        s.row(*cells)
    s.row()
    s.row(s.text(words(gettext_noop("Differences by kind"), KM["differences"]), BOLD))
    s.head(_("Kind"), _("Currency"), _("Amount"))
    for summary in data.summaries:
        for kind, total in sorted(summary.differences.items()):
            s.row(
                s.text(_(DIFFERENCE_LABELS.get(kind, kind))),
                s.text(summary.currency),
                s.money(total, summary.currency),
            )
    s.row()
    s.row(s.text(_("Unexplained bank differences (Σ of the statements)"), BOLD))
    for currency, total in data.differences.items():
        s.row(
            s.text(currency),
            s.money(total, currency, RED if total else None),
        )
    s.row()
    s.row(s.text(_("Definitions"), BOLD))
    for line in DEFINITIONS:
        s.row(s.text(_(line)))


def _bank_block(s: _Sheet, bank: BankReconciliation) -> None:
    c = bank.currency
    s.row(s.text(f"{bank.account.label} · {bank.account.number}", BOLD))
    s.head(f"{KM['bank_statement']} · {bank.date_to}", _("Amount"), _("Items"))
    s.row(s.text(words(gettext_noop("Balance per the ledger"), KM["ledger_balance"])),
          s.money(bank.ledger, c))  # fmt: skip
    s.row(
        s.text(_("Less: ledger lines the bank has not reported yet")),
        s.money(-bank.unreported_total, c),
        len(bank.unreported),
    )
    s.row(
        s.text(_("Add: Bakong-confirmed payments not yet on the bank's statement")),
        s.money(bank.unposted_total, c),
        len(bank.unposted),
    )
    s.row(s.text(_("Adjusted balance"), BOLD), s.money(bank.adjusted, c, BOLD))
    s.row(
        s.text(
            words(gettext_noop("Balance per the bank statement"), KM["bank_balance"]),
            BOLD,
        ),
        s.money(bank.bank, c, BOLD) or s.text(_("not reported")),
        s.text(bank.bank_source_words),
    )
    difference = bank.difference
    s.row(
        s.text(words(gettext_noop("Difference"), KM["difference"]), BOLD),
        s.money(difference, c, RED if difference else BOLD)
        or s.text(_("cannot be tied")),
        s.text(_("ties out") if bank.ties else _("unexplained") if difference else ""),
    )
    for title, items in (
        (_("Not yet reported by the bank"), bank.unreported),
        (_("Not yet on the bank's statement"), bank.unposted),
    ):
        for item in items:
            s.row(
                s.text(f"  {title}: {item.label} ({item.day}) {item.note}"),
                s.money(item.amount, c),
            )
    for gap in bank.gaps:
        s.row(
            s.text(
                "  " + _("Balance gap %(day)s:") % {"day": gap.day} + f" {gap.detail}"
            ),
            s.money(gap.amount, c),
        )
    s.row()


def _banks(workbook, data: ReportData) -> None:
    s = _Sheet(workbook, "Bank reconciliation", [70, 20, 60])
    s.row(
        s.text(
            words(gettext_noop("Bank reconciliation statements"), KM["bank_statement"]),
            TITLE,
        )
    )
    s.row(s.text(_("At %(day)s, per account") % {"day": data.date_to}))
    s.row()
    for bank in data.banks:
        _bank_block(s, bank)


# translated when written
MATCH_HEADS = (
    gettext_noop("Match"), gettext_noop("Day"), gettext_noop("Status"),
    gettext_noop("Tier"), gettext_noop("Rule"), gettext_noop("Expected"),
    gettext_noop("Posted"), gettext_noop("Currency"),
    gettext_noop("Expected amount"), gettext_noop("Received amount"),
    gettext_noop("Difference"), gettext_noop("Booked as"), gettext_noop("Decided"),
    gettext_noop("Reason"),
)  # fmt: skip


def _matches(workbook, data: ReportData) -> None:
    s = _Sheet(
        workbook, "Matches", [8, 11, 10, 5, 30, 28, 28, 8, 15, 15, 12, 14, 22, 60]
    )
    s.head(*(_(head) for head in MATCH_HEADS))
    s.head(*("", "", "", "", "", KM["expected"], KM["received"]), *[""] * 7)
    for row in data.matches():
        c = row.currency
        s.row(
            row.pk, row.day, str(STATUS_WORDS.get(row.status, row.status)),
            row.tier, s.text(rule_words(row.rule)),
            s.text(row.expected), s.text(row.posted), c,
            _Cell(row.expected_amount, None, c), _Cell(row.posted_amount, None, c),
            _Cell(row.difference, None, c),
            str(KIND_WORDS.get(row.difference_kind, row.difference_kind)),
            s.text(row.decided),
            s.text(reason_words(row.reason)),
        )  # fmt: skip


def _exceptions(workbook, data: ReportData) -> None:
    s = _Sheet(workbook, "Exceptions", [8, 11, 24, 8, 15, 12, 14, 60, 40, 22])
    s.head(
        _("Exception"), _("Day"), _("Reason"), _("Currency"), _("Amount"),
        _("Status"), _("Resolution"), _("Detail"), _("Note"), _("Resolved"),
    )  # fmt: skip
    for exception in [*data.exceptions_open, *data.exceptions_resolved]:
        resolved = ""
        if exception.resolved_at:
            who = (
                exception.resolved_by.get_username() if exception.resolved_by else "run"
            )
            resolved = f"{who} {exception.resolved_at:%Y-%m-%d}"
        s.row(
            exception.pk, exception.day, s.text(exception.get_reason_display()),
            exception.currency, s.money(exception.amount, exception.currency),
            *_exception_state(exception),
            s.text(reason_words(exception.detail)),
            s.text(exception.resolution_note), s.text(resolved),
        )  # fmt: skip


def _exception_state(exception) -> tuple[str, str]:
    """Status and resolution: the codes in the English workbook (as it always
    had them), their words in a translated one."""
    if not translated("Status"):
        return exception.status, exception.resolution
    resolution = exception.get_resolution_display() if exception.resolution else ""
    return str(exception.get_status_display()), str(resolution)
