"""An import's row errors in the reader's language.

The parser writes its messages in English once (they are stored with the batch,
returned by the API and read by commands); a page words them again at display
time. Each known shape is read back into its parts and the sentence around them
is translated; the quoted cell, the column and the row stay exactly as the file
has them. A message of no known shape is shown as written."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

# a cell as the parser quotes it (Python's repr of a str)
_CELL = r"(?P<cell>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
_HEAD = r"(?P<head>(?:[^'\"]*?: )?)"

SHAPES = [
    (_CELL + r" is not an amount", _("%(cell)s is not an amount")),
    (_CELL + r" is zero", _("%(cell)s is zero")),
    (_CELL + r" is not KHR, USD or THB", _("%(cell)s is not KHR, USD or THB")),
    (
        _CELL + r" has more than (?P<places>\d+) decimal places for (?P<ccy>\w+)",
        _("%(cell)s has more than %(places)s decimal places for %(ccy)s"),
    ),
    (
        _CELL + r" is not whole riel: riel amounts are whole numbers",
        _("%(cell)s is not whole riel: riel amounts are whole numbers"),
    ),
    (
        _CELL + r" is not a date in the expected format \((?P<formats>[^)]*)\)"
        r"(?P<rest>.*)",
        _("%(cell)s is not a date in the expected format (%(formats)s)%(rest)s"),
    ),
    (
        _CELL + r" already appears on row (?P<row>\d+)",
        _("%(cell)s already appears on row %(row)s"),
    ),
    (
        _CELL + r" needs a UTC offset, e\.g\. \+07:00",
        _("%(cell)s needs a UTC offset, e.g. +07:00"),
    ),
    (
        _CELL + r" is not one of (?P<choices>.*)",
        _("%(cell)s is not one of %(choices)s"),
    ),
    (
        r"required column missing \(expected (?P<columns>.*)\)",
        _("required column missing (expected %(columns)s)"),
    ),
    (
        r"the file has no column " + _CELL + r" to map",
        _("the file has no column %(cell)s to map"),
    ),
    (
        r"both are filled \((?P<debit>.*) and (?P<credit>.*)\): one line is money in "
        r"or out",
        _("both are filled (%(debit)s and %(credit)s): one line is money in or out"),
    ),
    (
        r"Recognised as (?P<name>.+?) by its headers (?P<headers>.+)",
        _("Recognised as %(name)s by its headers %(headers)s"),
    ),
    (
        r"Read as (?P<name>.+?), the format chosen",
        _("Read as %(name)s, the format chosen"),
    ),
    (
        r"No bank recognised: read with the columns as mapped",
        _("No bank recognised: read with the columns as mapped"),
    ),
    (r"No bank recognised: map the columns", _("No bank recognised: map the columns")),
    (
        r"no statement lines under the header row",
        _("no statement lines under the header row"),
    ),
    (
        r"no bank recognised by its own headers: choose the bank's preset or map "
        r"the columns",
        _(
            "no bank recognised by its own headers: choose the bank's preset or "
            "map the columns"
        ),
    ),
]
_COMPILED = [
    (re.compile(_HEAD + shape + r"\Z", re.S), words) for shape, words in SHAPES
]


def import_message_words(message: str) -> str:
    """The message in the active language, its quoted cells as written."""
    text = str(message)
    for shape, words in _COMPILED:
        found = shape.match(text)
        if found:
            parts = found.groupdict()
            head = parts.pop("head")
            return head + str(words) % parts
    return text
