"""Month sign-off and reopening: refused while exceptions are open unless they are
carried forward; the month's matches locked for people and for the engine; an
owner's reopening with a reason; all of it logged."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from core.exceptions import Conflict, InvalidInput, NotFound
from merchants.models import AuditEvent
from reconciliation.models import Match, PeriodSignOff, ReconciliationException
from reconciliation.services.periods import (
    month_parse,
    month_state,
    period_reopen,
    period_sign_off,
)
from reconciliation.services.review import exceptions_resolve, match_confirm
from tests.factories import MembershipFactory, UserFactory
from tests.reconciliation.review_makers import match_of, month_with_proposals, run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]
NOVEMBER = dt.date(2026, 11, 1)


@pytest.fixture
def frozen():
    with freeze_time("2026-12-05 10:00:00"):
        yield


@pytest.fixture
def owner(merchant):
    user = UserFactory(username="boss")
    MembershipFactory(user=user, merchant=merchant, role="owner")
    return user


@pytest.fixture
def month(merchant, account):
    invoices, lines = month_with_proposals(merchant, account)
    run(merchant)
    return invoices, lines


def test_sign_off_is_refused_while_exceptions_are_open(merchant, month, owner):
    open_count = ReconciliationException.objects.filter(status="open").count()
    with pytest.raises(Conflict, match=f"November 2026 has {open_count} open"):
        period_sign_off(merchant=merchant, month=NOVEMBER, actor=owner)
    assert not PeriodSignOff.objects.exists()


def test_sign_off_after_resolving_locks_the_month(merchant, month, owner):
    # given every exception of November resolved
    invoices, lines = month
    exceptions_resolve(
        merchant=merchant,
        actor=owner,
        exception_ids=list(
            ReconciliationException.objects.values_list("pk", flat=True)
        ),
        resolution="ignored",
        note="checked",
    )

    # when the month is signed off
    sign_off = period_sign_off(
        merchant=merchant, month=NOVEMBER, actor=owner, note="all good"
    )

    # then it is locked: a person cannot confirm, and a run leaves its matches
    assert (sign_off.signed_by, sign_off.carried_forward) == (owner, 0)
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    with pytest.raises(Conflict, match="November 2026 is signed off"):
        match_confirm(merchant=merchant, match_id=proposal.pk, actor=owner)
    before = set(Match.objects.values_list("pk", "status"))
    run(merchant)
    assert set(Match.objects.values_list("pk", "status")) == before
    (event,) = AuditEvent.objects.filter(action="reconciliation.period.signed_off")
    assert event.details == {
        "month": "2026-11",
        "note": "all good",
        "carried_forward": 0,
        "proposals_left": 2,
    }
    with pytest.raises(Conflict, match="already signed off"):
        period_sign_off(merchant=merchant, month=NOVEMBER, actor=owner)


def test_carry_forward_marks_the_open_exceptions_carried(merchant, month, owner):
    open_ids = set(
        ReconciliationException.objects.filter(status="open").values_list(
            "pk", flat=True
        )
    )
    sign_off = period_sign_off(
        merchant=merchant, month=NOVEMBER, actor=owner, carry_forward=True
    )
    assert sign_off.carried_forward == len(open_ids) > 0
    assert (
        set(
            ReconciliationException.objects.filter(status="carried").values_list(
                "pk", flat=True
            )
        )
        == open_ids
    )
    assert month_state(merchant=merchant, month=NOVEMBER).carried == len(open_ids)


def test_reopen_needs_a_reason_and_gives_the_month_its_exceptions_back(
    merchant, month, owner
):
    # given a month signed off with its exceptions carried forward
    period_sign_off(merchant=merchant, month=NOVEMBER, actor=owner, carry_forward=True)
    with pytest.raises(InvalidInput, match="reason: "):
        period_reopen(merchant=merchant, month=NOVEMBER, actor=owner, reason="")

    # when the owner reopens it
    sign_off = period_reopen(
        merchant=merchant, month=NOVEMBER, actor=owner, reason="late bank line"
    )

    # then it is open again, with its exceptions, and may be signed off again
    assert sign_off.reopened_by == owner and sign_off.reopen_reason == "late bank line"
    assert not ReconciliationException.objects.filter(status="carried")
    state = month_state(merchant=merchant, month=NOVEMBER)
    assert not state.is_signed and state.open_exceptions > 0
    (event,) = AuditEvent.objects.filter(action="reconciliation.period.reopened")
    assert event.details["reason"] == "late bank line"
    period_sign_off(merchant=merchant, month=NOVEMBER, actor=owner, carry_forward=True)
    assert PeriodSignOff.objects.filter(month=NOVEMBER).count() == 2


def test_reopen_of_a_month_not_signed_off_is_not_found(merchant, owner):
    with pytest.raises(NotFound, match="November 2026 is not signed off"):
        period_reopen(merchant=merchant, month=NOVEMBER, actor=owner, reason="x")


def test_a_month_not_over_cannot_be_signed_off(merchant, owner):
    with pytest.raises(InvalidInput, match="December 2026 has not ended"):
        period_sign_off(merchant=merchant, month=dt.date(2026, 12, 1), actor=owner)


@pytest.mark.parametrize(
    ("text", "month"),
    [("2026-11", NOVEMBER), ("2026-11-17", NOVEMBER), ("2027-02", dt.date(2027, 2, 1))],
)
def test_month_parse(text, month):
    assert month_parse(text) == month


def test_month_parse_names_the_field():
    with pytest.raises(InvalidInput, match="month: 'Nov' is not a month"):
        month_parse("Nov")
