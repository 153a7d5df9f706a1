"""A hypothesis state machine over the money paths production uses: codes
created by payment_request_create, paid (and paid again, and re-delivered) by
bakong_transaction_apply, refunded by refund_create, the wallet's statement files
imported and re-imported by statement_file_import. After every step:

- each Bakong hash is one ledger line;
- each wallet's balance (the ledger's exact Sum) is the Decimal sum of its lines,
  and is what the money that came in says it should be;
- refunds never exceed what was paid, and add up to what the code says;
- KHR amounts are whole riel; every amount is a Decimal, never a float.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import ROUND_DOWN, Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from core.exceptions import Conflict, InvalidInput
from payments.clients.bakong_types import BakongTransactionInfo
from payments.models import BakongTransaction, PaymentRequest, Refund
from payments.services.payment_requests import payment_request_create
from payments.services.refunds import refund_create
from payments.services.settlement import bakong_transaction_apply
from statements.models import Transaction
from statements.services.imports import statement_file_import
from tests.factories import AccountFactory, MerchantFactory
from tests.statements.ingest_files import canonical

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)
MINOR = {"USD": Decimal("0.01"), "KHR": Decimal("1")}
PAID_AT = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)


def _amount(currency: str, units: int) -> Decimal:
    return (Decimal(units) * MINOR[currency]).quantize(MINOR[currency])


class LedgerMachine(RuleBasedStateMachine):
    codes = Bundle("codes")
    payments = Bundle("payments")

    def __init__(self) -> None:
        super().__init__()
        n = next(_serial)
        self.merchant = MerchantFactory(bakong_account_id=f"m{n}@wing")
        self.wallets = {
            ccy: AccountFactory(
                merchant=self.merchant,
                provider="bakong",
                kind="wallet",
                currency=ccy,
                number=f"m{n}_{ccy.lower()}@wing",
                bakong_account_id=f"m{n}_{ccy.lower()}@wing",
            )
            for ccy in ("USD", "KHR")
        }
        # what each wallet must hold: one amount per Bakong hash, one per bank id
        self.expected = {ccy: {} for ccy in self.wallets}
        self.files: list[bytes] = []

    # -- codes and payments -----------------------------------------------------

    @rule(
        target=codes,
        currency=st.sampled_from(["USD", "KHR"]),
        units=st.integers(min_value=1, max_value=10**9),
    )
    def create_code(self, currency, units):
        amount = _amount(currency, units)
        code, replay = payment_request_create(
            merchant=self.merchant, amount=str(amount), currency=currency
        )
        assert not replay
        assert code.amount == amount
        return code.pk

    def _info(self, code: PaymentRequest, hash_: str, amount: Decimal, ccy: str):
        return BakongTransactionInfo(
            hash=hash_,
            from_account_id="payer@aclb",
            to_account_id=self.wallets[ccy].bakong_account_id,
            currency=ccy,
            amount=amount,
            created_date_ms=int(PAID_AT.timestamp() * 1000),
            md5=code.md5,
        )

    @rule(target=payments, code_pk=codes, extra_units=st.sampled_from([0, 0, 0, 1]))
    def pay(self, code_pk, extra_units):
        code = PaymentRequest.objects.get(pk=code_pk)
        amount = code.amount + extra_units * MINOR[code.currency]
        hash_ = f"{next(_serial):064x}"
        info = self._info(code, hash_, amount, code.currency)
        bakong_transaction_apply(payment_request_id=code_pk, info=info)
        self.expected[code.currency][hash_] = amount
        return (code_pk, info)

    @rule(payment=payments)
    def the_same_payment_is_delivered_again(self, payment):
        code_pk, info = payment
        bakong_transaction_apply(payment_request_id=code_pk, info=info)

    @rule(payment=payments, other=codes)
    def a_hash_claimed_for_another_code_is_refused(self, payment, other):
        code_pk, info = payment
        if other == code_pk:
            return
        code = PaymentRequest.objects.get(pk=other)
        with pytest.raises((Conflict, InvalidInput)):
            bakong_transaction_apply(
                payment_request_id=other,
                info=self._info(code, info.hash, info.amount, info.currency),
            )

    # -- refunds ----------------------------------------------------------------

    @rule(
        code_pk=codes,
        share=st.one_of(
            st.none(),
            st.integers(min_value=0, max_value=100).map(lambda p: Decimal(p) / 100),
            st.just(Decimal(2)),
        ),
    )
    def refund(self, code_pk, share):
        code = PaymentRequest.objects.get(pk=code_pk)
        ccy = code.paid_currency or code.currency
        remaining = (code.paid_amount or Decimal(0)) - code.refunded_amount
        amount = None
        if share is not None:
            amount = (remaining * share).quantize(MINOR[ccy], rounding=ROUND_DOWN)
        try:
            refund_create(
                merchant=self.merchant,
                payment_request_id=code_pk,
                amount=None if amount is None else str(amount),
                bank_reference=f"RF{next(_serial)}",
            )
        except (Conflict, InvalidInput):
            allowed = code.paid_amount is not None and (
                0 < (remaining if amount is None else amount) <= remaining
            )
            refundable = code.status in ("paid", "partially_refunded")
            assert not (allowed and refundable), (code.status, amount, remaining)
        else:
            assert code.paid_amount is not None
            assert (amount or remaining) <= remaining

    # -- the wallet's own statement file ---------------------------------------

    @rule(
        currency=st.sampled_from(["USD", "KHR"]),
        new_lines=st.lists(st.integers(min_value=1, max_value=10**7), max_size=4),
        with_known_hash=st.booleans(),
    )
    def import_the_wallets_statement(self, currency, new_lines, with_known_hash):
        rows = []
        for units in new_lines:
            bank_id = f"W{next(_serial)}"
            amount = _amount(currency, units)
            rows.append(self._row(bank_id, amount, currency))
            self.expected[currency][bank_id] = amount
        if with_known_hash and self.expected[currency]:
            # the wallet's export also lists a movement Bakong already told us of,
            # under the wallet's own id and with the Bakong hash
            known = [h for h in self.expected[currency] if len(h) == 64]
            if known:
                hash_ = known[0]
                amount = self.expected[currency][hash_]
                rows.append(
                    self._row(f"W{next(_serial)}", amount, currency, bakong_hash=hash_)
                )
        if not rows:
            return
        data = canonical(rows)
        result = statement_file_import(
            account=self.wallets[currency], file_bytes=data, filename="wallet.csv"
        )
        assert result.errors == [], result.errors
        self.files.append((currency, data))

    @staticmethod
    def _row(bank_id: str, amount: Decimal, currency: str, bakong_hash: str = ""):
        return {
            "txn_id": bank_id,
            "posted_at": "2026-11-20T10:00:00+07:00",
            "amount": str(amount),
            "currency": currency,
            "bakong_hash": bakong_hash,
        }

    @rule(data=st.data())
    def the_same_file_again_is_refused_and_a_copy_adds_nothing(self, data):
        if not self.files:
            return
        entry = data.draw(st.sampled_from(self.files))
        self.files.remove(entry)  # its copy below is imported once
        currency, file_bytes = entry
        wallet = self.wallets[currency]
        with pytest.raises(Conflict):
            statement_file_import(
                account=wallet, file_bytes=file_bytes, filename="again.csv"
            )
        # the same lines in a file that differs (a trailing blank line)
        result = statement_file_import(
            account=wallet, file_bytes=file_bytes + b"\r\n", filename="copy.csv"
        )
        assert result.inserted == 0, result

    # -- invariants -------------------------------------------------------------

    @invariant()
    def each_bakong_hash_is_one_ledger_line(self):
        hashes = BakongTransaction.objects.filter(merchant=self.merchant)
        for hash_ in hashes.values_list("hash", flat=True):
            lines = Transaction.objects.filter(
                merchant=self.merchant, bakong_hash=hash_
            )
            assert lines.count() == 1, (hash_, list(lines.values("external_id")))

    @invariant()
    def balances_are_the_decimal_sum_of_lines_and_of_the_money_in(self):
        for currency, wallet in self.wallets.items():
            amounts = list(
                Transaction.objects.filter(account=wallet).values_list(
                    "amount", flat=True
                )
            )
            total = Transaction.objects.filter(account=wallet).aggregate(
                s=Sum("amount")
            )["s"] or Decimal(0)
            assert all(type(a) is Decimal for a in amounts)
            assert sum(amounts, Decimal(0)) == total
            assert total == sum(self.expected[currency].values(), Decimal(0))

    @invariant()
    def refunds_never_exceed_what_was_paid(self):
        for code in PaymentRequest.objects.filter(merchant=self.merchant):
            refunds = Refund.objects.filter(payment_request=code)
            refunded = sum(refunds.values_list("amount", flat=True), Decimal(0))
            assert refunded == code.refunded_amount
            assert refunded <= (code.paid_amount or Decimal(0))

    @invariant()
    def khr_is_whole_riel_and_nothing_is_a_float(self):
        values = []
        for code in PaymentRequest.objects.filter(merchant=self.merchant):
            values += [
                (code.currency, code.amount),
                (code.paid_currency or code.currency, code.paid_amount),
                (code.paid_currency or code.currency, code.refunded_amount),
            ]
        values += list(
            Transaction.objects.filter(merchant=self.merchant).values_list(
                "currency", "amount"
            )
        )
        values += list(
            Refund.objects.filter(merchant=self.merchant).values_list(
                "currency", "amount"
            )
        )
        for currency, value in values:
            if value is None:
                continue
            assert not isinstance(value, float)
            assert type(value) is Decimal, (currency, value)
            if currency == "KHR":
                assert value == value.to_integral_value(), value


@pytest.mark.django_db
def test_the_ledger_and_money_invariants_hold_whatever_the_order():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
