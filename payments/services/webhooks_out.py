"""Moved: endpoints are payments.services.webhook_endpoints, deliveries
payments.services.webhook_deliveries, the HTTP payments.clients.merchant_webhooks.

Only this one name stays here, for settlement's lazy import in
payment_requests.py (its owner moves it to webhook_deliveries); delete this module
then. Nothing new imports from here."""

from payments.services.webhook_deliveries import webhook_deliveries_enqueue

__all__ = ["webhook_deliveries_enqueue"]
