"""Decisions on the engine's work: confirm, reject, the undo, bulk decisions,
matching by hand and resolving exceptions; each one logged once, each refused in
a signed-off month, each scoped to its merchant."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection as db_connection
from freezegun import freeze_time

from core.exceptions import Conflict, InvalidInput, NotFound
from merchants.models import AuditEvent
from reconciliation.models import (
    CounterpartyAlias,
    ExceptionStatus,
    Match,
    MatchStatus,
    PeriodSignOff,
    ReconciliationException,
)
from reconciliation.selectors import QueueFilter
from reconciliation.services.review import (
    exception_resolve,
    exceptions_resolve,
    match_confirm,
    match_manual_create,
    match_reject,
    match_unmatch,
    matches_confirm,
    matches_reject,
)
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.reconciliation.review_makers import (
    invoice,
    match_of,
    month_with_proposals,
    paid,
    run,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture
def frozen():
    with freeze_time("2026-12-05 10:00:00"):
        yield


@pytest.fixture
def accountant(merchant):
    user = UserFactory(username="acc")
    MembershipFactory(user=user, merchant=merchant, role="accountant")
    return user


@pytest.fixture
def month(merchant, account):
    invoices, lines = month_with_proposals(merchant, account)
    run(merchant)
    return invoices, lines


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def _sign_off(merchant, user, month=dt.date(2026, 11, 1)):
    return PeriodSignOff.objects.create(
        merchant=merchant,
        month=month,
        signed_by=user,
        signed_at=dt.datetime.now(dt.UTC),
    )


# --- confirm -------------------------------------------------------------------------


def test_match_confirm_needs_a_kind_for_a_difference(merchant, month, accountant):
    # given the proposal whose line is 1.00 USD short of its invoice
    invoices, lines = month
    proposal = match_of(merchant, invoices["fee"], lines["fee"])
    assert (proposal.status, proposal.difference) == ("proposed", Decimal("-1.00"))

    # when it is confirmed without saying what the difference is
    with pytest.raises(InvalidInput, match="difference_kind: .*-1.00 USD"):
        match_confirm(merchant=merchant, match_id=proposal.pk, actor=accountant)

    # then nothing changed
    proposal.refresh_from_db()
    assert proposal.status == "proposed"
    assert _events("reconciliation.match.confirmed") == []


def test_match_confirm_books_the_difference_and_logs_once(merchant, month, accountant):
    # given the fee proposal
    invoices, lines = month
    proposal = match_of(merchant, invoices["fee"], lines["fee"])

    # when it is confirmed as a bank fee
    match_confirm(
        merchant=merchant, match_id=proposal.pk, actor=accountant, difference_kind="fee"
    )

    # then it is confirmed with the fee booked, who and when
    proposal.refresh_from_db()
    assert proposal.status == MatchStatus.CONFIRMED
    assert proposal.difference_kind == "fee"
    assert proposal.decided_by == accountant
    assert proposal.decided_at is not None
    (event,) = _events("reconciliation.match.confirmed")
    assert event.actor == accountant
    assert event.object_id == str(proposal.pk)
    assert event.details["difference"] == "-1.00"
    assert event.details["difference_kind"] == "fee"
    assert sorted(event.details["items"]) == sorted(
        [f"inv:{invoices['fee'].pk}", f"ln:{lines['fee'].pk}"]
    )


def test_a_write_off_needs_a_reason(merchant, month, accountant):
    invoices, lines = month
    proposal = match_of(merchant, invoices["fee"], lines["fee"])
    with pytest.raises(InvalidInput, match="note: a write-off needs a reason"):
        match_confirm(
            merchant=merchant,
            match_id=proposal.pk,
            actor=accountant,
            difference_kind="write_off",
        )


def test_a_confirmed_match_stays_through_a_rerun(merchant, month, accountant):
    # given a confirmed proposal
    invoices, lines = month
    proposal = match_of(merchant, invoices["fee"], lines["fee"])
    match_confirm(
        merchant=merchant, match_id=proposal.pk, actor=accountant, difference_kind="fee"
    )

    # when the month runs again
    run(merchant)

    # then the same match is still there, confirmed
    assert match_of(merchant, invoices["fee"], lines["fee"]).pk == proposal.pk
    assert Match.objects.get(pk=proposal.pk).status == "confirmed"


def test_confirming_a_payer_known_by_account_teaches_the_engine_the_name(
    merchant, account, month, accountant
):
    # given the proposal of a line from "HENG LIM" for Lim Heng Co., Ltd.'s invoice
    invoices, lines = month
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    assert proposal.rule == "amount_date.account"

    # when it is confirmed
    match_confirm(merchant=merchant, match_id=proposal.pk, actor=accountant)

    # then the payer's name is an alias of the customer …
    alias = CounterpartyAlias.objects.get(merchant=merchant)
    assert (alias.payer_key, alias.customer_key) == ("HENG LIM", "LIM HENG")
    assert alias.confirmed_by == accountant
    # … and next time that name alone (no account) is matched automatically
    later = invoice(
        merchant, "INV-2001", "61.00", customer="Lim Heng Co., Ltd.",
        issued=dt.date(2026, 11, 20), due=dt.date(2026, 11, 28),
    )  # fmt: skip
    line = paid(account, 22, "61.00", reference="thanks", counterparty_name="Heng Lim")
    run(merchant)
    learned = match_of(merchant, later, line)
    assert (learned.rule, learned.status) == ("amount_date.alias", "auto")


def test_confirm_refuses_a_match_already_decided(merchant, month, accountant):
    invoices, lines = month
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    match_confirm(merchant=merchant, match_id=proposal.pk, actor=accountant)
    with pytest.raises(
        Conflict, match=f"match {proposal.pk} was already confirmed by acc"
    ):
        match_confirm(merchant=merchant, match_id=proposal.pk, actor=accountant)
    assert len(_events("reconciliation.match.confirmed")) == 1


def test_confirm_refuses_a_signed_off_month_naming_it(merchant, month, accountant):
    invoices, lines = month
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    _sign_off(merchant, accountant)
    with pytest.raises(Conflict, match="November 2026 is signed off"):
        match_confirm(merchant=merchant, match_id=proposal.pk, actor=accountant)
    with pytest.raises(Conflict, match="November 2026 is signed off"):
        match_reject(merchant=merchant, match_id=proposal.pk, actor=accountant)
    with pytest.raises(Conflict, match="November 2026 is signed off"):
        match_unmatch(
            merchant=merchant, match_id=proposal.pk, actor=accountant, reason="oops"
        )
    proposal.refresh_from_db()
    assert proposal.status == "proposed"


def test_another_merchants_match_is_not_found(
    merchant, other_merchant, month, accountant
):
    invoices, lines = month
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    with pytest.raises(NotFound, match=f"match {proposal.pk}: not found"):
        match_confirm(merchant=other_merchant, match_id=proposal.pk, actor=accountant)


@pytest.mark.django_db(transaction=True)
def test_two_accountants_confirming_one_match_at_once_one_wins(
    merchant, account, accountant
):
    # given a proposal and a second accountant
    invoices, lines = month_with_proposals(merchant, account)
    run(merchant)
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    other = UserFactory(username="acc2")
    MembershipFactory(user=other, merchant=merchant, role="accountant")
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def confirm(user):
        try:
            start.wait(timeout=10)
            match_confirm(merchant=merchant, match_id=proposal.pk, actor=user)
            outcomes[user.username] = "confirmed"
        except Conflict as exc:
            outcomes[user.username] = exc.message
        finally:
            db_connection.close()

    # when both confirm it at the same moment
    threads = [threading.Thread(target=confirm, args=(u,)) for u in (accountant, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then one decision stands, the other is told who won
    assert sorted(outcomes.values())[0] == "confirmed"
    winner = next(name for name, what in outcomes.items() if what == "confirmed")
    loser_message = next(what for what in outcomes.values() if what != "confirmed")
    assert f"was already confirmed by {winner}" in loser_message
    assert (
        AuditEvent.objects.filter(action="reconciliation.match.confirmed").count() == 1
    )
    assert Match.objects.get(pk=proposal.pk).decided_by.username == winner


# --- reject and the undo -------------------------------------------------------------


def test_a_rejected_pair_is_not_proposed_again_and_its_line_is_open(
    merchant, month, accountant
):
    # given the proposal of the line from HENG LIM
    invoices, lines = month
    proposal = match_of(merchant, invoices["payer"], lines["payer"])

    # when it is rejected and the month runs again
    match_reject(merchant=merchant, match_id=proposal.pk, actor=accountant, note="no")
    run(merchant)

    # then the rejection stands, nothing else holds the line, and it is an exception
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == ("rejected", accountant)
    assert not Match.objects.filter(items__transaction=lines["payer"]).exclude(
        pk=proposal.pk
    )
    assert ReconciliationException.objects.filter(
        reason="unmatched_line", posted_ids=[f"ln:{lines['payer'].pk}"], status="open"
    ).exists()
    (event,) = _events("reconciliation.match.rejected")
    assert event.details["note"] == "no"


def test_reject_refuses_a_confirmed_match(merchant, month, accountant):
    invoices, lines = month
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    match_confirm(merchant=merchant, match_id=proposal.pk, actor=accountant)
    with pytest.raises(Conflict, match="is confirmed: unmatch it"):
        match_reject(merchant=merchant, match_id=proposal.pk, actor=accountant)


def test_unmatch_removes_a_confirmed_match_and_logs_what_it_undid(
    merchant, month, accountant
):
    # given a confirmed match
    invoices, lines = month
    proposal = match_of(merchant, invoices["fee"], lines["fee"])
    match_confirm(
        merchant=merchant, match_id=proposal.pk, actor=accountant, difference_kind="fee"
    )

    # when it is unmatched
    undone = match_unmatch(
        merchant=merchant, match_id=proposal.pk, actor=accountant, reason="wrong payer"
    )

    # then it is gone, the log says what it was, and a run proposes the pair again
    assert undone["undone"] == "confirmed"
    assert not Match.objects.filter(pk=proposal.pk).exists()
    (event,) = _events("reconciliation.match.unmatched")
    assert event.object_id == str(proposal.pk)
    assert event.details["status"] == "confirmed"
    assert event.details["decided_by"] == "acc"
    assert event.details["reason"] == "wrong payer"
    assert event.details["difference_kind"] == "fee"
    run(merchant)
    assert match_of(merchant, invoices["fee"], lines["fee"]).status == "proposed"


def test_unmatch_of_a_rejected_match_puts_it_back_to_proposed(
    merchant, month, accountant
):
    invoices, lines = month
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    match_reject(merchant=merchant, match_id=proposal.pk, actor=accountant)
    undone = match_unmatch(
        merchant=merchant, match_id=proposal.pk, actor=accountant, reason="undo"
    )
    proposal.refresh_from_db()
    assert (undone["undone"], proposal.status, proposal.decided_by) == (
        "rejected",
        "proposed",
        None,
    )
    assert len(_events("reconciliation.match.unrejected")) == 1


def test_unmatch_needs_a_reason(merchant, month, accountant):
    invoices, lines = month
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    with pytest.raises(InvalidInput, match="reason: "):
        match_unmatch(
            merchant=merchant, match_id=proposal.pk, actor=accountant, reason=" "
        )


# --- bulk ----------------------------------------------------------------------------


def test_bulk_confirm_checks_each_match_and_counts(merchant, month, accountant):
    # given both proposals (one needs a kind for its difference) and a foreign id
    invoices, lines = month
    fee = match_of(merchant, invoices["fee"], lines["fee"])
    payer = match_of(merchant, invoices["payer"], lines["payer"])

    # when both are confirmed at once without a kind
    outcome = matches_confirm(
        merchant=merchant, actor=accountant, match_ids=[fee.pk, payer.pk, 999_999]
    )

    # then the one without a difference is confirmed, the others are left with why
    assert outcome.done == [payer.pk]
    reasons = dict(outcome.skipped)
    assert "difference_kind" in reasons[fee.pk]
    assert reasons[999_999] == "not found"
    assert Match.objects.get(pk=fee.pk).status == "proposed"
    assert len(_events("reconciliation.match.confirmed")) == 1


def test_bulk_confirm_by_filter_takes_every_match_of_the_filter(
    merchant, month, accountant
):
    # when every proposal is confirmed with their differences as fees
    outcome = matches_confirm(
        merchant=merchant,
        actor=accountant,
        queue_filter=QueueFilter(status="proposed"),
        difference_kind="fee",
    )

    # then both proposals are, and none remains
    assert len(outcome.done) == 2 and outcome.skipped == []
    assert not Match.objects.filter(merchant=merchant, status="proposed").exists()
    events = _events("reconciliation.match.confirmed")
    assert sorted(int(e.object_id) for e in events) == sorted(outcome.done)
    assert all(e.details["bulk"] for e in events)


def test_bulk_reject_by_ids(merchant, month, accountant):
    invoices, lines = month
    fee = match_of(merchant, invoices["fee"], lines["fee"])
    outcome = matches_reject(merchant=merchant, actor=accountant, match_ids=[fee.pk])
    assert outcome.as_dict()["done"] == 1
    assert Match.objects.get(pk=fee.pk).status == "rejected"


def test_bulk_needs_ids_or_a_filter(merchant, accountant):
    with pytest.raises(InvalidInput, match="ids: "):
        matches_confirm(merchant=merchant, actor=accountant)


# --- by hand -------------------------------------------------------------------------


def test_manual_match_with_a_difference_needs_a_kind_and_a_reason(
    merchant, month, accountant
):
    invoices, lines = month
    refs = {"expected_refs": [("invoice", invoices["open"].pk)],
            "posted_refs": [("line", lines["stray"].pk)]}  # fmt: skip
    with pytest.raises(InvalidInput, match="difference_kind: .*-62.65 USD"):
        match_manual_create(merchant=merchant, actor=accountant, **refs)
    with pytest.raises(InvalidInput, match="note: "):
        match_manual_create(
            merchant=merchant, actor=accountant, difference_kind="fee", **refs
        )
    assert not Match.objects.filter(tier=0).exists()


def test_manual_match_is_confirmed_and_answers_the_rows_exceptions(
    merchant, month, accountant
):
    # given the unpaid invoice and the stray line, each an open exception
    invoices, lines = month
    stray = f"ln:{lines['stray'].pk}"
    unpaid = f"inv:{invoices['open'].pk}"
    assert ReconciliationException.objects.filter(
        status="open", posted_ids=[stray]
    ).exists()

    # when they are matched by hand, the rest written off
    match = match_manual_create(
        merchant=merchant,
        expected_refs=[("invoice", invoices["open"].pk)],
        posted_refs=[("line", lines["stray"].pk)],
        actor=accountant,
        difference_kind="write_off",
        note="customer paid part in cash",
    )

    # then a confirmed tier 0 match holds both, and both exceptions are resolved
    assert (match.tier, match.rule, match.status) == (0, "manual", "confirmed")
    assert match.difference == Decimal("-62.65")
    assert match.day == dt.date(2026, 11, 9)
    assert "customer paid part in cash" in match.reason
    for e in ReconciliationException.objects.filter(merchant=merchant):
        if stray in e.posted_ids or unpaid in e.expected_ids:
            assert (e.status, e.resolution, e.resolved_by) == (
                "resolved",
                "matched",
                accountant,
            )
    (event,) = _events("reconciliation.match.manual")
    assert sorted(event.details["items"]) == sorted([unpaid, stray])
    # and a run keeps it
    run(merchant)
    assert Match.objects.get(pk=match.pk).status == "confirmed"


def test_unmatching_a_hand_match_reopens_the_exceptions_it_answered(
    merchant, month, accountant
):
    invoices, lines = month
    match = match_manual_create(
        merchant=merchant,
        expected_refs=[("invoice", invoices["open"].pk)],
        posted_refs=[("line", lines["stray"].pk)],
        actor=accountant,
        difference_kind="write_off",
        note="cash",
    )
    match_unmatch(merchant=merchant, match_id=match.pk, actor=accountant, reason="no")
    stray = f"ln:{lines['stray'].pk}"
    assert ReconciliationException.objects.get(posted_ids=[stray]).status == "open"


def test_manual_match_replaces_a_proposal_but_not_a_confirmed_match(
    merchant, month, accountant
):
    invoices, lines = month
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    exact = match_of(merchant, invoices["exact"], lines["exact"])
    match_confirm(merchant=merchant, match_id=exact.pk, actor=accountant)

    # a confirmed match holds its rows
    with pytest.raises(Conflict, match=f"match {exact.pk} \\(confirmed\\)"):
        match_manual_create(
            merchant=merchant,
            expected_refs=[("invoice", invoices["exact"].pk)],
            posted_refs=[("line", lines["payer"].pk)],
            actor=accountant,
            difference_kind="write_off",
            note="x",
        )
    # a proposal gives them up
    match = match_manual_create(
        merchant=merchant,
        expected_refs=[("invoice", invoices["payer"].pk)],
        posted_refs=[("line", lines["payer"].pk)],
        actor=accountant,
    )
    assert not Match.objects.filter(pk=proposal.pk).exists()
    (event,) = _events("reconciliation.match.manual")
    assert event.details["replaced"][0]["match"] == proposal.pk
    assert match.status == "confirmed"


def test_manual_match_refuses_another_merchants_rows(
    merchant, other_merchant, month, accountant
):
    foreign = AccountFactory(merchant=other_merchant)
    theirs = paid(foreign, 4, "80.00", external_id="THEIRS")
    invoices, _lines = month
    with pytest.raises(NotFound, match=f"posted: line {theirs.pk} not found"):
        match_manual_create(
            merchant=merchant,
            expected_refs=[("invoice", invoices["open"].pk)],
            posted_refs=[("line", theirs.pk)],
            actor=accountant,
        )


def test_manual_match_is_in_one_currency(merchant, khr_account, month, accountant):
    invoices, _lines = month
    riel = paid(khr_account, 4, "320000", external_id="KHR-1")
    with pytest.raises(InvalidInput, match="posted: the rows are in KHR, USD"):
        match_manual_create(
            merchant=merchant,
            expected_refs=[("invoice", invoices["open"].pk)],
            posted_refs=[("line", riel.pk)],
            actor=accountant,
        )


def test_manual_match_checks_the_sides(merchant, month, accountant):
    invoices, lines = month
    with pytest.raises(InvalidInput, match="posted: 'invoice' is not one of line"):
        match_manual_create(
            merchant=merchant,
            expected_refs=[("invoice", invoices["open"].pk)],
            posted_refs=[("invoice", invoices["fee"].pk)],
            actor=accountant,
        )
    with pytest.raises(InvalidInput, match="expected: pick at least one"):
        match_manual_create(
            merchant=merchant,
            expected_refs=[],
            posted_refs=[("line", lines["stray"].pk)],
            actor=accountant,
        )


# --- exceptions ----------------------------------------------------------------------


def test_exception_resolve_keeps_who_when_and_why(merchant, month, accountant):
    invoices, _lines = month
    unpaid = ReconciliationException.objects.get(reason="unpaid_item")
    with pytest.raises(InvalidInput, match="note: "):
        exception_resolve(
            merchant=merchant,
            exception_id=unpaid.pk,
            actor=accountant,
            resolution="written_off",
            note="",
        )
    exception_resolve(
        merchant=merchant,
        exception_id=unpaid.pk,
        actor=accountant,
        resolution="written_off",
        note="customer went bankrupt",
    )
    unpaid.refresh_from_db()
    assert (unpaid.status, unpaid.resolution, unpaid.resolution_note) == (
        "resolved",
        "written_off",
        "customer went bankrupt",
    )
    assert unpaid.resolved_by == accountant and unpaid.resolved_at is not None
    with pytest.raises(Conflict, match="already resolved"):
        exception_resolve(
            merchant=merchant,
            exception_id=unpaid.pk,
            actor=accountant,
            resolution="ignored",
            note="again",
        )
    (event,) = _events("reconciliation.exception.resolved")
    assert event.details["note"] == "customer went bankrupt"
    # a run does not undo a person's resolution
    run(merchant)
    unpaid.refresh_from_db()
    assert unpaid.resolution == "written_off"


def test_exception_resolve_refuses_an_unknown_resolution(merchant, month, accountant):
    unpaid = ReconciliationException.objects.get(reason="unpaid_item")
    with pytest.raises(InvalidInput, match="resolution: "):
        exception_resolve(
            merchant=merchant,
            exception_id=unpaid.pk,
            actor=accountant,
            resolution="cleared",
            note="the run did it",
        )


def test_exceptions_resolve_many_with_one_reason(merchant, month, accountant):
    ids = list(
        ReconciliationException.objects.filter(status="open").values_list(
            "pk", flat=True
        )
    )
    outcome = exceptions_resolve(
        merchant=merchant,
        actor=accountant,
        exception_ids=[*ids, 424242],
        resolution="ignored",
        note="reviewed with the owner",
    )
    assert sorted(outcome.done) == sorted(ids)
    assert outcome.skipped == [(424242, "not found")]
    assert not ReconciliationException.objects.filter(status=ExceptionStatus.OPEN)
    assert len(_events("reconciliation.exception.resolved")) == len(ids)
