"""A Bakong check's outcome (PaymentCheck.outcome: found, not_found, found_late, …)
in words for the payment and evidence pages; the code stays in the data and the
API."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from payments.models import PaymentFlag

OUTCOME_WORDS: dict[str, str] = {
    "found": _("Found"),
    "paid": _("Found: paid"),
    "not_found": _("Not paid yet"),
    "failed": _("The payer's transaction failed"),
    "static_qr": _("Bakong cannot check a static code"),
    "error": _("Bakong did not answer"),
    **{
        f"found_{flag}": words
        for flag, words in PaymentFlag.choices
        if flag  # found, but flagged: paid another amount, late, …
    },
}


def outcome_words(code: str) -> str:
    return str(OUTCOME_WORDS.get(str(code or ""), code or ""))
