"""POST /api/v1/transaction/by-hash: verify a payment slip from the shop's API."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from merchants.services import api_key_create
from payments.bakong_access import BakongAccess
from payments.clients.bakong import BakongClient
from payments.models import SlipCheck
from tests.payments.bakong_fakes import BASE, TX_HASH, FakeBakong, fail, ok, tx_data
from tests.payments.test_services_slips import paid_code

URL = "/api/v1/transaction/by-hash"


@pytest.fixture
def bakong(monkeypatch):
    """The scripted Bakong every slip check in the test talks to."""
    fake = FakeBakong()

    def from_settings(cls, transport=None):
        client = BakongClient(base_url=BASE, token="tok", transport=fake.transport())
        return cls(client=client, email="")

    monkeypatch.setattr(BakongAccess, "from_settings", classmethod(from_settings))
    cache.clear()
    return fake


def test_by_hash_answers_the_transaction_and_the_code_it_paid(
    api_client, api_key, merchant, bakong
):
    # given the merchant's code ORDER-1, paid by the transaction
    code = paid_code(merchant, order_id="ORDER-1")
    # when the shop checks the slip for that order
    response = api_client.post(
        URL, {"hash": TX_HASH, "order_id": "ORDER-1"}, format="json"
    )
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["result"] == "paid"
    assert body["hash"] == TX_HASH
    assert body["transaction"]["amount"] == "1.00"  # amounts are strings
    assert body["transaction"]["short_hash"] == TX_HASH[:8]
    assert body["transaction"]["to_account_id"] == "shop_a@wing"
    assert body["to_your_account"] is True
    assert body["payment_request"]["md5"] == code.md5
    assert body["payment_request"]["order_id"] == "ORDER-1"
    assert body["payment_request"]["status"] == "paid"
    assert body["payment_request"]["amount"] == "1.00"
    assert (body["reused"], body["reused_for"], body["source"]) == (
        False,
        "",
        "recorded",
    )
    check = SlipCheck.objects.get()
    assert api_key.startswith(check.api_key.prefix)  # who asked is kept
    assert check.order_id == "ORDER-1"


def test_by_hash_flags_a_slip_presented_for_a_second_order(
    api_client, merchant, bakong
):
    # given the slip paid ORDER-1
    paid_code(merchant, order_id="ORDER-1")
    # when it is presented for ORDER-2
    response = api_client.post(
        URL, {"hash": TX_HASH, "order_id": "ORDER-2"}, format="json"
    )
    # then
    assert response.status_code == 200
    assert (response.json()["reused"], response.json()["reused_for"]) == (
        True,
        "ORDER-1",
    )


def test_by_short_hash_asks_bakong_with_amount_and_currency(api_client, bakong):
    # given
    bakong.on("check_transaction_by_short_hash", ok(tx_data(amount=1.5)))
    # when
    response = api_client.post(
        URL,
        {"short_hash": TX_HASH[:8], "amount": 1.50, "currency": "USD"},
        format="json",
    )
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["transaction"]["amount"] == "1.50"
    assert body["payment_request"] is None
    assert body["source"] == "bakong"
    sent = bakong.body(bakong.calls("check_transaction_by_short_hash")[0])
    assert sent == {"hash": TX_HASH[:8], "amount": 1.5, "currency": "USD"}


def test_by_hash_of_another_merchants_payment_answers_only_bakongs_facts(
    api_client, other_merchant, bakong
):
    # given merchant B's code paid by the transaction
    paid_code(other_merchant, order_id="B-ORDER")
    bakong.on("check_transaction_by_hash", ok(tx_data(toAccountId="shop_b@wing")))
    # when merchant A's shop asks
    response = api_client.post(URL, {"hash": TX_HASH}, format="json")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["payment_request"] is None
    assert body["to_your_account"] is False
    assert body["source"] == "bakong"
    assert "B-ORDER" not in response.content.decode()


def test_by_hash_unknown_to_bakong_answers_not_found_and_keeps_the_check(
    api_client, bakong
):
    # given
    bakong.on("check_transaction_by_hash", fail(1))
    # when
    response = api_client.post(URL, {"hash": TX_HASH}, format="json")
    # then: a verdict on the slip (refuse it), not a missing route
    assert response.status_code == 200
    body = response.json()
    assert (body["result"], body["transaction"], body["payment_request"]) == (
        "not_found",
        None,
        None,
    )
    assert SlipCheck.objects.get().result == "not_found"


def test_by_hash_when_bakong_is_away_is_503_and_records_nothing(api_client, bakong):
    # given
    bakong.on("check_transaction_by_hash", fail(9))  # "Cannot connect to server"
    # when
    response = api_client.post(URL, {"hash": TX_HASH}, format="json")
    # then
    assert response.status_code == 503
    assert response.json()["error"] == "bakong_unavailable"
    assert SlipCheck.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"hash": TX_HASH[:40]}, "hash: must be 64 hexadecimal characters"),
        ({"hash": "g" * 64}, "hash: must be 64 hexadecimal characters"),
        ({"short_hash": "8465d722", "currency": "USD"}, "amount: required with"),
        ({"short_hash": "8465d722", "amount": "1"}, "currency: required with"),
        ({"short_hash": "8465d7"}, "short_hash: must be 8 hexadecimal characters"),
        ({}, "hash: give the full hash"),
        ({"hash": TX_HASH, "short_hash": "8465d722"}, "hash: give hash or short_hash"),
        ({"hash": 12}, "hash: must be a string"),
        (
            {"short_hash": "8465d722", "amount": "1.005", "currency": "USD"},
            "amount: .*at most 2 decimal places",
        ),
    ],
)
def test_by_hash_refuses_bad_input_naming_the_field(api_client, bakong, body, message):
    # when
    response = api_client.post(URL, body, format="json")
    # then
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_input"
    assert re.match(message, response.json()["message"]), response.json()["message"]
    assert bakong.seen == []
    assert SlipCheck.objects.count() == 0


def test_by_hash_needs_an_api_key(bakong):
    # when
    response = APIClient().post(URL, {"hash": TX_HASH}, format="json")
    # then
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_by_hash_with_a_test_key_does_not_show_a_live_code(merchant, bakong):
    # given a live code paid by the transaction, and a test key
    paid_code(merchant)
    raw = api_key_create(merchant=merchant, name="dev", is_test=True)[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    # when
    response = client.post(URL, {"hash": TX_HASH}, format="json")
    # then
    assert response.status_code == 200
    assert response.json()["payment_request"] is None
