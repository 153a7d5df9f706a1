"""The Bakong polling tasks (eager Celery), the beat schedule rows and the
poll_payments command, with Bakong scripted by MockTransport."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import httpx
import pytest
from celery.exceptions import Retry
from django.core.cache import cache
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask
from freezegun import freeze_time

from config.celery import app
from payments import tasks
from payments.bakong_access import BakongAccess
from payments.clients.bakong import BakongClient
from payments.models import BakongTransaction, PaymentRequest, PaymentStatus
from tests.payments.bakong_fakes import BASE, FakeBakong, envelope, tx_data
from tests.payments.payment_helpers import pending_request

NOW = dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fake(monkeypatch) -> FakeBakong:
    """Every BakongAccess the tasks build talks to this scripted Bakong."""
    bakong = FakeBakong()

    def from_settings(cls, transport=None):
        client = BakongClient(base_url=BASE, token="tok", transport=bakong.transport())
        return cls(client=client, email="dev@shop.kh")

    monkeypatch.setattr(BakongAccess, "from_settings", classmethod(from_settings))
    return bakong


def pays(request: PaymentRequest):
    def answer(http_request: httpx.Request) -> httpx.Response:
        data = tx_data(
            hash=(request.md5 * 2)[:64],
            amount=str(request.amount),
            currency=request.currency,
            createdDateMs=int(NOW.timestamp() * 1000),
        )
        items = [
            {"md5": m, "status": "SUCCESS" if m == request.md5 else "NOT_FOUND"}
            | ({"data": data} if m == request.md5 else {"data": None})
            for m in json.loads(http_request.content)
        ]
        return httpx.Response(200, json=envelope(items))

    return answer


def test_the_polling_tasks_are_registered_under_their_names():
    for name in ("payments.check_payment", "payments.poll_due", "payments.sweep"):
        assert name in app.tasks


@pytest.mark.django_db
def test_the_beat_schedule_polls_every_five_seconds_and_sweeps_every_minute():
    rows = {
        t.task: t
        for t in PeriodicTask.objects.filter(
            task__in=["payments.poll_due", "payments.sweep"]
        ).select_related("interval")
    }
    assert (
        rows["payments.poll_due"].interval.every,
        rows["payments.poll_due"].interval.period,
    ) == (5, "seconds")
    assert rows["payments.sweep"].interval.every == 60
    assert all(t.enabled for t in rows.values())
    assert rows["payments.poll_due"].expire_seconds == 30


@pytest.mark.django_db
def test_check_payment_pays_a_due_request(merchant, fake):
    with freeze_time(NOW):
        request = pending_request(merchant)
    fake.on("check_transaction_by_md5_list", pays(request))
    with freeze_time(NOW + 3 * S):
        tasks.check_payment.delay(request.pk)
    request.refresh_from_db()
    assert request.status == PaymentStatus.PAID
    assert BakongTransaction.objects.filter(payment_request=request).count() == 1


@pytest.mark.django_db
def test_check_payment_twice_is_a_no_op_the_second_time(merchant, fake):
    with freeze_time(NOW):
        request = pending_request(merchant)
    fake.on("check_transaction_by_md5_list", pays(request))
    with freeze_time(NOW + 3 * S):
        tasks.check_payment.delay(request.pk)
        tasks.check_payment.delay(request.pk)
    assert len(fake.seen) == 1
    assert BakongTransaction.objects.filter(payment_request=request).count() == 1


@pytest.mark.django_db
def test_check_payment_of_a_request_not_yet_due_asks_nothing(merchant, fake):
    # (an eager run of the first-check task lands before its countdown)
    with freeze_time(NOW):
        request = pending_request(merchant, next_check_at=NOW + 3 * S)
        tasks.check_payment.delay(request.pk)
    assert fake.seen == []


@pytest.mark.django_db
def test_check_payment_of_a_vanished_request_is_a_no_op(fake):
    tasks.check_payment.delay(424242)
    assert fake.seen == []


@pytest.mark.django_db
def test_check_payment_retries_a_transient_error_no_sooner_than_retry_after(
    merchant, fake, monkeypatch
):
    # given Bakong answers 429 with Retry-After: 40
    with freeze_time(NOW):
        request = pending_request(merchant)
    fake.on(
        "check_transaction_by_md5_list",
        httpx.Response(429, headers={"Retry-After": "40"}),
    )
    asked = []

    def retry(**kwargs):
        asked.append(kwargs)
        raise Retry("again", when=kwargs["countdown"])

    monkeypatch.setattr(tasks.check_payment, "retry", retry)
    # when
    with freeze_time(NOW + 3 * S), pytest.raises(Retry):
        tasks.check_payment.apply(args=(request.pk,), throw=True)
    # then
    (kwargs,) = asked
    assert kwargs["countdown"] >= 40
    assert kwargs["max_retries"] == tasks.POLL_MAX_RETRIES
    assert "429" in str(kwargs["exc"])


@pytest.mark.django_db
def test_check_payment_gives_up_quietly_after_its_retries(merchant, fake):
    with freeze_time(NOW):
        request = pending_request(merchant)
    fake.on("check_transaction_by_md5_list", httpx.Response(503))
    with freeze_time(NOW + 3 * S):
        result = tasks.check_payment.apply(
            args=(request.pk,), retries=tasks.POLL_MAX_RETRIES
        )
    assert result.successful()
    request.refresh_from_db()
    assert request.status == PaymentStatus.PENDING
    assert request.next_check_at is not None  # the beat's poller will look again


@pytest.mark.django_db
def test_poll_due_runs_one_round(merchant, fake):
    with freeze_time(NOW):
        request = pending_request(merchant)
        other = pending_request(merchant)
    fake.on("check_transaction_by_md5_list", pays(request))
    with freeze_time(NOW + 3 * S):
        tasks.poll_due.delay()
    assert PaymentRequest.objects.get(pk=request.pk).status == PaymentStatus.PAID
    assert PaymentRequest.objects.get(pk=other.pk).check_attempts == 1


@pytest.mark.django_db
def test_sweep_hands_an_overdue_request_to_check_payment(merchant, fake):
    # given a request whose check is a minute overdue (its message was lost)
    with freeze_time(NOW):
        request = pending_request(merchant, next_check_at=NOW - 60 * S)
    fake.on("check_transaction_by_md5_list", pays(request))
    # when the sweeper runs (eager: the check runs at once)
    with freeze_time(NOW):
        tasks.sweep.delay()
    # then it was checked and paid
    assert PaymentRequest.objects.get(pk=request.pk).status == PaymentStatus.PAID


@pytest.mark.django_db
def test_poll_payments_once_prints_the_round_as_json(merchant, fake):
    with freeze_time(NOW):
        request = pending_request(merchant)
        pending_request(merchant)
    fake.on("check_transaction_by_md5_list", pays(request))
    out = StringIO()
    with freeze_time(NOW + 3 * S):
        call_command("poll_payments", "--once", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "checked": 2,
        "paid": 1,
        "expired": 0,
        "errors": 0,
    }


@pytest.mark.django_db
def test_poll_payments_counts_errors(merchant, fake):
    with freeze_time(NOW):
        pending_request(merchant)
    fake.on("check_transaction_by_md5_list", httpx.Response(500))
    out = StringIO()
    with freeze_time(NOW + 3 * S):
        call_command("poll_payments", "--once", "--json", stdout=out)
    assert json.loads(out.getvalue())["errors"] == 1


@pytest.mark.django_db
def test_poll_payments_refuses_a_bad_limit_naming_it():
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("poll_payments", "--once", "--limit", "0", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "error": "invalid_input",
        "message": "--limit must be 1 or more",
    }
