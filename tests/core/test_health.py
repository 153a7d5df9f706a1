"""/healthz says the process answers; /readyz checks the database, the broker and
the beat's heartbeat, and names what failed."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from freezegun import freeze_time

from core.heartbeat import beat_tick_age_seconds, beat_tick_record
from core.tasks import beat_tick

NOON = dt.datetime(2026, 3, 2, 5, 0, tzinfo=dt.UTC)


def _get(path: str, **extra):
    return Client().get(path, **extra)


def test_healthz_answers_without_touching_the_database():
    # given no database access at all (no db fixture: pytest-django refuses it)
    # when
    response = _get("/healthz")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_healthz_is_answered_over_plain_http_when_tls_is_enforced(settings):
    # given production's redirect to https (the load balancer probes over http)
    settings.SECURE_SSL_REDIRECT = True
    # when
    health, page = _get("/healthz"), _get("/login/")
    # then the probe is answered, a page still redirected
    assert health.status_code == 200
    assert page.status_code == 301


def test_healthz_refuses_a_post():
    assert Client().post("/healthz").status_code == 405


def test_readyz_is_ok_when_database_broker_and_beat_answer(db):
    # given a fresh heartbeat
    beat_tick.delay()
    # when
    response = _get("/readyz")
    # then
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["failed"] == []
    assert set(body["checks"]) == {"database", "broker", "beat"}
    assert all(check["ok"] for check in body["checks"].values())
    assert "no-store" in response["Cache-Control"]


def test_readyz_names_the_broker_when_it_refuses_connections(db, settings):
    # given a broker that is not there (a closed port on loopback)
    beat_tick_record()
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    # when
    response = _get("/readyz")
    # then
    body = response.json()
    assert response.status_code == 503
    assert body["failed"] == ["broker"]
    assert body["checks"]["broker"] == {"ok": False, "error": "OperationalError"}
    assert body["checks"]["database"]["ok"] is True


def test_readyz_names_the_broker_when_the_queue_folder_is_gone(db, settings, tmp_path):
    # given the filesystem broker pointed at a folder that does not exist
    beat_tick_record()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "x")}
    # when
    response = _get("/readyz")
    # then
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["error"] == (
        "the broker's queue folder is missing or read-only"
    )


def test_readyz_names_the_database_when_it_fails(db):
    # given a database that refuses the connection
    beat_tick_record()
    refused = OperationalError("connection to server failed: secret-host")
    with mock.patch("core.health.connections") as connections:
        connections.__getitem__.return_value.cursor.side_effect = refused
        # when
        response = _get("/readyz")
    # then it says which check failed, without the driver's message
    body = response.json()
    assert response.status_code == 503
    assert body["failed"] == ["database"]
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert "secret-host" not in response.content.decode()


def test_readyz_names_the_beat_when_its_last_tick_is_stale(db, settings):
    # given a tick at noon and a limit of 120 s
    settings.BEAT_TICK_MAX_AGE_SECONDS = 120
    with freeze_time(NOON):
        beat_tick_record()
    # when asked 119 s later, then 121 s later
    with freeze_time(NOON + dt.timedelta(seconds=119)):
        fresh = _get("/readyz")
    with freeze_time(NOON + dt.timedelta(seconds=121)):
        stale = _get("/readyz")
    # then
    assert fresh.status_code == 200, fresh.json()
    assert stale.status_code == 503
    assert stale.json()["failed"] == ["beat"]
    assert stale.json()["checks"]["beat"]["error"] == (
        "the beat's last tick is 121 s old (more than 120 s)"
    )


def test_readyz_names_the_beat_when_it_never_ticked(db):
    # given an empty cache (a beat that never ran)
    # when
    response = _get("/readyz")
    # then
    assert response.status_code == 503
    assert response.json()["checks"]["beat"] == {
        "ok": False,
        "error": "the beat has not ticked yet",
    }


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_need_no_login(db, path):
    beat_tick_record()
    response = _get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_the_beat_tick_task_stamps_now():
    # when the heartbeat runs at noon
    with freeze_time(NOON):
        beat_tick.delay()
    # then 30 s later its age is 30 s
    with freeze_time(NOON + dt.timedelta(seconds=30)):
        assert beat_tick_age_seconds() == 30.0
