from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import AmountField, EncryptedJSONField, whole_riel
from core.money import CURRENCY_CHOICES
from core.tenancy import TenantQuerySet


class Merchant(models.Model):
    """The tenant: one business with its KHQR identity."""

    legal_name = models.CharField(max_length=200)
    display_name = models.CharField(
        max_length=25, help_text="Shown in the customer's bank app (KHQR tag 59)."
    )
    name_km = models.CharField("Khmer name", max_length=100, blank=True)
    bakong_account_id = models.CharField(
        max_length=32, help_text="Bakong account that receives KHQR payments, name@bank"
    )
    khqr_merchant_id = models.CharField(
        "merchant id", max_length=32, blank=True, help_text="KHQR merchant id (tag 30)"
    )
    acquiring_bank = models.CharField(max_length=32, blank=True)
    city = models.CharField(max_length=15, default="Phnom Penh")
    city_km = models.CharField("city in Khmer", max_length=15, blank=True)
    mcc = models.CharField("merchant category code", max_length=4, default="5999")
    default_currency = models.CharField(
        max_length=3, choices=[("KHR", "KHR"), ("USD", "USD")], default="KHR"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(mcc__regex=r"^[0-9]{4}$"), name="merchant_mcc_4_digits"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ACCOUNTANT = "accountant", _("Accountant")
    AUDITOR = "auditor", _("Auditor")
    VIEWER = "viewer", _("Viewer")


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "merchant"], name="membership_user_merchant_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant} ({self.role})"


class Provider(models.TextChoices):
    BAKONG = "bakong", _("Bakong")
    HATTHA = "hattha", _("Hattha Bank")
    ABA = "aba", _("ABA Bank")
    ACLEDA = "acleda", _("ACLEDA Bank")
    WING = "wing", _("Wing Bank")
    KRUNGSRI = "krungsri", _("Krungsri")
    OTHER = "other", _("Other")


class AccountKind(models.TextChoices):
    WALLET = "wallet", _("Wallet")
    DEPOSIT = "deposit", _("Deposit")
    CARD = "card", _("Card")


class Account(models.Model):
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="accounts"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    kind = models.CharField(
        max_length=16, choices=AccountKind.choices, default=AccountKind.DEPOSIT
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    name = models.CharField(max_length=100, blank=True)
    number = models.CharField(
        max_length=64, help_text="Account number as the bank knows it (acct_id)"
    )
    bakong_account_id = models.CharField(max_length=32, blank=True)
    current_balance = AmountField(null=True, blank=True)
    available_balance = AmountField(null=True, blank=True)
    balance_as_of = models.DateTimeField(null=True, blank=True)
    # a bank's balance API answers current and available at its own moment; a push
    # or a statement moves the current balance alone
    available_as_of = models.DateTimeField(
        null=True, blank=True, help_text="When the bank's available balance was true"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["provider", "currency", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "provider", "number"],
                name="account_merchant_provider_number_unique",
            ),
            models.CheckConstraint(
                condition=whole_riel("current_balance"),
                name="account_khr_balance_whole_riel",
            ),
            models.CheckConstraint(
                condition=whole_riel("available_balance"),
                name="account_khr_available_whole_riel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.currency} {self.masked_number}"

    @property
    def masked_number(self) -> str:
        tail = self.number[-4:]
        return f"•••• {tail}" if len(self.number) > 4 else self.number

    @property
    def label(self) -> str:
        return self.name or str(self)


class Environment(models.TextChoices):
    SANDBOX = "sandbox", _("Sandbox")
    PRODUCTION = "production", _("Production")


class ConnectionProvider(models.TextChoices):
    STATEMENT_FEED = "statement_feed", _("Bank statement feed")
    BAKONG = "bakong", _("Bakong Open API")
    KHQR_GATEWAY = "khqr_gateway", _("KHQR gateway (webhooks)")


class ConsentScope(models.TextChoices):
    """What a customer's consent lets a connection do; a connection's
    `consent_scope` lists them, separated by spaces or commas."""

    STATEMENTS_READ = "statements:read", _("Read statements, receive pushes")
    BALANCES_READ = "balances:read", _("Read current and available balances")
    PAYMENTS_READ = "payments:read", _("Read payment status")


class SyncStatus(models.TextChoices):
    NEVER = "never", _("Never synced")
    OK = "ok", _("OK")
    WARNING = "warning", _("Warning")
    FAILED = "failed", _("Failed")


class Connection(models.Model):
    """How Tonle reaches one external system for a merchant, with the customer's
    consent. Credentials (tokens, webhook secrets) are encrypted at rest."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="connections"
    )
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="connections",
        null=True,
        blank=True,
    )
    provider = models.CharField(max_length=32, choices=ConnectionProvider.choices)
    environment = models.CharField(
        max_length=16, choices=Environment.choices, default=Environment.SANDBOX
    )
    base_url = models.URLField(max_length=300)
    credentials = EncryptedJSONField()
    consent_scope = models.CharField(max_length=200, blank=True)
    consent_granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    consent_granted_at = models.DateTimeField(null=True, blank=True)
    consent_expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_status = models.CharField(
        max_length=16, choices=SyncStatus.choices, default=SyncStatus.NEVER
    )
    last_sync_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["merchant", "provider", "pk"]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} #{self.pk} ({self.merchant})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def credential_names(self) -> list[str]:
        return sorted(self.credentials)


class ApiScope(models.TextChoices):
    """What an API key may do; each API route names the one it needs."""

    QR_WRITE = "qr:write", _("Create KHQR codes")
    PAYMENTS_READ = "payments:read", _("Read payment status")
    STATEMENTS_READ = "statements:read", _("Read accounts, transactions, statements")
    RECONCILIATION_READ = "reconciliation:read", _("Read reconciliation results")
    INVOICES_WRITE = "invoices:write", _("Send invoices")


def all_api_scopes() -> list[str]:
    """A key's default: every scope (and what keys made before scopes got)."""
    return list(ApiScope.values)


class ApiKey(models.Model):
    """`tonle_live_<id>.<secret>`: only a SHA-256 of the secret is kept."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=40, unique=True)
    secret_hash = models.CharField(max_length=64)
    is_test = models.BooleanField(default=False)
    scopes = models.JSONField(
        default=all_api_scopes, help_text="What the key may do (ApiScope values)."
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Refused from then on; empty: no expiry."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def __str__(self) -> str:
        return f"{self.prefix}… ({'test' if self.is_test else 'live'})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEventQuerySet(TenantQuerySet):
    def update(self, **kwargs):
        raise PermissionError("audit events are append-only")

    def delete(self):
        raise PermissionError("audit events are append-only")


class AuditEvent(models.Model):
    """Append-only: the ORM refuses edits and the database triggers refuse them too."""

    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.PROTECT,
        related_name="audit_events",
        null=True,
        blank=True,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit events are append-only")


class UserSettings(models.Model):
    """What a person chose for themselves, whatever merchant they work on: the
    language of their pages (empty: their browser's)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="tonle_settings",
    )
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, blank=True, default=""
    )

    class Meta:
        verbose_name = "user settings"
        verbose_name_plural = "user settings"

    def __str__(self) -> str:
        return f"settings of {self.user}"
