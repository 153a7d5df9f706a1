"""Text that a spreadsheet will show and never run (the OWASP CSV-injection rule),
for every CSV and XLSX Tonle writes from what people or banks typed."""

from __future__ import annotations

FORMULA_STARTS = frozenset("=+-@\t\r")
# Excel opens a CSV as UTF-8 (Khmer intact) only when it starts with this mark.
UTF8_BOM = "\ufeff"


def formula_looking(text: str) -> bool:
    return bool(text) and text[0] in FORMULA_STARTS


def inert_text(text: str) -> str:
    """A leading = + - @ tab or CR gets a quote; amounts never pass through this."""
    return "'" + text if formula_looking(text) else text
