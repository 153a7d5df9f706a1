"""The polling service: schedule, claim, bulk vs single checks, Retry-After, expiry
and grace, and two pollers racing, against a scripted Bakong (MockTransport) and
the real payment service (bakong_transaction_apply)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import httpx
import pytest
from django.core.cache import cache
from django.db import connections
from freezegun import freeze_time

from core.exceptions import TransientError
from payments.bakong_access import BakongAccess
from payments.clients.bakong import BakongClient
from payments.models import (
    BakongTransaction,
    PaymentCheck,
    PaymentFlag,
    PaymentRequest,
    PaymentStatus,
)
from payments.services import polling
from payments.services.polling import (
    check_interval,
    next_check_at_for,
    payment_request_check,
    payment_request_schedule_first_check,
    payments_poll_due,
    payments_sweep,
)
from tests.payments.bakong_fakes import BASE, FakeBakong, envelope, fail, ok, tx_data
from tests.payments.payment_helpers import pending_request

NOW = dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def access_for(fake: FakeBakong) -> BakongAccess:
    return BakongAccess(
        client=BakongClient(base_url=BASE, token="tok", transport=fake.transport()),
        email="dev@shop.kh",
    )


def bulk_answer(paid: dict[str, dict]) -> callable:
    """A bulk endpoint: SUCCESS with the given data for these md5s, else NOT_FOUND."""

    def answer(request: httpx.Request) -> httpx.Response:
        import json

        items = []
        for md5 in json.loads(request.content):
            if md5 in paid:
                items.append({"md5": md5, "status": "SUCCESS", "data": paid[md5]})
            else:
                items.append({"md5": md5, "status": "NOT_FOUND", "data": None})
        return httpx.Response(200, json=envelope(items))

    return answer


def single_answer(paid: dict[str, dict]) -> callable:
    def answer(request: httpx.Request) -> httpx.Response:
        import json

        md5 = json.loads(request.content)["md5"]
        if md5 in paid:
            return ok(paid[md5])
        return fail(1)

    return answer


def paid_data(request: PaymentRequest, **overrides) -> dict:
    data = tx_data(
        hash=(request.md5 * 2)[:64],
        amount=str(request.amount),
        currency=request.currency,
        createdDateMs=int(NOW.timestamp() * 1000),
    )
    data.update(overrides)
    return data


# -- the schedule ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "gap"),
    [(0, 5), (60, 5), (119, 5), (120, 15), (599, 15), (600, 30), (86000, 30)],
)
def test_checks_are_frequent_for_two_minutes_then_less_often(age, gap):
    assert check_interval(age=dt.timedelta(seconds=age)) == dt.timedelta(seconds=gap)


def test_the_last_check_is_at_the_end_of_the_grace_then_none(settings):
    settings.PAYMENT_EXPIRY_GRACE_SECONDS = 300
    created = NOW
    expires = NOW + dt.timedelta(seconds=900)
    end = expires + dt.timedelta(seconds=300)
    assert next_check_at_for(created_at=created, expires_at=expires, now=NOW) == (
        NOW + 5 * S
    )
    assert (
        next_check_at_for(created_at=created, expires_at=expires, now=end - 10 * S)
        == end
    )
    assert next_check_at_for(created_at=created, expires_at=expires, now=end) is None
    assert next_check_at_for(created_at=created, expires_at=None, now=NOW) is None


@pytest.mark.django_db
def test_schedule_first_check_sets_it_three_seconds_after_creation_and_enqueues(
    merchant, monkeypatch, django_capture_on_commit_callbacks
):
    # given a new request
    from payments import tasks

    sent = []
    monkeypatch.setattr(
        tasks.check_payment,
        "apply_async",
        lambda args, **kwargs: sent.append((args, kwargs)),
    )
    with freeze_time(NOW):
        request = pending_request(merchant, next_check_at=None)
        # when
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            payment_request_schedule_first_check(payment_request_id=request.pk)
    # then
    request.refresh_from_db()
    assert request.next_check_at == NOW + 3 * S
    assert len(callbacks) == 1
    assert sent == [((request.pk,), {"countdown": 3.0})]


@pytest.mark.django_db
def test_schedule_first_check_leaves_a_static_or_settled_code_alone(
    merchant, monkeypatch
):
    from payments import tasks

    sent = []
    monkeypatch.setattr(
        tasks.check_payment, "apply_async", lambda *a, **k: sent.append(a)
    )
    static = pending_request(merchant, amount=None, currency="KHR", next_check_at=None)
    paid = pending_request(merchant, next_check_at=None)
    PaymentRequest.objects.filter(pk=paid.pk).update(status=PaymentStatus.PAID)
    payment_request_schedule_first_check(payment_request_id=static.pk)
    payment_request_schedule_first_check(payment_request_id=paid.pk)
    assert sent == []
    assert PaymentRequest.objects.get(pk=static.pk).next_check_at is None


# -- one round -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_round_checks_due_requests_in_one_bulk_call_and_applies_the_paid_one(
    merchant,
):
    # given three due requests; Bakong says the second is paid
    with freeze_time(NOW):
        requests = [pending_request(merchant) for _ in range(3)]
    paid = requests[1]
    fake = FakeBakong().on(
        "check_transaction_by_md5_list", bulk_answer({paid.md5: paid_data(paid)})
    )
    # when
    with freeze_time(NOW + 3 * S):
        stats = payments_poll_due(access=access_for(fake))
    # then one bulk call asked about all three
    (call,) = fake.seen
    assert sorted(fake.body(call)) == sorted(r.md5 for r in requests)
    assert stats.summary() == {"checked": 3, "paid": 1, "expired": 0, "errors": 0}
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.PAID
    assert paid.paid_amount == Decimal("12.50")
    assert BakongTransaction.objects.get(payment_request=paid).outcome == "matched"
    # and each request has its check logged and its next check scheduled
    for request in requests:
        request.refresh_from_db()
        assert request.check_attempts == 1
        assert request.last_checked_at == NOW + 3 * S
    assert PaymentCheck.objects.get(payment_request=paid).outcome == "paid"
    assert requests[0].checks.get().outcome == "not_found"
    assert requests[0].next_check_at == NOW + 8 * S
    assert paid.next_check_at is None


@pytest.mark.django_db
def test_without_bulk_the_round_checks_singly_and_remembers(merchant):
    # given a provider with no bulk endpoint (404)
    with freeze_time(NOW):
        requests = [pending_request(merchant) for _ in range(3)]
    fake = FakeBakong().on(
        "check_transaction_by_md5",
        single_answer({requests[0].md5: paid_data(requests[0])}),
    )
    # when
    with freeze_time(NOW + 3 * S):
        stats = payments_poll_due(access=access_for(fake), concurrency=1)
    # then one bulk attempt, then single checks for each
    assert len(fake.calls("check_transaction_by_md5_list")) == 1
    assert len(fake.calls("check_transaction_by_md5")) == 3
    assert (stats.checked, stats.paid) == (3, 1)
    # and the next round does not try bulk again
    with freeze_time(NOW + 10 * S):
        payments_poll_due(access=access_for(fake), concurrency=1)
    assert len(fake.calls("check_transaction_by_md5_list")) == 1
    assert len(fake.calls("check_transaction_by_md5")) == 5


@pytest.mark.django_db
def test_bulk_off_in_settings_means_single_checks_only(merchant, settings):
    settings.BAKONG_BULK_MD5 = False
    with freeze_time(NOW):
        pending_request(merchant)
    fake = FakeBakong().on("check_transaction_by_md5", fail(1))
    with freeze_time(NOW + 3 * S):
        payments_poll_due(access=access_for(fake))
    assert [r.url.path.rsplit("/", 1)[-1] for r in fake.seen] == [
        "check_transaction_by_md5"
    ]


@pytest.mark.django_db
def test_more_than_fifty_due_requests_go_in_batches_of_fifty(merchant):
    with freeze_time(NOW):
        for _ in range(60):
            pending_request(merchant)
    fake = FakeBakong().on("check_transaction_by_md5_list", bulk_answer({}))
    with freeze_time(NOW + 3 * S):
        stats = payments_poll_due(access=access_for(fake), concurrency=2)
    assert sorted(len(fake.body(c)) for c in fake.seen) == [10, 50]
    assert stats.checked == 60


@pytest.mark.django_db
def test_only_due_pending_dynamic_requests_are_checked(merchant):
    with freeze_time(NOW):
        due = pending_request(merchant)
        pending_request(merchant, next_check_at=NOW + 60 * S)  # not yet
        pending_request(merchant, amount=None, currency="KHR", next_check_at=NOW)
        settled = pending_request(merchant)
        PaymentRequest.objects.filter(pk=settled.pk).update(
            status=PaymentStatus.CANCELLED
        )
    fake = FakeBakong().on("check_transaction_by_md5_list", bulk_answer({}))
    with freeze_time(NOW + 3 * S):
        payments_poll_due(access=access_for(fake))
    assert fake.body(fake.seen[0]) == [due.md5]


@pytest.mark.django_db
def test_single_checks_run_concurrently_but_never_more_than_asked(merchant):
    # given 20 due requests and a provider without bulk that answers slowly
    with freeze_time(NOW):
        for _ in range(20):
            pending_request(merchant)
    lock, in_flight, peak = threading.Lock(), [0], [0]

    def slow(request):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        return fail(1)

    fake = FakeBakong().on("check_transaction_by_md5", slow)
    # when
    with freeze_time(NOW + 3 * S):
        stats = payments_poll_due(access=access_for(fake), concurrency=4)
    # then
    assert stats.checked == 20
    assert 2 <= peak[0] <= 4


@pytest.mark.django_db
def test_a_429_defers_the_rest_of_the_round_and_the_next_round_sends_nothing(
    merchant,
):
    # given three due requests and single checks; the first call answers 429
    with freeze_time(NOW):
        requests = [pending_request(merchant) for _ in range(3)]
    fake = FakeBakong().on(
        "check_transaction_by_md5",
        httpx.Response(429, headers={"Retry-After": "30"}),
        fail(1),
    )
    access = access_for(fake)
    cache.set(access._k("bulk_unsupported"), True)
    with freeze_time(NOW + 3 * S) as clock:
        # when
        stats = payments_poll_due(access=access, concurrency=1)
        # then only the first call went out; the others wait for the window
        assert len(fake.seen) == 1
        assert (stats.errors, stats.deferred, stats.checked) == (1, 2, 0)
        for request in requests:
            request.refresh_from_db()
            assert request.next_check_at >= NOW + 33 * S
        # (only the request actually asked counts an attempt)
        assert [r.check_attempts for r in requests] == [1, 0, 0]
        # and a round inside the window (the requests made due again) sends nothing
        PaymentRequest.objects.update(next_check_at=NOW)
        clock.tick(10)
        again = payments_poll_due(access=access_for(fake), concurrency=1)
        assert len(fake.seen) == 1
        assert again.deferred == 3
        # and after the window calls go out again
        clock.tick(21)
        PaymentRequest.objects.update(next_check_at=NOW)
        after = payments_poll_due(access=access_for(fake), concurrency=1)
        assert after.checked == 3
        assert len(fake.seen) == 4
    assert requests[0].checks.filter(outcome="error").count() == 1


@pytest.mark.django_db
def test_a_server_error_is_logged_as_a_check_and_the_request_rescheduled(merchant):
    with freeze_time(NOW):
        request = pending_request(merchant)
    fake = FakeBakong().on(
        "check_transaction_by_md5_list", httpx.Response(502, text="bad gateway")
    )
    with freeze_time(NOW + 3 * S):
        stats = payments_poll_due(access=access_for(fake))
    assert stats.summary()["errors"] == 1
    check = request.checks.get()
    assert check.outcome == "error" and "502" in check.detail
    request.refresh_from_db()
    assert request.status == PaymentStatus.PENDING
    assert request.next_check_at == NOW + 8 * S


@pytest.mark.django_db
def test_a_payment_of_another_amount_is_flagged_not_paid(merchant):
    with freeze_time(NOW):
        request = pending_request(merchant, amount=Decimal("12.50"))
    fake = FakeBakong().on(
        "check_transaction_by_md5_list",
        bulk_answer({request.md5: paid_data(request, amount="12.00")}),
    )
    with freeze_time(NOW + 3 * S):
        stats = payments_poll_due(access=access_for(fake))
    request.refresh_from_db()
    assert request.status == PaymentStatus.PENDING
    assert request.flag == PaymentFlag.AMOUNT_MISMATCH
    assert (stats.paid, stats.flagged) == (0, 1)
    assert request.checks.get().outcome == "found_amount_mismatch"
    assert request.next_check_at is None  # the service stopped polling it


@pytest.mark.django_db
def test_an_answer_the_service_refuses_is_an_error_check_not_a_crash(merchant):
    with freeze_time(NOW):
        request = pending_request(merchant)
    fake = FakeBakong().on(
        "check_transaction_by_md5_list",
        bulk_answer({request.md5: paid_data(request, amount="12.505")}),
    )
    with freeze_time(NOW + 3 * S):
        stats = payments_poll_due(access=access_for(fake))
    assert stats.errors == 1
    assert "12.505" in request.checks.get().detail
    request.refresh_from_db()
    assert request.status == PaymentStatus.PENDING
    assert request.next_check_at == NOW + 8 * S


# -- expiry and grace --------------------------------------------------------------


@pytest.mark.django_db
def test_expiry_grace_and_the_last_look(merchant, settings):
    settings.PAYMENT_EXPIRY_GRACE_SECONDS = 300
    created = NOW - dt.timedelta(seconds=2000)
    with freeze_time(created):
        # expired 1100 s ago and looked at after expiry: simply expired
        over = pending_request(merchant, expires_in=900, next_check_at=NOW)
        # expired 100 s ago: still in the grace, still checked
        in_grace = pending_request(merchant, expires_in=1900, next_check_at=NOW)
        # past the grace, never looked at after expiry: one last look first
        unseen = pending_request(merchant, expires_in=900, next_check_at=NOW)
    PaymentRequest.objects.filter(pk=over.pk).update(
        last_checked_at=over.expires_at + 10 * S
    )
    fake = FakeBakong().on("check_transaction_by_md5_list", bulk_answer({}))
    # when
    with freeze_time(NOW):
        stats = payments_poll_due(access=access_for(fake))
    # then
    assert sorted(fake.body(fake.seen[0])) == sorted([in_grace.md5, unseen.md5])
    assert stats.expired == 2
    statuses = dict(PaymentRequest.objects.values_list("pk", "status"))
    assert statuses == {
        over.pk: PaymentStatus.EXPIRED,
        in_grace.pk: PaymentStatus.PENDING,
        unseen.pk: PaymentStatus.EXPIRED,
    }
    assert unseen.checks.get().outcome == "not_found"


@pytest.mark.django_db
def test_a_late_payment_found_in_the_grace_is_recorded_and_flagged(merchant, settings):
    settings.PAYMENT_EXPIRY_GRACE_SECONDS = 300
    with freeze_time(NOW - dt.timedelta(seconds=1000)):
        request = pending_request(merchant, expires_in=900, next_check_at=NOW)
    fake = FakeBakong().on(
        "check_transaction_by_md5_list",
        bulk_answer({request.md5: paid_data(request)}),  # paid at NOW: late
    )
    with freeze_time(NOW):
        payments_poll_due(access=access_for(fake))
    request.refresh_from_db()
    assert request.flag == PaymentFlag.LATE
    assert request.status == PaymentStatus.EXPIRED
    assert BakongTransaction.objects.get(payment_request=request).outcome == "late"


# -- one request, the sweeper --------------------------------------------------------


@pytest.mark.django_db
def test_check_one_request_only_when_due_unless_forced(merchant):
    with freeze_time(NOW):
        request = pending_request(merchant, next_check_at=NOW + 60 * S)
    fake = FakeBakong().on(
        "check_transaction_by_md5_list", bulk_answer({request.md5: paid_data(request)})
    )
    with freeze_time(NOW):
        skipped = payment_request_check(
            payment_request_id=request.pk, access=access_for(fake)
        )
        assert skipped.checked == 0 and fake.seen == []
        forced = payment_request_check(
            payment_request_id=request.pk, access=access_for(fake), force=True
        )
    assert forced.paid == 1
    assert PaymentRequest.objects.get(pk=request.pk).status == PaymentStatus.PAID


@pytest.mark.django_db
def test_check_one_request_raises_transient_after_recording_it(merchant):
    with freeze_time(NOW):
        request = pending_request(merchant)
    fake = FakeBakong().on("check_transaction_by_md5_list", httpx.Response(503))
    with pytest.raises(TransientError, match="503"):
        payment_request_check(payment_request_id=request.pk, access=access_for(fake))
    assert request.checks.get().outcome == "error"


@pytest.mark.django_db
def test_check_of_a_vanished_request_is_a_no_op():
    fake = FakeBakong()
    stats = payment_request_check(payment_request_id=999_999, access=access_for(fake))
    assert stats.checked == 0 and fake.seen == []


@pytest.mark.django_db
def test_the_sweeper_enqueues_overdue_requests_only(merchant, monkeypatch):
    from payments import tasks

    sent = []
    monkeypatch.setattr(tasks.check_payment, "delay", lambda pk: sent.append(pk))
    with freeze_time(NOW):
        overdue = pending_request(merchant, next_check_at=NOW - 60 * S)
        pending_request(merchant, next_check_at=NOW - 5 * S)  # the beat will get it
        ids = payments_sweep()
    assert ids == [overdue.pk]
    assert sent == [overdue.pk]


# -- two pollers racing --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_pollers_racing_on_one_payment_apply_it_once(merchant):
    # given one due request that Bakong says is paid
    request = pending_request(merchant)
    fake = FakeBakong().on(
        "check_transaction_by_md5_list", bulk_answer({request.md5: paid_data(request)})
    )
    start = threading.Barrier(2)
    results, failures = [], []

    def poller():
        try:
            start.wait(timeout=10)
            results.append(payments_poll_due(access=access_for(fake)))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    # when two pollers run at the same moment
    threads = [threading.Thread(target=poller) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # then the payment was checked and applied exactly once
    assert failures == []
    assert sum(r.paid for r in results) == 1
    assert len(fake.seen) == 1
    assert BakongTransaction.objects.filter(payment_request=request).count() == 1
    request.refresh_from_db()
    assert request.status == PaymentStatus.PAID
    assert request.checks.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_pollers_whose_claims_both_lapse_still_apply_once(merchant, monkeypatch):
    # given a claim that lapses at once, so both pollers take the same request
    monkeypatch.setattr(polling, "CLAIM_LEASE", dt.timedelta(seconds=-60))
    request = pending_request(merchant)
    both_asked = threading.Barrier(2)
    first_asking = threading.Event()

    def answer(http_request):
        first_asking.set()
        both_asked.wait(timeout=60)  # both pollers are inside their Bakong call
        return bulk_answer({request.md5: paid_data(request)})(http_request)

    fake = FakeBakong().on("check_transaction_by_md5_list", answer)
    results, failures = [], []

    def poller():
        try:
            results.append(payments_poll_due(access=access_for(fake)))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    # when the second poller claims while the first is asking Bakong
    threads = [threading.Thread(target=poller) for _ in range(2)]
    threads[0].start()
    assert first_asking.wait(timeout=60)
    threads[1].start()
    for t in threads:
        t.join(timeout=120)
    # then both saw it paid, but it was applied once
    assert failures == []
    assert len(fake.seen) == 2
    assert BakongTransaction.objects.filter(payment_request=request).count() == 1
    assert sum(r.paid for r in results) >= 1
    request.refresh_from_db()
    assert request.status == PaymentStatus.PAID


@pytest.mark.django_db
def test_a_last_look_that_fails_does_not_expire_the_request(merchant, settings):
    # given a request past its grace that Bakong has not answered for since expiry
    settings.PAYMENT_EXPIRY_GRACE_SECONDS = 300
    with freeze_time(NOW - dt.timedelta(seconds=2000)):
        request = pending_request(merchant, expires_in=900, next_check_at=NOW)
    down = FakeBakong().on("check_transaction_by_md5_list", httpx.Response(503))
    # when the last look fails
    with freeze_time(NOW):
        payments_poll_due(access=access_for(down))
    # then it is still pending and asked again soon
    request.refresh_from_db()
    assert request.status == PaymentStatus.PENDING
    assert request.next_check_at == NOW + 30 * S
    # and once Bakong answers, it is expired
    up = FakeBakong().on("check_transaction_by_md5_list", bulk_answer({}))
    with freeze_time(NOW + 30 * S):
        payments_poll_due(access=access_for(up))
    request.refresh_from_db()
    assert request.status == PaymentStatus.EXPIRED


@pytest.mark.django_db
def test_a_request_bakong_never_answers_for_expires_an_hour_after_the_grace(
    merchant, settings
):
    settings.PAYMENT_EXPIRY_GRACE_SECONDS = 300
    with freeze_time(NOW - dt.timedelta(hours=3)):
        request = pending_request(merchant, expires_in=900, next_check_at=NOW)
    assert polling.payment_requests_expire(now=NOW) == 1
    request.refresh_from_db()
    assert request.status == PaymentStatus.EXPIRED
