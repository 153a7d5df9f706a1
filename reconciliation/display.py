"""How the pages and the report show one side of a match: an invoice, a KHQR
code, a refund, a ledger line or a Bakong payment as one row (amount, day,
reference, counterparty, a label and where its evidence is).

`item_row` reads a match item whose records were loaded with it (no query);
`rows_for_ids` loads engine ids ("inv:12", "ln:7") with one query per kind."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from merchants.models import Merchant
from payments.models import BakongTransaction, PaymentRequest, Refund
from reconciliation.models import Invoice, MatchItem
from statements.models import Transaction

KIND_WORDS = {
    "invoice": gettext_lazy("Invoice"),
    "khqr": gettext_lazy("KHQR code"),
    "refund": gettext_lazy("Refund"),
    "line": gettext_lazy("Bank line"),
    "bakong": gettext_lazy("Bakong payment"),
}


@dataclass(frozen=True)
class ItemRow:
    kind: str
    pk: int
    engine_id: str
    label: str
    amount: Decimal | None
    currency: str
    day: dt.date | None
    day_note: str  # "due 16 Nov", "booked", …
    reference: str
    counterparty: str
    where: str  # the account or the source

    @property
    def kind_word(self) -> str:
        return KIND_WORDS.get(self.kind, self.kind)

    @property
    def evidence_url(self) -> str:
        return reverse("reconciliation:evidence", args=[self.kind, self.pk])

    @property
    def why_url(self) -> str:
        return reverse("reconciliation:why", args=[self.kind, self.pk])

    @property
    def ref(self) -> str:
        """The value a manual-match checkbox posts."""
        return f"{self.kind}:{self.pk}"

    @property
    def is_expected(self) -> bool:
        return self.kind in ("invoice", "khqr", "refund")


def _local(instant: dt.datetime | None) -> dt.date | None:
    return timezone.localdate(instant) if instant else None


def invoice_row(inv: Invoice, amount: Decimal | None = None) -> ItemRow:
    return ItemRow(
        kind="invoice",
        pk=inv.pk,
        engine_id=f"inv:{inv.pk}",
        label=inv.invoice_number,
        amount=inv.amount if amount is None else amount,
        currency=inv.currency,
        day=inv.issue_date,
        day_note=_("issued, due %(due)s") % {"due": f"{inv.due_date:%d %b %Y}"},
        reference=inv.reference,
        counterparty=inv.customer
        + (f" · {inv.customer_account}" if inv.customer_account else ""),
        where=_("invoice"),
    )


def code_row(
    pr: PaymentRequest,
    amount: Decimal | None = None,
    bakong: BakongTransaction | None = None,
) -> ItemRow:
    name = pr.order_id or pr.bill_number or pr.md5[:10]
    return ItemRow(
        kind="khqr",
        pk=pr.pk,
        engine_id=f"ps:{bakong.pk}" if bakong else f"pr:{pr.pk}",
        label=f"KHQR {name}",
        amount=pr.amount if amount is None else amount,
        currency=pr.currency,
        day=_local(pr.created_at),
        day_note=(
            _("issued, expires %(when)s")
            % {"when": f"{timezone.localtime(pr.expires_at):%d %b %H:%M}"}
            if pr.expires_at else _("issued, static")
        )
        + (" · " + _("payment %(hash)s") % {"hash": bakong.hash[:8]}
           if bakong else ""),
        reference=" · ".join(x for x in (pr.bill_number, pr.order_id) if x),
        counterparty=pr.payer_account,
        where="KHQR",
    )  # fmt: skip


def refund_row(rf: Refund, amount: Decimal | None = None) -> ItemRow:
    return ItemRow(
        kind="refund",
        pk=rf.pk,
        engine_id=f"rf:{rf.pk}",
        label=_("Refund %(reference)s") % {"reference": rf.bank_reference},
        amount=-rf.amount if amount is None else amount,
        currency=rf.currency,
        day=_local(rf.created_at),
        day_note=_("recorded"),
        reference=rf.reason,
        counterparty="",
        where=_("refund"),
    )


def line_row(line: Transaction, amount: Decimal | None = None) -> ItemRow:
    text = " · ".join(x for x in (line.reference, line.description) if x)
    account = line.account.label if "account" in line._state.fields_cache else ""
    return ItemRow(
        kind="line",
        pk=line.pk,
        engine_id=f"ln:{line.pk}",
        label=line.external_id,
        amount=line.amount if amount is None else amount,
        currency=line.currency,
        day=line.value_date,
        day_note=_("booked"),
        reference=text,
        counterparty=line.counterparty_name
        + (f" · {line.counterparty_account}" if line.counterparty_account else ""),
        where=account or line.get_source_display(),
    )


def bakong_row(bt: BakongTransaction, amount: Decimal | None = None) -> ItemRow:
    return ItemRow(
        kind="bakong",
        pk=bt.pk,
        engine_id=f"bk:{bt.pk}",
        label=f"Bakong {bt.hash[:8]}",
        amount=bt.amount if amount is None else amount,
        currency=bt.currency,
        day=_local(bt.created_at_bakong or bt.received_at),
        day_note=_("paid, not on a bank statement yet"),
        reference=bt.external_ref or bt.description,
        counterparty=bt.from_account_id,
        where="Bakong",
    )


def item_row(item: MatchItem) -> ItemRow:
    """One side of a match as a row (its record was loaded with it)."""
    if item.kind == "invoice":
        return invoice_row(item.invoice, item.amount)
    if item.kind == "khqr":
        bakong = item.bakong_transaction if item.bakong_transaction_id else None
        return code_row(item.payment_request, item.amount, bakong)
    if item.kind == "refund":
        return refund_row(item.refund, item.amount)
    if item.kind == "line":
        return line_row(item.transaction, item.amount)
    return bakong_row(item.bakong_transaction, item.amount)


def rows_for_ids(*, merchant: Merchant, ids: Iterable[str]) -> dict[str, ItemRow]:
    """Engine ids as rows of this merchant (ids of another merchant, or of rows
    gone since, are left out)."""
    by_prefix: dict[str, set[int]] = defaultdict(set)
    for engine_id in ids:
        prefix, _, pk = str(engine_id).partition(":")
        if pk.isdigit():
            by_prefix[prefix].add(int(pk))
    out: dict[str, ItemRow] = {}
    if by_prefix.get("inv"):
        for inv in Invoice.objects.for_merchant(merchant).filter(
            pk__in=by_prefix["inv"]
        ):
            out[f"inv:{inv.pk}"] = invoice_row(inv)
    if by_prefix.get("pr"):
        for pr in PaymentRequest.objects.for_merchant(merchant).filter(
            pk__in=by_prefix["pr"]
        ):
            out[f"pr:{pr.pk}"] = code_row(pr)
    if by_prefix.get("rf"):
        for rf in Refund.objects.for_merchant(merchant).filter(pk__in=by_prefix["rf"]):
            out[f"rf:{rf.pk}"] = refund_row(rf)
    if by_prefix.get("ln"):
        for line in (
            Transaction.objects.for_merchant(merchant)
            .filter(pk__in=by_prefix["ln"])
            .select_related("account")
        ):
            out[f"ln:{line.pk}"] = line_row(line)
    bakong_ids = by_prefix.get("bk", set()) | by_prefix.get("ps", set())
    if bakong_ids:
        for bt in (
            BakongTransaction.objects.for_merchant(merchant)
            .filter(pk__in=bakong_ids)
            .select_related("payment_request")
        ):
            if bt.pk in by_prefix.get("bk", ()):
                out[f"bk:{bt.pk}"] = bakong_row(bt)
            if bt.pk in by_prefix.get("ps", ()) and bt.payment_request:
                out[f"ps:{bt.pk}"] = code_row(bt.payment_request, bt.amount, bt)
    return out
