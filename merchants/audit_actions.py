"""The audit log in words: a sentence per action code, an object's name, and the
details as `label: value` pairs, for the audit page and its exports. A code with no
words yet is shown as itself, so a new action is never hidden."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Every action code the apps record (a test reads the source and keeps this
# complete). Sentences say what happened, with no subject: the actor column says who.
ACTION_WORDS: dict[str, str] = {
    # sign-in and access
    "auth.login": _("Signed in"),
    "auth.login_failed": _("Failed to sign in"),
    "auth.locked_out": _("Locked out after too many failed sign-ins"),
    "auth.two_factor_enabled": _("Turned two-factor sign-in on"),
    "auth.two_factor_disabled": _("Turned two-factor sign-in off"),
    "auth.password_reset_requested": _("Asked for a password reset link"),
    "auth.password_reset_done": _("Set a new password with a reset link"),
    "access.denied": _("Was refused a page or API route"),
    # the merchant, its people, accounts, keys and connections
    "merchant.created": _("Created the merchant"),
    "membership.created": _("Added a member"),
    "account.created": _("Added an account"),
    "api_key.created": _("Created an API key"),
    "api_key.revoked": _("Revoked an API key"),
    "connection.created": _("Connected an account to its bank or Bakong"),
    "connection.consent_renewed": _("Renewed a connection's consent"),
    "connection.revoked": _("Revoked a connection's consent"),
    "connection.sync_requested": _("Asked for a statement feed sync"),
    "audit_log.exported": _("Exported the audit log"),
    # payments
    "payment_request.created": _("Issued a KHQR code"),
    "payment_request.cancelled": _("Cancelled a KHQR code"),
    "payment_request.paid": _("A KHQR code was paid"),
    "payment_request.flagged": _("Money arrived that was not accepted as the payment"),
    "payment_request.flag_settled": _("Settled a flagged payment"),
    "refund.created": _("Recorded a refund"),
    "slip.checked": _("Checked a payment slip"),
    "webhook_endpoint.created": _("Added a webhook endpoint"),
    "webhook_endpoint.enabled": _("Enabled a webhook endpoint"),
    "webhook_endpoint.disabled": _("Disabled a webhook endpoint"),
    "webhook_endpoint.secret_rotated": _("Rotated a webhook signing secret"),
    "webhook_endpoint.test_sent": _("Sent a test event to a webhook endpoint"),
    "webhook_delivery.redelivered": _("Sent a webhook again"),
    # statements
    "statement.file_imported": _("Imported a statement file"),
    "statements.statement.downloaded": _("Downloaded a statement"),
    "statements.transactions.exported": _("Exported transactions"),
    "statement.import_discarded": _("Discarded a statement import"),
    "statement.import_mapping_saved": _("Saved a column mapping for imports"),
    "payments.exported": _("Exported payments"),
    "statements.pack.requested": _("Asked for a statement pack"),
    "statements.pack.built": _("A statement pack was built"),
    "statements.pack.downloaded": _("Downloaded a statement pack"),
    # reconciliation
    "reconciliation.run": _("Ran reconciliation"),
    "reconciliation.match.confirmed": _("Confirmed a match"),
    "reconciliation.match.rejected": _("Rejected a match"),
    "reconciliation.match.manual": _("Matched items by hand"),
    "reconciliation.match.unmatched": _("Undid a match"),
    "reconciliation.match.unrejected": _("Took back a rejection"),
    "reconciliation.exception.resolved": _("Resolved a reconciliation exception"),
    "reconciliation.tolerances.updated": _("Changed the reconciliation tolerances"),
    "reconciliation.report.downloaded": _("Downloaded a reconciliation report"),
    "reconciliation.period.signed_off": _("Signed off a month"),
    "reconciliation.period.reopened": _("Reopened a signed-off month"),
    "invoice.created": _("Added an invoice"),
    "invoice.imported": _("Imported invoices"),
}

OBJECT_NAMES: dict[str, str] = {
    "auth.user": _("User"),
    "merchants.merchant": _("Merchant"),
    "merchants.membership": _("Membership"),
    "merchants.account": _("Account"),
    "merchants.apikey": _("API key"),
    "merchants.connection": _("Connection"),
    "payments.paymentrequest": _("Payment"),
    "payments.refund": _("Refund"),
    "payments.slipcheck": _("Slip check"),
    "payments.webhookendpoint": _("Webhook endpoint"),
    "payments.webhookdelivery": _("Webhook delivery"),
    "statements.importbatch": _("Statement import"),
    "statements.statementpack": _("Statement pack"),
    "reconciliation.reconciliationrun": _("Reconciliation run"),
    "reconciliation.match": _("Match"),
    "reconciliation.reconciliationexception": _("Exception"),
    "reconciliation.invoice": _("Invoice"),
    "reconciliation.periodsignoff": _("Month sign-off"),
}
# The page every member may open for an object of a kind (URL name, one argument).
OBJECT_PAGES: dict[str, str] = {
    "merchants.account": "account-detail",
    "payments.paymentrequest": "payments:detail",
}
# Every detail key the apps record, and the page filters an export records, in
# words (a test reads the source and keeps this complete): a raw key such as
# consent_expires_at never reaches a page.
DETAIL_LABELS: dict[str, str] = {
    "ip": _("IP address"),
    "md5": "md5",
    "sha256": "SHA-256",
    "api_key": _("API key"),
    "url": "URL",
    "from": _("From"),
    "to": _("To"),
    "test": _("Test key"),
    "two_factor": _("Two-factor"),
    # people, keys and connections
    "username": _("Username"),
    "role": _("Role"),
    "reason": _("Reason"),
    "method": _("Method"),
    "path": _("Page"),
    "prefix": _("Key prefix"),
    "scopes": _("Permissions"),
    "expires_at": _("Expires"),
    "account": _("Account"),
    "account_id": _("Account"),
    "provider": _("Provider"),
    "credential_names": _("Credentials"),
    "consent_expires_at": _("Consent expires"),
    "consent_scope": _("Consent covers"),
    # payments, refunds, slips and webhooks
    "amount": _("Amount"),
    "currency": _("Currency"),
    "order_id": _("Order"),
    "hash": _("Bakong hash"),
    "outcome": _("Outcome"),
    "expected_amount": _("Amount asked"),
    "expected_currency": _("Currency asked"),
    "flag": _("Flag"),
    "resolution": _("Resolution"),
    "note": _("Note"),
    "bank_reference": _("Bank reference"),
    "payment_request": _("Payment"),
    "refunded_total": _("Refunded in all"),
    "result": _("Result"),
    "reused_for": _("Already shown for"),
    "delivery": _("Delivery"),
    "event": _("Event"),
    "events": _("Events"),
    "endpoint": _("Endpoint"),
    "message": _("Message"),
    "sent_at": _("Sent"),
    "test_id": _("Test"),
    "current": _("Current secret"),
    "previous": _("Previous secret"),
    "previous_until": _("Previous secret valid until"),
    # exports and the filters they were made with
    "format": _("Format"),
    "filter": _("Filter"),
    "lines": _("Lines"),
    "q": _("Search"),
    "status": _("Status"),
    "date_from": _("From"),
    "date_to": _("To"),
    "store": _("Store"),
    "actor": _("Who"),
    "action": _("Action"),
    "channel": _("Channel"),
    "direction": _("Money in or out"),
    "min_amount": _("Amount at least"),
    "amount_min": _("Amount at least"),
    "amount_max": _("Amount at most"),
    "max_amount": _("Amount at most"),
    "source": _("Source"),
    "sort": _("Order"),
    "page": _("Page number"),
    "size": _("Rows per page"),
    # statement imports and packs
    "batch": _("Import"),
    "filename": _("File name"),
    "file": _("File"),
    "preset": _("Bank layout"),
    "mapping": _("Column mapping"),
    "inserted": _("Added"),
    "skipped": _("Skipped"),
    "conflicted": _("In conflict"),
    "flagged": _("Flagged"),
    "warnings": _("Warnings"),
    "period_from": _("From"),
    "period_to": _("To"),
    "files": _("Files"),
    "bytes": _("Size (bytes)"),
    # reconciliation
    "match": _("Match"),
    "items": _("Items"),
    "bulk": _("Several at once"),
    "rule": _("Rule"),
    "tier": _("Tier"),
    "score": _("Score"),
    "day": _("Day"),
    "difference": _("Difference"),
    "difference_kind": _("Difference booked as"),
    "decided_at": _("Decided"),
    "decided_by": _("Decided by"),
    "was": _("Was"),
    "replaced": _("Replaced"),
    "aliases": _("Payers remembered"),
    "resolved_exceptions": _("Exceptions resolved"),
    "reopened_exceptions": _("Exceptions reopened"),
    "matched": _("Matched"),
    "exceptions": _("Exceptions"),
    "before": _("Before"),
    "after": _("After"),
    "month": _("Month"),
    "signed_by": _("Signed off by"),
    "carried_forward": _("Carried forward"),
    "exceptions_reopened": _("Exceptions reopened"),
    "proposals_left": _("Proposals left"),
    "invoice_number": _("Invoice number"),
    "customer": _("Customer"),
    "customer_account": _("Customer account"),
    "issue_date": _("Issue date"),
    "due_date": _("Due date"),
    "reference": _("Reference"),
    # the tolerances (before and after a change)
    "fee_percent": _("Bank fee, % of the amount"),
    "fee_floor_usd": _("… or at least (USD)"),
    "fee_floor_khr": _("… or at least (KHR)"),
    "fee_floor_thb": _("… or at least (THB)"),
    "fx_percent": _("Exchange difference, %"),
    "days_after_due": _("Days an invoice may be paid after its due date"),
    "khqr_days_after_expiry": _("Days a KHQR payment may land after the code expired"),
    # a run's counts: its matches by status (tier_N and exception_<reason> below)
    "auto": _("Automatic"),
    "proposed": _("Proposed"),
    "confirmed": _("Confirmed"),
    "rejected": _("Rejected"),
}
DETAIL_TEXT_MAX = 300


def action_words(code: str) -> str:
    """The sentence for an action code; the code itself when it has none."""
    return str(ACTION_WORDS.get(code, code))


def action_choices() -> list[tuple[str, str]]:
    """(code, sentence) for every known action, in the order of the sentences."""
    words = [(code, str(sentence)) for code, sentence in ACTION_WORDS.items()]
    return sorted(words, key=lambda item: item[1].lower())


def object_name(object_type: str, object_id: str) -> str:
    if not object_type:
        return ""
    name = str(OBJECT_NAMES.get(object_type, object_type))
    return f"{name} #{object_id}" if object_id else name


def detail_label(key: str) -> str:
    """Words for a detail key or a run's count name (tier_2, exception_late_payment)."""
    return _label(key)


def _label(key: str) -> str:
    key = str(key)
    if key in DETAIL_LABELS:
        return str(DETAIL_LABELS[key])
    tier = re.fullmatch(r"tier_(\d+)", key)
    if tier:
        return str(_("Tier %(tier)s")) % {"tier": tier[1]}
    if key.startswith("exception_"):
        from reconciliation.models import ExceptionReason

        reason = key.removeprefix("exception_")
        words = dict(ExceptionReason.choices).get(reason)
        if words:
            return str(_("Exceptions: %(reason)s")) % {"reason": words}
    words = key.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
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
        return [(str(_("Details")), _value(details))]
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
