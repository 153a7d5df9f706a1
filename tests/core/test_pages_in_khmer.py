"""Pages answer in Khmer for a person who chose Khmer, and in English otherwise;
the Khmer expected is read from the catalogue, as the pages read it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from merchants.services import audit_event_record
from tests.payments.makers import payment_request_make

BASE = Path(settings.BASE_DIR)
CATALOGUE = BASE / "locale" / "km" / "LC_MESSAGES" / "django.po"
DJANGO_TEXTS = BASE / "locale_django" / "km" / "LC_MESSAGES" / "django.po"


@cache
def _catalogue(path: Path = CATALOGUE) -> polib.POFile:
    return polib.pofile(str(path))


def km(msgid: str, path: Path = CATALOGUE) -> str:
    entry = _catalogue(path).find(msgid)
    assert entry is not None, msgid
    text = entry.msgstr_plural[0] if entry.msgid_plural else entry.msgstr
    assert text, msgid
    return text


@pytest.mark.parametrize("path, least", [(CATALOGUE, 500), (DJANGO_TEXTS, 20)])
def test_every_entry_of_the_khmer_catalogues_is_translated(path, least):
    catalogue = _catalogue(path)
    assert len(catalogue) > least
    assert [e.msgid for e in catalogue.untranslated_entries()] == []
    assert [e.msgid for e in catalogue.fuzzy_entries()] == []
    for entry in catalogue:
        texts = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        assert all(t.strip() for t in texts), entry.msgid


@pytest.fixture
def chooses(owner_client):
    """The owner's language as chosen in the header (kept on their settings)."""

    def choose(language: str) -> Client:
        owner_client.post(reverse("set_language"), {"language": language, "next": "/"})
        return owner_client

    return choose


def _page(client, url, **params) -> str:
    response = client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, url
    return response.content.decode()


PAGE_WORDS = [
    ("payments:list", ["Verify a slip", "Pending", "Order / bill"]),
    ("dashboard", ["Accounts", "KHQR collected today", "Dashboard"]),
    ("audit-log", ["Issued a KHQR code", "IP address", "Audit log"]),
]


@pytest.mark.django_db
@pytest.mark.parametrize("name, words", PAGE_WORDS)
def test_a_page_is_in_khmer_for_whoever_chose_khmer(chooses, merchant, name, words):
    payment_request_make(merchant=merchant)
    audit_event_record(merchant=merchant, action="payment_request.created")
    client = chooses("km")
    html = _page(client, reverse(name))
    assert '<html lang="km"' in html
    for word in words:
        assert km(word) in html, word


@pytest.mark.django_db
@pytest.mark.parametrize("name, words", PAGE_WORDS)
def test_a_page_stays_in_english_otherwise(owner_client, merchant, name, words):
    payment_request_make(merchant=merchant)
    audit_event_record(merchant=merchant, action="payment_request.created")
    html = _page(owner_client, reverse(name))
    assert '<html lang="en"' in html
    for word in words:
        assert word in html and km(word) not in html, word


@pytest.mark.django_db
def test_the_payment_page_in_khmer_and_in_english(chooses, merchant):
    payment = payment_request_make(merchant=merchant, amount="12.50")
    url = reverse("payments:detail", args=[payment.pk])
    client = chooses("en")
    english = _page(client, url)
    assert "Bakong transactions" in english and "12.50 USD" in english
    khmer = _page(chooses("km"), url)
    for word in ["Bakong transactions", "KHQR string", "Pending", "Cancel this code"]:
        assert km(word) in khmer, word
    assert "Bakong transactions" not in khmer
    assert "12.50 USD" in khmer  # amounts read the same


@pytest.mark.django_db
def test_the_sign_in_page_follows_the_browser(client):
    khmer = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="km").content.decode()
    assert km("Sign in to Tonle") in khmer and km("Forgot your password?") in khmer
    english = client.get(reverse("login")).content.decode()
    assert "Sign in to Tonle" in english and km("Sign in to Tonle") not in english


@pytest.mark.django_db
def test_form_errors_are_in_khmer(chooses):
    client = chooses("km")
    audit = _page(
        client, reverse("audit-log"), date_from="05/03/2026", date_to="01/03/2026"
    )
    assert km("The end is before the start.") in audit
    payments = _page(client, reverse("payments:list"), amount_min="abc")
    assert km("is not an amount (digits, at most 2 decimal places)") in payments
    assert km("Some filters were not understood, so no payments are shown:") in (
        payments
    )


@pytest.mark.django_db
def test_a_message_after_an_action_is_in_khmer(chooses, merchant):
    payment = payment_request_make(merchant=merchant)
    client = chooses("km")
    response = client.post(
        reverse("payments:cancel", args=[payment.pk]), {"confirmed": "yes"}, follow=True
    )
    assert km("The code is cancelled; it can no longer be paid.") in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_djangos_own_form_texts_are_in_khmer_too(chooses):
    client = chooses("km")
    response = client.post(
        reverse("payments:webhooks"), {"url": "not a url", "events": ["x"]}
    )
    html = response.content.decode()
    assert km("Enter a valid URL.", DJANGO_TEXTS) in html
    password = _page(client, reverse("password-change"))
    assert km("Old password", DJANGO_TEXTS) in password
    assert km("New password confirmation", DJANGO_TEXTS) in password


@pytest.mark.django_db
def test_the_words_the_script_writes_come_in_the_pages_language(chooses):
    html = _page(chooses("km"), reverse("payments:list"))
    for name, msgid in [("copied", "Copied"), ("confirm", "Yes, do it")]:
        assert f'data-word-{name}="{km(msgid)}"' in html
    english = _page(chooses("en"), reverse("payments:list"))
    assert 'data-word-copied="Copied"' in english
