"""The evidence chain: from any record (code, invoice, line, Bakong transaction)
the same chain, with its matches and who decided them; another merchant's record
is not found; the queries do not grow with the chain's width."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from core.exceptions import NotFound
from payments.models import BakongTransaction, PaymentCheck, Refund
from reconciliation.services.evidence import evidence_chain
from reconciliation.services.review import match_confirm
from tests.factories import AccountFactory
from tests.payments.makers import payment_request_make
from tests.reconciliation.review_makers import invoice, match_of, paid, run

pytestmark = pytest.mark.django_db
_hashes = itertools.count(1)


@pytest.fixture
def bank(merchant):
    return AccountFactory(
        merchant=merchant,
        provider="hattha",
        currency="USD",
        bakong_account_id="shop_a@hath",
    )


def _paid_code(merchant, bank, *, amount="25.00", day=4, code=None, **fields):
    """A code paid through Bakong into the bank account, the bank's line linked."""
    if code is None:
        with freeze_time(dt.datetime(2026, 11, day, 2, tzinfo=dt.UTC)):
            code = payment_request_make(
                merchant=merchant, amount=amount, currency="USD", **fields
            )
    hash_ = f"{next(_hashes):064x}"
    bt = BakongTransaction.objects.create(
        merchant=merchant,
        payment_request=code,
        hash=hash_,
        short_hash=hash_[:8],
        md5=code.md5,
        from_account_id="sok_dara@aclb",
        to_account_id="shop_a@hath",
        amount=Decimal(amount),
        currency="USD",
        created_at_bakong=dt.datetime(2026, 11, day, 3, tzinfo=dt.UTC),
        outcome="matched",
    )
    line = paid(
        bank,
        day,
        amount,
        reference=f"KHQR {hash_[:8]}",
        bakong_hash=hash_,
        bakong_transaction=bt,
        channel="KHQR",
    )
    return code, bt, line


@pytest.fixture
def chain(merchant, bank, owner_client):
    code, bt, line = _paid_code(merchant, bank, order_id="ORD-77", bill_number="INV-77")
    for outcome in ("pending", "pending", "paid"):
        PaymentCheck.objects.create(payment_request=code, outcome=outcome)
    inv = invoice(merchant, "INV-77", "25.00", customer="Sok Dara")
    refund = Refund.objects.create(
        merchant=merchant,
        payment_request=code,
        amount=Decimal("5.00"),
        currency="USD",
        bank_reference="RF-1",
    )
    with freeze_time("2026-12-05 10:00:00"):
        run(merchant)
        match = match_of(merchant, inv, line)
        match_confirm(merchant=merchant, match_id=match.pk, actor=owner_client.user)
    return code, bt, line, inv, refund, match


@pytest.mark.parametrize("start", ["khqr", "invoice", "line", "bakong", "refund"])
def test_every_record_of_the_chain_shows_the_whole_chain(merchant, chain, start):
    # given a code paid through Bakong, its bank line, its invoice, its refund
    code, bt, line, inv, refund, match = chain
    pk = {"khqr": code, "invoice": inv, "line": line, "bakong": bt, "refund": refund}[
        start
    ].pk

    # when the chain of any one of them is asked for
    found = evidence_chain(merchant=merchant, kind=start, pk=pk)

    # then it is the same chain, with the match and who confirmed it
    assert [c.pk for c in found.codes] == [code.pk]
    assert [b.pk for b in found.bakong] == [bt.pk]
    assert [ln.pk for ln in found.lines] == [line.pk]
    assert [i.pk for i in found.invoices] == [inv.pk]
    assert [r.pk for r in found.refunds] == [refund.pk]
    assert [m.pk for m in found.matches] == [match.pk]
    assert found.matches[0].status == "confirmed"
    assert found.matches[0].decided_by.username.startswith("owner")
    assert [c.outcome for c in found.checks[code.pk]][0] in ("paid", "pending")
    assert len(found.checks[code.pk]) == 3
    assert found.start.pk == pk
    assert not found.truncated


def test_the_chain_shows_the_exceptions_of_its_records(merchant, bank):
    # given a line no one expected
    line = paid(bank, 6, "17.00", reference="cash", external_id="STRAY")
    with freeze_time("2026-12-05 10:00:00"):
        run(merchant)
    found = evidence_chain(merchant=merchant, kind="line", pk=line.pk)
    assert [e.reason for e in found.exceptions] == ["unmatched_line"]
    assert found.matches == []


def test_another_merchants_record_is_not_found(other_merchant, chain):
    code, *_ = chain
    with pytest.raises(NotFound, match=f"khqr {code.pk}: not found"):
        evidence_chain(merchant=other_merchant, kind="khqr", pk=code.pk)


def _queries(merchant, kind, pk) -> int:
    with CaptureQueriesContext(connection) as captured:
        evidence_chain(merchant=merchant, kind=kind, pk=pk)
    return len(captured)


def test_the_queries_do_not_grow_with_the_chain(merchant, bank):
    # given a static code paid twice, and another paid eight times, each payment
    # its own line and match
    with freeze_time("2026-11-03 02:00:00"):
        few = payment_request_make(merchant=merchant, amount=None, currency="USD")
        many = payment_request_make(merchant=merchant, amount=None, currency="USD")
    for _ in range(2):
        _paid_code(merchant, bank, code=few, amount="3.00")
    for _ in range(8):
        _paid_code(merchant, bank, code=many, amount="3.00")
    with freeze_time("2026-12-05 10:00:00"):
        run(merchant)
    wide = evidence_chain(merchant=merchant, kind="khqr", pk=many.pk)
    assert (len(wide.bakong), len(wide.lines), len(wide.matches)) == (8, 8, 8)

    # then the chain of eight costs what the chain of two does
    assert _queries(merchant, "khqr", many.pk) == _queries(merchant, "khqr", few.pk)
