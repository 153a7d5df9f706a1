from django.contrib.auth import views as auth_views
from django.urls import path

from merchants import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/<int:account_id>/", views.account_detail, name="account-detail"),
    path(
        "connections/<int:connection_id>/revoke/",
        views.connection_revoke,
        name="connection-revoke",
    ),
    path("merchant/switch/", views.merchant_switch, name="merchant-switch"),
    path("settings/api-keys/", views.api_key_list, name="api-keys"),
    path(
        "settings/api-keys/<int:api_key_id>/revoke/",
        views.api_key_revoke,
        name="api-key-revoke",
    ),
    path("settings/audit/", views.audit_log, name="audit-log"),
    path(
        "settings/audit/export.csv",
        views.audit_log_export,
        {"fmt": "csv"},
        name="audit-log-export-csv",
    ),
    path(
        "settings/audit/export.xlsx",
        views.audit_log_export,
        {"fmt": "xlsx"},
        name="audit-log-export-xlsx",
    ),
    path("settings/two-factor/", views.two_factor, name="two-factor"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/verify/", views.login_verify, name="login-verify"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path(
        "password/reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(success_url="/password/done/"),
        name="password-change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]
