from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import AmountField, ExactDecimalField, whole_riel
from core.money import CURRENCY_CHOICES
from core.tenancy import TenantQuerySet


class Invoice(models.Model):
    """A sale the merchant's accounting tool issued: money it expects."""

    class Source(models.TextChoices):
        FILE = "file", _("File")
        API = "api", "API"
        PAGE = "page", _("Page")

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="invoices"
    )
    invoice_number = models.CharField(max_length=64)
    customer = models.CharField(max_length=200)
    customer_account = models.CharField(max_length=100, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    amount = AmountField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    issue_date = models.DateField()
    due_date = models.DateField()
    source = models.CharField(max_length=8, choices=Source.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-issue_date", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "invoice_number"],
                name="invoice_merchant_number_unique",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_positive"),
            models.CheckConstraint(
                condition=whole_riel("amount"), name="invoice_khr_whole_riel"
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=models.F("issue_date")),
                name="invoice_due_after_issue",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "due_date"], name="invoice_due_idx"),
        ]

    def __str__(self) -> str:
        return self.invoice_number


class ExchangeRate(models.Model):
    """A day's rate: one unit of `base` is `rate` units of `quote` (the NBC's
    official KHR/USD rate, THB/USD, THB/KHR). The same for every merchant."""

    date = models.DateField()
    base = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    quote = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    rate = ExactDecimalField()
    source = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "base", "quote"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "base", "quote"], name="exchange_rate_day_pair_unique"
            ),
            models.CheckConstraint(
                condition=~Q(base=models.F("quote")), name="exchange_rate_two_sides"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} 1 {self.base} = {self.rate} {self.quote}"


class Tolerances(models.Model):
    """A merchant's own tolerances; without a row, the defaults of the engine."""

    merchant = models.OneToOneField(
        "merchants.Merchant", on_delete=models.CASCADE, related_name="tolerances"
    )
    fee_percent = ExactDecimalField(default="1", help_text="% a bank fee may take")
    fee_floor_usd = AmountField(default=1)
    fee_floor_khr = AmountField(default=4000)
    fee_floor_thb = AmountField(default=35)
    fx_percent = ExactDecimalField(default="1.5")
    days_after_due = models.PositiveSmallIntegerField(default=7)
    khqr_days_after_expiry = models.PositiveSmallIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "tolerances"

    def __str__(self) -> str:
        return f"tolerances of {self.merchant}"


def _set(field: str, name: str) -> models.Index:
    """An index of a mostly empty foreign key over the rows that set it: a run
    writes tens of thousands of rows, and each NULL entry is index work that no
    lookup (`field = x`, the PROTECT check, a join) ever reads."""
    return models.Index(
        fields=[field], name=name, condition=Q(**{f"{field}__isnull": False})
    )


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ReconciliationRun(models.Model):
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="recon_runs"
    )
    period_from = models.DateField()
    period_to = models.DateField()
    account_ids = models.JSONField(default=list, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    dry_run = models.BooleanField(default=False)
    trigger = models.CharField(max_length=16, default="page")  # page|command|task
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING
    )
    counts = models.JSONField(default=dict, blank=True)
    expected_count = models.PositiveIntegerField(default=0)
    posted_count = models.PositiveIntegerField(default=0)
    seconds = ExactDecimalField(null=True, blank=True)
    timings = models.JSONField(
        default=dict, blank=True, help_text="seconds spent loading, matching, saving"
    )
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_to__gte=models.F("period_from")),
                name="recon_run_period_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "-started_at"], name="recon_run_idx"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} {self.period_from}..{self.period_to}"


class MatchStatus(models.TextChoices):
    AUTO = "auto", _("Automatic")
    PROPOSED = "proposed", _("Proposed")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Rejected")


class DifferenceKind(models.TextChoices):
    NONE = "", _("None")
    FEE = "fee", _("Bank fee")
    WRITE_OFF = "write_off", _("Write-off")
    FX = "fx", _("Exchange difference")


class Match(models.Model):
    """Expected items and posted money the engine (or a person) put together,
    with the rule, the reason and who decided."""

    # db_index=False: the two indexes below lead with the merchant
    merchant = models.ForeignKey(
        "merchants.Merchant",
        on_delete=models.PROTECT,
        related_name="recon_matches",
        db_index=False,
        db_constraint=False,  # a PostgreSQL trigger: reconciliation migration 0004
    )
    run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.PROTECT,
        related_name="matches",
        null=True,
        blank=True,
        db_constraint=False,
    )
    tier = models.PositiveSmallIntegerField()  # 0: matched by hand
    rule = models.CharField(max_length=48)
    score = models.PositiveSmallIntegerField(default=0)
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=MatchStatus.choices)
    difference = AmountField(default=0, help_text="received − expected")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    difference_kind = models.CharField(
        max_length=16, choices=DifferenceKind.choices, default="", blank=True
    )
    note = models.TextField(blank=True)
    day = models.DateField(help_text="The money's day: the month it belongs to")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # a partial index below
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-score", "pk"]
        verbose_name_plural = "matches"
        indexes = [
            models.Index(
                fields=["merchant", "status", "-score"], name="match_queue_idx"
            ),
            models.Index(fields=["merchant", "day"], name="match_day_idx"),
            _set("decided_by", "match_decided_by_idx"),
        ]

    def __str__(self) -> str:
        return f"match {self.pk} {self.rule} ({self.status})"


class ItemKind(models.TextChoices):
    KHQR = "khqr", _("KHQR code")
    INVOICE = "invoice", _("Invoice")
    REFUND = "refund", _("Refund")
    LINE = "line", _("Ledger line")
    BAKONG = "bakong", _("Bakong transaction")


class MatchItem(models.Model):
    """One side of a match: an expected item or a posted amount."""

    # The keys are PostgreSQL triggers checking a statement's items as one set
    # (reconciliation migration 0004), not a constraint checking each row.
    match = models.ForeignKey(
        Match, on_delete=models.CASCADE, related_name="items", db_constraint=False
    )
    kind = models.CharField(max_length=8, choices=ItemKind.choices)
    # One of the five is set: each has a partial index (below), so a run's
    # hundred thousand items do not write four NULL entries each.
    payment_request = models.ForeignKey(
        "payments.PaymentRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recon_items",
        db_index=False,
        db_constraint=False,
    )
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recon_items",
        db_index=False,
        db_constraint=False,
    )
    refund = models.ForeignKey(
        "payments.Refund",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recon_items",
        db_index=False,
        db_constraint=False,
    )
    transaction = models.ForeignKey(
        "statements.Transaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recon_items",
        db_index=False,
        db_constraint=False,
    )
    bakong_transaction = models.ForeignKey(
        "payments.BakongTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recon_items",
        db_index=False,
        db_constraint=False,
    )
    amount = AmountField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="khqr", payment_request__isnull=False)
                    | Q(kind="invoice", invoice__isnull=False)
                    | Q(kind="refund", refund__isnull=False)
                    | Q(kind="line", transaction__isnull=False)
                    | Q(kind="bakong", bakong_transaction__isnull=False)
                ),
                name="match_item_points_at_its_kind",
            ),
        ]
        indexes = [
            _set("payment_request", "match_item_code_idx"),
            _set("invoice", "match_item_invoice_idx"),
            _set("refund", "match_item_refund_idx"),
            _set("transaction", "match_item_line_idx"),
            _set("bakong_transaction", "match_item_bakong_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} in match {self.match_id}"

    @property
    def is_expected(self) -> bool:
        return self.kind in (ItemKind.KHQR, ItemKind.INVOICE, ItemKind.REFUND)


class ExceptionReason(models.TextChoices):
    UNMATCHED_LINE = "unmatched_line", _("Unmatched line")
    UNPAID_ITEM = "unpaid_item", _("Unpaid or overdue item")
    OVERPAID = "overpaid", _("Overpaid")
    UNDERPAID = "underpaid", _("Underpaid")
    DUPLICATE_PAYMENT = "duplicate_payment", _("Duplicate payment")
    CURRENCY_MISMATCH = "currency_mismatch", _("Currency mismatch")
    LATE_PAYMENT = "late_payment", _("Late payment")
    REFUND_WITHOUT_PAYMENT = "refund_without_payment", _("Refund without its payment")
    FX_MISMATCH = "fx_mismatch", _("FX line outside tolerance")
    BALANCE_GAP = "balance_gap", _("Balance gap")


class ExceptionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")
    CARRIED = "carried", _("Carried forward")


class Resolution(models.TextChoices):
    NONE = "", _("None")
    MATCHED = "matched", _("Matched by hand")
    WRITTEN_OFF = "written_off", _("Written off")
    IGNORED = "ignored", _("Ignored")
    CLEARED = "cleared", _("Cleared by a later run")


class ReconciliationException(models.Model):
    """Something a person must look at, with its reason code. One row per
    (reason, the ids it is about): a re-run finds it again instead of adding
    another."""

    # db_index=False: the unique (merchant, key) leads with the merchant
    merchant = models.ForeignKey(
        "merchants.Merchant",
        on_delete=models.PROTECT,
        related_name="recon_exceptions",
        db_index=False,
        db_constraint=False,  # a PostgreSQL trigger: reconciliation migration 0008
    )
    run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.PROTECT,
        related_name="exceptions",
        db_constraint=False,
    )
    reason = models.CharField(max_length=32, choices=ExceptionReason.choices)
    key = models.CharField(max_length=300, help_text="reason:ids, for re-runs")
    amount = AmountField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    detail = models.TextField()
    day = models.DateField(help_text="The day the exception is aged from")
    expected_ids = models.JSONField(default=list, blank=True)
    posted_ids = models.JSONField(default=list, blank=True)
    nearest = models.JSONField(default=list, blank=True)
    # the run explained the exception's one row: an empty `nearest` is then the
    # answer (nothing came near), not a question left for the why page to run
    explained = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=ExceptionStatus.choices, default=ExceptionStatus.OPEN
    )
    resolution = models.CharField(
        max_length=16, choices=Resolution.choices, default="", blank=True
    )
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # a partial index below
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["day", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "key"], name="recon_exception_key_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["merchant", "status", "reason"], name="recon_exception_idx"
            ),
            _set("resolved_by", "recon_exception_resolver_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} {self.key}"


class PeriodSignOff(models.Model):
    """A month an owner or accountant signed off: its matches are locked until
    an owner reopens it."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="sign_offs"
    )
    month = models.DateField(help_text="The first day of the month")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    signed_at = models.DateTimeField()
    note = models.TextField(blank=True)
    carried_forward = models.PositiveIntegerField(default=0)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopen_reason = models.TextField(blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-month", "-signed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "month"],
                condition=Q(reopened_at__isnull=True),
                name="sign_off_one_open_per_month",
            ),
            models.CheckConstraint(
                condition=Q(month__day=1), name="sign_off_first_of_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant} {self.month:%Y-%m}"

    @property
    def is_locked(self) -> bool:
        return self.reopened_at is None


class CounterpartyAlias(models.Model):
    """A payer's name as the bank writes it, confirmed as one of the merchant's
    customers: the engine matches that payer automatically from then on."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.CASCADE, related_name="aliases"
    )
    payer_key = models.CharField(max_length=200)
    customer_key = models.CharField(max_length=200)
    payer_name = models.CharField(max_length=200)
    customer = models.CharField(max_length=200)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "counterparty aliases"
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "payer_key"], name="alias_merchant_payer_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payer_name} = {self.customer}"
