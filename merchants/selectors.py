"""Reads, always scoped to a merchant (or to the user asking)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from core.exceptions import NotFound
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


# Operator commands address merchants and accounts by id across tenants (the
# DESIGN.md command contract); pages and the API never use these.


def merchant_by_id(*, merchant_id: int) -> Merchant:
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        raise NotFound(f"merchant {merchant_id} does not exist")
    return merchant


def account_by_id(*, account_id: int) -> Account:
    account = Account.objects.select_related("merchant").filter(pk=account_id).first()
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    return account
