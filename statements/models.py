from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.fields import AmountField, ExactDecimalField, whole_riel
from core.money import CURRENCY_CHOICES
from core.tenancy import TenantQuerySet


class Channel(models.TextChoices):
    KHQR = "KHQR", "KHQR"
    TRANSFER = "TRANSFER", "Transfer"
    BILL = "BILL", "Bill payment"
    TOPUP = "TOPUP", "Top-up"
    CROSSBORDER = "CROSSBORDER", "Cross-border"
    CARD = "CARD", "Card"
    FEE = "FEE", "Fee"
    INTEREST = "INTEREST", "Interest"
    OTHER = "OTHER", "Other"


class Source(models.TextChoices):
    FEED = "feed", "Statement feed"
    PUSH = "push", "Push event"
    FILE = "file", "Statement file"
    BAKONG = "bakong", "Bakong"
    MANUAL = "manual", "Manual"


class Transaction(models.Model):
    """A posted ledger line: signed (credit +, debit −), immutable once posted;
    a correction is a new line."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="transactions"
    )
    account = models.ForeignKey(
        "merchants.Account", on_delete=models.PROTECT, related_name="transactions"
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
    bakong_hash = models.CharField(max_length=64, blank=True, db_index=True)
    description = models.TextField(blank=True)
    balance_after = AmountField(null=True, blank=True)
    original_amount = AmountField(null=True, blank=True)
    original_currency = models.CharField(max_length=3, blank=True)
    fx_rate = ExactDecimalField(null=True, blank=True)
    fee = AmountField(null=True, blank=True)
    biller_category = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
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
                fields=["merchant", "posted_at"], name="txn_merchant_posted_idx"
            ),
            models.Index(
                fields=["account", "posted_at"], name="txn_account_posted_idx"
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
