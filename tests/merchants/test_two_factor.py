"""Optional two-factor sign-in: a user enrols a TOTP app; from then on the password
alone does not sign in, a code from the app does, wrong codes count towards the
lockout, and staff with a device reach the admin only once verified."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from merchants.models import AuditEvent
from tests.factories import MembershipFactory, UserFactory

PASSWORD = "pw-for-tests"
T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def code_for(device: TOTPDevice) -> str:
    """What the authenticator app shows now (RFC 6238, computed independently of
    the device's own check)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}"


@pytest.fixture
def owner(merchant):
    user = UserFactory(username="owner-2fa")
    MembershipFactory(user=user, merchant=merchant, role="owner")
    return user


@pytest.fixture
def enrolled(owner):
    return TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)


def test_an_owner_enrols_by_scanning_and_confirming_a_code(owner):
    client = Client()
    client.force_login(owner)
    # given the page says it is off
    assert (
        "Two-factor sign-in is off"
        in client.get("/settings/two-factor/").content.decode()
    )
    with freeze_time(T0) as clock:
        # when they start the set-up
        page = client.post("/settings/two-factor/", {"action": "start"})
        # then the page shows the otpauth QR (an SVG image) and the secret
        body = page.content.decode()
        assert 'src="data:image/svg+xml;base64,' in body
        secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', body).group(1)
        device = TOTPDevice.objects.get(user=owner)
        assert not device.confirmed
        assert secret.replace(" ", "") in device.config_url
        # and a wrong code does not turn it on
        wrong = client.post(
            "/settings/two-factor/", {"action": "confirm", "token": "000000"}
        )
        assert wrong.status_code == 400
        device.refresh_from_db()
        assert not device.confirmed
        # when the app's code is typed (past the throttle of the wrong one)
        clock.tick(dt.timedelta(seconds=31))
        done = client.post(
            "/settings/two-factor/", {"action": "confirm", "token": code_for(device)}
        )
    # then two-factor sign-in is on, and audited
    assert done.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(
        action="auth.two_factor_enabled", actor=owner
    ).exists()


def test_with_a_device_the_password_alone_does_not_sign_in(enrolled):
    client = Client()
    with freeze_time(T0):
        # when the right password is given
        answer = client.post(
            "/login/?next=/payments/",
            {"username": "owner-2fa", "password": PASSWORD},
        )
        # then a code is asked for, and nobody is signed in yet
        assert answer.status_code == 302
        assert answer["Location"] == "/login/verify/"
        assert client.get("/").status_code == 302
        assert "_auth_user_id" not in client.session
        # when the app's code follows
        verified = client.post("/login/verify/", {"token": code_for(enrolled)})
        # then they are in, where they were going, and the session is verified
        assert verified.status_code == 302
        assert verified["Location"] == "/payments/"
        assert client.get("/").status_code == 200
    event = AuditEvent.objects.get(action="auth.login")
    assert event.details["two_factor"] is True


def test_a_wrong_code_is_refused_and_audited(enrolled):
    client = Client()
    with freeze_time(T0):
        client.post("/login/", {"username": "owner-2fa", "password": PASSWORD})
        answer = client.post("/login/verify/", {"token": "123456"})
    assert answer.status_code == 400
    assert "not the one your app shows" in answer.content.decode()
    assert client.get("/").status_code == 302
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.details["reason"] == "otp"
    assert "123456" not in str(failed.details)


def test_wrong_codes_lead_to_the_same_lockout_as_passwords(settings, enrolled):
    client = Client()
    with freeze_time(T0) as clock:
        client.post("/login/", {"username": "owner-2fa", "password": PASSWORD})
        for attempt in range(settings.AXES_FAILURE_LIMIT):
            clock.tick(dt.timedelta(seconds=40))  # past django-otp's own throttle
            client.post("/login/verify/", {"token": f"00000{attempt}"})
        clock.tick(dt.timedelta(seconds=40))
        # when the right code finally comes
        answer = client.post("/login/verify/", {"token": code_for(enrolled)})
    # then the lockout holds
    assert answer.status_code == 429
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(action="auth.locked_out").exists()


def test_a_code_cannot_be_used_twice(enrolled):
    with freeze_time(T0):
        first = Client()
        first.post("/login/", {"username": "owner-2fa", "password": PASSWORD})
        code = code_for(enrolled)
        assert first.post("/login/verify/", {"token": code}).status_code == 302
        # when someone who saw the code replays it at once
        second = Client()
        second.post("/login/", {"username": "owner-2fa", "password": PASSWORD})
        replay = second.post("/login/verify/", {"token": code})
    assert replay.status_code == 400


def test_the_code_step_expires(enrolled):
    client = Client()
    with freeze_time(T0) as clock:
        client.post("/login/", {"username": "owner-2fa", "password": PASSWORD})
        clock.tick(dt.timedelta(minutes=6))
        answer = client.post("/login/verify/", {"token": code_for(enrolled)})
    assert answer.status_code == 302
    assert answer["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_the_verify_step_without_a_password_first_goes_back_to_sign_in(db):
    answer = Client().post("/login/verify/", {"token": "123456"})
    assert (answer.status_code, answer["Location"]) == (302, "/login/")


def test_turning_it_off_takes_a_current_code(owner, enrolled):
    client = Client()
    client.force_login(owner)
    with freeze_time(T0):
        refused = client.post(
            "/settings/two-factor/", {"action": "disable", "token": "000000"}
        )
        assert refused.status_code == 400
        assert TOTPDevice.objects.filter(user=owner).exists()
    with freeze_time(T0 + dt.timedelta(minutes=1)):
        done = client.post(
            "/settings/two-factor/", {"action": "disable", "token": code_for(enrolled)}
        )
    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(user=owner).exists()
    assert AuditEvent.objects.filter(action="auth.two_factor_disabled").exists()


def test_a_user_without_a_device_signs_in_with_the_password(merchant):
    user = UserFactory(username="plain")
    MembershipFactory(user=user, merchant=merchant, role="viewer")
    client = Client()
    answer = client.post("/login/", {"username": "plain", "password": PASSWORD})
    assert answer.status_code == 302
    assert client.get("/").status_code == 200


# -- staff and the admin -----------------------------------------------------------


@pytest.fixture
def staff_with_device(db):
    user = UserFactory(username="ops-2fa", is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


def test_the_admin_login_page_hands_over_to_tonles_sign_in(db):
    answer = Client().get("/admin/login/?next=/admin/merchants/")
    assert answer.status_code == 302
    assert answer["Location"] == "/login/?next=/admin/merchants/"


def test_staff_with_a_device_do_not_reach_the_admin_unverified(staff_with_device):
    # given a staff session that never gave a code (e.g. made before enrolment)
    user, _ = staff_with_device
    client = Client()
    client.force_login(user)
    # when
    answer = client.get("/admin/")
    # then
    assert answer.status_code == 302
    assert "/login/" in answer["Location"]


def test_staff_with_a_device_reach_the_admin_after_the_code(staff_with_device):
    user, device = staff_with_device
    client = Client()
    with freeze_time(T0):
        client.post(
            "/login/?next=/admin/", {"username": "ops-2fa", "password": PASSWORD}
        )
        answer = client.post("/login/verify/", {"token": code_for(device)})
        assert answer["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200


def test_staff_without_a_device_reach_the_admin(db):
    user = UserFactory(username="ops-plain", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == 200
