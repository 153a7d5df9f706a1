"""The "Verify a slip" page: accountants and owners check a slip, every member
reads the checks made so far."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from payments.bakong_access import BakongAccess
from payments.clients.bakong import BakongClient
from payments.models import SlipCheck
from tests.payments.bakong_fakes import BASE, TX_HASH, FakeBakong, fail, ok, tx_data
from tests.payments.test_services_slips import paid_code

URL = "/payments/slips/"


@pytest.fixture
def bakong(monkeypatch):
    fake = FakeBakong()

    def from_settings(cls, transport=None):
        client = BakongClient(base_url=BASE, token="tok", transport=fake.transport())
        return cls(client=client, email="")

    monkeypatch.setattr(BakongAccess, "from_settings", classmethod(from_settings))
    cache.clear()
    return fake


def test_accountant_verifies_a_slip_that_paid_a_code(
    accountant_client, merchant, bakong
):
    # given
    code = paid_code(merchant, order_id="ORDER-1")
    # when
    response = accountant_client.post(URL, {"hash": TX_HASH, "order_id": "ORDER-1"})
    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert "Bakong confirms this transaction" in page
    assert f'href="/payments/{code.pk}/"' in page
    assert "1.00 USD" in page
    assert "Shown before" not in page
    check = SlipCheck.objects.get()
    assert (check.user, check.order_id) == (accountant_client.user, "ORDER-1")


def test_a_short_hash_in_the_hash_box_is_checked_with_amount_and_currency(
    owner_client, bakong
):
    # given
    bakong.on("check_transaction_by_short_hash", ok(tx_data(amount=1.0)))
    # when
    response = owner_client.post(
        URL, {"hash": TX_HASH[:8], "amount": "1.00", "currency": "USD"}
    )
    # then
    assert response.status_code == 200
    assert "Bakong confirms this transaction" in response.content.decode()
    assert len(bakong.calls("check_transaction_by_short_hash")) == 1


def test_a_slip_shown_for_a_second_order_is_flagged_on_the_page(
    accountant_client, merchant, bakong
):
    # given the slip paid ORDER-1
    paid_code(merchant, order_id="ORDER-1")
    # when it is shown for ORDER-2
    response = accountant_client.post(URL, {"hash": TX_HASH, "order_id": "ORDER-2"})
    # then
    page = response.content.decode()
    assert "Shown before for order ORDER-1" in page
    assert "Do not accept it twice" in page


def test_a_slip_bakong_does_not_know_is_said_so(accountant_client, bakong):
    # given
    bakong.on("check_transaction_by_hash", fail(1))
    # when
    page = accountant_client.post(URL, {"hash": TX_HASH}).content.decode()
    # then
    assert "Bakong has no such transaction" in page


def test_bad_input_is_explained_at_the_field(accountant_client, bakong):
    # when
    response = accountant_client.post(URL, {"hash": "8465d722aa"})
    short = accountant_client.post(URL, {"hash": "8465d722", "currency": "USD"})
    # then
    assert "64 hexadecimal characters (got 10)" in response.content.decode()
    assert "needs the slip&#x27;s amount and currency" in short.content.decode()
    assert bakong.seen == []
    assert SlipCheck.objects.count() == 0


def test_bakong_away_is_explained(accountant_client, bakong):
    # given
    bakong.on("check_transaction_by_hash", fail(9))
    # when
    page = accountant_client.post(URL, {"hash": TX_HASH}).content.decode()
    # then
    assert "Bakong could not be reached to check the slip" in page


def test_viewer_reads_the_checks_but_cannot_verify(
    viewer_client, accountant_client, merchant, bakong
):
    # given a check made by an accountant
    paid_code(merchant, order_id="ORDER-1")
    accountant_client.post(URL, {"hash": TX_HASH, "order_id": "ORDER-9"})
    # when
    page = viewer_client.get(URL).content.decode()
    refused = viewer_client.post(URL, {"hash": TX_HASH})
    # then
    assert "ORDER-9" in page and "shown before for ORDER-1" in page
    assert 'id="slip-form"' not in page
    assert refused.status_code == 403
    assert SlipCheck.objects.count() == 1


def test_another_merchants_checks_are_not_listed(owner_client, other_merchant, bakong):
    # given merchant B's check
    paid_code(other_merchant, order_id="B-ORDER")
    SlipCheck.objects.create(
        merchant=other_merchant,
        hash=TX_HASH,
        order_id="B-ORDER",
        result="paid",
        source="recorded",
    )
    # when
    page = owner_client.get(URL).content.decode()
    # then
    assert "B-ORDER" not in page
    assert "No slip checked yet" in page


def test_the_payments_list_links_to_the_slip_page(viewer_client):
    assert 'href="/payments/slips/"' in viewer_client.get("/payments/").content.decode()
