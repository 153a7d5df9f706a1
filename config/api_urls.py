"""Every REST route under /api/v1/, one include per app."""

from django.urls import include, path

urlpatterns = [
    path("", include("payments.api.urls")),
    path("", include("statements.api.urls")),
    path("", include("reconciliation.api.urls")),
]
