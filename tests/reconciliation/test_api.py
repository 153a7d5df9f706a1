"""The reconciliation API: invoices in (idempotent), runs, matches and exceptions
out, paged by id, under the key's merchant only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from reconciliation.models import (
    Invoice,
    Match,
    MatchItem,
    ReconciliationException,
    ReconciliationRun,
)

BODY = {
    "invoice_number": "INV-0042",
    "customer": "Sok Dara Trading",
    "amount": "120.50",
    "currency": "USD",
    "issue_date": "2026-11-02",
    "due_date": "2026-11-16",
}


def _run(merchant, **fields) -> ReconciliationRun:
    return ReconciliationRun.objects.create(
        merchant=merchant,
        period_from=dt.date(2026, 11, 1),
        period_to=dt.date(2026, 11, 30),
        status="done",
        counts={"matched": 1},
        **fields,
    )


def _match(merchant, run, invoice, *, status="proposed") -> Match:
    match = Match.objects.create(
        merchant=merchant,
        run=run,
        tier=4,
        rule="amount_date.name",
        score=80,
        reason="Same amount",
        status=status,
        currency="USD",
        day=dt.date(2026, 11, 5),
    )
    MatchItem.objects.create(
        match=match,
        kind="invoice",
        invoice=invoice,
        amount=invoice.amount,
        currency="USD",
    )
    return match


def _invoice(merchant, number="INV-1") -> Invoice:
    return Invoice.objects.create(
        merchant=merchant,
        invoice_number=number,
        customer="Sok Dara",
        amount=Decimal("120.50"),
        currency="USD",
        issue_date=dt.date(2026, 11, 1),
        due_date=dt.date(2026, 11, 15),
        source="api",
    )


@pytest.mark.django_db
def test_post_invoice_creates_it_and_answers_amount_as_text(api_client):
    response = api_client.post("/api/v1/invoices", BODY, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["idempotent_replay"]) == ("120.50", False)
    assert Invoice.objects.get().amount == Decimal("120.50")


@pytest.mark.django_db
def test_the_same_invoice_again_is_a_200_replay_and_another_body_a_409(api_client):
    api_client.post("/api/v1/invoices", BODY, format="json")
    again = api_client.post("/api/v1/invoices", BODY, format="json")
    other = api_client.post(
        "/api/v1/invoices", BODY | {"amount": "99.00"}, format="json"
    )
    assert (again.status_code, again.json()["idempotent_replay"]) == (200, True)
    assert other.status_code == 409
    assert other.json()["error"] == "conflict"
    assert "amount" in other.json()["message"]
    assert Invoice.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "12.345"}, "amount"),
        ({"currency": "EUR"}, "currency"),
        ({"due_date": "2026-10-01"}, "due_date"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_post_invoice_refuses_bad_input_naming_the_field(api_client, change, field):
    response = api_client.post("/api/v1/invoices", BODY | change, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_input"
    assert field in response.json()["message"]
    assert Invoice.objects.count() == 0


@pytest.mark.django_db
def test_post_invoice_without_a_key_is_401():
    response = APIClient().post("/api/v1/invoices", BODY, format="json")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


@pytest.mark.django_db
def test_lists_show_only_the_keys_merchant(merchant, other_merchant, api_client):
    mine = _run(merchant)
    _match(merchant, mine, _invoice(merchant))
    theirs = _run(other_merchant)
    _match(other_merchant, theirs, _invoice(other_merchant))
    ReconciliationException.objects.create(
        merchant=other_merchant,
        run=theirs,
        reason="unmatched_line",
        key="unmatched_line:|ln:1",
        amount=Decimal("5"),
        currency="USD",
        detail="theirs",
        day=dt.date(2026, 11, 3),
    )
    runs = api_client.get("/api/v1/reconciliation/runs").json()["results"]
    matches = api_client.get("/api/v1/reconciliation/matches").json()["results"]
    exceptions = api_client.get("/api/v1/reconciliation/exceptions").json()
    assert [r["id"] for r in runs] == [mine.pk]
    assert [m["expected"][0]["ref"] for m in matches] == ["INV-1"]
    assert exceptions["results"] == []


@pytest.mark.django_db
def test_matches_filter_by_status_and_page_by_id(merchant, api_client):
    run = _run(merchant)
    proposed = [_match(merchant, run, _invoice(merchant, f"INV-{n}")) for n in range(3)]
    _match(merchant, run, _invoice(merchant, "INV-9"), status="confirmed")
    first = api_client.get("/api/v1/reconciliation/matches?status=proposed&limit=2")
    body = first.json()
    assert [m["id"] for m in body["results"]] == [proposed[2].pk, proposed[1].pk]
    rest = api_client.get(
        f"/api/v1/reconciliation/matches?status=proposed&limit=2&after={body['next_after']}"
    ).json()
    assert [m["id"] for m in rest["results"]] == [proposed[0].pk]
    assert rest["next_after"] is None


@pytest.mark.django_db
def test_an_unknown_status_or_reason_is_invalid_input(api_client):
    for url in (
        "/api/v1/reconciliation/matches?status=maybe",
        "/api/v1/reconciliation/exceptions?reason=gremlins",
        "/api/v1/reconciliation/runs?limit=0",
    ):
        response = api_client.get(url)
        assert response.status_code == 400, url
        assert response.json()["error"] == "invalid_input"


@pytest.mark.django_db
def test_exceptions_filter_by_reason(merchant, api_client):
    run = _run(merchant)
    for n, reason in enumerate(["unmatched_line", "unpaid_item", "unmatched_line"]):
        ReconciliationException.objects.create(
            merchant=merchant,
            run=run,
            reason=reason,
            key=f"{reason}:{n}",
            amount=Decimal("5.00"),
            currency="USD",
            detail="d",
            day=dt.date(2026, 11, 3),
        )
    found = api_client.get("/api/v1/reconciliation/exceptions?reason=unpaid_item")
    (only,) = found.json()["results"]
    assert (only["reason"], only["amount"]) == ("unpaid_item", "5.00")


@pytest.mark.django_db
def test_the_schema_documents_the_reconciliation_routes(api_client):
    schema = APIClient().get("/api/schema/?format=json").json()
    for route in (
        "/api/v1/invoices",
        "/api/v1/reconciliation/runs",
        "/api/v1/reconciliation/matches",
        "/api/v1/reconciliation/exceptions",
    ):
        assert route in schema["paths"], route
