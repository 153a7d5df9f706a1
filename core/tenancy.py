"""Tenancy: every row that belongs to a merchant says so, and reads go through
`for_merchant`, which refuses to run without one (fail closed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from merchants.models import Merchant


class TenantQuerySet(models.QuerySet):
    def for_merchant(self, merchant: Merchant | None) -> TenantQuerySet:
        if merchant is None or getattr(merchant, "pk", None) is None:
            raise PermissionError("a merchant-scoped query was made without a merchant")
        return self.filter(merchant=merchant)
