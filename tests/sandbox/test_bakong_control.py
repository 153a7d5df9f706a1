"""The sandbox's control page changes how the fake Bakong behaves: only a signed-in
staff user may use it, only with the CSRF token, and only while the sandbox is on."""

from __future__ import annotations

import pytest
from django.test import Client

from merchants.models import AuditEvent
from sandbox import bakong as sandbox
from tests.factories import MembershipFactory, UserFactory

CONTROL = "/sandbox/bakong/control/"
SWITCH_OFF_BAKONG = {"fail_status": "503"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client():
    client = Client()
    client.force_login(UserFactory(username="ops", is_staff=True))
    return client


def test_an_anonymous_post_changes_nothing_and_is_sent_to_sign_in():
    # when someone not signed in posts a switch (as the probe did)
    answer = Client().post(CONTROL, SWITCH_OFF_BAKONG)
    # then they are sent to sign in, and Bakong still answers normally
    assert answer.status_code == 302
    assert answer["Location"].startswith("/admin/login/")
    assert sandbox.control().fail_status == 0


def test_an_anonymous_json_post_changes_nothing():
    answer = Client().post(
        CONTROL, {"fail_status": 503}, content_type="application/json"
    )
    assert answer.status_code == 302
    assert sandbox.control().fail_status == 0


def test_a_merchant_owner_who_is_not_staff_may_not_use_it(merchant):
    # given an owner of a merchant (not staff)
    owner = UserFactory(username="owner-not-staff")
    MembershipFactory(user=owner, merchant=merchant, role="owner")
    client = Client()
    client.force_login(owner)
    # when
    answer = client.post(CONTROL, SWITCH_OFF_BAKONG)
    # then
    assert answer.status_code == 302
    assert sandbox.control().fail_status == 0


def test_a_staff_post_without_the_csrf_token_is_refused_and_audited():
    # given a signed-in staff user whose browser is made to post from elsewhere
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="ops-csrf", is_staff=True))
    # when the post carries no CSRF token
    answer = client.post(CONTROL, SWITCH_OFF_BAKONG)
    # then it is refused, nothing changes, and the refusal is in the audit log
    assert answer.status_code == 403
    assert sandbox.control().fail_status == 0
    event = AuditEvent.objects.get(action="access.denied")
    assert event.details["path"] == CONTROL
    assert event.actor_label == "ops-csrf"


def test_a_staff_post_with_the_csrf_token_changes_the_switch():
    # given a signed-in staff user on the page (which sets the CSRF cookie)
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="ops-form", is_staff=True))
    page = client.get(CONTROL)
    token = page.context["csrf_token"]
    # when the form is posted with its token
    answer = client.post(CONTROL, {**SWITCH_OFF_BAKONG, "csrfmiddlewaretoken": token})
    # then
    assert answer.status_code == 302
    assert sandbox.control().fail_status == 503


def test_the_page_is_not_there_while_the_sandbox_is_off(settings, staff_client):
    # given DEBUG's default off, so the sandbox is off
    settings.SANDBOX_ENABLED = False
    # when staff ask for it
    answer = staff_client.get(CONTROL)
    # then
    assert answer.status_code == 404
    assert sandbox.control().fail_status == 0


def test_every_sandbox_route_is_gone_while_the_sandbox_is_off(settings):
    settings.SANDBOX_ENABLED = False
    client = Client()
    for path in (
        "/sandbox/bakong/v1/request_token",
        "/sandbox/bakong/pay/",
        "/sandbox/feed/statement",
    ):
        assert client.post(path, {}).status_code == 404, path
