"""Reconciliation routes under /api/v1/ (no trailing slash)."""

from django.urls import path

from reconciliation.api import views

urlpatterns = [
    path("invoices", views.InvoiceCreateApi.as_view(), name="api-invoices"),
    path(
        "reconciliation/runs",
        views.RunListApi.as_view(),
        name="api-reconciliation-runs",
    ),
    path(
        "reconciliation/matches",
        views.MatchListApi.as_view(),
        name="api-reconciliation-matches",
    ),
    path(
        "reconciliation/exceptions",
        views.ExceptionListApi.as_view(),
        name="api-reconciliation-exceptions",
    ),
]
