"""The reconciliation and invoice pages in Khmer once a person chooses it."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse
from django.utils import translation

from reconciliation.models import Match, ReconciliationException
from reconciliation.reason_words import reason_words
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
    # the count names the status in words, not its code
    count = re.search(r'id="queue-count">(.*?)<', body, re.S)[1]
    assert khmer("Proposed") in count and "proposed" not in count
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


def test_the_engines_reasons_are_worded_in_khmer_with_their_values_intact(
    owner_client, merchant, reconciled
):
    matches = list(Match.objects.filter(merchant=merchant))
    exceptions = list(ReconciliationException.objects.filter(merchant=merchant))
    assert matches and exceptions
    with translation.override("km"):
        for sentence in [m.reason for m in matches] + [e.detail for e in exceptions]:
            worded = reason_words(sentence)
            assert worded != sentence, sentence  # every shape the run wrote
            for value in re.findall(r"[A-Z]+-[\w-]+|\d[\d,]*\.\d\d", sentence):
                assert value in worded, (value, worded)
    # the match page shows it so, and English stays as the engine wrote it
    match = matches[0]
    url = reverse("reconciliation:match-detail", args=[match.pk])
    assert html.escape(match.reason) in _body(owner_client.get(url))
    in_khmer(owner_client)
    with translation.override("km"):
        worded = reason_words(match.reason)
    assert html.escape(worded) in _body(owner_client.get(url))
