"""'Why didn't this match?' on lines and items (from the exception, or from the
engine run in memory), and the evidence chain page with its links from the
payment and transactions pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from reconciliation.models import ReconciliationException
from tests.reconciliation.review_makers import (
    invoice,
    match_of,
    month_with_proposals,
    paid,
    run,
)
from tests.reconciliation.test_services_review_evidence import _paid_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture
def frozen():
    with freeze_time("2026-12-05 10:00:00"):
        yield


def _why(kind, pk):
    return reverse("reconciliation:why", args=[kind, pk])


def test_why_of_an_exceptions_line_lists_its_nearest(viewer_client, merchant, account):
    invoices, lines = month_with_proposals(merchant, account)
    run(merchant)
    response = viewer_client.get(_why("line", lines["stray"].pk))
    answer = response.context["answer"]
    assert answer.source == "exception"
    nearest = response.context["nearest"]
    assert nearest[0]["row"].label == "INV-1004"
    assert "amount short by 62.65 USD" in nearest[0]["why"]
    # the engine's own match numbers mean nothing on the page
    assert "#" not in " ".join(n["why"] for n in nearest)


def test_why_of_a_line_nothing_came_near_answers_from_the_run(
    viewer_client, merchant, account, monkeypatch
):
    # given a credit nothing in its month is like, and a run that saw it
    line = paid(account, 12, "999.00", reference="no ref", external_id="L-1")
    run(merchant)
    (exception,) = ReconciliationException.objects.filter(posted_ids=[f"ln:{line.pk}"])
    assert exception.explained and exception.nearest == []

    # when its why is asked, the month is not run again in memory
    from reconciliation.services import evidence

    def engine_run(*args, **kwargs):
        raise AssertionError("the why page ran the engine")

    monkeypatch.setattr(evidence, "reconcile_explaining", engine_run)
    response = viewer_client.get(_why("line", line.pk))

    # then the run's empty answer is the answer
    assert response.context["answer"].source == "exception"
    assert response.context["nearest"] == []
    body = response.content.decode()
    assert "No candidate of the same currency and sign came near" in body
    assert "As the last run found it" in body


def test_why_of_an_exception_no_run_explained_asks_the_engine(
    viewer_client, merchant, account
):
    # given an exception from before runs said whether they explained its row
    line = paid(account, 12, "999.00", reference="no ref", external_id="L-1")
    run(merchant)
    ReconciliationException.objects.update(explained=False)

    response = viewer_client.get(_why("line", line.pk))

    assert response.context["answer"].source == "engine"
    assert response.context["nearest"] == []


def test_why_of_a_matched_row_names_its_match(viewer_client, merchant, account):
    invoices, lines = month_with_proposals(merchant, account)
    run(merchant)
    match = match_of(merchant, invoices["fee"], lines["fee"])
    response = viewer_client.get(_why("invoice", invoices["fee"].pk))
    assert response.context["answer"].holder.pk == match.pk
    assert f"match #{match.pk}" in response.content.decode()


def test_why_of_a_row_no_run_saw_asks_the_engine(viewer_client, merchant, account):
    # given a line and a near invoice, and no run yet
    invoice(merchant, "INV-9", "50.00", customer="Srey Mom")
    line = paid(account, 12, "49.00", reference="no ref", external_id="L-9",
                counterparty_name="Someone")  # fmt: skip
    assert not ReconciliationException.objects.exists()

    # when its why is asked
    response = viewer_client.get(_why("line", line.pk))

    # then the engine ran over November in memory and says what kept them apart
    answer = response.context["answer"]
    assert answer.source == "engine" and answer.month == dt.date(2026, 11, 1)
    (candidate,) = response.context["nearest"]
    assert candidate["row"].label == "INV-9"
    assert "amount short by 1.00 USD" in candidate["why"]
    assert "ran over November 2026 just now" in response.content.decode()
    assert not ReconciliationException.objects.exists()  # nothing saved


def test_why_of_another_merchants_row_is_not_found(
    viewer_client, other_merchant, merchant
):
    from tests.factories import AccountFactory

    theirs = paid(AccountFactory(merchant=other_merchant), 3, "5.00")
    assert viewer_client.get(_why("line", theirs.pk)).status_code == 404
    assert viewer_client.get(_why("nonsense", 1)).status_code == 404


@pytest.fixture
def chain(merchant):
    from tests.factories import AccountFactory

    bank = AccountFactory(merchant=merchant, provider="hattha", currency="USD",
                          bakong_account_id="shop_a@hath")  # fmt: skip
    code, bt, line = _paid_code(merchant, bank, order_id="ORD-9", bill_number="INV-9")
    inv = invoice(merchant, "INV-9", "25.00", customer="Sok Dara")
    run(merchant)
    return code, bt, line, inv


def test_evidence_page_shows_the_chain_and_who_decided(owner_client, merchant, chain):
    code, bt, line, inv = chain
    response = owner_client.get(
        reverse("reconciliation:evidence", args=["invoice", inv.pk])
    )
    body = response.content.decode()
    assert response.status_code == 200
    for text in ("ORD-9", bt.hash[:8], line.external_id, "INV-9", "identity"):
        assert text in body
    assert "the engine, run" in body


def test_evidence_page_queries_are_bounded(owner_client, merchant, chain):
    code, *_ = chain
    url = reverse("reconciliation:evidence", args=["khqr", code.pk])
    with CaptureQueriesContext(connection) as captured:
        assert owner_client.get(url).status_code == 200
    assert len(captured) <= 30


def test_payment_and_transactions_pages_link_to_the_chain(owner_client, chain):
    code, bt, line, inv = chain
    payment = owner_client.get(reverse("payments:detail", args=[code.pk]))
    assert reverse("reconciliation:evidence", args=["khqr", code.pk]) in (
        payment.content.decode()
    )
    lines = owner_client.get(reverse("statements:transactions"))
    assert reverse("reconciliation:evidence", args=["line", line.pk]) in (
        lines.content.decode()
    )
