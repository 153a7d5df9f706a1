"""An invoice file's row errors in the reader's language, on the page only.

The import writes each row's error in English once (the API returns it as
written, with the column as a prefix); the refused page words it again. The
column sits in its own cell there, so the prefix is dropped; the row number, the
column names and every quoted cell stay exactly as the file has them. A message
of no known shape is shown as written."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from core.error_words import error_words

# a cell as the service quotes it (Python's repr of a str)
_CELL = r"(?P<cell>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
_FIELD = re.compile(r"(?P<field>[a-z][a-z0-9_]*): (?P<rest>.+)\Z", re.S)

SHAPES = [
    (r"is required", _("This column is required.")),
    (r"is required \(YYYY-MM-DD\)", _("This column is required (YYYY-MM-DD).")),
    (
        r"control characters are not allowed",
        _("Control characters are not allowed."),
    ),
    (_CELL + r" is not text", _("%(cell)s is not text.")),
    (
        _CELL + r" is not a date \(YYYY-MM-DD\)",
        _("%(cell)s is not a date (YYYY-MM-DD)."),
    ),
    (_CELL + r" is not KHR, USD or THB", _("%(cell)s is not KHR, USD or THB.")),
    (
        r"(?P<cell>.+?) is not an amount \(write it as text, e\.g\. 12\.50\)",
        _("%(cell)s is not an amount (write it as text, e.g. 12.50)."),
    ),
    (_CELL + r" must be positive", _("%(cell)s must be more than zero.")),
    (_CELL + r" is too large", _("%(cell)s is too large.")),
    (r"amount is empty", _("The amount is empty.")),
    (
        _CELL + r" is not a plain decimal amount \(digits and one '\.'\)",
        _("%(cell)s is not a plain decimal amount (digits and one '.')."),
    ),
    (_CELL + r" is not a number", _("%(cell)s is not a number.")),
    (
        r"(?P<cell>\S+) (?P<currency>[A-Z]{3}): riel amounts are whole numbers",
        _("%(cell)s %(currency)s: riel amounts are whole numbers."),
    ),
    (
        r"(?P<cell>\S+) (?P<currency>[A-Z]{3}): at most (?P<places>\d+) decimal "
        r"places",
        _("%(cell)s %(currency)s: at most %(places)s decimal places."),
    ),
    (
        r"(?P<due>\d{4}-\d{2}-\d{2}) is before the issue date "
        r"(?P<issue>\d{4}-\d{2}-\d{2})",
        _("The due date %(due)s is before the issue date %(issue)s."),
    ),
    (
        r"(?P<number>.+?) is also on row (?P<row>\d+) with other fields",
        _("Invoice %(number)s is also on row %(row)s with other fields."),
    ),
    (
        r"(?:invoice )?(?P<number>.+?) already exists with other "
        r"(?P<columns>[a-z_, ]+)",
        _("Invoice %(number)s already exists with other %(columns)s."),
    ),
]
_COMPILED = [(re.compile(shape + r"\Z", re.S), words) for shape, words in SHAPES]
# the amount's own error after the quoted cell: "'12.5O': '12.5O' is not a number"
_CELL_THEN = re.compile(_CELL + r": (?P<rest>.+)\Z", re.S)


def _worded(text: str) -> str | None:
    for shape, words in _COMPILED:
        found = shape.match(text)
        if found:
            return str(words) % found.groupdict()
    return None


def invoice_row_words(message: str) -> str:
    """A row's error in the active language, its cells as the file has them."""
    text = str(message)
    found = _FIELD.match(text)
    rest = found["rest"] if found else text
    words = _worded(rest)
    if words is not None:
        return words
    inner = _CELL_THEN.match(rest)
    if inner:
        words = _worded(inner["rest"])
        if words is not None:
            return words
    return error_words(rest)
