"""Reconciliation pages under /reconciliation/."""

from django.urls import path

from reconciliation import views, views_periods

app_name = "reconciliation"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("matches/bulk/", views.match_bulk, name="match-bulk"),
    path("matches/<int:match_id>/", views.match_detail, name="match-detail"),
    path(
        "matches/<int:match_id>/confirm/",
        views.match_confirm_view,
        name="match-confirm",
    ),
    path(
        "matches/<int:match_id>/reject/", views.match_reject_view, name="match-reject"
    ),
    path(
        "matches/<int:match_id>/unmatch/",
        views.match_unmatch_view,
        name="match-unmatch",
    ),
    path("manual/", views.manual, name="manual"),
    path("exceptions/", views.exception_list, name="exceptions"),
    path("exceptions/bulk/", views.exception_bulk, name="exception-bulk"),
    path(
        "exceptions/<int:exception_id>/",
        views.exception_detail,
        name="exception-detail",
    ),
    path("why/<str:kind>/<int:item_id>/", views.why, name="why"),
    path("evidence/<str:kind>/<int:item_id>/", views.evidence, name="evidence"),
    path("runs/", views_periods.run_list, name="runs"),
    path("tolerances/", views_periods.tolerances, name="tolerances"),
    path("months/", views_periods.period_list, name="periods"),
    path("months/sign-off/", views_periods.period_sign_off_view, name="sign-off"),
    path("months/reopen/", views_periods.period_reopen_view, name="reopen"),
    path("log/", views_periods.log, name="log"),
    path("report/", views_periods.report, name="report"),
    path("report/download/", views_periods.report_download, name="report-download"),
]
