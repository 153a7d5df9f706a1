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


def _payment_request(merchant: Merchant):
    from tests.payments.makers import payment_request_make

    return payment_request_make(merchant=merchant, amount="5.00", currency="USD")


def _payment_id(merchant: Merchant) -> int:
    return _payment_request(merchant).pk


def _md5(merchant: Merchant) -> str:
    return _payment_request(merchant).md5


def _endpoint_id(merchant: Merchant) -> int:
    from tests.payments.makers import webhook_endpoint_make

    return webhook_endpoint_make(merchant=merchant).pk


def _delivery_id(merchant: Merchant) -> int:
    from tests.payments.makers import webhook_delivery_make

    return webhook_delivery_make(merchant=merchant).pk


OBJECT_OF_A: dict[str, Callable[[Merchant], object]] = {
    "account_id": _account,
    "api_key_id": _api_key,
    "connection_id": _connection,
    "payment_id": _payment_id,
    "md5": _md5,
    "endpoint_id": _endpoint_id,
    "delivery_id": _delivery_id,
}
