import re
from urllib.parse import unquote

import pytest
from django.http import HttpResponse

from core.downloads import (
    content_disposition,
    download_headers_set,
    download_name_clean,
)

# One disposition, exactly two parameters, nothing outside them.
RFC6266 = re.compile(
    r"(attachment|inline); filename=\"([ !#-\[\]-~]*)\"; "
    r"filename\*=UTF-8''([A-Za-z0-9%!#$&+.^_`|~-]+)"
)


def parse_disposition(value: str) -> tuple[str, str, str]:
    """(kind, ASCII fallback, UTF-8 name) of a header our helper may build."""
    match = RFC6266.fullmatch(value)
    assert match, f"not a clean RFC 6266 header: {value!r}"
    kind, fallback, encoded = match.groups()
    return kind, fallback, unquote(encoded, errors="strict")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ('khqr-a"; filename="evil.exe.pdf', "khqr-a__ filename=_evil.exe.pdf"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("a\r\nSet-Cookie: x=1.csv", "aSet-Cookie_ x=1.csv"),
        ("C:\\Users\\x.zip", "C__Users_x.zip"),
        ("invoice\u202eexe.pdf", "invoiceexe.pdf"),  # a bidi override
        ("nul\x00byte.csv", "nulbyte.csv"),
        (".hidden", "hidden"),
        ("", "download"),
        ('"";/\\', "_____"),
    ],
)
def test_download_names_are_cleaned_of_header_and_path_tricks(name, expected):
    assert download_name_clean(name) == expected


def test_a_khmer_name_is_kept_and_sent_utf8_with_an_ascii_fallback():
    # given
    name = "របាយការណ៍ ខែមករា.pdf"
    # when
    kind, fallback, utf8 = parse_disposition(content_disposition(name))
    # then
    assert kind == "attachment"
    assert utf8 == name
    assert fallback == "_ _.pdf"


def test_accents_fall_back_to_plain_letters():
    _, fallback, utf8 = parse_disposition(content_disposition("Café.xlsx"))
    assert (fallback, utf8) == ("Cafe.xlsx", "Café.xlsx")


def test_an_injected_name_stays_one_quoted_parameter():
    # when
    value = content_disposition('khqr-a"; filename="evil.exe.pdf', inline=True)
    # then
    kind, fallback, utf8 = parse_disposition(value)
    assert kind == "inline"
    assert '"' not in fallback and ";" not in fallback
    assert value.count('"') == 2


def test_a_long_name_is_cut_keeping_its_extension():
    cleaned = download_name_clean("x" * 400 + ".xlsx")
    assert len(cleaned) == 150 and cleaned.endswith(".xlsx")


def test_download_headers_replace_any_caching_with_no_store():
    # given a response someone marked cacheable
    response = HttpResponse(b"data")
    response["Cache-Control"] = "public, max-age=86400"
    # when
    download_headers_set(response, name="statement.pdf")
    # then
    assert response["Cache-Control"] == "no-store"
    assert parse_disposition(response["Content-Disposition"])[2] == "statement.pdf"
