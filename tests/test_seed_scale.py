"""bench/seed_scale.py at a tiny scale: it runs, and what it leaves is what
production would have written (so the seeder cannot rot while the models move)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count, F, Q

from bench import seed_scale
from merchants.models import Account, Merchant
from payments.models import BakongTransaction, PaymentRequest
from reconciliation.models import Invoice, ReconciliationRun
from statements.models import Transaction

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the seeder writes with COPY"
    ),
]

SCALE = 0.001


@pytest.fixture
def seeded() -> dict:
    return seed_scale.seed(scale=SCALE, merchants=3, runs=1, out=lambda *_: None)


def test_counts_are_the_ones_asked_for(seeded):
    large = Merchant.objects.get(legal_name=seed_scale.LARGEST)
    assert Merchant.objects.count() == 3
    lines = Transaction.objects.filter(merchant=large).count()
    assert lines == pytest.approx(seed_scale.FULL["lines"] * SCALE, rel=0.02)
    invoices = Invoice.objects.filter(merchant=large).count()
    assert invoices == pytest.approx(seed_scale.FULL["invoices"] * SCALE, rel=0.05)
    codes = PaymentRequest.objects.filter(merchant=large).count()
    assert codes == pytest.approx(seed_scale.FULL["requests"] * SCALE, rel=0.1)
    paid = PaymentRequest.objects.filter(merchant=large, status="paid").count()
    assert paid > codes * 0.6  # most are paid
    assert ReconciliationRun.objects.filter(merchant=large, status="done").count() == 1
    assert seeded["lines (largest)"] == lines


def test_every_paid_request_has_its_bakong_transaction_and_line(seeded):
    paid = PaymentRequest.objects.filter(status="paid")
    assert paid.exists()
    for pr in paid.iterator():
        matched = BakongTransaction.objects.get(payment_request=pr, outcome="matched")
        assert matched.hash == pr.bakong_hash
        assert (matched.amount, matched.currency) == (pr.paid_amount, pr.currency)
        assert matched.merchant_id == pr.merchant_id
    # a payment to a wallet has its one line there, posted by settlement
    wallet_ids = set(
        Account.objects.filter(provider="bakong").values_list(
            "bakong_account_id", flat=True
        )
    )
    to_wallets = BakongTransaction.objects.filter(to_account_id__in=wallet_ids)
    assert to_wallets.exists()
    missing = to_wallets.filter(ledger_line__isnull=True)
    assert not missing.exists()
    for bt in to_wallets.select_related("ledger_line__account"):
        line = bt.ledger_line
        assert (line.external_id, line.bakong_hash) == (bt.hash, bt.hash)
        assert line.account.bakong_account_id == bt.to_account_id
        assert (line.amount, line.currency, line.source) == (
            bt.amount,
            bt.currency,
            "bakong",
        )
    # a line never belongs to another merchant's payment
    crossed = Transaction.objects.filter(bakong_transaction__isnull=False).exclude(
        bakong_transaction__merchant_id=F("merchant_id")
    )
    assert not crossed.exists()


def test_no_request_is_left_pending_in_a_past_year(seeded):
    assert not PaymentRequest.objects.filter(status="pending").exists()
    twice = (
        BakongTransaction.objects.filter(outcome="matched")
        .values("payment_request")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not twice.exists()
    assert not PaymentRequest.objects.filter(
        Q(status="paid") & (Q(paid_at=None) | Q(bakong_hash=""))
    ).exists()


def test_a_second_run_adds_nothing(seeded):
    again = seed_scale.seed(scale=SCALE, merchants=3, runs=1, out=lambda *_: None)
    assert again == seeded
