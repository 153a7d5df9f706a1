"""A signed-in person's language is kept on their settings: it follows them to
every browser they sign in from and wins over Accept-Language and the cookie."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from merchants.models import UserSettings
from merchants.user_language import SESSION_LANGUAGE


def _lang(response) -> str:
    return response.content.decode().split('<html lang="', 1)[1].split('"', 1)[0]


def _choose(client, language: str):
    return client.post(reverse("set_language"), {"language": language, "next": "/"})


@pytest.mark.django_db
def test_the_header_switch_keeps_the_choice_on_the_users_settings(owner_client):
    response = _choose(owner_client, "km")
    assert response.status_code == 302
    assert UserSettings.objects.get(user=owner_client.user).language == "km"
    _choose(owner_client, "en")
    assert UserSettings.objects.get(user=owner_client.user).language == "en"


@pytest.mark.django_db
def test_the_choice_follows_the_user_to_a_new_browser(owner_client, merchant):
    _choose(owner_client, "km")
    # a fresh browser: no cookie, and it asks for English
    other = Client()
    other.post(
        reverse("login"),
        {"username": owner_client.user.username, "password": "pw-for-tests"},
    )
    page = other.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert _lang(page) == "km"


@pytest.mark.django_db
def test_the_users_choice_wins_over_the_cookie_and_accept_language(owner_client):
    UserSettings.objects.create(user=owner_client.user, language="km")
    session = owner_client.session
    session.pop(SESSION_LANGUAGE, None)  # as a session from before the choice
    session.save()
    owner_client.cookies["django_language"] = "en"
    page = owner_client.get(reverse("payments:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert _lang(page) == "km"


@pytest.mark.django_db
def test_without_a_choice_the_browser_decides(owner_client):
    assert _lang(owner_client.get("/", HTTP_ACCEPT_LANGUAGE="km")) == "km"
    assert _lang(owner_client.get("/", HTTP_ACCEPT_LANGUAGE="en")) == "en"
    assert not UserSettings.objects.filter(user=owner_client.user).exists()


@pytest.mark.django_db
def test_a_language_that_is_not_offered_is_not_kept(owner_client):
    _choose(owner_client, "fr")
    assert not UserSettings.objects.filter(user=owner_client.user).exists()
    assert _lang(owner_client.get("/")) == "en"


@pytest.mark.django_db
def test_a_visitor_who_is_not_signed_in_only_gets_the_cookie(client):
    response = _choose(client, "km")
    assert response.cookies["django_language"].value == "km"
    assert UserSettings.objects.count() == 0
    assert _lang(client.get(reverse("login"))) == "km"
