from django.contrib import admin

from core.admin_base import MoneyAdmin
from reconciliation.models import (
    CounterpartyAlias,
    ExchangeRate,
    Invoice,
    Match,
    MatchItem,
    PeriodSignOff,
    ReconciliationException,
    ReconciliationRun,
    Tolerances,
)


@admin.register(ExchangeRate)
class ExchangeRateAdmin(MoneyAdmin):
    list_display = ("date", "base", "quote", "rate", "source")
    list_filter = ("base", "quote")
    date_hierarchy = "date"
    ordering = ("-date", "base", "quote")


@admin.register(Tolerances)
class TolerancesAdmin(MoneyAdmin):
    list_display = (
        "merchant",
        "fee_percent",
        "fx_percent",
        "days_after_due",
        "khqr_days_after_expiry",
    )
    money_currency = {
        "fee_floor_usd": "USD",
        "fee_floor_khr": "KHR",
        "fee_floor_thb": "THB",
    }


@admin.register(Invoice)
class InvoiceAdmin(MoneyAdmin):
    list_display = (
        "invoice_number",
        "merchant",
        "customer",
        "amount",
        "currency",
        "issue_date",
        "due_date",
        "source",
    )
    list_filter = ("merchant", "currency", "source")
    search_fields = ("invoice_number", "customer", "reference")
    ordering = ("-issue_date", "-pk")


class MatchItemInline(admin.TabularInline):
    model = MatchItem
    extra = 0
    can_delete = False
    readonly_fields = (
        "kind",
        "payment_request",
        "invoice",
        "refund",
        "transaction",
        "bakong_transaction",
        "amount",
        "currency",
    )

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Match)
class MatchAdmin(MoneyAdmin):
    """Read-only: matches change through the review pages, which log each act."""

    list_display = (
        "pk",
        "merchant",
        "day",
        "tier",
        "rule",
        "status",
        "score",
        "difference",
        "currency",
    )
    list_filter = ("merchant", "status", "tier")
    inlines = [MatchItemInline]
    ordering = ("-day", "-pk")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(MoneyAdmin):
    list_display = (
        "pk",
        "merchant",
        "period_from",
        "period_to",
        "status",
        "dry_run",
        "trigger",
        "started_at",
    )
    list_filter = ("merchant", "status", "dry_run")
    ordering = ("-started_at",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReconciliationException)
class ReconciliationExceptionAdmin(MoneyAdmin):
    list_display = ("pk", "merchant", "reason", "status", "amount", "currency", "day")
    list_filter = ("merchant", "reason", "status")
    ordering = ("-day", "-pk")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PeriodSignOff)
class PeriodSignOffAdmin(MoneyAdmin):
    list_display = ("merchant", "month", "signed_by", "signed_at", "reopened_at")
    list_filter = ("merchant",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CounterpartyAlias)
class CounterpartyAliasAdmin(MoneyAdmin):
    list_display = ("merchant", "payer_name", "customer", "confirmed_by", "created_at")
    list_filter = ("merchant",)
    ordering = ("-created_at", "-pk")


@admin.register(MatchItem)
class MatchItemAdmin(MoneyAdmin):
    """Read-only: one side of a match, as the match shows it."""

    list_display = ("pk", "match", "kind", "amount", "currency")
    list_filter = ("kind",)
    ordering = ("-pk",)
    readonly_fields = MatchItemInline.readonly_fields + ("match",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
