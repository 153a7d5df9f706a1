"""Model invariants around money: exact at 18 significant digits on every database."""

from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, models
from django.db.models import Sum

from statements.models import Transaction
from tests.factories import AccountFactory, TransactionFactory


def test_no_model_has_a_float_field():
    floats = [
        f"{m._meta.label}.{f.name}"
        for m in apps.get_models()
        for f in m._meta.get_fields()
        if isinstance(f, models.FloatField)
    ]
    assert floats == []


def test_amounts_are_exact_at_18_significant_digits(db):
    # given
    account = AccountFactory(currency="USD")
    big = Decimal("9999999999999999.99")  # 18 significant digits
    TransactionFactory(account=account, amount=big)
    TransactionFactory(account=account, amount=Decimal("-0.01"))
    # when
    stored = Transaction.objects.filter(account=account).order_by("pk").first().amount
    total = Transaction.objects.filter(account=account).aggregate(t=Sum("amount"))["t"]
    # then
    assert stored == big
    assert total == Decimal("9999999999999999.98")
    assert isinstance(total, Decimal)


def test_khr_line_with_fractional_riel_is_refused_by_the_database(db):
    account = AccountFactory(currency="KHR", provider="acleda")
    with pytest.raises(IntegrityError):
        TransactionFactory(account=account, currency="KHR", amount=Decimal("100.50"))


def test_external_id_is_unique_per_account(db):
    account = AccountFactory()
    TransactionFactory(account=account, external_id="X1")
    with pytest.raises(IntegrityError):
        TransactionFactory(account=account, external_id="X1")


def test_the_same_external_id_is_fine_on_another_account(db):
    TransactionFactory(external_id="X1")
    TransactionFactory(external_id="X1")
    assert Transaction.objects.filter(external_id="X1").count() == 2


def test_fx_rate_keeps_every_digit(db):
    line = TransactionFactory(
        channel="CROSSBORDER",
        original_amount=Decimal("1000.00"),
        original_currency="THB",
        fx_rate=Decimal("0.0285714285714285714"),
    )
    assert Transaction.objects.get(pk=line.pk).fx_rate == Decimal(
        "0.0285714285714285714"
    )
