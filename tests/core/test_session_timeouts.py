"""A signed-in session ends after SESSION_IDLE_SECONDS without a request, and
SESSION_COOKIE_AGE after sign-in however busy it is."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from freezegun import freeze_time

from tests.factories import MembershipFactory, UserFactory

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(merchant):
    user = UserFactory(username="idle-user")
    MembershipFactory(user=user, merchant=merchant, role="accountant")
    client = Client()
    with freeze_time(T0):
        answer = client.post(
            "/login/", {"username": "idle-user", "password": "pw-for-tests"}
        )
    assert answer.status_code == 302
    return client


def test_defaults_are_thirty_minutes_idle_and_twelve_hours_in_all(settings):
    assert settings.SESSION_IDLE_SECONDS == 30 * 60
    assert settings.SESSION_COOKIE_AGE == 12 * 3600


def test_activity_keeps_the_session_alive_within_the_idle_limit(signed_in):
    with freeze_time(T0 + dt.timedelta(minutes=29)):
        assert signed_in.get("/").status_code == 200
    with freeze_time(T0 + dt.timedelta(minutes=58)):
        assert signed_in.get("/").status_code == 200


def test_thirty_idle_minutes_sign_the_user_out(signed_in):
    # given a last request at 00:29
    with freeze_time(T0 + dt.timedelta(minutes=29)):
        assert signed_in.get("/").status_code == 200
    # when the next one comes 30 minutes later
    with freeze_time(T0 + dt.timedelta(minutes=59, seconds=30)):
        answer = signed_in.get("/")
        # then it is sent to sign in, with a word of why
        assert answer.status_code == 302
        assert answer["Location"].startswith("/login/")
        page = signed_in.get(answer["Location"])
    assert "without activity" in page.content.decode()
    assert "_auth_user_id" not in signed_in.session


def test_a_busy_session_still_ends_after_twelve_hours(signed_in):
    # given a request every 20 minutes, the last at 11:40 after sign-in
    for step in range(1, 36):
        moment = T0 + dt.timedelta(minutes=20 * step)
        with freeze_time(moment):
            assert signed_in.get("/").status_code == 200, moment
    # when the twelfth hour has passed
    with freeze_time(T0 + dt.timedelta(hours=12, minutes=1)):
        answer = signed_in.get("/")
    # then
    assert answer.status_code == 302
    assert answer["Location"].startswith("/login/")


def test_the_limits_follow_the_settings(settings, signed_in):
    settings.SESSION_IDLE_SECONDS = 300
    with freeze_time(T0 + dt.timedelta(minutes=4)):
        assert signed_in.get("/").status_code == 200
    with freeze_time(T0 + dt.timedelta(minutes=10)):
        assert signed_in.get("/").status_code == 302
