from django.contrib import admin

from core.admin_base import MoneyAdmin, ReadOnlyAdmin
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
class TransactionAdmin(ReadOnlyAdmin):
    """Read-only: posted lines are immutable; a correction is a new line."""

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
    list_filter = ["channel", "currency", "source", "account"]
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
    ordering = ["-posted_at", "-pk"]
    money_currency = {"original_amount": "original_currency"}


@admin.register(Statement)
class StatementAdmin(MoneyAdmin):
    list_display = [
        "account",
        "period_start",
        "period_end",
        "opening_balance",
        "closing_balance",
        "currency",
        "source",
    ]
    list_filter = ["currency", "source", "account"]
    date_hierarchy = "period_start"
    list_select_related = ["account"]
    raw_id_fields = ["merchant", "account"]
    ordering = ["-period_start", "-pk"]


# --- documents (5b) ---------------------------------------------------------------


@admin.register(StatementPack)
class StatementPackAdmin(MoneyAdmin):
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
    list_filter = ["status", "merchant"]
    list_select_related = ["merchant", "created_by"]
    ordering = ["-created_at", "-pk"]
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


@admin.register(ImportMapping)
class ImportMappingAdmin(MoneyAdmin):
    list_display = ["account", "preset", "updated_at", "last_used_at", "created_by"]
    list_select_related = ["account", "created_by"]
    readonly_fields = ["signature", "headers", "created_at", "updated_at"]
    raw_id_fields = ["merchant", "account", "created_by"]


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
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
    list_filter = ["status", "preset", "account"]
    search_fields = ["filename", "sha256"]
    list_select_related = ["account", "created_by"]
    ordering = ["-created_at", "-pk"]


@admin.register(FeedSyncRun)
class FeedSyncRunAdmin(ReadOnlyAdmin):
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
    list_filter = ["status", "mismatch", "account"]
    list_select_related = ["connection", "connection__merchant"]
    ordering = ["-started_at", "-pk"]


@admin.register(PushEvent)
class PushEventAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "account",
        "ref",
        "amount",
        "currency",
        "confirmed_txn_id",
        "confirmed_at",
    ]
    list_filter = ["currency", "account"]
    search_fields = ["ref", "confirmed_txn_id"]
    list_select_related = ["account"]
    ordering = ["-occurred_at", "-pk"]
