"""A service's error is shown in the reader's language on pages, and as written
(English, with its field) by the REST API; expected words come from the catalogue."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse
from django.utils import translation

from core.error_words import error_words
from core.exceptions import Conflict, InvalidInput
from statements.clients.feed import FeedProtocolError, parse_item
from tests.core.khmer import in_khmer, khmer
from tests.reconciliation.review_makers import proposals


def test_a_fixed_sentence_is_translated_whole_and_loses_its_field_on_a_page():
    error = InvalidInput("ids: choose at least one match", field="ids")
    with translation.override("en"):
        assert error_words(error) == "choose at least one match"
    with translation.override("km"):
        assert error_words(error) == khmer("ids: choose at least one match")


def test_a_sentence_with_values_keeps_them_and_translates_the_words():
    error = Conflict("only a paid request can be refunded (this one is pending)")
    with translation.override("km"):
        words = error_words(error)
    assert words == khmer(
        "Only a paid code can be refunded (this one is %(status)s)."
    ) % {"status": "pending"}


def test_a_sync_message_is_worded_with_the_reason_inside_it():
    message = "not synced: consent for connection #3 was revoked on 04 Dec 2026"
    with translation.override("km"):
        words = error_words(message)
    inner = khmer("Consent for connection #%(pk)s was revoked on %(day)s.") % {
        "pk": "3",
        "day": "04 Dec 2026",
    }
    assert words == khmer("Not synced: %(why)s") % {"why": inner}


def test_an_unknown_message_is_shown_as_written():
    with translation.override("km"):
        assert error_words("Bakong said: E42 something new") == (
            "Bakong said: E42 something new"
        )


@pytest.mark.django_db
def test_the_queue_says_tick_a_match_in_khmer(accountant_client, merchant, account):
    # given a queue with proposals, read in Khmer
    proposals(merchant, account, 2)
    in_khmer(accountant_client)
    # when the bulk form is sent with nothing ticked
    response = accountant_client.post(
        reverse("reconciliation:match-bulk"), {"action": "confirm"}, follow=True
    )
    # then the message is the catalogue's Khmer, with no raw field name
    body = html.unescape(response.content.decode())
    assert khmer("ids: tick at least one match") in body
    assert "ids:" not in body


@pytest.mark.django_db
def test_a_pack_waiting_for_a_worker_says_so_in_khmer(auditor_client, merchant):
    in_khmer(auditor_client)
    response = auditor_client.post(
        reverse("statements:packs"),
        {"date_from": "01/11/2026", "date_to": "30/11/2026"},
        follow=True,
    )
    assert response.status_code == 200
    assert khmer("Waiting for a worker") in response.content.decode()


@pytest.mark.django_db
def test_the_api_keeps_the_english_message_and_its_field(api_client):
    response = api_client.post(
        "/api/v1/qr",
        {"amount": "-1", "currency": "USD"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="km",
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("amount: ")
    assert response.json()["message"].isascii()


@pytest.mark.parametrize(
    ("message", "msgid", "values"),
    [
        (
            "gave up: feed: the token endpoint refused the credentials (401)",
            "The bank's feed refused the credentials (%(status)s).",
            {"status": "401"},
        ),
        (
            "will retry: feed: statement answered 503: upstream down",
            "The bank's feed answered %(status)s: %(body)s",
            {"status": "503", "body": "upstream down"},
        ),
    ],
)
def test_a_feed_failure_on_the_connections_page_is_worded(message, msgid, values):
    with translation.override("km"):
        words = error_words(message)
    assert khmer(msgid) % values in words
    assert "refused" not in words and "answered" not in words


def test_a_connection_set_up_error_is_worded_with_its_values():
    error = InvalidInput("provider: 'fax' is not one of bakong, statement_feed")
    with translation.override("km"):
        words = error_words(error)
    assert words == khmer("%(value)s is not one of %(choices)s.") % {
        "value": "'fax'",
        "choices": "bakong, statement_feed",
    }


@pytest.mark.parametrize(
    ("message", "kind"),
    [("expected: invoice 42 not found", "Invoice"), ("match 42: not found", "Match")],
)
def test_a_look_up_miss_is_worded_with_the_kind_in_words(message, kind):
    with translation.override("km"):
        words = error_words(message)
    assert words == khmer("%(kind)s #%(pk)s was not found.") % {
        "kind": khmer(kind),
        "pk": "42",
    }


@pytest.mark.parametrize(
    ("field", "value", "msgid"),
    [
        ("amount", "12x", "%(name)s %(value)s is not a number."),
        ("value_date", "2026-13-01", "%(name)s %(value)s is not a date."),
        ("posted_at", "2026-03-01T10:00:00", "%(name)s %(value)s has no UTC offset."),
        (
            "posted_at",
            "yesterday",
            "%(name)s %(value)s is not a date and time (ISO 8601).",
        ),
    ],
)
def test_a_feed_line_the_client_cannot_read_is_worded_with_its_bank_id(
    field, value, msgid
):
    # given a feed item the real client refuses
    item = {
        "txn_id": "FT-9",
        "posted_at": "2026-03-01T10:00:00+07:00",
        "amount": "1.00",
        "ccy": "USD",
    } | {field: value}
    with pytest.raises(FeedProtocolError) as caught:
        parse_item(item)
    # when a sync that gave up on it is read in Khmer
    with translation.override("km"):
        words = error_words(f"not synced: {caught.value.message}")
    # then the line's id and the bank's value are kept, the words are Khmer
    why = khmer(msgid) % {"name": field, "value": repr(value)}
    line = khmer("Line %(txn)s: %(why)s") % {"txn": "FT-9", "why": why}
    assert words == khmer("Not synced: %(why)s") % {"why": line}


def test_a_fixed_feed_sentence_is_translated_whole():
    with pytest.raises(FeedProtocolError) as caught:
        parse_item({"amount": "1.00"})
    with translation.override("km"):
        words = error_words(caught.value.message)
    assert words == khmer("feed: an item has no txn_id")
    assert "txn_id" in words and "item" not in words
