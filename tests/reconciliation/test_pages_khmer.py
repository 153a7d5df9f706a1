"""The reconciliation and invoice pages in Khmer once a person chooses it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.core.khmer import in_khmer, khmer
from tests.factories import TransactionFactory
from tests.reconciliation.review_makers import month_with_proposals, run

pytestmark = pytest.mark.django_db


def _body(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def reconciled(merchant, account):
    invoices, lines = month_with_proposals(merchant, account)
    run(merchant)
    return invoices, lines


def test_the_review_queue_answers_in_khmer(owner_client, reconciled):
    url = reverse("reconciliation:queue")
    assert "Review queue" in _body(owner_client.get(url))
    in_khmer(owner_client)
    body = _body(owner_client.get(url))
    assert khmer("Review queue") in body
    assert khmer("Difference") in body
    # the script's words come translated from the page
    assert f'data-nothing-to-undo="{khmer("Nothing to undo.")}"' in body


def test_the_exceptions_page_answers_in_khmer(owner_client, reconciled):
    url = reverse("reconciliation:exceptions") + "?status="
    in_khmer(owner_client)
    body = _body(owner_client.get(url))
    assert khmer("Unmatched line") in body  # an exception reason's label


def test_the_evidence_page_answers_in_khmer(owner_client, account):
    line = TransactionFactory(account=account)
    url = reverse("reconciliation:evidence", args=["line", line.pk])
    in_khmer(owner_client)
    body = _body(owner_client.get(url))
    assert khmer("Evidence chain") in body
    assert khmer("Ledger line", context="chain heading") in body


def test_the_invoices_list_answers_in_khmer(owner_client, reconciled):
    assert "Invoices" in _body(owner_client.get(reverse("invoices:list")))
    in_khmer(owner_client)
    body = _body(owner_client.get(reverse("invoices:list")))
    assert khmer("Invoices") in body and khmer("Due") in body
