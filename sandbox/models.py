"""The Bakong sandbox's own state: integrators and their verification codes, the
simulated payer's transactions, and the switches that make it misbehave. Kept in
the database so the web server, a Celery worker and the tests see the same sandbox.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from core.fields import AmountField


class SandboxIntegrator(models.Model):
    """Who asked /v1/request_token, and the code they must /v1/verify."""

    email = models.CharField(max_length=30, unique=True)
    organization = models.CharField(max_length=100)
    project = models.CharField(max_length=100)
    code = models.CharField(max_length=20, unique=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "sandbox Bakong integrator"

    def __str__(self) -> str:
        return self.email


class SandboxTransaction(models.Model):
    """A payment the simulated payer made: what the check endpoints answer."""

    class Status(models.TextChoices):
        SUCCESS = "success", "Succeeded"
        FAILED = "failed", "Failed"

    hash = models.CharField(max_length=64, unique=True)
    md5 = models.CharField(max_length=32, blank=True, db_index=True)
    from_account_id = models.CharField(max_length=100)
    to_account_id = models.CharField(max_length=100)
    amount = AmountField()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=200, blank=True)
    external_ref = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.SUCCESS
    )
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "sandbox Bakong transaction"

    def __str__(self) -> str:
        return f"{self.hash[:8]} {self.amount} {self.currency} ({self.status})"


class SandboxControl(models.Model):
    """The sandbox's switches (one row, pk=1): answer 429 / 5xx, slowly, refuse
    tokens issued before a moment, or offer no bulk endpoint."""

    fail_status = models.PositiveSmallIntegerField(
        default=0, help_text="0: answer normally; 429, 500, 502 or 503: answer that"
    )
    fail_remaining = models.IntegerField(
        default=-1, help_text="How many more calls fail; -1: until switched off"
    )
    retry_after = models.PositiveIntegerField(
        default=2, help_text="Seconds sent in Retry-After with a 429 (or a 503)"
    )
    delay_ms = models.PositiveIntegerField(
        default=0, help_text="Wait this long before answering any call"
    )
    token_ttl_seconds = models.PositiveIntegerField(
        default=90 * 86400, help_text="Lifetime of the tokens the sandbox issues"
    )
    token_generation = models.PositiveIntegerField(
        default=0,
        help_text='Tokens of an older generation are refused ("expire tokens now")',
    )
    bulk_enabled = models.BooleanField(
        default=True, help_text="Offer /v1/check_transaction_by_md5_list"
    )
    paused_until = models.DateTimeField(
        null=True, blank=True, help_text="The Retry-After window the sandbox last set"
    )
    calls_in_pause = models.PositiveIntegerField(
        default=0, help_text="Calls that arrived inside a Retry-After window"
    )

    class Meta:
        verbose_name = "sandbox Bakong switches"
        verbose_name_plural = "sandbox Bakong switches"

    def __str__(self) -> str:
        return "Bakong sandbox switches"
