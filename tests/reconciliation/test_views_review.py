"""The review queue page and its actions: both sides shown, decisions in place
(JSON for the page's script) or by plain forms, bulk by ticks or by the filter,
roles, and a page of proposals costing the same queries however many there are."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from merchants.models import AuditEvent
from reconciliation.models import Match, PeriodSignOff
from tests.reconciliation.review_makers import (
    match_of,
    month_with_proposals,
    proposals,
    run,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]
QUEUE = reverse("reconciliation:queue")
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def frozen():
    with freeze_time("2026-12-05 10:00:00"):
        yield


@pytest.fixture
def month(merchant, account):
    invoices, lines = month_with_proposals(merchant, account)
    run(merchant)
    return invoices, lines


def _confirm_url(match):
    return reverse("reconciliation:match-confirm", args=[match.pk])


def test_queue_shows_proposals_best_first_with_both_sides(accountant_client, month):
    # when an accountant opens the queue
    response = accountant_client.get(QUEUE)

    # then the proposals are there, best score first, each with both sides
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["match"].status for r in rows] == ["proposed", "proposed"]
    scores = [r["match"].score for r in rows]
    assert scores == sorted(scores, reverse=True)
    body = response.content.decode()
    for text in ("INV-1002", "L-FEE", "Chan Sophea", "299.00 USD", "-1.00 USD",
                 "INV-1003", "HENG LIM", "012345678", "reference.fee"):  # fmt: skip
        assert text in body
    assert 'class="decide"' in body and "data-review-queue" in body
    assert "js/reconciliation" in body and "onclick" not in body


def test_the_status_select_names_what_the_queue_shows(accountant_client, month):
    # when the queue opens with no filter, it lists proposals
    body = accountant_client.get(QUEUE).content.decode()
    select = re.search(r'<select name="status"[^>]*>(.*?)</select>', body, re.S)[1]
    selected = re.findall(r'<option value="(\w*)"[^>]*selected', select)
    # then its status select says "proposed", not the first choice
    assert selected == ["proposed"]
    # and a chosen status stays chosen
    body = accountant_client.get(QUEUE, {"status": "auto"}).content.decode()
    select = re.search(r'<select name="status"[^>]*>(.*?)</select>', body, re.S)[1]
    assert re.findall(r'<option value="(\w*)"[^>]*selected', select) == ["auto"]


@pytest.mark.parametrize("role", ["auditor", "viewer"])
def test_readers_see_the_queue_without_buttons_and_cannot_act(
    member_client_factory, merchant, month, role
):
    # given a reader and a proposal
    invoices, lines = month
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    client = member_client_factory(merchant, role)

    # then the queue has no decision forms …
    body = client.get(QUEUE).content.decode()
    assert 'class="decide"' not in body and "bulk-form" not in body

    # … and the server refuses every action
    for name in ("match-confirm", "match-reject", "match-unmatch"):
        response = client.post(reverse(f"reconciliation:{name}", args=[proposal.pk]))
        assert response.status_code == 403
    bulk = client.post(
        reverse("reconciliation:match-bulk"), {"action": "confirm", "all": "1"}
    )
    assert bulk.status_code == 403
    proposal.refresh_from_db()
    assert proposal.status == "proposed"
    assert not AuditEvent.objects.filter(action__startswith="reconciliation.match")


def test_confirm_in_place_answers_json_and_logs(accountant_client, merchant, month):
    invoices, lines = month
    proposal = match_of(merchant, invoices["fee"], lines["fee"])

    # a difference without its kind is refused, naming the field
    refused = accountant_client.post(_confirm_url(proposal), {}, **JSON)
    assert refused.status_code == 400
    assert refused.json()["field"] == "difference_kind"

    # with it, the match is confirmed and the page is told how to undo it
    done = accountant_client.post(
        _confirm_url(proposal), {"difference_kind": "fee"}, **JSON
    )
    assert done.status_code == 200
    assert done.json()["status"] == "confirmed"
    assert done.json()["undo_url"] == reverse(
        "reconciliation:match-unmatch", args=[proposal.pk]
    )
    assert Match.objects.get(pk=proposal.pk).status == "confirmed"
    assert (
        AuditEvent.objects.filter(action="reconciliation.match.confirmed").count() == 1
    )

    # and confirming it again is a conflict that says who did it
    again = accountant_client.post(_confirm_url(proposal), {}, **JSON)
    assert again.status_code == 409
    assert "already confirmed by accountant-" in again.json()["message"]


def test_undo_of_a_reject_in_place_puts_the_proposal_back(
    accountant_client, merchant, month
):
    invoices, lines = month
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    reject = reverse("reconciliation:match-reject", args=[proposal.pk])
    assert accountant_client.post(reject, **JSON).json()["status"] == "rejected"
    undo = accountant_client.post(
        reverse("reconciliation:match-unmatch", args=[proposal.pk]), **JSON
    )
    assert undo.json()["status"] == "proposed"
    assert Match.objects.get(pk=proposal.pk).status == "proposed"
    event = AuditEvent.objects.get(action="reconciliation.match.unrejected")
    assert event.details["reason"] == "undone in the review queue"


def test_the_plain_form_works_without_script_and_comes_back(
    accountant_client, merchant, month
):
    # given the queue filtered to tier 4
    invoices, lines = month
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    back = QUEUE + "?tier=4"

    # when the row's form is posted the old way
    response = accountant_client.post(_confirm_url(proposal), {"next": back})

    # then the page comes back to the same filter, saying what happened
    assert response.status_code == 302 and response.url == back
    page = accountant_client.get(back)
    assert f"Match {proposal.pk} confirmed." in page.content.decode()


def test_the_form_does_not_redirect_elsewhere(accountant_client, merchant, month):
    invoices, lines = month
    proposal = match_of(merchant, invoices["payer"], lines["payer"])
    response = accountant_client.post(
        _confirm_url(proposal), {"next": "https://evil.example/"}
    )
    assert response.url == QUEUE


def test_a_signed_off_month_shows_its_proposals_locked(
    accountant_client, merchant, month
):
    PeriodSignOff.objects.create(
        merchant=merchant,
        month="2026-11-01",
        signed_by=accountant_client.user,
        signed_at="2026-12-04T10:00:00Z",
    )
    body = accountant_client.get(QUEUE).content.decode()
    assert "month signed off" in body and 'class="decide"' not in body


def test_bulk_confirm_of_ticked_matches(accountant_client, merchant, account):
    matches = proposals(merchant, account, 5)
    ticked = [m.pk for m in matches[:3]]
    response = accountant_client.post(
        reverse("reconciliation:match-bulk"),
        {"action": "confirm", "ids": ticked, "next": QUEUE},
    )
    assert response.status_code == 302
    assert sorted(
        Match.objects.filter(status="confirmed").values_list("pk", flat=True)
    ) == sorted(ticked)


def test_bulk_by_filter_takes_every_match_of_the_filter_not_just_the_page(
    accountant_client, merchant, account
):
    # given 150 proposals, more than a page, and a filter on the score
    proposals(merchant, account, 150)
    high = Match.objects.filter(score__gte=90).count()

    # when "all matching the filter" is rejected
    response = accountant_client.post(
        reverse("reconciliation:match-bulk"),
        {"action": "reject", "all": "1", "status": "proposed", "min_score": "90"},
        **JSON,
    )

    # then exactly the filter's matches are rejected, each logged
    assert response.json()["done"] == high
    assert Match.objects.filter(status="rejected").count() == high
    assert not Match.objects.filter(status="rejected", score__lt=90).exists()
    assert (
        AuditEvent.objects.filter(action="reconciliation.match.rejected").count()
        == high
    )


def test_bulk_without_a_choice_says_so(accountant_client, month):
    response = accountant_client.post(
        reverse("reconciliation:match-bulk"), {"action": "confirm"}, **JSON
    )
    assert response.status_code == 400
    assert "tick at least one" in response.json()["message"]


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_queue_costs_the_same_queries_for_ten_or_a_hundred_proposals(
    accountant_client, merchant, account, other_merchant
):
    # given 10 proposals, counted; then 90 more
    proposals(merchant, account, 10)
    few = _queries(accountant_client, QUEUE)
    proposals(merchant, account, 90)

    # then a page of a hundred costs the same
    assert _queries(accountant_client, QUEUE) == few
    assert few <= 12


def test_five_hundred_proposals_render_on_one_page_with_every_row(
    accountant_client, merchant, account
):
    proposals(merchant, account, 500)
    response = accountant_client.get(QUEUE + "?size=500")
    body = response.content.decode()
    assert len(re.findall(r'class="queue-row"', body)) == 500
    assert response.context["page"].paginator.count == 500


def test_match_detail_shows_the_reason_and_its_log(accountant_client, merchant, month):
    invoices, lines = month
    proposal = match_of(merchant, invoices["fee"], lines["fee"])
    accountant_client.post(_confirm_url(proposal), {"difference_kind": "fee"})
    response = accountant_client.get(
        reverse("reconciliation:match-detail", args=[proposal.pk])
    )
    body = response.content.decode()
    assert "Reference INV-1002 is in the line" in body
    assert "reconciliation.match.confirmed" in body and "Unmatch" in body
