"""End to end over real HTTP: a REAL Celery worker (with its beat) polls the
Bakong sandbox on the live server, and a code paid there becomes paid."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments.models import BakongTokenState, PaymentRequest, PaymentStatus
from sandbox import bakong as sandbox
from tests.payments.payment_helpers import pending_request

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_polls_the_sandbox_and_a_paid_code_becomes_paid(
    live_server, real_celery_worker, merchant
):
    # given two pending codes, one of them paid by the sandbox's payer
    paid = pending_request(merchant, amount=Decimal("4000"), currency="KHR")
    unpaid = pending_request(merchant, amount=Decimal("2.50"), currency="USD")
    sandbox.pay(md5=paid.md5)

    # when the worker's beat runs polling rounds against the live server
    def settled():
        # a round records its checks after it settles the codes it found
        return PaymentRequest.objects.filter(
            pk=paid.pk, status=PaymentStatus.PAID, checks__outcome="paid"
        ).exists()

    real_celery_worker.wait_for(settled, timeout=60, what="the code to be paid")

    # then the paid one is paid with what Bakong reported, the other still pending
    paid.refresh_from_db()
    assert paid.paid_amount == Decimal("4000")
    assert paid.paid_currency == "KHR"
    assert paid.bakong_hash == sandbox.SandboxTransaction.objects.get(md5=paid.md5).hash
    assert paid.checks.filter(outcome="paid").count() == 1
    unpaid.refresh_from_db()
    assert unpaid.status == PaymentStatus.PENDING
    assert unpaid.checks.filter(outcome="not_found").exists()
    # and the worker got its token by renewing it with the sandbox (there was none)
    state = BakongTokenState.objects.get(base_url=f"{live_server.url}/sandbox/bakong")
    assert sandbox.token_is_valid(state.token["token"])
    assert "payments.poll_due" in real_celery_worker.log()


def test_a_real_worker_waits_out_a_429_then_pays(
    live_server, real_celery_worker, merchant
):
    # given the sandbox rate-limits the next call with Retry-After: 3
    sandbox.control_set(fail_status=429, fail_times=1, retry_after=3)
    request = pending_request(merchant, amount=Decimal("1.25"), currency="USD")
    sandbox.pay(md5=request.md5)
    # when the worker polls
    real_celery_worker.wait_for(
        lambda: PaymentRequest.objects.filter(
            pk=request.pk, status=PaymentStatus.PAID
        ).exists(),
        timeout=60,
        what="the code to be paid after the 429",
    )
    # then it was paid, and no call arrived inside the Retry-After window
    assert sandbox.control().calls_in_pause == 0
    assert request.checks.filter(outcome="error").exists()
