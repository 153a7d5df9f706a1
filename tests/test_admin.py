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
