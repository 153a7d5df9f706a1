"""The chain from a paid KHQR code to one ledger line: settlement posts the line of
a Bakong wallet, links the bank's own line on a bank account (whichever arrives
first), never makes two, never crosses merchants; post_bakong_lines catches up
what was settled before."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from decimal import Decimal
from io import StringIO

import httpx
import pytest
from django.core.management import call_command
from django.db import connection as db_connection

from payments.clients.bakong_types import BakongTransactionInfo
from payments.models import BakongTransaction, PaymentFlag, PaymentStatus
from payments.services.polling import payment_request_check
from payments.services.settlement import bakong_transaction_apply
from sandbox.bakong import pay
from statements.models import Source, Transaction
from statements.services.bakong_lines import bakong_lines_resync
from statements.services.feed_sync import statement_feed_sync
from statements.services.imports import statement_file_import
from statements.services.push import transaction_posted_apply
from tests.factories import AccountFactory, ConnectionFactory, TransactionFactory
from tests.payments.makers import payment_request_make
from tests.statements.ingest_files import canonical

HASH = "a" * 64
OTHER_HASH = "b" * 64
_bills = itertools.count(7)
# 23:30 in Phnom Penh on 30 November: the line is booked that local day
PAID_AT = dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)


@pytest.fixture
def wallet(merchant):
    return AccountFactory(
        merchant=merchant,
        provider="bakong",
        kind="wallet",
        currency="USD",
        number="shop_a_usd@wing",
        bakong_account_id="shop_a_usd@wing",
    )


@pytest.fixture
def bank(merchant):
    return AccountFactory(
        merchant=merchant,
        provider="hattha",
        currency="USD",
        number="0010123456",
        bakong_account_id="shop_a@hath",
    )


def info(**overrides) -> BakongTransactionInfo:
    values = {
        "hash": HASH,
        "from_account_id": "payer@aclb",
        "to_account_id": "shop_a_usd@wing",
        "currency": "USD",
        "amount": Decimal("5.00"),
        "description": "KHQR INV-7",
        "created_date_ms": int(PAID_AT.timestamp() * 1000),
        "external_ref": "FT26A1",
    }
    values.update(overrides)
    return BakongTransactionInfo(**values)


def code(merchant, account=None, **fields):
    fields.setdefault("bill_number", f"INV-{next(_bills)}")
    return payment_request_make(
        merchant=merchant, amount="5.00", currency="USD", account=account, **fields
    )


def lines_of(merchant) -> list[Transaction]:
    return list(Transaction.objects.filter(merchant=merchant).order_by("pk"))


# -- a Bakong wallet: settlement posts the line --------------------------------------


def test_a_paid_code_posts_one_bakong_line_in_the_wallet(merchant, wallet):
    # given a pending code of the wallet
    pr = code(merchant, wallet)
    # when Bakong's transaction is applied (23:30 local time)
    bakong_transaction_apply(payment_request_id=pr.pk, info=info())
    # then the wallet has exactly that movement, keyed by the Bakong hash
    (line,) = lines_of(merchant)
    bt = BakongTransaction.objects.get()
    assert line.account == wallet
    assert line.bakong_transaction == bt
    assert (line.source, line.external_id, line.bakong_hash) == ("bakong", HASH, HASH)
    assert (line.amount, line.currency, line.channel) == (
        Decimal("5.00"),
        "USD",
        "KHQR",
    )
    assert line.posted_at == PAID_AT
    assert line.value_date == dt.date(2026, 11, 30)
    assert line.counterparty_account == "payer@aclb"
    assert line.reference == pr.bill_number
    assert line.description == "KHQR INV-7"
    assert bt.payment_request == pr


def test_the_line_is_booked_on_the_local_day_after_midnight(merchant, wallet):
    pr = code(merchant, wallet)
    after_midnight = PAID_AT + dt.timedelta(hours=1)  # 00:30 on 1 December locally
    bakong_transaction_apply(
        payment_request_id=pr.pk,
        info=info(created_date_ms=int(after_midnight.timestamp() * 1000)),
    )
    assert lines_of(merchant)[0].value_date == dt.date(2026, 12, 1)


def test_applying_the_same_transaction_again_keeps_one_line(merchant, wallet):
    pr = code(merchant, wallet)
    bakong_transaction_apply(payment_request_id=pr.pk, info=info())
    bakong_transaction_apply(payment_request_id=pr.pk, info=info())
    bakong_transaction_apply(payment_request_id=pr.pk, info=info())
    assert len(lines_of(merchant)) == 1


def test_the_line_lands_in_the_wallet_named_by_the_receiving_bakong_id(merchant):
    # given two USD wallets; the code belongs to neither, Bakong names the second
    AccountFactory(merchant=merchant, provider="bakong", currency="USD")
    second = AccountFactory(
        merchant=merchant, provider="bakong", currency="USD", bakong_account_id="x@wing"
    )
    pr = code(merchant)
    # when
    bakong_transaction_apply(
        payment_request_id=pr.pk, info=info(to_account_id="x@wing")
    )
    # then
    assert lines_of(merchant)[0].account == second


def test_a_payment_in_a_currency_no_account_holds_posts_no_line(merchant, wallet):
    # given only a USD wallet, and a KHR code paid to an unknown Bakong id
    pr = payment_request_make(merchant=merchant, amount="20000", currency="KHR")
    # when
    paid = bakong_transaction_apply(
        payment_request_id=pr.pk,
        info=info(currency="KHR", amount=Decimal("20000"), to_account_id="z@wing"),
    )
    # then the payment is settled and recorded, with no line to put it in
    assert paid.status == PaymentStatus.PAID
    assert BakongTransaction.objects.count() == 1
    assert lines_of(merchant) == []


@pytest.mark.parametrize(
    ("changes", "flag"),
    [
        ({"amount": Decimal("4.00")}, PaymentFlag.AMOUNT_MISMATCH),
        ({"hash": OTHER_HASH, "created_date_ms": None}, PaymentFlag.LATE),
    ],
)
def test_money_that_does_not_settle_the_code_still_is_a_line(
    merchant, wallet, changes, flag
):
    # given a code (for the late case: already expired)
    pr = code(merchant, wallet)
    if flag == PaymentFlag.LATE:
        pr.status = PaymentStatus.EXPIRED
        pr.save(update_fields=["status"])
    # when money arrives that is flagged
    flagged = bakong_transaction_apply(payment_request_id=pr.pk, info=info(**changes))
    # then it arrived all the same: one line of what was paid
    assert flagged.flag == flag
    (line,) = lines_of(merchant)
    assert line.amount == changes.get("amount", Decimal("5.00"))
    assert line.bakong_transaction.outcome == flag


def test_a_second_distinct_payment_is_recorded_flagged_and_posted(merchant, wallet):
    # given a paid code
    pr = code(merchant, wallet)
    bakong_transaction_apply(payment_request_id=pr.pk, info=info())
    # when the customer pays the same code again (another Bakong transaction)
    again = bakong_transaction_apply(
        payment_request_id=pr.pk, info=info(hash=OTHER_HASH)
    )
    # then it is kept as a duplicate payment: recorded, flagged, and in the ledger
    assert again.status == PaymentStatus.PAID
    assert again.flag == PaymentFlag.DUPLICATE
    duplicate = BakongTransaction.objects.get(hash=OTHER_HASH)
    assert duplicate.outcome == BakongTransaction.Outcome.DUPLICATE
    assert [line.external_id for line in lines_of(merchant)] == [HASH, OTHER_HASH]
    assert duplicate.ledger_line.amount == Decimal("5.00")


def test_a_wallet_line_already_imported_with_the_hash_is_linked_not_doubled(
    merchant, wallet
):
    # given the wallet's statement file brought the movement first
    imported = TransactionFactory(
        account=wallet, external_id="W-0001", bakong_hash=HASH, source="file"
    )
    pr = code(merchant, wallet)
    # when settlement records it
    bakong_transaction_apply(payment_request_id=pr.pk, info=info())
    # then that line is the movement's line
    assert lines_of(merchant) == [imported]
    imported.refresh_from_db()
    assert imported.bakong_transaction == BakongTransaction.objects.get()


def test_the_wallets_file_after_settlement_adds_no_second_line_for_the_hash(
    merchant, wallet
):
    # given a paid code whose Bakong line settlement posted in the wallet
    pr = code(merchant, wallet)
    bakong_transaction_apply(payment_request_id=pr.pk, info=info())
    # when the wallet's statement file lists that movement under its own id, with
    # the hash (found by tests/adversarial/test_ledger_state_machine.py)
    result = statement_file_import(
        account=wallet,
        file_bytes=canonical(
            [
                {
                    "txn_id": "W-0001",
                    "posted_at": "2026-11-30T23:30:00+07:00",
                    "amount": "5.00",
                    "currency": "USD",
                    "bakong_hash": HASH,
                },
                {
                    "txn_id": "W-0002",
                    "posted_at": "2026-11-30T23:40:00+07:00",
                    "amount": "7.00",
                    "currency": "USD",
                },
            ]
        ),
        filename="wallet.csv",
    )
    # then the movement stays one line (the wallet's balance counts it once) and
    # the file's other line is in
    assert (result.inserted, result.skipped, result.errors) == (1, 1, [])
    assert [line.external_id for line in lines_of(merchant)] == [HASH, "W-0002"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_settling_one_payment_post_one_line(merchant, wallet):
    pr = code(merchant, wallet)
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            barrier.wait(timeout=10)
            bakong_transaction_apply(payment_request_id=pr.pk, info=info())
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len(lines_of(merchant)) == 1


def test_poll_then_webhook_then_poll_again_keep_one_line(
    merchant, wallet, sandbox_bakong
):
    # given a code the sandbox's payer paid
    from payments.models import InboundEvent
    from payments.services.webhooks_in import inbound_event_process

    pr = code(merchant, wallet)
    tx = pay(md5=pr.md5)
    # when the poller settles it, the gateway's webhook reports it too, and a
    # forced check asks again
    payment_request_check(payment_request_id=pr.pk, access=sandbox_bakong, force=True)
    gateway = ConnectionFactory(
        account=wallet, provider="khqr_gateway", credentials={"webhook_secret": "s"}
    )
    event = InboundEvent.objects.create(
        merchant=merchant,
        connection=gateway,
        delivery_id="d-1",
        event_type="transaction.paid",
        raw_body=json.dumps(
            {
                "event": "transaction.paid",
                "md5": pr.md5,
                "amount": "5.00",
                "currency": "USD",
                "transaction_id": tx.hash,
            }
        ),
    )
    processed = inbound_event_process(inbound_event_id=event.pk, access=sandbox_bakong)
    payment_request_check(payment_request_id=pr.pk, access=sandbox_bakong, force=True)
    # then one movement, one line
    assert processed.status == InboundEvent.Status.PROCESSED
    (line,) = lines_of(merchant)
    assert line.external_id == tx.hash
    assert line.bakong_transaction.payment_request == pr


# -- a bank account: the bank's own line is linked -----------------------------------


def bank_info(**overrides) -> BakongTransactionInfo:
    return info(to_account_id="shop_a@hath", **overrides)


def push(bank, **changes) -> dict:
    payload = {
        "acct_id": bank.number,
        "direction": "CREDIT",
        "amount": "5.00",
        "ccy": "USD",
        "channel": "KHQR",
        "ref": "KHQR-77",
        "occurred_at": "2026-11-30T23:31:00+07:00",
        "bakong_hash": HASH,
    }
    payload.update(changes)
    return payload


def feed_transport(items: list[dict]) -> httpx.MockTransport:
    """A bank feed holding these items (every window answers the same page)."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 1800})
        return httpx.Response(
            200,
            json={
                "opening_balance": None,
                "closing_balance": None,
                "page": 1,
                "pages": 1,
                "items": items,
            },
        )

    return httpx.MockTransport(answer)


def feed_item(**changes) -> dict:
    item = {
        "txn_id": "T-KHQR-1",
        "posted_at": "2026-11-30T23:31:00+07:00",
        "amount": "5.00",
        "ccy": "USD",
        "channel": "KHQR",
        "counterparty": "Sok Dara",
        "bakong_trace": HASH,
        "ref": "INV-7",
        "status": "SUCCESS",
    }
    item.update(changes)
    return item


def arrive_by_push(bank) -> None:
    gateway = ConnectionFactory(account=bank, merchant=bank.merchant)
    transaction_posted_apply(connection=gateway, payload=push(bank))


def arrive_by_feed(bank) -> None:
    feed = ConnectionFactory(account=bank, merchant=bank.merchant)
    statement_feed_sync(
        connection_id=feed.pk,
        date_from=dt.date(2026, 11, 30),
        date_to=dt.date(2026, 11, 30),
        transport=feed_transport([feed_item()]),
    )


def arrive_by_file(bank) -> None:
    data = canonical(
        [
            {
                "txn_id": "F-1",
                "posted_at": "2026-11-30T23:31:00+07:00",
                "amount": "5.00",
                "currency": "USD",
                "bakong_hash": HASH,
            },
            {
                "txn_id": "F-2",
                "posted_at": "2026-11-30T23:40:00+07:00",
                "amount": "9.00",
                "currency": "USD",
            },
        ]
    )
    statement_file_import(account=bank, file_bytes=data, filename="hattha.csv")


ARRIVALS = {"push": arrive_by_push, "feed": arrive_by_feed, "file": arrive_by_file}


@pytest.mark.parametrize("others", [0, 3])  # the linker reads the smaller side
@pytest.mark.parametrize("arrival", sorted(ARRIVALS))
def test_bakong_first_then_the_banks_line_links_it(merchant, bank, arrival, others):
    # given a code paid into the bank account: settlement posts nothing there
    # (among other payments whose bank lines have not come)
    for n in range(others):
        other = code(merchant, bank)
        bakong_transaction_apply(
            payment_request_id=other.pk, info=bank_info(hash=f"{n}" * 64)
        )
    pr = code(merchant, bank)
    bakong_transaction_apply(payment_request_id=pr.pk, info=bank_info())
    assert lines_of(merchant) == []
    # when the bank's own line arrives
    ARRIVALS[arrival](bank)
    # then that line is the movement's one line
    (line,) = [line for line in lines_of(merchant) if line.bakong_hash == HASH]
    assert line.source == arrival
    assert line.bakong_transaction == BakongTransaction.objects.get(hash=HASH)
    assert line.bakong_transaction.payment_request == pr
    assert Transaction.objects.filter(source=Source.BAKONG).count() == 0


@pytest.mark.parametrize("arrival", sorted(ARRIVALS))
def test_the_banks_line_first_then_bakong_links_it(merchant, bank, arrival):
    # given the bank's line is in the ledger
    ARRIVALS[arrival](bank)
    before = len(lines_of(merchant))
    # when the code's payment is settled
    pr = code(merchant, bank)
    bakong_transaction_apply(payment_request_id=pr.pk, info=bank_info())
    # then no line is added and the bank's line is linked
    assert len(lines_of(merchant)) == before
    line = Transaction.objects.get(bakong_hash=HASH)
    assert line.bakong_transaction.payment_request == pr


def test_a_push_without_the_hash_is_linked_once_the_feed_confirms_it(merchant, bank):
    # given the payment settled, and the bank's push of it that names no hash
    pr = code(merchant, bank)
    bakong_transaction_apply(payment_request_id=pr.pk, info=bank_info())
    gateway = ConnectionFactory(account=bank, merchant=merchant)
    pushed, _ = transaction_posted_apply(
        connection=gateway, payload=push(bank, ref="INV-7", bakong_hash="")
    )
    # when the feed brings the same movement, with its Bakong trace
    arrive_by_feed(bank)
    # then the push's line (confirmed, not doubled) carries the hash and is linked
    (line,) = lines_of(merchant)
    assert line == pushed
    assert line.bakong_hash == HASH
    assert line.bakong_transaction.payment_request == pr


def test_a_bank_line_is_linked_by_bakongs_reference_or_short_hash(merchant, bank):
    # given two bank lines: one carries Bakong's external reference, one the
    # short hash (with the same amount)
    by_ref = TransactionFactory(account=bank, bakong_hash="FT26A1", source="feed")
    by_short = TransactionFactory(
        account=bank, bakong_hash=OTHER_HASH[:8], amount=Decimal("7.00"), source="feed"
    )
    first, second = code(merchant, bank), code(merchant, bank)
    # when both codes' payments are settled
    bakong_transaction_apply(payment_request_id=first.pk, info=bank_info())
    bakong_transaction_apply(
        payment_request_id=second.pk,
        info=bank_info(hash=OTHER_HASH, amount=Decimal("7.00"), external_ref=""),
    )
    # then each line is linked to its own transaction
    by_ref.refresh_from_db()
    by_short.refresh_from_db()
    assert by_ref.bakong_transaction.hash == HASH
    assert by_short.bakong_transaction.hash == OTHER_HASH


def test_a_short_hash_with_another_amount_is_not_linked(merchant, bank):
    line = TransactionFactory(
        account=bank, bakong_hash=HASH[:8], amount=Decimal("6.00"), source="feed"
    )
    pr = code(merchant, bank)
    bakong_transaction_apply(payment_request_id=pr.pk, info=bank_info(external_ref=""))
    line.refresh_from_db()
    assert line.bakong_transaction is None


def test_linking_never_crosses_merchants(merchant, other_merchant, bank):
    # given another merchant's bank line that carries the same hash
    theirs = AccountFactory(merchant=other_merchant, currency="USD", number="0099")
    foreign = TransactionFactory(account=theirs, bakong_hash=HASH, source="feed")
    for n in range(2):  # payments of its own (the linker then asks by key)
        own = code(other_merchant, theirs)
        bakong_transaction_apply(
            payment_request_id=own.pk,
            info=info(hash=f"{n + 5}" * 64, to_account_id="b@wing", external_ref=""),
        )
    pr = code(merchant, bank)
    # when this merchant's payment is settled, and the other's feed line arrives
    bakong_transaction_apply(payment_request_id=pr.pk, info=bank_info())
    arrive_by_push(theirs)
    # then neither of the other merchant's lines is linked to it
    assert not Transaction.objects.filter(
        merchant=other_merchant, bakong_transaction__isnull=False
    ).exists()
    foreign.refresh_from_db()
    assert foreign.bakong_transaction is None


def test_a_bank_line_already_linked_is_not_taken_by_a_second_transaction(
    merchant, bank
):
    # given a bank line carrying Bakong's reference, linked to the first payment
    line = TransactionFactory(account=bank, bakong_hash="FT26A1", source="feed")
    first = code(merchant, bank)
    bakong_transaction_apply(payment_request_id=first.pk, info=bank_info())
    # when a second transaction names the same reference
    second = code(merchant, bank)
    bakong_transaction_apply(
        payment_request_id=second.pk, info=bank_info(hash=OTHER_HASH)
    )
    # then the line stays the first one's, and the second waits for its own
    line.refresh_from_db()
    assert line.bakong_transaction.hash == HASH
    assert not Transaction.objects.filter(bakong_transaction__hash=OTHER_HASH).exists()


# -- catching up: post_bakong_lines ---------------------------------------------------


def recorded_before_the_ledger_heard(merchant, account, hash_: str, **fields):
    """A BakongTransaction as a deployment recorded it before settlement wrote
    the ledger: no line."""
    pr = code(merchant, account)
    values = {
        "merchant": merchant,
        "payment_request": pr,
        "hash": hash_,
        "short_hash": hash_[:8],
        "md5": pr.md5,
        "from_account_id": "payer@aclb",
        "to_account_id": account.bakong_account_id,
        "amount": Decimal("5.00"),
        "currency": "USD",
        "created_at_bakong": PAID_AT,
        "outcome": "matched",
    }
    values.update(fields)
    return BakongTransaction.objects.create(**values)


def run_json(*args) -> dict:
    out = StringIO()
    call_command("post_bakong_lines", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_post_bakong_lines_posts_and_links_what_was_settled_before(
    merchant, wallet, bank
):
    # given three recorded payments without lines: one into the wallet, one into
    # the bank whose line is there, one into the bank whose line is not
    posted = recorded_before_the_ledger_heard(merchant, wallet, HASH)
    linked = recorded_before_the_ledger_heard(merchant, bank, OTHER_HASH)
    TransactionFactory(account=bank, bakong_hash=OTHER_HASH, source="feed")
    recorded_before_the_ledger_heard(merchant, bank, "c" * 64)
    # when
    first = run_json()
    second = run_json()
    # then
    assert first == {"posted": 1, "linked": 1, "skipped": 1}
    assert second == {"posted": 0, "linked": 0, "skipped": 1}
    assert posted.ledger_line.source == "bakong"
    assert linked.ledger_line.source == "feed"
    assert Transaction.objects.filter(merchant=merchant).count() == 2


def test_post_bakong_lines_for_one_merchant_leaves_the_others(
    merchant, other_merchant, wallet
):
    theirs = AccountFactory(
        merchant=other_merchant,
        provider="bakong",
        currency="USD",
        bakong_account_id="shop_b@wing",
    )
    recorded_before_the_ledger_heard(merchant, wallet, HASH)
    recorded_before_the_ledger_heard(other_merchant, theirs, OTHER_HASH)
    assert run_json("--merchant", str(merchant.pk)) == {
        "posted": 1,
        "linked": 0,
        "skipped": 0,
    }
    assert not Transaction.objects.filter(merchant=other_merchant).exists()
    assert bakong_lines_resync() == {"posted": 1, "linked": 0, "skipped": 0}


def test_post_bakong_lines_names_an_unknown_merchant(db):
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("post_bakong_lines", "--merchant", "999", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "error": "not_found",
        "message": "merchant 999 does not exist",
    }


def test_a_file_with_more_hashes_than_one_look_up_asks_links_each_line(
    merchant, bank, monkeypatch
):
    # given six settled payments into the bank account (no bank line yet), and a
    # linker that asks the hashes two at a time
    from statements.services import bakong_lines

    monkeypatch.setattr(bakong_lines, "PROBE_BATCH", 2)
    settled = {}
    for n in range(1, 7):
        pr = code(merchant, bank)
        bakong_transaction_apply(
            payment_request_id=pr.pk,
            info=bank_info(hash=f"{n}" * 64, external_ref="", amount=Decimal(n)),
        )
        settled[n] = BakongTransaction.objects.get(hash=f"{n}" * 64)
    # when the bank's file brings five of them: three full hashes, one short hash
    # (with its amount), and a hash Bakong never recorded
    carried = {1: "1" * 64, 3: "3" * 64, 5: "5" * 64, 6: "6" * 8, 7: "f" * 64}
    rows = [
        {
            "txn_id": f"B-{n}",
            "posted_at": "2026-11-30T23:40:00+07:00",
            "amount": f"{n}.00",
            "currency": "USD",
            "bakong_hash": key,
        }
        for n, key in carried.items()
    ]
    result = statement_file_import(
        account=bank, file_bytes=canonical(rows), filename="hattha.csv"
    )
    # then each line is linked to its own transaction, in whichever look-up it
    # fell, and the unknown hash's line to none
    assert result.inserted == 5
    linked = dict(
        Transaction.objects.filter(account=bank).values_list(
            "external_id", "bakong_transaction"
        )
    )
    assert linked == {
        "B-1": settled[1].pk,
        "B-3": settled[3].pk,
        "B-5": settled[5].pk,
        "B-6": settled[6].pk,
        "B-7": None,
    }
