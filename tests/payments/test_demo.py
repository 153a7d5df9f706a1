import json
from io import StringIO

import pytest
from django.core.management import call_command

from payments.models import PaymentRequest, WebhookEndpoint


@pytest.fixture(autouse=True)
def _offline(settings):
    settings.BAKONG_BASE_URL = "http://127.0.0.1:9"


def _seed() -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_seed_demo_adds_paid_pending_expired_and_flagged_codes(db):
    _seed()
    by_order = {pr.order_id: pr for pr in PaymentRequest.objects.all()}
    assert by_order["DEMO-1001"].status == "paid"
    assert by_order["DEMO-1002"].status == "pending"
    assert by_order["DEMO-1003"].status == "expired"
    assert by_order["DEMO-1004"].flag == "amount_mismatch"
    assert by_order["DEMO-1001"].bakong_transactions.count() == 1
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.is_active is False


def test_seed_demo_twice_changes_nothing(db):
    _seed()
    before = list(PaymentRequest.objects.values_list("md5", "status", "flag"))
    _seed()
    after = list(PaymentRequest.objects.values_list("md5", "status", "flag"))
    assert before == after
    assert WebhookEndpoint.objects.count() == 1
