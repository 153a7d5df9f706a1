"""A column mapping: which header of a file holds which ledger field, and how the
file writes its amounts and dates, for a layout no preset knows (or to correct a
preset's). Pure: no Django.

A mapping is kept as one flat JSON object (on the import batch, in a saved
mapping, on the command line): field -> the file's header, plus the options

  amount_mode    signed | signed_out | debit_credit | debit_credit_signed |
                 direction (default: debit_credit when debit and credit are
                 mapped and amount is not, direction when a direction is mapped,
                 else signed)
  date_format    a key of DATE_FORMATS (default: the preset's, or year-first
                 formats only: a day-first or month-first date is never guessed)
  era            gregorian | buddhist (every year is Buddhist era: year − 543)
  number_format  a key of NUMBER_FORMATS (default: 1,234.56)
  header_line    the line of the file that holds the headers (default: found)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from statements.canonical import CANONICAL_COLUMNS
from statements.imports.channels import COMMON_PHRASES
from statements.imports.presets import MAPPABLE_FIELDS, PRESETS

AMOUNT_MODES = {
    "signed": "One amount column: money in +, money out −",
    "signed_out": "One amount column: money out +, money in −",
    "debit_credit": "Two columns, money out and money in (the column gives the sign)",
    "debit_credit_signed": "Two columns whose numbers carry their own sign",
    "direction": "One amount column and a column saying credit or debit",
}

_TIMES = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p")


def _with_times(dates: Iterable[str]) -> list[str]:
    """Each date format with each time of day after it, then alone."""
    formats = []
    for date in dates:
        formats += [f"{date} {time}" for time in _TIMES]
        formats.append(date)
    return formats


def _separated(pattern: str) -> list[str]:
    return [pattern.replace("/", sep) for sep in ("/", "-", ".")]


# key -> (label, strptime formats tried in order; "iso" = ISO 8601)
DATE_FORMATS: dict[str, tuple[str, list[str]]] = {
    "iso": ("ISO 8601: 2026-04-03 or 2026-04-03T09:21:04+07:00", ["iso"]),
    "ymd": (
        "YYYY-MM-DD or YYYY/MM/DD (time optional)",
        ["iso", *_with_times(["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d"])],
    ),
    "dmy": (
        "DD/MM/YYYY, DD-MM-YYYY or DD.MM.YYYY (day first)",
        _with_times(_separated("%d/%m/%Y")),
    ),
    "mdy": (
        "MM/DD/YYYY or MM-DD-YYYY (month first)",
        _with_times(_separated("%m/%d/%Y")),
    ),
    "dmy_short": ("DD/MM/YY (day first, two-digit year)", _separated("%d/%m/%y")),
    "d_mon_y": (
        "DD Mon YYYY: 03 Apr 2026, 03-Apr-2026, 3 April 2026",
        _with_times(["%d %b %Y", "%d-%b-%Y", "%d %B %Y", "%d-%b-%y"]),
    ),
    "mon_d_y": (
        "Mon DD, YYYY: Apr 03, 2026",
        _with_times(["%b %d, %Y", "%B %d, %Y", "%b %d %Y"]),
    ),
}
# unambiguous when nobody chose: the year comes first
DEFAULT_DATE_FORMATS = DATE_FORMATS["ymd"][1]
ERAS = {
    "gregorian": "Gregorian years, as written",
    "buddhist": "Buddhist era (year − 543), every date",
}
# key -> (thousands mark, decimal mark)
NUMBER_FORMATS = {
    "1,234.56": (",", "."),
    "1.234,56": (".", ","),
    "1 234,56": (" ", ","),
    "1234.56": ("", "."),
}
OPTION_KEYS = ("amount_mode", "date_format", "era", "number_format", "header_line")
CREDIT_WORDS = ["credit", "cr", "c", "in", "received", "receive", "deposit", "ទទួល"]
DEBIT_WORDS = ["debit", "dr", "d", "out", "sent", "send", "withdrawal", "ផ្ញើ"]

# The layout a mapping starts from when no preset is used: the canonical names
# are found by themselves; only the date and the amount columns are required.
CUSTOM: dict[str, Any] = {
    "name": "your mapping",
    "signatures": [],
    "label": "Columns as mapped",
    "columns": {name: [name] for name in CANONICAL_COLUMNS},
    "required": ["posted_at"],
    "amount_mode": "signed",
    "date_formats": DEFAULT_DATE_FORMATS,
    "value_date_formats": DEFAULT_DATE_FORMATS,
    "time_formats": list(_TIMES),
    "thousands": ",",
    "decimal": ".",
    "encodings": ["utf-8", "utf-16"],
    "channel_words": dict(COMMON_PHRASES),
    "credit_words": CREDIT_WORDS,
    "debit_words": DEBIT_WORDS,
    "date_hint": "choose the file's date format under Columns",
}


class MappingError(ValueError):
    """A mapping that names an unknown field or option value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def mapping_clean(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The mapping with empty values dropped and every key and option checked."""
    clean: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if value in (None, ""):
            continue
        if key in MAPPABLE_FIELDS:
            if not isinstance(value, str):
                raise MappingError(key, "must name a column header (text)")
            clean[key] = value
        elif key == "amount_mode":
            _one_of(key, value, AMOUNT_MODES)
            clean[key] = value
        elif key == "date_format":
            _one_of(key, value, DATE_FORMATS)
            clean[key] = value
        elif key == "era":
            _one_of(key, value, ERAS)
            clean[key] = value
        elif key == "number_format":
            _one_of(key, value, NUMBER_FORMATS)
            clean[key] = value
        elif key == "header_line":
            try:
                line = int(value)
            except (TypeError, ValueError):
                raise MappingError(key, f"{value!r} is not a line number") from None
            if not 1 <= line <= 1000:
                raise MappingError(key, f"{line} is not a line from 1 to 1000")
            clean[key] = line
        else:
            raise MappingError("mapping", f"unknown field {key!r}")
    return clean


def _one_of(key: str, value: Any, choices: Mapping[str, Any]) -> None:
    if value not in choices:
        raise MappingError(key, f"{value!r} is not one of {', '.join(choices)}")


def mapping_columns(mapping: Mapping[str, Any]) -> dict[str, str]:
    """Field -> header: the mapping without its options."""
    return {k: v for k, v in mapping.items() if k in MAPPABLE_FIELDS}


def amount_mode_of(mapping: Mapping[str, Any], base: str = "signed") -> str:
    """The chosen amount mode, else the one the mapped columns imply."""
    if mapping.get("amount_mode"):
        return mapping["amount_mode"]
    if "debit" in mapping and "credit" in mapping and "amount" not in mapping:
        return "debit_credit"
    if "direction" in mapping and "amount" in mapping:
        return "direction"
    if "amount" in mapping and base == "debit_credit":
        return "signed"
    return base


def spec_for(preset: str, mapping: Mapping[str, Any] | None) -> dict[str, Any]:
    """The layout a file is read with: the preset's (or CUSTOM when none), with
    the mapping's options over it and its columns as their only spelling."""
    base = PRESETS.get(preset) or CUSTOM
    if not mapping:
        return base
    spec = dict(base)
    columns = dict(base["columns"])
    for name, header in mapping_columns(mapping).items():
        columns[name] = [header]
    spec["columns"] = columns
    mode = amount_mode_of(mapping, base["amount_mode"])
    spec["amount_mode"] = {
        "signed_out": "signed",
        "debit_credit_signed": ("debit_credit"),
    }.get(mode, mode)
    spec["sign"] = {
        "signed_out": "out_positive",
        "debit_credit_signed": ("as_written"),
    }.get(mode, "")
    if mode == "direction" and not spec.get("credit_words"):
        spec["credit_words"], spec["debit_words"] = CREDIT_WORDS, DEBIT_WORDS
    required = list(base["required"])
    if spec["amount_mode"] != base["amount_mode"]:
        # the preset's own amount columns are no longer required
        required = [
            f for f in required if f not in ("amount", "debit", "credit", "direction")
        ]
    if mapping_columns(mapping) and "currency" not in mapping:
        # a mapped file without a currency column is in the account's currency
        required = [f for f in required if f != "currency"]
    spec["required"] = required
    if mapping.get("date_format"):
        formats = DATE_FORMATS[mapping["date_format"]][1]
        spec["date_formats"] = spec["value_date_formats"] = formats
        spec["require_offset"] = False
        spec.pop("date_hint", None)
    if mapping.get("era") == "buddhist":
        spec["year_offset"], spec["era_always"] = 543, True
    elif mapping.get("era") == "gregorian":
        spec["year_offset"], spec["era_always"] = 0, False
    if mapping.get("number_format"):
        spec["thousands"], spec["decimal"] = NUMBER_FORMATS[mapping["number_format"]]
    return spec


def header_signature(headers: Iterable[Any]) -> str:
    """A file's header row as a key: its cells normalised (case, spaces), the
    empty ones at the end dropped; the same layout next month has the same key."""
    from statements.imports.parse import normalise_header

    cells = [normalise_header(h) for h in headers]
    while cells and not cells[-1]:
        cells.pop()
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()
