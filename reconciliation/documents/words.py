"""The report's words: Khmer headings beside the English ones, and the
definitions it prints (the same text as the README's)."""

from __future__ import annotations

from django.utils.translation import gettext_noop

KM = {
    "title": "របាយការណ៍ផ្ទៀងផ្ទាត់",
    "summary": "សេចក្តីសង្ខេប",
    "differences": "ភាពខុសគ្នាតាមប្រភេទ",
    "bank_statement": "របាយការណ៍ផ្ទៀងផ្ទាត់ធនាគារ",
    "ledger_balance": "សមតុល្យតាមបញ្ជី",
    "bank_balance": "សមតុល្យតាមធនាគារ",
    "difference": "ភាពខុសគ្នា",
    "matches": "ការផ្គូផ្គង",
    "exceptions": "ករណីមិនប្រក្រតី",
    "expected": "ការរំពឹងទុក",
    "received": "បានទទួល",
}

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
