"""Rendering: bare code PNG / SVG, the KHQR card, the A6 stand PDF."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from payments.khqr import KhqrFields, encode, stand_pdf
from payments.khqr.render import (
    format_amount,
    qr_matrix,
    render_card_png,
    render_png,
    render_svg,
    script_runs,
)

NOW = 1_767_225_600_000
QR = encode(
    KhqrFields(
        bakong_account_id="srey_pich@aclb",
        merchant_name="Srey Pich Coffee",
        amount=12500,
        expiration_ms=NOW + 60_000,
        language_preference="km",
        merchant_name_alternate_language="ហាងកាហ្វេ ស្រីពេជ្រ",
    ),
    now_ms=NOW,
).qr


def test_render_png_has_a_four_module_quiet_zone_at_the_given_scale():
    # given
    modules = len(qr_matrix(QR))
    # when
    image = Image.open(io.BytesIO(render_png(QR, scale=3)))
    # then
    assert image.size == ((modules + 8) * 3, (modules + 8) * 3)
    assert image.convert("L").getpixel((11, 11)) == 255  # inside the quiet zone
    assert image.convert("L").getpixel((12, 12)) == 0  # finder pattern corner


def test_render_uses_utf8_byte_mode_and_medium_error_correction_by_default():
    # given / when
    medium = qr_matrix(QR)
    high = qr_matrix(QR, error="H")
    # then
    assert len(high) > len(medium)


def test_render_svg_is_one_path_scaled_to_pixels():
    # when
    svg = render_svg(QR, scale=4)
    # then
    root = ET.fromstring(svg)
    side = len(qr_matrix(QR)) + 8
    assert root.get("width") == str(side * 4)
    assert root.get("viewBox") == f"0 0 {side} {side}"
    assert len(root.findall("{http://www.w3.org/2000/svg}path")) == 1


def test_render_card_png_is_20_by_29_with_the_red_khqr_header():
    # when
    card = Image.open(io.BytesIO(render_card_png(QR, width=400))).convert("RGB")
    # then
    assert card.size == (400, 580)
    assert card.getpixel((10, 10)) == (0xE1, 0x23, 0x2E)
    assert card.getpixel((10, 200)) == (255, 255, 255)


def test_format_amount_shows_whole_riel_and_two_place_dollars():
    # then
    assert format_amount("12500", "KHR") == "12,500"
    assert format_amount("1234.5", "USD") == "1,234.50"
    assert format_amount(None, "USD") == "0.00"


def test_script_runs_split_khmer_from_latin_for_font_fallback():
    # then
    assert script_runs("ហាង Coffee") == [("ហាង ", True), ("Coffee", False)]


@pytest.mark.parametrize("shaping", [True, False])
def test_render_stand_pdf_is_one_a6_page_with_the_khmer_name(monkeypatch, shaping):
    # given
    # uharfbuzz is pinned in requirements.txt: shaping must be available here
    assert stand_pdf.khmer_shaping_available()
    monkeypatch.setattr(stand_pdf, "khmer_shaping_available", lambda: shaping)
    # when
    pdf = stand_pdf.render_stand_pdf(QR)
    # then
    assert pdf.startswith(b"%PDF-")
    assert b"/MediaBox [ 0 0 297.6378 419.5276 ]" in pdf
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 1
    if shaping:
        assert b"NotoSansKhmer" in pdf  # the Khmer is real text in an embedded font
    else:
        assert b"/Subtype /Image" in pdf  # the Khmer is shaped by Pillow
