"""The report's words: Khmer headings beside the English ones, and the
definitions it prints (the same text as the README's).

The English report stays bilingual, as auditors in Cambodia expect: each heading
carries its Khmer. That Khmer is the catalogue's own translation of the heading
(the glossary's terms), so the English report's Khmer and the Khmer report's
headings are the same words and cannot drift apart."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop

HEADINGS = {
    "title": gettext_noop("Reconciliation report"),
    "summary": gettext_noop("Summary"),
    "differences": gettext_noop("Differences by kind"),
    "bank_statement": gettext_noop("Bank reconciliation statements"),
    "ledger_balance": gettext_noop("Balance per the ledger"),
    "bank_balance": gettext_noop("Balance per the bank statement"),
    "difference": gettext_noop("Difference"),
    "matches": gettext_noop("Matched pairs and groups"),
    "exceptions": gettext_noop("Exceptions"),
    "expected": gettext_noop("Expected"),
    "received": gettext_noop("Received"),
    "definitions": gettext_noop("Definitions"),
}


def _khmer(english: str) -> str:
    with translation.override("km"):
        return gettext(english)


# a label's Khmer, read from the catalogue when the report is drawn
khmer = lazy(_khmer, str)


class _Khmer(Mapping):
    """KM["exceptions"]: the heading in Khmer, read from the catalogue when drawn."""

    def __getitem__(self, key: str) -> str:
        return _khmer(HEADINGS[key])

    def __iter__(self) -> Iterator[str]:
        return iter(HEADINGS)

    def __len__(self) -> int:
        return len(HEADINGS)


KM = _Khmer()

# English; the documents translate each one when drawn
DEFINITIONS = (
    gettext_noop(
        "Received: every credit ledger line booked in the period, on every "
        "account, plus the verified Bakong payments of the period that no ledger "
        "line carries yet."
    ),
    gettext_noop(
        "Expected: what the period's matches expected, plus the items still unpaid "
        "(unpaid-item exceptions not answered by a match)."
    ),
    gettext_noop(
        "Matched automatically / after review / by hand / awaiting review: the money "
        "side of the period's matches that are automatic, confirmed from the engine's "
        "proposals (tiers 1-6), made by hand (tier 0), or still proposed."
    ),
    gettext_noop(
        "Outstanding: the open or carried-forward exceptions of unpaid items and of "
        "money in that nothing explains."
    ),
    gettext_noop(
        "Differences: received minus expected of the automatic and confirmed matches, "
        "by what they were booked as (bank fee, write-off, exchange difference)."
    ),
    gettext_noop(
        "Bank reconciliation statement, per account at the period's end: the balance "
        "per the ledger, less the ledger lines the bank has not reported yet (pushed "
        "lines no feed line confirmed), plus the Bakong-confirmed payments to the "
        "account not yet on the bank's statement, equals the balance per the bank "
        "statement (the bank's own figure: a statement ending that day, else the "
        "balance after the last line the bank reported, else the feed's reported "
        "closing). Any difference is unexplained and shown in red. A Bakong wallet "
        "has no bank statement: Bakong's record is its ledger, so it ties by "
        "definition."
    ),
)
