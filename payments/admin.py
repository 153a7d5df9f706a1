from django.contrib import admin, messages

from core.admin_base import MoneyAdmin, ReadOnlyAdmin
from core.exceptions import TonleError
from core.fields import URLS_ASSUME_HTTPS
from payments.forms import WebhookEndpointAdminForm
from payments.models import (
    BakongTokenState,
    BakongTransaction,
    InboundEvent,
    PaymentCheck,
    PaymentRequest,
    Refund,
    SlipCheck,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


@admin.register(PaymentRequest)
class PaymentRequestAdmin(ReadOnlyAdmin):
    """Read-only: a code changes through its services (paid, cancelled, refunded,
    settled), each audited."""

    formfield_overrides = URLS_ASSUME_HTTPS
    list_display = [
        "created_at",
        "merchant",
        "order_id",
        "amount",
        "currency",
        "status",
        "flag",
        "expires_at",
        "paid_at",
    ]
    list_filter = ["status", "flag", "currency", "is_test", "account", "merchant"]
    search_fields = ["order_id", "bill_number", "md5", "bakong_hash"]
    date_hierarchy = "created_at"
    list_select_related = ["merchant"]
    raw_id_fields = ["merchant", "account", "api_key"]
    ordering = ["-created_at", "-pk"]
    money_currency = {
        "paid_amount": "paid_currency",
        "refunded_amount": "paid_currency",
    }


@admin.register(BakongTransaction)
class BakongTransactionAdmin(ReadOnlyAdmin):
    """Read-only: what Bakong confirmed, kept as it said it."""

    list_display = ["received_at", "merchant", "hash", "amount", "currency", "outcome"]
    list_filter = ["outcome", "currency", "merchant"]
    search_fields = ["hash", "short_hash", "md5", "from_account_id"]
    date_hierarchy = "received_at"
    list_select_related = ["merchant"]
    raw_id_fields = ["merchant", "payment_request"]
    ordering = ["-received_at", "-pk"]


@admin.register(PaymentCheck)
class PaymentCheckAdmin(MoneyAdmin):
    list_display = ["checked_at", "payment_request", "outcome", "detail"]
    list_filter = ["outcome"]
    search_fields = ["payment_request__md5", "payment_request__order_id"]
    raw_id_fields = ["payment_request"]
    ordering = ["-checked_at", "-pk"]


@admin.register(SlipCheck)
class SlipCheckAdmin(MoneyAdmin):
    list_display = [
        "checked_at",
        "merchant",
        "hash",
        "order_id",
        "amount",
        "currency",
        "result",
        "reused",
    ]
    list_filter = ["result", "reused", "source", "merchant"]
    list_select_related = ["merchant"]
    ordering = ["-checked_at", "-pk"]
    search_fields = ["hash", "short_hash", "order_id", "reused_for"]
    date_hierarchy = "checked_at"
    raw_id_fields = ["merchant", "payment_request", "user", "api_key"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    """Read-only: a refund is recorded once, with its bank reference."""

    list_display = [
        "created_at",
        "merchant",
        "payment_request",
        "amount",
        "currency",
        "bank_reference",
    ]
    list_filter = ["currency", "merchant"]
    search_fields = ["bank_reference", "payment_request__order_id"]
    list_select_related = ["merchant", "payment_request"]
    raw_id_fields = ["merchant", "payment_request"]
    ordering = ["-created_at", "-pk"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(MoneyAdmin):
    form = WebhookEndpointAdminForm
    formfield_overrides = URLS_ASSUME_HTTPS
    list_display = ["url", "merchant", "is_active", "disabled_reason", "created_at"]
    list_filter = ["is_active", "merchant"]
    search_fields = ["url", "merchant__display_name"]
    exclude = ["secrets"]
    ordering = ["-created_at", "-pk"]


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = [
        "number",
        "attempted_at",
        "status_code",
        "response_body",
        "error",
        "duration_ms",
    ]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(MoneyAdmin):
    list_display = [
        "created_at",
        "merchant",
        "endpoint",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    ]
    list_filter = ["status", "event", "merchant"]
    search_fields = ["delivery_id", "endpoint__url"]
    ordering = ["-created_at", "-pk"]
    raw_id_fields = ["merchant", "endpoint", "payment_request", "refund"]
    readonly_fields = ["delivery_id", "event_key", "payload", "attempts"]
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    @admin.action(description="Redeliver the selected webhooks now")
    def redeliver(self, request, queryset):
        from payments.services.webhook_deliveries import webhook_delivery_redeliver

        sent = 0
        for delivery in queryset.select_related("merchant"):
            try:
                webhook_delivery_redeliver(
                    merchant=delivery.merchant,
                    delivery_id=delivery.pk,
                    actor=request.user,
                )
            except TonleError as exc:
                self.message_user(
                    request, f"{delivery.delivery_id}: {exc.message}", messages.ERROR
                )
            else:
                sent += 1
        if sent:
            self.message_user(request, f"{sent} delivery(ies) queued again.")


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(MoneyAdmin):
    list_display = ["attempted_at", "delivery", "number", "status_code", "error"]
    search_fields = ["delivery__delivery_id"]
    raw_id_fields = ["delivery"]
    ordering = ["-attempted_at", "-pk"]


@admin.register(InboundEvent)
class InboundEventAdmin(MoneyAdmin):
    list_display = [
        "received_at",
        "merchant",
        "connection",
        "event_type",
        "delivery_id",
        "status",
    ]
    list_filter = ["status", "event_type", "merchant"]
    search_fields = ["delivery_id"]
    raw_id_fields = ["merchant", "connection"]
    ordering = ["-received_at", "-pk"]


@admin.register(BakongTokenState)
class BakongTokenStateAdmin(MoneyAdmin):
    formfield_overrides = URLS_ASSUME_HTTPS
    list_display = ["base_url", "expires_at", "renewed_at", "last_error_at"]
    exclude = ["token"]
    readonly_fields = ["expires_at", "renewed_at", "last_error", "last_error_at"]
