"""factory_boy factories for every model other tests build on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from merchants.models import Account, Connection, Membership, Merchant
from statements.models import Transaction


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    legal_name = factory.Sequence(lambda n: f"Merchant {n} Co., Ltd.")
    display_name = factory.Sequence(lambda n: f"Shop {n}")
    name_km = "ហាងតេស្ត"
    bakong_account_id = factory.Sequence(lambda n: f"shop{n}@wing")
    city = "Phnom Penh"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    merchant = factory.SubFactory(MerchantFactory)
    role = "owner"


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    merchant = factory.SubFactory(MerchantFactory)
    provider = "hattha"
    kind = "deposit"
    currency = "USD"
    number = factory.Sequence(lambda n: f"000-{n:06d}")
    name = factory.LazyAttribute(lambda o: f"{o.provider} {o.currency}")


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    account = factory.SubFactory(AccountFactory)
    merchant = factory.LazyAttribute(lambda o: o.account.merchant)
    provider = "statement_feed"
    base_url = "http://127.0.0.1:9/feed"
    credentials = factory.LazyFunction(
        lambda: {"token": "t0k3n", "webhook_secret": "whsec"}
    )
    consent_scope = "statements:read balances:read payments:read"
    consent_granted_at = factory.LazyFunction(timezone.now)
    consent_expires_at = factory.LazyFunction(
        lambda: timezone.now() + dt.timedelta(days=365)
    )


def signed_connection(
    merchant: Merchant, *, provider: str, secret: str, **account
) -> Connection:
    """A merchant's connection that receives signed webhooks: a KHQR gateway on a
    Bakong wallet, or a bank's statement feed (its pushes)."""
    account.setdefault("provider", "bakong" if provider == "khqr_gateway" else "hattha")
    return ConnectionFactory(
        account=AccountFactory(merchant=merchant, **account),
        merchant=merchant,
        provider=provider,
        credentials={"webhook_secret": secret},
    )


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    account = factory.SubFactory(AccountFactory)
    merchant = factory.LazyAttribute(lambda o: o.account.merchant)
    external_id = factory.Sequence(lambda n: f"TXN-{n:08d}")
    posted_at = factory.LazyFunction(
        lambda: dt.datetime(2026, 11, 15, 3, 0, tzinfo=dt.UTC)
    )
    value_date = dt.date(2026, 11, 15)
    amount = Decimal("10.00")
    currency = factory.LazyAttribute(lambda o: o.account.currency)
    channel = "KHQR"
    source = "feed"
