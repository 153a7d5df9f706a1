"""The audit log in words: a sentence per action code, an object's name, and the
details as `label: value` pairs, for the audit page and its exports. A code with no
words yet is shown as itself, so a new action is never hidden."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

# Every action code the apps record (a test reads the source and keeps this
# complete). Sentences say what happened, with no subject: the actor column says who.
ACTION_WORDS: dict[str, str] = {
    # sign-in and access
    "auth.login": "Signed in",
    "auth.login_failed": "Failed to sign in",
    "auth.locked_out": "Locked out after too many failed sign-ins",
    "auth.two_factor_enabled": "Turned two-factor sign-in on",
    "auth.two_factor_disabled": "Turned two-factor sign-in off",
    "auth.password_reset_requested": "Asked for a password reset link",
    "auth.password_reset_done": "Set a new password with a reset link",
    "access.denied": "Was refused a page or API route",
    # the merchant, its people, accounts, keys and connections
    "merchant.created": "Created the merchant",
    "membership.created": "Added a member",
    "account.created": "Added an account",
    "api_key.created": "Created an API key",
    "api_key.revoked": "Revoked an API key",
    "connection.created": "Connected an account to its bank or Bakong",
    "connection.consent_renewed": "Renewed a connection's consent",
    "connection.revoked": "Revoked a connection's consent",
    "connection.sync_requested": "Asked for a statement feed sync",
    "audit_log.exported": "Exported the audit log",
    # payments
    "payment_request.created": "Issued a KHQR code",
    "payment_request.cancelled": "Cancelled a KHQR code",
    "payment_request.paid": "A KHQR code was paid",
    "payment_request.flagged": "Money arrived that was not accepted as the payment",
    "payment_request.flag_settled": "Settled a flagged payment",
    "refund.created": "Recorded a refund",
    "slip.checked": "Checked a payment slip",
    "webhook_endpoint.created": "Added a webhook endpoint",
    "webhook_endpoint.enabled": "Enabled a webhook endpoint",
    "webhook_endpoint.disabled": "Disabled a webhook endpoint",
    "webhook_endpoint.secret_rotated": "Rotated a webhook signing secret",
    "webhook_endpoint.test_sent": "Sent a test event to a webhook endpoint",
    "webhook_delivery.redelivered": "Sent a webhook again",
    # statements
    "statement.file_imported": "Imported a statement file",
    "statements.statement.downloaded": "Downloaded a statement",
    "statements.transactions.exported": "Exported transactions",
    "statement.import_discarded": "Discarded a statement import",
    "statement.import_mapping_saved": "Saved a column mapping for imports",
    "payments.exported": "Exported payments",
    "statements.pack.requested": "Asked for a statement pack",
    "statements.pack.built": "A statement pack was built",
    "statements.pack.downloaded": "Downloaded a statement pack",
    # reconciliation
    "reconciliation.run": "Ran reconciliation",
    "reconciliation.match.confirmed": "Confirmed a match",
    "reconciliation.match.rejected": "Rejected a match",
    "reconciliation.match.manual": "Matched items by hand",
    "reconciliation.match.unmatched": "Undid a match",
    "reconciliation.match.unrejected": "Took back a rejection",
    "reconciliation.exception.resolved": "Resolved a reconciliation exception",
    "reconciliation.tolerances.updated": "Changed the reconciliation tolerances",
    "reconciliation.report.downloaded": "Downloaded a reconciliation report",
    "reconciliation.period.signed_off": "Signed off a month",
    "reconciliation.period.reopened": "Reopened a signed-off month",
    "invoice.created": "Added an invoice",
    "invoice.imported": "Imported invoices",
}

OBJECT_NAMES: dict[str, str] = {
    "auth.user": "User",
    "merchants.merchant": "Merchant",
    "merchants.membership": "Membership",
    "merchants.account": "Account",
    "merchants.apikey": "API key",
    "merchants.connection": "Connection",
    "payments.paymentrequest": "Payment",
    "payments.refund": "Refund",
    "payments.slipcheck": "Slip check",
    "payments.webhookendpoint": "Webhook endpoint",
    "payments.webhookdelivery": "Webhook delivery",
    "statements.importbatch": "Statement import",
    "statements.statementpack": "Statement pack",
    "reconciliation.reconciliationrun": "Reconciliation run",
    "reconciliation.match": "Match",
    "reconciliation.reconciliationexception": "Exception",
    "reconciliation.invoice": "Invoice",
    "reconciliation.periodsignoff": "Month sign-off",
}
# The page every member may open for an object of a kind (URL name, one argument).
OBJECT_PAGES: dict[str, str] = {
    "merchants.account": "account-detail",
    "payments.paymentrequest": "payments:detail",
}
# Detail keys whose label is not just the key in words.
DETAIL_LABELS: dict[str, str] = {
    "ip": "IP address",
    "md5": "md5",
    "sha256": "SHA-256",
    "api_key": "API key",
    "url": "URL",
    "from": "From",
    "to": "To",
    "test": "Test key",
    "two_factor": "Two-factor",
}
DETAIL_TEXT_MAX = 300


def action_words(code: str) -> str:
    """The sentence for an action code; the code itself when it has none."""
    return ACTION_WORDS.get(code, code)


def action_choices() -> list[tuple[str, str]]:
    """(code, sentence) for every known action, in the order of the sentences."""
    return sorted(ACTION_WORDS.items(), key=lambda item: item[1].lower())


def object_name(object_type: str, object_id: str) -> str:
    if not object_type:
        return ""
    name = OBJECT_NAMES.get(object_type, object_type)
    return f"{name} #{object_id}" if object_id else name


def _label(key: str) -> str:
    if key in DETAIL_LABELS:
        return DETAIL_LABELS[key]
    words = str(key).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{_label(k)} {_value(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) or "—"
    text = str(value)
    if len(text) > DETAIL_TEXT_MAX:
        text = text[: DETAIL_TEXT_MAX - 1] + "…"
    return text


def details_pairs(details: Any) -> list[tuple[str, str]]:
    """An event's details as (label, value) text pairs, in the recorded order."""
    if not details:
        return []
    if not isinstance(details, dict):
        return [("Details", _value(details))]
    return [(_label(key), _value(value)) for key, value in details.items()]


def details_text(details: Any) -> str:
    """The details on one line ("Label: value; …"), for the CSV and XLSX."""
    return "; ".join(f"{label}: {value}" for label, value in details_pairs(details))


def local_time(instant: dt.datetime) -> dt.datetime:
    """The event's time in the server's zone (Phnom Penh), as the page shows it."""
    return timezone.localtime(instant)


def describe(events: Iterable[Any]) -> list[Any]:
    """The events with `words`, `object_label`, `object_url_name` and `detail_pairs`
    set, for a template."""
    out = []
    for event in events:
        event.words = action_words(event.action)
        event.object_label = object_name(event.object_type, event.object_id)
        event.object_url_name = (
            OBJECT_PAGES.get(event.object_type, "") if event.object_id else ""
        )
        event.detail_pairs = details_pairs(event.details)
        out.append(event)
    return out
