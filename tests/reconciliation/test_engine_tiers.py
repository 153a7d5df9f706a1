"""The engine tier by tier, on rows written by hand: what each tier decides, with
which status, and what it leaves for a person."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from reconciliation.engine import (
    INVOICE,
    KHQR,
    REFUND,
    Expected,
    FxLeg,
    Posted,
    Settings,
    reconcile,
)
from reconciliation.engine.refs import party_key

NOV_1 = dt.date(2026, 11, 1)


def day(n: int) -> int:
    """Day n of November 2026 as the engine counts days."""
    return (NOV_1 + dt.timedelta(days=n - 1)).toordinal()


def invoice(
    pk,
    number,
    amount,
    *,
    customer="Sok Dara Trading",
    currency="USD",
    issued=1,
    due=15,
    account="",
):
    return Expected(
        id=f"inv:{pk}",
        kind=INVOICE,
        ref_keys=(number,),
        amount_minor=amount,
        currency=currency,
        date_from=day(issued),
        date_to=day(due),
        counterparty=customer,
        counterparty_account=account,
        label=number,
    )


def code(
    pk, md5, amount, *, currency="USD", on=3, hashes=(), order="", bill="", flags=()
):
    return Expected(
        id=f"pr:{pk}",
        kind=KHQR,
        ref_keys=tuple(k for k in (order, bill) if k),
        amount_minor=amount,
        currency=currency,
        date_from=day(on),
        date_to=day(on),
        identity=(f"md5:{md5}", *(f"hash:{h}" for h in hashes)),
        flags=flags,
    )


def line(
    pk,
    amount,
    text="",
    *,
    on=5,
    currency="USD",
    payer="",
    account="",
    hash="",
    identity=(),
    fx=None,
    fx_mismatch=False,
):
    return Posted(
        id=f"ln:{pk}",
        ref_text=text,
        amount_minor=amount,
        currency=currency,
        day=day(on),
        counterparty=payer,
        counterparty_account=account,
        hash=hash,
        identity=identity,
        fx=fx,
        fx_mismatch=fx_mismatch,
        label=f"T{pk}",
    )


def only_match(result):
    assert len(result.matches) == 1, result.matches
    return result.matches[0]


def reasons(result):
    return sorted((f.reason, f.expected_ids, f.posted_ids) for f in result.findings)


HASH_A = "a" * 64
HASH_B = "b" * 64


# -- tier 1 ---------------------------------------------------------------------


def test_identity_by_md5_is_automatic_when_amount_and_currency_agree():
    # given a code and the wallet line its Bakong payment posted
    expected = [code(1, "f" * 32, 1250, hashes=[HASH_A])]
    posted = [line(1, 1250, "KHQR", on=3, identity=("md5:" + "f" * 32,))]
    # when
    match = only_match(reconcile(expected, posted))
    # then
    assert (match.tier, match.rule, match.status, match.score) == (
        1,
        "identity.md5",
        "auto",
        100,
    )
    assert match.difference == 0


def test_identity_by_a_printed_hash_on_an_unlinked_bank_line():
    expected = [code(1, "f" * 32, 1250, hashes=[HASH_A])]
    posted = [line(1, 1250, "KHQR PAYMENT", on=4, hash=HASH_A.upper())]
    match = only_match(reconcile(expected, posted))
    assert (match.rule, match.status) == ("identity.hash", "auto")


def test_identity_by_short_hash_needs_the_same_amount_and_currency():
    expected = [code(1, "f" * 32, 1250, hashes=[HASH_A])]
    right = [line(1, 1250, on=3, hash=HASH_A[:8])]
    wrong_amount = [line(1, 1300, on=3, hash=HASH_A[:8])]
    assert only_match(reconcile(expected, right)).rule == "identity.short"
    assert reconcile(expected, wrong_amount).matches == ()


def test_identity_with_another_amount_is_proposed_with_an_underpaid_exception():
    expected = [code(1, "f" * 32, 2000)]
    posted = [line(1, 1000, on=3, identity=("md5:" + "f" * 32,))]
    result = reconcile(expected, posted)
    match = only_match(result)
    assert (match.status, match.difference) == ("proposed", -1000)
    assert reasons(result) == [("underpaid", ("pr:1",), ("ln:1",))]


def test_identity_in_another_currency_is_a_currency_mismatch():
    expected = [code(1, "f" * 32, 1000, currency="USD")]
    posted = [line(1, 4_010_000, on=3, currency="KHR", identity=("md5:" + "f" * 32,))]
    result = reconcile(expected, posted)
    assert only_match(result).status == "proposed"
    assert [f.reason for f in result.findings] == ["currency_mismatch"]


def test_a_second_payment_of_one_code_is_a_duplicate_not_a_second_match():
    expected = [code(1, "f" * 32, 1250)]
    posted = [
        line(1, 1250, on=3, identity=("md5:" + "f" * 32, f"hash:{HASH_A}")),
        line(2, 1250, on=6, identity=("md5:" + "f" * 32, f"hash:{HASH_B}")),
    ]
    result = reconcile(expected, posted)
    assert only_match(result).posted_ids == ("ln:1",)  # the earlier one pays it
    assert reasons(result) == [("duplicate_payment", ("pr:1",), ("ln:2",))]
    assert not any(u.id == "ln:2" for u in result.unmatched)


def test_a_code_paid_after_expiry_is_matched_and_flagged_late():
    expected = [code(1, "f" * 32, 1250, on=3, flags=("late",))]
    posted = [line(1, 1250, on=3, identity=("md5:" + "f" * 32,))]
    result = reconcile(expected, posted)
    assert only_match(result).expected_ids == ("pr:1",)
    assert [f.reason for f in result.findings] == ["late_payment"]


def test_an_invoice_paid_by_the_khqr_code_issued_for_it_joins_the_code_match():
    # given a code whose bill number is an invoice's number
    expected = [
        code(1, "f" * 32, 5000, bill="INV-0042", order="ORD-1"),
        invoice(7, "INV-0042", 5000),
    ]
    posted = [line(1, 5000, "INV-0042 KHQR", on=3, identity=("md5:" + "f" * 32,))]
    # when
    match = only_match(reconcile(expected, posted))
    # then the invoice is not left unpaid: code and invoice share the line
    assert set(match.expected_ids) == {"pr:1", "inv:7"}
    assert match.difference == 0
    assert "was issued for INV-0042" in match.reason


# -- tiers 2 and 3 ----------------------------------------------------------------


def test_a_reference_found_in_the_text_with_the_same_amount_is_automatic():
    expected = [invoice(1, "INV-2026-00042", 12_000)]
    posted = [line(1, 12_000, "TRF FROM SOK DARA inv 2026/0042 thanks")]
    match = only_match(reconcile(expected, posted))
    assert (match.tier, match.rule, match.status) == (2, "reference", "auto")


@pytest.mark.parametrize(
    "text", ["INV-T1105-0 PromptPay from Srey Mom", "pay inv.t1105/0", "INV-T1105-0"]
)
def test_a_reference_with_letters_inside_its_parts_is_found_printed_whole(text):
    # a part like "T1105" is neither a prefix nor a number: the reference is
    # found as it was printed, glue and all
    expected = [invoice(1, "INV-T1105-0", 12_000)]
    posted = [line(1, 12_000, text)]
    match = only_match(reconcile(expected, posted))
    assert (match.tier, match.rule, match.status) == (2, "reference", "auto")


def test_a_reference_outside_the_window_is_only_proposed():
    expected = [invoice(1, "INV-0042", 12_000, issued=1, due=5)]
    posted = [line(1, 12_000, "INV-0042", on=29)]  # past due + 7 days
    match = only_match(reconcile(expected, posted))
    assert (match.tier, match.status) == (2, "proposed")


def test_a_bank_fee_within_tolerance_is_proposed_with_its_difference():
    expected = [invoice(1, "INV-0042", 50_000)]  # USD 500.00: fee up to 5.00
    posted = [line(1, 49_550, "PAYMENT INV-0042")]
    match = only_match(reconcile(expected, posted))
    assert (match.tier, match.rule, match.status) == (3, "reference.fee", "proposed")
    assert match.difference == -450


def test_a_difference_beyond_the_fee_tolerance_is_a_part_payment():
    expected = [invoice(1, "INV-0042", 50_000)]
    posted = [line(1, 20_000, "PAYMENT INV-0042")]
    result = reconcile(expected, posted)
    match = only_match(result)
    assert (match.rule, match.status, match.difference) == (
        "reference.partial",
        "proposed",
        -30_000,
    )
    assert reasons(result) == [("underpaid", ("inv:1",), ("ln:1",))]


def test_the_khr_fee_floor_is_4000_riel():
    expected = [invoice(1, "INV-9", 10_000_000, currency="KHR")]  # 100,000 riel
    within = [line(1, 10_000_000 - 400_000, "INV-9", currency="KHR")]
    beyond = [line(1, 10_000_000 - 400_100, "INV-9", currency="KHR")]
    assert only_match(reconcile(expected, within)).tier == 3
    assert only_match(reconcile(expected, beyond)).rule == "reference.partial"


# -- tier 4 -----------------------------------------------------------------------


def test_same_amount_in_the_window_from_the_customers_name_is_proposed():
    expected = [invoice(1, "INV-1", 30_000, customer="Bopha Mart Co., Ltd.")]
    posted = [line(1, 30_000, "TRANSFER", payer="BOPHA MART")]
    match = only_match(reconcile(expected, posted))
    assert (match.tier, match.rule, match.status) == (4, "amount_date.name", "proposed")


def test_a_payer_accountants_confirmed_is_matched_automatically():
    expected = [invoice(1, "INV-1", 30_000, customer="Bopha Mart")]
    posted = [line(1, 30_000, "TRANSFER", payer="MRS BOPHA")]
    aliases = {party_key("MRS BOPHA"): party_key("Bopha Mart")}
    match = only_match(reconcile(expected, posted, Settings(aliases=aliases)))
    assert (match.rule, match.status) == ("amount_date.alias", "auto")


def test_a_stranger_paying_the_amount_is_a_suggestion_not_a_match():
    expected = [invoice(1, "INV-1", 30_000, customer="Bopha Mart")]
    posted = [line(1, 30_000, "TRANSFER", payer="SOMEONE ELSE")]
    result = reconcile(expected, posted)
    assert result.matches == ()
    why = dict(next(u.nearest for u in result.unmatched if u.id == "inv:1"))
    assert "ln:1" in why
    assert "reference not found" in why["ln:1"]


def test_a_reference_with_a_typo_and_the_exact_amount_is_proposed():
    expected = [invoice(1, "INV-2026-00142", 30_000, customer="Bopha Mart")]
    posted = [line(1, 30_000, "PAYMENT INV-2026-00124")]  # 42 typed as 24
    match = only_match(reconcile(expected, posted))
    assert (match.rule, match.status) == ("amount_date.typo", "proposed")


def test_two_customers_fitting_equally_leave_the_line_to_a_person():
    expected = [
        invoice(1, "INV-1", 30_000, customer="Bopha Mart"),
        invoice(2, "INV-2", 30_000, customer="Bopha Mart"),
    ]
    posted = [line(1, 30_000, "TRANSFER", payer="Bopha Mart")]
    assert reconcile(expected, posted).matches == ()


# -- tier 5 -----------------------------------------------------------------------


def test_one_line_naming_three_invoices_pays_them_as_a_group():
    expected = [
        invoice(1, "INV-11", 10_000),
        invoice(2, "INV-12", 20_000),
        invoice(3, "INV-13", 5_050),
    ]
    posted = [line(1, 35_050, "PAYMENT INV-11, INV-12, INV-13")]
    match = only_match(reconcile(expected, posted))
    assert (match.tier, match.rule, match.status) == (5, "group.references", "proposed")
    assert set(match.expected_ids) == {"inv:1", "inv:2", "inv:3"}
    assert match.difference == 0


def test_instalments_naming_one_invoice_add_up_to_it():
    expected = [invoice(1, "INV-77", 100_000)]
    posted = [
        line(1, 30_000, "INV-77 part 1", on=3),
        line(2, 45_000, "INV-77 part 2", on=9),
        line(3, 25_000, "INV-77 part 3", on=14),
    ]
    match = only_match(reconcile(expected, posted))
    assert (match.rule, set(match.posted_ids)) == (
        "group.instalments",
        {"ln:1", "ln:2", "ln:3"},
    )


def test_one_payment_of_a_customers_open_invoices_without_references():
    expected = [
        invoice(1, "INV-1", 12_500, customer="Keo Mom", account="001-222"),
        invoice(2, "INV-2", 7_500, customer="Keo Mom", account="001-222"),
        invoice(3, "INV-3", 9_900, customer="Keo Mom", account="001-222"),
    ]
    posted = [line(1, 20_000, "TRANSFER", payer="KEO MOM", account="001222")]
    match = only_match(reconcile(expected, posted))
    assert (match.rule, set(match.expected_ids)) == (
        "group.customer",
        {"inv:1", "inv:2"},
    )


def test_an_invoice_paid_twice_in_full_is_one_match_and_one_duplicate():
    expected = [invoice(1, "INV-5", 40_000)]
    posted = [line(1, 40_000, "INV-5", on=4), line(2, 40_000, "INV-5", on=8)]
    result = reconcile(expected, posted)
    assert only_match(result).posted_ids == ("ln:1",)
    assert reasons(result) == [("duplicate_payment", ("inv:1",), ("ln:2",))]


def test_overpaying_by_reference_is_proposed_with_an_overpaid_exception():
    expected = [invoice(1, "INV-5", 40_000)]
    posted = [line(1, 90_000, "INV-5")]
    result = reconcile(expected, posted)
    assert only_match(result).rule == "reference.overpaid"
    assert reasons(result) == [("overpaid", ("inv:1",), ("ln:1",))]


# -- tier 6 -----------------------------------------------------------------------


def test_a_baht_line_whose_original_amount_is_the_usd_invoice():
    expected = [invoice(1, "INV-9", 100_000, customer="Somchai Co")]
    fx = FxLeg(original_minor=100_000, original_currency="USD", rate="35.0000")
    posted = [line(1, 3_500_000, "CROSSBORDER", currency="THB", fx=fx)]
    match = only_match(reconcile(expected, posted))
    assert (match.tier, match.rule, match.status, match.difference) == (
        6,
        "fx.line",
        "proposed",
        0,
    )


def test_a_baht_line_without_its_own_rate_uses_the_days_rate_when_named():
    expected = [invoice(1, "INV-9", 100_000)]
    posted = [line(1, 3_510_000, "QR INV-9", currency="THB", on=5)]
    rates = {(day(4), "USD", "THB"): "35.05"}
    match = only_match(reconcile(expected, posted, Settings(rates=rates)))
    assert (match.tier, match.rule) == (6, "fx.day_rate")
    assert "2026-11-04" in match.reason  # it says which day's rate it used


def test_a_days_rate_older_than_a_week_is_not_used():
    expected = [invoice(1, "INV-9", 100_000)]
    posted = [line(1, 3_510_000, "QR INV-9", currency="THB", on=20)]
    rates = {(day(4), "USD", "THB"): "35.05"}
    assert reconcile(expected, posted, Settings(rates=rates)).matches == ()


# -- refunds, exceptions, decisions ----------------------------------------------------


def test_a_refund_matches_the_debit_with_its_bank_reference():
    refund = Expected(
        id="rf:1",
        kind=REFUND,
        ref_keys=("RF12345678",),
        amount_minor=-1250,
        currency="USD",
        date_from=day(6),
        date_to=day(6),
    )
    expected = [code(1, "f" * 32, 1250), refund._replace(refunds="pr:1")]
    posted = [
        line(1, 1250, on=3, identity=("md5:" + "f" * 32,)),
        line(2, -1250, "Refund RF12345678", on=7),
    ]
    result = reconcile(expected, posted)
    assert {m.expected_ids for m in result.matches} == {("pr:1",), ("rf:1",)}
    assert result.findings == ()


def test_a_refund_of_a_code_never_paid_is_refund_without_payment():
    refund = Expected(
        id="rf:1",
        kind=REFUND,
        ref_keys=("RF1",),
        amount_minor=-1250,
        currency="USD",
        date_from=day(6),
        date_to=day(6),
        refunds="pr:1",
    )
    result = reconcile([code(1, "f" * 32, 1250), refund], [])
    assert ("refund_without_payment", ("rf:1", "pr:1"), ()) in reasons(result)


def test_overdue_invoices_and_unexplained_credits_are_exceptions_debits_are_not():
    expected = [invoice(1, "INV-1", 10_000, due=10)]
    posted = [line(1, 777, "CASH DEPOSIT"), line(2, -5_000, "SUPPLIER")]
    result = reconcile(expected, posted, Settings(as_of=day(30)))
    assert reasons(result) == [
        ("unmatched_line", (), ("ln:1",)),
        ("unpaid_item", ("inv:1",), ()),
    ]
    with_debits = reconcile(
        expected, posted, Settings(as_of=day(30), debits_are_exceptions=True)
    )
    assert ("unmatched_line", (), ("ln:2",)) in reasons(with_debits)


def test_an_invoice_still_inside_its_window_is_not_yet_an_exception():
    result = reconcile(
        [invoice(1, "INV-1", 10_000, due=28)], [], Settings(as_of=day(30))
    )
    assert result.findings == ()


def test_a_line_whose_rate_does_not_add_up_is_an_fx_mismatch_even_when_matched():
    expected = [invoice(1, "INV-9", 100_000)]
    fx = FxLeg(original_minor=100_000, original_currency="USD", rate="35")
    posted = [line(1, 3_500_000, "INV-9", currency="THB", fx=fx, fx_mismatch=True)]
    result = reconcile(expected, posted)
    assert len(result.matches) == 1
    assert [f.reason for f in result.findings] == ["fx_mismatch"]


def test_a_rejected_pair_is_never_proposed_again():
    expected = [invoice(1, "INV-1", 30_000, customer="Bopha Mart")]
    posted = [line(1, 30_000, "TRANSFER", payer="Bopha Mart")]
    result = reconcile(
        expected, posted, Settings(rejected=frozenset({("inv:1", "ln:1")}))
    )
    assert result.matches == ()
    why = dict(next(u.nearest for u in result.unmatched if u.id == "inv:1"))
    assert why["ln:1"].startswith("rejected by an accountant")


def test_locked_ids_are_left_alone():
    expected = [invoice(1, "INV-1", 30_000)]
    posted = [line(1, 30_000, "INV-1")]
    result = reconcile(expected, posted, Settings(locked=frozenset({"ln:1"})))
    assert result.matches == ()
    assert all(u.id != "ln:1" for u in result.unmatched)


def test_the_same_rows_in_another_order_give_the_same_result():
    expected = [
        invoice(1, "INV-1", 30_000, customer="Bopha Mart"),
        invoice(2, "INV-2", 12_000),
        code(3, "e" * 32, 500),
    ]
    posted = [
        line(1, 30_000, "TRANSFER", payer="Bopha Mart"),
        line(2, 12_000, "INV-2"),
        line(3, 500, on=3, identity=("md5:" + "e" * 32,)),
        line(4, 100, "?"),
    ]
    first = reconcile(expected, posted)
    rng = random.Random(3)
    for _ in range(5):
        rng.shuffle(expected)
        rng.shuffle(posted)
        assert reconcile(expected, posted) == first
