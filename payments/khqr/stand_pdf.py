"""The printable A6 KHQR stand (reportlab): merchant name in Khmer and Latin.

Khmer needs shaping (subscript consonants, vowels placed around the base).
Reportlab shapes text through ``uharfbuzz`` when that package is installed, and the
Khmer stays real, searchable text in the PDF. Without it, each Khmer run is shaped
by Pillow (libraqm) and placed as a 600 dpi image instead, so the stand is right
either way (``khmer_shaping_available`` says which).
"""

from __future__ import annotations

import io
from decimal import Decimal

from PIL import Image, ImageDraw
from reportlab.lib.colors import HexColor, black, white
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, shapeStr
from reportlab.pdfgen.canvas import Canvas

from .decoder import decode
from .render import FONT_DIR, KHQR_RED, format_amount, qr_matrix, script_runs
from .render import font as pillow_font

_DPI = 600

_FONTS = {
    "TonleLatin": "NotoSans-Regular.ttf",
    "TonleLatin-Bold": "NotoSans-Bold.ttf",
    "TonleKhmer": "NotoSansKhmer-Regular.ttf",
    "TonleKhmer-Bold": "NotoSansKhmer-Bold.ttf",
}


def khmer_shaping_available() -> bool:
    try:
        import uharfbuzz  # noqa: F401
    except ImportError:
        return False
    return True


def _register_fonts() -> None:
    registered = set(pdfmetrics.getRegisteredFontNames())
    for name, filename in _FONTS.items():
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / filename)))


def _shaped(run: str, face: str, size: float) -> tuple[str, float]:
    """The run as reportlab will draw it, and its width (shaped when possible)."""
    if khmer_shaping_available():
        shaped = shapeStr(run, face, size)
        data = getattr(shaped, "__shapeData__", None)
        if data:
            return shaped, sum(d.x_advance for d in data) * size / 1000
    return run, pdfmetrics.stringWidth(run, face, size)


def _text_width(text: str, size: float, bold: bool) -> float:
    return sum(
        _shaped(run, _face(khmer, bold), size)[1] for run, khmer in script_runs(text)
    )


def _face(khmer: bool, bold: bool) -> str:
    return ("TonleKhmer" if khmer else "TonleLatin") + ("-Bold" if bold else "")


def _draw_centred(
    canvas: Canvas, x: float, y: float, text: str, size: float, *, bold: bool = False
) -> None:
    shaping = khmer_shaping_available()
    runs = []
    for run, khmer in script_runs(text):
        face = _face(khmer, bold)
        if khmer and not shaping:
            image, width, descent = _khmer_image(run, size, bold)
            runs.append((image, face, width, descent))
        elif khmer:
            shaped, width = _shaped(run, face, size)
            runs.append((shaped, face, width, 0.0))
        else:
            runs.append((run, face, pdfmetrics.stringWidth(run, face, size), 0.0))
    start = x - sum(r[2] for r in runs) / 2
    for item, face, width, descent in runs:
        if isinstance(item, Image.Image):
            height = item.height * 72 / _DPI
            canvas.drawImage(
                ImageReader(item), start, y - descent, width, height, mask="auto"
            )
        else:
            # A text object draws a ShapedStr glyph by glyph at harfbuzz's
            # positions (canvas.drawString shapes only when rlbidi is there too).
            line = canvas.beginText(start, y)
            line.setFont(face, size)
            line.textOut(item)
            canvas.drawText(line)
        start += width


def _khmer_image(run: str, size: float, bold: bool) -> tuple[Image.Image, float, float]:
    """Khmer shaped by Pillow: (image, width in points, descent in points)."""
    px = round(size * _DPI / 72)
    face = pillow_font(px, bold=bold, khmer=True)
    ascent, descent = face.getmetrics()
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    width = max(1, round(probe.textlength(run, font=face)))
    image = Image.new("RGBA", (width, ascent + descent), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.text((0, ascent), run, font=face, fill=(0, 0, 0, 255), anchor="ls")
    return image, width * 72 / _DPI, descent * 72 / _DPI


def _fit(text: str, size: float, bold: bool, width: float) -> float:
    while size > 6 and _text_width(text, size, bold) > width:
        size -= 0.5
    return size


def render_stand_pdf(
    qr: str,
    *,
    merchant_name: str | None = None,
    merchant_name_khmer: str | None = None,
    amount: str | Decimal | None = None,
    currency: str | None = None,
    error: str = "M",
) -> bytes:
    """An A6 (105 x 148 mm) stand to print and put by the till.

    Names, amount and currency default to the code's own (tag 59, tag 64.01, tag
    54, tag 53); the code itself is drawn as vector squares, crisp at any printer
    resolution.
    """
    decoded = decode(qr)
    latin = merchant_name if merchant_name is not None else decoded.merchant_name
    khmer = (
        merchant_name_khmer
        if merchant_name_khmer is not None
        else decoded.merchant_name_alternate_language
    )
    currency = currency or decoded.currency or "KHR"
    if amount is None:
        amount = decoded.amount
    _register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A6, pageCompression=1)
    canvas.setTitle(f"KHQR {latin or ''}".strip())
    canvas.setAuthor("Tonle")
    width, height = A6
    centre = width / 2

    # Red header with the cut corner and the KHQR mark.
    header = 20 * mm
    canvas.setFillColor(HexColor(KHQR_RED))
    canvas.rect(0, height - header, width, header, stroke=0, fill=1)
    canvas.setFillColor(white)
    notch = 11 * mm
    path = canvas.beginPath()
    path.moveTo(width - notch, height - header)
    path.lineTo(width, height - header)
    path.lineTo(width, height - header + notch)
    path.close()
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.setFont("TonleLatin-Bold", 24)
    canvas.drawCentredString(centre, height - header + 6.5 * mm, "KHQR")

    # Names: Khmer first (larger), then Latin.
    canvas.setFillColor(black)
    y = height - header - 11 * mm
    usable = width - 16 * mm
    if khmer:
        _draw_centred(
            canvas, centre, y, khmer, _fit(khmer, 16, True, usable), bold=True
        )
        y -= 8 * mm
    if latin:
        size = _fit(latin, 13 if khmer else 16, not khmer, usable)
        _draw_centred(canvas, centre, y, latin, size, bold=not khmer)
        y -= 8 * mm
    if amount not in (None, ""):
        text = f"{format_amount(amount, currency)} {currency}"
        _draw_centred(canvas, centre, y, text, _fit(text, 15, True, usable), bold=True)
        y -= 5 * mm

    # The code.
    matrix = qr_matrix(qr, error=error)
    side = min(72 * mm, y - 22 * mm)
    modules = len(matrix) + 2
    module = side / modules
    left = centre - side / 2
    bottom = y - side - 2 * mm
    canvas.setFillColor(black)
    for row_index, row in enumerate(matrix):
        top = bottom + side - (row_index + 1) * module - module
        x = 0
        n = len(row)
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                canvas.rect(
                    left + (start + 1) * module,
                    top,
                    (x - start) * module,
                    module,
                    stroke=0,
                    fill=1,
                )
            else:
                x += 1

    # How to pay, in both languages.
    canvas.setFillColor(HexColor("#333333"))
    _draw_centred(canvas, centre, 15 * mm, "ស្កេនដើម្បីបង់ប្រាក់", 11)
    _draw_centred(canvas, centre, 9 * mm, "Scan with any Bakong member bank app", 8.5)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
