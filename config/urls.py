from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import health, metrics
from merchants import user_language

urlpatterns = [
    # for load balancers: no login, JSON, never cached
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    # Django's set_language, and the choice kept for a signed-in person
    path("i18n/setlang/", user_language.language_set, name="set_language"),
    path("", include("merchants.urls")),
    path("payments/", include("payments.urls")),
    path("statements/", include("statements.urls")),
    path("invoices/", include("reconciliation.urls_invoices")),
    path("reconciliation/", include("reconciliation.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # the page's script is a separate request: no inline script for the CSP
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path("webhooks/", include("payments.webhook_urls")),
    # answers only while SANDBOX_ENABLED (core.middleware.SandboxGateMiddleware)
    path("sandbox/", include("sandbox.urls")),
]
