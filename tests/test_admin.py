"""Every model is in the admin, its list and add/change pages render, and secrets
never appear there."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import ConnectionFactory


@pytest.fixture
def admin_client_logged(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@x.test", "pw")
    client.force_login(user)
    return client


def _project_models():
    return [
        m
        for m in admin.site._registry
        if m._meta.app_label
        in {"merchants", "payments", "statements", "reconciliation"}
    ]


def test_every_project_model_is_registered_in_the_admin():
    from django.apps import apps

    ours = {
        m
        for m in apps.get_models()
        if m._meta.app_label
        in {"merchants", "payments", "statements", "reconciliation"}
    }
    assert ours - set(admin.site._registry) == set()


def test_every_changelist_renders(admin_client_logged):
    ConnectionFactory()
    for model in _project_models():
        url = reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        )
        response = admin_client_logged.get(url)
        assert response.status_code == 200, url
        response = admin_client_logged.get(url, {"q": "x"})
        assert response.status_code == 200, url


def test_connection_credentials_are_never_shown(admin_client_logged):
    conn = ConnectionFactory(credentials={"token": "very-secret-token"})
    url = reverse("admin:merchants_connection_change", args=[conn.pk])
    response = admin_client_logged.get(url)
    assert response.status_code == 200
    assert "very-secret-token" not in response.text
    assert "token" in response.text  # the key's name is listed, not its value


# --- money, order, filters, names, read-only, icon ------------------------------

READ_ONLY = ["transaction", "refund", "paymentrequest", "bakongtransaction"]


def _khr_payment(merchant):
    from decimal import Decimal

    from tests.payments.makers import payment_request_make

    pr = payment_request_make(merchant=merchant, amount="2375600", currency="KHR")
    pr.status, pr.paid_amount, pr.paid_currency = "paid", Decimal("2375600"), "KHR"
    pr.save()
    return pr


def test_money_is_shown_in_the_currencys_places_in_lists(admin_client_logged, merchant):
    # given a riel payment and a dollar ledger line
    from decimal import Decimal

    from tests.factories import AccountFactory, TransactionFactory

    _khr_payment(merchant)
    account = AccountFactory(merchant=merchant, currency="USD")
    TransactionFactory(account=account, merchant=merchant, amount=Decimal("12.5"))
    # when the lists are opened
    payments = admin_client_logged.get("/admin/payments/paymentrequest/").text
    lines = admin_client_logged.get("/admin/statements/transaction/").text
    # then riel are whole and grouped, dollars have cents
    assert "2,375,600" in payments
    assert "2375600.00" not in payments
    assert "12.50" in lines


def test_a_read_only_page_shows_money_formatted_and_cannot_be_saved(
    admin_client_logged, merchant
):
    pr = _khr_payment(merchant)
    page = admin_client_logged.get(f"/admin/payments/paymentrequest/{pr.pk}/change/")
    assert page.status_code == 200
    assert "2,375,600" in page.text
    assert "2375600.00" not in page.text
    assert 'name="_save"' not in page.text
    refused = admin_client_logged.post(
        f"/admin/payments/paymentrequest/{pr.pk}/change/", {"status": "cancelled"}
    )
    assert refused.status_code == 403
    pr.refresh_from_db()
    assert pr.status == "paid"


@pytest.mark.parametrize("model", READ_ONLY)
def test_records_that_must_not_change_are_read_only(model, rf, django_user_model):
    from django.apps import apps

    # given a superuser
    request = rf.get("/admin/")
    request.user = django_user_model(is_superuser=True, is_staff=True)
    label = {"transaction": "statements"}.get(model, "payments")
    model_admin = admin.site._registry[apps.get_model(label, model)]
    # then nobody adds, edits or deletes one from the admin
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request, None) is False
    assert model_admin.has_delete_permission(request, None) is False
    assert model_admin.has_view_permission(request, None) is True


def test_lists_are_newest_first(admin_client_logged, merchant):
    import datetime as dt

    from tests.factories import AccountFactory, TransactionFactory

    account = AccountFactory(merchant=merchant)
    old = TransactionFactory(
        account=account,
        merchant=merchant,
        posted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        external_id="OLD-LINE",
    )
    new = TransactionFactory(
        account=account,
        merchant=merchant,
        posted_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
        external_id="NEW-LINE",
    )
    text = admin_client_logged.get("/admin/statements/transaction/").text
    assert text.index(new.external_id) < text.index(old.external_id)


@pytest.mark.parametrize(
    "path",
    [
        "statements/transaction",
        "statements/statement",
        "statements/importbatch",
        "statements/pushevent",
        "statements/feedsyncrun",
        "payments/paymentrequest",
        "merchants/connection",
    ],
)
def test_lists_of_an_accounts_records_filter_by_account(path):
    from django.apps import apps

    model = apps.get_model(*path.split("/"))
    filters = admin.site._registry[model].list_filter
    assert "account" in filters


def test_plural_names_are_english(admin_client_logged):
    index = admin_client_logged.get("/admin/").text
    for name in ("Import batches", "Bakong transactions", "Webhook deliveries"):
        assert name in index
    assert "API keys" in index
    assert "batchs" not in index and "deliverys" not in index


def test_a_favicon_exists_and_every_page_links_it(admin_client_logged, client, db):
    from django.contrib.staticfiles import finders

    assert finders.find("favicon.svg")
    link = 'rel="icon" href="/static/favicon.svg"'
    assert link in client.get("/login/").text
    assert link in admin_client_logged.get("/admin/").text


def test_the_admin_is_titled_tonle_in_english_and_in_khmer(admin_client_logged):
    from tests.core.khmer import in_khmer, khmer

    english = admin_client_logged.get("/admin/").text
    assert "Tonle administration" in english and "Tonle admin" in english
    assert "Django administration" not in english and "Django site admin" not in english
    in_khmer(admin_client_logged)
    page = admin_client_logged.get("/admin/").text
    assert khmer("Tonle administration") in page
    assert f"| {khmer('Tonle admin')}</title>" in page
    assert "Tonle administration" not in page
