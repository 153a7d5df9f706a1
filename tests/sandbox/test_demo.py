"""seed_demo: the demo's codes are paid through the sandbox and settled by the
production poller, so the demo wallets' lines are exactly their paid codes."""

import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from merchants.models import Account
from payments.models import (
    BakongTransaction,
    InboundEvent,
    PaymentRequest,
    WebhookEndpoint,
)
from statements.models import Source, Transaction


@pytest.fixture(autouse=True)
def _offline(settings):
    # nothing leaves this process: the demo reaches the sandbox in process
    settings.BAKONG_BASE_URL = "http://127.0.0.1:9"


def _seed() -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_seed_demo_adds_paid_pending_expired_and_flagged_codes(db):
    _seed()
    by_order = {pr.order_id: pr for pr in PaymentRequest.objects.all()}
    assert by_order["DEMO-1001"].status == "paid"
    assert by_order["DEMO-1002"].status == "pending"
    assert by_order["DEMO-1003"].status == "expired"
    assert by_order["DEMO-1004"].flag == "amount_mismatch"
    assert by_order["DEMO-1005"].flag == "duplicate"
    assert by_order["DEMO-1001"].bakong_transactions.count() == 1
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.is_active is False


def test_seed_demo_twice_changes_nothing(db):
    _seed()
    before = (
        list(PaymentRequest.objects.values_list("md5", "status", "flag")),
        list(Transaction.objects.values_list("account_id", "external_id", "amount")),
    )
    _seed()
    after = (
        list(PaymentRequest.objects.values_list("md5", "status", "flag")),
        list(Transaction.objects.values_list("account_id", "external_id", "amount")),
    )
    assert before == after
    assert WebhookEndpoint.objects.count() == 1


def test_a_demo_paid_code_is_one_line_of_its_wallet_made_by_settlement(db):
    # given the demo
    _seed()
    paid = PaymentRequest.objects.get(order_id="DEMO-1001")
    # then its payment is exactly one line, in its wallet, posted by settlement
    (line,) = Transaction.objects.filter(bakong_transaction__payment_request=paid)
    assert line.account == paid.account
    assert line.account.provider == "bakong"
    assert line.source == Source.BAKONG
    assert line.external_id == paid.bakong_hash
    assert line.amount == paid.paid_amount
    assert line.bakong_transaction.outcome == "matched"


def test_the_demo_wallets_hold_exactly_their_codes_payments(db):
    # given the demo
    _seed()
    for wallet in Account.objects.filter(provider="bakong"):
        lines = Transaction.objects.filter(account=wallet)
        # then every line is a settled Bakong transaction into that wallet, and
        # every Bakong transaction of its codes is a line (30 days of them)
        assert lines.count() > 30
        assert not lines.filter(bakong_transaction=None).exists()
        assert set(lines.values_list("bakong_transaction__hash", flat=True)) == set(
            BakongTransaction.objects.filter(
                payment_request__account=wallet
            ).values_list("hash", flat=True)
        )
        assert set(lines.values_list("source", flat=True)) == {Source.BAKONG}


def test_the_demo_code_paid_twice_is_two_lines_and_a_duplicate(db):
    _seed()
    twice = PaymentRequest.objects.get(order_id="DEMO-1005")
    outcomes = sorted(twice.bakong_transactions.values_list("outcome", flat=True))
    assert outcomes == ["duplicate", "matched"]
    assert (
        Transaction.objects.filter(bakong_transaction__payment_request=twice).count()
        == 2
    )
    # the second payment was learnt from the gateway's webhook, checked with Bakong
    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED


def test_the_paid_demo_code_shows_once_on_the_transactions_page_and_statement(db):
    # given the demo, and its owner signed in
    answer = _seed()
    client = Client()
    signed_in = client.post(
        "/login/", {"username": answer["username"], "password": answer["password"]}
    )
    assert signed_in.status_code == 302
    paid = PaymentRequest.objects.get(order_id="DEMO-1001")
    wallet = paid.account
    # when the Transactions page is searched for the payment's Bakong hash
    page = client.get(
        "/statements/transactions/", {"account": wallet.pk, "q": paid.bakong_hash}
    )
    # then it lists one line
    assert page.status_code == 200
    assert [line.external_id for line in page.context["page"].lines] == [
        paid.bakong_hash
    ]
    # and the wallet's statement of the day has it once
    day = timezone.localdate(paid.paid_at).isoformat()
    download = client.get(
        f"/statements/accounts/{wallet.pk}/download/",
        {"date_from": day, "date_to": day, "format": "csv"},
    )
    assert download.status_code == 200
    body = (
        b"".join(download.streaming_content) if download.streaming else download.content
    )
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [row["txn_id"] for row in rows].count(paid.bakong_hash) == 1
