"""A sign-in that stays kind: the username is kept after a failure, "forgot
password" mails a link (audited), sign-out says so; the lockout still applies."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from merchants.models import AuditEvent
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"


@pytest.fixture
def cashier(merchant):
    user = UserFactory(username="cashier")
    user.email = "cashier@shop.example"
    user.save()
    MembershipFactory(user=user, merchant=merchant, role="accountant")
    return user


def test_a_failed_sign_in_keeps_the_username_and_offers_forgot_password(cashier):
    # when the password is wrong
    answer = Client().post("/login/", {"username": "cashier", "password": "nope"})
    # then the page says so, with the username still filled in
    body = answer.content.decode()
    assert "didn't match" in body
    assert re.search(r'id="id_username" value="cashier"', body)
    assert 'href="/password/reset/"' in body


def test_the_lockout_still_applies_after_the_kinder_page(settings, cashier):
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "cashier", "password": f"x{attempt}"})
    answer = client.post("/login/", {"username": "cashier", "password": PASSWORD})
    assert answer.status_code == 429
    assert 'href="/password/reset/"' in answer.content.decode()


def test_forgot_password_mails_a_link_that_sets_a_new_password(
    settings, cashier, merchant
):
    # given mail kept in memory (the demo prints it on the console)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client = Client()
    # when the cashier asks with their username
    answer = client.post("/password/reset/", {"email": "Cashier"})
    # then a link goes to the account's own address
    assert answer.status_code == 302
    assert answer["Location"] == "/password/reset/sent/"
    (message,) = mail.outbox
    assert message.to == ["cashier@shop.example"]
    assert message.subject == "Tonle: choose a new password"
    link = re.search(r"https?://[^/]+(/password/reset/\S+/)", message.body).group(1)
    # and the link sets a new password once
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-New-pass-2026!", "new_password2": "a-New-pass-2026!"},
    )
    assert done["Location"] == "/password/reset/done/"
    cashier.refresh_from_db()
    assert cashier.check_password("a-New-pass-2026!")
    again = client.get(link, follow=True)
    assert "This link no longer works" in again.content.decode()
    # and both steps are in the merchant's audit log
    actions = set(
        AuditEvent.objects.for_merchant(merchant).values_list("action", flat=True)
    )
    assert {"auth.password_reset_requested", "auth.password_reset_done"} <= actions


def test_forgot_password_by_email_address_works_too(settings, cashier):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Client().post("/password/reset/", {"email": "CASHIER@shop.example"})
    assert [m.to for m in mail.outbox] == [["cashier@shop.example"]]


def test_forgot_password_answers_the_same_for_an_unknown_name(settings, db):
    # given nobody of that name
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # when
    answer = Client().post("/password/reset/", {"email": "nobody"}, follow=True)
    # then the same page, and no mail
    assert "Check your email" in answer.content.decode()
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(
        action="auth.password_reset_requested"
    ).exists()


def test_an_account_without_an_email_gets_no_mail(settings, merchant):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    UserFactory(username="noemail")
    Client().post("/password/reset/", {"email": "noemail"})
    assert mail.outbox == []


def test_signing_out_says_so(owner_client):
    answer = owner_client.post("/logout/", follow=True)
    assert answer.redirect_chain[-1][0].startswith("/login/")
    assert "You are signed out." in answer.content.decode()
    assert owner_client.get("/").status_code == 302


def test_the_demo_prints_mail_on_the_console_and_production_uses_smtp(monkeypatch):
    from tests.core.settings_from_env import settings_from_env

    monkeypatch.setenv("TONLE_ENV_FILE", "")
    monkeypatch.delenv("EMAIL_BACKEND", raising=False)
    demo = settings_from_env(monkeypatch, DEBUG="true")
    production = settings_from_env(monkeypatch, DEBUG="false")
    chosen = settings_from_env(monkeypatch, DEBUG="false", EMAIL_BACKEND="x.Backend")
    assert demo["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert production["EMAIL_BACKEND"] == (
        "django.core.mail.backends.smtp.EmailBackend"
    )
    assert chosen["EMAIL_BACKEND"] == "x.Backend"
