from django.contrib import admin

from statements.models import (
    FeedSyncRun,
    ImportBatch,
    ImportMapping,
    PushEvent,
    Statement,
    StatementPack,
    Transaction,
)


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = [
        "posted_at",
        "account",
        "external_id",
        "amount",
        "currency",
        "channel",
        "counterparty_name",
        "reference",
        "source",
    ]
    list_filter = ["channel", "currency", "source"]
    search_fields = [
        "external_id",
        "reference",
        "counterparty_name",
        "bakong_hash",
        "description",
    ]
    date_hierarchy = "posted_at"
    list_select_related = ["account", "account__merchant"]
    raw_id_fields = ["merchant", "account"]

    def has_change_permission(self, request, obj=None):
        return False  # posted lines are immutable; a correction is a new line

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "period_start",
        "period_end",
        "opening_balance",
        "closing_balance",
        "currency",
        "source",
    ]
    list_filter = ["currency", "source"]
    date_hierarchy = "period_start"
    list_select_related = ["account"]
    raw_id_fields = ["merchant", "account"]


# --- documents (5b) ---------------------------------------------------------------


@admin.register(StatementPack)
class StatementPackAdmin(admin.ModelAdmin):
    list_display = [
        "merchant",
        "period_start",
        "period_end",
        "status",
        "progress",
        "files_count",
        "size_bytes",
        "created_by",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["merchant", "created_by"]
    raw_id_fields = ["merchant", "created_by"]
    readonly_fields = [
        "status",
        "progress",
        "progress_message",
        "file",
        "sha256",
        "size_bytes",
        "files_count",
        "error",
        "started_at",
        "finished_at",
    ]


# --- ingest (5a): imports, feed sync runs, push events (read-only records) -------


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ImportMapping)
class ImportMappingAdmin(admin.ModelAdmin):
    list_display = ["account", "preset", "updated_at", "last_used_at", "created_by"]
    list_select_related = ["account", "created_by"]
    readonly_fields = ["signature", "headers", "created_at", "updated_at"]
    raw_id_fields = ["merchant", "account", "created_by"]


@admin.register(ImportBatch)
class ImportBatchAdmin(_ReadOnlyAdmin):
    list_display = [
        "created_at",
        "account",
        "filename",
        "preset",
        "status",
        "rows",
        "inserted",
        "skipped",
        "created_by",
    ]
    list_filter = ["status", "preset"]
    search_fields = ["filename", "sha256"]
    list_select_related = ["account", "created_by"]


@admin.register(FeedSyncRun)
class FeedSyncRunAdmin(_ReadOnlyAdmin):
    list_display = [
        "started_at",
        "connection",
        "window_start",
        "window_end",
        "status",
        "pages",
        "fetched",
        "inserted",
        "skipped",
        "mismatch",
    ]
    list_filter = ["status", "mismatch"]
    list_select_related = ["connection", "connection__merchant"]


@admin.register(PushEvent)
class PushEventAdmin(_ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "account",
        "ref",
        "amount",
        "currency",
        "confirmed_txn_id",
        "confirmed_at",
    ]
    search_fields = ["ref", "confirmed_txn_id"]
    list_select_related = ["account"]
