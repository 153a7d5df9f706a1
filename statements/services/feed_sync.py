"""Statement feed -> ledger, window by window.

Invariants:
- every line is keyed by (account, external id = the feed's txn_id): a re-sync
  changes nothing (the unique key decides; the pre-read only makes counts exact);
- every page is read and `pages` is not believed: a window is read until an empty
  page (or a short last page), bounded by MAX_PAGES;
- a feed that shifts items while we read cannot lose or double a line: items are
  collected by txn_id, and a window is read again while the bank's opening + Σ lines
  does not reach its closing and the previous pass still found new lines;
- what the bank says about balances is checked against the lines and a mismatch is
  recorded on the run and the connection (status warning), never hidden;
- a feed line that confirms an earlier push event does not create a second line.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from core.exceptions import InvalidInput, NotFound, TonleError, TransientError
from core.money import MoneyError, to_minor
from core.periods import day_start, local_date, zone_for_currency
from core.retry import RetryPolicy
from merchants.exceptions import ConsentRefused
from merchants.models import (
    Account,
    Connection,
    ConnectionProvider,
    ConsentScope,
    SyncStatus,
)
from merchants.selectors import connection_consent, connection_consent_require
from statements.clients.feed import (
    CHANNELS,
    AccountBalance,
    FeedItem,
    FeedToken,
    StatementFeedClient,
)
from statements.imports.fx import fx_check
from statements.imports.parse import LineDraft, amount_in_range, instant_problem
from statements.models import (
    Channel,
    FeedSyncRun,
    FeedSyncStatus,
    PushEvent,
    Source,
    Statement,
    Transaction,
)
from statements.services.bakong_lines import bakong_lines_link
from statements.services.ledger_rows import (
    ledger_ids_present,
    transaction_rows_insert,
)

logger = logging.getLogger("tonle.statements")

BACKFILL_DAYS = 365  # the banks' online statements reach back 12 months
INCREMENTAL_OVERLAP_DAYS = 3
PAGE_SIZE = 100
MAX_PAGES = 200  # per pass and window: 20,000 lines a month is plenty for an SME
MAX_PASSES = 3
PUSH_MATCH_WINDOW = dt.timedelta(hours=36)
ID_CHUNK = 900
# a person at the command line (or "sync now" run inline) waits at most this long;
# the Celery task retries with its own, longer policy (statements.tasks)
FEED_SYNC_RETRY = RetryPolicy(max_tries=5, max_total_wait=300.0, cap=120.0)
BANK = "the bank"


@dataclass(frozen=True)
class SyncResult:
    fetched: int
    inserted: int
    skipped: int
    confirmed: int = 0
    windows: int = 0
    pages: int = 0
    status: str = FeedSyncStatus.OK
    warnings: list[str] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "fetched": self.fetched,
            "inserted": self.inserted,
            "skipped": self.skipped,
            "confirmed": self.confirmed,
            "windows": self.windows,
            "pages": self.pages,
            "status": self.status,
            "warnings": self.warnings,
        }


@dataclass
class _WindowRead:
    items: dict[str, FeedItem]
    opening: Decimal | None
    closing: Decimal | None
    pages: int
    passes: int
    notes: list[str]


def monthly_windows(
    date_from: dt.date, date_to: dt.date
) -> list[tuple[dt.date, dt.date]]:
    """[date_from, date_to] cut at calendar month ends."""
    if date_to < date_from:
        raise InvalidInput(
            f"to: {date_to} is before from: {date_from}", field="date_to"
        )
    windows = []
    start = date_from
    while start <= date_to:
        next_month = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        end = min(date_to, next_month - dt.timedelta(days=1))
        windows.append((start, end))
        start = end + dt.timedelta(days=1)
    return windows


def sync_windows(
    *, connection: Connection, today: dt.date
) -> list[tuple[dt.date, dt.date]]:
    """First sync: a 12-month backfill; afterwards from the last sync with an
    overlap (late postings land a few days back)."""
    if connection.last_sync_at is None or connection.last_sync_status == "never":
        start = today - dt.timedelta(days=BACKFILL_DAYS)
    else:
        zone = zone_for_currency(connection.account.currency)
        start = local_date(connection.last_sync_at, zone) - dt.timedelta(
            days=INCREMENTAL_OVERLAP_DAYS
        )
        start = max(start, today - dt.timedelta(days=BACKFILL_DAYS))
    return monthly_windows(min(start, today), today)


@sensitive_variables()
def feed_client_for(
    *, connection: Connection, transport: Any = None
) -> StatementFeedClient:
    """A client with the connection's credentials; a refreshed token is written
    back (encrypted) so the next run reuses it."""
    credentials = dict(connection.credentials or {})
    token = None
    access = credentials.get("access_token") or credentials.get("token")
    if access:
        expires = credentials.get("token_expires_at")
        expires_at = (
            dt.datetime.fromisoformat(expires)
            if expires
            else timezone.now() + dt.timedelta(days=3650)
        )
        token = FeedToken(
            access_token=str(access),
            expires_at=expires_at,
            refresh_token=str(credentials.get("refresh_token") or ""),
        )

    @sensitive_variables()
    def remember(new: FeedToken) -> None:
        fresh = dict(Connection.objects.get(pk=connection.pk).credentials or {})
        fresh.pop("token", None)
        fresh.update(
            access_token=new.access_token,
            token_expires_at=new.expires_at.isoformat(),
            refresh_token=new.refresh_token,
        )
        Connection.objects.filter(pk=connection.pk).update(credentials=fresh)
        connection.credentials = fresh

    return StatementFeedClient(
        base_url=connection.base_url,
        client_id=str(credentials.get("client_id") or ""),
        client_secret=str(credentials.get("client_secret") or ""),
        token=token,
        on_token=remember,
        transport=transport,
        clock=timezone.now,
    )


def _connection_for_sync(connection_id: int) -> Connection:
    connection = (
        Connection.objects.select_related("account", "merchant")
        .filter(pk=connection_id)
        .first()
    )
    if connection is None:
        raise NotFound(f"connection {connection_id} does not exist")
    if connection.provider != ConnectionProvider.STATEMENT_FEED:
        raise InvalidInput(
            f"connection: #{connection_id} is a {connection.provider} connection, "
            "not a statement feed",
            field="connection",
        )
    if connection.account is None:
        raise InvalidInput(
            f"connection: #{connection_id} has no account", field="connection"
        )
    try:
        connection_consent_require(
            connection=connection, scope=ConsentScope.STATEMENTS_READ
        )
    except ConsentRefused as exc:
        _connection_status(connection, SyncStatus.FAILED, f"not synced: {exc.message}")
        logger.info(
            "statements.feed.no_consent",
            extra={"connection": connection.pk, "reason": exc.message},
        )
        raise
    return connection


def statement_feed_sync(
    *,
    connection_id: int,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    channels: Sequence[str] | None = None,
    transport: Any = None,
    sleep: Callable[[float], None] | None = None,
    retry: RetryPolicy = FEED_SYNC_RETRY,
) -> SyncResult:
    """Read the feed for the window(s) and post every new line once. Only with the
    customer's consent to read statements (ConsentRefused, recorded on the
    connection, otherwise).

    A window is read whole, then written in one transaction: a failure part way
    writes nothing of it, and the windows before it stay written. Without `sleep`
    the first 429 / 5xx / timeout is raised for the caller (the task) to retry
    later; with it, the window is read again after `retry`'s backoff (Retry-After
    honoured) until its tries or its total wait run out: RetriesExhausted."""
    connection = _connection_for_sync(connection_id)
    account = connection.account
    zone = zone_for_currency(account.currency)
    today = timezone.localdate(timezone=zone)
    if date_from is None and date_to is None:
        windows = sync_windows(connection=connection, today=today)
    else:
        windows = monthly_windows(date_from or date_to, date_to or today)
    if channels:
        unknown = [c for c in channels if c.upper() not in CHANNELS]
        if unknown:
            raise InvalidInput(
                f"channel: {', '.join(unknown)} not one of {', '.join(CHANNELS)}",
                field="channel",
            )
        channels = [c.upper() for c in channels]
    client = feed_client_for(connection=connection, transport=transport)
    totals = {"fetched": 0, "inserted": 0, "skipped": 0, "confirmed": 0, "pages": 0}
    warnings: list[str] = []
    run_ids: list[int] = []
    waited = [0.0]
    try:
        for start, end in windows:
            run = FeedSyncRun.objects.create(
                merchant=connection.merchant,
                connection=connection,
                account=account,
                window_start=start,
                window_end=end,
                currency=account.currency,
                started_at=timezone.now(),
            )
            run_ids.append(run.pk)
            read = _read_window_retrying(
                client=client,
                account=account,
                run=run,
                channels=channels or list(CHANNELS),
                filtered=bool(channels),
                sleep=sleep,
                retry=retry,
                waited=waited,
            )
            counts, message = _apply_window(
                connection=connection,
                account=account,
                run=run,
                read=read,
                filtered=bool(channels),
            )
            for key in totals:
                totals[key] += counts.get(key, 0)
            if message:
                warnings.append(message)
        balance_note = _balances_read(connection=connection, client=client)
        if balance_note:
            warnings.append(balance_note)
    except TransientError as exc:
        _connection_status(connection, SyncStatus.FAILED, f"will retry: {exc.message}")
        raise
    except TonleError as exc:
        _connection_status(connection, SyncStatus.FAILED, exc.message)
        raise
    finally:
        client.close()
    status = FeedSyncStatus.WARNING if warnings else FeedSyncStatus.OK
    summary = (
        f"{totals['inserted']} new line(s) of {totals['fetched']} read over "
        f"{len(windows)} window(s)"
    )
    _connection_status(
        connection,
        SyncStatus.WARNING if warnings else SyncStatus.OK,
        "; ".join(warnings) if warnings else summary,
        synced=True,
    )
    logger.info(
        "statements.feed.synced",
        extra={"connection": connection.pk, **totals, "warnings": len(warnings)},
    )
    return SyncResult(
        windows=len(windows),
        status=status,
        warnings=warnings,
        run_ids=run_ids,
        **totals,
    )


def _read_window_retrying(
    *,
    client: StatementFeedClient,
    account: Account,
    run: FeedSyncRun,
    channels: list[str],
    filtered: bool,
    sleep: Callable[[float], None] | None,
    retry: RetryPolicy,
    waited: list[float],
) -> _WindowRead:
    """One window read whole; transient failures retried per `retry` when there is
    a `sleep` to wait with. `waited` carries the total wait across windows."""
    failures: list[TransientError] = []
    while True:
        try:
            return _read_window(
                client=client,
                account=account,
                start=run.window_start,
                end=run.window_end,
                channels=channels,
                filtered=filtered,
            )
        except TransientError as exc:
            failures.append(exc)
            delay = (
                None
                if sleep is None
                else retry.delay(tries=len(failures), error=exc, waited=waited[0])
            )
            if delay is None:
                _run_failed(run, exc)
                if sleep is None:
                    raise
                raise retry.exhausted(
                    subject=BANK,
                    tries=len(failures),
                    errors=failures,
                    waited=waited[0],
                ) from exc
            logger.info(
                "statements.feed.retry",
                extra={
                    "run": run.pk,
                    "tries": len(failures),
                    "delay": delay,
                    "cause": exc.message,
                },
            )
            sleep(delay)
            waited[0] += delay
        except TonleError as exc:
            _run_failed(run, exc)
            raise


def _balances_read(*, connection: Connection, client: StatementFeedClient) -> str:
    """The bank's current and available balance, where its feed offers them and the
    consent covers balances; a warning (not a failed sync) when it cannot be read."""
    if not connection_consent(
        connection=connection, scope=ConsentScope.BALANCES_READ
    ).allowed:
        return ""
    account = connection.account
    try:
        balance = client.account_balance(acct_id=account.number)
    except TonleError as exc:
        return f"balances not read: {exc.message}"
    if balance is None:
        return ""  # this feed has no balance API
    if balance.ccy and balance.ccy != account.currency:
        return (
            f"balances not read: the bank reports {balance.ccy} for a "
            f"{account.currency} account"
        )
    try:
        for value in (balance.current_balance, balance.available_balance):
            if value is not None:
                to_minor(value, account.currency)
    except MoneyError as exc:
        return f"balances not read: {exc}"
    _account_balances_store(account, balance)
    return ""


def _account_balances_store(account: Account, balance: AccountBalance) -> None:
    """Each figure is kept with its own as-of time; an older answer never
    overwrites a newer figure (a push may have moved the current balance since)."""
    rows = Account.objects.filter(pk=account.pk)
    if balance.current_balance is not None:
        rows.filter(
            Q(balance_as_of__isnull=True) | Q(balance_as_of__lte=balance.as_of)
        ).update(current_balance=balance.current_balance, balance_as_of=balance.as_of)
    if balance.available_balance is not None:
        rows.filter(
            Q(available_as_of__isnull=True) | Q(available_as_of__lte=balance.as_of)
        ).update(
            available_balance=balance.available_balance,
            available_as_of=balance.as_of,
        )


def _read_window(
    *,
    client: StatementFeedClient,
    account: Account,
    start: dt.date,
    end: dt.date,
    channels: list[str],
    filtered: bool,
) -> _WindowRead:
    items: dict[str, FeedItem] = {}
    read = _WindowRead(items, None, None, 0, 0, [])
    for _ in range(MAX_PASSES):
        read.passes += 1
        added = 0
        page = 1
        while True:
            answer = client.statement_page(
                acct_id=account.number,
                from_date=start,
                to_date=end,
                channels=channels,
                page=page,
                page_size=PAGE_SIZE,
            )
            read.pages += 1
            if read.opening is None:
                read.opening = answer.opening_balance
            read.closing = answer.closing_balance
            for item in answer.items:
                if item.txn_id not in items:
                    items[item.txn_id] = item
                    added += 1
            short = len(answer.items) < PAGE_SIZE
            if not answer.items or (short and page >= answer.pages):
                break
            if page >= MAX_PAGES:
                read.notes.append(
                    f"stopped after {MAX_PAGES} pages; the window may be incomplete"
                )
                break
            page += 1
        if filtered:
            # no balance to check a filtered read against: read until a pass adds
            # nothing
            if read.passes > 1 and added == 0:
                break
            continue
        if _adds_up(read) or (read.passes > 1 and added == 0):
            break
    return read


def _posted_sum(read: _WindowRead) -> Decimal:
    """The posted lines' total; a line whose amount is out of range is refused
    (see _draft), so it is not counted either."""
    return sum(
        (
            item.amount
            for item in read.items.values()
            if item.is_posted and amount_in_range(item.amount)
        ),
        Decimal(0),
    )


def _adds_up(read: _WindowRead) -> bool:
    if read.opening is None or read.closing is None:
        return True  # nothing to check against
    return read.opening + _posted_sum(read) == read.closing


def _draft(item: FeedItem, account: Account, zone) -> LineDraft:
    """The feed item as a ledger draft, kept as the bank sent it: a cross-border
    line whose FX figures differ beyond the bank's rounding is flagged, never
    refused (statements.imports.fx); what cannot be money is refused (MoneyError)."""
    currency = account.currency
    if item.ccy and item.ccy != currency:
        raise MoneyError(f"{item.ccy} line in a {currency} account")
    problem = instant_problem(
        item.posted_at, zone=zone, today=timezone.localdate(timezone=zone)
    )
    if problem is not None:
        raise MoneyError(f"posted_at {problem}")
    for name, value in (
        ("amount", item.amount),
        ("balance_after", item.balance_after),
        ("fee", item.fee),
        ("original_amount", item.original_amount),
    ):
        if value is not None and not amount_in_range(value):
            raise MoneyError(f"{name} {str(value)[:40]} is out of range")
    for value in (item.amount, item.balance_after, item.fee):
        if value is not None:
            to_minor(value, currency)
    if item.original_amount is not None:
        to_minor(item.original_amount, item.original_ccy or None)
    if not item.amount:
        raise MoneyError("amount is zero")
    mismatch = False
    if item.original_amount is not None and item.fx_rate is not None:
        try:
            difference = fx_check(
                item.original_amount, item.fx_rate, item.amount, item.fee, currency
            )
        except ValueError as exc:
            raise MoneyError(f"fx_rate {exc}") from None
        mismatch = difference is not None
    channel = item.channel if item.channel in Channel.values else Channel.OTHER
    return LineDraft(
        row=0,
        external_id=item.txn_id[:128],
        posted_at=item.posted_at,
        value_date=item.value_date or item.posted_at.astimezone(zone).date(),
        amount=item.amount,
        currency=currency,
        channel=channel,
        counterparty_name=item.counterparty[:200],
        counterparty_account=item.counterparty_account[:100],
        reference=item.ref[:200],
        bakong_hash=item.bakong_trace[:64],
        description=item.description,
        balance_after=item.balance_after,
        original_amount=item.original_amount,
        original_currency=item.original_ccy[:3],
        fx_rate=item.fx_rate,
        fee=item.fee,
        has_bank_id=True,
        biller_category=item.biller_category[:64],
        fx_mismatch=mismatch,
    )


def _known_ids(account: Account, ids: list[str]) -> set[str]:
    """Ids the ledger has, or that a push event was already confirmed as."""
    known = ledger_ids_present(account, ids)
    for i in range(0, len(ids), ID_CHUNK):
        chunk = ids[i : i + ID_CHUNK]
        known.update(
            PushEvent.objects.filter(
                account=account, confirmed_txn_id__in=chunk
            ).values_list("confirmed_txn_id", flat=True)
        )
    return known


def _confirm_push(account: Account, item: FeedItem) -> PushEvent | None:
    """An unconfirmed push line on the same account with the same ref and amount,
    posted close to the feed's time: the feed line is that push, confirmed."""
    if not item.ref:
        return None
    candidate = (
        PushEvent.objects.select_for_update()
        .filter(
            account=account,
            ref=item.ref,
            amount=item.amount,
            confirmed_txn_id="",
            occurred_at__gte=item.posted_at - PUSH_MATCH_WINDOW,
            occurred_at__lte=item.posted_at + PUSH_MATCH_WINDOW,
        )
        .order_by("occurred_at", "pk")
        .first()
    )
    if candidate is None:
        return None
    candidate.confirmed_txn_id = item.txn_id[:128]
    candidate.confirmed_at = timezone.now()
    candidate.save(update_fields=["confirmed_txn_id", "confirmed_at"])
    return candidate


@transaction.atomic
def _apply_window(
    *,
    connection: Connection,
    account: Account,
    run: FeedSyncRun,
    read: _WindowRead,
    filtered: bool,
) -> tuple[dict[str, int], str]:
    zone = zone_for_currency(account.currency)
    notes = list(read.notes)
    for name in ("opening", "closing"):
        value = getattr(read, name)
        if value is not None and not amount_in_range(value):
            notes.append(f"the bank's {name} balance {str(value)[:40]} is out of range")
            setattr(read, name, None)
    posted = [item for item in read.items.values() if item.is_posted]
    not_posted = len(read.items) - len(posted)
    known = _known_ids(account, [item.txn_id for item in posted])
    drafts: list[LineDraft] = []
    hashes: set[str] = set()
    confirmed = 0
    bad = 0
    for item in posted:
        if item.txn_id in known:
            continue
        try:
            draft = _draft(item, account, zone)
        except MoneyError as exc:
            bad += 1
            if bad <= 5:
                notes.append(f"line {item.txn_id} refused: {exc}")
            continue
        pushed = _confirm_push(account, item)
        if pushed is not None:
            confirmed += 1
            if draft.bakong_hash:  # the push did not say which Bakong transaction
                Transaction.objects.filter(
                    pk=pushed.transaction_id, bakong_hash=""
                ).update(bakong_hash=draft.bakong_hash)
                hashes.add(draft.bakong_hash)
            continue
        drafts.append(draft)
    inserted = transaction_rows_insert(
        account=account, lines=drafts, source=Source.FEED
    )
    hashes.update(draft.bakong_hash for draft in drafts)
    bakong_lines_link(account=account, hashes=hashes)
    fetched = len(read.items)
    skipped = fetched - inserted

    computed = None
    mismatch = False
    if read.opening is not None and read.closing is not None and not filtered:
        computed = read.opening + _posted_sum(read)
        if computed != read.closing:
            mismatch = True
            notes.append(
                f"{run.window_start}..{run.window_end}: the bank reports closing "
                f"{read.closing} {account.currency} but opening {read.opening} + "
                f"the {len(posted)} lines = {computed} (difference "
                f"{read.closing - computed})"
            )
    if bad > 5:
        notes.append(f"{bad} lines refused in all")
    if read.opening is not None and read.closing is not None:
        Statement.objects.update_or_create(
            account=account,
            period_start=run.window_start,
            period_end=run.window_end,
            source=Source.FEED,
            defaults={
                "merchant": account.merchant,
                "currency": account.currency,
                "opening_balance": read.opening,
                "closing_balance": read.closing,
            },
        )
        _account_balance(account, read.closing, run.window_end, zone)
    run.passes = read.passes
    run.pages = read.pages
    run.fetched = fetched
    run.inserted = inserted
    run.skipped = skipped
    run.confirmed = confirmed
    run.reported_opening = read.opening
    run.reported_closing = read.closing
    run.computed_closing = computed
    run.mismatch = mismatch
    run.status = FeedSyncStatus.WARNING if notes else FeedSyncStatus.OK
    run.message = "; ".join(notes) or (
        f"{inserted} new of {fetched} ({not_posted} not posted, {confirmed} "
        "confirmed pushes)"
    )
    run.finished_at = timezone.now()
    run.save()
    counts = {
        "fetched": fetched,
        "inserted": inserted,
        "skipped": skipped,
        "confirmed": confirmed,
        "pages": read.pages,
    }
    return counts, "; ".join(notes)


def _account_balance(account: Account, closing: Decimal, end: dt.date, zone) -> None:
    """The bank's closing is the account's balance as of the window's end (or now
    for the current window); an older window never overwrites a newer balance."""
    as_of = min(timezone.now(), day_start(end + dt.timedelta(days=1), zone))
    Account.objects.filter(pk=account.pk).filter(
        Q(balance_as_of__isnull=True) | Q(balance_as_of__lte=as_of)
    ).update(current_balance=closing, balance_as_of=as_of)


def _run_failed(run: FeedSyncRun, exc: TonleError) -> None:
    run.status = FeedSyncStatus.FAILED
    run.message = f"{exc.code}: {exc.message}"
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "message", "finished_at"])


def _connection_status(
    connection: Connection, status: str, message: str, *, synced: bool = False
) -> None:
    changes: dict[str, Any] = {
        "last_sync_status": status,
        "last_sync_message": message[:2000],
    }
    if synced:
        changes["last_sync_at"] = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(**changes)
    for key, value in changes.items():
        setattr(connection, key, value)


def _feed_connections_due(*, nightly_hour: int) -> list[Connection]:
    from core.periods import PHNOM_PENH

    now = timezone.now().astimezone(PHNOM_PENH)
    cutoff = now.replace(hour=nightly_hour, minute=0, second=0, microsecond=0)
    if cutoff > now:
        cutoff -= dt.timedelta(days=1)
    return list(
        Connection.objects.filter(
            provider=ConnectionProvider.STATEMENT_FEED,
            revoked_at__isnull=True,
            account__isnull=False,
            account__is_active=True,
        )
        .filter(
            Q(last_sync_at__isnull=True)
            | Q(last_sync_at__lt=cutoff)
            | Q(last_sync_status=SyncStatus.FAILED)
        )
        .order_by("pk")
    )


def feed_connection_ids_due(*, nightly_hour: int = 1) -> list[int]:
    """Active feed connections whose last good sync is older than the most recent
    `nightly_hour`:00 Phnom Penh time (never synced ones included), and whose
    consent covers reading statements now."""
    return [
        c.pk
        for c in _feed_connections_due(nightly_hour=nightly_hour)
        if connection_consent(connection=c, scope=ConsentScope.STATEMENTS_READ).allowed
    ]


def feed_sync_due(*, nightly_hour: int = 1) -> list[int]:
    """feed_connection_ids_due, and each due connection the consent stops is marked
    with the reason (once: a skipped connection is not rewritten every hour)."""
    due = []
    for connection in _feed_connections_due(nightly_hour=nightly_hour):
        status = connection_consent(
            connection=connection, scope=ConsentScope.STATEMENTS_READ
        )
        if status.allowed:
            due.append(connection.pk)
            continue
        message = f"not synced: {status.reason}"
        updated = (
            Connection.objects.filter(pk=connection.pk)
            .exclude(last_sync_status=SyncStatus.FAILED, last_sync_message=message)
            .update(last_sync_status=SyncStatus.FAILED, last_sync_message=message)
        )
        if updated:
            logger.info(
                "statements.feed.skipped",
                extra={"connection": connection.pk, "reason": status.reason},
            )
    return due


def feed_sync_gave_up(*, connection_id: int, message: str) -> None:
    """The task's retries ran out: say so on the connection (the hourly sweep tries
    a failed connection again)."""
    Connection.objects.filter(pk=connection_id).update(
        last_sync_status=SyncStatus.FAILED, last_sync_message=message[:2000]
    )
