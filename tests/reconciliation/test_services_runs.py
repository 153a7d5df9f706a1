"""A run through the database: what it loads, what it saves, and that running it
again keeps what people decided."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from freezegun import freeze_time

from merchants.models import AuditEvent
from payments.clients.bakong_types import BakongTransactionInfo
from payments.models import BakongTransaction, Refund
from payments.services.flag_settlement import flagged_payment_settle
from payments.services.settlement import bakong_transaction_apply
from reconciliation.engine import Finding
from reconciliation.models import (
    Invoice,
    Match,
    MatchItem,
    PeriodSignOff,
    ReconciliationException,
    ReconciliationRun,
)
from reconciliation.services.loading import engine_id, rows_load
from reconciliation.services.runs import _found, reconciliation_run_start
from statements.models import FeedSyncRun
from tests.factories import AccountFactory, ConnectionFactory
from tests.payments.makers import payment_request_make
from tests.statements.factories import PP, line

NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


def _run(merchant, **options):
    return reconciliation_run_start(
        merchant=merchant, date_from=NOV_1, date_to=NOV_30, **options
    )


def _invoice(merchant, number, amount, *, customer="Sok Dara", due=15, **fields):
    return Invoice.objects.create(
        merchant=merchant,
        invoice_number=number,
        customer=customer,
        amount=Decimal(amount),
        currency=fields.pop("currency", "USD"),
        issue_date=dt.date(2026, 11, 1),
        due_date=dt.date(2026, 11, due),
        source="api",
        **fields,
    )


def _on(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=PP)


@pytest.fixture
def bank(merchant):
    return AccountFactory(merchant=merchant, provider="aba", currency="USD")


@pytest.fixture
def wallet(merchant):
    return AccountFactory(
        merchant=merchant,
        provider="bakong",
        currency="USD",
        number="shop_a@wing",
        bakong_account_id="shop_a@wing",
    )


def _paid_code(merchant, wallet, amount="12.50", order="ORD-1", hash_="a" * 64):
    with freeze_time(_on(3)):
        request = payment_request_make(
            merchant=merchant, amount=amount, order_id=order, account=wallet
        )
        bakong_transaction_apply(
            payment_request_id=request.pk,
            info=BakongTransactionInfo(
                hash=hash_,
                from_account_id="payer@aclb",
                to_account_id=wallet.bakong_account_id,
                currency="USD",
                amount=Decimal(amount),
                created_date_ms=int(timezone.now().timestamp() * 1000),
                md5=request.md5,
            ),
        )
    return request


@pytest.mark.django_db
def test_a_run_saves_matches_with_both_sides_and_counts(merchant, bank):
    # given an invoice, and the bank line that names it
    invoice = _invoice(merchant, "INV-0042", "120.00")
    paid = line(bank, _on(5), "120.00", reference="PAYMENT INV-0042", external_id="T1")
    # when
    outcome = _run(merchant)
    # then
    match = Match.objects.get()
    assert (match.tier, match.rule, match.status) == (2, "reference", "auto")
    assert match.day == dt.date(2026, 11, 5)
    items = {(i.kind, i.invoice_id or i.transaction_id) for i in match.items.all()}
    assert items == {("invoice", invoice.pk), ("line", paid.pk)}
    assert outcome.run.counts["tier_2"] == 1
    assert AuditEvent.objects.filter(action="reconciliation.run").count() == 1


@pytest.mark.django_db
def test_a_paid_code_matches_the_wallet_line_settlement_posted(merchant, wallet):
    request = _paid_code(merchant, wallet)
    _run(merchant)
    match = Match.objects.get()
    assert (match.tier, match.rule, match.status) == (1, "identity.md5", "auto")
    kinds = {i.kind: i for i in match.items.all()}
    assert kinds["khqr"].payment_request_id == request.pk
    assert kinds["line"].transaction.bakong_transaction.payment_request_id == request.pk


def _late_code(merchant, wallet):
    with freeze_time(_on(3)):
        request = payment_request_make(
            merchant=merchant, amount="12.50", order_id="ORD-9", account=wallet
        )
    with freeze_time(_on(9)):  # six days after the code's 15 minutes
        bakong_transaction_apply(
            payment_request_id=request.pk,
            info=BakongTransactionInfo(
                hash="c" * 64,
                from_account_id="payer@aclb",
                to_account_id=wallet.bakong_account_id,
                currency="USD",
                amount=Decimal("12.50"),
                created_date_ms=int(timezone.now().timestamp() * 1000),
                md5=request.md5,
            ),
        )
    request.refresh_from_db()
    assert request.flag == "late"
    return request


@pytest.mark.django_db
def test_the_load_dates_codes_payments_and_refunds_by_their_local_day(merchant, wallet):
    # given a code issued, a payment made (one with Bakong's time, one only with
    # ours) and a refund sent at 00:30 in Phnom Penh: the day before in UTC
    just_after_midnight = dt.datetime(2026, 11, 2, 0, 30, tzinfo=PP)
    with freeze_time(just_after_midnight):
        request = payment_request_make(
            merchant=merchant, amount="12.50", account=wallet, expires_in=24 * 3600
        )
        refund = Refund.objects.create(
            merchant=merchant,
            payment_request=request,
            amount=Decimal("1.00"),
            currency="USD",
            bank_reference="RF-1",
        )
        stamped, unstamped = (
            BakongTransaction.objects.create(
                merchant=merchant,
                hash=letter * 64,
                short_hash=letter * 8,
                amount=Decimal("3.00"),
                currency="USD",
                outcome="matched",
                created_at_bakong=at,
            )
            for letter, at in (
                ("d", dt.datetime(2026, 11, 3, 0, 30, tzinfo=PP)),
                ("e", None),
            )
        )
    # when
    loaded = rows_load(merchant=merchant, date_from=NOV_1, date_to=NOV_30)
    # then each is on its local day, and the code's window ends on its expiry's
    assert loaded.days[f"pr:{request.pk}"] == dt.date(2026, 11, 2)
    code = next(e for e in loaded.expected if e.id == f"pr:{request.pk}")
    assert (code.date_from, code.date_to) == (
        dt.date(2026, 11, 2).toordinal(),
        dt.date(2026, 11, 3).toordinal(),
    )
    assert loaded.days[f"rf:{refund.pk}"] == dt.date(2026, 11, 2)
    assert loaded.days[f"bk:{stamped.pk}"] == dt.date(2026, 11, 3)
    assert loaded.days[f"bk:{unstamped.pk}"] == dt.date(2026, 11, 2)


@pytest.mark.django_db
def test_a_runs_exceptions_and_items_carry_their_rows_day_and_amount(merchant, bank):
    # given an invoice unpaid since its due date, a line nobody expected, and an
    # invoice paid by its line (the run saves them after its rows are let go)
    _invoice(merchant, "INV-7", "70.00", due=9)
    line(bank, _on(12), "33.00", reference="NOTHING", external_id="T33")
    invoice = _invoice(merchant, "INV-8", "80.00", due=20)
    line(bank, _on(17), "80.00", reference="INV-8", external_id="T80")
    # when
    _run(merchant)
    # then an exception is dated by its row: the invoice by its due date, the
    # line by its value date; the match's items carry their rows' amounts
    days = dict(ReconciliationException.objects.values_list("reason", "day"))
    assert days == {
        "unpaid_item": dt.date(2026, 11, 9),
        "unmatched_line": dt.date(2026, 11, 12),
    }
    match = Match.objects.get()
    assert match.day == dt.date(2026, 11, 17)
    items = {
        (item.kind, item.amount, item.currency)
        for item in MatchItem.objects.filter(match=match)
    }
    assert items == {
        ("invoice", Decimal("80.00"), "USD"),
        ("line", Decimal("80.00"), "USD"),
    }
    assert MatchItem.objects.get(match=match, kind="invoice").invoice == invoice


@pytest.mark.django_db
def test_a_run_leaves_its_callers_foreign_keys_checked_at_commit(merchant, bank):
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL defers foreign keys to the commit")
    # given a run inside the caller's transaction (it checks its own rows early)
    _run(merchant)
    # when the caller then writes a row whose parent is not there yet (a run's:
    # a match's and an item's keys are triggers checked at each statement,
    # reconciliation migration 0004)
    with transaction.atomic():
        ReconciliationRun.objects.create(
            merchant_id=10**12, period_from=_on(1).date(), period_to=_on(30).date()
        )
        # then it is accepted until the commit, as before the run
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_late_payment_is_an_exception_until_someone_accepts_it(merchant, wallet):
    request = _late_code(merchant, wallet)
    _run(merchant)
    assert ReconciliationException.objects.filter(reason="late_payment").count() == 1
    # when an accountant accepts the late money as the payment on the payment page
    flagged_payment_settle(
        merchant=merchant,
        payment_request_id=request.pk,
        resolution="accept",
        note="customer paid the next morning; goods delivered",
    )
    _run(merchant)
    # then the run trusts that decision: the money is matched, the exception gone
    assert Match.objects.get().status == "auto"
    assert not ReconciliationException.objects.filter(
        reason="late_payment", status="open"
    ).exists()


@pytest.mark.django_db
def test_running_again_replaces_proposals_and_keeps_confirmed_and_rejected(
    merchant, bank
):
    # given two proposals from a first run
    _invoice(merchant, "INV-1", "30.00", customer="Bopha Mart")
    _invoice(merchant, "INV-2", "40.00", customer="Keo Mom")
    line(bank, _on(4), "30.00", counterparty_name="BOPHA MART", external_id="T1")
    line(bank, _on(6), "40.00", counterparty_name="KEO MOM", external_id="T2")
    _run(merchant)
    first, second = Match.objects.order_by("pk")
    assert {first.status, second.status} == {"proposed"}
    # when one is confirmed, the other rejected, and the period runs again
    Match.objects.filter(pk=first.pk).update(status="confirmed")
    Match.objects.filter(pk=second.pk).update(status="rejected")
    _run(merchant)
    # then both decisions stand and nothing new pairs the rejected rows
    assert sorted(Match.objects.values_list("pk", "status")) == [
        (first.pk, "confirmed"),
        (second.pk, "rejected"),
    ]


@pytest.mark.django_db
def test_an_engine_match_is_computed_again_not_duplicated(merchant, bank):
    _invoice(merchant, "INV-1", "30.00")
    line(bank, _on(4), "30.00", reference="INV-1", external_id="T1")
    _run(merchant)
    _run(merchant)
    assert Match.objects.count() == 1
    assert MatchItem.objects.count() == 2


@pytest.mark.django_db
def test_next_months_run_keeps_this_months_engine_matches_and_their_items(
    merchant, bank
):
    # given November's invoice, paid in November and matched by November's run
    invoice = _invoice(merchant, "INV-1", "30.00", due=28)
    paid = line(bank, _on(4), "30.00", reference="INV-1", external_id="T1")
    _run(merchant)
    november = Match.objects.get()
    # and a December invoice paid in December, whose window reaches back into
    # November (December's run reads November's invoices too)
    december_invoice = Invoice.objects.create(
        merchant=merchant,
        invoice_number="INV-2",
        customer="Sok Dara",
        amount=Decimal("45.00"),
        currency="USD",
        issue_date=dt.date(2026, 12, 1),
        due_date=dt.date(2026, 12, 20),
        source="api",
    )
    line(
        bank,
        dt.datetime(2026, 12, 3, 10, tzinfo=PP),
        "45.00",
        reference="INV-2",
        external_id="T2",
    )
    # when December is reconciled
    reconciliation_run_start(
        merchant=merchant,
        date_from=dt.date(2026, 12, 1),
        date_to=dt.date(2026, 12, 31),
    )
    # then November's match stands, and its invoice is not called unpaid
    assert Match.objects.filter(pk=november.pk, status="auto").exists()
    invoice_id = engine_id("invoice", None, invoice.pk, None, None, None)
    called = [
        (e.reason, e.detail)
        for e in ReconciliationException.objects.all()
        if invoice_id in e.expected_ids
    ]
    assert called == []
    # and no item of it is used again by December's run
    assert MatchItem.objects.filter(invoice=invoice).count() == 1
    assert MatchItem.objects.filter(transaction=paid).count() == 1
    december = MatchItem.objects.get(invoice=december_invoice).match
    assert december.day == dt.date(2026, 12, 3)


@pytest.mark.django_db
def test_a_load_holds_only_the_locked_rows_it_read(merchant, bank):
    # given November's invoice and its line, matched by November's run
    invoice = _invoice(merchant, "INV-1", "30.00", due=28)
    line(bank, _on(4), "30.00", reference="INV-1", external_id="T1")
    _run(merchant)
    # when December is loaded: its lookback reads the invoice, not November's lines
    loaded = rows_load(
        merchant=merchant, date_from=dt.date(2026, 12, 1), date_to=dt.date(2026, 12, 31)
    )
    # then the invoice is held, and the line, no row of this run, is not named
    assert loaded.settings.locked == {f"inv:{invoice.pk}"}


@pytest.mark.django_db
def test_a_signed_off_month_keeps_its_matches(merchant, bank):
    _invoice(merchant, "INV-1", "30.00")
    line(bank, _on(4), "30.00", reference="INV-1", external_id="T1")
    _run(merchant)
    kept = Match.objects.get()
    PeriodSignOff.objects.create(
        merchant=merchant, month=NOV_1, signed_at=timezone.now()
    )
    _run(merchant)
    assert list(Match.objects.values_list("pk", flat=True)) == [kept.pk]


@pytest.mark.django_db
def test_exceptions_are_found_once_and_cleared_when_the_money_arrives(merchant, bank):
    # given an invoice overdue at the end of November
    _invoice(merchant, "INV-9", "50.00", due=10)
    _run(merchant)
    (unpaid,) = ReconciliationException.objects.filter(reason="unpaid_item")
    _run(merchant)
    assert ReconciliationException.objects.filter(reason="unpaid_item").count() == 1
    # when its payment shows up and the period runs again
    line(bank, _on(28), "50.00", reference="INV-9", external_id="T9")
    _run(merchant)
    # then the exception is cleared by the run, with its reason
    unpaid.refresh_from_db()
    assert (unpaid.status, unpaid.resolution) == ("resolved", "cleared")


@pytest.mark.django_db
def test_an_open_exception_found_again_stays_open_and_takes_the_new_run(merchant, bank):
    # given an unmatched line found by a first run
    line(bank, _on(7), "9.99", description="CASH DEPOSIT", external_id="T7")
    first = _run(merchant).run
    found = ReconciliationException.objects.get(reason="unmatched_line")
    assert found.run_id == first.pk

    # when the period runs again
    second = _run(merchant).run

    # then it is the same exception, still open, now carrying the second run
    found.refresh_from_db()
    assert (found.status, found.run_id) == ("open", second.pk)
    assert ReconciliationException.objects.count() == 1


@pytest.mark.django_db
def test_a_resolved_exception_stays_resolved_on_a_rerun(merchant, bank):
    line(bank, _on(7), "9.99", description="CASH DEPOSIT", external_id="T7")
    _run(merchant)
    found = ReconciliationException.objects.get(reason="unmatched_line")
    found.status, found.resolution = "resolved", "ignored"
    found.save()
    _run(merchant)
    found.refresh_from_db()
    assert (found.status, found.resolution) == ("resolved", "ignored")
    assert ReconciliationException.objects.count() == 1


@pytest.mark.django_db
def test_an_unmatched_credit_keeps_its_nearest_candidates(merchant, bank):
    _invoice(merchant, "INV-5", "80.00", customer="Chan Sophea")
    line(bank, _on(6), "80.00", description="TRANSFER", external_id="T6")
    _run(merchant)
    found = ReconciliationException.objects.get(reason="unmatched_line")
    invoice_id = f"inv:{Invoice.objects.get().pk}"
    assert [n[0] for n in found.nearest] == [invoice_id]
    assert "reference not found" in found.nearest[0][1]


@pytest.mark.django_db
def test_a_dry_run_counts_and_saves_nothing(merchant, bank):
    _invoice(merchant, "INV-1", "30.00")
    line(bank, _on(4), "30.00", reference="INV-1", external_id="T1")
    outcome = _run(merchant, dry_run=True)
    assert outcome.run.dry_run and outcome.run.counts["matched"] == 1
    assert Match.objects.count() == ReconciliationException.objects.count() == 0


@pytest.mark.django_db
def test_a_run_never_reads_another_merchants_rows(merchant, other_merchant, bank):
    theirs = AccountFactory(merchant=other_merchant, provider="aba", currency="USD")
    _invoice(other_merchant, "INV-1", "30.00")
    line(theirs, _on(4), "30.00", reference="INV-1", external_id="T1")
    _invoice(merchant, "INV-1", "30.00")
    outcome = _run(merchant)
    assert (outcome.run.expected_count, outcome.run.posted_count) == (1, 0)
    assert Match.objects.count() == 0


@pytest.mark.django_db
def test_a_feed_window_that_does_not_add_up_is_a_balance_gap(merchant, bank):
    connection = ConnectionFactory(merchant=merchant, account=bank)
    FeedSyncRun.objects.create(
        merchant=merchant,
        connection=connection,
        account=bank,
        window_start=NOV_1,
        window_end=NOV_30,
        currency="USD",
        reported_opening=Decimal("100"),
        reported_closing=Decimal("180"),
        computed_closing=Decimal("150"),
        mismatch=True,
        started_at=timezone.now(),
    )
    _run(merchant)
    gap = ReconciliationException.objects.get(reason="balance_gap")
    assert gap.amount == Decimal("30.00")
    assert "closing 180.00 USD" in gap.detail


@pytest.mark.django_db
def test_a_line_whose_rate_does_not_add_up_is_an_exception(merchant):
    thb = AccountFactory(merchant=merchant, provider="krungsri", currency="THB")
    line(
        thb,
        _on(9),
        "3500.00",
        external_id="X1",
        original_amount=Decimal("100.00"),
        original_currency="USD",
        fx_rate=Decimal("30"),
        fx_mismatch=True,
    )
    _run(merchant)
    assert ReconciliationException.objects.filter(reason="fx_mismatch").count() == 1


@pytest.mark.django_db
def test_a_period_backwards_or_longer_than_a_year_is_refused(merchant):
    from core.exceptions import InvalidInput

    with pytest.raises(InvalidInput, match="to: 2026-10-01 is before from"):
        reconciliation_run_start(
            merchant=merchant, date_from=NOV_1, date_to=dt.date(2026, 10, 1)
        )
    with pytest.raises(InvalidInput, match="at most 370 days"):
        reconciliation_run_start(
            merchant=merchant, date_from=dt.date(2025, 1, 1), date_to=NOV_30
        )
    assert ReconciliationRun.objects.count() == 0


@pytest.mark.django_db
def test_reconcile_command_prints_counts_and_writes_the_matched_pairs(
    merchant, bank, wallet, tmp_path, capsys
):
    # given an invoice paid by transfer and a paid KHQR code
    _invoice(merchant, "INV-0042", "120.00")
    transfer = line(bank, _on(5), "120.00", reference="INV-0042", external_id="FT1")
    request = _paid_code(merchant, wallet, order="")
    out = tmp_path / "matches.csv"
    # when
    call_command(
        "reconcile",
        "--merchant",
        str(merchant.pk),
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--matches",
        str(out),
        "--json",
    )
    # then
    answer = json.loads(capsys.readouterr().out)
    assert (answer["matched"], answer["tier_1"], answer["tier_2"]) == (2, 1, 1)
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["status", "rule", "expected_ref", "posted_ref", "group"]
    pairs = {(r["expected_ref"], r["posted_ref"], r["status"]) for r in rows}
    assert pairs == {
        ("INV-0042", transfer.external_id, "auto"),
        (request.md5, "a" * 64, "auto"),  # no order id: the md5; the Bakong hash
    }


@pytest.mark.django_db
def test_reconcile_command_refuses_a_bad_date_with_the_error_contract(merchant, capsys):
    with pytest.raises(SystemExit):
        call_command(
            "reconcile",
            "--merchant",
            str(merchant.pk),
            "--from",
            "01/11/2026",
            "--to",
            "2026-11-30",
            "--json",
        )
    answer = json.loads(capsys.readouterr().out)
    assert answer["error"] == "invalid_input"
    assert "from" in answer["message"]


def test_findings_of_one_key_are_written_once_as_the_last_of_them_says():
    # given the engine's sorted findings, two of them of one key (same reason
    # and rows), each dated
    first = Finding("overpaid", ("inv:1",), ("ln:1",), 100, "USD", "first word")
    again = first._replace(amount_minor=150, detail="last word")
    other = Finding("unmatched_line", (), ("ln:2",), 70, "USD", "alone")
    days = [dt.date(2025, 7, 1), dt.date(2025, 7, 2), dt.date(2025, 7, 3)]
    # when they are made into the rows the save writes
    rows = list(_found((first, again, other), days))
    # then the key comes once, with the last finding's amount, words and day
    assert [key for key, _ in rows] == [
        "overpaid:inv:1|ln:1",
        "unmatched_line:|ln:2",
    ]
    (_, (reason, amount, _, detail, day, _, _, alone)), (_, lone) = rows
    assert (reason, amount, detail, day, alone) == (
        "overpaid",
        150,
        "last word",
        dt.date(2025, 7, 2),
        "ln:1",
    )
    assert lone[4] == dt.date(2025, 7, 3) and lone[7] == "ln:2"
