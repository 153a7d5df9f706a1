from django.contrib import admin

from sandbox.models import SandboxControl, SandboxIntegrator, SandboxTransaction


@admin.register(SandboxTransaction)
class SandboxTransactionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "md5", "hash", "amount", "currency", "status"]
    list_filter = ["status", "currency"]
    search_fields = ["md5", "hash", "to_account_id", "from_account_id"]


@admin.register(SandboxIntegrator)
class SandboxIntegratorAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "project", "verified_at", "created_at"]
    search_fields = ["email"]


@admin.register(SandboxControl)
class SandboxControlAdmin(admin.ModelAdmin):
    list_display = ["__str__", "fail_status", "delay_ms", "bulk_enabled"]
