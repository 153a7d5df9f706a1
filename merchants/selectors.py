"""Reads, always scoped to a merchant (or to the user asking)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from merchants.models import (
    Account,
    ApiKey,
    AuditEvent,
    Connection,
    Membership,
    Merchant,
)


def membership_list(*, user: Any) -> QuerySet[Membership]:
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    return (
        Membership.objects.filter(user=user, merchant__is_active=True)
        .select_related("merchant")
        .order_by("merchant__display_name")
    )


def merchant_get(*, merchant_id: int) -> Merchant:
    return get_object_or_404(Merchant, pk=merchant_id, is_active=True)


def account_list(*, merchant: Merchant) -> QuerySet[Account]:
    return Account.objects.for_merchant(merchant).filter(is_active=True)


def account_get(*, merchant: Merchant, account_id: int) -> Account:
    return get_object_or_404(Account.objects.for_merchant(merchant), pk=account_id)


def connection_list(*, merchant: Merchant) -> QuerySet[Connection]:
    return Connection.objects.for_merchant(merchant).select_related("account")


def connection_get(*, merchant: Merchant, connection_id: int) -> Connection:
    return get_object_or_404(connection_list(merchant=merchant), pk=connection_id)


def api_key_list(*, merchant: Merchant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_merchant(merchant)


def audit_event_list(*, merchant: Merchant) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.for_merchant(merchant).select_related("actor")
