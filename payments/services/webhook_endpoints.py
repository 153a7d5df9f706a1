"""A merchant's webhook endpoints: the URL checked when it is saved (never a private,
loopback, link-local or metadata address), rotatable signing secrets, enable and
disable. What is sent, and when, is webhook_deliveries'."""

from __future__ import annotations

import datetime as dt
import secrets as secrets_module
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.exceptions import InvalidInput, NotFound
from merchants.models import Merchant
from merchants.services import audit_event_record
from payments.clients.merchant_webhooks import (
    DestinationRefused,
    DestinationUnresolvable,
    Resolver,
    destination_addresses,
)
from payments.models import WebhookEndpoint

EVENTS = ("transaction.paid", "transaction.refunded")
PREVIOUS_SECRET_HOURS = 24
URL_MAX_CHARS = 500


def _new_secret() -> str:
    return "whsec_" + secrets_module.token_urlsafe(32)


def webhook_url_check(url: str, *, resolver: Resolver | None = None) -> str:
    """The URL, stripped, if webhooks may go there: http(s), no credentials, and a
    host that is and resolves only to public addresses (unless
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES); else InvalidInput naming what is wrong."""
    url = (url or "").strip()
    if len(url) > URL_MAX_CHARS:
        raise InvalidInput(f"url: at most {URL_MAX_CHARS} characters", field="url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not one)
    except ValueError as exc:
        raise InvalidInput(f"url: not a valid address ({exc})", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            gettext_noop("url: must be an http:// or https:// address"), field="url"
        )
    if parts.username or parts.password:
        raise InvalidInput(
            gettext_noop("url: must not contain a user name or password"), field="url"
        )
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return url
    try:
        destination_addresses(url, resolver=resolver)
    except DestinationRefused as exc:
        raise InvalidInput(
            f"url: {exc.message}; webhooks go only to public internet addresses",
            field="url",
        ) from None
    except DestinationUnresolvable as exc:
        raise InvalidInput(f"url: {exc.message}", field="url") from None
    return url


def _clean_events(events: Iterable[str] | None) -> list[str]:
    chosen = list(events) if events else list(EVENTS)
    unknown = sorted(set(chosen) - set(EVENTS))
    if unknown:
        raise InvalidInput(
            f"events: {', '.join(unknown)} not known; use {', '.join(EVENTS)}",
            field="events",
        )
    return sorted(set(chosen))


@transaction.atomic
def webhook_endpoint_create(
    *,
    merchant: Merchant,
    url: str,
    events: Iterable[str] | None = None,
    actor: Any = None,
    resolver: Resolver | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint at a checked URL and return its signing secret in plain
    text, this once."""
    checked_url = webhook_url_check(url, resolver=resolver)
    secret = _new_secret()
    endpoint = WebhookEndpoint.objects.create(
        merchant=merchant,
        url=checked_url,
        events=_clean_events(events),
        secrets={"current": secret, "previous": "", "previous_until": ""},
    )
    audit_event_record(
        merchant=merchant,
        action="webhook_endpoint.created",
        obj=endpoint,
        actor=actor,
        details={"url": endpoint.url, "events": endpoint.events},
    )
    return endpoint, secret


def _endpoint_locked(merchant: Merchant, endpoint_id: int) -> WebhookEndpoint:
    endpoint = (
        WebhookEndpoint.objects.for_merchant(merchant)
        .select_for_update()
        .filter(pk=endpoint_id)
        .first()
    )
    if endpoint is None:
        raise NotFound(gettext_noop("no such webhook endpoint"))
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(
    *, merchant: Merchant, endpoint_id: int, actor: Any = None
) -> tuple[WebhookEndpoint, str]:
    """A new secret signs from now on; for 24 hours deliveries carry a second v1
    made with the old one, so the shop can switch without missing an event."""
    endpoint = _endpoint_locked(merchant, endpoint_id)
    secret = _new_secret()
    until = timezone.now() + dt.timedelta(hours=PREVIOUS_SECRET_HOURS)
    endpoint.secrets = {
        "current": secret,
        "previous": endpoint.secrets.get("current", ""),
        "previous_until": until.isoformat(),
    }
    endpoint.save(update_fields=["secrets"])
    audit_event_record(
        merchant=merchant,
        action="webhook_endpoint.secret_rotated",
        obj=endpoint,
        actor=actor,
    )
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_set_active(
    *,
    merchant: Merchant,
    endpoint_id: int,
    active: bool,
    reason: str = "",
    actor: Any = None,
) -> WebhookEndpoint:
    """Disable (nothing more is sent) or enable an endpoint again."""
    endpoint = _endpoint_locked(merchant, endpoint_id)
    if endpoint.is_active == active:
        return endpoint
    endpoint.is_active = active
    endpoint.disabled_reason = "" if active else (reason or "disabled by the owner")
    endpoint.save(update_fields=["is_active", "disabled_reason"])
    audit_event_record(
        merchant=merchant,
        action="webhook_endpoint.enabled" if active else "webhook_endpoint.disabled",
        obj=endpoint,
        actor=actor,
        details={"reason": endpoint.disabled_reason},
    )
    return endpoint


def endpoint_signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The current secret, and the previous one while it is still honoured."""
    data = endpoint.secrets or {}
    found = [data.get("current", "")]
    previous, until = data.get("previous", ""), data.get("previous_until", "")
    if previous and until:
        try:
            still = dt.datetime.fromisoformat(until) > timezone.now()
        except ValueError:
            still = False
        if still:
            found.append(previous)
    return [s for s in found if s]
