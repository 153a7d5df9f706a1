from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import AmountField, ExactDecimalField, whole_riel
from core.money import CURRENCY_CHOICES
from core.tenancy import TenantQuerySet
from statements.canonical import CANONICAL_LEDGER_FIELDS  # noqa: F401 - re-exported


class Channel(models.TextChoices):
    KHQR = "KHQR", "KHQR"
    TRANSFER = "TRANSFER", _("Transfer")
    BILL = "BILL", _("Bill payment")
    TOPUP = "TOPUP", _("Top-up")
    CROSSBORDER = "CROSSBORDER", _("Cross-border")
    CARD = "CARD", _("Card")
    FEE = "FEE", _("Fee")
    INTEREST = "INTEREST", _("Interest")
    OTHER = "OTHER", _("Other")


class Source(models.TextChoices):
    FEED = "feed", _("Statement feed")
    PUSH = "push", _("Push event")
    FILE = "file", _("Statement file")
    BAKONG = "bakong", "Bakong"
    MANUAL = "manual", _("Manual")


class Transaction(models.Model):
    """A posted ledger line: signed (credit +, debit −), immutable once posted;
    a correction is a new line."""

    # No single-column FK indexes: the composite indexes below start with these
    # columns, and every index costs time on each imported line. No FK constraints
    # either: triggers hold that (account, merchant) is an account and its
    # merchant, checked once per statement on PostgreSQL (migration 0007).
    merchant = models.ForeignKey(
        "merchants.Merchant",
        on_delete=models.PROTECT,
        related_name="transactions",
        db_index=False,
        db_constraint=False,
    )
    account = models.ForeignKey(
        "merchants.Account",
        on_delete=models.PROTECT,
        related_name="transactions",
        db_index=False,
        db_constraint=False,
    )
    external_id = models.CharField(max_length=128)
    posted_at = models.DateTimeField()
    value_date = models.DateField(help_text="The bank's booking date, account-local")
    amount = AmountField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    channel = models.CharField(
        max_length=16, choices=Channel.choices, default=Channel.OTHER
    )
    counterparty_name = models.CharField(max_length=200, blank=True)
    counterparty_account = models.CharField(max_length=100, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    bakong_hash = models.CharField(max_length=64, blank=True)
    description = models.TextField(blank=True)
    balance_after = AmountField(null=True, blank=True)
    original_amount = AmountField(null=True, blank=True)
    original_currency = models.CharField(max_length=3, blank=True)
    fx_rate = ExactDecimalField(null=True, blank=True)
    fee = AmountField(null=True, blank=True)
    biller_category = models.CharField(max_length=64, blank=True)
    # the bank's converted amount differs from original × rate by more than the
    # rate's printed precision allows: imported as the bank wrote it, and flagged
    fx_mismatch = models.BooleanField(default=False, db_default=False)
    source = models.CharField(max_length=16, choices=Source.choices)
    # provenance, not money: checked by Django (PROTECT) rather than by a
    # database trigger on every imported line, and not indexed (nothing looks
    # lines up by batch; batches are never deleted)
    import_batch = models.ForeignKey(
        "statements.ImportBatch",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="lines",
        help_text="The statement file this line came from (source file)",
    )
    # the one line of a Bakong movement: posted by settlement on a Bakong wallet,
    # or the bank's own line linked to it; imports leave it NULL. No FK constraint
    # (as above): PostgreSQL would queue a check for every imported line
    bakong_transaction = models.OneToOneField(
        "payments.BakongTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_line",
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["posted_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"],
                name="transaction_account_external_id_unique",
            ),
            models.CheckConstraint(
                condition=whole_riel("amount"), name="transaction_khr_whole_riel"
            ),
            models.CheckConstraint(
                condition=~Q(amount=0), name="transaction_amount_not_zero"
            ),
        ]
        indexes = [
            models.Index(
                fields=["account", "posted_at"], name="txn_account_posted_idx"
            ),
            # the Transactions page: seek pagination on (posted_at, id) and
            # (amount, id) within a merchant
            models.Index(
                fields=["merchant", "posted_at", "id"], name="txn_merchant_seek_idx"
            ),
            models.Index(
                fields=["merchant", "amount", "id"], name="txn_merchant_amount_idx"
            ),
            # the page's channel filter: a rare channel (cross-border, fees) would
            # otherwise walk the whole merchant's seek index for one page
            models.Index(
                fields=["merchant", "channel", "posted_at", "id"],
                name="txn_merchant_channel_idx",
            ),
            # reconciliation loads a merchant's lines by value date (all accounts)
            models.Index(
                fields=["merchant", "value_date"], name="txn_merchant_value_date_idx"
            ),
            # exact look-ups only (a plain index: no LIKE twin on PostgreSQL), and
            # only lines that have a hash (most file and feed lines do not)
            models.Index(
                fields=["bakong_hash"],
                name="txn_bakong_hash_idx",
                condition=~Q(bakong_hash=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.amount} {self.currency}"

    @property
    def is_credit(self) -> bool:
        return self.amount > 0


class Statement(models.Model):
    """One account's period with its opening and closing balance."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="statements"
    )
    account = models.ForeignKey(
        "merchants.Account", on_delete=models.PROTECT, related_name="statements"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    opening_balance = AmountField()
    closing_balance = AmountField()
    source = models.CharField(max_length=16, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["account", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period_start", "period_end", "source"],
                name="statement_account_period_unique",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="statement_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.period_start}..{self.period_end}"


# --- ingest (issue 5a): statement files, feed sync runs, push events -------------


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for mapping")
    IMPORTED = "imported", _("Imported")
    FAILED = "failed", _("Refused")
    DISCARDED = "discarded", _("Discarded")


class ImportMapping(models.Model):
    """A column mapping saved for one account and one header row (its
    normalised cells' signature): applied by itself to that account's next file
    with the same headers, and editable there."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="import_mappings"
    )
    account = models.ForeignKey(
        "merchants.Account", on_delete=models.PROTECT, related_name="import_mappings"
    )
    signature = models.CharField(max_length=64)
    headers = models.JSONField(default=list, blank=True)
    preset = models.CharField(max_length=32, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["account", "-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "signature"],
                name="import_mapping_account_signature_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"mapping of {self.account} ({', '.join(self.headers[:4])}…)"


class ImportBatch(models.Model):
    """One uploaded statement file for one account, kept with its original bytes.
    A file (by SHA-256) is imported at most once per account."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="import_batches"
    )
    account = models.ForeignKey(
        "merchants.Account", on_delete=models.PROTECT, related_name="import_batches"
    )
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField(default=0)
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300, blank=True)
    preset = models.CharField(max_length=32, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    rows = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    # lines whose bank id the ledger holds with another amount or day: reported,
    # not imported (the ledger keeps its line); `conflicts` lists the first 200
    conflicted = models.PositiveIntegerField(default=0)
    conflicts = models.JSONField(default=list, blank=True)
    saved_mapping = models.ForeignKey(
        ImportMapping,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="batches",
        help_text="The saved mapping this file was read with",
    )
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "import batches"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "sha256"],
                condition=Q(status="imported"),
                name="import_batch_account_sha256_imported_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"


class FeedSyncStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    OK = "ok", "OK"
    WARNING = "warning", _("Warning")
    FAILED = "failed", _("Failed")


class FeedSyncRun(models.Model):
    """One statement-feed window read for one connection: what the bank reported
    and what the lines add up to, so a mismatch stays visible."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="feed_sync_runs"
    )
    connection = models.ForeignKey(
        "merchants.Connection", on_delete=models.PROTECT, related_name="sync_runs"
    )
    account = models.ForeignKey(
        "merchants.Account", on_delete=models.PROTECT, related_name="feed_sync_runs"
    )
    window_start = models.DateField()
    window_end = models.DateField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    passes = models.PositiveSmallIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    fetched = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    confirmed = models.PositiveIntegerField(
        default=0, help_text="Feed lines that confirmed an earlier push event"
    )
    reported_opening = AmountField(null=True, blank=True)
    reported_closing = AmountField(null=True, blank=True)
    computed_closing = AmountField(
        null=True, blank=True, help_text="reported opening + the window's lines"
    )
    mismatch = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=FeedSyncStatus.choices, default=FeedSyncStatus.RUNNING
    )
    message = models.TextField(blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(
                fields=["connection", "-started_at"], name="feedsync_conn_started_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"sync {self.connection_id} {self.window_start}..{self.window_end}"


class PushEvent(models.Model):
    """A bank's `transaction.posted` push, applied once per (account, ref,
    occurred_at); its ledger line is later confirmed by the feed's own line."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="push_events"
    )
    account = models.ForeignKey(
        "merchants.Account", on_delete=models.PROTECT, related_name="push_events"
    )
    connection = models.ForeignKey(
        "merchants.Connection",
        on_delete=models.PROTECT,
        related_name="push_events",
        null=True,
        blank=True,
    )
    ref = models.CharField(max_length=200)
    occurred_at = models.DateTimeField()
    amount = AmountField(help_text="Signed: credit +, debit −")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    balance_after = AmountField(null=True, blank=True)
    transaction = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, related_name="push_event"
    )
    confirmed_txn_id = models.CharField(
        max_length=128, blank=True, help_text="The feed's txn_id that confirmed it"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "ref", "occurred_at"],
                name="push_event_account_ref_occurred_unique",
            ),
            models.UniqueConstraint(
                fields=["account", "confirmed_txn_id"],
                condition=~Q(confirmed_txn_id=""),
                name="push_event_account_confirmed_txn_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"push {self.ref} {self.amount} {self.currency}"

    @property
    def is_confirmed(self) -> bool:
        return bool(self.confirmed_txn_id)


# --- documents (issue 5b): statement packs for auditors ---------------------------


class PackStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Building")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class StatementPack(models.Model):
    """A ZIP for auditors: per account PDF + XLSX + CSV statements of one period and
    a manifest of SHA-256 checksums. Built by a task that stores its progress here."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="statement_packs"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(
        max_length=16, choices=PackStatus.choices, default=PackStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="0..100")
    progress_message = models.CharField(max_length=200, blank=True)
    file = models.FileField(upload_to="packs/%Y/%m/", max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    files_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    language = models.CharField(
        max_length=8, default="en", help_text="the language of the pack's documents"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="statement_pack_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="statement_pack_progress_max"
            ),
        ]
        indexes = [
            models.Index(
                fields=["merchant", "-created_at"], name="pack_merchant_created_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"pack {self.period_start}..{self.period_end} ({self.status})"

    @property
    def download_name(self) -> str:
        return f"statement-pack-{self.period_start}-{self.period_end}.zip"
