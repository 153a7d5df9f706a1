from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import AmountField, EncryptedJSONField, whole_riel
from core.tenancy import TenantQuerySet

KHQR_CURRENCIES = [("KHR", "KHR"), ("USD", "USD")]


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")


class PaymentFlag(models.TextChoices):
    """Why a received payment was not simply accepted: each becomes a
    reconciliation exception."""

    NONE = "", _("None")
    AMOUNT_MISMATCH = "amount_mismatch", _("Paid another amount")
    CURRENCY_MISMATCH = "currency_mismatch", _("Paid in another currency")
    LATE = "late", _("Paid after expiry")
    DUPLICATE = "duplicate", _("Paid more than once")


class FlagResolution(models.TextChoices):
    """How a person settled a flagged payment (the flag itself stays: it is what
    happened)."""

    ACCEPTED = "accepted", _("Accepted as the payment")
    REFUNDED = "refunded", _("Refunded")
    RECONCILIATION = "reconciliation", _("Left for reconciliation")


class PaymentRequest(models.Model):
    """A KHQR code the merchant asked for, and what became of it."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="payment_requests"
    )
    account = models.ForeignKey(
        "merchants.Account",
        on_delete=models.PROTECT,
        related_name="payment_requests",
        null=True,
        blank=True,
        help_text="The receiving account (a Bakong wallet)",
    )
    api_key = models.ForeignKey(
        "merchants.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    is_test = models.BooleanField(default=False, help_text="Made with a test API key")
    order_id = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    request_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the normalised request"
    )
    bill_number = models.CharField(max_length=25, blank=True)
    store_label = models.CharField(max_length=25, blank=True)
    terminal_label = models.CharField(max_length=25, blank=True)
    amount = AmountField(null=True, blank=True, help_text="None: a static code")
    currency = models.CharField(max_length=3, choices=KHQR_CURRENCIES)
    qr = models.TextField()
    md5 = models.CharField(max_length=32, unique=True)
    deeplink = models.URLField(max_length=500, blank=True)
    deeplink_error = models.CharField(
        max_length=200,
        blank=True,
        help_text="Why the code has no deeplink (Bakong refused it or was away)",
    )
    status = models.CharField(
        max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    flag = models.CharField(
        max_length=24, choices=PaymentFlag.choices, default=PaymentFlag.NONE, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    bakong_hash = models.CharField(max_length=64, blank=True)
    payer_account = models.CharField(max_length=100, blank=True)
    paid_amount = AmountField(null=True, blank=True)
    paid_currency = models.CharField(max_length=3, blank=True)
    refunded_amount = AmountField(default=0)
    check_attempts = models.PositiveIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(
        null=True, blank=True, help_text="When the poller should look again"
    )
    flag_resolution = models.CharField(
        max_length=16, choices=FlagResolution.choices, blank=True
    )
    flag_note = models.CharField(
        max_length=500, blank=True, help_text="Why the flag was settled this way"
    )
    flag_resolved_at = models.DateTimeField(null=True, blank=True)
    flag_resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "order_id"],
                condition=~Q(order_id=""),
                name="payment_request_merchant_order_unique",
            ),
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="payment_request_merchant_idempotency_unique",
            ),
            models.CheckConstraint(
                condition=whole_riel("amount"), name="payment_request_khr_whole_riel"
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0),
                name="payment_request_amount_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_check_at"], name="payreq_due_idx"),
            models.Index(fields=["merchant", "created_at"], name="payreq_merchant_idx"),
        ]

    def __str__(self) -> str:
        return self.order_id or self.md5

    @property
    def is_dynamic(self) -> bool:
        return self.amount is not None


class BakongTransaction(models.Model):
    """A transaction Bakong confirmed, with its raw answer, whether or not it
    matched a request."""

    class Outcome(models.TextChoices):
        MATCHED = "matched", _("Matched")
        AMOUNT_MISMATCH = "amount_mismatch", _("Amount differs")
        CURRENCY_MISMATCH = "currency_mismatch", _("Currency differs")
        LATE = "late", _("After expiry")
        DUPLICATE = "duplicate", _("Request already paid")

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="+"
    )
    payment_request = models.ForeignKey(
        PaymentRequest,
        on_delete=models.PROTECT,
        related_name="bakong_transactions",
        null=True,
        blank=True,
    )
    hash = models.CharField(max_length=64, unique=True)
    short_hash = models.CharField(max_length=8, db_index=True)
    md5 = models.CharField(max_length=32, blank=True, db_index=True)
    from_account_id = models.CharField(max_length=100, blank=True)
    to_account_id = models.CharField(max_length=100, blank=True)
    amount = AmountField()
    currency = models.CharField(max_length=3)
    description = models.TextField(blank=True)
    external_ref = models.CharField(max_length=100, blank=True)
    created_at_bakong = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    raw = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "Bakong transaction"
        verbose_name_plural = "Bakong transactions"

    def __str__(self) -> str:
        return f"{self.hash[:8]} {self.amount} {self.currency}"


class SlipCheck(models.Model):
    """One presentation of a customer's payment slip (a Bakong transaction, by its
    hash or short hash) to the merchant, for an order: what Bakong said and which
    code it paid. A slip shown again for another order is flagged `reused`."""

    class Result(models.TextChoices):
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Transaction failed")
        NOT_FOUND = "not_found", _("Not found")

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="+"
    )
    hash = models.CharField(
        max_length=64, blank=True, help_text="The full hash (empty if not found)"
    )
    short_hash = models.CharField(max_length=8, blank=True)
    amount = AmountField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    order_id = models.CharField(
        max_length=100, blank=True, help_text="The order the slip was presented for"
    )
    result = models.CharField(max_length=16, choices=Result.choices)
    source = models.CharField(
        max_length=16, help_text="recorded (already known here) or bakong (asked)"
    )
    payment_request = models.ForeignKey(
        PaymentRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="slip_checks",
    )
    reused = models.BooleanField(default=False)
    reused_for = models.CharField(
        max_length=100,
        blank=True,
        help_text="The earlier order this slip was presented for or paid",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    api_key = models.ForeignKey(
        "merchants.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    checked_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-checked_at", "-pk"]
        indexes = [
            models.Index(fields=["merchant", "hash"], name="slipcheck_merchant_hash")
        ]

    def __str__(self) -> str:
        return f"{self.hash[:8] or self.short_hash} {self.result}"


class PaymentCheck(models.Model):
    """One look at Bakong for one request: the poller's log."""

    payment_request = models.ForeignKey(
        PaymentRequest, on_delete=models.CASCADE, related_name="checks"
    )
    checked_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=32)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-checked_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.payment_request_id} {self.outcome}"

    @property
    def outcome_words(self) -> str:
        from payments.check_words import outcome_words

        return outcome_words(self.outcome)


class Refund(models.Model):
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="+"
    )
    payment_request = models.ForeignKey(
        PaymentRequest, on_delete=models.PROTECT, related_name="refunds"
    )
    amount = AmountField()
    currency = models.CharField(max_length=3)
    bank_reference = models.CharField(max_length=100)
    reason = models.CharField(max_length=200, blank=True)
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
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "bank_reference"],
                name="refund_merchant_bank_reference_unique",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_positive"),
            models.CheckConstraint(
                condition=whole_riel("amount"), name="refund_khr_whole"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank_reference} {self.amount} {self.currency}"


class WebhookEndpoint(models.Model):
    """Where a merchant wants to hear about payments. The secret is encrypted."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    secrets = EncryptedJSONField(help_text='{"current": "...", "previous": "..."}')
    events = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["merchant", "pk"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed (will retry)")
    DEAD = "dead", _("Gave up")


class WebhookDelivery(models.Model):
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="+"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries"
    )
    payment_request = models.ForeignKey(
        PaymentRequest,
        on_delete=models.PROTECT,
        related_name="webhook_deliveries",
        null=True,
        blank=True,
    )
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True)
    refund = models.ForeignKey(
        Refund,
        on_delete=models.PROTECT,
        related_name="webhook_deliveries",
        null=True,
        blank=True,
    )
    event = models.CharField(max_length=64)
    event_key = models.CharField(
        max_length=100,
        default="",
        help_text="What the event is about (e.g. transaction.paid:request:12): "
        "one delivery per endpoint and key",
    )
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_key"],
                name="webhook_delivery_once_per_endpoint_event",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx")
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"


class InboundEvent(models.Model):
    """A webhook received from a provider or bank, stored raw before we answer."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="+"
    )
    connection = models.ForeignKey(
        "merchants.Connection", on_delete=models.PROTECT, related_name="inbound_events"
    )
    delivery_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=64)
    raw_body = models.TextField()
    headers = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RECEIVED
    )
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "delivery_id"],
                name="inbound_event_connection_delivery_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_due_idx")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.delivery_id}"


class BakongTokenState(models.Model):
    """The Bakong JWT in use for one base URL, and how its last renewal went
    (admins see failures here)."""

    base_url = models.URLField(max_length=300, unique=True)
    token = EncryptedJSONField()
    expires_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Bakong token"

    def __str__(self) -> str:
        return self.base_url
