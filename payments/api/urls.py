"""Shop API routes, mounted under /api/v1/ (DESIGN.md's paths, no trailing slash)."""

from django.urls import path

from payments.api import views

urlpatterns = [
    path("qr", views.QrCreateApi.as_view(), name="api-qr-create"),
    path("qr/<str:md5>.png", views.QrPngApi.as_view(), name="api-qr-png"),
    path("qr/<str:md5>.svg", views.QrSvgApi.as_view(), name="api-qr-svg"),
    path(
        "transaction/check",
        views.TransactionCheckApi.as_view(),
        name="api-transaction-check",
    ),
    path(
        "transaction/by-order",
        views.TransactionByOrderApi.as_view(),
        name="api-transaction-by-order",
    ),
    path(
        "transaction/by-hash",
        views.TransactionByHashApi.as_view(),
        name="api-transaction-by-hash",
    ),
    path("me", views.MeApi.as_view(), name="api-me"),
]
