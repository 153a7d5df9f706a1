"""For tests/test_tenancy.py: URL argument name -> a maker of merchant A's object of
that kind (returns the value that goes in the URL). Each app adds its own."""

from __future__ import annotations

from collections.abc import Callable

from merchants.models import Merchant
from tests import factories


def _account(merchant: Merchant) -> int:
    return factories.AccountFactory(merchant=merchant).pk


def _api_key(merchant: Merchant) -> int:
    from merchants.services import api_key_create

    return api_key_create(merchant=merchant)[0].pk


def _connection(merchant: Merchant) -> int:
    account = factories.AccountFactory(merchant=merchant)
    return factories.ConnectionFactory(account=account, merchant=merchant).pk


OBJECT_OF_A: dict[str, Callable[[Merchant], object]] = {
    "account_id": _account,
    "api_key_id": _api_key,
    "connection_id": _connection,
}
