"""Read API routes for accounting tools, mounted under /api/v1/ (no trailing slash)."""

from django.urls import path

from statements.api import views

urlpatterns = [
    path("accounts", views.AccountListApi.as_view(), name="api-accounts"),
    path("transactions", views.TransactionListApi.as_view(), name="api-transactions"),
    path("statements", views.StatementApi.as_view(), name="api-statements"),
]
