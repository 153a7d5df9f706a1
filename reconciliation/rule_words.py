"""The engine's rule codes (identity.md5, reference.fee, amount_date.name, …) in
words for people. The code stays what the engine, the API and the queue's rule
filter use; a page shows these words and keeps the code only as a title."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# every rule the engine and the hand match write (a test reads the engine's source
# and keeps this complete)
RULE_WORDS: dict[str, str] = {
    "identity.md5": _("Same KHQR code (md5)"),
    "identity.hash": _("Same Bakong hash"),
    "identity.short": _("Same Bakong short hash, amount and currency"),
    "identity.trace": _("Same bank trace number"),
    "reference": _("Reference in the line's text"),
    "reference.fee": _("Reference, short by a bank fee"),
    "reference.over": _("Reference, a little over"),
    "reference.first_of_several": _("Reference, first of several lines"),
    "reference.partial": _("Reference, part payment"),
    "reference.overpaid": _("Reference, paid too much"),
    "amount_date.alias": _("Amount and date, a payer confirmed as the customer"),
    "amount_date.account": _("Amount and date, the customer's own account"),
    "amount_date.name": _("Amount and date, the customer's name"),
    "amount_date.history": _("Amount and date, an account that paid before"),
    "amount_date.typo": _("Amount and date, a reference with one slip"),
    "group.references": _("One payment for several references"),
    "group.instalments": _("Instalments naming the reference"),
    "group.partial": _("Part payments naming the reference"),
    "group.customer": _("One payment for several of the customer's items"),
    "group.customer_instalments": _("Several payments from the customer"),
    "fx.line": _("Other currency, the bank's own amount"),
    "fx.day_rate": _("Other currency, the day's exchange rate"),
    "manual": _("Matched by hand"),
}


def rule_words(code: str) -> str:
    """Words for a rule code; the code itself when it has none yet."""
    return str(RULE_WORDS.get(str(code or ""), code or ""))


def rule_choices() -> list[tuple[str, str]]:
    """(code, words) for the queue's rule filter."""
    return [(code, str(words)) for code, words in RULE_WORDS.items()]


# who started a run when no person did (ReconciliationRun.trigger)
TRIGGER_WORDS: dict[str, str] = {
    "page": _("the Runs page"),
    "command": _("a server command"),
    "task": _("the nightly run"),
}


def trigger_words(code: str) -> str:
    return str(TRIGGER_WORDS.get(str(code or ""), code or ""))
