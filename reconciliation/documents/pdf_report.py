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

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
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
from reconciliation.documents.language import translated
from reconciliation.documents.words import DEFINITIONS, KM
from reconciliation.models import MatchStatus
from reconciliation.reason_words import reason_words
from reconciliation.rule_words import rule_words
from statements.documents.pdf_statement import (
    FONT,
    FONT_BOLD,
    KHMER_FONT,
    UNICODE_FONT,
    _Page,
    _runs,
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
# (titles are translated when drawn)
MATCH_COLUMNS = (
    (gettext_noop("Match"), 0, 34),
    (gettext_noop("Day"), 36, 44),
    (gettext_noop("Status"), 82, 42),
    (gettext_noop("Tier · rule"), 126, 94),
    (gettext_noop("Expected"), 222, 150),
    (gettext_noop("Received by"), 376, 150),
    (gettext_noop("Expected"), 600, None),
    (gettext_noop("Received"), 660, None),
    (gettext_noop("Difference"), 712, None),
    (gettext_noop("Booked as"), 716, 34),
    (gettext_noop("Decided"), 752, 34),
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


class Shaped(Flowable):
    """One line drawn the statement's way (statements.documents.pdf_statement):
    Khmer runs shaped with HarfBuzz in Noto Sans Khmer, with the invisible
    logical text search and copy find; the rest in Helvetica. Cut to the width."""

    def __init__(self, text: str, size: float, bold: bool = False, space=0.0):
        super().__init__()
        self.text, self.size, self.bold = text, size, bold
        self.spaceBefore = space

    def wrap(self, available_width, available_height):
        self.width = available_width
        return available_width, self.size * 1.5

    def draw(self) -> None:
        page = _Page(self.canv)
        line = fit(self.text, self.width, self.size, self.bold)
        page.draw(0, self.size * 0.4, line, self.size, self.bold)
        page.finish()


def _heading(english: str, khmer: str, style: ParagraphStyle):
    """English · Khmer in English; the translation alone, shaped, otherwise."""
    if translated(english):
        return Shaped(_(english), style.fontSize, bold=True, space=style.spaceBefore)
    return Paragraph(f"{_en(english, bold=True)} · {_km(khmer)}", style)


def _cell(english: str, size: float = 8, bold: bool = False):
    """A table cell's words: the English string as it always was, a translation
    as a shaped line (Noto Sans, the tables' font, has no Khmer)."""
    words = _(english)
    return Shaped(words, size, bold) if words != english else english


def _cell_words(text: str, size: float = 8, bold: bool = False):
    """Words already translated: shaped when WinAnsi cannot show them."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return Shaped(text, size, bold)
    return text


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

        shaped = _Page(canvas)

        def put(x: float, y: float, value: str, right: bool = False, font=FONT):
            if not value.isascii() and any(kind != FONT for kind, _r in _runs(value)):
                # a translated title or label: the statement's shaped path
                bold = font == FONT_BOLD
                if right:
                    shaped.draw_right(x, y, value, ROW_SIZE, bold)
                else:
                    shaped.draw(x, y, value, ROW_SIZE, bold)
                return
            if right:
                x -= width(value, font, ROW_SIZE)
            if not value.isascii():  # Helvetica's WinAnsi bytes ("…" is 0x85)
                value = value.encode("cp1252", "replace").decode("latin-1")
            code(f"1 0 0 1 {fp_str(x, y)} Tm ({escapePDF(value)}) Tj")

        y = (len(self.rows) + 1.6) * ROW_HEIGHT - ROW_HEIGHT
        text.setFont(FONT_BOLD, ROW_SIZE)
        for title, x, clip in MATCH_COLUMNS:
            words = _(title)
            if clip is not None and words != title:
                words = fit(words, clip, ROW_SIZE, True)
            put(x, y, words, right=clip is None, font=FONT_BOLD)
        canvas.setStrokeGray(0.85)
        canvas.line(0, y - 3, PAGE[0] - 2 * MARGIN, y - 3)
        y -= ROW_HEIGHT * 1.3
        text.setFont(FONT, ROW_SIZE)
        status_cell, rule_cell = _row_words()
        for row in self.rows:
            c = row.currency
            put(0, y, f"#{row.pk}")
            put(36, y, f"{row.day:%Y-%m-%d}")
            put(82, y, status_cell(row.status))
            put(126, y, rule_cell(row.tier, row.rule))
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
                kind = _(DIFFERENCE_LABELS.get(row.difference_kind, ""))
                put(716, y, fit(kind, 34, ROW_SIZE))
            if row.decided:
                put(752, y, fit(row.decided, 34, ROW_SIZE))
            y -= ROW_HEIGHT
        canvas.drawText(text)
        shaped.finish()


def _row_words():
    """How a match row's status and tier · rule read: the codes in the English
    report (as it always printed them), words in a translated one. Each cell is
    fitted once per distinct value, not once per row."""
    if not translated("Tier · rule"):
        return (lambda status: status), (
            lambda tier, rule: fit(f"{tier} {rule}", 94, ROW_SIZE)
        )
    statuses = {code: str(label) for code, label in MatchStatus.choices}
    status_cells: dict[str, str] = {}
    rule_cells: dict[tuple[int, str], str] = {}

    def status_cell(status: str) -> str:
        if status not in status_cells:
            words = statuses.get(status, status)
            status_cells[status] = fit(words, 42, ROW_SIZE)
        return status_cells[status]

    def rule_cell(tier: int, rule: str) -> str:
        if (tier, rule) not in rule_cells:
            words = f"{tier} · {rule_words(rule)}"
            rule_cells[tier, rule] = fit(words, 94, ROW_SIZE)
        return rule_cells[tier, rule]

    return status_cell, rule_cell


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


def _mixed(text: str) -> str:
    """Paragraph markup with each Khmer run in Noto Sans Khmer (shaped by the
    style) and the rest in the style's Noto Sans (a shaped paragraph cannot hold
    Helvetica runs of any length)."""
    return "".join(
        _km(run) if kind == "khm" else escape(run) for kind, run in _runs(text)
    )


def _para(text: str, st) -> Paragraph:
    """A small paragraph, shaped only when it holds more than WinAnsi shows."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return Paragraph(_mixed(text), st["small"])
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
    story = [_heading(gettext_noop("Summary"), KM["summary"], st["h2"])]
    currencies = [s.currency for s in data.summaries]
    rows = [["", *currencies]]
    for key, english, khmer in SUMMARY_ROWS:
        if translated(english):
            label = Shaped(_(english), 7.5)
        else:
            label = Paragraph(f"{_en(english)} · {_km(khmer)}", st["cell"])
        rows.append(
            [label, *(_money(s.figures[key], s.currency) for s in data.summaries)]
        )
    widths = [260] + [110] * len(currencies)
    story.append(_table(rows, widths, extra=[("ALIGN", (1, 0), (-1, -1), "RIGHT")]))
    rows = [
        [
            _cell(gettext_noop("Difference booked as")),
            _cell(gettext_noop("Currency")),
            _cell(gettext_noop("Amount")),
        ]
    ]
    for summary in data.summaries:
        for kind, total in sorted(summary.differences.items()):
            rows.append(
                [
                    _cell(DIFFERENCE_LABELS.get(kind, kind)),
                    summary.currency,
                    _money(total, summary.currency, signed=True),
                ]
            )
    if len(rows) > 1:
        story += [
            _heading(
                gettext_noop("Differences by kind and currency"),
                KM["differences"],
                st["h2"],
            ),
            _table(rows, [260, 110, 110], extra=[("ALIGN", (2, 0), (2, -1), "RIGHT")]),
        ]
    return story


def _bank(bank: BankReconciliation, st) -> list:
    c = bank.currency
    difference = bank.difference
    ledger_words = gettext_noop("Balance per the ledger at %(day)s")
    if translated(ledger_words):
        ledger = Shaped(_(ledger_words) % {"day": f"{bank.date_to:%d %b %Y}"}, 8)
    else:
        ledger = Paragraph(
            _en(f"Balance per the ledger at {bank.date_to:%d %b %Y}")
            + f" · {_km(KM['ledger_balance'])}",
            st["cell"],
        )
    if translated(gettext_noop("Balance per the bank statement")):
        per_bank = [
            Shaped(_("Balance per the bank statement"), 8),
            Paragraph(
                f'<font name="{FONT}" size=6.5>{escape(bank.bank_source_words)}</font>',
                st["cell"],
            ),
        ]
    else:
        per_bank = Paragraph(
            _en("Balance per the bank statement")
            + f' · {_km(KM["bank_balance"])}<br/><font name="{FONT}" '
            f"size=6.5>{escape(bank.bank_source_words)}</font>",
            st["cell"],
        )
    if translated(gettext_noop("Difference")):
        difference_label = Shaped(_("Difference"), 8, bold=True)
    else:
        difference_label = Paragraph(
            f"{_en('Difference', bold=True)} · {_km(KM['difference'])}", st["cell"]
        )
    rows = [
        [f"{bank.account.label} · {bank.account.number}", f"{c}",
         _cell(gettext_noop("Items"))],
        [ledger, _money(bank.ledger, c), ""],
        [_cell(gettext_noop("Less: ledger lines the bank has not reported yet")),
         _money(-bank.unreported_total, c), str(len(bank.unreported))],
        [_cell(gettext_noop(
            "Add: Bakong-confirmed payments not yet on the bank's statement")),
         _money(bank.unposted_total, c), str(len(bank.unposted))],
        [_cell(gettext_noop("Adjusted balance"), bold=True),
         _money(bank.adjusted, c), ""],
        [per_bank,
         _money(bank.bank, c) if bank.bank is not None
         else _cell(gettext_noop("not reported")),
         ""],
        [difference_label,
         _money(difference, c, signed=True) if difference is not None
         else _cell(gettext_noop("cannot be tied")),
         _cell(gettext_noop("ties out")) if bank.ties
         else (_cell(gettext_noop("unexplained")) if difference else "")],
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
        [_cell_words(_("Not yet reported by the bank: %(item)s") % {"item": i.label},
                     7),
         f"{i.day}", _money(i.amount, c)]
        for i in bank.unreported[:50]
    ] + [
        [_cell_words(_("Not yet on the bank's statement: %(item)s (%(note)s)")
                     % {"item": i.label, "note": i.note}, 7),
         f"{i.day}", _money(i.amount, c)]
        for i in bank.unposted[:50]
    ] + [
        [Paragraph(_mixed(_("Balance gap: %(detail)s") % {"detail": g.detail}),
                   st["small"]), f"{g.day}",
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
    story = [_heading(gettext_noop("Exceptions"), KM["exceptions"], st["h2"])]
    for title, found in (
        (gettext_noop("Open and carried forward (%(n)s)"), data.exceptions_open),
        (gettext_noop("Resolved (%(n)s)"), data.exceptions_resolved),
    ):
        words = _(title) % {"n": len(found)}
        if translated(title):
            story.append(Shaped(words, 8, bold=True))
        else:
            story.append(Paragraph(_en(words, True), st["body"]))
        if not found:
            continue
        rows = [
            [
                "#",
                _cell(gettext_noop("Day")),
                _cell(gettext_noop("Reason")),
                _cell(gettext_noop("Amount")),
                _cell(gettext_noop("Detail")),
                _cell(gettext_noop("Status / resolution")),
            ]
        ]
        for e in found:
            status = str(e.get_status_display())
            if e.resolution:
                who = (
                    e.resolved_by.get_username() if e.resolved_by else _("a later run")
                )
                status = _("%(resolution)s by %(who)s %(day)s: %(note)s") % {
                    "resolution": e.get_resolution_display(),
                    "who": who,
                    "day": f"{e.resolved_at:%Y-%m-%d}",
                    "note": e.resolution_note,
                }
            rows.append(
                [
                    str(e.pk),
                    f"{e.day}",
                    _cell_words(str(e.get_reason_display())),
                    f"{_money(e.amount, e.currency)} {e.currency}",
                    _para(reason_words(e.detail), st),
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

    footer_words = gettext_noop(
        "Reconciliation report · %(name)s · %(period)s · generated %(when)s"
    )

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        if translated(footer_words):
            page = _Page(canvas)
            page.draw(
                MARGIN,
                MARGIN - 6,
                _(footer_words)
                % {
                    "name": name,
                    "period": data.period_label,
                    "when": data.generated_local,
                },
                7,
            )
            page.draw_right(
                width - MARGIN,
                MARGIN - 6,
                _("page %(number)s") % {"number": doc.page},
                7,
            )
            page.finish()
            canvas.restoreState()
            return
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
        title=_("Reconciliation report %(name)s %(period)s")
        % {"name": name, "period": data.period_label},
        author="Tonle",
        creator="Tonle",
        pageTemplates=[PageTemplate(id="page", frames=[frame], onPage=footer)],
    )
    title = escape(name) + (f"  {_km(merchant.name_km)}" if merchant.name_km else "")
    about = gettext_noop(
        "Period %(period)s · generated %(when)s · %(matches)s matches · "
        "%(open)s open and %(resolved)s resolved exceptions"
    )
    facts = {
        "period": data.period_label,
        "when": data.generated_local,
        "matches": f"{data.match_count:,}",
        "open": len(data.exceptions_open),
        "resolved": len(data.exceptions_resolved),
    }
    story: list = [
        Shaped(_("Reconciliation report"), 16, bold=True)
        if translated(gettext_noop("Reconciliation report"))
        else Paragraph(
            f"{_en('Reconciliation report', True)} · {_km(KM['title'])}", st["title"]
        ),
        Paragraph(title, st["h2"]),
        Shaped(_(about) % facts, 8)
        if translated(about)
        else Paragraph(about % facts, st["body"]),
    ]
    story += _summary(data, st)
    story.append(
        _heading(
            gettext_noop("Bank reconciliation statements"),
            KM["bank_statement"],
            st["h2"],
        )
    )
    for bank in data.banks:
        story += _bank(bank, st)
    story.append(_heading(gettext_noop("Definitions"), KM["definitions"], st["h2"]))
    story += [_para(_(line), st) for line in DEFINITIONS]
    story += _exceptions(data, st)
    story.append(
        _heading(gettext_noop("Matched pairs and groups"), KM["matches"], st["h2"])
    )
    story += list(_match_blocks(data, frame._aH))
    doc.build(story)
