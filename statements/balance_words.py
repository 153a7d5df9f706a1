"""A statement's balance warnings in the reader's language.

statements.services.balances writes them in English once (the API and the
commands show them so); pages and documents word them again here, as the
import page does its row errors: the days and amounts stay as written."""

from __future__ import annotations

import re

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

_DAY = r"(?P<{}>\d{{4}}-\d{{2}}-\d{{2}})"
_SPAN = r"(?P<{}>\d{{4}}-\d{{2}}-\d{{2}}\.\.\d{{4}}-\d{{2}}-\d{{2}})"

SHAPES = [
    (
        r"The bank's opening balance on " + _DAY.format("day") + r" \((?P<bank>.+?)\) "
        r"differs from the balance history \((?P<history>.+?)\): lines before the "
        r"period may be missing\.",
        _(
            "The bank's opening balance on %(day)s (%(bank)s) differs from the "
            "balance history (%(history)s): lines before the period may be missing."
        ),
    ),
    (
        r"The bank's closing balance on " + _DAY.format("day") + r" \((?P<bank>.+?)\) "
        r"is not opening \+ lines \((?P<lines>.+?)\): the difference is "
        r"(?P<difference>.+?)\.",
        _(
            "The bank's closing balance on %(day)s (%(bank)s) is not opening + "
            "lines (%(lines)s): the difference is %(difference)s."
        ),
    ),
    (
        r"Two statements for " + _SPAN.format("span") + r" \((?P<one>.+?) and "
        r"(?P<other>.+?)\) disagree on the balances\.",
        _(
            "Two statements for %(span)s (%(one)s and %(other)s) disagree on the "
            "balances."
        ),
    ),
    (
        r"Gap: no bank statement covers " + _SPAN.format("span") + r"\.",
        _("Gap: no bank statement covers %(span)s."),
    ),
    (
        r"Overlap: the statements "
        + _SPAN.format("one")
        + " and "
        + _SPAN.format("other")
        + r" cover the same days\.",
        _("Overlap: the statements %(one)s and %(other)s cover the same days."),
    ),
    (
        r"The closing balance of " + _SPAN.format("one") + r" \((?P<closing>.+?)\) "
        r"is not the opening of " + _SPAN.format("other") + r" \((?P<opening>.+?)\)\.",
        _(
            "The closing balance of %(one)s (%(closing)s) is not the opening of "
            "%(other)s (%(opening)s)."
        ),
    ),
    (
        r"No data before " + _DAY.format("first") + r": this account's lines start "
        r"on "
        + _DAY.format("first2")
        + r", so nothing is known before "
        + _DAY.format("start")
        + r" and the opening balance is taken as zero\. "
        r"Import earlier statements for a true opening\.",
        _(
            "No data before %(first)s: this account's lines start on %(first2)s, so "
            "nothing is known before %(start)s and the opening balance is taken as "
            "zero. Import earlier statements for a true opening."
        ),
    ),
    (
        r"No data before " + _DAY.format("first") + r": this account's lines start "
        r"on "
        + _DAY.format("first2")
        + r", so nothing is known before "
        + _DAY.format("start")
        + r" and the opening balance is implied by the "
        r"bank's first balance\. Import earlier statements for a true opening\.",
        _(
            "No data before %(first)s: this account's lines start on %(first2)s, so "
            "nothing is known before %(start)s and the opening balance is implied "
            "by the bank's first balance. Import earlier statements for a true "
            "opening."
        ),
    ),
]
_COMPILED = [(re.compile(shape + r"\Z", re.S), words) for shape, words in SHAPES]


def balance_warning_words(message: str) -> str:
    """A balance warning in the active language (as written when no shape fits)."""
    text = str(message)
    if (get_language() or "en").startswith("en"):
        return text
    for shape, words in _COMPILED:
        found = shape.match(text)
        if found:
            return str(words) % found.groupdict()
    return text
