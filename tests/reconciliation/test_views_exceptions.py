"""The exceptions page (reasons, aging buckets, totals per currency, why each did
not match), resolving one or several, and matching by hand from the page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from freezegun import freeze_time

from merchants.models import AuditEvent
from reconciliation.models import Match, ReconciliationException
from tests.reconciliation.review_makers import month_with_proposals, paid, run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]
EXCEPTIONS = reverse("reconciliation:exceptions")
MANUAL = reverse("reconciliation:manual")


@pytest.fixture
def frozen():
    with freeze_time("2026-12-05 10:00:00"):
        yield


@pytest.fixture
def month(merchant, account, khr_account):
    invoices, lines = month_with_proposals(merchant, account)
    lines["riel"] = paid(khr_account, 30, "52000", reference="deposit",
                         external_id="K-STRAY")  # fmt: skip
    old = paid(account, 1, "3.00", reference="old", external_id="L-OLD")
    run(merchant)
    # an exception aged past 60 days: its day is set back as a late run would
    ReconciliationException.objects.filter(posted_ids=[f"ln:{old.pk}"]).update(
        day=dt.date(2026, 9, 20)
    )
    return invoices, lines


def test_exceptions_list_reasons_aging_and_totals(viewer_client, month):
    # when anyone opens the exceptions page
    response = viewer_client.get(EXCEPTIONS)

    # then the open ones are listed oldest first, with their buckets and totals
    assert response.status_code == 200
    listed = [i["exception"] for i in response.context["items"]]
    assert [e.day for e in listed] == sorted(e.day for e in listed)
    assert {e.status for e in listed} == {"open"}
    buckets = {b["key"]: b for b in response.context["aging"]}
    # 5 Dec: the riel line of 30 Nov is 5 days old; USD 3 Nov - 10 Nov 25-32
    assert buckets["0-7"]["count"] == 1
    assert buckets["0-7"]["totals"] == [("KHR", Decimal("52000.00"))]
    assert buckets["61+"]["count"] == 1
    assert buckets["8-30"]["count"] + buckets["31-60"]["count"] == 2
    totals = {t["currency"]: t["total"] for t in response.context["totals"]}
    assert totals == {
        "KHR": Decimal("52000"),
        "USD": Decimal("3.00") + Decimal("17.35") + Decimal("80.00"),
    }
    body = response.content.decode()
    assert "Unpaid or overdue item" in body and "reference not found" in body
    assert "resolve-form" not in body  # a viewer reads only


def test_exceptions_filter_by_age_and_reason(viewer_client, month):
    old = viewer_client.get(EXCEPTIONS, {"age": "61+"}).context["items"]
    assert [i["exception"].day for i in old] == [dt.date(2026, 9, 20)]
    unpaid = viewer_client.get(EXCEPTIONS, {"reason": "unpaid_item"}).context["items"]
    assert [i["exception"].reason for i in unpaid] == ["unpaid_item"]


def test_resolve_several_with_one_reason(accountant_client, month):
    ids = list(
        ReconciliationException.objects.filter(currency="USD").values_list(
            "pk", flat=True
        )
    )
    response = accountant_client.post(
        reverse("reconciliation:exception-bulk"),
        {"ids": ids, "resolution": "ignored", "note": "checked with the bank"},
    )
    assert response.status_code == 302
    assert set(
        ReconciliationException.objects.filter(status="resolved").values_list(
            "pk", flat=True
        )
    ) == set(ids)
    assert AuditEvent.objects.filter(
        action="reconciliation.exception.resolved"
    ).count() == len(ids)


def test_resolve_needs_a_reason(accountant_client, month):
    one = ReconciliationException.objects.first()
    response = accountant_client.post(
        reverse("reconciliation:exception-bulk"),
        {"ids": [one.pk], "resolution": "ignored", "note": ""},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "note"
    one.refresh_from_db()
    assert one.status == "open"


def test_resolve_all_matching_the_filter(accountant_client, month):
    accountant_client.post(
        reverse("reconciliation:exception-bulk"),
        {"all": "1", "currency": "KHR", "status": "open", "resolution": "written_off",
         "note": "bank error, refunded by the bank"},
    )  # fmt: skip
    resolved = ReconciliationException.objects.filter(status="resolved")
    assert [e.currency for e in resolved] == ["KHR"]


def test_exception_detail_resolves_one(accountant_client, month):
    unpaid = ReconciliationException.objects.get(reason="unpaid_item")
    url = reverse("reconciliation:exception-detail", args=[unpaid.pk])
    page = accountant_client.get(url).content.decode()
    assert "INV-1004" in page and "Match it by hand" in page
    accountant_client.post(url, {"resolution": "written_off", "note": "bad debt"})
    unpaid.refresh_from_db()
    assert (unpaid.resolution, unpaid.resolution_note) == ("written_off", "bad debt")


@pytest.mark.parametrize("role", ["auditor", "viewer"])
def test_readers_cannot_resolve(member_client_factory, merchant, month, role):
    client = member_client_factory(merchant, role)
    one = ReconciliationException.objects.first()
    detail = reverse("reconciliation:exception-detail", args=[one.pk])
    assert "Resolve" not in client.get(detail).content.decode().split("</h1>")[1]
    assert (
        client.post(detail, {"resolution": "ignored", "note": "x"}).status_code == 403
    )
    bulk = client.post(
        reverse("reconciliation:exception-bulk"),
        {"ids": [one.pk], "resolution": "ignored", "note": "x"},
    )
    assert bulk.status_code == 403
    one.refresh_from_db()
    assert one.status == "open"


# --- matching by hand ----------------------------------------------------------------


def test_manual_search_finds_candidates_by_amount_and_customer(
    accountant_client, month
):
    invoices, lines = month
    response = accountant_client.get(
        MANUAL, {"amount": "80", "currency": "USD", "customer": "keo"}
    )
    expected = [e["row"].label for e in response.context["expected"]]
    assert expected == ["INV-1004"]
    by_reference = accountant_client.get(MANUAL, {"q": "cash deposit"})
    assert [e["row"].label for e in by_reference.context["posted"]] == ["L-STRAY"]
    near = accountant_client.get(MANUAL, {"amount": "17.00", "currency": "USD"})
    assert "L-STRAY" in [e["row"].label for e in near.context["posted"]]


def test_manual_match_from_the_page(accountant_client, merchant, month):
    # given the unpaid invoice and the stray line picked
    invoices, lines = month
    picked = {"expected": f"invoice:{invoices['open'].pk}",
              "posted": f"line:{lines['stray'].pk}"}  # fmt: skip
    page = accountant_client.get(MANUAL, picked)
    assert [p["row"].label for p in page.context["picked"]] == ["INV-1004", "L-STRAY"]
    assert page.context["difference"] == [("USD", Decimal("-62.65"))]

    # when they are matched without a reason for the difference: refused
    refused = accountant_client.post(MANUAL, picked | {"difference_kind": "write_off"})
    assert refused.status_code == 200
    assert "Not matched: a write-off needs a reason" in refused.content.decode()

    # with one, the hand match is made and shown
    done = accountant_client.post(
        MANUAL, picked | {"difference_kind": "write_off", "note": "part in cash"}
    )
    match = Match.objects.get(rule="manual")
    assert done.status_code == 302
    assert done.url == reverse("reconciliation:match-detail", args=[match.pk])
    assert AuditEvent.objects.filter(action="reconciliation.match.manual").count() == 1


def test_manual_match_refuses_a_viewer(viewer_client, merchant, month):
    invoices, lines = month
    response = viewer_client.post(
        MANUAL,
        {"expected": f"invoice:{invoices['open'].pk}",
         "posted": f"line:{lines['stray'].pk}"},
    )  # fmt: skip
    assert response.status_code == 403
    assert not Match.objects.filter(rule="manual").exists()
