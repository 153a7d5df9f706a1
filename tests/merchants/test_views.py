from decimal import Decimal

from django.urls import reverse

from merchants.models import ApiKey, AuditEvent
from tests.factories import AccountFactory, MembershipFactory, MerchantFactory


def test_dashboard_requires_login(client, db):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_dashboard_lists_accounts_with_balances(owner_client, merchant):
    AccountFactory(
        merchant=merchant,
        currency="KHR",
        provider="acleda",
        name="Savings",
        current_balance=Decimal("1234500"),
    )
    response = owner_client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert "Savings" in response.text
    assert "1,234,500" in response.text


def test_a_user_without_membership_sees_no_merchant_page(client, django_user_model):
    user = django_user_model.objects.create_user("lonely", password="x")
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 403
    assert "No merchant yet" in response.text


def test_switcher_changes_the_current_merchant(owner_client, merchant):
    # given the user is also a viewer of a second merchant
    second = MerchantFactory(display_name="Second Shop")
    MembershipFactory(user=owner_client.user, merchant=second, role="viewer")
    # when
    response = owner_client.post(
        reverse("merchant-switch"), {"merchant_id": second.pk, "next": "/"}
    )
    # then
    assert response.status_code == 302
    page = owner_client.get(reverse("dashboard"))
    assert page.context["current_merchant"] == second


def test_switcher_refuses_a_merchant_the_user_is_not_in(owner_client, other_merchant):
    owner_client.post(reverse("merchant-switch"), {"merchant_id": other_merchant.pk})
    page = owner_client.get(reverse("dashboard"))
    assert page.context["current_merchant"] != other_merchant


def test_switcher_ignores_an_offsite_next(owner_client, merchant):
    response = owner_client.post(
        reverse("merchant-switch"),
        {"merchant_id": merchant.pk, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("dashboard")


def test_owner_only_pages_refuse_other_roles(accountant_client):
    assert accountant_client.get(reverse("api-keys")).status_code == 403


def test_owner_creates_an_api_key_and_sees_it_once(owner_client, merchant):
    # the form as the page sends it: every scope ticked, no expiry
    response = owner_client.post(
        reverse("api-keys"),
        {
            "name": "Web shop",
            "mode": "live",
            "scopes": ["qr:write", "payments:read", "statements:read"],
            "expires_days": "",
        },
    )
    key = response.context["new_key"]
    assert key.startswith("tonle_live_") and key in response.text
    again = owner_client.get(reverse("api-keys"))
    assert key not in again.text
    assert ApiKey.objects.for_merchant(merchant).count() == 1


def test_revoking_a_key_is_audited(owner_client, merchant, api_key):
    key = ApiKey.objects.for_merchant(merchant).get()
    owner_client.post(reverse("api-key-revoke", args=[key.pk]), {"confirmed": "yes"})
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert (
        AuditEvent.objects.for_merchant(merchant)
        .filter(action="api_key.revoked")
        .exists()
    )


def test_login_page_signs_in(client, django_user_model, merchant):
    user = django_user_model.objects.create_user("kanha", password="pw-kanha-1")
    MembershipFactory(user=user, merchant=merchant, role="viewer")
    response = client.post(
        reverse("login"), {"username": "kanha", "password": "pw-kanha-1"}
    )
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
