"""The ledger end of the chain: one Bakong movement, one ledger line.

A Bakong transaction that settlement records lands in one of the merchant's
accounts (`landing_account`). On a Bakong wallet nobody else reports it, so its
line is posted here (source `bakong`, external id the hash), unless a line of that
wallet already carries the hash (a wallet statement imported earlier), which is
linked instead. On a bank account the bank reports the movement itself: its line
carrying the hash (feed, push or file) is linked to the transaction, whichever of
the two arrives first. Linking never crosses merchants, and each side is linked at
most once (`Transaction.bakong_transaction` is one-to-one).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from enum import StrEnum

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.periods import local_date, zone_for_currency
from merchants.models import Account, Provider
from payments.models import BakongTransaction
from statements.models import Channel, Source, Transaction
from statements.services.ledger_rows import text_in

logger = logging.getLogger("tonle.statements")

BAKONG_HASH = re.compile(r"[0-9a-f]{64}")
SHORT_HASH_LENGTH = 8
LINK_BATCH = 500
PROBE_BATCH = 1_000


class LineOutcome(StrEnum):
    POSTED = "posted"  # a new line on a Bakong wallet
    LINKED = "linked"  # a line already there (bank or wallet statement) linked
    ALREADY = "already"  # the transaction had its line
    WAITING = "waiting"  # a bank account's: linked when the bank's line arrives
    NO_ACCOUNT = "no_account"  # no account of the merchant takes this currency


def landing_account(*, bakong_transaction: BakongTransaction) -> Account | None:
    """The merchant's account the money went to: the one with the receiving Bakong
    id, else the code's own account, if its currency is the paid one; else the
    merchant's Bakong wallet in that currency; else none."""
    bt = bakong_transaction
    accounts = list(Account.objects.filter(merchant_id=bt.merchant_id).order_by("pk"))
    named = [
        a
        for a in accounts
        if a.bakong_account_id and a.bakong_account_id == bt.to_account_id
    ]
    candidate = next((a for a in named if a.currency == bt.currency), None)
    if candidate is None and named:
        candidate = named[0]
    if candidate is None and bt.payment_request_id is not None:
        account_id = bt.payment_request.account_id
        candidate = next((a for a in accounts if a.pk == account_id), None)
    if candidate is not None and candidate.currency == bt.currency:
        return candidate
    return next(
        (
            a
            for a in accounts
            if a.provider == Provider.BAKONG
            and a.currency == bt.currency
            and a.is_active
        ),
        None,
    )


def bakong_line_post(*, bakong_transaction: BakongTransaction) -> LineOutcome:
    """Give a recorded Bakong transaction its one ledger line: posted on a Bakong
    wallet, the bank's own line linked on a bank account (or later, when it
    arrives). Running it again, or at the same time elsewhere, changes nothing."""
    bt = bakong_transaction
    if Transaction.objects.filter(bakong_transaction=bt).exists():
        return LineOutcome.ALREADY
    account = landing_account(bakong_transaction=bt)
    if account is None:
        logger.warning(
            "statements.bakong.no_account",
            extra={"bakong_transaction": bt.pk, "currency": bt.currency},
        )
        return LineOutcome.NO_ACCOUNT
    if account.provider != Provider.BAKONG:
        line = _bank_line_for(bt, account)
        if line is not None and _link(line.pk, bt):
            return LineOutcome.LINKED
        return LineOutcome.WAITING
    line = _wallet_line_for(bt, account)
    if line is not None:
        return LineOutcome.LINKED if _link(line.pk, bt) else LineOutcome.ALREADY
    if bt.currency == "KHR" and bt.amount != bt.amount.to_integral_value():
        logger.warning(
            "statements.bakong.fractional_riel", extra={"bakong_transaction": bt.pk}
        )
        return LineOutcome.NO_ACCOUNT
    posted_at = bt.created_at_bakong or timezone.now()
    request = bt.payment_request if bt.payment_request_id is not None else None
    try:
        with transaction.atomic():
            Transaction.objects.create(
                merchant_id=bt.merchant_id,
                account=account,
                external_id=bt.hash,
                posted_at=posted_at,
                value_date=local_date(posted_at, zone_for_currency(account.currency)),
                amount=bt.amount,
                currency=bt.currency,
                channel=Channel.KHQR,
                counterparty_account=bt.from_account_id,
                reference=(request.bill_number or request.order_id) if request else "",
                bakong_hash=bt.hash,
                description=bt.description,
                source=Source.BAKONG,
                bakong_transaction=bt,
            )
    except IntegrityError:
        # made a moment ago by another worker (or the re-sync)
        return LineOutcome.ALREADY
    logger.info(
        "statements.bakong.posted",
        extra={"bakong_transaction": bt.pk, "account": account.pk},
    )
    return LineOutcome.POSTED


def _wallet_line_for(bt: BakongTransaction, account: Account) -> Transaction | None:
    unlinked = Transaction.objects.filter(account=account, bakong_transaction=None)
    return (
        unlinked.filter(external_id=bt.hash).first()
        or unlinked.exclude(bakong_hash="").filter(bakong_hash=bt.hash).first()
    )


def _bank_line_for(bt: BakongTransaction, account: Account) -> Transaction | None:
    """The merchant's unlinked line carrying the hash (or Bakong's reference, or
    the short hash with the same amount and currency), the landing account's
    first."""
    keys = [bt.hash] + ([bt.external_ref] if bt.external_ref else [])
    found = list(
        Transaction.objects.filter(merchant_id=bt.merchant_id, bakong_transaction=None)
        .exclude(bakong_hash="")
        .filter(
            Q(bakong_hash__in=keys)
            | Q(bakong_hash=bt.short_hash, amount=bt.amount, currency=bt.currency)
        )
        .order_by("pk")[:20]
    )
    found.sort(
        key=lambda line: (line.account_id != account.pk, line.bakong_hash != bt.hash)
    )
    return found[0] if found else None


def _link(line_id: int, bt: BakongTransaction) -> bool:
    try:
        with transaction.atomic():
            linked = Transaction.objects.filter(
                pk=line_id, bakong_transaction=None
            ).update(bakong_transaction=bt)
    except IntegrityError:
        return False  # the transaction got its line meanwhile
    if linked:
        logger.info(
            "statements.bakong.linked",
            extra={"bakong_transaction": bt.pk, "transaction": line_id},
        )
    return bool(linked)


def bakong_lines_link(*, account: Account, hashes: Iterable[str]) -> int:
    """Link the account's lines that carry one of `hashes` (the lines a feed window,
    a push or a file just wrote) to the merchant's recorded Bakong transactions
    that have no line yet: by the full hash, by Bakong's external reference, or by
    the short hash with the same amount and currency. One read of the candidates,
    one of the lines and a bulk update: never a query per line. Returns how many
    lines were linked."""
    keys = {h for h in hashes if h}
    if not keys:
        return 0
    candidates = _unlinked_transactions(account.merchant_id, keys)
    if not candidates:
        return 0
    wanted = set()
    for bt in candidates:
        wanted.update(k for k in (bt.hash, bt.short_hash, bt.external_ref) if k in keys)
    lines = list(
        Transaction.objects.filter(account=account, bakong_transaction=None)
        .exclude(bakong_hash="")
        .filter(bakong_hash__in=sorted(wanted))
        .order_by("pk")
        .only("pk", "bakong_hash", "amount", "currency")
    )
    pairs = _pairs(lines, candidates)
    if not pairs:
        return 0
    for line, bt in pairs:
        line.bakong_transaction = bt
    try:
        with transaction.atomic():
            Transaction.objects.bulk_update(
                [line for line, _ in pairs],
                ["bakong_transaction"],
                batch_size=LINK_BATCH,
            )
        linked = len(pairs)
    except IntegrityError:
        # a settlement linked one of them meanwhile: link the rest one by one
        linked = sum(_link(line.pk, bt) for line, bt in pairs)
    logger.info(
        "statements.bakong.lines_linked", extra={"account": account.pk, "count": linked}
    )
    return linked


def _unlinked_transactions(merchant_id: int, keys: set[str]) -> list[BakongTransaction]:
    """The merchant's transactions without a line that one of `keys` names: read
    from whichever side is smaller (a file of 100,000 lines and a merchant with a
    handful of Bakong transactions, or the other way round)."""
    recorded = BakongTransaction.objects.filter(merchant_id=merchant_id)
    # counted only as far as the answer needs: a merchant's whole count was a
    # parallel scan of the table (80 ms for 277,000 transactions) on every import
    if recorded.order_by()[: len(keys) + 1].count() <= len(keys):
        return [
            bt
            for bt in recorded.filter(ledger_line__isnull=True).order_by("pk")
            if bt.hash in keys or bt.short_hash in keys or bt.external_ref in keys
        ]
    full = sorted(k for k in keys if BAKONG_HASH.fullmatch(k))
    short = sorted(k for k in keys if len(k) == SHORT_HASH_LENGTH)
    # a bank's own trace number: compared with Bakong's external reference, which
    # has no index (only keys that cannot be a hash ask)
    traces = sorted(k for k in keys if not BAKONG_HASH.fullmatch(k))
    table = BakongTransaction._meta.db_table
    lines = Transaction._meta.db_table
    qn = connection.ops.quote_name
    found: dict[int, BakongTransaction] = {}
    # The hashes are asked PROBE_BATCH at a time: for a whole file's worth (25,000)
    # the planner chose a parallel scan of every merchant's transactions over that
    # many probes of the unique index, and the scan grows with the table where the
    # probes grow with the file. External references have no index: asked once.
    asked = [
        *(
            (column, values[i : i + PROBE_BATCH])
            for column, values in (("hash", full), ("short_hash", short))
            for i in range(0, len(values), PROBE_BATCH)
        ),
        ("external_ref", traces),
    ]
    for column, values in asked:
        if not values:
            continue
        match, param = text_in(values)
        rows = BakongTransaction.objects.raw(
            f"SELECT * FROM {qn(table)} bt WHERE bt.merchant_id = %s "  # noqa: S608
            f"AND bt.{qn(column)} {match} AND NOT EXISTS (SELECT 1 FROM {qn(lines)} t "
            "WHERE t.bakong_transaction_id = bt.id)",
            [merchant_id, param],
        )
        found.update((bt.pk, bt) for bt in rows)
    return [found[pk] for pk in sorted(found)]


def _pairs(
    lines: list[Transaction], candidates: list[BakongTransaction]
) -> list[tuple[Transaction, BakongTransaction]]:
    """Each line with at most one transaction and each transaction with at most
    one line: by the full hash first, then the reference, then the short hash."""
    by_hash = {bt.hash: bt for bt in candidates}
    by_ref = {bt.external_ref: bt for bt in candidates if bt.external_ref}
    by_short: dict[tuple, BakongTransaction] = {}
    for bt in candidates:
        by_short.setdefault((bt.short_hash, bt.amount, bt.currency), bt)
    rules = (
        lambda line: by_hash.get(line.bakong_hash),
        lambda line: by_ref.get(line.bakong_hash),
        lambda line: by_short.get((line.bakong_hash, line.amount, line.currency)),
    )
    pairs: list[tuple[Transaction, BakongTransaction]] = []
    lines_taken: set[int] = set()
    taken: set[int] = set()
    for rule in rules:
        for line in lines:
            bt = None if line.pk in lines_taken else rule(line)
            if bt is None or bt.pk in taken:
                continue
            lines_taken.add(line.pk)
            taken.add(bt.pk)
            pairs.append((line, bt))
    return pairs


def bakong_lines_resync(*, merchant_id: int | None = None) -> dict[str, int]:
    """Give every recorded Bakong transaction without a line its line (posted or
    linked), for deployments whose payments were settled before the ledger heard
    of them: {"posted", "linked", "skipped"} (a bank line not there yet, or no
    account in the paid currency, is skipped)."""
    pending = BakongTransaction.objects.filter(ledger_line__isnull=True)
    if merchant_id is not None:
        pending = pending.filter(merchant_id=merchant_id)
    counts = {"posted": 0, "linked": 0, "skipped": 0}
    ids = list(pending.order_by("pk").values_list("pk", flat=True))
    for pk in ids:
        with transaction.atomic():
            bt = (
                BakongTransaction.objects.select_related("payment_request")
                .filter(pk=pk)
                .first()
            )
            outcome = bakong_line_post(bakong_transaction=bt)
        if outcome == LineOutcome.POSTED:
            counts["posted"] += 1
        elif outcome == LineOutcome.LINKED:
            counts["linked"] += 1
        else:
            counts["skipped"] += 1
    logger.info("statements.bakong.resynced", extra=counts)
    return counts
