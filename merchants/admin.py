from django.contrib import admin

from core.admin_base import MoneyAdmin
from core.fields import URLS_ASSUME_HTTPS
from merchants.models import (
    Account,
    ApiKey,
    AuditEvent,
    Connection,
    Membership,
    Merchant,
    UserSettings,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Merchant)
class MerchantAdmin(MoneyAdmin):
    list_display = [
        "display_name",
        "legal_name",
        "bakong_account_id",
        "default_currency",
        "city",
        "is_active",
        "created_at",
    ]
    list_filter = ["is_active", "default_currency", "city"]
    search_fields = [
        "legal_name",
        "display_name",
        "name_km",
        "bakong_account_id",
        "khqr_merchant_id",
    ]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(MoneyAdmin):
    list_display = ["user", "merchant", "role", "created_at"]
    list_filter = ["role", "merchant"]
    search_fields = ["user__username", "merchant__display_name"]
    autocomplete_fields = ["user", "merchant"]
    ordering = ["-created_at"]


@admin.register(UserSettings)
class UserSettingsAdmin(MoneyAdmin):
    list_display = ["user", "language"]
    list_filter = ["language"]
    search_fields = ["user__username"]
    autocomplete_fields = ["user"]


@admin.register(Account)
class AccountAdmin(MoneyAdmin):
    list_display = [
        "__str__",
        "merchant",
        "provider",
        "kind",
        "currency",
        "current_balance",
        "available_balance",
        "balance_as_of",
        "is_active",
    ]
    list_filter = ["provider", "kind", "currency", "is_active", "merchant"]
    search_fields = ["number", "name", "bakong_account_id", "merchant__display_name"]
    list_select_related = ["merchant"]
    autocomplete_fields = ["merchant"]
    ordering = ["-created_at"]


@admin.register(Connection)
class ConnectionAdmin(MoneyAdmin):
    """Credentials are never displayed: only the names of the keys they hold."""

    formfield_overrides = URLS_ASSUME_HTTPS

    list_display = [
        "__str__",
        "merchant",
        "account",
        "provider",
        "environment",
        "last_sync_status",
        "last_sync_at",
        "consent_expires_at",
        "revoked_at",
    ]
    list_filter = ["provider", "environment", "last_sync_status", "account"]
    search_fields = ["merchant__display_name", "account__number", "base_url"]
    ordering = ["-created_at"]
    list_select_related = ["merchant", "account"]
    exclude = ["credentials"]
    readonly_fields = [
        "credential_names",
        "last_sync_at",
        "last_sync_status",
        "last_sync_message",
        "created_at",
    ]
    date_hierarchy = "created_at"


@admin.register(ApiKey)
class ApiKeyAdmin(MoneyAdmin):
    list_display = [
        "prefix",
        "merchant",
        "name",
        "is_test",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["is_test"]
    search_fields = ["prefix", "name", "merchant__display_name"]
    exclude = ["secret_hash"]
    readonly_fields = ["prefix", "is_test", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # keys are shown once, so they are issued from the page or command


@admin.register(AuditEvent)
class AuditEventAdmin(MoneyAdmin):
    list_display = [
        "created_at",
        "merchant",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "ip_address",
    ]
    list_filter = ["action", "object_type"]
    search_fields = ["action", "actor_label", "object_id", "merchant__display_name"]
    date_hierarchy = "created_at"
    list_select_related = ["merchant"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
