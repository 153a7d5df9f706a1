"""The PDF statement, drawn straight on the reportlab canvas one page at a time.

Why not platypus: one LongTable of 100k rows takes about a minute and holds every
row; the canvas draws ~15k rows a second in bounded memory. The page count is known
before the first page (rows per page are fixed), so "page X of Y" needs one pass.

Khmer and Thai: Noto Sans Khmer and Noto Sans Thai are embedded and their runs are
shaped with HarfBuzz (uharfbuzz) so coeng subscripts, pre-base vowels and Thai
marks sit where they belong. Shaped glyphs map to private-use code points in the
PDF, so each such run is also written as invisible text (render mode 3) in logical
order, which is what search and copy find, as OCR'd PDFs do.
"""

from __future__ import annotations

import math
import unicodedata
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, shapeStr
from reportlab.pdfgen.canvas import Canvas

from core.money import format_number
from statements.balance_words import balance_warning_words
from statements.documents.common import (
    AMOUNT,
    BALANCE,
    CHANNEL,
    COUNTERPARTY,
    CURRENCY,
    DESCRIPTION,
    POSTED_AT,
    REFERENCE,
    VALUE_DATE,
    StatementContext,
    cross_border_note,
)

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN = 28
FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
UNICODE_FONT = "TonleNotoSans"
KHMER_FONT = "TonleNotoSansKhmer"
THAI_FONT = "TonleNotoSansThai"
# scripts drawn shaped (HarfBuzz) in their own font, with an invisible text layer
SHAPED_FONTS = {"khm": KHMER_FONT, "tha": THAI_FONT}
COENG = "\u17d2"  # joins the next consonant below the one before
ROW_FONT_SIZE = 7.5
ROW_HEIGHT = 10.5
HEADER_HEIGHT = 58  # merchant, account, period on every page
COLUMN_HEAD_HEIGHT = 16
FOOTER_HEIGHT = 22
MAX_WARNINGS_SHOWN = 6

COLUMN_GAP = 4
# the widest amount a cell must leave room for, left of the Amount column's edge
WIDEST_AMOUNT = "-1,234,567,890.00"


def _columns(*heads: tuple[str, float, bool, bool]):
    """(title, x, clip width or None, right-aligned): a clipped cell ends a gap
    before the next column starts (before the widest amount, for a right-aligned
    one), so moving a column moves its neighbour's clip with it."""
    columns = []
    for index, (title, x, clipped, right) in enumerate(heads):
        width = None
        if clipped:
            _, next_x, _, next_right = heads[index + 1]
            if next_right:
                next_x -= pdfmetrics.stringWidth(WIDEST_AMOUNT, FONT, ROW_FONT_SIZE)
            width = next_x - x - COLUMN_GAP
        columns.append((title, x, width, right))
    return tuple(columns)


# (title, x, clipped, right-aligned); titles are translated when drawn
COLUMNS = _columns(
    (gettext_noop("Posted"), MARGIN, False, False),
    (gettext_noop("Value date"), MARGIN + 66, False, False),
    (gettext_noop("Channel"), MARGIN + 114, True, False),
    (gettext_noop("Counterparty"), MARGIN + 180, True, False),
    (gettext_noop("Reference"), MARGIN + 318, True, False),
    (gettext_noop("Description"), MARGIN + 426, True, False),
    (gettext_noop("Amount"), MARGIN + 704, False, True),
    (gettext_noop("Balance"), PAGE_WIDTH - MARGIN, False, True),
)
ELLIPSIS = "…"
# the widest Helvetica glyph, in thousandths of the font size: shorter ASCII text
# than width / (this × size) fits without being measured
WIDEST_GLYPH = max(pdfmetrics.getFont(FONT_BOLD).widths) / 1000


def _is_khmer(char: str) -> bool:
    return "\u1780" <= char <= "\u17ff" or "\u19e0" <= char <= "\u19ff"


def _is_thai(char: str) -> bool:
    return "\u0e00" <= char <= "\u0e7f"


@lru_cache(maxsize=1)
def fonts_register() -> None:
    """Register the embedded TrueType fonts once per process."""
    fonts = Path(settings.BASE_DIR) / "static" / "fonts"
    pdfmetrics.registerFont(TTFont(UNICODE_FONT, fonts / "NotoSans-Regular.ttf"))
    pdfmetrics.registerFont(TTFont(KHMER_FONT, fonts / "NotoSansKhmer-Regular.ttf"))
    pdfmetrics.registerFont(TTFont(THAI_FONT, fonts / "NotoSansThai-Regular.ttf"))


@lru_cache(maxsize=20000)
def _shaped(text: str, size: float, font: str = KHMER_FONT):
    return shapeStr(text, font, size)


@lru_cache(maxsize=20000)
def _runs(text: str) -> tuple[tuple[str, str], ...]:
    """Split text into (font, run): Khmer and Thai in their own fonts, what
    WinAnsi can show in Helvetica, anything else in Noto Sans."""
    runs: list[list[str]] = []
    for char in text:
        if _is_khmer(char) or (char in " \u200b" and runs and runs[-1][0] == "khm"):
            kind = "khm"
        elif _is_thai(char) or (char in " \u200b" and runs and runs[-1][0] == "tha"):
            kind = "tha"
        else:
            try:
                char.encode("cp1252")
                kind = FONT
            except UnicodeEncodeError:
                kind = UNICODE_FONT
        if runs and runs[-1][0] == kind:
            runs[-1][1] += char
        else:
            runs.append([kind, char])
    return tuple((kind, run) for kind, run in runs)


def _run_font(kind: str, bold: bool) -> str:
    if kind in SHAPED_FONTS:
        return SHAPED_FONTS[kind]
    if kind == FONT:
        return FONT_BOLD if bold else FONT
    return kind


def _run_width(kind: str, run: str, size: float, bold: bool = False) -> float:
    font = _run_font(kind, bold)
    if kind in SHAPED_FONTS:
        shaped = _shaped(run, size, font)
        # shapeStr hands back a plain str when nothing needed shaping
        glyphs = getattr(shaped, "__shapeData__", None)
        if glyphs is not None:
            return sum(g.x_advance for g in glyphs) * size / 1000
    return pdfmetrics.stringWidth(run, font, size)


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The drawn width of `text`, Khmer and Thai runs as shaped."""
    fonts_register()
    return sum(_run_width(kind, run, size, bold) for kind, run in _runs(text))


def _cluster_start(text: str, end: int) -> int:
    """Move a cut back so it does not split a Khmer or Thai cluster: a mark, or a
    consonant after a coeng, belongs with what comes before it."""
    while 0 < end < len(text) and (
        unicodedata.category(text[end]) in ("Mn", "Mc") or text[end - 1] == COENG
    ):
        end -= 1
    return end


@lru_cache(maxsize=20000)
def fit(
    text: str, width: float | None, size: float = ROW_FONT_SIZE, bold: bool = False
) -> str:
    """`text` on one line, cut with an ellipsis where it would pass `width`."""
    text = " ".join(text.split())
    if width is None or not text:
        return text
    if text.isascii() and len(text) * WIDEST_GLYPH * size <= width:
        return text
    if text_width(text, size, bold) <= width:
        return text
    low, high = 0, len(text)  # the longest prefix that fits with the ellipsis
    while low < high:
        middle = (low + high + 1) // 2
        if text_width(text[:middle] + ELLIPSIS, size, bold) <= width:
            low = middle
        else:
            high = middle - 1
    return text[: _cluster_start(text, low)].rstrip() + ELLIPSIS


class _Page:
    """Draws text runs with one text object per page (cheaper than drawString)."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.text = canvas.beginText()
        self.code = self.text._code.append
        self.font = (FONT, ROW_FONT_SIZE)
        self.text.setFont(*self.font)

    def set_font(self, name: str, size: float) -> None:
        if (name, size) != self.font:
            self.text.setFont(name, size)
            self.font = (name, size)

    def draw(self, x: float, y: float, text: str, size: float, bold=False) -> None:
        if not text:
            return
        if text.isascii():
            # the hot path: a standard font and ASCII need no encoding and no
            # cursor bookkeeping, so write the two operators straight away
            self.set_font(FONT_BOLD if bold else FONT, size)
            self.code(f"1 0 0 1 {fp_str(x, y)} Tm ({escapePDF(text)}) Tj")
            return
        for kind, run in _runs(text):
            self.set_font(_run_font(kind, bold), size)
            self.text.setTextOrigin(x, y)
            if kind in SHAPED_FONTS:
                self.text.textOut(_shaped(run, size, self.font[0]))
                self.text.setTextRenderMode(3)  # invisible, for search and copy
                self.text.setTextOrigin(x, y)
                self.text.textOut(run)
                self.text.setTextRenderMode(0)
            else:
                self.text.textOut(run)
            x += _run_width(kind, run, size, bold)

    def draw_right(self, right: float, y: float, text: str, size: float, bold=False):
        """Right-aligned text: ASCII (amounts, page numbers) straight in Helvetica,
        anything else (a Khmer heading) measured and drawn shaped like `draw`."""
        if not text.isascii():
            self.draw(right - text_width(text, size, bold), y, text, size, bold)
            return
        name = FONT_BOLD if bold else FONT
        self.set_font(name, size)
        x = right - pdfmetrics.stringWidth(text, name, size)
        self.code(f"1 0 0 1 {fp_str(x, y)} Tm ({escapePDF(text)}) Tj")

    def finish(self) -> None:
        self.canvas.drawText(self.text)


def _summary_height(context: StatementContext) -> float:
    period = context.period
    lines = 3 + 1 + len(period.channels) + 1
    if context.billers:
        lines += 2 + len(context.billers)
    if period.original_totals or period.fees:
        lines += 1
    if period.warnings:
        lines += 1 + min(len(period.warnings), MAX_WARNINGS_SHOWN)
    return lines * 12 + 8


def page_layout(context: StatementContext) -> tuple[int, int, int]:
    """(rows on page 1, rows on later pages, page count) from the line count."""
    body = PAGE_HEIGHT - 2 * MARGIN - HEADER_HEIGHT - COLUMN_HEAD_HEIGHT
    body -= FOOTER_HEIGHT
    per_page = int(body // ROW_HEIGHT)
    first = max(int((body - _summary_height(context)) // ROW_HEIGHT), 0)
    remaining = max(context.period.lines - first, 0)
    return first, per_page, 1 + math.ceil(remaining / per_page)


def pdf_write(context: StatementContext, path: Path) -> int:
    """Write the PDF to `path`; return the number of lines drawn."""
    fonts_register()
    currency = context.currency
    first_rows, per_page, pages = page_layout(context)
    canvas = Canvas(str(path), pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=1)
    canvas.setTitle(
        _("Statement %(account)s %(period)s")
        % {"account": context.account_label, "period": context.period_label}
    )
    canvas.setAuthor("Tonle")
    canvas.setCreator("Tonle")
    zone = context.zone
    page_number = 1
    page, y = _page_start(canvas, context, page_number, pages)
    y = _summary(page, context, y)
    y = _column_heads(page, y)
    capacity = first_rows
    drawn = 0
    count = 0
    fmt = format_number
    for row in context.rows():
        if drawn == capacity:
            page.finish()
            canvas.showPage()
            page_number += 1
            page, y = _page_start(canvas, context, page_number, pages)
            y = _column_heads(page, y)
            capacity, drawn = per_page, 0
        size = ROW_FONT_SIZE
        local = row[POSTED_AT].astimezone(zone)
        page.draw(COLUMNS[0][1], y, f"{local:%Y-%m-%d %H:%M}", size)
        page.draw(COLUMNS[1][1], y, f"{row[VALUE_DATE]:%Y-%m-%d}", size)
        page.draw(COLUMNS[2][1], y, fit(row[CHANNEL], COLUMNS[2][2]), size)
        page.draw(COLUMNS[3][1], y, fit(row[COUNTERPARTY], COLUMNS[3][2]), size)
        page.draw(COLUMNS[4][1], y, fit(row[REFERENCE], COLUMNS[4][2]), size)
        description = row[DESCRIPTION]
        note = cross_border_note(row)
        if note:
            description = f"{note} · {description}" if description else note
        page.draw(COLUMNS[5][1], y, fit(description, COLUMNS[5][2]), size)
        page.draw_right(COLUMNS[6][1], y, fmt(row[AMOUNT], row[CURRENCY]), size)
        page.draw_right(COLUMNS[7][1], y, fmt(row[BALANCE], currency), size)
        y -= ROW_HEIGHT
        drawn += 1
        count += 1
    if count == 0:
        page.draw(MARGIN, y, _("No lines in this period."), 9)
    page.finish()
    canvas.showPage()
    canvas.save()
    return count


def _page_start(canvas: Canvas, context: StatementContext, number: int, pages: int):
    page = _Page(canvas)
    merchant = context.merchant
    top = PAGE_HEIGHT - MARGIN
    name = merchant.legal_name or merchant.display_name
    if merchant.name_km:
        name = f"{name}  {merchant.name_km}"
    # the right-hand side holds "Page X of Y" and the generated-at time
    left_width = PAGE_WIDTH - 2 * MARGIN - 200
    page.draw(MARGIN, top - 12, fit(name, left_width, 12, bold=True), 12, bold=True)
    page.draw_right(
        PAGE_WIDTH - MARGIN,
        top - 12,
        _("Page %(number)s of %(pages)s") % {"number": number, "pages": pages},
        9,
    )
    account = fit(
        _("Account statement · %(account)s") % {"account": context.account_label},
        left_width,
        9,
    )
    page.draw(MARGIN, top - 27, account, 9)
    page.draw_right(
        PAGE_WIDTH - MARGIN,
        top - 27,
        _("Generated %(when)s") % {"when": context.generated_local},
        8,
    )
    page.draw(
        MARGIN,
        top - 40,
        _("Period %(period)s · %(currency)s · times in %(zone)s")
        % {
            "period": context.period_label,
            "currency": context.currency,
            "zone": context.zone.key,
        },
        9,
    )
    canvas.setStrokeGray(0.8)
    canvas.line(MARGIN, top - 48, PAGE_WIDTH - MARGIN, top - 48)
    page.draw(
        MARGIN,
        MARGIN - 10,
        f"{context.account.number} · {context.period_label} · "
        + _("page %(number)s/%(pages)s") % {"number": number, "pages": pages},
        7,
    )
    return page, top - HEADER_HEIGHT


def _summary(page: _Page, context: StatementContext, y: float) -> float:
    period = context.period
    currency = context.currency
    fmt = format_number
    x = MARGIN
    figures = (
        (_("Opening balance"), period.opening),
        (_("Credits"), period.credits),
        (_("Debits"), period.debits),
        (_("Closing balance"), period.closing),
    )
    for index, (label, value) in enumerate(figures):
        left = x + index * 150
        page.draw(left, y, label, 8)
        page.draw(left, y - 13, f"{fmt(value, currency)} {currency}", 11, bold=True)
    page.draw(x + 600, y, _("Lines"), 8)
    page.draw(x + 600, y - 13, f"{period.lines:,}", 11, bold=True)
    y -= 36
    page.draw(x, y, _("Totals by channel"), 8, bold=True)
    for label, right in (
        (_("Lines"), x + 190),
        (_("Credits"), x + 290),
        (_("Debits"), x + 390),
        (_("Net"), x + 490),
    ):
        page.draw_right(right, y, label, 8, bold=True)
    for channel in period.channels:
        y -= 12
        page.draw(x, y, channel.channel, 8)
        page.draw_right(x + 190, y, f"{channel.count:,}", 8)
        page.draw_right(x + 290, y, fmt(channel.credits, currency), 8)
        page.draw_right(x + 390, y, fmt(channel.debits, currency), 8)
        page.draw_right(x + 490, y, fmt(channel.net, currency), 8)
    y -= 12
    if context.billers:
        y -= 12
        page.draw(x, y, _("Bills and top-ups by biller category"), 8, bold=True)
        for biller in context.billers:
            y -= 12
            label = f"{biller.channel} · {biller.category or _('(none given)')}"
            page.draw(x, y, fit(label, 150, 8), 8)
            page.draw_right(x + 190, y, f"{biller.count:,}", 8)
            page.draw_right(x + 290, y, fmt(biller.credits, currency), 8)
            page.draw_right(x + 390, y, fmt(biller.debits, currency), 8)
            page.draw_right(x + 490, y, fmt(biller.net, currency), 8)
        y -= 12
    if period.original_totals or period.fees:
        y -= 12
        parts = [
            f"{fmt(total, code)} {code}"
            for code, total in sorted(period.original_totals.items())
        ]
        page.draw(
            x,
            y,
            _("Cross-border: original amounts %(amounts)s; fees %(fees)s")
            % {
                "amounts": ", ".join(parts) or _("none"),
                "fees": f"{fmt(period.fees, currency)} {currency}",
            },
            8,
        )
    if period.warnings:
        y -= 12
        page.draw(x, y, _("Warnings"), 8, bold=True)
        for message in period.warnings[:MAX_WARNINGS_SHOWN]:
            y -= 12
            words = balance_warning_words(message)
            page.draw(x, y, fit(words, PAGE_WIDTH - 2 * MARGIN, 8), 8)
    return y - 20


def _column_heads(page: _Page, y: float) -> float:
    for english, x, _limit, right in COLUMNS:
        title = _(english)
        if right:
            page.draw_right(x, y, title, 8, bold=True)
        else:
            page.draw(x, y, title, 8, bold=True)
    page.canvas.setStrokeGray(0.85)
    page.canvas.line(MARGIN, y - 4, PAGE_WIDTH - MARGIN, y - 4)
    return y - COLUMN_HEAD_HEIGHT
