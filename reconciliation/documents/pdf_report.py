"""The reconciliation report as PDF, with reportlab's platypus: the summary, the
differences, a bank reconciliation statement per account and the exceptions are
tables; the matches (tens of thousands in a big month) are page-sized blocks of
rows drawn straight on the canvas, which platypus places like any flowable (a
LongTable of 20,000 rows takes platypus most of a minute).

Khmer headings are shaped with HarfBuzz (reportlab's `shaping`), in the embedded
Noto Sans Khmer of the statements (statements.documents.pdf_statement)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from core.money import format_number
from reconciliation.documents.data import (
    DIFFERENCE_LABELS,
    SUMMARY_ROWS,
    BankReconciliation,
    MatchRow,
    ReportData,
)
from reconciliation.documents.words import DEFINITIONS, KM
from statements.documents.pdf_statement import (
    FONT,
    FONT_BOLD,
    KHMER_FONT,
    UNICODE_FONT,
    fit,
    fonts_register,
)

PAGE = landscape(A4)
MARGIN = 28
RED = colors.HexColor("#B42318")
GREY = colors.HexColor("#F1F3F6")
ROW_HEIGHT = 10
ROW_SIZE = 7
# (title, x from the left margin, clip width or None when right-aligned at x)
MATCH_COLUMNS = (
    ("Match", 0, 34),
    ("Day", 36, 44),
    ("Status", 82, 42),
    ("Tier · rule", 126, 94),
    ("Expected", 222, 150),
    ("Received by", 376, 150),
    ("Expected", 600, None),
    ("Received", 660, None),
    ("Difference", 712, None),
    ("Booked as", 716, 34),
    ("Decided", 752, 34),
)


def _styles() -> dict[str, ParagraphStyle]:
    base = {"fontName": UNICODE_FONT, "shaping": 1}
    return {
        "title": ParagraphStyle("title", fontSize=16, leading=22, **base),
        "h2": ParagraphStyle("h2", fontSize=12, leading=18, spaceBefore=10, **base),
        "body": ParagraphStyle("body", fontSize=8, leading=11, **base),
        "small": ParagraphStyle("small", fontSize=7, leading=9, **base),
        # English and ids only: Helvetica, nothing to shape (ten times cheaper)
        "plain": ParagraphStyle("plain", fontName=FONT, fontSize=7, leading=9),
        "cell": ParagraphStyle("cell", fontSize=7.5, leading=9.5, **base),
    }


def _en(text: str, bold: bool = False) -> str:
    """English in Helvetica: not shaped, so no ligature hides "ff" from search."""
    return f'<font name="{FONT_BOLD if bold else FONT}">{escape(text)}</font>'


def _km(text: str) -> str:
    return f'<font name="{KHMER_FONT}">{escape(text)}</font>'


def _heading(english: str, khmer: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(f"{_en(english, bold=True)} · {_km(khmer)}", style)


def _money(value: Decimal | None, currency: str, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    text = format_number(value, currency)
    return f"+{text}" if signed and value > 0 else text


class MatchRows(Flowable):
    """One page's worth of match rows, drawn on the canvas."""

    def __init__(self, rows: list[MatchRow], first: bool) -> None:
        super().__init__()
        self.rows = rows
        self.first = first

    def wrap(self, available_width, available_height):
        return PAGE[0] - 2 * MARGIN, (len(self.rows) + 1.6) * ROW_HEIGHT

    def draw(self) -> None:
        # one text object for the block, the operators written directly (as the
        # statement's rows are): drawString per cell costs 3 s on 20,000 rows
        canvas = self.canv
        text = canvas.beginText()
        code = text._code.append
        width = pdfmetrics.stringWidth

        def put(x: float, y: float, value: str, right: bool = False, font=FONT):
            if right:
                x -= width(value, font, ROW_SIZE)
            if not value.isascii():  # Helvetica's WinAnsi bytes ("…" is 0x85)
                value = value.encode("cp1252", "replace").decode("latin-1")
            code(f"1 0 0 1 {fp_str(x, y)} Tm ({escapePDF(value)}) Tj")

        y = (len(self.rows) + 1.6) * ROW_HEIGHT - ROW_HEIGHT
        text.setFont(FONT_BOLD, ROW_SIZE)
        for title, x, clip in MATCH_COLUMNS:
            put(x, y, title, right=clip is None, font=FONT_BOLD)
        canvas.setStrokeGray(0.85)
        canvas.line(0, y - 3, PAGE[0] - 2 * MARGIN, y - 3)
        y -= ROW_HEIGHT * 1.3
        text.setFont(FONT, ROW_SIZE)
        for row in self.rows:
            c = row.currency
            put(0, y, f"#{row.pk}")
            put(36, y, f"{row.day:%Y-%m-%d}")
            put(82, y, row.status)
            put(126, y, fit(f"{row.tier} {row.rule}", 94, ROW_SIZE))
            put(222, y, fit(row.expected, 150, ROW_SIZE))
            put(376, y, fit(row.posted, 150, ROW_SIZE))
            put(600, y, f"{_money(row.expected_amount, c)} {c}", right=True)
            put(660, y, _money(row.posted_amount, c), right=True)
            if row.difference:
                red = not row.difference_kind and row.status != "proposed"
                if red:
                    text.setFillColor(RED)
                put(712, y, _money(row.difference, c, signed=True), right=True)
                if red:
                    text.setFillColor(colors.black)
                kind = DIFFERENCE_LABELS.get(row.difference_kind, "")
                put(716, y, fit(kind, 34, ROW_SIZE))
            if row.decided:
                put(752, y, fit(row.decided, 34, ROW_SIZE))
            y -= ROW_HEIGHT
        canvas.drawText(text)


def _ascii(text: str) -> str:
    """Match rows are drawn in Helvetica: keep what WinAnsi can show."""
    return text.encode("cp1252", "replace").decode("cp1252")


def _match_blocks(data: ReportData, height: float):
    per_page = int(height // ROW_HEIGHT) - 3
    block: list[MatchRow] = []
    first = True
    for row in data.matches():
        block.append(
            row._replace(expected=_ascii(row.expected), posted=_ascii(row.posted))
            if not (row.expected.isascii() and row.posted.isascii())
            else row
        )
        if len(block) == per_page:
            yield MatchRows(block, first)
            block, first = [], False
    if block or first:
        yield MatchRows(block, first)


def _para(text: str, st) -> Paragraph:
    """A small paragraph, shaped only when it holds more than WinAnsi shows."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return Paragraph(escape(text), st["small"])
    return Paragraph(escape(text), st["plain"])


def _table(rows, widths, *, header: bool = True, extra=()) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("FONT", (0, 0), (-1, -1), UNICODE_FONT, 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#E3E6EB")),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), GREY)]
    table.setStyle(TableStyle(style + list(extra)))
    return table


def _summary(data: ReportData, st) -> list:
    story = [_heading("Summary", KM["summary"], st["h2"])]
    currencies = [s.currency for s in data.summaries]
    rows = [["", *currencies]]
    for key, english, khmer in SUMMARY_ROWS:
        label = Paragraph(f"{_en(english)} · {_km(khmer)}", st["cell"])
        rows.append(
            [label, *(_money(s.figures[key], s.currency) for s in data.summaries)]
        )
    widths = [260] + [110] * len(currencies)
    story.append(_table(rows, widths, extra=[("ALIGN", (1, 0), (-1, -1), "RIGHT")]))
    rows = [["Difference booked as", "Currency", "Amount"]]
    for summary in data.summaries:
        for kind, total in sorted(summary.differences.items()):
            rows.append(
                [
                    DIFFERENCE_LABELS.get(kind, kind),
                    summary.currency,
                    _money(total, summary.currency, signed=True),
                ]
            )
    if len(rows) > 1:
        story += [
            _heading("Differences by kind and currency", KM["differences"], st["h2"]),
            _table(rows, [260, 110, 110], extra=[("ALIGN", (2, 0), (2, -1), "RIGHT")]),
        ]
    return story


def _bank(bank: BankReconciliation, st) -> list:
    c = bank.currency
    difference = bank.difference
    rows = [
        [f"{bank.account.label} · {bank.account.number}", f"{c}", "Items"],
        [Paragraph(_en(f"Balance per the ledger at {bank.date_to:%d %b %Y}")
                   + f" · {_km(KM['ledger_balance'])}", st["cell"]),
         _money(bank.ledger, c), ""],
        ["Less: ledger lines the bank has not reported yet",
         _money(-bank.unreported_total, c), str(len(bank.unreported))],
        ["Add: Bakong-confirmed payments not yet on the bank's statement",
         _money(bank.unposted_total, c), str(len(bank.unposted))],
        ["Adjusted balance", _money(bank.adjusted, c), ""],
        [Paragraph(_en("Balance per the bank statement")
                   + f" · {_km(KM['bank_balance'])}<br/><font name=\"{FONT}\" "
                   f"size=6.5>{escape(bank.bank_source_words)}</font>", st["cell"]),
         _money(bank.bank, c) if bank.bank is not None else "not reported", ""],
        [Paragraph(f"{_en('Difference', bold=True)} · {_km(KM['difference'])}",
                   st["cell"]),
         _money(difference, c, signed=True) if difference is not None
         else "cannot be tied",
         "ties out" if bank.ties else ("unexplained" if difference else "")],
    ]  # fmt: skip
    extra = [
        ("ALIGN", (1, 0), (2, -1), "RIGHT"),
        ("FONT", (0, 4), (-1, 4), FONT_BOLD, 8),
        ("LINEABOVE", (0, 4), (-1, 4), 0.75, colors.black),
        ("LINEABOVE", (0, 6), (-1, 6), 0.75, colors.black),
    ]
    if difference:
        extra += [
            ("TEXTCOLOR", (1, 6), (2, 6), RED),
            ("FONT", (1, 6), (2, 6), FONT_BOLD, 8),
        ]
    story = [_table(rows, [420, 120, 80], extra=extra)]
    listed = [
        [f"Not yet reported by the bank: {i.label}", f"{i.day}", _money(i.amount, c)]
        for i in bank.unreported[:50]
    ] + [
        [f"Not yet on the bank's statement: {i.label} ({i.note})", f"{i.day}",
         _money(i.amount, c)]
        for i in bank.unposted[:50]
    ] + [
        [Paragraph(f"Balance gap: {escape(g.detail)}", st["small"]), f"{g.day}",
         _money(g.amount, c)]
        for g in bank.gaps
    ]  # fmt: skip
    if listed:
        story.append(
            _table(listed, [420, 120, 80], header=False,
                   extra=[("FONT", (0, 0), (-1, -1), UNICODE_FONT, 7),
                          ("ALIGN", (2, 0), (2, -1), "RIGHT")])
        )  # fmt: skip
    story.append(Spacer(1, 10))
    return story


def _exceptions(data: ReportData, st) -> list:
    story = [_heading("Exceptions", KM["exceptions"], st["h2"])]
    for title, found in (
        ("Open and carried forward", data.exceptions_open),
        ("Resolved", data.exceptions_resolved),
    ):
        story.append(Paragraph(_en(f"{title} ({len(found)})", True), st["body"]))
        if not found:
            continue
        rows = [["#", "Day", "Reason", "Amount", "Detail", "Status / resolution"]]
        for e in found:
            status = e.get_status_display()
            if e.resolution:
                who = e.resolved_by.get_username() if e.resolved_by else "a later run"
                status = (
                    f"{e.get_resolution_display()} by {who} "
                    f"{e.resolved_at:%Y-%m-%d}: {e.resolution_note}"
                )
            rows.append(
                [
                    str(e.pk),
                    f"{e.day}",
                    e.get_reason_display(),
                    f"{_money(e.amount, e.currency)} {e.currency}",
                    _para(e.detail, st),
                    _para(status, st),
                ]
            )
        story.append(
            _table(rows, [34, 56, 100, 90, 300, 206],
                   extra=[("ALIGN", (3, 0), (3, -1), "RIGHT")])
        )  # fmt: skip
    return story


def pdf_write(data: ReportData, path: Path) -> None:
    fonts_register()
    st = _styles()
    merchant = data.merchant
    width, height = PAGE
    frame = Frame(
        MARGIN,
        MARGIN + 12,
        width - 2 * MARGIN,
        height - 2 * MARGIN - 24,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    name = merchant.legal_name or merchant.display_name

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(
            MARGIN, MARGIN - 6,
            f"Reconciliation report · {name} · {data.period_label} · "
            f"generated {data.generated_local}",
        )  # fmt: skip
        canvas.drawRightString(width - MARGIN, MARGIN - 6, f"page {doc.page}")
        canvas.restoreState()

    doc = BaseDocTemplate(
        str(path),
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"Reconciliation report {name} {data.period_label}",
        author="Tonle",
        creator="Tonle",
        pageTemplates=[PageTemplate(id="page", frames=[frame], onPage=footer)],
    )
    title = escape(name) + (f"  {_km(merchant.name_km)}" if merchant.name_km else "")
    story: list = [
        Paragraph(
            f"{_en('Reconciliation report', True)} · {_km(KM['title'])}", st["title"]
        ),
        Paragraph(title, st["h2"]),
        Paragraph(
            f"Period {data.period_label} · generated {data.generated_local} · "
            f"{data.match_count:,} matches · "
            f"{len(data.exceptions_open)} open and "
            f"{len(data.exceptions_resolved)} resolved exceptions",
            st["body"],
        ),
    ]
    story += _summary(data, st)
    story.append(
        _heading("Bank reconciliation statements", KM["bank_statement"], st["h2"])
    )
    for bank in data.banks:
        story += _bank(bank, st)
    story.append(_heading("Definitions", "និយមន័យ", st["h2"]))
    story += [_para(line, st) for line in DEFINITIONS]
    story += _exceptions(data, st)
    story.append(_heading("Matched pairs and groups", KM["matches"], st["h2"]))
    story += list(_match_blocks(data, frame._aH))
    doc.build(story)
